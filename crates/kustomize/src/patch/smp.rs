//! Strategic merge patch as kustomize applies it (kyaml's merge2 walker): maps merge
//! recursively, `null` deletes, `$patch: delete|replace` directives, lists with a merge key merge
//! element-wise with the patch's elements first, other lists are replaced.
//!
//! kustomize finds merge keys in its built-in OpenAPI schema for Kubernetes types (or a custom
//! schema); it does not infer keys (merge2 runs without `InferAssociativeLists`), so a list of a
//! type or field no schema describes is replaced. [`list_strategy`] encodes the schema's merge
//! keys for the fields that have one.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::openapi::{CustomSchema, ListSchema};
use crate::patch::associative::merge_by_keys;

const PATCH_DIRECTIVE: &str = "$patch";

/// Where a resource's list strategies come from.
#[derive(Debug, Clone, Copy)]
pub enum Schema<'a> {
    /// kustomize's built-in schema for Kubernetes types.
    Builtin,
    /// No schema describes the type: every list is replaced.
    Unknown,
    /// A custom OpenAPI document and the resource's definition in it.
    Custom(&'a CustomSchema, &'a Value),
}

/// How a list field merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListStrategy {
    /// Elements are maps matched by these keys.
    Keyed(Vec<String>),
    /// Scalars merged as a set.
    Primitive,
    /// The patch's list replaces the target's.
    Replace,
}

/// Applies `patch` to `target`; returns `None` when the patch deletes the whole object.
pub fn merge(target: &Value, patch: &Value, schema: Schema<'_>) -> Result<Option<Value>> {
    let path: Vec<String> = Vec::new();
    merge_node(Some(target), patch, schema, &path)
}

fn merge_node(
    dest: Option<&Value>,
    patch: &Value,
    known: Schema<'_>,
    path: &[String],
) -> Result<Option<Value>> {
    match patch {
        Value::Null => Ok(None),
        Value::Object(p) => merge_map(dest, p, known, path),
        Value::Array(p) => merge_list(dest, p, known, path),
        scalar => {
            if let Some(d) = dest.filter(|d| d.is_object() || d.is_array()) {
                return Err(Error::transform(format!(
                    "wrong node kind at {}: expected {} but got scalar",
                    path.join("."),
                    if d.is_object() {
                        "MappingNode"
                    } else {
                        "SequenceNode"
                    }
                )));
            }
            Ok(Some(scalar.clone()))
        }
    }
}

fn directive(map: &Map<String, Value>) -> Result<Option<String>> {
    match map.get(PATCH_DIRECTIVE) {
        None => Ok(None),
        Some(Value::String(s)) if s == "delete" || s == "replace" || s == "merge" => {
            Ok(Some(s.clone()))
        }
        Some(other) => Err(Error::transform(format!("unknown patch strategy {other}"))),
    }
}

fn merge_map(
    dest: Option<&Value>,
    patch: &Map<String, Value>,
    known: Schema<'_>,
    path: &[String],
) -> Result<Option<Value>> {
    let mut patch = patch.clone();
    let d = directive(&patch)?;
    patch.remove(PATCH_DIRECTIVE);
    match d.as_deref() {
        Some("delete") => return Ok(None),
        Some("replace") => return Ok(Some(strip_nulls(Value::Object(patch)))),
        _ => {}
    }
    let mut out = match dest {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Null) | None => Map::new(),
        Some(_) => {
            return Err(Error::transform(format!(
                "wrong node kind at {}: expected ScalarNode but got MappingNode",
                path.join(".")
            )));
        }
    };
    for (key, pv) in &patch {
        let mut child_path = path.to_vec();
        child_path.push(key.clone());
        match merge_node(out.get(key), pv, known, &child_path)? {
            Some(v) => {
                out.insert(key.clone(), v);
            }
            None => {
                out.remove(key);
            }
        }
    }
    Ok(Some(Value::Object(out)))
}

/// Removes `null` fields and `$patch` keys from a value that lands without a target.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, v)| !v.is_null() && k != PATCH_DIRECTIVE)
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn merge_list(
    dest: Option<&Value>,
    patch: &[Value],
    known: Schema<'_>,
    path: &[String],
) -> Result<Option<Value>> {
    let strategy = list_strategy(known, path);
    if strategy == ListStrategy::Replace {
        // kyaml copies a non-associative list from the patch as it is: nulls and `$patch`
        // elements included.
        return Ok(Some(Value::Array(patch.to_vec())));
    }
    let (patch, replace) = take_list_directive(patch);
    if replace && dest.is_none() {
        // kyaml, finding no list to replace, keeps the directive element and drops the rest.
        return Ok(Some(Value::Array(vec![replace_directive()])));
    }
    let dest_items: Vec<Value> = match dest {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(_) => {
            return Err(Error::transform(format!(
                "wrong node kind at {}: expected a list",
                path.join(".")
            )));
        }
    };
    if replace {
        return Ok(Some(Value::Array(patch)));
    }
    match strategy {
        ListStrategy::Replace => Ok(Some(Value::Array(patch))),
        ListStrategy::Primitive => Ok(Some(Value::Array(merge_primitive(&dest_items, &patch)))),
        ListStrategy::Keyed(keys) => {
            let mut merge_element = |d: Option<&Value>, p: Option<&Value>| match (d, p) {
                (d, Some(p)) => merge_node(d, p, known, path),
                (Some(d), None) => Ok(Some(d.clone())),
                (None, None) => Ok(None),
            };
            merge_by_keys(&dest_items, &patch, &keys, &mut merge_element).map(Some)
        }
    }
}

