//! Status conditions as `metav1.Condition` JSON, and the one helper that changes them: it stamps
//! `observedGeneration`, moves `lastTransitionTime` only on a real change, keeps Flux's order
//! (Stalled, Reconciling, Ready first), and implements Flux's Ready / Reconciling / Stalled
//! (kstatus) conventions.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::{Clock, Timestamp};

/// The `Ready` condition type.
pub const READY: &str = "Ready";
/// The `Reconciling` condition type (kstatus: work is under way).
pub const RECONCILING: &str = "Reconciling";
/// The `Stalled` condition type (kstatus: no progress without outside help).
pub const STALLED: &str = "Stalled";
/// The reason Flux gives `Reconciling` when the last attempt failed and will be retried.
pub const PROGRESSING_WITH_RETRY_REASON: &str = "ProgressingWithRetry";
/// The longest message kept, in bytes; longer ones are cut and end in `...`.
pub const MAX_MESSAGE_LENGTH: usize = 32_768;
const TRIMMED_SUFFIX: &str = "...";

/// The status of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConditionStatus {
    /// `True`.
    True,
    /// `False`.
    False,
    /// `Unknown`.
    Unknown,
}

impl fmt::Display for ConditionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        })
    }
}

/// One status condition, serde-compatible with `metav1.Condition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// The `metadata.generation` the condition was set for; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub observed_generation: i64,
    /// When the status, reason or message last changed.
    pub last_transition_time: Timestamp,
    /// A CamelCase reason.
    #[serde(default)]
    pub reason: String,
    /// A human-readable message.
    #[serde(default)]
    pub message: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The parts of a condition a reconciler decides; the helper fills in the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionUpdate {
    /// The condition type.
    pub type_: String,
    /// The new status.
    pub status: ConditionStatus,
    /// The new reason.
    pub reason: String,
    /// The new message.
    pub message: String,
}

impl ConditionUpdate {
    /// An update to any status.
    pub fn new(type_: &str, status: ConditionStatus, reason: &str, message: &str) -> Self {
        Self {
            type_: type_.to_owned(),
            status,
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// The first condition of the given type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == ConditionStatus::True)
}

/// Whether the condition is present with status `False`.
pub fn is_false(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == ConditionStatus::False)
}

/// Whether `Ready` is `True`.
pub fn is_ready(conditions: &[Condition]) -> bool {
    is_true(conditions, READY)
}

/// Whether `Reconciling` is `True`.
pub fn is_reconciling(conditions: &[Condition]) -> bool {
    is_true(conditions, RECONCILING)
}

/// Whether `Stalled` is `True`.
pub fn is_stalled(conditions: &[Condition]) -> bool {
    is_true(conditions, STALLED)
}

/// Writes conditions of one object at one generation, reading the time from a clock.
pub struct ConditionWriter<'a> {
    conditions: &'a mut Vec<Condition>,
    generation: i64,
    clock: &'a dyn Clock,
}

impl<'a> ConditionWriter<'a> {
    /// A writer over `conditions` of an object whose `metadata.generation` is `generation`.
    pub fn new(conditions: &'a mut Vec<Condition>, generation: i64, clock: &'a dyn Clock) -> Self {
        Self {
            conditions,
            generation,
            clock,
        }
    }

    /// Sets a condition (Flux's `conditions.Set`): stamps the generation, trims the message,
    /// keeps `lastTransitionTime` unless status, reason or message changed, then re-sorts.
    pub fn set(&mut self, update: ConditionUpdate) {
        let message = trim_message(&update.message);
        let existing = self.conditions.iter_mut().find(|c| c.type_ == update.type_);
        match existing {
            Some(current) => {
                let same = current.status == update.status
                    && current.reason == update.reason
                    && current.message == message;
                if !same {
                    current.last_transition_time = self.clock.now();
                }
                current.status = update.status;
                current.reason = update.reason;
                current.message = message;
                current.observed_generation = self.generation;
            }
            None => self.conditions.push(Condition {
                type_: update.type_,
                status: update.status,
                observed_generation: self.generation,
                last_transition_time: self.clock.now(),
                reason: update.reason,
                message,
            }),
        }
        self.conditions.sort_by(flux_order);
    }

