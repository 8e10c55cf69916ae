//! The GitRepository reconciler: asks the remote for the ref's head, fetches and packs a new
//! artifact only when the head moved (or the spec changed), garbage-collects old artifacts, and
//! reports the outcome in status and events. The git work itself is `tether-source`'s.

use crate::context::Context;
use crate::events::Origin;
use crate::status::{ConditionSet, now, requested_at, write_status_if_changed};
use crate::triggers::{fingerprint, with_jitter};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tether_api::meta::{Artifact, FINALIZER};
use tether_api::source::conditions as source_conditions;
use tether_api::source::v1::{GitRepository, GitRepositoryStatus};
use tether_source::artifact::ArtifactOwner;
use tether_source::{GitAuth, GitReference};

/// Default `spec.timeout` of a GitRepository.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a GitRepository reconcile could not even write its status.
#[derive(Debug, thiserror::Error)]
pub enum GitRepositoryError {
    /// Talking to the API server failed.
    #[error("GitRepository {name}: {source}")]
    Kube { name: String, source: kube::Error },
    /// The finalizer machinery failed.
    #[error("GitRepository finalizer: {0}")]
    Finalizer(String),
}

/// What fetching produced.
enum Fetched {
    /// The remote head is the stored artifact's revision.
    UpToDate,
    /// A new artifact was stored.
    Stored(Artifact),
}

/// A failed fetch, already in Flux's condition vocabulary.
struct FetchFailure {
    reason: &'static str,
    message: String,
    terminal: bool,
}

pub async fn reconcile(
    repo: Arc<GitRepository>,
    ctx: Arc<Context>,
) -> Result<Action, GitRepositoryError> {
    let namespace = repo.namespace().unwrap_or_default();
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let inner = ctx.clone();
    let finalized = finalizer(&api, FINALIZER, repo, |event| async move {
        match event {
            Finalizer::Apply(repo) => Ok(reconcile_live(&repo, &inner).await),
            Finalizer::Cleanup(repo) => Ok(remove_artifacts(&repo, &inner)),
        }
    })
    .await;
    crate::finalizers::absorb_stale_cache(finalized).map_err(
        |e: kube::runtime::finalizer::Error<GitRepositoryError>| {
            GitRepositoryError::Finalizer(e.to_string())
        },
    )
}

pub fn error_policy(
    _repo: Arc<GitRepository>,
    error: &GitRepositoryError,
    ctx: Arc<Context>,
) -> Action {
    tracing::warn!(%error, "GitRepository reconcile failed");
    Action::requeue(ctx.options.default_retry)
}

fn remove_artifacts(repo: &GitRepository, ctx: &Context) -> Action {
    ctx.schedule.forget(&source_key(repo));
    ctx.newest_sources
        .forget(&repo.namespace().unwrap_or_default(), &repo.name_any());
    let owner = owner_of(repo);
    let dir = ctx.workspace.store().root().join(owner.dir());
    if let Err(error) = std::fs::remove_dir_all(&dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, dir = %dir.display(), "cannot remove artifacts");
    }
    Action::await_change()
}

async fn reconcile_live(repo: &GitRepository, ctx: &Context) -> Action {
    if repo.spec.suspend == Some(true) {
        return Action::await_change();
    }
    let interval = repo
        .spec
        .interval
        .to_std()
        .unwrap_or(Duration::from_secs(60));
    let key = source_key(repo);
    let inputs = fingerprint(&[&repo.meta().generation, &requested_at(repo)]);
    if let Some(wait) = ctx.schedule.wait_before_run(&key, inputs) {
        return Action::requeue(wait);
    }
    let started = Instant::now();
    let outcome = fetch(repo, ctx).await;
    let status = next_status(repo, &outcome);
    let api: Api<GitRepository> =
        Api::namespaced(ctx.client.clone(), &repo.namespace().unwrap_or_default());
    if let Err(error) = write_status_if_changed(&api, repo, repo.status.as_ref(), &status).await {
        tracing::warn!(%error, name = %repo.name_any(), "cannot write GitRepository status");
        return Action::requeue(ctx.options.default_retry);
    }
    if let Ok(Fetched::Stored(_)) = &outcome {
        forget_unreferenced_extractions(ctx, &status);
        ctx.health_waits.cancel_for_source(&key);
    }
    record_outcome(repo, ctx, &outcome, started).await;
    let next = match outcome {
        Ok(_) => with_jitter(interval, &key),
        Err(_) => interval.min(ctx.options.default_retry),
    };
    ctx.schedule.ran(&key, inputs, next);
    Action::requeue(next)
}

