//! kstatus health computed from an object's JSON, with the rules of sigs.k8s.io/cli-utils
//! `kstatus/status` as Flux runs them: generic checks first (deletion, observed generation,
//! `Reconciling`/`Stalled`), then the built-in kind's rules, then a `Ready` condition, else
//! Current. Jobs use Flux's own Job rules, which report a running Job as InProgress.

mod core_kinds;
mod fields;
mod workloads;

use std::fmt;

use serde_json::Value;

use crate::object::split_api_version;
use crate::time::Timestamp;

/// Errors raised when an object's status cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    /// A field kstatus reads strictly has the wrong type.
    #[error("looking up {path} from resource: expected {expected}")]
    InvalidField {
        /// Dotted path of the field.
        path: &'static str,
        /// What the field should have been.
        expected: &'static str,
    },
    /// `status.conditions` is not a list of condition maps.
    #[error("malformed status.conditions: {0}")]
    MalformedConditions(String),
    /// A Pod reports a phase kstatus does not know.
    #[error("unknown phase {0}")]
    UnknownPodPhase(String),
}

/// The kstatus status of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The object's controller has not yet reached the desired state.
    InProgress,
    /// The object cannot reach the desired state without outside help.
    Failed,
    /// The object is in its desired state.
    Current,
    /// The object is being deleted.
    Terminating,
    /// The object does not exist.
    NotFound,
    /// The status could not be determined.
    Unknown,
}

impl Status {
    /// The name kstatus prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Failed => "Failed",
            Self::Current => "Current",
            Self::Terminating => "Terminating",
            Self::NotFound => "NotFound",
            Self::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A computed status with kstatus's message, and the reason of the `Reconciling` (InProgress)
/// or `Stalled` (Failed) condition kstatus would attach; empty when it attaches none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthResult {
    /// The status.
    pub status: Status,
    /// Why, in kstatus's words.
    pub message: String,
    /// The CamelCase reason, if any.
    pub reason: String,
}

impl HealthResult {
    pub(crate) fn current(message: impl Into<String>) -> Self {
        Self::with(Status::Current, "", message)
    }

    pub(crate) fn in_progress(reason: &str, message: impl Into<String>) -> Self {
        Self::with(Status::InProgress, reason, message)
    }

    pub(crate) fn failed(reason: &str, message: impl Into<String>) -> Self {
        Self::with(Status::Failed, reason, message)
    }

    fn with(status: Status, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            reason: reason.to_owned(),
        }
    }

    /// A result of `status` with `message` and no reason, for health rules defined outside
    /// kstatus (see [`CustomHealth`]).
    pub fn of(status: Status, message: impl Into<String>) -> Self {
        Self::with(status, "", message)
    }

    /// The result for an object that does not exist.
    pub fn not_found() -> Self {
        Self::with(Status::NotFound, "", "Resource not found")
    }
}

/// Health rules that replace kstatus's for some kinds, as Flux's custom status readers do
/// (`healthCheckExprs`): consulted first for every object read while waiting.
pub trait CustomHealth: Send + Sync + fmt::Debug {
    /// The status of `object` by these rules, or `None` when no rule covers its kind.
    fn status_of(&self, object: &Value) -> Option<HealthResult>;
}

/// Computes the status of `object`. `now` is only read for a Pod that cannot be scheduled: it
/// counts as InProgress for 15 seconds after its creation, and Failed after.
pub fn compute(object: &Value, now: Timestamp) -> Result<HealthResult, HealthError> {
    let (group, kind) = group_kind(object);
    if group == "batch" && kind == "Job" {
        return workloads::job(object);
    }
    if let Some(result) = generic(object)? {
        return Ok(result);
    }
    if let Some(result) = by_kind(group, kind, object, now)? {
        return Ok(result);
    }
    if let Some(result) = ready_condition(object)? {
        return Ok(result);
    }
    Ok(HealthResult::current("Resource is current"))
}

