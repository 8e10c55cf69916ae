//! Plugin configurations listed under `generators:`, `transformers:` and `validators:`.
//!
//! As kustomize does, every entry is either inline YAML (objects) or a file or kustomization
//! directory whose output is objects; inline entries come first, then the others in order.
//! Each object configures one plugin: `apiVersion: builtin` kinds run kustomize's built-in
//! generators and transformers ([`builtin`]); anything else is an exec, Go or function plugin
//! and is refused.

mod builtin;

use crate::build::{Accumulation, Ctx, append_all, objects_from_documents};
use crate::error::{Error, Result};
use crate::metadata;
use crate::resource::Resource;
use crate::yaml;

/// The apiVersion kustomize's built-in plugins answer to (group empty, version `builtin`).
const BUILTIN_API_VERSION: &str = "builtin";

/// Runs the `generators:` of the kustomization in `dir`, absorbing their objects into `acc`.
pub fn run_generators(
    ctx: &Ctx<'_>,
    dir: &str,
    entries: &[String],
    acc: &mut Vec<Resource>,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    for config in load_configs(ctx, dir, entries)? {
        let kind = builtin_kind(ctx, dir, &config)?;
        builtin::generate(ctx, dir, &kind, &config, acc)?;
    }
    Ok(())
}

/// Runs the `transformers:` of the kustomization in `dir` over `acc`, in order.
pub fn run_transformers(
    ctx: &Ctx<'_>,
    dir: &str,
    entries: &[String],
    acc: &mut Vec<Resource>,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    for config in load_configs(ctx, dir, entries)? {
        let kind = builtin_kind(ctx, dir, &config)?;
        builtin::transform(ctx, dir, &kind, &config, acc)?;
        if let Some(origin) = metadata::plugin_origin(&config) {
            metadata::record_plugin_transformer(ctx, &origin, acc);
        }
    }
    Ok(())
}

/// Runs the `validators:` of the kustomization in `dir`: transformers that must leave every
/// object as it was.
pub fn run_validators(
    ctx: &Ctx<'_>,
    dir: &str,
    entries: &[String],
    acc: &mut [Resource],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    for config in load_configs(ctx, dir, entries)? {
        let kind = builtin_kind(ctx, dir, &config)?;
        let mut copy = acc.to_vec();
        builtin::transform(ctx, dir, &kind, &config, &mut copy)?;
        let unchanged =
            copy.len() == acc.len() && copy.iter().zip(acc.iter()).all(|(a, b)| a.obj == b.obj);
        if !unchanged {
            return Err(Error::transform(format!(
                "validator shouldn't modify the resource map: {} changed objects",
                config.org_id()
            )));
        }
    }
    Ok(())
}

/// kustomize's `configureExternalTransformers`: inline entries, then files and directories.
fn load_configs(ctx: &Ctx<'_>, dir: &str, entries: &[String]) -> Result<Vec<Resource>> {
    let mut acc = Accumulation::default();
    let mut paths = Vec::new();
    for entry in entries {
        match inline_configs(entry) {
            Some(mut configs) => {
                for c in &mut configs {
                    c.origin = metadata::inline_config_origin(ctx, dir);
                }
                append_all(&mut acc.resources, configs)?
            }
            None => paths.push(entry),
        }
    }
    for path in paths {
        ctx.accumulate_resource(dir, path, &mut acc)?;
    }
    Ok(acc.resources)
}

/// The objects of an inline entry, or `None` when it is not inline YAML objects (a path).
fn inline_configs(entry: &str) -> Option<Vec<Resource>> {
    let docs = yaml::from_str_multi(entry).ok()?;
    objects_from_documents(docs).ok()
}

/// The kind of a builtin plugin configuration; any other plugin is refused.
fn builtin_kind(ctx: &Ctx<'_>, dir: &str, config: &Resource) -> Result<String> {
    let api_version = config
        .obj
        .get("apiVersion")
        .map(yaml::to_compact_string)
        .unwrap_or_default();
    if api_version != BUILTIN_API_VERSION {
        return Err(Error::PluginRefused {
            path: ctx.fs.display(dir),
            plugin: config.kind(),
        });
    }
    Ok(config.kind())
}
