//! The GitRepository reconciler's steps: ask the remote for the ref's head, fetch and pack a new
//! artifact only when the head moved (or the spec changed), garbage-collect old artifacts, and
//! say what changed. When the branch moves, the new artifact's status write wakes the
//! Kustomizations built from it and cancels their health waits on the old revision. The git
//! work itself is `tether-source`'s; the loop around these steps is the driver's.

use crate::artifacts::{self, artifact_failure, storage_failure};
use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::git_source::{CloneSpecError, clone_spec};
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, Reconcile};
use crate::status::{ConditionSet, requested_at};
use kube::{Resource, ResourceExt};
use std::time::Duration;
use tether_api::meta::Artifact;
use tether_api::source::conditions as source_conditions;
use tether_api::source::v1::{GitRepository, GitRepositoryStatus};
use tether_source::artifact::ArtifactOwner;

/// What fetching produced.
pub enum Fetched {
    /// The remote head is the stored artifact's revision.
    UpToDate,
    /// A new artifact was stored.
    Stored(Artifact),
}

impl Reconcile for GitRepository {
    type Status = GitRepositoryStatus;
    type Outcome = Result<Fetched, Failure>;
    const ORIGIN: Origin = Origin::Source;
    const FINALIZES: bool = true;

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn interval(&self) -> Duration {
        self.spec
            .interval
            .to_std()
            .unwrap_or(Duration::from_secs(60))
    }

    async fn run(&self, ctx: &Context) -> Self::Outcome {
        fetch(self, ctx).await
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, outcome)
    }

    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        match outcome {
            Ok(Fetched::Stored(artifact)) => Some((
                "NewArtifact",
                format!("stored artifact for revision '{}'", artifact.revision),
            )),
            _ => None,
        }
    }

    /// A new artifact is in status: extractions nobody points at go, and health waits on the
    /// old revision are cancelled.
    fn after_status_written(&self, ctx: &Context, outcome: &Self::Outcome) {
        if let Ok(Fetched::Stored(artifact)) = outcome {
            crate::sources::forget_unreferenced_extractions(ctx, artifact);
            ctx.health_waits.cancel_for_source(&ObjectKey::of(self));
        }
    }

    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        ctx.newest_sources
            .forget(&self.namespace().unwrap_or_default(), &self.name_any());
        artifacts::remove_all(ctx, &owner_of(self));
        Ok(())
    }
}

async fn fetch(repo: &GitRepository, ctx: &Context) -> Result<Fetched, Failure> {
    let spec = clone_spec(&ctx.client, repo)
        .await
        .map_err(|error| match error {
            CloneSpecError::Auth { source, .. } => git_failure(source),
            other => Failure::new(
                source_conditions::reasons::AUTHENTICATION_FAILED,
                other.to_string(),
            ),
        })?;
    let (url, reference, auth, timeout) = (&spec.url, &spec.checkout, &spec.auth, spec.timeout);
    let head = tether_source::remote_head(url, reference, auth, timeout)
        .await
        .map_err(git_failure)?;
    if artifact_is_current(repo, ctx, &head.to_string()) {
        return Ok(Fetched::UpToDate);
    }
    let checkout_dir = tempfile::Builder::new()
        .prefix(".checkout-")
        .tempdir_in(artifacts::store_root(ctx)?)
        .map_err(storage_failure)?;
    let checkout = tether_source::checkout(url, reference, auth, timeout, checkout_dir.path())
        .await
        .map_err(git_failure)?;
    let owner = owner_of(repo);
    let store = ctx.workspace.store().clone();
    let ignore = repo.spec.ignore.clone();
    let retention = ctx.options.artifact_retention;
    let stored = tokio::task::spawn_blocking(move || {
        let artifact = store.archive_checkout(&owner, &checkout, ignore.as_deref())?;
        store.garbage_collect(&owner, &artifact, retention)?;
        Ok::<_, tether_source::artifact::ArtifactError>(artifact)
    })
    .await
    .map_err(storage_failure)?
    .map_err(artifact_failure)?;
    Ok(Fetched::Stored(artifacts::advertised(ctx, stored, None)))
}

/// The stored artifact is still right when it is at `head`, its file exists, and the spec did
/// not change what goes into it.
fn artifact_is_current(repo: &GitRepository, ctx: &Context, head: &str) -> bool {
    let Some(status) = &repo.status else {
        return false;
    };
    let Some(artifact) = &status.artifact else {
        return false;
    };
    artifact.revision == head
        && status.observed_generation == repo.meta().generation
        && status.observed_ignore == repo.spec.ignore
        && ctx.workspace.store().root().join(&artifact.path).is_file()
}

