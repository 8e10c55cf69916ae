//! What the source kinds share about their stored artifacts: the `status.artifact` advertised
//! for a stored tarball, the conditions a fetch leaves, Flux's reasons for storage and
//! packaging failures, and removing a source's artifacts when it is deleted.

use crate::context::Context;
use crate::failure::Failure;
use crate::status::{ConditionSet, now};
use std::collections::BTreeMap;
use tether_api::meta::Artifact;
use tether_api::meta::conditions::reasons as meta_reasons;
use tether_api::source::conditions as source_conditions;
use tether_source::artifact::ArtifactOwner;

/// The `status.artifact` of `stored`, downloadable under the advertised storage address.
pub fn advertised(
    ctx: &Context,
    stored: tether_source::Artifact,
    metadata: Option<BTreeMap<String, String>>,
) -> Artifact {
    Artifact {
        url: format!(
            "{}/{}",
            ctx.options.artifact_base_url.trim_end_matches('/'),
            stored.path
        ),
        digest: stored.digest,
        path: stored.path,
        revision: stored.revision,
        last_update_time: now(),
        size: i64::try_from(stored.size).ok(),
        metadata,
    }
}

/// Records a source fetch in `conditions`: on success `ArtifactInStorage` and Ready with
/// `stored` (Flux's message for the kind) and no `FetchFailed`; on failure `FetchFailed` and
/// Ready=False, Stalled when terminal. Returns whether the generation counts as observed.
pub fn record_fetch(conditions: &mut ConditionSet, result: Result<String, &Failure>) -> bool {
    match result {
        Ok(stored) => {
            let succeeded = meta_reasons::SUCCEEDED;
            conditions.set(
                source_conditions::ARTIFACT_IN_STORAGE,
                true,
                succeeded,
                stored.clone(),
            );
            conditions.remove(source_conditions::FETCH_FAILED);
            conditions.ready(succeeded, stored);
            true
        }
        Err(failure) => {
            conditions.set(
                source_conditions::FETCH_FAILED,
                true,
                failure.reason,
                failure.message.clone(),
            );
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            failure.terminal
        }
    }
}

/// The store's root, created if missing.
pub fn store_root(ctx: &Context) -> Result<&std::path::Path, Failure> {
    let root = ctx.workspace.store().root();
    std::fs::create_dir_all(root).map_err(storage_failure)?;
    Ok(root)
}

/// Flux's reason for a failed packaging: storage I/O (retried) or an archive that cannot be
/// made (terminal).
pub fn artifact_failure(error: tether_source::ArtifactError) -> Failure {
    let reason = match &error {
        tether_source::ArtifactError::Io { .. } => source_conditions::STORAGE_OPERATION_FAILED,
        _ => source_conditions::reasons::ARCHIVE_OPERATION_FAILED,
    };
    Failure::new(reason, error.to_string()).terminal_if(error.is_terminal())
}

/// A storage operation that failed for reasons of the machine, not of the input.
pub fn storage_failure(error: impl std::fmt::Display) -> Failure {
    Failure::new(
        source_conditions::STORAGE_OPERATION_FAILED,
        format!("storage operation failed: {error}"),
    )
}

/// Deletes every stored artifact of `owner` (its object is gone); logs what cannot be deleted.
pub fn remove_all(ctx: &Context, owner: &ArtifactOwner) {
    let dir = ctx.workspace.store().root().join(owner.dir());
    if let Err(error) = std::fs::remove_dir_all(&dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, dir = %dir.display(), "cannot remove artifacts");
    }
}
