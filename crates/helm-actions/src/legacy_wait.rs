//! Helm v3's readiness checks: Helm v4's `legacy` wait strategy (helm-controller's
//! `waitStrategy.name: legacy`), beside the kstatus poller of [`crate::resources::wait_ready`].
//!
//! Only core kinds are judged, each by Helm's rule: a Pod by its Ready condition; a Job (when
//! Jobs are waited for) by its completions, failing once its failures exceed the backoff limit;
//! a Deployment by its newest ReplicaSet's ready replicas against `replicas - maxUnavailable`;
//! a PersistentVolumeClaim when Bound; a Service once it has a cluster IP (and a LoadBalancer
//! an ingress, unless it has external IPs); DaemonSets and StatefulSets by their rolling
//! update; ReplicaSets and ReplicationControllers by their observed generation and their pods;
//! a CRD once Established. Every other kind, custom resources included, is ready at once.
//! Objects are looked at in order every two seconds until all are ready or time is up.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, Pod, PodTemplateSpec, ReplicationController, Service,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use serde_json::Value;
use tether_core::object::ObjectRef;
use tokio_util::sync::CancellationToken;

use crate::error::ActionError;

/// How often the objects are looked at, as Helm's legacy waiter.
const INTERVAL: Duration = Duration::from_secs(2);

/// Waits until every object of `objects` is ready by Helm v3's rules.
pub async fn wait_ready(
    client: &kube::Client,
    objects: &[Value],
    timeout: Duration,
    wait_for_jobs: bool,
    cancel: CancellationToken,
) -> Result<(), ActionError> {
    let targets: Vec<ObjectRef> = objects
        .iter()
        .filter_map(|o| ObjectRef::from_object(o).ok())
        .collect();
    let deadline = Instant::now() + timeout;
    loop {
        let mut waiting = None;
        for target in &targets {
            match is_ready(client, target, wait_for_jobs).await {
                Ok(true) => {}
                Ok(false) => {
                    waiting = Some((target, "not ready".to_owned()));
                    break;
                }
                Err(Check::Failed(message)) => return Err(ActionError::Wait(message)),
                Err(Check::Unreadable(message)) => {
                    waiting = Some((target, message));
                    break;
                }
            }
        }
        let Some((target, why)) = waiting else {
            return Ok(());
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(ActionError::Wait(format!(
                "timed out waiting for the condition: {} {}",
                shown(target),
                why
            )));
        }
        tokio::select! {
            () = cancel.cancelled() => return Err(ActionError::Wait("wait cancelled".into())),
            () = tokio::time::sleep(INTERVAL.min(deadline - now)) => {}
        }
    }
}

/// Why an object could not be judged ready.
enum Check {
    /// It never will be (a failed Job).
    Failed(String),
    /// It could not be read now; tried again.
    Unreadable(String),
}

fn shown(target: &ObjectRef) -> String {
    if target.namespace.is_empty() {
        format!("{}/{}", target.kind, target.name)
    } else {
        format!("{}/{}/{}", target.kind, target.namespace, target.name)
    }
}

async fn is_ready(
    client: &kube::Client,
    target: &ObjectRef,
    wait_for_jobs: bool,
) -> Result<bool, Check> {
    let ns = target.namespace.as_str();
    let name = target.name.as_str();
    Ok(match (target.group.as_str(), target.kind.as_str()) {
        ("", "Pod") => pod_ready(&get::<Pod>(client, ns, name).await?),
        ("batch", "Job") if wait_for_jobs => job_ready(&get::<Job>(client, ns, name).await?)
            .map_err(|e| Check::Failed(format!("{}: {e}", shown(target))))?,
        ("apps", "Deployment") => {
            let deployment = get::<Deployment>(client, ns, name).await?;
            deployment_ready_now(client, ns, &deployment).await?
        }
        ("", "PersistentVolumeClaim") => {
            pvc_ready(&get::<PersistentVolumeClaim>(client, ns, name).await?)
        }
        ("", "Service") => service_ready(&get::<Service>(client, ns, name).await?),
        ("apps", "DaemonSet") => daemon_set_ready(&get::<DaemonSet>(client, ns, name).await?),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            crd_ready(&get_cluster::<CustomResourceDefinition>(client, name).await?)
        }
        ("apps", "StatefulSet") => stateful_set_ready(&get::<StatefulSet>(client, ns, name).await?),
        ("apps", "ReplicaSet") => {
            let set = get::<ReplicaSet>(client, ns, name).await?;
            let selector = set.spec.as_ref().map(|s| s.selector.clone());
            generation_observed(
                &set.metadata,
                set.status.as_ref().and_then(|s| s.observed_generation),
            ) && pods_ready(client, ns, selector).await?
        }
        ("", "ReplicationController") => {
            let rc = get::<ReplicationController>(client, ns, name).await?;
            let selector = rc
                .spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .map(|labels| LabelSelector {
                    match_labels: Some(labels),
                    ..LabelSelector::default()
                });
            generation_observed(
                &rc.metadata,
                rc.status.as_ref().and_then(|s| s.observed_generation),
            ) && pods_ready(client, ns, selector).await?
        }
        _ => true,
    })
}

