//! Flux behaviour on top of kustomize: a kustomization generated for directories that have none
//! (every `.yaml`/`.yml` file below, subdirectories with their own kustomization included as a
//! whole), and the Flux Kustomization's overrides (`targetNamespace`, `namePrefix`,
//! `nameSuffix`, `patches`, `images`, `components`) merged into the kustomization the way Flux's
//! generator edits it before building.

use indexmap::IndexMap;

use crate::build::objects_from_documents;
use crate::error::{Error, Result};
use crate::fs::{self, FileSystem};
pub use crate::kustfile::{Image, Patch, Selector};
use crate::kustfile::{KUSTOMIZATION_FILE_NAMES, Kustomization};
use crate::resource::ResMap;
use crate::yaml;

/// The fields of a Flux `Kustomization` that change what is built.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `spec.targetNamespace`.
    pub target_namespace: Option<String>,
    /// `spec.namePrefix`.
    pub name_prefix: Option<String>,
    /// `spec.nameSuffix`.
    pub name_suffix: Option<String>,
    /// `spec.patches`.
    pub patches: Vec<Patch>,
    /// `spec.images`.
    pub images: Vec<Image>,
    /// `spec.components`.
    pub components: Vec<String>,
    /// `spec.ignoreMissingComponents`.
    pub ignore_missing_components: bool,
    /// `spec.commonMetadata.labels`.
    pub common_labels: IndexMap<String, String>,
    /// `spec.commonMetadata.annotations`.
    pub common_annotations: IndexMap<String, String>,
    /// `spec.buildMetadata`: replaces the kustomization's `buildMetadata` when not empty.
    pub build_metadata: Vec<String>,
    /// Files left out of the top kustomization (`flux build|diff ks`'s `.sourceignore` and
    /// `--ignore-paths`); none when unset.
    pub ignore: Option<IgnoreFilter>,
}

/// Which entries of the top kustomization the build leaves out, as Flux's generator filters
/// them: a file seen by the scan of a directory without a kustomization, and each local
/// `resources`, `components` and `crds` entry. Called with the entry's path as the
/// [`FileSystem`] displays it and whether it is a directory; true leaves it out.
#[derive(Clone)]
pub struct IgnoreFilter(pub std::sync::Arc<IgnorePredicate>);

/// The predicate of an [`IgnoreFilter`]: a path as displayed, whether it is a directory.
pub type IgnorePredicate = dyn Fn(&std::path::Path, bool) -> bool + Send + Sync;

impl std::fmt::Debug for IgnoreFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IgnoreFilter")
    }
}

impl IgnoreFilter {
    fn ignores(&self, fs: &dyn FileSystem, path: &str) -> bool {
        (self.0)(&fs.display(path), fs.is_dir(path))
    }

    /// Drops the entries this filter ignores; a local entry that does not exist fails as
    /// Flux's `lstat` does. URLs are kept (`crds` cannot be URLs).
    fn retain(
        &self,
        fs: &dyn FileSystem,
        dir: &str,
        entries: &mut Vec<String>,
        urls: bool,
    ) -> Result<()> {
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries.drain(..) {
            if urls && entry.contains("://") {
                kept.push(entry);
                continue;
            }
            let path = fs::join(fs, dir, &entry)?;
            if !fs.is_dir(&path) && !fs.is_file(&path) {
                return Err(Error::transform(format!(
                    "lstat {}: no such file or directory",
                    fs.display(&path).display()
                )));
            }
            if !self.ignores(fs, &path) {
                kept.push(entry);
            }
        }
        *entries = kept;
        Ok(())
    }
}

/// The user's kustomization for `dir` (or one generated for plain YAML) with Flux's overrides.
pub fn wrapping_kustomization(
    fs: &dyn FileSystem,
    dir: &str,
    o: &Overrides,
) -> Result<Kustomization> {
    let (mut k, existed) = find_or_generate(fs, dir, o.ignore.as_ref())?;
    if existed && k.resources.is_empty() {
        // Flux sets this on a user's kustomization without resources (to keep kustomize from
        // calling it empty); generated objects then carry origin annotations.
        k.build_metadata = vec!["originAnnotations".to_string()];
    }
    if let Some(ignore) = &o.ignore {
        ignore.retain(fs, dir, &mut k.resources, true)?;
        ignore.retain(fs, dir, &mut k.components, true)?;
        ignore.retain(fs, dir, &mut k.crds, false)?;
    }
    if let Some(ns) = &o.target_namespace {
        k.namespace = ns.clone();
    }
    if let Some(p) = &o.name_prefix {
        k.name_prefix = p.clone();
    }
    if let Some(s) = &o.name_suffix {
        k.name_suffix = s.clone();
    }
    k.patches.extend(o.patches.iter().cloned());
    for c in &o.components {
        if c.starts_with('/') || c.contains("://") {
            return Err(Error::transform(format!(
                "component path '{c}' must be local and relative"
            )));
        }
        let path = fs::join(fs, dir, c)?;
        if o.ignore_missing_components && !fs.is_dir(&path) && !fs.is_file(&path) {
            continue;
        }
        k.components.push(c.clone());
    }
    merge_images(&mut k.images, &o.images);
    if !o.build_metadata.is_empty() {
        k.build_metadata = o.build_metadata.clone();
    }
    Ok(k)
}

