//! The HelmRepository reconciler's steps, as source-controller v1's: for `type: default`, fetch
//! `index.yaml` (asking the server whether it changed since the last fetch, so an unchanged
//! index is neither downloaded nor parsed again), store it as `index-<sha256>.yaml` with the
//! revision `sha256:<hex>` of the index as served, keep its parsed form in memory for the
//! HelmCharts, and garbage-collect old artifacts. A `type: oci` repository is static, as in
//! Flux v1: no artifact, an empty status. The HTTP work is `tether-source`'s `helm_repo`.

use crate::artifacts;
use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::helm_source::{collect_garbage, human_size, repo_options};
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, Next, Reconcile};
use crate::status::{ConditionSet, requested_at};
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tether_api::meta::Artifact;
use tether_api::meta::conditions::reasons as meta_reasons;
use tether_api::source::conditions::reasons;
use tether_api::source::v1::{HelmRepository, HelmRepositoryStatus, HelmRepositoryType};
use tether_source::artifact::ArtifactOwner;
use tether_source::helm_repo::{HelmRepoClient, HelmRepoError, IndexFetch};

/// What indexing produced.
pub enum Indexed {
    /// An OCI repository: nothing to fetch (Flux v1 keeps them static).
    Static,
    /// The index is the stored artifact's.
    UpToDate,
    /// A new index was stored; its size as served.
    Stored(Artifact, u64),
}

impl Reconcile for HelmRepository {
    type Status = HelmRepositoryStatus;
    type Outcome = Result<Indexed, Failure>;
    const ORIGIN: Origin = Origin::Source;
    const FINALIZES: bool = true;

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn interval(&self) -> Duration {
        self.spec
            .effective_interval()
            .unwrap_or(tether_api::source::v1::DEFAULT_HELM_REPOSITORY_INTERVAL)
    }

    async fn run(&self, ctx: &Context) -> Self::Outcome {
        if self.spec.type_or_default() == HelmRepositoryType::Oci {
            return Ok(Indexed::Static);
        }
        index(self, ctx).await
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, outcome)
    }

    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        match outcome {
            Ok(Indexed::Stored(_, size)) => Some((
                "NewArtifact",
                format!(
                    "stored fetched index of size {} from '{}'",
                    human_size(*size),
                    self.spec.url
                ),
            )),
            _ => None,
        }
    }

    fn next_run(&self, ctx: &Context, outcome: &Self::Outcome) -> Next {
        match outcome {
            Ok(Indexed::Static) => Next::AwaitChange,
            _ => crate::reconcile::usual_next_run(self, &ctx.options, outcome.as_ref().err()),
        }
    }

    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        ctx.helm_indexes.forget(&ObjectKey::of(self));
        ctx.newest_helm_repositories
            .forget(&self.namespace().unwrap_or_default(), &self.name_any());
        artifacts::remove_all(ctx, &owner_of(self));
        Ok(())
    }
}

async fn index(repo: &HelmRepository, ctx: &Context) -> Result<Indexed, Failure> {
    if repo.spec.url.starts_with("oci://") {
        return Err(Failure::terminal(
            reasons::URL_INVALID,
            "invalid Helm repository URL: 'oci' URL scheme cannot be used with 'default' HelmRepository type",
        ));
    }
    let options = repo_options(ctx, repo).await?;
    let client = HelmRepoClient::new(options).map_err(|e| match e {
        HelmRepoError::InvalidUrl { .. } => url_failure(e),
        other => Failure::terminal(
            meta_reasons::FAILED,
            format!("failed to construct Helm client: {other}"),
        ),
    })?;
    let key = ObjectKey::of(repo);
    let current = current_artifact(repo, ctx);
    let validator = current.and_then(|a| ctx.helm_indexes.validator(&key, &a.revision));
    let work = tempfile::Builder::new()
        .prefix(".index-")
        .tempfile_in(artifacts::store_root(ctx)?)
        .map_err(artifacts::storage_failure)?;
    let fetched = match client
        .fetch_index(&repo.spec.url, validator.as_ref(), work.path())
        .await
        .map_err(fetch_failure)?
    {
        IndexFetch::NotModified => return Ok(Indexed::UpToDate),
        IndexFetch::Fetched(fetched) => fetched,
    };
    let index = Arc::new(fetched.index);
    let revision = fetched.digest;
    if current.is_some_and(|a| a.revision == revision) {
        ctx.helm_indexes
            .remember(key, &revision, Some(fetched.validator), index);
        return Ok(Indexed::UpToDate);
    }
    let owner = owner_of(repo);
    let store = ctx.workspace.store().clone();
    let retention = ctx.options.artifact_retention;
    let file_name = format!("index-{}.yaml", revision.trim_start_matches("sha256:"));
    let (stored_revision, path) = (revision.clone(), work.path().to_path_buf());
    let stored = tokio::task::spawn_blocking(move || {
        let stored = store.store_file(&owner, &stored_revision, &file_name, &path)?;
        collect_garbage(store.root(), &owner, &stored.path, retention);
        Ok::<_, tether_source::ArtifactError>(stored)
    })
    .await
    .map_err(artifacts::storage_failure)?
    .map_err(|e| {
        Failure::new(
            tether_api::source::conditions::STORAGE_OPERATION_FAILED,
            format!("unable to save artifact to storage: {e}"),
        )
    })?;
    ctx.helm_indexes
        .remember(key, &revision, Some(fetched.validator), index);
    Ok(Indexed::Stored(
        artifacts::advertised(ctx, stored, None),
        fetched.size,
    ))
}