async fn get<K>(client: &kube::Client, namespace: &str, name: &str) -> Result<K, Check>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    Api::<K>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(|e| Check::Unreadable(e.to_string()))
}

async fn get_cluster<K>(client: &kube::Client, name: &str) -> Result<K, Check>
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    Api::<K>::all(client.clone())
        .get(name)
        .await
        .map_err(|e| Check::Unreadable(e.to_string()))
}

/// A paused Deployment is ready; else its newest ReplicaSet must exist and be ready enough.
async fn deployment_ready_now(
    client: &kube::Client,
    namespace: &str,
    deployment: &Deployment,
) -> Result<bool, Check> {
    let Some(spec) = deployment.spec.as_ref() else {
        return Ok(false);
    };
    if spec.paused == Some(true) {
        return Ok(true);
    }
    let selector = kube::core::Selector::try_from(spec.selector.clone())
        .map_err(|e| Check::Unreadable(e.to_string()))?;
    let sets = Api::<ReplicaSet>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(|e| Check::Unreadable(e.to_string()))?;
    let newest = new_replica_set(deployment, &sets.items);
    Ok(newest.is_some_and(|set| deployment_ready(set, deployment)))
}

/// The Deployment's new ReplicaSet: one it owns whose pod template is the Deployment's, the
/// `pod-template-hash` label aside (the oldest when several are).
fn new_replica_set<'a>(deployment: &Deployment, sets: &'a [ReplicaSet]) -> Option<&'a ReplicaSet> {
    let uid = deployment.metadata.uid.as_deref()?;
    let wanted = without_hash(deployment.spec.as_ref().map(|s| s.template.clone())?);
    sets.iter()
        .filter(|set| {
            set.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid && o.controller == Some(true))
        })
        .filter(|set| {
            set.spec
                .as_ref()
                .and_then(|s| s.template.clone())
                .is_some_and(|t| without_hash(t) == wanted)
        })
        .min_by_key(|set| set.metadata.creation_timestamp.clone().map(|t| t.0))
}

fn without_hash(mut template: PodTemplateSpec) -> PodTemplateSpec {
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    template
}

fn generation_observed(
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    observed: Option<i64>,
) -> bool {
    observed.unwrap_or(0) == metadata.generation.unwrap_or(0)
}

