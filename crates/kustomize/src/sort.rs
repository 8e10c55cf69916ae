//! Output order: kustomize's default "legacy" order (by kind priority, then gvk, namespace and
//! name) or FIFO when `sortOptions.order: fifo`.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::kustfile::SortOptions;
use crate::resource::{Gvk, ResId, ResMap, Resource};

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts `map` as `kustomize build` does.
pub fn apply(map: &mut ResMap, options: Option<&SortOptions>) -> Result<()> {
    let (first, last): (Vec<String>, Vec<String>) = match options {
        None => (owned(ORDER_FIRST), owned(ORDER_LAST)),
        Some(o) if o.order == "fifo" => {
            if o.legacy_sort_options.is_some() {
                return Err(Error::transform(
                    "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                ));
            }
            return Ok(());
        }
        Some(o) if o.order == "legacy" => match &o.legacy_sort_options {
            Some(l) => (l.order_first.clone(), l.order_last.clone()),
            None => (owned(ORDER_FIRST), owned(ORDER_LAST)),
        },
        Some(_) => {
            return Err(Error::transform(
                "the field 'sortOptions.order' must be one of [fifo, legacy]",
            ));
        }
    };
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        last.iter()
            .position(|k| k == kind)
            .map(|i| i as i64 + 1)
            .unwrap_or(0)
    };
    let resources = std::mem::take(&mut map.resources);
    let mut keyed: Vec<(ResId, String, Resource)> = resources
        .into_iter()
        .map(|r| {
            let id = r.cur_id();
            let text = id_string(&id);
            (id, text, r)
        })
        .collect();
    keyed.sort_by(|(a, ta, _), (b, tb, _)| compare(a, ta, b, tb, &rank));
    map.resources = keyed.into_iter().map(|(_, _, r)| r).collect();
    Ok(())
}

/// kustomize's `Gvk.IsLessThan` as an ordering: the default kind ranks, then the
/// `group_version_kind` string (how it orders transformer configuration).
pub fn gvk_order(a: &Gvk, b: &Gvk) -> Ordering {
    let rank = |kind: &str| -> i64 {
        if let Some(i) = ORDER_FIRST.iter().position(|k| *k == kind) {
            return i as i64 - ORDER_FIRST.len() as i64;
        }
        ORDER_LAST
            .iter()
            .position(|k| *k == kind)
            .map(|i| i as i64 + 1)
            .unwrap_or(0)
    };
    rank(&a.kind)
        .cmp(&rank(&b.kind))
        .then_with(|| gvk_string(a).cmp(&gvk_string(b)))
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// kustomize's legacy order; `ta` and `tb` are the ids' [`id_string`]s, computed once.
fn compare(a: &ResId, ta: &str, b: &ResId, tb: &str, rank: &dyn Fn(&str) -> i64) -> Ordering {
    if a.gvk != b.gvk {
        let (ra, rb) = (rank(&a.gvk.kind), rank(&b.gvk.kind));
        if ra != rb {
            return ra.cmp(&rb);
        }
        let (sa, sb) = (gvk_string(&a.gvk), gvk_string(&b.gvk));
        let both_namespaces = a.gvk.kind == "Namespace" && b.gvk.kind == "Namespace";
        if both_namespaces && (a.gvk.group.is_empty() || b.gvk.group.is_empty()) {
            return sb.cmp(&sa);
        }
        return sa.cmp(&sb);
    }
    ta.cmp(tb)
}

fn gvk_string(g: &Gvk) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

fn id_string(id: &ResId) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}|{}|{}",
        id.gvk.sort_string(),
        or(&id.namespace, "~X"),
        or(&id.name, "~N")
    )
}
