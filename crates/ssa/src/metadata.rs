//! Labels and annotations: Flux's annotation keys and values, the label/annotation selectors that
//! decide which objects are skipped, forced or pruned, and stamping owner labels onto objects.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `kustomize.toolkit.fluxcd.io/ssa`: `IfNotPresent` (create only) or `Ignore` (never apply).
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// `kustomize.toolkit.fluxcd.io/force`: `enabled` recreates the object on immutable-field errors.
pub const FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";
/// `kustomize.toolkit.fluxcd.io/reconcile`: `disabled` leaves the object alone.
pub const RECONCILE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// `kustomize.toolkit.fluxcd.io/prune`: `disabled` keeps the object when it leaves the set.
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Owner label holding the name of the applying Kustomization.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// Owner label holding the namespace of the applying Kustomization.
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// The annotation `kubectl apply` (client-side) leaves behind.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A set of `key: value` pairs matched against an object's labels and annotations. It matches
/// when any pair is found in either, with the value compared case-insensitively (Flux's
/// `AnyInMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(pub BTreeMap<String, String>);

impl Selector {
    /// A selector from borrowed pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// Whether any pair is present in the labels or annotations of `object`.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = string_map(object, "labels");
        let annotations = string_map(object, "annotations");
        self.0.iter().any(|(key, want)| {
            [labels, annotations]
                .into_iter()
                .flatten()
                .filter_map(|map| map.get(key).and_then(Value::as_str))
                .any(|have| !have.is_empty() && have.eq_ignore_ascii_case(want))
        })
    }
}

/// Whether every label in `labels` is present on `object` with the same value (a label selector
/// of `matchLabels`). An empty set matches everything.
pub fn has_labels(object: &Value, labels: &BTreeMap<String, String>) -> bool {
    let have = string_map(object, "labels");
    labels.iter().all(|(key, want)| {
        have.and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .is_some_and(|v| v == want)
    })
}

/// Adds (or overwrites) `labels` in `metadata.labels` of `object`. Does nothing if the object or
/// its metadata is not a map.
pub fn stamp_labels(object: &mut Value, labels: &BTreeMap<String, String>) {
    if labels.is_empty() {
        return;
    }
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let entry = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Some(map) = entry.as_object_mut() {
        for (key, value) in labels {
            map.insert(key.clone(), Value::String(value.clone()));
        }
    }
}

/// The owner labels Flux stamps for the Kustomization `name` in `namespace`.
pub fn owner_labels(name: &str, namespace: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (OWNER_NAME_LABEL.to_owned(), name.to_owned()),
        (OWNER_NAMESPACE_LABEL.to_owned(), namespace.to_owned()),
    ])
}

/// `metadata.<field>` as a JSON map, if present.
pub(crate) fn string_map<'a>(object: &'a Value, field: &str) -> Option<&'a Map<String, Value>> {
    object.get("metadata")?.get(field)?.as_object()
}

/// `metadata.<field>` as a string, or empty.
pub(crate) fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "c", "labels": {"team": "a"},
            "annotations": {SSA_ANNOTATION: "ifnotpresent", "empty": ""}}})
    }

    #[test]
    fn selector_matches_labels_or_annotations_case_insensitively() {
        let o = object();
        assert!(Selector::from_pairs(&[(SSA_ANNOTATION, "IfNotPresent")]).matches(&o));
        assert!(Selector::from_pairs(&[("x", "y"), ("team", "A")]).matches(&o));
        assert!(!Selector::from_pairs(&[(SSA_ANNOTATION, "Ignore")]).matches(&o));
        assert!(!Selector::from_pairs(&[("empty", "")]).matches(&o));
        assert!(!Selector::default().matches(&o));
        assert!(!Selector::from_pairs(&[("team", "a")]).matches(&json!({"metadata": {}})));
    }

    #[test]
    fn has_labels_needs_every_label() {
        let o = object();
        assert!(has_labels(&o, &BTreeMap::new()));
        let mut want = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        assert!(has_labels(&o, &want));
        want.insert("other".into(), "b".into());
        assert!(!has_labels(&o, &want));
        let wrong = BTreeMap::from([("team".to_owned(), "A".to_owned())]);
        assert!(!has_labels(&o, &wrong));
    }

    #[test]
    fn stamps_owner_labels_creating_the_map() {
        let mut o = json!({"metadata": {"name": "x"}});
        stamp_labels(&mut o, &owner_labels("apps", "flux-system"));
        assert_eq!(
            o["metadata"]["labels"],
            json!({OWNER_NAME_LABEL: "apps", OWNER_NAMESPACE_LABEL: "flux-system"})
        );
        let mut o = object();
        stamp_labels(&mut o, &owner_labels("apps", "ns"));
        assert_eq!(o["metadata"]["labels"]["team"], "a");
        assert_eq!(o["metadata"]["labels"][OWNER_NAME_LABEL], "apps");
    }
}
