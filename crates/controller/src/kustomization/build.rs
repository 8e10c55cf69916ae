//! The build step: the source tree at `spec.path` through the native kustomize engine with the
//! Kustomization's overrides (Flux's generated wrapper kustomization), then post-build variable
//! substitution; SOPS-encrypted inputs are decrypted in memory on the way (`decrypt.rs`) when
//! the Kustomization has keys. Pure over the extracted source directory.

use super::decrypt::DecryptingFs;
use crate::failure::Failure;
use serde_json::Value;
use std::path::{Component, Path};
use tether_api::kustomize::v1::{
    CommonMetadata, Image, Kustomization, Patch, SubstituteStrategy as SpecStrategy,
};
use tether_kustomize::flux::Overrides;
use tether_kustomize::{DiskFs, Options};
use tether_postbuild::{SubstituteOptions, SubstituteStrategy, Variables, substitute_object};
use tether_sops::Keys;

/// Largest single file the build reads.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// Builds the objects of `ks` from the source tree rooted at `root`, decrypting with `keys`.
pub fn build_objects(
    root: &Path,
    ks: &Kustomization,
    variables: Option<&Variables>,
    strict: bool,
    keys: Option<&Keys>,
) -> Result<Vec<Value>, Failure> {
    build_objects_with(root, ks, variables, strict, keys, Options::default())
}

/// [`build_objects`] with kustomize options (`legacy_order: false` keeps Flux's build order,
/// as `flux build` prints it; the `ignore` filter of `options.overrides` is applied, the
/// other overrides come from `ks`).
pub fn build_objects_with(
    root: &Path,
    ks: &Kustomization,
    variables: Option<&Variables>,
    strict: bool,
    keys: Option<&Keys>,
    options: Options,
) -> Result<Vec<Value>, Failure> {
    let path = relative_path(ks.spec.path.as_deref().unwrap_or(""))?;
    if !root.join(&path).is_dir() {
        return Err(Failure::artifact(format!(
            "kustomization path not found: '{}'",
            ks.spec.path.as_deref().unwrap_or("./")
        )));
    }
    let fs = DiskFs::new(root, MAX_FILE_BYTES).map_err(|e| Failure::build(e.to_string()))?;
    let mut overrides = overrides_of(ks)?;
    // The one override not from the Kustomization: the CLI's ignore rules.
    overrides.ignore = options.overrides.as_ref().and_then(|o| o.ignore.clone());
    let build_failed = |e| Failure::build(format!("kustomize build failed: {e}"));
    let built = match keys {
        Some(keys) => {
            let decrypting = DecryptingFs::new(&fs, keys);
            tether_kustomize::build_flux(&decrypting, &path, overrides, options).map_err(|e| {
                decrypting
                    .failure()
                    .map_or_else(|| build_failed(e), Failure::build)
            })?
        }
        None => {
            tether_kustomize::build_flux(&fs, &path, overrides, options).map_err(build_failed)?
        }
    };
    let mut objects: Vec<Value> = built.objects().cloned().collect();
    if let Some(keys) = keys {
        super::decrypt::decrypt_objects(&mut objects, keys)?;
    }
    match variables {
        Some(variables) => substitute_all(objects, variables, ks, strict),
        None => Ok(objects),
    }
}

/// `spec.path` as a clean relative path inside the source root, or a terminal failure.
fn relative_path(spec_path: &str) -> Result<String, Failure> {
    let mut parts = Vec::new();
    for component in Path::new(spec_path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(Failure::terminal(
                        tether_api::meta::conditions::reasons::ARTIFACT_FAILED,
                        format!("path '{spec_path}' escapes the source root"),
                    ));
                }
            }
            Component::Prefix(_) => {}
        }
    }
    Ok(parts.join("/"))
}

/// Flux's Kustomization fields that change the build, in the engine's terms.
fn overrides_of(ks: &Kustomization) -> Result<Overrides, Failure> {
    let spec = &ks.spec;
    let mut overrides = overlay(
        spec.patches.as_deref().unwrap_or_default(),
        spec.images.as_deref().unwrap_or_default(),
        spec.common_metadata.as_ref(),
    )?;
    overrides.target_namespace = spec.target_namespace.clone();
    overrides.name_prefix = spec.name_prefix.clone();
    overrides.name_suffix = spec.name_suffix.clone();
    overrides.components = spec.components.clone().unwrap_or_default();
    overrides.ignore_missing_components = spec.ignore_missing_components == Some(true);
    Ok(overrides)
}

/// Flux's `patches`, `images` and `commonMetadata` (the same API types in a Kustomization and
/// a HelmRelease post-renderer) as an overlay of the engine.
pub fn overlay(
    patches: &[Patch],
    images: &[Image],
    common_metadata: Option<&CommonMetadata>,
) -> Result<Overrides, Failure> {
    let convert = |what: &str, value: serde_json::Result<Value>| {
        value.map_err(|e| Failure::build(format!("invalid spec.{what}: {e}")))
    };
    let patches = convert("patches", serde_json::to_value(patches))?;
    let images = convert("images", serde_json::to_value(images))?;
    let mut overrides = Overrides {
        patches: serde_json::from_value(patches)
            .map_err(|e| Failure::build(format!("invalid spec.patches: {e}")))?,
        images: serde_json::from_value(images)
            .map_err(|e| Failure::build(format!("invalid spec.images: {e}")))?,
        ..Overrides::default()
    };
    if let Some(metadata) = common_metadata {
        overrides.common_labels = metadata
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        overrides.common_annotations = metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
    }
    Ok(overrides)
}

fn substitute_all(
    objects: Vec<Value>,
    variables: &Variables,
    ks: &Kustomization,
    strict: bool,
) -> Result<Vec<Value>, Failure> {
    let strategy = match ks
        .spec
        .post_build
        .as_ref()
        .and_then(|p| p.substitute_strategy.as_ref())
    {
        Some(SpecStrategy::Always) => SubstituteStrategy::Always,
        _ => SubstituteStrategy::WithVariables,
    };
    let options = SubstituteOptions { strict, strategy };
    objects
        .iter()
        .map(|object| {
            substitute_object(object, variables, &options)
                .map_err(|e| Failure::build(e.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_paths_stay_inside_the_root() {
        assert_eq!(
            relative_path("./deploy/app").ok(),
            Some("deploy/app".into())
        );
        assert_eq!(relative_path("").ok(), Some(String::new()));
        assert_eq!(relative_path("./a/../b").ok(), Some("b".into()));
        let escape = relative_path("../../etc");
        assert!(
            escape
                .as_ref()
                .is_err_and(|f| f.terminal && f.message.contains("escapes")),
            "{escape:?}"
        );
    }
}
