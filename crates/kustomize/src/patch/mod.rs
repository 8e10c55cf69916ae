//! The patch transformers: `patchesStrategicMerge`, `patches` (strategic merge or JSON 6902,
//! inline or from a file, with optional target selectors) and `patchesJson6902`.

mod associative;
mod builtin_types;
pub(crate) mod diff;
mod json6902;
mod select;
mod smp;

use serde_json::Value;

use crate::build::{Ctx, objects_from_documents};
use crate::error::{Error, Result};
use crate::kustfile::{Patch, PatchOptions, Selector};
use crate::resource::Resource;
use crate::yaml;

use crate::openapi::CustomSchema;
pub use builtin_types::is_builtin_type;
pub use select::{select, select_by_any_id};
pub use smp::{Schema, merge as strategic_merge, merges_by_key};

/// A parsed patch body.
enum Body {
    Strategic(Vec<Resource>),
    Json(Value),
}

/// `patchesStrategicMerge`: each entry is a file path or inline YAML; each patch applies to the
/// object whose id matches its own.
pub fn apply_strategic_merge_list(
    ctx: &Ctx<'_>,
    dir: &str,
    entries: &[String],
    acc: &mut Vec<Resource>,
) -> Result<()> {
    for entry in entries {
        let (source, text) = match yaml::from_str_multi(entry) {
            Ok(docs) if docs.iter().any(|d| d.is_object()) => {
                (format!("[patch: {entry:?}]"), entry.clone())
            }
            _ => {
                let (_, bytes) = ctx.read_restricted(dir, entry)?;
                (entry.clone(), String::from_utf8_lossy(&bytes).into_owned())
            }
        };
        let patches = parse_strategic(&source, &text)?;
        let schema = ctx.schema();
        for patch in patches {
            apply_by_id(
                acc,
                &patch,
                PatchOptions::default(),
                &source,
                schema.as_deref(),
            )?;
        }
    }
    Ok(())
}

/// One `patches` entry.
pub fn apply_patch(ctx: &Ctx<'_>, dir: &str, p: &Patch, acc: &mut Vec<Resource>) -> Result<()> {
    let (source, text) = patch_text(ctx, dir, p)?;
    match parse_body(&source, &text)? {
        Body::Strategic(patches) => {
            apply_strategic(acc, patches, p, &source, ctx.schema().as_deref())
        }
        Body::Json(ops) => {
            let Some(target) = &p.target else {
                return Err(Error::Patch {
                    source_name: source,
                    message: "must specify a target for JSON patch".into(),
                });
            };
            apply_json(acc, &ops, target, &source)
        }
    }
}

/// One `patchesJson6902` entry (always JSON patch, always with a target).
pub fn apply_json6902_entry(
    ctx: &Ctx<'_>,
    dir: &str,
    p: &Patch,
    acc: &mut [Resource],
) -> Result<()> {
    let (source, text) = patch_text(ctx, dir, p)?;
    let ops = parse_json_ops(&text).map_err(|message| Error::Patch {
        source_name: source.clone(),
        message,
    })?;
    let Some(target) = &p.target else {
        return Err(Error::Patch {
            source_name: source,
            message: "must specify a target for JSON patch".into(),
        });
    };
    apply_json(acc, &ops, target, &source)
}

fn patch_text(ctx: &Ctx<'_>, dir: &str, p: &Patch) -> Result<(String, String)> {
    let inline = p.patch.trim();
    match (inline.is_empty(), p.path.is_empty()) {
        (true, true) => Err(Error::transform("must specify one of patch and path")),
        (false, false) => Err(Error::transform(
            "patch and path can't be set at the same time",
        )),
        (false, true) => Ok((format!("[patch: {inline:?}]"), inline.to_string())),
        (true, false) => {
            let (_, bytes) = ctx.read_restricted(dir, &p.path)?;
            Ok((
                format!("[path: {:?}]", p.path),
                String::from_utf8_lossy(&bytes).into_owned(),
            ))
        }
    }
}

fn parse_body(source: &str, text: &str) -> Result<Body> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return parse_json_ops(text)
            .map(Body::Json)
            .map_err(|message| Error::Patch {
                source_name: source.into(),
                message,
            });
    }
    let docs = yaml::from_str_multi(text).map_err(|e| Error::Patch {
        source_name: source.into(),
        message: e.to_string(),
    })?;
    let objects: Vec<&Value> = docs.iter().filter(|d| !d.is_null()).collect();
    if let [Value::Array(_)] = objects.as_slice() {
        return parse_json_ops(text)
            .map(Body::Json)
            .map_err(|message| Error::Patch {
                source_name: source.into(),
                message,
            });
    }
    parse_strategic(source, text).map(Body::Strategic)
}

/// kustomize reads JSON patches through `sigs.k8s.io/yaml`, so values take YAML 1.1 types
/// (`on` and `yes` are booleans, `0644` octal).
fn parse_json_ops(text: &str) -> std::result::Result<Value, String> {
    let v = yaml::from_str_yaml11(text).map_err(|e| e.to_string())?;
    if v.is_array() {
        Ok(v)
    } else {
        Err("json patch must be a list of operations".into())
    }
}

