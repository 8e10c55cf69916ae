//! The apply step and what follows it: staged server-side apply of the built objects under the
//! Kustomization's owner labels, the new inventory, prune of what left it, and health checks.
//! The work is `tether-ssa`'s; this module turns its results into Flux's outcome.
//!
//! How prune is decided: an object is pruned when it was in the inventory of the last apply
//! (`status.inventory`) and is not among the objects just applied, still carries this
//! Kustomization's owner labels, and carries no Flux v1 ignore annotation; nothing is pruned
//! when the apply failed, and an object whose deletion failed stays in the inventory.

use crate::context::Context;
use crate::failure::Failure;
use kube::ResourceExt;
use serde_json::Value;
use std::time::{Duration, Instant};
use tether_api::kustomize::v1::{Kustomization, ResourceInventory, ResourceRef};
use tether_api::meta::conditions::reasons;
use tether_core::changeset::ChangeSet;
use tether_core::inventory::{Inventory, InventoryEntry};
use tether_core::object::ObjectRef;
use tether_ssa::{ApplyOptions, DeleteOptions, ResourceManager, WaitOptions, owner_labels};
use tokio_util::sync::CancellationToken;

/// Flux v1's ignore annotations (`fluxcd.io/ignore: "true"` and fluxd's older prefix): an object
/// carrying one, in Git or live, is neither applied nor pruned, as fluxd left it alone. It stays
/// in the inventory, so removing the annotation hands it back to the Kustomization.
const FLUX_V1_IGNORE: [(&str, &str); 2] = [
    ("fluxcd.io/ignore", "true"),
    ("flux.weave.works/ignore", "true"),
];

pub(crate) fn with_flux_v1_ignore(mut selector: tether_ssa::Selector) -> tether_ssa::Selector {
    for (key, value) in FLUX_V1_IGNORE {
        selector.0.insert(key.to_owned(), value.to_owned());
    }
    selector
}

/// The apply manager for one Kustomization: in its cluster (`spec.kubeConfig`), as its
/// ServiceAccount (`spec.serviceAccountName` or the controller's default), its owner labels
/// stamped on every object. Failing to build the client fails the reconcile as Flux does.
pub async fn manager_for(ks: &Kustomization, ctx: &Context) -> Result<ResourceManager, Failure> {
    let namespace = ks.namespace().unwrap_or_default();
    let identity = crate::clusters::Identity {
        namespace: &namespace,
        service_account: ks.spec.service_account_name.as_deref(),
        kube_config: ks.spec.kube_config.as_ref(),
    };
    let access = ctx.clusters.access(identity).await.map_err(|e| {
        Failure::new(
            reasons::RECONCILIATION_FAILED,
            format!("failed to build kube client: {e}"),
        )
    })?;
    let labels = owner_labels(&ks.name_any(), &namespace);
    Ok(access.manager.with_owner_labels(labels))
}

/// Applies `objects`; nothing is pruned when the apply fails. Objects outside the previous
/// inventory `applied_before` are applied without a dry-run when their whole stage is new.
pub async fn apply(
    ks: &Kustomization,
    manager: &ResourceManager,
    objects: Vec<Value>,
    applied_before: &Inventory,
) -> Result<ChangeSet, Failure> {
    let defaults = ApplyOptions::default();
    let options = ApplyOptions {
        force: ks.spec.force == Some(true),
        exclusion_selector: with_flux_v1_ignore(defaults.exclusion_selector.clone()),
        previously_applied: applied_before
            .ids()
            .ok()
            .map(|ids| ids.into_iter().collect()),
        keep_applied: ks.spec.wait == Some(true),
        ..defaults
    };
    manager
        .apply_all_staged(objects, &options)
        .await
        .map_err(|e| apply_failure(&e.error))
}

/// Flux's reason for a failed apply: staged definitions that never became ready failed a health
/// check; anything else failed the reconciliation. Invalid objects are terminal.
fn apply_failure(error: &tether_ssa::ApplyError) -> Failure {
    let reason = match error {
        tether_ssa::ApplyError::Wait(_) => reasons::HEALTH_CHECK_FAILED,
        _ => reasons::RECONCILIATION_FAILED,
    };
    Failure::new(reason, error.to_string()).terminal_if(error.is_terminal())
}

