//! Flux's `ResourceInventory`: the list of objects a Kustomization applied, stored in its status
//! as `{id: "<namespace>_<name>_<group>_<kind>", v: "<version>"}` entries. Builds inventories
//! from change sets and objects, parses ids, and finds the stale objects to prune.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::changeset::ChangeSet;
use crate::object::{ObjectId, ObjectRef};
use crate::order;

/// Separates the four fields of an inventory id; Kubernetes names cannot contain it.
const FIELD_SEPARATOR: char = '_';
/// What a `:` in the name of an RBAC object becomes in an id.
const COLON_TRANSCODED: &str = "__";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// Errors raised while reading inventory ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// The id does not have the four `_`-separated fields, or its name or kind is empty.
    #[error("unable to parse stored object metadata: {0}")]
    InvalidId(String),
}

/// One inventory entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InventoryEntry {
    /// `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// The API version the object was applied at, without the group.
    #[serde(rename = "v")]
    pub version: String,
}

impl InventoryEntry {
    /// The entry for an object reference.
    pub fn from_ref(object: &ObjectRef) -> Self {
        Self {
            id: object.id().to_inventory_id(),
            version: object.version.clone(),
        }
    }

    /// The object reference this entry names.
    pub fn object_ref(&self) -> Result<ObjectRef, InventoryError> {
        let id = ObjectId::parse_inventory_id(&self.id)?;
        Ok(ObjectRef {
            group: id.group,
            version: self.version.clone(),
            kind: id.kind,
            namespace: id.namespace,
            name: id.name,
        })
    }
}

/// The objects applied by one reconciliation (serialises as Flux's `status.inventory`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The entries, in the order the objects were applied.
    pub entries: Vec<InventoryEntry>,
}

impl ObjectId {
    /// The inventory id `<namespace>_<name>_<group>_<kind>`: `apps_web_apps_Deployment`,
    /// `apps_web__Service` for the core group, `_apps__Namespace` for a cluster-scoped object.
    /// Colons in the names of RBAC objects are written as `__`.
    pub fn to_inventory_id(&self) -> String {
        let name = if self.group == RBAC_GROUP && RBAC_KINDS.contains(&self.kind.as_str()) {
            self.name.replace(':', COLON_TRANSCODED)
        } else {
            self.name.clone()
        };
        let sep = FIELD_SEPARATOR;
        format!(
            "{}{sep}{name}{sep}{}{sep}{}",
            self.namespace, self.group, self.kind
        )
    }

