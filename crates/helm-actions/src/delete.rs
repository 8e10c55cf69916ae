//! Deleting a release's objects: hooks by policy (waited for until gone, so the next creation
//! does not collide with a terminating object), objects an upgrade no longer renders, and all
//! of a release's objects on uninstall. Deletion propagates in the background, as Helm's does.

use std::time::Duration;

use tether_core::health::Status;
use tether_core::object::ObjectRef;
use tether_ssa::{DeleteOptions, ResourceManager, Selector};

use crate::error::ActionError;

/// Deletes `objects` whatever their labels (a release owns them by its manifest, not by
/// labels), and returns the deletion's failure, if any.
pub async fn delete(manager: &ResourceManager, objects: &[ObjectRef]) -> Result<(), ActionError> {
    let options = DeleteOptions {
        inclusions: Default::default(),
        exclusions: Selector::default(),
        ..DeleteOptions::default()
    };
    let outcome = manager.delete_all(objects, &options).await;
    match outcome.error_message() {
        None => Ok(()),
        Some(message) => Err(ActionError::Delete(message)),
    }
}

/// Deletes `objects` and waits until none exists any more, for at most `timeout`.
pub async fn delete_and_wait(
    manager: &ResourceManager,
    objects: &[ObjectRef],
    timeout: Duration,
) -> Result<(), ActionError> {
    delete(manager, objects).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut remaining = objects.to_vec();
    while !remaining.is_empty() {
        let mut still = Vec::new();
        for object in remaining {
            if manager.status_of(object.clone()).await.status != Status::NotFound {
                still.push(object);
            }
        }
        remaining = still;
        if remaining.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let names: Vec<String> = remaining.iter().map(ToString::to_string).collect();
            return Err(ActionError::Delete(format!(
                "timed out waiting for the deletion of {}",
                names.join(", ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}