fn parse_strategic(source: &str, text: &str) -> Result<Vec<Resource>> {
    let docs = yaml::from_str_multi(text).map_err(|e| Error::Patch {
        source_name: source.into(),
        message: e.to_string(),
    })?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    if docs.iter().any(|d| !d.is_object()) {
        return Err(Error::Patch {
            source_name: source.into(),
            message: "unable to parse SM or JSON patch".into(),
        });
    }
    objects_from_documents(docs).map_err(|message| Error::Patch {
        source_name: source.into(),
        message,
    })
}

fn apply_strategic(
    acc: &mut Vec<Resource>,
    patches: Vec<Resource>,
    p: &Patch,
    source: &str,
    custom: Option<&CustomSchema>,
) -> Result<()> {
    let options = p.options.unwrap_or_default();
    let Some(target) = &p.target else {
        for patch in patches {
            apply_by_id(acc, &patch, options, source, custom)?;
        }
        return Ok(());
    };
    if patches.len() > 1 {
        return Err(Error::Patch {
            source_name: source.into(),
            message: "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field".into(),
        });
    }
    let Some(patch) = patches.into_iter().next() else {
        return Ok(());
    };
    let selected = select(acc, target)?;
    apply_to_selected(acc, &selected, &patch, options, source, custom)
}

fn apply_by_id(
    acc: &mut Vec<Resource>,
    patch: &Resource,
    options: PatchOptions,
    source: &str,
    custom: Option<&CustomSchema>,
) -> Result<()> {
    let id = patch.org_id();
    let matches = crate::resource::ResMap {
        resources: std::mem::take(acc),
    };
    let found = matches.find_any(&id);
    *acc = matches.resources;
    match found.as_slice() {
        [i] => apply_to_selected(acc, &[*i], patch, options, source, custom),
        [] => Err(Error::Patch {
            source_name: source.into(),
            message: format!(
                "no resource matches strategic merge patch \"{id}\": no matches for Id {id}; failed to find unique target for patch {id}"
            ),
        }),
        _ => Err(Error::Patch {
            source_name: source.into(),
            message: format!(
                "multiple matches for Id {id}; failed to find unique target for patch {id}"
            ),
        }),
    }
}

fn apply_to_selected(
    acc: &mut Vec<Resource>,
    selected: &[usize],
    patch: &Resource,
    options: PatchOptions,
    source: &str,
    custom: Option<&CustomSchema>,
) -> Result<()> {
    for &i in selected {
        apply_one(&mut acc[i], patch, options, custom).map_err(|e| Error::Patch {
            source_name: source.into(),
            message: e.to_string(),
        })?;
    }
    acc.retain(|r| !r.is_empty());
    Ok(())
}

fn apply_one(
    r: &mut Resource,
    patch: &Resource,
    options: PatchOptions,
    custom: Option<&CustomSchema>,
) -> Result<()> {
    let (name, namespace, kind) = (r.name(), r.namespace(), r.kind());
    let (allow_name, allow_kind) = (options.allow_name_change, options.allow_kind_change);
    if allow_name || allow_kind {
        r.store_previous_id();
    }
    let mut p = patch.obj.clone();
    if let (Some(pm), Some(api)) = (p.as_object_mut(), r.obj.get("apiVersion").cloned()) {
        pm.insert("apiVersion".into(), api);
    }
    let gvk = r.gvk();
    let api_version = gvk.api_version();
    let root = custom.and_then(|c| Some((c, c.resource(&api_version, &gvk.kind)?)));
    let schema = match root {
        Some((c, root)) => Schema::Custom(c, root),
        None if is_builtin_type(&api_version, &gvk.kind) => Schema::Builtin,
        None => Schema::Unknown,
    };
    crate::untyped::settle_for_strategic_merge(r, |list| merges_by_key(schema, list));
    match strategic_merge(&r.obj, &p, schema)? {
        None => {
            r.obj = Value::Object(Default::default());
            return Ok(());
        }
        Some(v) => r.obj = v,
    }
    if r.is_empty() {
        return Ok(());
    }
    if !allow_kind {
        r.set_kind(&kind);
    }
    if !allow_name {
        r.set_name(&name);
    }
    restore_namespace(r, &namespace);
    Ok(())
}

fn restore_namespace(r: &mut Resource, namespace: &str) {
    if namespace.is_empty() {
        if let Some(meta) = r.obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
    } else {
        r.set_namespace(namespace);
    }
}

fn apply_json(acc: &mut [Resource], ops: &Value, target: &Selector, source: &str) -> Result<()> {
    let selected = select(acc, target)?;
    for i in selected {
        let r = &mut acc[i];
        r.store_previous_id();
        let id = r.cur_id();
        json6902::apply_to_object(&mut r.obj, ops).map_err(|e| Error::Patch {
            source_name: source.into(),
            message: format!("{id}: {e}"),
        })?;
        crate::untyped::settle_after_json_round_trip(r);
    }
    Ok(())
}