/// The artifact in status, when its file is still in storage.
fn current_artifact<'a>(repo: &'a HelmRepository, ctx: &Context) -> Option<&'a Artifact> {
    let artifact = repo.status.as_ref()?.artifact.as_ref()?;
    let stored = ctx.workspace.store().root().join(&artifact.path).is_file();
    (stored && repo.status.as_ref()?.observed_generation == repo.meta().generation)
        .then_some(artifact)
}

fn url_failure(error: HelmRepoError) -> Failure {
    Failure::terminal(
        reasons::URL_INVALID,
        format!("invalid Helm repository URL: {error}"),
    )
}

/// Flux's reasons for a failed fetch: a bad URL stalls, an index that does not parse is an
/// indexation failure, anything else (refused credentials included) failed the fetch.
fn fetch_failure(error: HelmRepoError) -> Failure {
    match error {
        HelmRepoError::InvalidUrl { .. } => url_failure(error),
        HelmRepoError::Index(e) => Failure::new(
            reasons::INDEXATION_FAILED,
            format!("failed to load Helm repository from index YAML: {e}"),
        ),
        HelmRepoError::Write { .. } => artifacts::storage_failure(error),
        other => {
            let terminal = other.is_terminal();
            Failure::new(
                meta_reasons::FAILED,
                format!("failed to fetch Helm repository index: failed to cache index to temporary file: {other}"),
            )
            .terminal_if(terminal)
        }
    }
}

pub(crate) fn owner_of(repo: &HelmRepository) -> ArtifactOwner {
    ArtifactOwner::new(
        "HelmRepository",
        &repo.namespace().unwrap_or_default(),
        &repo.name_any(),
    )
}

fn next_status(repo: &HelmRepository, outcome: &Result<Indexed, Failure>) -> HelmRepositoryStatus {
    if let Ok(Indexed::Static) = outcome {
        return HelmRepositoryStatus::default();
    }
    let mut status = repo.status.clone().unwrap_or_default();
    let generation = repo.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    if let Ok(Indexed::Stored(artifact, _)) = outcome {
        status.url = Some(artifact.url.clone());
        status.artifact = Some(artifact.clone());
    }
    let stored = status.artifact.as_ref().map(|a| a.revision.as_str());
    let result = match outcome {
        Ok(_) => Ok(format!(
            "stored artifact: revision '{}'",
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
    use tether_api::meta::conditions::{READY, find};

    fn repo(kind: &str) -> HelmRepository {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "charts", "namespace": "flux-system", "generation": 2},
            "spec": {"url": "https://charts.example.invalid", "type": kind},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                "message": "old", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .expect("a valid HelmRepository")
    }

    #[test]
    fn an_oci_repository_is_static_with_an_empty_status() {
        let status = next_status(&repo("oci"), &Ok(Indexed::Static));
        assert_eq!(status, HelmRepositoryStatus::default());
    }

    #[test]
    fn a_failed_fetch_keeps_the_message_of_flux() {
        let failure = fetch_failure(HelmRepoError::Unauthorized {
            url: "https://charts.example.invalid/index.yaml".into(),
            status: 401,
        });
        let status = next_status(&repo("default"), &Err(failure));
        let conditions = status.conditions.as_deref().unwrap_or_default();
        let ready = find(conditions, READY).expect("Ready");
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, "Failed");
        assert!(
            ready
                .message
                .starts_with("failed to fetch Helm repository index: "),
            "{}",
            ready.message
        );
        assert!(ready.message.contains("401"), "{}", ready.message);
    }
}