fn merge_images(into: &mut Vec<Image>, overrides: &[Image]) {
    for image in overrides {
        match into.iter_mut().find(|i| i.name == image.name) {
            Some(existing) => {
                if !image.new_name.is_empty() {
                    existing.new_name = image.new_name.clone();
                }
                if !image.new_tag.is_empty() || !image.digest.is_empty() {
                    existing.new_tag = image.new_tag.clone();
                    existing.digest = image.digest.clone();
                }
            }
            None => into.push(Image {
                tag_suffix: String::new(),
                ..image.clone()
            }),
        }
    }
}

/// Applies `commonMetadata` to the built objects' metadata, as Flux does after the build.
pub fn apply_common_metadata(map: &mut ResMap, o: &Overrides) {
    for r in &mut map.resources {
        for (field, entries) in [
            ("labels", &o.common_labels),
            ("annotations", &o.common_annotations),
        ] {
            if entries.is_empty() {
                continue;
            }
            let meta = r.metadata_mut();
            let target = meta
                .entry(field)
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(m) = target.as_object_mut() {
                for (k, v) in entries {
                    m.insert(k.clone(), serde_json::Value::String(v.clone()));
                }
            }
        }
    }
}

/// The kustomization of `dir` and whether it was the user's own file.
fn find_or_generate(
    fs: &dyn FileSystem,
    dir: &str,
    ignore: Option<&IgnoreFilter>,
) -> Result<(Kustomization, bool)> {
    for name in KUSTOMIZATION_FILE_NAMES {
        let path = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        if fs.is_file(&path) {
            let bytes = fs.read(&path)?;
            let k = crate::build::kustomization_from_str(&String::from_utf8_lossy(&bytes))
                .map_err(|message| Error::InvalidKustomization {
                    path: fs.display(&path),
                    message,
                })?;
            return Ok((k, true));
        }
    }
    Ok((generated(fs, dir, ignore)?, false))
}

/// Flux's generated kustomization for a directory without one.
pub fn generated_kustomization(fs: &dyn FileSystem, dir: &str) -> Result<Kustomization> {
    generated(fs, dir, None)
}

fn generated(
    fs: &dyn FileSystem,
    dir: &str,
    ignore: Option<&IgnoreFilter>,
) -> Result<Kustomization> {
    let mut resources = Vec::new();
    scan(fs, dir, dir, ignore, &mut resources)?;
    let mut k = Kustomization::default();
    if resources.is_empty() {
        k.namespace = "_placeholder".into();
    }
    k.resources = resources;
    Ok(k)
}

fn has_kustomization(fs: &dyn FileSystem, dir: &str) -> bool {
    KUSTOMIZATION_FILE_NAMES
        .iter()
        .any(|n| fs.is_file(&format!("{dir}/{n}")))
}

fn scan(
    fs: &dyn FileSystem,
    base: &str,
    dir: &str,
    ignore: Option<&IgnoreFilter>,
    out: &mut Vec<String>,
) -> Result<()> {
    for name in fs.list(dir)? {
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        let rel = relative(base, &path);
        if fs.is_dir(&path) {
            if has_kustomization(fs, &path) {
                out.push(rel);
            } else {
                scan(fs, base, &path, ignore, out)?;
            }
            continue;
        }
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        if ignore.is_some_and(|i| i.ignores(fs, &path)) {
            continue;
        }
        let bytes = fs.read(&path)?;
        let parsed = yaml::from_str_multi(&String::from_utf8_lossy(&bytes))
            .map_err(|e| e.to_string())
            .and_then(objects_from_documents);
        if let Err(message) = parsed {
            return Err(Error::transform(format!(
                "failed to decode Kubernetes YAML from {}: {message}",
                fs.display(&path).display()
            )));
        }
        out.push(rel);
    }
    Ok(())
}

fn relative(base: &str, path: &str) -> String {
    let rest = if base.is_empty() {
        path
    } else {
        path.strip_prefix(&format!("{base}/")).unwrap_or(path)
    };
    format!("./{rest}")
}
