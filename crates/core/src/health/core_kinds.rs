//! kstatus rules for core kinds and API extensions: Pod, PersistentVolumeClaim, Service,
//! PodDisruptionBudget, CustomResourceDefinition, and Namespace.

use serde_json::Value;

use super::fields::{conditions, str_field};
use super::{HealthError, HealthResult, Status};
use crate::time::Timestamp;

/// How long a Pod may stay unschedulable before it counts as Failed.
const SCHEDULE_WINDOW_SECONDS: i64 = 15;

/// Pod: finished pods are Current either way; a running pod must be Ready (crash-looping
/// containers make it Failed); a pending pod unschedulable past the window is Failed.
pub(super) fn pod(object: &Value, now: Timestamp) -> Result<HealthResult, HealthError> {
    let phase = str_field(object, "status.phase", "");
    match phase {
        "Succeeded" => Ok(HealthResult::current("Pod has completed successfully")),
        "Failed" => Ok(HealthResult::current(
            "Pod has completed, but not successfully",
        )),
        "Running" => running_pod(object),
        "Pending" => pending_pod(object, now),
        "" => Ok(HealthResult::in_progress(
            "PodNotObserved",
            "Pod phase not available",
        )),
        other => Err(HealthError::UnknownPodPhase(other.to_owned())),
    }
}

fn running_pod(object: &Value) -> Result<HealthResult, HealthError> {
    if conditions(object)?.iter().any(|c| c.is("Ready", "True")) {
        return Ok(HealthResult::current("Pod is Ready"));
    }
    let looping = crash_looping_containers(object);
    if !looping.is_empty() {
        let message = format!("Containers in CrashLoop state: {}", looping.join(","));
        return Ok(HealthResult::failed("ContainerCrashLooping", message));
    }
    Ok(HealthResult::in_progress(
        "PodRunningNotReady",
        "Pod is running but is not Ready",
    ))
}

fn pending_pod(object: &Value, now: Timestamp) -> Result<HealthResult, HealthError> {
    let unschedulable = conditions(object)?
        .iter()
        .find(|c| c.is("PodScheduled", "False"))
        .is_some_and(|c| c.reason == "Unschedulable");
    if !unschedulable {
        return Ok(HealthResult::in_progress(
            "PodPending",
            "Pod is in the Pending phase",
        ));
    }
    // An absent or unreadable creation time reads as long ago, as in kstatus.
    let created = Timestamp::parse(str_field(object, "metadata.creationTimestamp", ""))
        .map_or(i64::MIN, Timestamp::unix_seconds);
    if now.unix_seconds() - SCHEDULE_WINDOW_SECONDS < created {
        return Ok(HealthResult::in_progress(
            "PodNotScheduled",
            "Pod has not been scheduled",
        ));
    }
    Ok(HealthResult::failed(
        "PodUnschedulable",
        "Pod could not be scheduled",
    ))
}

fn crash_looping_containers(object: &Value) -> Vec<&str> {
    let statuses = object
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    statuses
        .into_iter()
        .flatten()
        .filter(|cs| {
            cs.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("CrashLoopBackOff")
        })
        .filter_map(|cs| cs.get("name").and_then(Value::as_str))
        .collect()
}

/// PersistentVolumeClaim: Current once Bound.
pub(super) fn pvc(object: &Value) -> HealthResult {
    let phase = str_field(object, "status.phase", "unknown");
    if phase == "Bound" {
        HealthResult::current("PVC is Bound")
    } else {
        HealthResult::in_progress("NotBound", format!("PVC is not Bound. phase: {phase}"))
    }
}

/// Service: a LoadBalancer needs a cluster IP; anything else is Current. Like kstatus, this
/// does not wait for a load balancer ingress.
pub(super) fn service(object: &Value) -> HealthResult {
    let service_type = str_field(object, "spec.type", "ClusterIP");
    if service_type == "LoadBalancer" && str_field(object, "spec.clusterIP", "").is_empty() {
        return HealthResult::in_progress(
            "NoIPAssigned",
            "ClusterIP not set. Service type: LoadBalancer",
        );
    }
    HealthResult::current("Service is ready")
}

/// PodDisruptionBudget: Current once the generic checks saw the latest generation observed.
pub(super) fn pdb() -> HealthResult {
    HealthResult::current("AllowedDisruptions has been computed.")
}

/// CustomResourceDefinition: Current when Established; Failed when names are rejected or
/// establishing failed for a reason other than Installing.
pub(super) fn crd(object: &Value) -> Result<HealthResult, HealthError> {
    for c in conditions(object)? {
        if c.is("NamesAccepted", "False") {
            return Ok(HealthResult::failed(&c.reason, c.message));
        }
        if c.is("Established", "False") && c.reason != "Installing" {
            return Ok(HealthResult::failed(&c.reason, c.message));
        }
        if c.is("Established", "True") {
            return Ok(HealthResult::current("CRD is established"));
        }
    }
    Ok(HealthResult::in_progress(
        "Installing",
        "Install in progress",
    ))
}

/// Namespace: kstatus has no rule of its own, and a namespace being deleted is already
/// Terminating by its deletion timestamp. This only adds the `Terminating` phase, in case it is
/// seen without one; otherwise the generic fallback decides.
pub(super) fn namespace(object: &Value) -> Option<HealthResult> {
    (str_field(object, "status.phase", "") == "Terminating").then(|| HealthResult {
        status: Status::Terminating,
        message: "Namespace is terminating".into(),
        reason: String::new(),
    })
}