async fn pods_ready(
    client: &kube::Client,
    namespace: &str,
    selector: Option<LabelSelector>,
) -> Result<bool, Check> {
    let Some(selector) = selector else {
        return Ok(true);
    };
    let selector =
        kube::core::Selector::try_from(selector).map_err(|e| Check::Unreadable(e.to_string()))?;
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(|e| Check::Unreadable(format!("failed to list pods: {e}")))?;
    Ok(pods.items.iter().all(pod_ready))
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Helm's `jobReady`: failed past its backoff limit is an error; else complete when it has as
/// many successes as completions.
fn job_ready(job: &Job) -> Result<bool, String> {
    let spec = job.spec.as_ref();
    let status = job.status.as_ref();
    let failed = status.and_then(|s| s.failed).unwrap_or(0);
    let backoff_limit = spec.and_then(|s| s.backoff_limit).unwrap_or(6);
    if failed > backoff_limit {
        return Err("job is failed".into());
    }
    let succeeded = status.and_then(|s| s.succeeded).unwrap_or(0);
    Ok(spec
        .and_then(|s| s.completions)
        .is_none_or(|completions| succeeded >= completions))
}

fn deployment_ready(set: &ReplicaSet, deployment: &Deployment) -> bool {
    let set_observed = generation_observed(
        &set.metadata,
        set.status.as_ref().and_then(|s| s.observed_generation),
    );
    let observed = generation_observed(
        &deployment.metadata,
        deployment
            .status
            .as_ref()
            .and_then(|s| s.observed_generation),
    );
    let replicas = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let expected = replicas - max_unavailable(deployment, replicas);
    let ready = set
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    set_observed && observed && ready >= expected
}

/// Kubernetes' `deploymentutil.MaxUnavailable`.
fn max_unavailable(deployment: &Deployment, replicas: i32) -> i32 {
    let strategy = deployment.spec.as_ref().and_then(|s| s.strategy.as_ref());
    let rolling = strategy
        .filter(|s| s.type_.as_deref() == Some("RollingUpdate"))
        .map(|s| s.rolling_update.clone().unwrap_or_default());
    let Some(rolling) = rolling else {
        return 0;
    };
    if replicas == 0 {
        return 0;
    }
    let zero = IntOrString::Int(0);
    let surge = scaled(rolling.max_surge.as_ref().unwrap_or(&zero), replicas, true);
    let unavailable = scaled(
        rolling.max_unavailable.as_ref().unwrap_or(&zero),
        replicas,
        false,
    );
    let unavailable = if surge == 0 && unavailable == 0 {
        1
    } else {
        unavailable
    };
    unavailable.min(replicas)
}

/// `intstr.GetScaledValueFromIntOrPercent`; an invalid percentage counts as all of `total`.
fn scaled(value: &IntOrString, total: i32, round_up: bool) -> i32 {
    match value {
        IntOrString::Int(n) => *n,
        IntOrString::String(text) => {
            let Some(percent) = text.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
                return total;
            };
            let product = percent * i64::from(total);
            let value = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(value).unwrap_or(total)
        }
    }
}

fn pvc_ready(claim: &PersistentVolumeClaim) -> bool {
    claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
}

fn service_ready(service: &Service) -> bool {
    let Some(spec) = service.spec.as_ref() else {
        return false;
    };
    match spec.type_.as_deref() {
        Some("ExternalName") => return true,
        _ if spec.cluster_ip.as_deref().is_none_or(str::is_empty) => return false,
        Some("LoadBalancer") => {
            if spec
                .external_ips
                .as_ref()
                .is_some_and(|ips| !ips.is_empty())
            {
                return true;
            }
            return service
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .is_some();
        }
        _ => {}
    }
    true
}

/// Whether an update strategy (absent: the default) rolls pods, the only kind Helm waits on.
fn rolling_update(strategy_type: Option<&str>) -> bool {
    strategy_type.unwrap_or("RollingUpdate") == "RollingUpdate"
}

fn daemon_set_ready(set: &DaemonSet) -> bool {
    let status = set.status.clone().unwrap_or_default();
    if !generation_observed(&set.metadata, status.observed_generation) {
        return false;
    }
    let strategy = set.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    if !rolling_update(strategy.and_then(|s| s.type_.as_deref())) {
        return true;
    }
    let desired = status.desired_number_scheduled;
    if status.updated_number_scheduled.unwrap_or(0) != desired {
        return false;
    }
    let max_unavailable = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.max_unavailable.as_ref())
        .map_or(desired, |v| scaled(v, desired, true));
    status.number_ready >= desired - max_unavailable
}

fn stateful_set_ready(set: &StatefulSet) -> bool {
    let status = set.status.clone().unwrap_or_default();
    if !generation_observed(&set.metadata, status.observed_generation) {
        return false;
    }
    let strategy = set.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    if !rolling_update(strategy.and_then(|s| s.type_.as_deref())) {
        return true;
    }
    let partition = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    let replicas = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if status.updated_replicas.unwrap_or(0) < replicas - partition {
        return false;
    }
    if status.ready_replicas.unwrap_or(0) != replicas {
        return false;
    }
    partition != 0 || status.current_revision == status.update_revision
}