/// `GitRepository/<namespace>/<name>`, the key Kustomizations use for their source.
fn source_key(repo: &GitRepository) -> String {
    format!(
        "GitRepository/{}/{}",
        repo.namespace().unwrap_or_default(),
        repo.name_any()
    )
}

async fn fetch(repo: &GitRepository, ctx: &Context) -> Result<Fetched, FetchFailure> {
    let namespace = repo.namespace().unwrap_or_default();
    let auth = load_auth(repo, ctx, &namespace).await?;
    let reference = reference_of(repo);
    let timeout = match &repo.spec.timeout {
        Some(t) => t.to_std().unwrap_or(DEFAULT_TIMEOUT),
        None => DEFAULT_TIMEOUT,
    };
    let url = &repo.spec.url;
    let head = tether_source::remote_head(url, &reference, &auth, timeout)
        .await
        .map_err(git_failure)?;
    if artifact_is_current(repo, ctx, &head.to_string()) {
        return Ok(Fetched::UpToDate);
    }
    let checkout_dir = tempfile::Builder::new()
        .prefix(".checkout-")
        .tempdir_in(ensure_dir(ctx.workspace.store().root())?)
        .map_err(storage_failure)?;
    let checkout = tether_source::checkout(url, &reference, &auth, timeout, checkout_dir.path())
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
    .map_err(|e| FetchFailure {
        reason: e.reason(),
        message: e.to_string(),
        terminal: false,
    })?;
    Ok(Fetched::Stored(Artifact {
        digest: stored.digest,
        url: format!(
            "{}/{}",
            ctx.options.artifact_base_url.trim_end_matches('/'),
            stored.path
        ),
        path: stored.path,
        revision: stored.revision,
        last_update_time: now(),
        size: i64::try_from(stored.size).ok(),
        metadata: None,
    }))
}

/// Extracted trees of artifacts no GitRepository points at any more are deleted.
fn forget_unreferenced_extractions(ctx: &Context, fresh: &GitRepositoryStatus) {
    let mut digests: Vec<String> = ctx
        .git_repositories
        .state()
        .iter()
        .filter_map(|r| {
            r.status
                .as_ref()?
                .artifact
                .as_ref()
                .map(|a| a.digest.clone())
        })
        .collect();
    digests.extend(fresh.artifact.as_ref().map(|a| a.digest.clone()));
    ctx.workspace.retain(&digests);
}

