//! The GitRepository reconciler's steps: ask the remote for the ref's head, fetch and pack a new
//! artifact only when the head moved (or the spec or an include changed), check submodules out
//! (`spec.recurseSubmodules`), verify the checkout's signatures (`spec.verify`), copy the
//! includes in (`spec.include`), garbage-collect old artifacts, and say what changed. A checkout
//! that fails verification is never packed: the last verified artifact stays, and
//! `SourceVerified=False` names the commit and the cause. When the branch moves, the new
//! artifact's status write wakes the Kustomizations built from it and cancels their health
//! waits on the old revision. The git work itself is `tether-source`'s; the loop around these
//! steps is the driver's.

mod include;
mod verify;

use crate::artifacts::{self, artifact_failure, storage_failure};
use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::git_source::{CloneSpecError, clone_spec};
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, Reconcile, RunOutcome};
use crate::status::{ConditionSet, requested_at};
use kube::runtime::controller::Controller;
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tether_api::meta::Artifact;
use tether_api::source::conditions as source_conditions;
use tether_api::source::v1::{GitRepository, GitRepositoryStatus};
use tether_source::artifact::ArtifactOwner;
use verify::Verified;

/// What fetching produced.
pub enum Fetched {
    /// The remote head is the stored artifact's revision.
    UpToDate,
    /// A new artifact was stored.
    Stored(Box<Stored>),
}

/// A new artifact and what went into it.
pub struct Stored {
    pub artifact: Artifact,
    /// The verification it passed (`None` with `spec.verify` unset).
    pub verified: Option<Verified>,
    /// The included artifacts, in `spec.include` order.
    pub included: Vec<Artifact>,
}

/// Which step failed: each reports on its own condition, as in source-controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Credentials, the remote, the checkout: `FetchFailed`.
    Fetch,
    /// `spec.verify`: `SourceVerified=False`.
    Verify,
    /// An included GitRepository is missing or has no artifact: `IncludeUnavailable`.
    Include,
    /// Copying includes or packing the artifact: `StorageOperationFailed`.
    Storage,
}

/// A failed run and the step it failed in.
pub struct StepFailure {
    pub step: Step,
    pub failure: Failure,
}

impl From<Failure> for StepFailure {
    fn from(failure: Failure) -> Self {
        Self {
            step: Step::Fetch,
            failure,
        }
    }
}

fn failed_in(step: Step) -> impl FnOnce(Failure) -> StepFailure {
    move |failure| StepFailure { step, failure }
}

/// The GitRepository's outcome: what the steps produced, and the status written while they
/// ran (an include change is reported before the new artifact is built), if one was.
pub struct Outcome {
    pub result: Result<Fetched, StepFailure>,
    pub progress: Option<GitRepositoryStatus>,
}

impl RunOutcome for Outcome {
    fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err().map(|e| &e.failure)
    }
}

impl Reconcile for GitRepository {
    type Status = GitRepositoryStatus;
    type Outcome = Outcome;
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

    /// The generation, `requestedAt`, and the digests of the included artifacts: a new
    /// artifact of an included repository makes a new artifact here before the interval is up.
    fn inputs(&self, ctx: &Context) -> Option<u64> {
        let requested = requested_at(self);
        let included = include::cached_digests(self, &ctx.git_repositories);
        Some(crate::triggers::fingerprint(&[
            &self.meta().generation,
            &requested,
            &included,
        ]))
    }

    async fn run(&self, ctx: &Context) -> Self::Outcome {
        let mut progress = None;
        let result = fetch(self, ctx, &mut progress).await;
        Outcome { result, progress }
    }

