//! `buildMetadata`: where each object came from (`config.kubernetes.io/origin`), which
//! transformers ran over it (`alpha.config.kubernetes.io/transformations`) and the
//! `app.kubernetes.io/managed-by` label.
//!
//! Like kustomize, the top kustomization decides: its `buildMetadata` switches each option on
//! for the whole build, bases and components included, and paths are relative to its directory.
//! The bookkeeping lives on [`Resource`] during the build and becomes annotations at the end.

use serde_json::Value;

use crate::build::Ctx;
use crate::kustfile::{KUSTOMIZATION_FILE_NAMES, Kustomization};
use crate::resource::Resource;

/// The kustomize release whose output tether reproduces (the managed-by label names it).
pub const KUSTOMIZE_VERSION: &str = "v5.8.1";

const ORIGIN: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// Which `buildMetadata` options the top kustomization enables.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracking {
    /// `originAnnotations`.
    pub origin: bool,
    /// `transformerAnnotations`.
    pub transformations: bool,
    /// `managedByLabel`.
    pub managed_by: bool,
}

impl Tracking {
    /// The options `k` lists.
    pub fn of(k: &Kustomization) -> Tracking {
        let has = |o: &str| k.build_metadata.iter().any(|m| m == o);
        Tracking {
            origin: has("originAnnotations"),
            transformations: has("transformerAnnotations"),
            managed_by: has("managedByLabel"),
        }
    }
}

/// `path` (logical) relative to the top directory `top`, `..` where it lies outside.
pub fn relative_to(top: &str, path: &str) -> String {
    let top: Vec<&str> = top.split('/').filter(|p| !p.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let common = top.iter().zip(&path).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; top.len() - common];
    parts.extend(&path[common..]);
    parts.join("/")
}

impl Tracking {
    /// Whether objects carry an origin during the build: kustomize tracks it as soon as
    /// `buildMetadata` lists anything (plugin transformers name their configuration's file
    /// from it), and prints it only with `originAnnotations`.
    fn tracks_origin(self) -> bool {
        self.origin || self.transformations || self.managed_by
    }
}

/// The origin of objects read from file `path`.
pub fn file_origin(ctx: &Ctx<'_>, path: &str) -> Option<String> {
    ctx.tracking
        .tracks_origin()
        .then(|| format!("path: {}\n", relative_to(ctx.top, path)))
}

/// The origin of a plugin configuration written inline in the kustomization in `dir`.
pub fn inline_config_origin(ctx: &Ctx<'_>, dir: &str) -> Option<String> {
    ctx.tracking
        .tracks_origin()
        .then(|| format!("path: {}\n", kustomization_file(ctx, dir)))
}

/// kustomize's `OriginFromCustomPlugin`: what a plugin configured by `config` records as the
/// origin of objects it generates and in the transformations of objects it changes: the file
/// the configuration came from and the configuration's identity.
pub fn plugin_origin(config: &Resource) -> Option<String> {
    let path = config
        .origin
        .as_deref()?
        .strip_prefix("path: ")?
        .lines()
        .next()?;
    let mut out = format!(
        "configuredIn: {path}\nconfiguredBy:\n  apiVersion: {}\n  kind: {}\n",
        config.gvk().api_version(),
        config.kind()
    );
    for (field, value) in [("name", config.name()), ("namespace", config.namespace())] {
        if !value.is_empty() {
            out.push_str(&format!("  {field}: {value}\n"));
        }
    }
    Some(out)
}

/// kustomize's `AddTransformerAnnotation` after a plugin transformer ran: an object with no
/// origin takes the plugin's as its origin, the others list it among their transformations.
pub fn record_plugin_transformer(ctx: &Ctx<'_>, origin: &str, acc: &mut [Resource]) {
    if !ctx.tracking.tracks_origin() {
        return;
    }
    let entry: String = origin
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
        .collect();
    for r in acc.iter_mut() {
        if r.origin.is_none() {
            r.origin = Some(origin.to_string());
        } else {
            r.transformations.push_str(&entry);
        }
    }
}

/// The origin of an object a built-in generator (`ConfigMapGenerator`, ...) in `dir` made.
pub fn generator_origin(ctx: &Ctx<'_>, dir: &str, kind: &str) -> Option<String> {
    ctx.tracking.tracks_origin().then(|| {
        format!(
            "configuredIn: {}\n{}",
            kustomization_file(ctx, dir),
            by(kind)
        )
    })
}

/// Records that the built-in transformer `kind` configured in `dir` ran `times` times over
/// every object of `acc`.
pub fn record_transformer(
    ctx: &Ctx<'_>,
    dir: &str,
    kind: &str,
    times: usize,
    acc: &mut [Resource],
) {
    if !ctx.tracking.transformations || times == 0 {
        return;
    }
    let entry = format!("- configuredIn: {}\n", kustomization_file(ctx, dir))
        + &by(kind)
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>();
    for r in acc.iter_mut() {
        for _ in 0..times {
            r.transformations.push_str(&entry);
        }
    }
}

fn by(kind: &str) -> String {
    format!("configuredBy:\n  apiVersion: builtin\n  kind: {kind}\n")
}

fn kustomization_file(ctx: &Ctx<'_>, dir: &str) -> String {
    let name = KUSTOMIZATION_FILE_NAMES
        .iter()
        .find(|n| ctx.fs.is_file(&join(dir, n)))
        .copied()
        .unwrap_or(KUSTOMIZATION_FILE_NAMES[0]);
    relative_to(ctx.top, &join(dir, name))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Turns the bookkeeping into annotations and the label, as the top kustomization asks.
pub fn stamp(tracking: Tracking, acc: &mut [Resource]) {
    for r in acc.iter_mut() {
        let origin = r.origin.take().filter(|_| tracking.origin);
        let transformations = std::mem::take(&mut r.transformations);
        if let Some(origin) = origin {
            insert(r, "annotations", ORIGIN, origin);
        }
        if tracking.transformations && !transformations.is_empty() {
            insert(r, "annotations", TRANSFORMATIONS, transformations);
        }
        if tracking.managed_by {
            insert(
                r,
                "labels",
                MANAGED_BY,
                format!("kustomize-{KUSTOMIZE_VERSION}"),
            );
        }
    }
}

fn insert(r: &mut Resource, field: &str, key: &str, value: String) {
    let meta = r.metadata_mut();
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Default::default()));
    if !map.is_object() {
        *map = Value::Object(Default::default());
    }
    if let Value::Object(m) = map {
        m.insert(key.to_string(), Value::String(value));
    }
}

#[cfg(test)]
mod tests {
    use super::relative_to;

    #[test]
    fn paths_are_relative_to_the_top_directory() {
        assert_eq!(relative_to("a/overlay", "a/base/x.yaml"), "../base/x.yaml");
        assert_eq!(relative_to("a/overlay", "a/overlay/x.yaml"), "x.yaml");
        assert_eq!(relative_to("", "b/x.yaml"), "b/x.yaml");
        assert_eq!(relative_to("a/b/c", "x.yaml"), "../../../x.yaml");
    }
}
