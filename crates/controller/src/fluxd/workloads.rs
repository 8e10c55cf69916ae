//! What `list-workloads` shows: the workloads live in the allowed namespaces (Deployments,
//! DaemonSets, StatefulSets, CronJobs), their containers' images, fluxd's rollout status and
//! the policies the manifests in Git give them (a live workload no manifest defines is
//! read-only, `NotInRepo`).

use super::wire::{Container, ControllerStatus, ImageInfo, RolloutStatus};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use std::collections::{BTreeMap, BTreeSet};
use tether_workloads::{ResourceId, Workload};

/// The workload kinds fluxd listed: (group, kind, plural, path of the pod spec).
const KINDS: [(&str, &str, &str, &str); 4] = [
    ("apps", "Deployment", "deployments", "/spec/template/spec"),
    ("apps", "DaemonSet", "daemonsets", "/spec/template/spec"),
    ("apps", "StatefulSet", "statefulsets", "/spec/template/spec"),
    (
        "batch",
        "CronJob",
        "cronjobs",
        "/spec/jobTemplate/spec/template/spec",
    ),
];

/// Live workloads in `namespaces` (all when empty), with the policies of `in_git`.
pub async fn list_live(
    client: &kube::Client,
    namespaces: &BTreeSet<String>,
    in_git: &[Workload],
) -> Result<Vec<ControllerStatus>, kube::Error> {
    let by_id: BTreeMap<&ResourceId, &Workload> = in_git.iter().map(|w| (&w.id, w)).collect();
    let mut listed = Vec::new();
    for (group, kind, plural, pod_spec) in KINDS {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural);
        let apis: Vec<Api<DynamicObject>> = if namespaces.is_empty() {
            vec![Api::all_with(client.clone(), &resource)]
        } else {
            namespaces
                .iter()
                .map(|ns| Api::namespaced_with(client.clone(), ns, &resource))
                .collect()
        };
        for api in apis {
            for live in api.list(&ListParams::default()).await?.items {
                listed.push(status_of(&live, kind, pod_spec, &by_id));
            }
        }
    }
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(listed)
}

fn status_of(
    live: &DynamicObject,
    kind: &str,
    pod_spec: &str,
    in_git: &BTreeMap<&ResourceId, &Workload>,
) -> ControllerStatus {
    let namespace = live.metadata.namespace.clone().unwrap_or_default();
    let name = live.metadata.name.clone().unwrap_or_default();
    let id = ResourceId::new(namespace, kind, name);
    let containers = live
        .data
        .pointer(&format!("{pod_spec}/containers"))
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .map(|c| Container {
            name: c["name"].as_str().unwrap_or_default().to_owned(),
            current: ImageInfo {
                id: c["image"].as_str().unwrap_or_default().to_owned(),
                created_at: None,
            },
            ..Container::default()
        })
        .collect();
    let mut status = ControllerStatus {
        id: id.to_string(),
        containers,
        status: rollout_status(live, kind).to_owned(),
        rollout: rollout_counts(live),
        labels: live.metadata.labels.clone().unwrap_or_default(),
        ..ControllerStatus::default()
    };
    match in_git.get(&id) {
        Some(workload) => {
            let policy = &workload.policy;
            status.automated = policy.automated;
            status.locked = policy.locked;
            status.ignore = policy.ignore;
            status.policies = policies_of(workload);
        }
        None => status.read_only = "NotInRepo".into(),
    }
    status
}

fn policies_of(workload: &Workload) -> BTreeMap<String, String> {
    let policy = &workload.policy;
    let mut policies = BTreeMap::new();
    let flags = [
        ("automated", policy.automated),
        ("locked", policy.locked),
        ("ignore", policy.ignore),
    ];
    for (name, on) in flags {
        if on {
            policies.insert(name.to_owned(), "true".to_owned());
        }
    }
    for (container, pattern) in &policy.tag_patterns {
        policies.insert(format!("tag.{container}"), pattern.clone());
    }
    policies
}

fn rollout_counts(live: &DynamicObject) -> RolloutStatus {
    let status = &live.data["status"];
    let number = |key: &str| status[key].as_i64().unwrap_or(0);
    let desired = live.data["spec"]["replicas"].as_i64().unwrap_or(1);
    RolloutStatus {
        desired,
        updated: number("updatedReplicas"),
        ready: number("readyReplicas"),
        available: number("availableReplicas"),
        outdated: number("replicas") - number("updatedReplicas"),
        messages: Vec::new(),
    }
}

/// fluxd's rollout summary of a live workload of `kind`: `started` until its controller has
/// seen the current generation, then `updating` until every replica runs it, then `ready`.
pub fn rollout_status(live: &DynamicObject, kind: &str) -> &'static str {
    let status = &live.data["status"];
    let number = |key: &str| status[key].as_i64().unwrap_or(0);
    let generation = live.metadata.generation.unwrap_or(0);
    if number("observedGeneration") < generation {
        return "started";
    }
    let done = match kind {
        "DaemonSet" => {
            let desired = number("desiredNumberScheduled");
            number("updatedNumberScheduled") == desired && number("numberAvailable") == desired
        }
        "CronJob" => true,
        _ => {
            let desired = live.data["spec"]["replicas"].as_i64().unwrap_or(1);
            let updated = number("updatedReplicas");
            let ready = if kind == "StatefulSet" {
                number("readyReplicas")
            } else {
                number("availableReplicas")
            };
            updated == desired && ready == desired && number("replicas") - updated == 0
        }
    };
    if done { "ready" } else { "updating" }
}