fn replace_directive() -> Value {
    let mut m = Map::new();
    m.insert(PATCH_DIRECTIVE.into(), Value::from("replace"));
    Value::Object(m)
}

fn take_list_directive(patch: &[Value]) -> (Vec<Value>, bool) {
    let mut replace = false;
    let mut items = Vec::new();
    for item in patch {
        match item.as_object().and_then(|m| m.get(PATCH_DIRECTIVE)) {
            Some(Value::String(s))
                if s == "replace" && item.as_object().is_some_and(|m| m.len() == 1) =>
            {
                replace = true;
            }
            _ => items.push(item.clone()),
        }
    }
    (items, replace)
}

fn merge_primitive(dest: &[Value], patch: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in patch.iter().chain(dest) {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

/// Whether the list at `path` (field names from the root) merges element by element on keys,
/// which is when kyaml's walker descends into its elements.
pub fn merges_by_key(schema: Schema<'_>, path: &[String]) -> bool {
    matches!(list_strategy(schema, path), ListStrategy::Keyed(_))
}

/// The merge strategy of the list at `path`, from the built-in or a custom schema; a list no
/// schema describes is replaced.
pub(crate) fn list_strategy(schema: Schema<'_>, path: &[String]) -> ListStrategy {
    match schema {
        Schema::Builtin => known_list_strategy(path),
        Schema::Custom(custom, root) => match custom.list_schema(root, path) {
            ListSchema::Merge(keys) if keys.is_empty() => ListStrategy::Primitive,
            ListSchema::Merge(keys) => ListStrategy::Keyed(keys),
            ListSchema::Replace | ListSchema::Unknown => ListStrategy::Replace,
        },
        Schema::Unknown => ListStrategy::Replace,
    }
}

fn known_list_strategy(path: &[String]) -> ListStrategy {
    let field = path.last().map(String::as_str).unwrap_or("");
    let parent = path
        .len()
        .checked_sub(2)
        .and_then(|i| path.get(i))
        .map(String::as_str)
        .unwrap_or("");
    let keyed = |k: &str| ListStrategy::Keyed(vec![k.to_string()]);
    let keyed_by = |a: &str, b: &str| ListStrategy::Keyed(vec![a.to_string(), b.to_string()]);
    // The v1.21.2 schema kyaml embeds: no resourceClaims or schedulingGates yet, and
    // `x-kubernetes-list-map-keys` (several keys) where it gives them.
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "webhooks" => keyed("name"),
        "env" => keyed("name"),
        "secrets" if path.len() == 1 => keyed("name"),
        "ports" if is_container_list(parent) => keyed_by("containerPort", "protocol"),
        "ports" if parent == "spec" && path.len() == 2 => keyed_by("port", "protocol"),
        "volumeMounts" => keyed("mountPath"),
        "volumeDevices" => keyed("devicePath"),
        "hostAliases" => keyed("ip"),
        "topologySpreadConstraints" => keyed_by("topologyKey", "whenUnsatisfiable"),
        "ownerReferences" => keyed("uid"),
        "conditions" => keyed("type"),
        "addresses" if parent == "status" => keyed("type"),
        "drivers" => keyed("name"),
        "podIPs" => keyed("ip"),
        "podCIDRs" => ListStrategy::Primitive,
        "finalizers" if parent == "metadata" => ListStrategy::Primitive,
        _ => ListStrategy::Replace,
    }
}

fn is_container_list(name: &str) -> bool {
    // Ephemeral containers have ports without a merge strategy.
    matches!(name, "containers" | "initContainers")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_patch_first() {
        let target = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}]}});
        let out = merge(&target, &patch, Schema::Builtin).ok().flatten();
        assert_eq!(
            out,
            Some(json!({"spec": {"containers": [
                {"name": "b", "image": "z"}, {"name": "c", "image": "w"}, {"name": "a", "image": "x"}
            ]}}))
        );
    }

    #[test]
    fn lists_without_schema_are_replaced_verbatim() {
        let target = json!({"d": [{"name": "x"}, {"name": "y"}]});
        let patch = json!({"d": [{"name": "x", "$patch": "delete"}, {"name": "z", "v": null}]});
        let out = merge(&target, &patch, Schema::Unknown).ok().flatten();
        assert_eq!(
            out,
            Some(json!({"d": [{"name": "x", "$patch": "delete"}, {"name": "z", "v": null}]}))
        );
    }

    #[test]
    fn directives_and_nulls() {
        let target = json!({"a": {"b": 1, "c": 2}, "spec": {"volumes": [{"name": "x"}, {"name": "y"}]}, "e": 1});
        let patch = json!({"a": {"$patch": "replace", "z": 1}, "spec": {"volumes": [{"name": "x", "$patch": "delete"}]}, "e": null});
        let out = merge(&target, &patch, Schema::Builtin).ok().flatten();
        assert_eq!(
            out,
            Some(json!({"a": {"z": 1}, "spec": {"volumes": [{"name": "y"}]}}))
        );
        assert_eq!(
            merge(&target, &json!({"$patch": "delete"}), Schema::Unknown).ok(),
            Some(None)
        );
    }
}
