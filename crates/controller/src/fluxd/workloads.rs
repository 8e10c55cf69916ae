//! What `list-workloads` shows: the workloads live in the allowed namespaces (Deployments,
//! DaemonSets, StatefulSets, CronJobs), their containers' images, fluxd's rollout status and
//! the policies the manifests in Git give them (a live workload no manifest defines is
//! read-only, `NotInRepo`). What `fluxctl save` gets from `/v6/export`: each namespace and the
//! workloads in it, as YAML documents.

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

/// fluxd's export: every namespace in `namespaces` that exists (all namespaces when empty),
/// each followed by its workloads and helm-operator HelmReleases, as YAML documents; the
/// add-ons the cluster manages in kube-system are left out, as fluxd left them out.
pub async fn export(
    client: &kube::Client,
    namespaces: &BTreeSet<String>,
) -> Result<String, kube::Error> {
    let namespace_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let mut exported = Vec::new();
    if namespaces.is_empty() {
        exported = namespace_api.list(&ListParams::default()).await?.items;
    } else {
        for name in namespaces {
            match namespace_api.get_opt(name).await {
                Ok(Some(namespace)) => exported.push(namespace),
                Ok(None) => {}
                Err(kube::Error::Api(status)) if status.code == 403 => {
                    tracing::warn!(namespace = %name, "cannot access allowed namespace");
                }
                Err(error) => return Err(error),
            }
        }
    }
    let mut documents = Vec::new();
    let kinds = KINDS
        .iter()
        .map(|(group, kind, plural, _)| (*group, "v1", *kind, *plural))
        .chain([("helm.fluxcd.io", "v1", "HelmRelease", "helmreleases")]);
    let kinds: Vec<_> = kinds.collect();
    for namespace in exported {
        let name = namespace.metadata.name.clone().unwrap_or_default();
        let mut value = serde_json::to_value(&namespace).map_err(kube::Error::SerdeError)?;
        value["apiVersion"] = "v1".into();
        value["kind"] = "Namespace".into();
        documents.push(tether_core::yaml::to_string(&value));
        for (group, version, kind, plural) in &kinds {
            let resource = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(group, version, kind),
                plural,
            );
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &name, &resource);
            let listed = match api.list(&ListParams::default()).await {
                Ok(listed) => listed.items,
                // A kind the API server does not serve, or may not be listed: skipped.
                Err(kube::Error::Api(status)) if matches!(status.code, 403 | 404) => continue,
                Err(error) => return Err(error),
            };
            for object in listed.into_iter().filter(|o| !is_addon(o)) {
                let mut value = serde_json::to_value(&object).map_err(kube::Error::SerdeError)?;
                value["apiVersion"] = resource.api_version.clone().into();
                value["kind"] = (*kind).into();
                documents.push(tether_core::yaml::to_string(&value));
            }
        }
    }
    Ok(documents.join("---\n"))
}

/// An object the cluster's add-on manager owns: in kube-system, labelled as a cluster service
/// or as managed by the add-on manager.
fn is_addon(object: &DynamicObject) -> bool {
    if object.metadata.namespace.as_deref() != Some("kube-system") {
        return false;
    }
    let labels = object.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    label("kubernetes.io/cluster-service") == Some("true")
        || matches!(
            label("addonmanager.kubernetes.io/mode"),
            Some("EnsureExists" | "Reconcile")
        )
}

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
