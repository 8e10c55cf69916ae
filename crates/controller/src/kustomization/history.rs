//! `status.history`: one snapshot per distinct set of applied objects (their digest), newest
//! first, at most [`HISTORY_MAX_SIZE`] of them, as Flux records it. Unlike Flux, a resync that
//! reaches the same digest with the same outcome does not touch the snapshot, so that a no-op
//! resync makes no status write; a new digest or a changed outcome does.

use crate::status::now;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;
use tether_api::meta::{Duration as ApiDuration, HISTORY_MAX_SIZE, Snapshot};

/// `sha256:<hex>` of the objects as they were built (in build order).
pub fn digest_of(objects: &[Value]) -> String {
    let mut hasher = Sha256::new();
    for object in objects {
        hasher.update(object.to_string().as_bytes());
        hasher.update(b"\n---\n");
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Records one reconcile of `digest` that ended with `outcome` (a condition reason).
pub fn record(
    history: &mut Vec<Snapshot>,
    digest: &str,
    outcome: &str,
    took: Duration,
    revision: Option<&str>,
) {
    let metadata = revision.map(|r| BTreeMap::from([("revision".to_owned(), r.to_owned())]));
    if let Some(index) = history.iter().position(|s| s.digest == digest) {
        let mut snapshot = history.remove(index);
        if snapshot.last_reconciled_status != outcome || index != 0 {
            snapshot.last_reconciled = now();
            snapshot.last_reconciled_duration = ApiDuration::from_std(took);
            snapshot.last_reconciled_status = outcome.to_owned();
            snapshot.total_reconciliations += 1;
            snapshot.metadata = metadata;
        }
        history.insert(0, snapshot);
        return;
    }
    let time = now();
    history.insert(
        0,
        Snapshot {
            digest: digest.to_owned(),
            first_reconciled: time.clone(),
            last_reconciled: time,
            last_reconciled_duration: ApiDuration::from_std(took),
            last_reconciled_status: outcome.to_owned(),
            total_reconciliations: 1,
            metadata,
        },
    );
    history.truncate(HISTORY_MAX_SIZE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_digest_and_outcome_leaves_history_unchanged() {
        let mut history = Vec::new();
        record(
            &mut history,
            "sha256:a",
            "ReconciliationSucceeded",
            Duration::from_millis(1500),
            Some("main@sha1:1"),
        );
        let first = history.clone();
        record(
            &mut history,
            "sha256:a",
            "ReconciliationSucceeded",
            Duration::from_millis(900),
            Some("main@sha1:1"),
        );
        assert_eq!(history, first);
        assert_eq!(
            history[0].last_reconciled_duration,
            ApiDuration::from_std(Duration::from_millis(1500))
        );
    }

    #[test]
    fn new_digests_go_first_and_history_is_bounded() {
        let mut history = Vec::new();
        for i in 0..7 {
            record(
                &mut history,
                &format!("sha256:{i}"),
                "ReconciliationSucceeded",
                Duration::ZERO,
                None,
            );
        }
        assert_eq!(history.len(), HISTORY_MAX_SIZE);
        assert_eq!(history[0].digest, "sha256:6");
        record(
            &mut history,
            "sha256:4",
            "HealthCheckFailed",
            Duration::ZERO,
            None,
        );
        assert_eq!(history[0].digest, "sha256:4");
        assert_eq!(history[0].total_reconciliations, 2);
        assert_eq!(history[0].last_reconciled_status, "HealthCheckFailed");
    }

    #[test]
    fn digest_depends_on_every_object() {
        let a = serde_json::json!({"kind": "A"});
        let b = serde_json::json!({"kind": "B"});
        assert_ne!(
            digest_of(std::slice::from_ref(&a)),
            digest_of(&[a.clone(), b])
        );
        assert!(digest_of(&[a]).starts_with("sha256:"));
    }
}