    /// Parses an inventory id. The namespace ends at the first `_`, the kind starts after the
    /// last, the group after the one before it; what is left is the name, with `__` read
    /// back as `:`.
    pub fn parse_inventory_id(id: &str) -> Result<Self, InventoryError> {
        let invalid = || InventoryError::InvalidId(id.to_owned());
        let (namespace, rest) = id.split_once(FIELD_SEPARATOR).ok_or_else(invalid)?;
        let (rest, kind) = rest.rsplit_once(FIELD_SEPARATOR).ok_or_else(invalid)?;
        let (name, group) = rest.rsplit_once(FIELD_SEPARATOR).ok_or_else(invalid)?;
        if name.is_empty() || kind.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            name: name.replace(COLON_TRANSCODED, ":"),
            group: group.to_owned(),
            kind: kind.to_owned(),
        })
    }
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// The inventory of an apply: one entry per change set entry, in change set order.
    pub fn from_change_set(set: &ChangeSet) -> Self {
        Self {
            entries: set
                .entries
                .iter()
                .map(|e| InventoryEntry::from_ref(&e.object))
                .collect(),
        }
    }

    /// The inventory a staged apply of `objects` would record: the objects in apply order
    /// (stage by stage, each stage in Flux's kind order), without extra staged kinds.
    pub fn from_objects(objects: Vec<ObjectRef>) -> Self {
        let ordered = order::apply_order(objects, &HashSet::new());
        Self {
            entries: ordered.iter().map(InventoryEntry::from_ref).collect(),
        }
    }

    /// The ids of the entries, in entry order (Flux's `ListMetadata`).
    pub fn ids(&self) -> Result<Vec<ObjectId>, InventoryError> {
        self.entries
            .iter()
            .map(|e| ObjectId::parse_inventory_id(&e.id))
            .collect()
    }

    /// The entries as object references sorted in apply order (Flux's `List`).
    pub fn object_refs(&self) -> Result<Vec<ObjectRef>, InventoryError> {
        let mut refs = self
            .entries
            .iter()
            .map(InventoryEntry::object_ref)
            .collect::<Result<Vec<_>, _>>()?;
        order::sort_for_apply(&mut refs);
        Ok(refs)
    }

    /// Whether the inventory holds an entry for `id`.
    pub fn contains(&self, id: &ObjectId) -> bool {
        let wanted = id.to_inventory_id();
        self.entries.iter().any(|e| e.id == wanted)
    }

    /// The stale objects: those in `self` (the old inventory) that are not in `target` (the new
    /// one), each once, with the version recorded in `self`, sorted in apply order (Flux's
    /// `Diff`). Prune them in reverse, with [`order::sort_for_delete`].
    pub fn diff(&self, target: &Inventory) -> Result<Vec<ObjectRef>, InventoryError> {
        let versions: HashMap<&str, &str> = self
            .entries
            .iter()
            .map(|e| (e.id.as_str(), e.version.as_str()))
            .collect();
        let kept: HashSet<ObjectId> = target.ids()?.into_iter().collect();
        let mut seen = HashSet::new();
        let mut stale = Vec::new();
        for id in self.ids()? {
            if kept.contains(&id) || !seen.insert(id.clone()) {
                continue;
            }
            let version = versions.get(id.to_inventory_id().as_str()).copied();
            stale.push(ref_from_id(id, version.unwrap_or_default()));
        }
        order::sort_for_apply(&mut stale);
        Ok(stale)
    }

    /// Appends the objects not already present (Flux's `Merge`): puts back the objects whose
    /// prune failed so the next reconciliation retries them.
    pub fn merge(&mut self, objects: &[ObjectRef]) {
        let mut seen: HashSet<String> = self.entries.iter().map(|e| e.id.clone()).collect();
        for object in objects {
            let entry = InventoryEntry::from_ref(object);
            if seen.insert(entry.id.clone()) {
                self.entries.push(entry);
            }
        }
    }
}

