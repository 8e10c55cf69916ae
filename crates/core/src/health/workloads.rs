//! kstatus rules for the workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet,
//! and Flux's Job rules.

use serde_json::Value;

use super::fields::{conditions, int_field, lookup, str_field, strict_int};
use super::{HealthError, HealthResult};

/// The value the Deployment controller treats as "no progress deadline".
const NO_PROGRESS_DEADLINE: i64 = i32::MAX as i64;

/// Deployment: Failed once the progress deadline is exceeded; otherwise replicas must be
/// created, updated, available and ready, and the Progressing and Available conditions met.
pub(super) fn deployment(object: &Value) -> Result<HealthResult, HealthError> {
    let mut progressing = int_field(object, "spec.progressDeadlineSeconds", NO_PROGRESS_DEADLINE)
        == NO_PROGRESS_DEADLINE;
    let mut available = false;
    for c in conditions(object)? {
        match c.type_.as_str() {
            "Progressing" if c.reason == "ProgressDeadlineExceeded" => {
                return Ok(HealthResult::failed(
                    &c.reason,
                    "Progress deadline exceeded",
                ));
            }
            "Progressing" if c.status == "True" && c.reason == "NewReplicaSetAvailable" => {
                progressing = true;
            }
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }
    if let Some(result) = deployment_replicas(object) {
        return Ok(result);
    }
    let replicas = int_field(object, "status.replicas", 0);
    Ok(if !progressing {
        HealthResult::in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available")
    } else if !available {
        HealthResult::in_progress("DeploymentNotAvailable", "Deployment not Available")
    } else {
        HealthResult::current(format!("Deployment is available. Replicas: {replicas}"))
    })
}

fn deployment_replicas(object: &Value) -> Option<HealthResult> {
    let spec = int_field(object, "spec.replicas", 1);
    let status = int_field(object, "status.replicas", 0);
    let updated = int_field(object, "status.updatedReplicas", 0);
    let ready = int_field(object, "status.readyReplicas", 0);
    let available = int_field(object, "status.availableReplicas", 0);
    if spec > status {
        return Some(too_few("LessReplicas", "Replicas", status, spec));
    }
    if spec > updated {
        return Some(too_few("LessUpdated", "Updated", updated, spec));
    }
    if status > spec {
        return Some(pending_termination(status - spec));
    }
    if updated > available {
        return Some(too_few("LessAvailable", "Available", available, updated));
    }
    (spec > ready).then(|| too_few("LessReady", "Ready", ready, spec))
}

/// ReplicaSet: no ReplicaFailure, and all replicas labelled, available and ready.
pub(super) fn replica_set(object: &Value) -> Result<HealthResult, HealthError> {
    if conditions(object)?
        .iter()
        .any(|c| c.is("ReplicaFailure", "True"))
    {
        return Ok(HealthResult::in_progress(
            "ReplicaFailure",
            "Replica Failure condition. Check Pods",
        ));
    }
    let spec = int_field(object, "spec.replicas", 1);
    let status = int_field(object, "status.replicas", 0);
    let ready = int_field(object, "status.readyReplicas", 0);
    let available = int_field(object, "status.availableReplicas", 0);
    let labelled = int_field(object, "status.fullyLabeledReplicas", 0);
    Ok(if spec > labelled {
        too_few("LessLabelled", "Labelled", labelled, spec)
    } else if spec > available {
        too_few("LessAvailable", "Available", available, spec)
    } else if spec > ready {
        too_few("LessReady", "Ready", ready, spec)
    } else if status > spec {
        pending_termination(status - spec)
    } else {
        HealthResult::current(format!("ReplicaSet is available. Replicas: {status}"))
    })
}

/// StatefulSet: OnDelete sets are always current; otherwise replicas must be present and ready,
/// the partition (if any) rolled out, and the current revision the update revision.
pub(super) fn stateful_set(object: &Value) -> HealthResult {
    if str_field(object, "spec.updateStrategy.type", "") == "OnDelete" {
        return HealthResult::current("StatefulSet is using the ondelete update strategy");
    }
    let spec = int_field(object, "spec.replicas", 1);
    let ready = int_field(object, "status.readyReplicas", 0);
    let current = int_field(object, "status.currentReplicas", 0);
    let updated = int_field(object, "status.updatedReplicas", 0);
    let status = int_field(object, "status.replicas", 0);
    let partition = int_field(object, "spec.updateStrategy.rollingUpdate.partition", -1);
    if spec > status {
        return too_few("LessReplicas", "Replicas", status, spec);
    }
    if spec > ready {
        return too_few("LessReady", "Ready", ready, spec);
    }
    if status > spec {
        return pending_termination(status - spec);
    }
    if partition != -1 {
        return partition_rollout(updated, spec - partition);
    }
    if spec > current {
        return too_few("LessCurrent", "current", current, spec);
    }
    let current_revision = str_field(object, "status.currentRevision", "");
    if current_revision != str_field(object, "status.updateRevision", "") {
        return HealthResult::in_progress(
            "RevisionMismatch",
            "Waiting for updated revision to match current",
        );
    }
    HealthResult::current(format!(
        "All replicas scheduled as expected. Replicas: {status}"
    ))
}

fn partition_rollout(updated: i64, expected: i64) -> HealthResult {
    if updated < expected {
        HealthResult::in_progress("PartitionRollout", format!("updated: {updated}/{expected}"))
    } else {
        HealthResult::current(format!("Partition rollout complete. updated: {updated}"))
    }
}

/// DaemonSet: generations must be set, and every desired pod current, updated, available and
/// ready.
pub(super) fn daemon_set(object: &Value) -> Result<HealthResult, HealthError> {
    if let Some(result) = generations_missing(object)? {
        return Ok(result);
    }
    let desired = int_field(object, "status.desiredNumberScheduled", -1);
    if desired == -1 {
        return Ok(HealthResult::in_progress(
            "NoDesiredNumber",
            "Missing .status.desiredNumberScheduled",
        ));
    }
    let current = int_field(object, "status.currentNumberScheduled", 0);
    let updated = int_field(object, "status.updatedNumberScheduled", 0);
    let available = int_field(object, "status.numberAvailable", 0);
    let ready = int_field(object, "status.numberReady", 0);
    Ok(if desired > current {
        too_few("LessCurrent", "Current", current, desired)
    } else if desired > updated {
        too_few("LessUpdated", "Updated", updated, desired)
    } else if desired > available {
        too_few("LessAvailable", "Available", available, desired)
    } else if desired > ready {
        too_few("LessReady", "Ready", ready, desired)
    } else {
        HealthResult::current(format!(
            "All replicas scheduled as expected. Replicas: {desired}"
        ))
    })
}

fn generations_missing(object: &Value) -> Result<Option<HealthResult>, HealthError> {
    let kind = str_field(object, "kind", "");
    if strict_int(object, "metadata.generation")?.is_none() {
        let message = format!("{kind} metadata.generation not found");
        return Ok(Some(HealthResult::in_progress("NoGeneration", message)));
    }
    if strict_int(object, "status.observedGeneration")?.is_none() {
        let message = format!("{kind} status.observedGeneration not found");
        return Ok(Some(HealthResult::in_progress(
            "NoObservedGeneration",
            message,
        )));
    }
    Ok(None)
}

/// Job, with Flux's rules: suspended is Current, Complete is Current, Failed is Failed, and a
/// Job that has not finished is InProgress.
pub(super) fn job(object: &Value) -> Result<HealthResult, HealthError> {
    if lookup(object, "spec.suspend").and_then(Value::as_bool) == Some(true) {
        return Ok(HealthResult::current("Job is suspended"));
    }
    let parallelism = int_field(object, "spec.parallelism", 1);
    let completions = int_field(object, "spec.completions", parallelism);
    let succeeded = int_field(object, "status.succeeded", 0);
    let active = int_field(object, "status.active", 0);
    let failed = int_field(object, "status.failed", 0);
    for c in conditions(object)? {
        if c.is("Complete", "True") {
            let message = format!("Job Completed. succeeded: {succeeded}/{completions}");
            return Ok(HealthResult::current(message));
        }
        if c.is("Failed", "True") {
            let message = format!("Job Failed. failed: {failed}/{completions}");
            return Ok(HealthResult::failed("JobFailed", message));
        }
    }
    if str_field(object, "status.startTime", "").is_empty() {
        let message = format!("Job not started. active: 0/{parallelism}");
        return Ok(HealthResult::in_progress("JobNotStarted", message));
    }
    Ok(HealthResult::in_progress(
        "JobInProgress",
        format!("Job in progress. success:{succeeded}, active: {active}, failed: {failed}"),
    ))
}

fn too_few(reason: &str, label: &str, have: i64, want: i64) -> HealthResult {
    HealthResult::in_progress(reason, format!("{label}: {have}/{want}"))
}

fn pending_termination(extra: i64) -> HealthResult {
    HealthResult::in_progress("ExtraPods", format!("Pending termination: {extra}"))
}
