//! The two-way strategic merge patch from one object to another (what apimachinery's
//! `CreateTwoWayMergePatch` computes, and a JSON merge patch for types no schema describes):
//! changed and added fields as they are in the modified object, removed fields as `null`,
//! lists with merge keys element by element (a removed element as `$patch: delete`), other
//! lists whole. Applying the patch with [`super::strategic_merge`] to the original gives the
//! modified object. A changed keyed list names every element in the modified order instead of
//! apimachinery's `$setElementOrder` directive, which kustomize's merge does not read.

use serde_json::{Map, Value};

use super::smp::{ListStrategy, Schema, list_strategy};

/// The patch that turns `original` into `modified` under `schema`; an empty map when they are
/// equal.
pub fn two_way_merge_patch(original: &Value, modified: &Value, schema: Schema<'_>) -> Value {
    match (original, modified) {
        (Value::Object(o), Value::Object(m)) => Value::Object(diff_maps(o, m, schema, &[])),
        _ => modified.clone(),
    }
}

fn diff_maps(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    schema: Schema<'_>,
    path: &[String],
) -> Map<String, Value> {
    let mut patch = Map::new();
    for (key, new) in modified {
        let child: Vec<String> = path.iter().cloned().chain([key.clone()]).collect();
        match (original.get(key), new) {
            (Some(old), _) if old == new => {}
            (Some(Value::Object(old)), Value::Object(new)) => {
                let inner = diff_maps(old, new, schema, &child);
                if !inner.is_empty() {
                    patch.insert(key.clone(), Value::Object(inner));
                }
            }
            (Some(Value::Array(old)), Value::Array(new)) => {
                let list = diff_lists(old, new, schema, &child);
                if list.as_array().is_none_or(|l| !l.is_empty()) {
                    patch.insert(key.clone(), list);
                }
            }
            _ => {
                patch.insert(key.clone(), new.clone());
            }
        }
    }
    for key in original.keys().filter(|k| !modified.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    patch
}

fn diff_lists(
    original: &[Value],
    modified: &[Value],
    schema: Schema<'_>,
    path: &[String],
) -> Value {
    match list_strategy(schema, path) {
        ListStrategy::Keyed(keys) => diff_keyed(original, modified, &keys, schema, path),
        ListStrategy::Primitive => {
            let mut replaced = vec![Value::from(Map::from_iter([(
                "$patch".to_owned(),
                Value::from("replace"),
            )]))];
            replaced.extend(modified.iter().cloned());
            Value::Array(replaced)
        }
        ListStrategy::Replace => Value::Array(modified.to_vec()),
    }
}

/// When anything changed: every element of the modified list in its order (unchanged ones by
/// their keys alone, changed ones by their keys and changes, added ones whole), then removed
/// ones as `$patch: delete`. Listing every element keeps the modified order where the patch
/// is applied (kustomize puts patch elements first); an unchanged list gives an empty patch.
fn diff_keyed(
    original: &[Value],
    modified: &[Value],
    keys: &[String],
    schema: Schema<'_>,
    path: &[String],
) -> Value {
    let key_of = |item: &Value| -> Vec<Value> {
        keys.iter()
            .map(|k| item.get(k).cloned().unwrap_or(Value::Null))
            .collect()
    };
    let mut patch = Vec::new();
    let mut changed = original.len() != modified.len();
    for new in modified {
        let old = original.iter().find(|o| key_of(o) == key_of(new));
        changed |= old != Some(new);
        match (old, new) {
            (Some(Value::Object(old)), Value::Object(new_map)) => {
                let mut inner = diff_maps(old, new_map, schema, path);
                for key in keys {
                    if let Some(value) = new_map.get(key) {
                        inner.insert(key.clone(), value.clone());
                    }
                }
                patch.push(Value::Object(inner));
            }
            _ => patch.push(new.clone()),
        }
    }
    for old in original {
        if !modified.iter().any(|m| key_of(m) == key_of(old)) {
            let mut deleted: Map<String, Value> = keys
                .iter()
                .filter_map(|k| old.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            deleted.insert("$patch".to_owned(), Value::from("delete"));
            patch.push(Value::Object(deleted));
        }
    }
    if changed {
        Value::Array(patch)
    } else {
        Value::Array(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::strategic_merge;
    use serde_json::json;

    fn deployment(image: &str, annotations: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": annotations},
            "spec": {"template": {"spec": {"containers": [
                {"name": "sidecar", "image": "proxy:1"},
                {"name": "app", "image": image, "ports": [{"containerPort": 80}]}
            ]}}}
        })
    }

    #[test]
    fn a_changed_image_is_patched_by_container_name_and_round_trips() {
        let original = deployment("app:1", json!({"keep": "x", "drop": "y"}));
        let modified = deployment("app:2", json!({"keep": "x", "fluxcd.io/locked": "true"}));
        let patch = two_way_merge_patch(&original, &modified, Schema::Builtin);
        assert_eq!(
            patch,
            json!({
                "metadata": {"annotations": {"fluxcd.io/locked": "true", "drop": null}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "sidecar"}, {"name": "app", "image": "app:2"}
                ]}}}
            })
        );
        let applied = strategic_merge(&original, &patch, Schema::Builtin).expect("applies");
        assert_eq!(applied, Some(modified));
    }

    #[test]
    fn removed_elements_are_deleted_and_unknown_types_replace_lists() {
        let original = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let modified = json!({"spec": {"containers": [{"name": "b"}]}});
        let patch = two_way_merge_patch(&original, &modified, Schema::Builtin);
        assert_eq!(
            patch,
            json!({"spec": {"containers": [{"name": "b"}, {"name": "a", "$patch": "delete"}]}})
        );
        let applied = strategic_merge(&original, &patch, Schema::Builtin).expect("applies");
        assert_eq!(applied, Some(modified.clone()));
        let unknown = two_way_merge_patch(&original, &modified, Schema::Unknown);
        assert_eq!(unknown, modified);
        let same = two_way_merge_patch(&original, &original, Schema::Builtin);
        assert_eq!(same, json!({}));
    }
}