fn ref_from_id(id: ObjectId, version: &str) -> ObjectRef {
    ObjectRef {
        group: id.group,
        version: version.to_owned(),
        kind: id.kind,
        namespace: id.namespace,
        name: id.name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changeset::{Action, ChangeSetEntry};

    fn r(group: &str, version: &str, kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn formats_ids_like_flux() {
        let cases = [
            (
                r("apps", "v1", "Deployment", "apps", "web"),
                "apps_web_apps_Deployment",
            ),
            (
                r("", "v1", "Service", "default", "web"),
                "default_web__Service",
            ),
            (r("", "v1", "Namespace", "", "apps"), "_apps__Namespace"),
            (
                r(RBAC_GROUP, "v1", "ClusterRole", "", "system:metrics"),
                "_system__metrics_rbac.authorization.k8s.io_ClusterRole",
            ),
            (r("", "v1", "ConfigMap", "a", "x:y"), "a_x:y__ConfigMap"),
        ];
        for (object, id) in cases {
            assert_eq!(object.id().to_inventory_id(), id);
        }
    }

    #[test]
    fn parses_ids_back() -> Result<(), InventoryError> {
        for id in [
            "apps_web_apps_Deployment",
            "default_web__Service",
            "_apps__Namespace",
            "_system__metrics_rbac.authorization.k8s.io_ClusterRole",
        ] {
            assert_eq!(ObjectId::parse_inventory_id(id)?.to_inventory_id(), id);
        }
        let crole =
            ObjectId::parse_inventory_id("_system__metrics_rbac.authorization.k8s.io_ClusterRole")?;
        assert_eq!(crole.name, "system:metrics");
        assert_eq!(crole.namespace, "");
        let svc = ObjectId::parse_inventory_id("default_web__Service")?;
        assert_eq!((svc.group.as_str(), svc.kind.as_str()), ("", "Service"));
        Ok(())
    }

    #[test]
    fn rejects_malformed_ids() {
        for id in [
            "",
            "nosep",
            "a_b",
            "a__",
            "ns__group_Kind",
            "ns_name_group_",
        ] {
            assert_eq!(
                ObjectId::parse_inventory_id(id),
                Err(InventoryError::InvalidId(id.into())),
                "{id}"
            );
        }
    }

    #[test]
    fn serialises_as_flux_status() -> Result<(), serde_json::Error> {
        let inv = Inventory::from_objects(vec![r("", "v1", "Service", "default", "web")]);
        let json = serde_json::to_string(&inv)?;
        assert_eq!(
            json,
            r#"{"entries":[{"id":"default_web__Service","v":"v1"}]}"#
        );
        assert_eq!(serde_json::from_str::<Inventory>(&json)?, inv);
        Ok(())
    }

    #[test]
    fn from_objects_uses_staged_apply_order() {
        let inv = Inventory::from_objects(vec![
            r("apps", "v1", "Deployment", "apps", "web"),
            r("example.com", "v1", "FooClass", "", "foo"),
            r(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "",
                "crb",
            ),
            r("", "v1", "Namespace", "", "apps"),
        ]);
        let ids: Vec<&str> = inv.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "_apps__Namespace",
                "_foo_example.com_FooClass",
                "_crb_rbac.authorization.k8s.io_ClusterRoleBinding",
                "apps_web_apps_Deployment",
            ]
        );
    }

    #[test]
    fn from_change_set_keeps_change_set_order() {
        let mut set = ChangeSet::new();
        set.add(ChangeSetEntry::new(
            r("", "v1", "Service", "a", "s"),
            Action::Created,
        ));
        set.add(ChangeSetEntry::new(
            r("", "v1", "Namespace", "", "a"),
            Action::Unchanged,
        ));
        let inv = Inventory::from_change_set(&set);
        assert_eq!(inv.entries[0].id, "a_s__Service");
        assert_eq!(inv.entries[1].id, "_a__Namespace");
    }

    #[test]
    fn diff_returns_stale_objects_sorted_with_old_versions() -> Result<(), InventoryError> {
        let old = Inventory::from_objects(vec![
            r("apps", "v1", "Deployment", "a", "web"),
            r("", "v1", "Namespace", "", "a"),
            r("networking.k8s.io", "v1beta1", "Ingress", "a", "web"),
            r("", "v1", "Service", "a", "web"),
        ]);
        let new = Inventory::from_objects(vec![
            r("apps", "v2", "Deployment", "a", "web"),
            r("", "v1", "Namespace", "", "a"),
        ]);
        let stale = old.diff(&new)?;
        let shown: Vec<String> = stale
            .iter()
            .map(|s| format!("{} {}", s, s.api_version()))
            .collect();
        assert_eq!(
            shown,
            [
                "Service/a/web v1",
                "Ingress/a/web networking.k8s.io/v1beta1"
            ]
        );
        assert!(new.diff(&new)?.is_empty());
        Ok(())
    }

    #[test]
    fn diff_fails_on_a_bad_id() {
        let bad = Inventory {
            entries: vec![InventoryEntry {
                id: "garbage".into(),
                version: "v1".into(),
            }],
        };
        assert!(bad.diff(&Inventory::new()).is_err());
        assert!(Inventory::new().diff(&bad).is_err());
        assert!(bad.object_refs().is_err());
    }

    #[test]
    fn merge_puts_back_survivors_once() -> Result<(), InventoryError> {
        let mut inv = Inventory::from_objects(vec![r("", "v1", "Namespace", "", "a")]);
        let survivor = r("", "v1", "Service", "a", "web");
        inv.merge(std::slice::from_ref(&survivor));
        inv.merge(std::slice::from_ref(&survivor));
        assert_eq!(inv.entries.len(), 2);
        assert!(inv.contains(&survivor.id()));
        assert_eq!(inv.object_refs()?[1], survivor);
        Ok(())
    }
}