    /// Sets the condition to `True`.
    pub fn mark_true(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(ConditionUpdate::new(
            type_,
            ConditionStatus::True,
            reason,
            message,
        ));
    }

    /// Sets the condition to `False`.
    pub fn mark_false(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(ConditionUpdate::new(
            type_,
            ConditionStatus::False,
            reason,
            message,
        ));
    }

    /// Sets the condition to `Unknown`.
    pub fn mark_unknown(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(ConditionUpdate::new(
            type_,
            ConditionStatus::Unknown,
            reason,
            message,
        ));
    }

    /// Removes every condition of the type.
    pub fn delete(&mut self, type_: &str) {
        self.conditions.retain(|c| c.type_ != type_);
    }

    /// Work has started: `Reconciling=True`, and `Stalled` removed.
    pub fn mark_reconciling(&mut self, reason: &str, message: &str) {
        self.delete(STALLED);
        self.mark_true(RECONCILING, reason, message);
    }

    /// No progress is possible without outside help: `Stalled=True`, and `Reconciling` removed.
    pub fn mark_stalled(&mut self, reason: &str, message: &str) {
        self.delete(RECONCILING);
        self.mark_true(STALLED, reason, message);
    }

    /// The end of a reconciliation (the condition part of kustomize-controller's
    /// `finalizeStatus`): when `Ready` is `True`, `Reconciling` is removed and this returns
    /// `true` (the caller then records `status.observedGeneration`); when `Ready` is `False` and
    /// `Reconciling` is present, its reason becomes `ProgressingWithRetry`.
    pub fn finish(&mut self) -> bool {
        if is_ready(self.conditions) {
            self.delete(RECONCILING);
            return true;
        }
        if is_false(self.conditions, READY)
            && let Some(rc) = find(self.conditions, RECONCILING)
        {
            let update = ConditionUpdate::new(
                RECONCILING,
                rc.status,
                PROGRESSING_WITH_RETRY_REASON,
                &rc.message,
            );
            self.set(update);
        }
        false
    }
}

/// Flux's condition order: Stalled, Reconciling, Ready first; then the rest by newest
/// observed generation, then by type.
fn flux_order(a: &Condition, b: &Condition) -> std::cmp::Ordering {
    let weight = |t: &str| match t {
        STALLED => Some(0),
        RECONCILING => Some(1),
        READY => Some(2),
        _ => None,
    };
    match (weight(&a.type_), weight(&b.type_)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b
            .observed_generation
            .cmp(&a.observed_generation)
            .then_with(|| a.type_.cmp(&b.type_)),
    }
}