    /// A GitRepository's change wakes the GitRepositories that include it.
    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        let namespace = ctx.options.watch_namespace.as_deref();
        let watch = kube::runtime::watcher::Config::default().any_semantic();
        let store = ctx.git_repositories.clone();
        controller.watches(
            crate::reconcile::api_in::<GitRepository>(&ctx.client, namespace),
            watch,
            move |included| include::includers_of(&store, &included),
        )
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn status_before<'a>(&'a self, outcome: &'a Self::Outcome) -> Option<&'a Self::Status> {
        outcome.progress.as_ref().or(self.status.as_ref())
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, &outcome.result)
    }

    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        match &outcome.result {
            Ok(Fetched::Stored(stored)) => Some((
                "NewArtifact",
                format!(
                    "stored artifact for revision '{}'",
                    stored.artifact.revision
                ),
            )),
            _ => None,
        }
    }

    /// A new artifact is in status: extractions nobody points at go, and health waits on the
    /// old revision are cancelled.
    fn after_status_written(&self, ctx: &Context, outcome: &Self::Outcome) {
        if let Ok(Fetched::Stored(stored)) = &outcome.result {
            crate::sources::forget_unreferenced_extractions(
                ctx,
                self.status.as_ref().and_then(|s| s.artifact.as_ref()),
                &stored.artifact,
            );
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

async fn fetch(
    repo: &GitRepository,
    ctx: &Context,
    progress: &mut Option<GitRepositoryStatus>,
) -> Result<Fetched, StepFailure> {
    let spec = clone_spec(&ctx.client, repo)
        .await
        .map_err(|error| match error {
            CloneSpecError::Auth { source, .. } => git_failure(source),
            other => Failure::new(
                source_conditions::reasons::AUTHENTICATION_FAILED,
                other.to_string(),
            ),
        })?;
    let included = include::included_artifacts(repo, ctx)
        .await
        .map_err(failed_in(Step::Include))?;
    if let Some(outdated) = include::outdated_status(repo, &included) {
        *progress = write_progress(repo, ctx, outdated).await;
    }
    let (url, reference, auth, timeout) = (&spec.url, &spec.checkout, &spec.auth, spec.timeout);
    let checkout_dir = tempfile::Builder::new()
        .prefix(".checkout-")
        .tempdir_in(artifacts::store_root(ctx).map_err(failed_in(Step::Storage))?)
        .map_err(storage_failure)
        .map_err(failed_in(Step::Storage))?;
    // One connection asks for the head and, only when it moved, fetches it.
    let stored = stored_revision_if_current(repo, ctx, &included);
    let is_current =
        move |head: &tether_source::Revision| stored.as_deref() == Some(head.to_string().as_str());
    let fetched = tether_source::checkout_if_moved(
        url,
        reference,
        auth,
        timeout,
        checkout_dir.path(),
        is_current,
    )
    .await
    .map_err(git_failure)?;
    let checkout = match fetched {
        tether_source::FetchOutcome::UpToDate(_) => return Ok(Fetched::UpToDate),
        tether_source::FetchOutcome::CheckedOut(checkout) => checkout,
    };
    if repo.spec.recurse_submodules == Some(true) {
        tether_source::submodule::checkout_submodules(&checkout, url, auth, timeout)
            .await
            .map_err(git_failure)?;
    }
    if let Some(dirs) = repo.spec.sparse_checkout.clone() {
        let dir = checkout.dir.clone();
        tokio::task::spawn_blocking(move || tether_source::sparse::narrow_to(&dir, &dirs))
            .await
            .map_err(storage_failure)?
            .map_err(|error| {
                Failure::new(
                    source_conditions::reasons::GIT_OPERATION_FAILED,
                    error.to_string(),
                )
            })?;
    }
    let verified = verify::verify(repo, ctx, &checkout)
        .await
        .map_err(failed_in(Step::Verify))?;
    let artifact = pack(repo, ctx, checkout, &included)
        .await
        .map_err(failed_in(Step::Storage))?;
    Ok(Fetched::Stored(Box::new(Stored {
        artifact,
        verified,
        included,
    })))
}

/// Writes `status` while the steps run; the status it wrote, or `None` (and a warning: the
/// final status still comes) when the write failed.
async fn write_progress(
    repo: &GitRepository,
    ctx: &Context,
    status: GitRepositoryStatus,
) -> Option<GitRepositoryStatus> {
    let api = kube::Api::<GitRepository>::namespaced(ctx.client.clone(), &repo.namespace()?);
    match crate::status::write_status_if_changed(&api, repo, repo.status.as_ref(), &status).await {
        Ok(_) => Some(status),
        Err(error) => {
            tracing::warn!(%error, object = %ObjectKey::of(repo), "cannot mark ArtifactOutdated");
            None
        }
    }
}

/// Copies the includes into the checkout, packs it and collects older artifacts.
async fn pack(
    repo: &GitRepository,
    ctx: &Context,
    checkout: tether_source::Checkout,
    included: &[Artifact],
) -> Result<Artifact, Failure> {
    let owner = owner_of(repo);
    let store = ctx.workspace.store().clone();
    let ignore = repo.spec.ignore.clone();
    let retention = ctx.options.artifact_retention;
    let copies = include::planned_copies(
        repo.spec.include.as_deref().unwrap_or_default(),
        included,
        store.root(),
    );
    let stored = tokio::task::spawn_blocking(move || {
        include::copy_all(&copies, &checkout.dir, store.root())?;
        let artifact = store
            .archive_checkout(&owner, &checkout, ignore.as_deref())
            .map_err(artifact_failure)?;
        store
            .garbage_collect(&owner, &artifact, retention)
            .map_err(artifact_failure)?;
        Ok::<_, Failure>(artifact)
    })
    .await
    .map_err(storage_failure)??;
    Ok(artifacts::advertised(ctx, stored, None))
}

/// The stored artifact's revision, when the artifact is still right for a remote at that
/// revision: its file exists, the spec did not change what goes into it, it was verified as
/// the spec asks, and its includes are unchanged.
fn stored_revision_if_current(
    repo: &GitRepository,
    ctx: &Context,
    included: &[Artifact],
) -> Option<String> {
    let status = repo.status.as_ref()?;
    let artifact = status.artifact.as_ref()?;
    let current = status.observed_generation == repo.meta().generation
        && status.observed_ignore == repo.spec.ignore
        && status.observed_recurse_submodules == repo.spec.recurse_submodules
        && status.observed_sparse_checkout == repo.spec.sparse_checkout
        && !verify::requires_verification(repo)
        && include::unchanged(repo, included)
        && ctx.workspace.store().root().join(&artifact.path).is_file();
    current.then(|| artifact.revision.clone())
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

fn next_status(
    repo: &GitRepository,
    outcome: &Result<Fetched, StepFailure>,
) -> GitRepositoryStatus {
    let mut status = repo.status.clone().unwrap_or_default();
    let generation = repo.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    // Observed while the run went on (an include change), never left after it.
    conditions.remove(source_conditions::ARTIFACT_OUTDATED);
    if let Ok(Fetched::Stored(stored)) = outcome {
        status.artifact = Some(stored.artifact.clone());
        status.observed_ignore = repo.spec.ignore.clone();
        status.included_artifacts = Some(stored.included.clone()).filter(|a| !a.is_empty());
        status.observed_include = repo.spec.include.clone();
        status.observed_recurse_submodules = repo.spec.recurse_submodules;
        status.observed_sparse_checkout = repo.spec.sparse_checkout.clone();
        verify::record_verified(&mut status, &mut conditions, stored.verified.as_ref());
    }
    record_step_conditions(&mut conditions, outcome);
    let stored = status.artifact.as_ref().map(|a| a.revision.as_str());
    let observed = match outcome {
        Ok(_) => artifacts::record_fetch(
            &mut conditions,
            Ok(format!(
                "stored artifact for revision '{}'",
                stored.unwrap_or_default()
            )),
        ),
        Err(StepFailure {
            step: Step::Fetch,
            failure,
        }) => artifacts::record_fetch(&mut conditions, Err(failure)),
        Err(StepFailure { failure, .. }) => {
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            failure.terminal
        }
    };
    if observed {
        status.observed_generation = generation;
    }
    status.conditions = Some(conditions.into_sorted());
    if let Some(requested) = requested_at(repo) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

/// The conditions each step owns besides Ready: `SourceVerified=False` names a failed
/// verification (a stale failure goes on the next run, a success stays), `IncludeUnavailable`
/// and `StorageOperationFailed` their failures; a checkout that got as far as verifying or
/// packing did not fail to fetch.
fn record_step_conditions(conditions: &mut ConditionSet, outcome: &Result<Fetched, StepFailure>) {
    let failed_step = outcome.as_ref().err().map(|e| (e.step, &e.failure));
    let verified = source_conditions::SOURCE_VERIFIED;
    match failed_step {
        Some((Step::Verify, failure)) => {
            conditions.set(verified, false, failure.reason, failure.message.clone())
        }
        _ if conditions
            .conditions
            .iter()
            .any(|c| c.type_ == verified && c.status == "False") =>
        {
            conditions.remove(verified)
        }
        _ => {}
    }
    match failed_step {
        Some((Step::Include, failure)) => conditions.set(
            source_conditions::INCLUDE_UNAVAILABLE,
            true,
            failure.reason,
            failure.message.clone(),
        ),
        _ => conditions.remove(source_conditions::INCLUDE_UNAVAILABLE),
    }
    match failed_step {
        Some((Step::Storage, failure)) => conditions.set(
            source_conditions::STORAGE_OPERATION_FAILED,
            true,
            failure.reason,
            failure.message.clone(),
        ),
        None => conditions.remove(source_conditions::STORAGE_OPERATION_FAILED),
        _ => {}
    }
    if matches!(failed_step, Some((Step::Verify | Step::Storage, _))) {
        conditions.remove(source_conditions::FETCH_FAILED);
    }
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

    fn stored(revision: &str, verified: Option<Verified>) -> Result<Fetched, StepFailure> {
        Ok(Fetched::Stored(Box::new(Stored {
            artifact: artifact(revision),
            verified,
            included: Vec::new(),
        })))
    }

    #[test]
    fn a_stored_artifact_is_ready_at_its_revision_and_observes_the_generation() {
        let status = next_status(&repo(), &stored("main@sha1:abc", None));
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
        let mut existing = repo();
        existing.status = Some(next_status(&existing, &stored("main@sha1:abc", None)));
        let failure = Failure::terminal("URLInvalid", "invalid git URL");
        let status = next_status(&existing, &Err(failure.into()));
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
        let status = next_status(&repo(), &Err(failure.into()));
        let conditions = status.conditions.as_deref().unwrap_or_default();
        assert!(!is_true(conditions, READY));
        assert!(find(conditions, STALLED).is_none());
        assert_eq!(status.observed_generation, None);
    }

    fn verified() -> Option<Verified> {
        Some(Verified {
            mode: tether_api::source::v1::GitVerificationMode::Head,
            message: "verified signature of\n\t- commit 'abc' with key 'K'".into(),
        })
    }

    #[test]
    fn a_failed_verification_keeps_the_verified_artifact_and_names_the_commit() {
        let mut existing = repo();
        existing.status = Some(next_status(&existing, &stored("main@sha1:abc", verified())));
        let message =
            "signature verification of commit 'def' failed: unsupported signature type: empty";
        let failure = Failure::new("InvalidCommitSignature", message);
        let status = next_status(&existing, &Err(failed_in(Step::Verify)(failure)));
        let conditions = status.conditions.as_deref().unwrap_or_default();
        let ready = find(conditions, READY).expect("Ready");
        assert_eq!(
            (
                ready.status.as_str(),
                ready.reason.as_str(),
                ready.message.as_str()
            ),
            ("False", "InvalidCommitSignature", message)
        );
        let verified = find(conditions, source_conditions::SOURCE_VERIFIED).expect("verified");
        assert_eq!(
            (verified.status.as_str(), verified.message.as_str()),
            ("False", message)
        );
        assert!(find(conditions, source_conditions::FETCH_FAILED).is_none());
        assert_eq!(
            status.artifact.as_ref().map(|a| a.revision.as_str()),
            Some("main@sha1:abc")
        );
        let fetch_failure = Failure::new("GitOperationFailed", "connection refused");
        existing.status = Some(status);
        let after = next_status(&existing, &Err(fetch_failure.into()));
        let conditions = after.conditions.as_deref().unwrap_or_default();
        assert!(find(conditions, source_conditions::SOURCE_VERIFIED).is_none());
    }

    #[test]
    fn a_verified_artifact_records_the_mode_and_an_unverified_one_clears_it() {
        let mut existing = repo();
        let status = next_status(&existing, &stored("main@sha1:abc", verified()));
        assert!(is_true(
            status.conditions.as_deref().unwrap_or_default(),
            source_conditions::SOURCE_VERIFIED
        ));
        assert!(status.source_verification_mode.is_some());
        existing.status = Some(status);
        let cleared = next_status(&existing, &stored("main@sha1:def", None));
        let conditions = cleared.conditions.as_deref().unwrap_or_default();
        assert!(find(conditions, source_conditions::SOURCE_VERIFIED).is_none());
        assert_eq!(cleared.source_verification_mode, None);
    }
}
