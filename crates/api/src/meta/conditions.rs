//! Status conditions as Flux uses them: the generic condition types and reasons every Flux
//! kind shares (kstatus `Ready`/`Reconciling`/`Stalled`, plus `Healthy`), helpers to read and
//! update a condition list, and the validated `metav1.Condition` schema Flux CRDs carry.
//!
//! Kind-specific types and reasons live with their group: [`crate::source::conditions`] and
//! [`crate::kustomize::conditions`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::{Schema, SchemaGenerator, json_schema};

/// The object is fully reconciled; `False` while it is reconciling or failed.
pub const READY: &str = "Ready";
/// The controller is working on the latest change (abnormal-true: present only when `True`).
pub const RECONCILING: &str = "Reconciling";
/// Reconciliation cannot progress without a change to the object (abnormal-true).
pub const STALLED: &str = "Stalled";
/// The last health assessment of the applied objects.
pub const HEALTHY: &str = "Healthy";

/// Condition status `True`.
pub const STATUS_TRUE: &str = "True";
/// Condition status `False`.
pub const STATUS_FALSE: &str = "False";
/// Condition status `Unknown`.
pub const STATUS_UNKNOWN: &str = "Unknown";

/// Generic condition reasons from `fluxcd/pkg/apis/meta`.
pub mod reasons {
    /// An action succeeded, or the observed state matches the desired state.
    pub const SUCCEEDED: &str = "Succeeded";
    /// An action failed, or the observed state does not match the desired state.
    pub const FAILED: &str = "Failed";
    /// Work on the object has started and is under way.
    pub const PROGRESSING: &str = "Progressing";
    /// The object, or one of its dependencies, is suspended.
    pub const SUSPENDED: &str = "Suspended";
    /// The reconciliation hit an error and will be retried.
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// A dependency is not ready yet.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// A path in the spec is invalid.
    pub const INVALID_PATH: &str = "InvalidPath";
    /// A URL in the spec is invalid.
    pub const INVALID_URL: &str = "InvalidURL";
    /// A plain-HTTP connection was refused by policy.
    pub const INSECURE_CONNECTIONS_DISALLOWED: &str = "InsecureConnectionsDisallowed";
    /// The network protocol is not supported.
    pub const UNSUPPORTED_CONNECTION_TYPE: &str = "UnsupportedConnectionType";
    /// Garbage collection of removed objects failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// The source artifact could not be fetched.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// Building the manifests failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// A health check failed or timed out.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// The health check was canceled, e.g. by a newer revision.
    pub const HEALTH_CHECK_CANCELED: &str = "HealthCheckCanceled";
    /// The reconciliation finished successfully.
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// The reconciliation failed.
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// A CEL expression in the spec does not compile.
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    /// The spec uses a feature whose gate is off.
    pub const FEATURE_GATE_DISABLED: &str = "FeatureGateDisabled";
    /// A reference was refused by the controller's access rules (`--no-cross-namespace-refs`;
    /// Flux's `acl.AccessDeniedReason`).
    pub const ACCESS_DENIED: &str = "AccessDenied";
}

/// Flux's pattern for a condition type (`metav1.Condition`'s validation).
pub const CONDITION_TYPE_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
/// Flux's pattern for a condition reason.
pub const CONDITION_REASON_PATTERN: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
/// The longest condition message the API server accepts.
pub const CONDITION_MESSAGE_MAX_LENGTH: usize = 32768;

/// Returns the condition of type `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of type `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    has_status(conditions, type_, STATUS_TRUE)
}

/// Whether the condition of type `type_` is present with status `False`.
pub fn is_false(conditions: &[Condition], type_: &str) -> bool {
    has_status(conditions, type_, STATUS_FALSE)
}

fn has_status(conditions: &[Condition], type_: &str, status: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == status)
}

