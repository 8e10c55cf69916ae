//! A release's resources on the cluster: built from the rendered manifests (namespaces
//! defaulted, ownership stamped), applied with staged server-side apply, the previous release's
//! resources that are no longer rendered deleted (unless `helm.sh/resource-policy: keep`), and
//! waited for until healthy (kstatus; Jobs only when asked, as Helm's `--wait-for-jobs`).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use tether_core::changeset::ChangeSet;
use tether_core::object::{ObjectId, ObjectRef};
use tether_helm::output::Manifest;
use tether_ssa::{ApplyOptions, ResourceManager, WaitOptions};
use tokio_util::sync::CancellationToken;

use crate::error::ActionError;
use crate::objects;

/// The objects of the rendered `manifests` of release `name` in `namespace`, ready to apply.
pub async fn build(
    manager: &ResourceManager,
    manifests: &[Manifest],
    name: &str,
    namespace: &str,
) -> Result<Vec<Value>, ActionError> {
    let mut all = Vec::new();
    for manifest in manifests {
        all.extend(objects::parse_documents(&manifest.path, &manifest.content)?);
    }
    objects::default_namespaces(manager, &mut all, namespace).await?;
    for object in &mut all {
        objects::stamp_ownership(object, name, namespace);
    }
    Ok(all)
}

/// The objects of a stored release manifest (`---`-separated documents), namespaces defaulted.
pub async fn of_stored_manifest(
    manager: &ResourceManager,
    manifest: &str,
    namespace: &str,
) -> Result<Vec<Value>, ActionError> {
    let mut all = objects::parse_documents("manifest", manifest)?;
    objects::default_namespaces(manager, &mut all, namespace).await?;
    Ok(all)
}

/// Applies `desired`, then deletes what `previous` had and `desired` has not (objects asking to
/// be kept stay). Returns what was done.
pub async fn apply(
    manager: &ResourceManager,
    desired: Vec<Value>,
    previous: &[Value],
    options: &ApplyOptions,
) -> Result<ChangeSet, ActionError> {
    let wanted: HashSet<ObjectId> = desired
        .iter()
        .filter_map(|o| ObjectRef::from_object(o).ok())
        .map(|o| o.id())
        .collect();
    let mut change_set = manager
        .apply_all_staged(desired, options)
        .await
        .map_err(|e| ActionError::Apply(e.error.to_string()))?;
    let stale: Vec<ObjectRef> = previous
        .iter()
        .filter(|o| !objects::is_kept(o))
        .filter_map(|o| ObjectRef::from_object(o).ok())
        .filter(|o| !wanted.contains(&o.id()))
        .collect();
    if !stale.is_empty() {
        crate::delete::delete(manager, &stale).await?;
        for object in stale {
            change_set.add(tether_core::changeset::ChangeSetEntry::new(
                object,
                tether_core::changeset::Action::Deleted,
            ));
        }
    }
    Ok(change_set)
}

/// Waits until every object of `objects` is healthy (kstatus Current). Jobs are waited for only
/// when `wait_for_jobs`.
pub async fn wait_ready(
    manager: &ResourceManager,
    objects: &[Value],
    timeout: Duration,
    wait_for_jobs: bool,
    cancel: CancellationToken,
) -> Result<(), ActionError> {
    let targets: Vec<ObjectRef> = objects
        .iter()
        .filter_map(|o| ObjectRef::from_object(o).ok())
        .filter(|o| wait_for_jobs || !(o.group == "batch" && o.kind == "Job"))
        .collect();
    let options = WaitOptions {
        interval: Duration::from_millis(500),
        timeout,
        fail_fast: true,
        cancel,
    };
    manager
        .wait_for_set(&targets, &options)
        .await
        .map_err(|e| ActionError::Wait(e.to_string()))
}