fn ensure_dir(dir: &std::path::Path) -> Result<&std::path::Path, FetchFailure> {
    std::fs::create_dir_all(dir).map_err(storage_failure)?;
    Ok(dir)
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

async fn load_auth(
    repo: &GitRepository,
    ctx: &Context,
    namespace: &str,
) -> Result<GitAuth, FetchFailure> {
    let Some(secret_ref) = &repo.spec.secret_ref else {
        return Ok(GitAuth::default());
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = secrets
        .get_opt(&secret_ref.name)
        .await
        .map_err(|e| FetchFailure {
            reason: source_conditions::reasons::AUTHENTICATION_FAILED,
            message: format!(
                "failed to get secret '{namespace}/{}': {e}",
                secret_ref.name
            ),
            terminal: false,
        })?;
    let Some(secret) = secret else {
        return Err(FetchFailure {
            reason: source_conditions::reasons::AUTHENTICATION_FAILED,
            message: format!(
                "failed to get secret '{namespace}/{}': secrets \"{}\" not found",
                secret_ref.name, secret_ref.name
            ),
            terminal: false,
        });
    };
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    GitAuth::from_secret_data(&data).map_err(git_failure)
}

fn reference_of(repo: &GitRepository) -> GitReference {
    git_reference(repo.spec.reference.as_ref())
}

/// The engine's reference for an API `ref` (the default branch when there is none).
pub(crate) fn git_reference(
    reference: Option<&tether_api::source::v1::GitRepositoryRef>,
) -> GitReference {
    let mut out = GitReference::default();
    if let Some(r) = reference {
        out.branch = r.branch.clone();
        out.tag = r.tag.clone();
        out.semver = r.semver.clone();
        out.name = r.name.clone();
        out.commit = r.commit.clone();
    }
    out
}

fn owner_of(repo: &GitRepository) -> ArtifactOwner {
    ArtifactOwner::new(
        "GitRepository",
        &repo.namespace().unwrap_or_default(),
        &repo.name_any(),
    )
}

fn git_failure(error: tether_source::GitError) -> FetchFailure {
    FetchFailure {
        reason: error.reason(),
        message: error.to_string(),
        terminal: error.is_terminal(),
    }
}

fn storage_failure(error: impl std::fmt::Display) -> FetchFailure {
    FetchFailure {
        reason: source_conditions::STORAGE_OPERATION_FAILED,
        message: format!("storage operation failed: {error}"),
        terminal: false,
    }
}

fn next_status(
    repo: &GitRepository,
    outcome: &Result<Fetched, FetchFailure>,
) -> GitRepositoryStatus {
    let mut status = repo.status.clone().unwrap_or_default();
    let generation = repo.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    match outcome {
        Ok(fetched) => {
            if let Fetched::Stored(artifact) = fetched {
                status.artifact = Some(artifact.clone());
            }
            let revision = status
                .artifact
                .as_ref()
                .map(|a| a.revision.clone())
                .unwrap_or_default();
            let message = format!("stored artifact for revision '{revision}'");
            conditions.set(
                source_conditions::ARTIFACT_IN_STORAGE,
                true,
                "Succeeded",
                message.clone(),
            );
            conditions.remove(source_conditions::FETCH_FAILED);
            conditions.ready("Succeeded", message);
            status.observed_generation = generation;
            status.observed_ignore = repo.spec.ignore.clone();
        }
        Err(failure) => {
            conditions.set(
                source_conditions::FETCH_FAILED,
                true,
                failure.reason,
                failure.message.clone(),
            );
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            if failure.terminal {
                status.observed_generation = generation;
            }
        }
    }
    status.conditions = Some(conditions.into_sorted());
    if let Some(requested) = requested_at(repo) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

async fn record_outcome(
    repo: &GitRepository,
    ctx: &Context,
    outcome: &Result<Fetched, FetchFailure>,
    started: Instant,
) {
    let result = match outcome {
        Ok(Fetched::Stored(artifact)) => {
            let note = format!("stored artifact for revision '{}'", artifact.revision);
            ctx.events
                .publish(Origin::Source, repo, false, "NewArtifact", note)
                .await;
            "success"
        }
        Ok(Fetched::UpToDate) => "success",
        Err(failure) => {
            let unchanged = repo
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    tether_api::meta::conditions::find(c, tether_api::meta::conditions::READY)
                        .is_some_and(|r| r.message == failure.message)
                });
            if !unchanged {
                ctx.events
                    .publish(
                        Origin::Source,
                        repo,
                        true,
                        failure.reason,
                        failure.message.clone(),
                    )
                    .await;
            }
            "error"
        }
    };
    ctx.metrics.observe(
        "GitRepository",
        repo,
        "gitrepository",
        result,
        started.elapsed(),
    );
}