/// Like [`compute`], but an unreadable status is reported as Unknown with the error as message,
/// as kstatus's poller does.
pub fn compute_or_unknown(object: &Value, now: Timestamp) -> HealthResult {
    compute(object, now).unwrap_or_else(|e| HealthResult::with(Status::Unknown, "", e.to_string()))
}

fn group_kind(object: &Value) -> (&str, &str) {
    let api_version = fields::str_field(object, "apiVersion", "");
    let group = split_api_version(api_version).map_or("", |(g, _)| g);
    (group, fields::str_field(object, "kind", ""))
}

type KindRule = fn(&Value, Timestamp) -> Result<HealthResult, HealthError>;

fn by_kind(
    group: &str,
    kind: &str,
    object: &Value,
    now: Timestamp,
) -> Result<Option<HealthResult>, HealthError> {
    let rule: Option<KindRule> = match (group, kind) {
        ("", "Service") => Some(|o, _| Ok(core_kinds::service(o))),
        ("", "Pod") => Some(core_kinds::pod),
        ("", "PersistentVolumeClaim") => Some(|o, _| Ok(core_kinds::pvc(o))),
        ("", "Secret" | "ConfigMap") | ("batch", "CronJob") => {
            Some(|_, _| Ok(HealthResult::current("Resource is always ready")))
        }
        ("apps", "StatefulSet") => Some(|o, _| Ok(workloads::stateful_set(o))),
        ("apps" | "extensions", "DaemonSet") => Some(|o, _| workloads::daemon_set(o)),
        ("apps" | "extensions", "Deployment") => Some(|o, _| workloads::deployment(o)),
        ("apps" | "extensions", "ReplicaSet") => Some(|o, _| workloads::replica_set(o)),
        ("policy", "PodDisruptionBudget") => Some(|_, _| Ok(core_kinds::pdb())),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(|o, _| core_kinds::crd(o)),
        ("", "Namespace") => return Ok(core_kinds::namespace(object)),
        _ => None,
    };
    rule.map(|r| r(object, now)).transpose()
}

/// kstatus's generic checks: deletion, unobserved generation, `Reconciling` or `Stalled` True.
fn generic(object: &Value) -> Result<Option<HealthResult>, HealthError> {
    let deletion = fields::strict_str(object, "metadata.deletionTimestamp")?;
    if deletion.is_some_and(|d| !d.is_empty()) {
        return Ok(Some(HealthResult::with(
            Status::Terminating,
            "",
            "Resource scheduled for deletion",
        )));
    }
    if let Some(result) = unobserved_generation(object)? {
        return Ok(Some(result));
    }
    for c in fields::conditions(object)? {
        if c.is("Reconciling", "True") {
            return Ok(Some(HealthResult::in_progress(&c.reason, c.message)));
        }
        if c.is("Stalled", "True") {
            return Ok(Some(HealthResult::failed(&c.reason, c.message)));
        }
    }
    Ok(None)
}

/// InProgress when both generations are set and differ.
fn unobserved_generation(object: &Value) -> Result<Option<HealthResult>, HealthError> {
    let Some(generation) = fields::strict_int(object, "metadata.generation")? else {
        return Ok(None);
    };
    let observed = fields::strict_int(object, "status.observedGeneration")?;
    Ok(observed.filter(|o| *o != generation).map(|observed| {
        let kind = fields::str_field(object, "kind", "");
        HealthResult::in_progress(
            "LatestGenerationNotObserved",
            format!(
                "{kind} generation is {generation}, but latest observed generation is {observed}"
            ),
        )
    }))
}

/// The fallback for kinds without rules: a `Ready` condition, if present with a known status.
fn ready_condition(object: &Value) -> Result<Option<HealthResult>, HealthError> {
    for c in fields::conditions(object)? {
        if c.type_ != "Ready" {
            continue;
        }
        match c.status.as_str() {
            "True" => return Ok(Some(HealthResult::current("Resource is Ready"))),
            "False" | "Unknown" => {
                return Ok(Some(HealthResult::in_progress(&c.reason, c.message)));
            }
            _ => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
