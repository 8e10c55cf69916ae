//! What happens when a Kustomization is deleted: its applied objects are deleted or orphaned
//! according to `spec.deletionPolicy` (MirrorPrune follows `spec.prune`), only objects that
//! carry its owner labels, and the finalizer is removed once that is done.

use super::apply::{inventory_of, manager_for};
use crate::context::Context;
use kube::ResourceExt;
use std::time::Duration;
use tether_api::kustomize::v1::{DeletionPolicy, Kustomization};
use tether_ssa::{DeleteOptions, owner_labels};

/// Why the finalizer could not complete.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    /// The inventory in status could not be read.
    #[error("cannot read inventory: {0}")]
    Inventory(String),
    /// Some objects could not be deleted; the finalizer stays until they are.
    #[error("{0}")]
    Delete(String),
    /// The objects were deleted but did not go away in time.
    #[error("objects not terminated: {0}")]
    Termination(String),
}

pub async fn delete_applied(ks: &Kustomization, ctx: &Context) -> Result<(), FinalizeError> {
    let policy = ks.spec.deletion_policy_or_default();
    let delete = match policy {
        DeletionPolicy::MirrorPrune => ks.spec.prune,
        DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
        DeletionPolicy::Orphan => false,
    };
    if !delete || ks.spec.suspend == Some(true) {
        return Ok(());
    }
    let inventory = inventory_of(ks.status.as_ref().and_then(|s| s.inventory.as_ref()));
    let objects = inventory
        .object_refs()
        .map_err(|e| FinalizeError::Inventory(e.to_string()))?;
    let manager = match manager_for(ks, ctx).await {
        Ok(manager) => manager,
        Err(failure) => {
            // As Flux: without the account (or cluster) to act as, nothing can be deleted on
            // its behalf; the objects are left and the finalizer goes.
            tracing::warn!(kustomization = %crate::key::ObjectKey::of(ks), error = %failure.message,
                "skipping the deletion of applied objects: no client to delete them with");
            return Ok(());
        }
    };
    let options = DeleteOptions {
        inclusions: owner_labels(&ks.name_any(), &ks.namespace().unwrap_or_default()),
        ..DeleteOptions::default()
    };
    let outcome = manager.delete_all(&objects, &options).await;
    if let Some(message) = outcome.error_message() {
        return Err(FinalizeError::Delete(message));
    }
    if matches!(policy, DeletionPolicy::WaitForTermination) {
        let timeout = ks
            .spec
            .effective_timeout()
            .unwrap_or(Duration::from_secs(300));
        wait_until_gone(&manager, objects, timeout).await?;
    }
    Ok(())
}

/// Polls until every object is gone, or fails naming those still there.
async fn wait_until_gone(
    manager: &tether_ssa::ResourceManager,
    mut objects: Vec<tether_core::object::ObjectRef>,
    timeout: Duration,
) -> Result<(), FinalizeError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut remaining = Vec::new();
        for object in objects {
            if manager.status_of(object.clone()).await.status
                != tether_core::health::Status::NotFound
            {
                remaining.push(object);
            }
        }
        if remaining.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let names: Vec<String> = remaining.iter().map(ToString::to_string).collect();
            return Err(FinalizeError::Termination(names.join(", ")));
        }
        objects = remaining;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
