//! Flux's apply and prune ordering: the kind order of `ssa.ReconcileOrder` with its tie-breaks,
//! and the split of a set of objects into the stages `ApplyAllStaged` applies one after another.

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::object::{AsObjectRef, GroupKind, ObjectRef};

/// Kinds applied first, in this order (Flux's `ReconcileOrder.First`).
pub const FIRST_KINDS: [&str; 23] = [
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds applied last, in this order (Flux's `ReconcileOrder.Last`).
pub const LAST_KINDS: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The rank of a kind: negative for the first kinds, zero for every kind not listed, positive
/// for the last kinds. Only the kind counts, whatever its group.
pub fn kind_rank(kind: &str) -> i32 {
    if let Some(i) = FIRST_KINDS.iter().position(|k| *k == kind) {
        return rank_from_index(i) - rank_from_index(FIRST_KINDS.len());
    }
    LAST_KINDS
        .iter()
        .position(|k| *k == kind)
        .map_or(0, |i| rank_from_index(i) + 1)
}

fn rank_from_index(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

/// Flux's object order: by kind rank, then group, then kind name, then namespace, then name.
pub fn compare(a: &ObjectRef, b: &ObjectRef) -> Ordering {
    let same_group_kind = a.group == b.group && a.kind == b.kind;
    if !same_group_kind {
        return kind_rank(&a.kind)
            .cmp(&kind_rank(&b.kind))
            .then_with(|| a.group.cmp(&b.group))
            .then_with(|| a.kind.cmp(&b.kind));
    }
    a.namespace
        .cmp(&b.namespace)
        .then_with(|| a.name.cmp(&b.name))
}

/// Sorts in apply order (Flux's `SortableUnstructureds`).
pub fn sort_for_apply<T: AsObjectRef>(items: &mut [T]) {
    items.sort_by(|a, b| compare(a.object_ref(), b.object_ref()));
}

/// Sorts in deletion order: the apply order reversed, as Flux's `DeleteAll` does.
pub fn sort_for_delete<T: AsObjectRef>(items: &mut [T]) {
    items.sort_by(|a, b| compare(b.object_ref(), a.object_ref()));
}

/// The stages of a staged apply, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// CustomResourceDefinitions, Namespaces and ClusterRoles; waited for before going on.
    ClusterDefinitions,
    /// Every kind whose name ends in `Class`; waited for before going on.
    ClassDefinitions,
    /// Kinds the operator asked to stage on their own (`CustomStageKinds`); not waited for.
    Custom,
    /// Everything else.
    Resources,
}

/// Which stage an object is applied in. `custom` holds the extra staged kinds, if any.
pub fn stage_of(object: &ObjectRef, custom: &HashSet<GroupKind>) -> Stage {
    if is_cluster_definition(object) {
        Stage::ClusterDefinitions
    } else if object.kind.ends_with("Class") {
        Stage::ClassDefinitions
    } else if custom.contains(&object.group_kind()) {
        Stage::Custom
    } else {
        Stage::Resources
    }
}

/// Whether Flux applies the object in its first stage: a CRD of `apiextensions.k8s.io`, a
/// Namespace of `v1`, or a ClusterRole of `rbac.authorization.k8s.io` (kinds compared
/// case-insensitively, as Flux does).
pub fn is_cluster_definition(object: &ObjectRef) -> bool {
    let kind = object.kind.to_ascii_lowercase();
    match kind.as_str() {
        "customresourcedefinition" => object.group == "apiextensions.k8s.io",
        "namespace" => object.group.is_empty() && object.version == "v1",
        "clusterrole" => object.group == "rbac.authorization.k8s.io",
        _ => false,
    }
}

/// Splits objects into their stages, each sorted in apply order; empty stages are left out.
pub fn plan_stages<T: AsObjectRef>(
    items: Vec<T>,
    custom: &HashSet<GroupKind>,
) -> Vec<(Stage, Vec<T>)> {
    let mut stages: Vec<(Stage, Vec<T>)> = [
        Stage::ClusterDefinitions,
        Stage::ClassDefinitions,
        Stage::Custom,
        Stage::Resources,
    ]
    .into_iter()
    .map(|s| (s, Vec::new()))
    .collect();
    for item in items {
        let stage = stage_of(item.object_ref(), custom);
        if let Some((_, bucket)) = stages.iter_mut().find(|(s, _)| *s == stage) {
            bucket.push(item);
        }
    }
    stages.retain(|(_, bucket)| !bucket.is_empty());
    for (_, bucket) in &mut stages {
        sort_for_apply(bucket);
    }
    stages
}

/// The order a staged apply touches the objects in: the stages one after another, each sorted.
pub fn apply_order<T: AsObjectRef>(items: Vec<T>, custom: &HashSet<GroupKind>) -> Vec<T> {
    plan_stages(items, custom)
        .into_iter()
        .flat_map(|(_, bucket)| bucket)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectRef {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        ObjectRef {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn names(items: &[ObjectRef]) -> Vec<String> {
        items.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn ranks_follow_flux_lists() {
        assert_eq!(kind_rank("CustomResourceDefinition"), -23);
        assert_eq!(kind_rank("Namespace"), -22);
        assert_eq!(kind_rank("PodDisruptionBudget"), -1);
        assert_eq!(kind_rank("Ingress"), 0);
        assert_eq!(kind_rank("MutatingWebhookConfiguration"), 1);
        assert_eq!(kind_rank("ValidatingWebhookConfiguration"), 2);
    }

    #[test]
    fn sorts_by_kind_then_group_then_namespace_and_name() {
        let mut items = vec![
            r(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "",
                "v",
            ),
            r("networking.k8s.io/v1", "Ingress", "b", "web"),
            r("apps/v1", "Deployment", "b", "web"),
            r("apps/v1", "Deployment", "a", "web"),
            r("v1", "Service", "a", "web"),
            r("v1", "Namespace", "", "a"),
            r(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "",
                "x.example.com",
            ),
            r("example.com/v1", "Ingress", "a", "web"),
            r("v1", "ConfigMap", "a", "cfg"),
        ];
        sort_for_apply(&mut items);
        assert_eq!(
            names(&items),
            [
                "CustomResourceDefinition/x.example.com",
                "Namespace/a",
                "ConfigMap/a/cfg",
                "Service/a/web",
                "Deployment/a/web",
                "Deployment/b/web",
                "Ingress/a/web",
                "Ingress/b/web",
                "ValidatingWebhookConfiguration/v",
            ]
        );
        sort_for_delete(&mut items);
        assert_eq!(names(&items)[0], "ValidatingWebhookConfiguration/v");
        assert_eq!(names(&items)[8], "CustomResourceDefinition/x.example.com");
    }

    #[test]
    fn unlisted_kinds_sort_by_group_then_kind() {
        let mut items = vec![
            r("z.io/v1", "Alpha", "", "a"),
            r("a.io/v1", "Zeta", "", "a"),
            r("a.io/v1", "Beta", "", "a"),
        ];
        sort_for_apply(&mut items);
        assert_eq!(names(&items), ["Beta/a", "Zeta/a", "Alpha/a"]);
    }

    #[test]
    fn stages_split_definitions_classes_custom_and_rest() {
        let custom: HashSet<GroupKind> = [GroupKind::new("example.com", "Tenant")].into();
        let items = vec![
            r("apps/v1", "Deployment", "a", "web"),
            r("example.com/v1", "Tenant", "a", "t"),
            r("storage.k8s.io/v1", "StorageClass", "", "fast"),
            r("example.com/v1", "FooClass", "", "foo"),
            r(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                "",
                "crb",
            ),
            r("rbac.authorization.k8s.io/v1", "ClusterRole", "", "cr"),
            r("v1", "Namespace", "", "a"),
            r(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "",
                "t.example.com",
            ),
        ];
        let stages = plan_stages(items, &custom);
        let got: Vec<(Stage, Vec<String>)> = stages.iter().map(|(s, b)| (*s, names(b))).collect();
        assert_eq!(
            got,
            vec![
                (
                    Stage::ClusterDefinitions,
                    vec![
                        "CustomResourceDefinition/t.example.com".to_string(),
                        "Namespace/a".into(),
                        "ClusterRole/cr".into()
                    ]
                ),
                (
                    Stage::ClassDefinitions,
                    vec!["StorageClass/fast".to_string(), "FooClass/foo".into()]
                ),
                (Stage::Custom, vec!["Tenant/a/t".to_string()]),
                (
                    Stage::Resources,
                    vec![
                        "ClusterRoleBinding/crb".to_string(),
                        "Deployment/a/web".into()
                    ]
                ),
            ]
        );
    }

    #[test]
    fn cluster_definitions_need_their_groups() {
        assert!(!is_cluster_definition(&r(
            "example.com/v1",
            "Namespace",
            "",
            "x"
        )));
        assert!(!is_cluster_definition(&r(
            "example.com/v1",
            "ClusterRole",
            "",
            "x"
        )));
        assert!(!is_cluster_definition(&r(
            "example.com/v1",
            "CustomResourceDefinition",
            "",
            "x"
        )));
        assert!(is_cluster_definition(&r("v1", "namespace", "", "x")));
    }

    #[test]
    fn apply_order_flattens_stages() {
        let items = vec![
            r("v1", "ServiceAccount", "a", "sa"),
            r("example.com/v1", "FooClass", "", "foo"),
        ];
        let ordered = apply_order(items, &HashSet::new());
        assert_eq!(names(&ordered), ["FooClass/foo", "ServiceAccount/a/sa"]);
    }
}
