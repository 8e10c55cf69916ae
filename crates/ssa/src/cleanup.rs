//! Metadata cleanup before an apply (Flux's `ApplyCleanupOptions`): the JSON patch that removes
//! stale annotations and labels and hands the fields owned by `kubectl` (edit, patch, client-side
//! apply) and `before-first-apply` over to our field manager, so that the next apply reverts
//! hand-made changes — including fields added by hand, which our manager then owns and no
//! longer applies. Computing the patch is pure; sending it is the apply verb's job.

use serde_json::{Map, Value, json};

use crate::metadata::{LAST_APPLIED_ANNOTATION, SSA_ANNOTATION, Selector, string_map};

/// A managed-fields operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A server-side apply.
    Apply,
    /// A create, update or (non-apply) patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// A field manager whose ownership is taken over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldManager {
    /// The manager's name, or a prefix of it.
    pub name: String,
    /// Match the name exactly instead of as a prefix.
    pub exact: bool,
    /// The operation the entry must record.
    pub operation: Operation,
}

impl FieldManager {
    /// A manager matched by name prefix.
    pub fn prefix(name: &str, operation: Operation) -> Self {
        Self {
            name: name.to_owned(),
            exact: false,
            operation,
        }
    }

    fn matches(&self, entry: &Value) -> bool {
        let field = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or_default();
        if field("operation") != self.operation.as_str() || !field("subresource").is_empty() {
            return false;
        }
        if self.exact {
            field("manager") == self.name
        } else {
            field("manager").starts_with(&self.name)
        }
    }
}

/// What to remove from live objects before applying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupOptions {
    /// Annotation keys to remove.
    pub annotations: Vec<String>,
    /// Label keys to remove.
    pub labels: Vec<String>,
    /// Managers whose fields are handed over to ours.
    pub field_managers: Vec<FieldManager>,
    /// Objects (desired or live) matching this are not cleaned up.
    pub exclusions: Selector,
}

impl Default for CleanupOptions {
    /// kustomize-controller's settings: drop the `kubectl apply` annotation and Flux v1's
    /// checksum annotations and GC label; take over `kubectl*` (apply and update) and
    /// `before-first-apply`; skip objects annotated `kustomize.toolkit.fluxcd.io/ssa: Merge`.
    fn default() -> Self {
        Self {
            annotations: [
                LAST_APPLIED_ANNOTATION,
                "kustomize.toolkit.fluxcd.io/checksum",
                "fluxcd.io/sync-checksum",
            ]
            .map(String::from)
            .to_vec(),
            labels: vec!["fluxcd.io/sync-gc-mark".to_owned()],
            field_managers: vec![
                FieldManager::prefix("kubectl", Operation::Apply),
                FieldManager::prefix("kubectl", Operation::Update),
                FieldManager::prefix("before-first-apply", Operation::Update),
            ],
            exclusions: Selector::from_pairs(&[(SSA_ANNOTATION, "Merge")]),
        }
    }
}

impl CleanupOptions {
    /// No cleanup at all.
    pub fn none() -> Self {
        Self {
            annotations: Vec::new(),
            labels: Vec::new(),
            field_managers: Vec::new(),
            exclusions: Selector::default(),
        }
    }
}

/// The RFC 6902 JSON patch that cleans `live` up for `manager`, or `None` when nothing needs
/// to change (then no request is sent).
pub fn cleanup_patch(
    desired: &Value,
    live: &Value,
    manager: &str,
    opts: &CleanupOptions,
) -> Option<Value> {
    if opts.exclusions.matches(desired) || opts.exclusions.matches(live) {
        return None;
    }
    let mut ops = remove_keys(live, "annotations", &opts.annotations);
    ops.extend(remove_keys(live, "labels", &opts.labels));
    ops.extend(take_over_managers(live, &opts.field_managers, manager));
    (!ops.is_empty()).then(|| Value::Array(ops))
}

fn remove_keys(live: &Value, field: &str, keys: &[String]) -> Vec<Value> {
    let Some(present) = string_map(live, field) else {
        return Vec::new();
    };
    keys.iter()
        .filter(|k| present.contains_key(k.as_str()))
        .map(|k| json!({"op": "remove", "path": format!("/metadata/{field}/{}", escape(k))}))
        .collect()
}

