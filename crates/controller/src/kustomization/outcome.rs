//! The end of every Kustomization reconcile: the attempt's result turned into Flux's status
//! (Ready / Healthy / Stalled conditions, revisions, inventory, history) and the event that
//! summarises what changed, told only when something did. The driver writes and publishes.

use super::apply::to_status_inventory;
use crate::context::Context;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::status::{ConditionSet, requested_at, write_status_if_changed};
use kube::api::Api;
use kube::{Resource, ResourceExt};
use std::time::Duration;
use tether_api::kustomize::v1::{Kustomization, KustomizationStatus};
use tether_api::meta::conditions::reasons;
use tether_api::meta::conditions::{HEALTHY, READY, RECONCILING};
use tether_core::changeset::ChangeSet;
use tether_core::inventory::Inventory;

/// One run of the pipeline.
pub struct Attempt {
    /// The source revision tried, once known.
    pub revision: Option<String>,
    pub result: Result<(), Failure>,
    /// The inventory to record; `None` keeps the previous one.
    pub inventory: Option<Inventory>,
    pub change_set: ChangeSet,
    pub pruned: ChangeSet,
    /// The health check's result, when one ran.
    pub health: Option<Result<String, Failure>>,
    /// Digest of the built objects, once built.
    pub digest: Option<String>,
    /// How long the pipeline ran.
    pub took: Duration,
    /// The status written when work on a new revision or generation started.
    pub progress: Option<KustomizationStatus>,
}

impl crate::reconcile::RunOutcome for Attempt {
    fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }
}

impl Attempt {
    pub fn new() -> Self {
        Self {
            revision: None,
            result: Ok(()),
            inventory: None,
            change_set: ChangeSet::new(),
            pruned: ChangeSet::new(),
            health: None,
            digest: None,
            took: Duration::ZERO,
            progress: None,
        }
    }
}

/// The status after `attempt`, starting from the object's current one.
pub fn next_status(ks: &Kustomization, attempt: &Attempt) -> KustomizationStatus {
    let mut status = attempt
        .progress
        .clone()
        .or_else(|| ks.status.clone())
        .unwrap_or_default();
    let generation = ks.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    if let Some(revision) = &attempt.revision {
        status.last_attempted_revision = Some(revision.clone());
    }
    if let Some(inventory) = &attempt.inventory {
        status.inventory = Some(to_status_inventory(inventory));
    }
    match &attempt.health {
        // A passing check keeps its first message: the duration in it must not cause a write.
        Some(Ok(_)) if conditions.is_true(HEALTHY) => {}
        Some(Ok(message)) => conditions.set(HEALTHY, true, "Succeeded", message.clone()),
        Some(Err(failure)) => {
            conditions.set(HEALTHY, false, failure.reason, failure.message.clone())
        }
        None => conditions.remove(HEALTHY),
    }
    match &attempt.result {
        Ok(()) => {
            let revision = attempt.revision.clone().unwrap_or_default();
            conditions.ready(
                reasons::RECONCILIATION_SUCCEEDED,
                format!("Applied revision: {revision}"),
            );
            status.last_applied_revision = Some(revision);
            status.observed_generation = generation;
        }
        Err(failure) => {
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            if failure.terminal {
                status.observed_generation = generation;
            }
        }
    }
    if let Some(digest) = &attempt.digest {
        let outcome = match &attempt.result {
            Ok(()) => reasons::RECONCILIATION_SUCCEEDED,
            Err(failure) => failure.reason,
        };
        let mut snapshots = status.history.take().unwrap_or_default();
        super::history::record(
            &mut snapshots,
            digest,
            outcome,
            attempt.took,
            attempt.revision.as_deref(),
        );
        status.history = Some(snapshots);
    }
    status.conditions = Some(conditions.into_sorted());
    if let Some(requested) = requested_at(ks) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

/// Marks the object Reconciling (and Ready Unknown) during a long health wait on a new revision
/// or generation, so the wait is visible (Flux marks it at the start of every such reconcile;
/// tether only once the one step that can take long has lasted a while, saving a write per
/// apply). Resyncs of what was already applied write nothing here.
pub async fn mark_progressing(
    ks: &Kustomization,
    ctx: &Context,
    attempt: &mut Attempt,
    revision: &str,
) {
    let status = ks.status.clone().unwrap_or_default();
    let applied = status.last_applied_revision.as_deref() == Some(revision)
        && status.observed_generation == ks.meta().generation;
    if applied {
        return;
    }
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), ks.meta().generation);
    let message = format!("Fetching manifests for revision {revision}");
    conditions.set(RECONCILING, true, reasons::PROGRESSING, message);
    conditions.set_unknown(READY, reasons::PROGRESSING, "Reconciliation in progress");
    let progress = KustomizationStatus {
        conditions: Some(conditions.into_sorted()),
        ..status
    };
    let api: Api<Kustomization> =
        Api::namespaced(ctx.client.clone(), &ks.namespace().unwrap_or_default());
    match write_status_if_changed(&api, ks, ks.status.as_ref(), &progress).await {
        Ok(_) => attempt.progress = Some(progress),
        Err(error) => {
            tracing::warn!(%error, object = %ObjectKey::of(ks), "cannot mark Reconciling")
        }
    }
}

/// The event of a successful attempt: what changed, one line each, and the revision; none
/// when nothing changed and the revision was applied before.
pub fn success_event(ks: &Kustomization, attempt: &Attempt) -> Option<(&'static str, String)> {
    let summary = change_summary(attempt);
    let new_revision = ks
        .status
        .as_ref()
        .and_then(|s| s.last_applied_revision.as_ref())
        != attempt.revision.as_ref();
    if summary.is_empty() && !new_revision {
        return None;
    }
    let revision = attempt.revision.as_deref().unwrap_or_default();
    Some((
        reasons::RECONCILIATION_SUCCEEDED,
        format!("{summary}Applied revision: {revision}"),
    ))
}

/// The changed entries of the apply and the prune, one per line.
fn change_summary(attempt: &Attempt) -> String {
    let mut summary = String::new();
    for entry in attempt
        .change_set
        .entries
        .iter()
        .chain(attempt.pruned.entries.iter())
    {
        if entry.action.has_changed() {
            summary.push_str(&format!("{entry}\n"));
        }
    }
    summary
}