fn owner_of(repo: &GitRepository) -> ArtifactOwner {
    ArtifactOwner::new(
        "GitRepository",
        &repo.namespace().unwrap_or_default(),
        &repo.name_any(),
    )
}

/// Flux's reason for a failed git operation: a bad URL or unusable credentials are named as
/// such (and terminal, as are bad references); anything else failed the operation.
fn git_failure(error: tether_source::GitError) -> Failure {
    use tether_source::GitError;
    let reason = match &error {
        GitError::InvalidUrl { .. } => source_conditions::reasons::URL_INVALID,
        GitError::InvalidAuth { .. } => source_conditions::reasons::AUTHENTICATION_FAILED,
        _ => source_conditions::reasons::GIT_OPERATION_FAILED,
    };
    Failure::new(reason, error.to_string()).terminal_if(error.is_terminal())
}

fn next_status(repo: &GitRepository, outcome: &Result<Fetched, Failure>) -> GitRepositoryStatus {
    let mut status = repo.status.clone().unwrap_or_default();
    let generation = repo.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    if let Ok(Fetched::Stored(artifact)) = outcome {
        status.artifact = Some(artifact.clone());
        status.observed_ignore = repo.spec.ignore.clone();
    }
    let stored = status.artifact.as_ref().map(|a| a.revision.as_str());
    let result = match outcome {
        Ok(_) => Ok(format!(
            "stored artifact for revision '{}'",
            stored.unwrap_or_default()
        )),
        Err(failure) => Err(failure),
    };
    if artifacts::record_fetch(&mut conditions, result) {
        status.observed_generation = generation;
    }
    status.conditions = Some(conditions.into_sorted());
    if let Some(requested) = requested_at(repo) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::now;
    use tether_api::meta::conditions::{READY, STALLED, find, is_true};

    fn repo() -> GitRepository {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "flux-system", "generation": 3},
            "spec": {"url": "https://example.invalid/app", "interval": "1m"}
        }))
        .expect("a valid GitRepository")
    }

    fn artifact(revision: &str) -> Artifact {
        Artifact {
            digest: "sha256:00".into(),
            url: "http://storage/app.tar.gz".into(),
            path: "gitrepository/flux-system/app/00.tar.gz".into(),
            revision: revision.into(),
            last_update_time: now(),
            size: Some(1),
            metadata: None,
        }
    }

    #[test]
    fn a_stored_artifact_is_ready_at_its_revision_and_observes_the_generation() {
        let status = next_status(&repo(), &Ok(Fetched::Stored(artifact("main@sha1:abc"))));
        let conditions = status.conditions.as_deref().unwrap_or_default();
        let ready = find(conditions, READY).expect("Ready");
        assert_eq!(
            ready.message,
            "stored artifact for revision 'main@sha1:abc'"
        );
        assert!(is_true(conditions, source_conditions::ARTIFACT_IN_STORAGE));
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(
            status.artifact.map(|a| a.revision).as_deref(),
            Some("main@sha1:abc")
        );
    }

    #[test]
    fn a_terminal_failure_stalls_and_keeps_the_last_artifact() {
        let mut stored = repo();
        stored.status = Some(next_status(
            &stored,
            &Ok(Fetched::Stored(artifact("main@sha1:abc"))),
        ));
        let failure = Failure::terminal("URLInvalid", "invalid git URL");
        let status = next_status(&stored, &Err(failure));
        let conditions = status.conditions.as_deref().unwrap_or_default();
        assert!(!is_true(conditions, READY));
        assert!(is_true(conditions, STALLED));
        assert!(is_true(conditions, source_conditions::FETCH_FAILED));
        assert_eq!(
            status.artifact.map(|a| a.revision).as_deref(),
            Some("main@sha1:abc")
        );
    }

    #[test]
    fn a_transient_failure_is_not_stalled() {
        let failure = Failure::new("GitOperationFailed", "connection refused");
        let status = next_status(&repo(), &Err(failure));
        let conditions = status.conditions.as_deref().unwrap_or_default();
        assert!(!is_true(conditions, READY));
        assert!(find(conditions, STALLED).is_none());
        assert_eq!(status.observed_generation, None);
    }
}