/// Cuts a message to [`MAX_MESSAGE_LENGTH`] bytes (on a character boundary), ending in `...`.
fn trim_message(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_LENGTH {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE_LENGTH - TRIMMED_SUFFIX.len();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRIMMED_SUFFIX}", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::FixedClock;
    use serde_json::json;

    fn at(seconds: i64) -> FixedClock {
        FixedClock(Timestamp::from_unix_seconds(seconds))
    }

    fn types(conditions: &[Condition]) -> Vec<&str> {
        conditions.iter().map(|c| c.type_.as_str()).collect()
    }

    #[test]
    fn json_matches_metav1_condition() -> Result<(), serde_json::Error> {
        let wire = json!({"type": "Ready", "status": "True", "observedGeneration": 3,
            "lastTransitionTime": "2024-05-01T12:00:00Z", "reason": "ReconciliationSucceeded",
            "message": "Applied revision: main@sha1:abc"});
        let c: Condition = serde_json::from_value(wire.clone())?;
        assert_eq!(c.type_, READY);
        assert_eq!(c.status, ConditionStatus::True);
        assert_eq!(c.observed_generation, 3);
        assert_eq!(serde_json::to_value(&c)?, wire);
        let bare =
            json!({"type": "X", "status": "Unknown", "lastTransitionTime": "2024-05-01T12:00:00Z"});
        let c: Condition = serde_json::from_value(bare)?;
        let back = serde_json::to_value(&c)?;
        assert_eq!(back.get("observedGeneration"), None);
        assert_eq!(back["reason"], "");
        Ok(())
    }

    #[test]
    fn transition_time_moves_only_on_real_change() {
        let mut conditions = Vec::new();
        ConditionWriter::new(&mut conditions, 1, &at(100)).mark_true(READY, "Succeeded", "ok");
        assert_eq!(conditions[0].last_transition_time.unix_seconds(), 100);

        ConditionWriter::new(&mut conditions, 2, &at(200)).mark_true(READY, "Succeeded", "ok");
        assert_eq!(conditions[0].last_transition_time.unix_seconds(), 100);
        assert_eq!(conditions[0].observed_generation, 2);

        ConditionWriter::new(&mut conditions, 2, &at(300)).mark_true(READY, "Succeeded", "new");
        assert_eq!(conditions[0].last_transition_time.unix_seconds(), 300);

        ConditionWriter::new(&mut conditions, 2, &at(400)).mark_false(READY, "Failed", "new");
        assert_eq!(conditions[0].last_transition_time.unix_seconds(), 400);
        assert_eq!(conditions[0].status, ConditionStatus::False);
    }

    #[test]
    fn keeps_flux_order() {
        let mut conditions = Vec::new();
        let clock = at(1);
        let mut w = ConditionWriter::new(&mut conditions, 1, &clock);
        w.mark_true("Healthy", "Succeeded", "");
        w.mark_true("ArtifactInStorage", "Succeeded", "");
        w.mark_false(READY, "Progressing", "");
        w.mark_reconciling("Progressing", "working");
        assert_eq!(
            types(&conditions),
            [RECONCILING, READY, "ArtifactInStorage", "Healthy"]
        );
    }

    #[test]
    fn reconciling_and_stalled_exclude_each_other() {
        let mut conditions = Vec::new();
        let clock = at(1);
        let mut w = ConditionWriter::new(&mut conditions, 1, &clock);
        w.mark_reconciling("Progressing", "working");
        w.mark_stalled("InvalidPath", "path not found");
        assert!(is_stalled(&conditions));
        assert!(!is_reconciling(&conditions));
        ConditionWriter::new(&mut conditions, 1, &clock).mark_reconciling("Progressing", "again");
        assert!(is_reconciling(&conditions));
        assert!(find(&conditions, STALLED).is_none());
    }

    #[test]
    fn finish_after_success_drops_reconciling() {
        let mut conditions = Vec::new();
        let clock = at(1);
        let mut w = ConditionWriter::new(&mut conditions, 4, &clock);
        w.mark_reconciling("Progressing", "working");
        w.mark_true(READY, "ReconciliationSucceeded", "done");
        assert!(w.finish());
        assert_eq!(types(&conditions), [READY]);
        assert!(is_ready(&conditions));
    }

    #[test]
    fn finish_after_failure_marks_retry() {
        let mut conditions = Vec::new();
        let (start, end) = (at(1), at(9));
        let mut w = ConditionWriter::new(&mut conditions, 4, &start);
        w.mark_reconciling("Progressing", "working");
        w.mark_false(READY, "BuildFailed", "kustomize build failed");
        let mut w = ConditionWriter::new(&mut conditions, 4, &end);
        assert!(!w.finish());
        let rc =
            find(&conditions, RECONCILING).map(|c| (c.reason.as_str(), c.last_transition_time));
        assert_eq!(
            rc,
            Some((
                PROGRESSING_WITH_RETRY_REASON,
                Timestamp::from_unix_seconds(9)
            ))
        );
        assert!(is_false(&conditions, READY));
    }

    #[test]
    fn long_messages_are_trimmed_on_char_boundaries() {
        let long = "é".repeat(MAX_MESSAGE_LENGTH);
        let trimmed = trim_message(&long);
        assert!(trimmed.len() <= MAX_MESSAGE_LENGTH);
        assert!(trimmed.ends_with("é..."));
        assert_eq!(trim_message("short"), "short");
    }

    #[test]
    fn mark_unknown_and_delete() {
        let mut conditions = Vec::new();
        let clock = at(1);
        let mut w = ConditionWriter::new(&mut conditions, 1, &clock);
        w.mark_unknown(READY, "Progressing", "reconciliation in progress");
        w.delete("Absent");
        assert_eq!(conditions[0].status, ConditionStatus::Unknown);
        assert_eq!(conditions[0].status.to_string(), "Unknown");
        ConditionWriter::new(&mut conditions, 1, &clock).delete(READY);
        assert!(conditions.is_empty());
    }
}