/// The inventory recorded in status, in core's terms (field for field: nothing can be lost).
pub fn inventory_of(status: Option<&ResourceInventory>) -> Inventory {
    let entries = status.map_or(&[][..], |inventory| &inventory.entries);
    Inventory {
        entries: entries
            .iter()
            .map(|entry| InventoryEntry {
                id: entry.id.clone(),
                version: entry.v.clone(),
            })
            .collect(),
    }
}

/// The inventory as status records it.
pub fn to_status_inventory(inventory: &Inventory) -> ResourceInventory {
    ResourceInventory {
        entries: inventory
            .entries
            .iter()
            .map(|entry| ResourceRef {
                id: entry.id.clone(),
                v: entry.version.clone(),
            })
            .collect(),
    }
}

/// Deletes what was in `old` and is not in `new` (only objects carrying our owner labels).
/// Objects whose deletion failed are put back into the returned inventory.
pub async fn prune_stale(
    ks: &Kustomization,
    manager: &ResourceManager,
    old: &Inventory,
    new: Inventory,
) -> Result<(Inventory, ChangeSet), (Inventory, Failure)> {
    let stale = match old.diff(&new) {
        Ok(stale) => stale,
        Err(e) => return Err((new, Failure::new(reasons::PRUNE_FAILED, e.to_string()))),
    };
    if stale.is_empty() {
        return Ok((new, ChangeSet::new()));
    }
    let defaults = DeleteOptions::default();
    let options = DeleteOptions {
        inclusions: owner_labels(&ks.name_any(), &ks.namespace().unwrap_or_default()),
        exclusions: with_flux_v1_ignore(defaults.exclusions.clone()),
        ..defaults
    };
    let outcome = manager.delete_all(&stale, &options).await;
    let Some(message) = outcome.error_message() else {
        return Ok((new, outcome.change_set));
    };
    let mut kept = new;
    kept.merge(&outcome.failed_objects());
    Err((kept, Failure::new(reasons::PRUNE_FAILED, message)))
}

/// The objects `spec.wait` or `spec.healthChecks` ask to be Current, if any.
pub fn health_targets(ks: &Kustomization, change_set: &ChangeSet) -> Vec<ObjectRef> {
    if ks.spec.wait == Some(true) {
        return change_set
            .entries
            .iter()
            .map(|e| e.object.clone())
            .collect();
    }
    let own_namespace = ks.namespace().unwrap_or_default();
    ks.spec
        .health_checks
        .iter()
        .flatten()
        .map(|check| {
            let (group, version) = match check.api_version.as_deref().unwrap_or("").split_once('/')
            {
                Some((g, v)) => (g.to_owned(), v.to_owned()),
                None => (String::new(), check.api_version.clone().unwrap_or_default()),
            };
            ObjectRef {
                group,
                version,
                kind: check.kind.clone(),
                namespace: check
                    .namespace
                    .clone()
                    .unwrap_or_else(|| own_namespace.clone()),
                name: check.name.clone(),
            }
        })
        .collect()
}

/// Waits until `targets` are Current; the message of success says how long it took.
pub async fn check_health(
    manager: &ResourceManager,
    targets: &[ObjectRef],
    timeout: Duration,
    cancel: CancellationToken,
) -> Result<String, Failure> {
    let started = Instant::now();
    let options = WaitOptions {
        interval: Duration::from_millis(500),
        timeout,
        fail_fast: true,
        cancel,
    };
    match manager.wait_for_set(targets, &options).await {
        Ok(()) => Ok(format!(
            "Health check passed in {:.3}s",
            started.elapsed().as_secs_f64()
        )),
        Err(tether_ssa::WaitError::Cancelled) => Err(Failure::new(
            reasons::HEALTH_CHECK_CANCELED,
            "health check canceled: a new revision is available",
        )),
        Err(error) => Err(Failure::new(
            reasons::HEALTH_CHECK_FAILED,
            format!(
                "health check failed after {:.3}s: {error}",
                started.elapsed().as_secs_f64()
            ),
        )),
    }
}
