//! tether-kustomize: a native `kustomize build` over a filesystem confined to a root.
//!
//! [`Kustomizer::build`] reads a kustomization directory through a [`FileSystem`] ([`DiskFs`]
//! confined to a root, or [`MemFs`]) and returns a [`ResMap`] whose [`ResMap::to_yaml`] is byte
//! for byte what `kustomize build` (v5) prints. [`build_plain_directory`] builds a directory the
//! way Flux does when it has no kustomization file.
#![forbid(unsafe_code)]

mod build;
mod casefold;
mod config;
mod crds;
mod error;
mod fieldspec;
pub mod flux;
mod fs;
mod generate;
mod kustfile;
mod metadata;
mod nameref;
mod openapi;
mod patch;
mod plugin;
mod replacement;
mod resource;
mod sort;
mod transform;
mod untyped;
mod vars;
pub use tether_core::yaml;

pub use build::{Kustomizer, LoadRestrictions, Options};
pub use error::{Error, Result};
pub use fs::{DiskFs, FileSystem, MemFs};
pub use metadata::KUSTOMIZE_VERSION;
pub use resource::{Gvk, ResId, ResMap, Resource};

/// The strategic merge patch that turns `original` into `modified` (a JSON merge patch for
/// types outside kustomize's built-in schema), as fluxd wrote `patchUpdated` patch files;
/// an empty map when they are equal.
pub fn two_way_merge_patch(
    original: &serde_json::Value,
    modified: &serde_json::Value,
) -> serde_json::Value {
    let api_version = original["apiVersion"].as_str().unwrap_or_default();
    let kind = original["kind"].as_str().unwrap_or_default();
    let schema = if patch::is_builtin_type(api_version, kind) {
        patch::Schema::Builtin
    } else {
        patch::Schema::Unknown
    };
    patch::diff::two_way_merge_patch(original, modified, schema)
}

/// Builds `dir` like Flux: its kustomization if it has one, otherwise one generated from every
/// YAML file below it; then applies `overrides` (namespace, prefix, patches, images, ...).
/// Files may lie outside the kustomization's directory (not outside the filesystem root).
pub fn build_flux(
    fs: &dyn FileSystem,
    dir: &str,
    overrides: flux::Overrides,
    options: Options,
) -> Result<ResMap> {
    let common = overrides.clone();
    // Flux builds with kustomize's LoadRestrictionsNone.
    let options = Options {
        overrides: Some(overrides),
        load_restrictions: LoadRestrictions::None,
        ..options
    };
    let mut map = Kustomizer::new(options).build(fs, dir)?;
    flux::apply_common_metadata(&mut map, &common);
    Ok(map)
}

/// Whether `object` is one `selector` picks, as a patch target is picked: anchored regular
/// expressions on group, version, kind, name and namespace, label and annotation selectors.
pub fn selects(selector: &flux::Selector, object: &serde_json::Value) -> Result<bool> {
    patch::select(&[Resource::new(object.clone())], selector).map(|picked| !picked.is_empty())
}

/// Builds a directory without a kustomization file the way Flux's generator does.
pub fn build_plain_directory(fs: &dyn FileSystem, dir: &str, options: Options) -> Result<ResMap> {
    build_flux(fs, dir, flux::Overrides::default(), options)
}