fn crd_ready(crd: &CustomResourceDefinition) -> bool {
    let conditions = crd.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.into_iter().flatten().any(|c| {
        (c.type_ == "Established" && c.status == "True")
            || (c.type_ == "NamesAccepted" && c.status == "False")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from<T: k8s_openapi::serde::de::DeserializeOwned + Default>(value: Value) -> T {
        serde_json::from_value(value).unwrap_or_default()
    }

    fn deployment(replicas: i32, strategy: Value) -> Deployment {
        from(
            json!({"metadata": {"name": "web", "generation": 2, "uid": "u1"},
            "spec": {"replicas": replicas, "strategy": strategy,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}}},
            "status": {"observedGeneration": 2}}),
        )
    }

    fn replica_set(ready: i32, hash: &str, template_label: &str) -> ReplicaSet {
        from(
            json!({"metadata": {"name": format!("web-{hash}"), "generation": 1,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                    "name": "web", "uid": "u1", "controller": true}]},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": template_label,
                    "pod-template-hash": hash}}}},
            "status": {"observedGeneration": 1, "readyReplicas": ready}}),
        )
    }

    #[test]
    fn a_deployment_is_ready_with_replicas_less_max_unavailable_in_its_new_replica_set() {
        let rolling = json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}});
        let web = deployment(4, rolling);
        let sets = [replica_set(4, "old", "old"), replica_set(3, "new", "web")];
        let new = new_replica_set(&web, &sets);
        assert_eq!(
            new.and_then(|s| s.metadata.name.clone()).as_deref(),
            Some("web-new")
        );
        assert!(new.is_some_and(|s| deployment_ready(s, &web)));
        let too_few = replica_set(2, "new", "web");
        assert!(!deployment_ready(&too_few, &web));
        let recreate = deployment(4, json!({"type": "Recreate"}));
        assert!(!deployment_ready(&replica_set(3, "new", "web"), &recreate));
    }

    #[test]
    fn max_unavailable_rounds_down_and_is_one_when_nothing_may_surge() {
        let none = json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
        assert_eq!(max_unavailable(&deployment(3, none), 3), 1);
        let quarter = json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}});
        assert_eq!(max_unavailable(&deployment(3, quarter), 3), 0);
        assert_eq!(scaled(&IntOrString::String("25%".into()), 3, true), 1);
    }

    #[test]
    fn a_job_failed_past_its_backoff_limit_is_an_error_and_completions_count() {
        let failed: Job = from(json!({"spec": {"backoffLimit": 1}, "status": {"failed": 2}}));
        assert!(job_ready(&failed).is_err());
        let running: Job = from(json!({"spec": {"completions": 2}, "status": {"succeeded": 1}}));
        assert_eq!(job_ready(&running), Ok(false));
        let done: Job = from(json!({"spec": {"completions": 2}, "status": {"succeeded": 2}}));
        assert_eq!(job_ready(&done), Ok(true));
    }

    #[test]
    fn services_need_a_cluster_ip_and_load_balancers_an_ingress() {
        let external: Service = from(json!({"spec": {"type": "ExternalName"}}));
        assert!(service_ready(&external));
        let no_ip: Service = from(json!({"spec": {"type": "ClusterIP"}}));
        assert!(!service_ready(&no_ip));
        let balancer: Service =
            from(json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1"}}));
        assert!(!service_ready(&balancer));
        let with_ingress: Service = from(json!({"spec": {"type": "LoadBalancer",
            "clusterIP": "10.0.0.1"}, "status": {"loadBalancer": {"ingress": []}}}));
        assert!(service_ready(&with_ingress));
    }

    #[test]
    fn a_stateful_set_waits_for_its_partition_and_revision() {
        let set: StatefulSet = from(json!({"metadata": {"generation": 1},
            "spec": {"replicas": 2, "updateStrategy": {"type": "RollingUpdate"},
                "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                "readyReplicas": 2, "currentRevision": "a", "updateRevision": "b"}}));
        assert!(!stateful_set_ready(&set));
    }
}