/// Inserts or updates the condition of the same type.
///
/// `lastTransitionTime` moves to `condition.last_transition_time` only when the status changes;
/// reason, message and observedGeneration are always taken from `condition`. Returns whether
/// anything but timestamps changed, so callers can skip a status write that would be a no-op.
pub fn set(conditions: &mut Vec<Condition>, condition: Condition) -> bool {
    let Some(existing) = conditions.iter_mut().find(|c| c.type_ == condition.type_) else {
        conditions.push(condition);
        return true;
    };
    let changed = existing.status != condition.status
        || existing.reason != condition.reason
        || existing.message != condition.message
        || existing.observed_generation != condition.observed_generation;
    let last_transition_time = if existing.status == condition.status {
        existing.last_transition_time.clone()
    } else {
        condition.last_transition_time.clone()
    };
    *existing = Condition {
        last_transition_time,
        ..condition
    };
    changed
}

/// Removes the condition of type `type_`; returns whether one was there.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// Builds a condition; `now` is its transition time should the status change.
pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.into(),
        observed_generation,
        last_transition_time: now,
    }
}

/// The schema of `status.conditions`: a list of `metav1.Condition` with the API server's
/// validation (the same one every Flux CRD carries).
pub fn conditions_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {
            "description": "A condition is one aspect of the observed state of the object.",
            "type": "object",
            "properties": {
                "lastTransitionTime": {
                    "description": "When the condition last changed status.",
                    "type": "string",
                    "format": "date-time",
                },
                "message": {
                    "description": "Human-readable details about the transition; may be empty.",
                    "type": "string",
                    "maxLength": CONDITION_MESSAGE_MAX_LENGTH,
                },
                "observedGeneration": {
                    "description": "The .metadata.generation the condition was computed from.",
                    "type": "integer",
                    "format": "int64",
                    "minimum": 0,
                },
                "reason": {
                    "description": "A CamelCase identifier of the cause of the last transition.",
                    "type": "string",
                    "maxLength": 1024,
                    "minLength": 1,
                    "pattern": CONDITION_REASON_PATTERN,
                },
                "status": {
                    "description": "The status of the condition: True, False or Unknown.",
                    "type": "string",
                    "enum": [STATUS_TRUE, STATUS_FALSE, STATUS_UNKNOWN],
                },
                "type": {
                    "description": "The type of the condition, in CamelCase or as domain/CamelCase.",
                    "type": "string",
                    "maxLength": 316,
                    "pattern": CONDITION_TYPE_PATTERN,
                },
            },
            "required": ["lastTransitionTime", "message", "reason", "status", "type"],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    fn ready(status: &str, reason: &str, now: Time) -> Condition {
        new_condition(READY, status, reason, "msg", Some(1), now)
    }

    #[test]
    fn set_keeps_transition_time_while_status_holds() {
        let mut conditions = vec![];
        assert!(set(
            &mut conditions,
            ready(STATUS_FALSE, reasons::PROGRESSING, at(10))
        ));
        assert!(set(
            &mut conditions,
            ready(STATUS_FALSE, reasons::BUILD_FAILED, at(20))
        ));
        assert_eq!(conditions[0].last_transition_time, at(10));
        assert_eq!(conditions[0].reason, reasons::BUILD_FAILED);
        assert!(!set(
            &mut conditions,
            ready(STATUS_FALSE, reasons::BUILD_FAILED, at(30))
        ));
        assert!(set(
            &mut conditions,
            ready(STATUS_TRUE, reasons::RECONCILIATION_SUCCEEDED, at(40))
        ));
        assert_eq!(conditions[0].last_transition_time, at(40));
        assert_eq!(conditions.len(), 1);
    }

    #[test]
    fn lookups_and_removal() {
        let mut conditions = vec![ready(STATUS_TRUE, reasons::SUCCEEDED, at(1))];
        assert!(is_true(&conditions, READY));
        assert!(!is_false(&conditions, READY));
        assert!(find(&conditions, STALLED).is_none());
        assert!(remove(&mut conditions, READY));
        assert!(!remove(&mut conditions, READY));
        assert!(conditions.is_empty());
    }
}