/// RFC 6901 escaping of one path segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Renames the first matching entry to our Apply entry (when we have none) and merges every
/// other matching entry's fields into ours; a `replace` of the whole list when anything moved.
fn take_over_managers(live: &Value, managers: &[FieldManager], ours: &str) -> Option<Value> {
    let entries = live.get("metadata")?.get("managedFields")?.as_array()?;
    let is_ours = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(ours)
            && e.get("operation").and_then(Value::as_str) == Some("Apply")
    };
    let own_index = entries.iter().rposition(is_ours);
    let mut own = own_index.map(|i| entries[i].clone());
    let mut kept = Vec::with_capacity(entries.len());
    let mut edited = false;
    for (i, entry) in entries.iter().enumerate() {
        if Some(i) == own_index {
            continue;
        }
        if !managers.iter().any(|m| m.matches(entry)) {
            kept.push(entry.clone());
            continue;
        }
        edited = true;
        own = Some(match own {
            None => renamed(entry, ours),
            Some(mut acc) => {
                merge_fields(&mut acc, entry);
                acc
            }
        });
    }
    if !edited {
        return None;
    }
    kept.extend(own);
    Some(json!({"op": "replace", "path": "/metadata/managedFields", "value": kept}))
}

fn renamed(entry: &Value, ours: &str) -> Value {
    let mut entry = entry.clone();
    if let Some(map) = entry.as_object_mut() {
        map.insert("manager".into(), Value::String(ours.to_owned()));
        map.insert("operation".into(), Value::String("Apply".into()));
    }
    entry
}

/// Unions `other.fieldsV1` into `acc.fieldsV1`. A FieldsV1 document is a trie of maps whose
/// leaves are empty maps, so the union of two sets is the recursive union of their maps.
fn merge_fields(acc: &mut Value, other: &Value) {
    let Some(theirs) = other.get("fieldsV1") else {
        return;
    };
    let Some(map) = acc.as_object_mut() else {
        return;
    };
    let ours = map
        .entry("fieldsV1")
        .or_insert_with(|| Value::Object(Map::new()));
    union_into(ours, theirs);
}

fn union_into(acc: &mut Value, other: &Value) {
    let (Some(acc), Some(other)) = (acc.as_object_mut(), other.as_object()) else {
        return;
    };
    for (key, value) in other {
        match acc.get_mut(key) {
            Some(existing) => union_into(existing, value),
            None => {
                acc.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(manager: &str, operation: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "v1",
               "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    fn live(entries: Vec<Value>) -> Value {
        json!({"metadata": {"name": "x", "managedFields": entries,
            "annotations": {LAST_APPLIED_ANNOTATION: "{}", "keep": "1"}}})
    }

    #[test]
    fn merges_kubectl_updates_into_our_apply_entry() {
        let ours = entry(
            "kustomize-controller",
            "Apply",
            json!({"f:data": {"f:a": {}}}),
        );
        let edit = entry("kubectl-edit", "Update", json!({"f:data": {"f:b": {}}}));
        let other = entry("kube-controller-manager", "Update", json!({"f:status": {}}));
        let object = live(vec![ours, edit, other.clone()]);
        let patch = cleanup_patch(
            &json!({}),
            &object,
            "kustomize-controller",
            &CleanupOptions::default(),
        )
        .unwrap_or_default();
        let ops = patch.as_array().cloned().unwrap_or_default();
        assert_eq!(
            ops[0],
            json!({"op": "remove",
            "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"})
        );
        let value = &ops[1]["value"];
        assert_eq!(value[0], other);
        assert_eq!(value[1]["manager"], "kustomize-controller");
        assert_eq!(
            value[1]["fieldsV1"],
            json!({"f:data": {"f:a": {}, "f:b": {}}})
        );
    }

    #[test]
    fn renames_first_match_when_we_own_nothing() {
        let object = json!({"metadata": {"managedFields": [
            entry("kubectl-client-side-apply", "Update", json!({"f:data": {}})),
            entry("before-first-apply", "Update", json!({"f:spec": {}})),
        ]}});
        let patch = cleanup_patch(&json!({}), &object, "km", &CleanupOptions::default());
        let value = patch.map(|p| p[0]["value"].clone()).unwrap_or_default();
        assert_eq!(
            value,
            json!([entry("km", "Apply", json!({"f:data": {}, "f:spec": {}}))])
        );
    }

    #[test]
    fn nothing_to_do_means_no_patch() {
        let object = json!({"metadata": {"managedFields": [
            entry("kustomize-controller", "Apply", json!({})),
            entry("kubectl", "Update", json!({})).as_object().map(|m| {
                let mut m = m.clone();
                m.insert("subresource".into(), json!("scale"));
                Value::Object(m)
            }).unwrap_or_default(),
        ]}});
        let opts = CleanupOptions::default();
        assert_eq!(
            cleanup_patch(&json!({}), &object, "kustomize-controller", &opts),
            None
        );
        let merged = live(vec![entry("kubectl-edit", "Update", json!({}))]);
        let desired = json!({"metadata": {"annotations": {SSA_ANNOTATION: "merge"}}});
        assert_eq!(cleanup_patch(&desired, &merged, "k", &opts), None);
        assert_eq!(
            cleanup_patch(&json!({}), &merged, "k", &CleanupOptions::none()),
            None
        );
    }
}
