//! Drift detection: whether the result of a server-side apply dry-run differs from the live
//! object, compared the way Flux's `hasDrifted` does — labels, then annotations, then the whole
//! object without `metadata` and `status` — with Kubernetes' semantic equality (a `null`, an
//! empty map and an empty list are equal). Pure functions; no cluster.

use serde_json::Value;

use crate::metadata::{meta_str, string_map};

/// Whether applying would change the object: it does not exist yet (the dry-run result has no
/// `resourceVersion`), or its labels, annotations or content differ from the live object's.
/// Server-owned metadata (managedFields, resourceVersion, generation, timestamps, uid) and
/// `status` are ignored.
pub fn has_drifted(existing: Option<&Value>, dry_run: &Value) -> bool {
    let Some(existing) = existing else {
        return true;
    };
    if meta_str(dry_run, "resourceVersion").is_empty() {
        return true;
    }
    !metadata_map_eq(existing, dry_run, "labels")
        || !metadata_map_eq(existing, dry_run, "annotations")
        || !semantic_eq(&comparable_body(existing), &comparable_body(dry_run))
}

fn metadata_map_eq(a: &Value, b: &Value, field: &str) -> bool {
    match (string_map(a, field), string_map(b, field)) {
        (Some(a), Some(b)) => a == b,
        (Some(m), None) | (None, Some(m)) => m.is_empty(),
        (None, None) => true,
    }
}

/// The object without `metadata` and `status`: what drift is judged on besides labels and
/// annotations.
pub fn comparable_body(object: &Value) -> Value {
    let mut body = object.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    body
}

/// Kubernetes' `Semantic.DeepEqual` on JSON: like `==`, except that `null`, `{}` and `[]` are
/// equal to each other (Go's nil and empty maps and slices), and numbers compare by value.
pub fn semantic_eq(a: &Value, b: &Value) -> bool {
    if is_empty_value(a) && is_empty_value(b) {
        return true;
    }
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, va)| b.get(k).is_some_and(|vb| semantic_eq(va, vb)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| semantic_eq(x, y))
        }
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64())
        }
        _ => a == b,
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "resourceVersion": "10",
                "uid": "u", "generation": 1, "creationTimestamp": "2024-01-01T00:00:00Z",
                "managedFields": [{"manager": "kustomize-controller"}],
                "labels": {"a": "1"}},
            "data": {"k": "v"}, "status": {"x": 1}})
    }

    #[test]
    fn identical_dry_run_has_not_drifted_whatever_server_metadata_says() {
        let mut dry = live();
        dry["metadata"]["resourceVersion"] = json!("11");
        dry["metadata"]["managedFields"] = json!([{"manager": "other", "time": "x"}]);
        dry["metadata"]["generation"] = json!(2);
        dry["status"] = json!({"y": 2});
        assert!(!has_drifted(Some(&live()), &dry));
    }

    #[test]
    fn new_objects_have_drifted() {
        let mut dry = live();
        dry["metadata"]
            .as_object_mut()
            .map(|m| m.remove("resourceVersion"));
        assert!(has_drifted(Some(&live()), &dry));
        assert!(has_drifted(None, &live()));
    }

    #[test]
    fn labels_annotations_and_content_count() {
        let mut dry = live();
        dry["metadata"]["labels"]["a"] = json!("2");
        assert!(has_drifted(Some(&live()), &dry));
        let mut dry = live();
        dry["metadata"]["annotations"] = json!({"note": "x"});
        assert!(has_drifted(Some(&live()), &dry));
        let mut dry = live();
        dry["data"]["k"] = json!("w");
        assert!(has_drifted(Some(&live()), &dry));
    }

    #[test]
    fn empty_and_missing_maps_are_equal() {
        let mut dry = live();
        dry["metadata"]["annotations"] = json!({});
        assert!(!has_drifted(Some(&live()), &dry));
        assert!(semantic_eq(&json!({"a": null}), &json!({"a": []})));
        assert!(semantic_eq(&json!({"a": {}}), &json!({"a": null})));
        assert!(!semantic_eq(&json!({"a": {}}), &json!({})));
        assert!(semantic_eq(&json!([1.0]), &json!([1.0])));
        assert!(!semantic_eq(&json!([1]), &json!([1, 2])));
        assert!(!semantic_eq(&json!("1"), &json!(1)));
    }
}
