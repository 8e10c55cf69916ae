//! What the source kinds share about their stored artifacts: the `status.artifact` advertised
//! for a stored tarball, Flux's reasons for storage and packaging failures, and removing a
//! source's artifacts when it is deleted.

use crate::context::Context;
use crate::failure::Failure;
use crate::status::now;
use std::collections::BTreeMap;
use tether_api::meta::Artifact;
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
