//! Writing a custom resource's status: server-side apply under tether's own status field
//! manager, and only when the status differs from what the object already carries, so a
//! reconcile that changed nothing makes no write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use tether_api::meta::conditions;

/// The field manager of status writes, separate from the one that applies users' objects.
pub const STATUS_FIELD_MANAGER: &str = "tether-status";

/// Applies `desired` as the status of `object` unless it equals `current`. Returns whether a
/// write was made.
pub async fn write_status_if_changed<K, S>(
    api: &Api<K>,
    object: &K,
    current: Option<&S>,
    desired: &S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq,
{
    if current == Some(desired) {
        return Ok(false);
    }
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": desired,
    });
    let params = PatchParams::apply(STATUS_FIELD_MANAGER).force();
    api.patch_status(&object.name_any(), &params, &Patch::Apply(&patch))
        .await?;
    Ok(true)
}

/// The current time as a Kubernetes timestamp, truncated to seconds as the API stores it.
pub fn now() -> Time {
    let seconds = k8s_openapi::jiff::Timestamp::now().as_second();
    Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap_or_default())
}

/// A condition list being edited for one reconcile result, stamping `observedGeneration`.
pub struct ConditionSet {
    pub conditions: Vec<Condition>,
    generation: Option<i64>,
}

impl ConditionSet {
    pub fn new(existing: Option<&Vec<Condition>>, generation: Option<i64>) -> Self {
        Self {
            conditions: existing.cloned().unwrap_or_default(),
            generation,
        }
    }

    /// Sets `type_`; `lastTransitionTime` moves only when the status changes.
    pub fn set(&mut self, type_: &str, status: bool, reason: &str, message: impl Into<String>) {
        let status = if status {
            conditions::STATUS_TRUE
        } else {
            conditions::STATUS_FALSE
        };
        let condition =
            conditions::new_condition(type_, status, reason, message, self.generation, now());
        conditions::set(&mut self.conditions, condition);
    }

    /// Sets `type_` to Unknown.
    pub fn set_unknown(&mut self, type_: &str, reason: &str, message: impl Into<String>) {
        let condition = conditions::new_condition(
            type_,
            conditions::STATUS_UNKNOWN,
            reason,
            message,
            self.generation,
            now(),
        );
        conditions::set(&mut self.conditions, condition);
    }

    pub fn is_true(&self, type_: &str) -> bool {
        conditions::is_true(&self.conditions, type_)
    }

    pub fn remove(&mut self, type_: &str) {
        conditions::remove(&mut self.conditions, type_);
    }

    /// Ready=True with the kstatus companions cleared.
    pub fn ready(&mut self, reason: &str, message: impl Into<String>) {
        self.set(conditions::READY, true, reason, message);
        self.remove(conditions::RECONCILING);
        self.remove(conditions::STALLED);
    }

    /// Ready=False; a terminal failure is `Stalled`, anything else will be retried.
    pub fn failed(&mut self, reason: &str, message: impl Into<String>, terminal: bool) {
        let message = message.into();
        self.set(conditions::READY, false, reason, message.clone());
        if terminal {
            self.set(conditions::STALLED, true, reason, message);
            self.remove(conditions::RECONCILING);
        } else {
            self.remove(conditions::STALLED);
        }
    }

    /// Sorted as Flux sorts them: Ready first, then the kstatus conditions, then the rest.
    pub fn into_sorted(mut self) -> Vec<Condition> {
        let rank = |c: &Condition| match c.type_.as_str() {
            conditions::READY => 0,
            conditions::RECONCILING => 1,
            conditions::STALLED => 2,
            _ => 3,
        };
        self.conditions
            .sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.type_.cmp(&b.type_)));
        self.conditions
    }
}

/// The `reconcile.fluxcd.io/requestedAt` value of `object`, if any.
pub fn requested_at<K: Resource>(object: &K) -> Option<String> {
    object
        .annotations()
        .get(tether_api::meta::RECONCILE_REQUEST_ANNOTATION)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_only_moves_on_status_change() {
        let mut set = ConditionSet::new(None, Some(1));
        set.set("Ready", false, "Progressing", "a");
        let first = set.conditions[0].last_transition_time.clone();
        let mut set = ConditionSet::new(Some(&set.conditions), Some(2));
        set.set("Ready", false, "Failed", "b");
        assert_eq!(set.conditions[0].last_transition_time, first);
        assert_eq!(set.conditions[0].observed_generation, Some(2));
    }

    #[test]
    fn failed_terminal_sets_stalled_and_ready_clears_it() {
        let mut set = ConditionSet::new(None, Some(1));
        set.failed("BuildFailed", "broken", true);
        assert!(conditions::is_true(&set.conditions, conditions::STALLED));
        set.ready("ReconciliationSucceeded", "ok");
        let sorted = set.into_sorted();
        assert_eq!(sorted.len(), 1);
        assert_eq!(sorted[0].type_, "Ready");
    }
}
