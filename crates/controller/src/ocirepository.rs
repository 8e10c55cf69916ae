//! The OCIRepository reconciler's steps, as source-controller's: resolve the reference (digest,
//! else the highest tag in a semver range, else a tag, `latest` by default) to a manifest
//! digest, pull only when that revision is not stored yet, take the selected layer (extract
//! the tarball or copy it as it is) into an artifact, and garbage-collect old artifacts. The
//! registry work is `tether-registry`'s; the loop around these steps is the driver's.

use crate::artifacts::{self, artifact_failure, storage_failure};
use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, Reconcile};
use crate::registry_access::{RegistryAccess, scan_options};
use crate::status::{ConditionSet, requested_at};
use kube::{Resource, ResourceExt};
use std::path::Path;
use std::time::Duration;
use tether_api::meta::Artifact;
use tether_api::source::conditions::reasons;
use tether_api::source::v1::{OCILayerOperation, OCIProvider, OCIRepository, OCIRepositoryStatus};
use tether_registry::{
    ArtifactManifest, Descriptor, ImageName, RegistryClient, RepositorySession, ScanError,
    ScanOptions,
};
use tether_source::artifact::ArtifactOwner;
use tether_source::semver_tag::{Constraint, latest_matching_tag};
use tether_source::sourceignore::SourceIgnore;
use tether_source::{ExtractLimits, extract_tarball_within};

/// The largest layer pulled (compressed).
const MAX_LAYER_BYTES: u64 = 256 * 1024 * 1024;
/// What an extracted layer may hold.
const EXTRACT_LIMITS: ExtractLimits = ExtractLimits {
    max_bytes: 1024 * 1024 * 1024,
    max_entries: 100_000,
};

/// What pulling produced.
pub enum Pulled {
    /// The resolved revision is the stored artifact's.
    UpToDate,
    /// A new artifact was stored.
    Stored(Artifact),
}

impl Reconcile for OCIRepository {
    type Status = OCIRepositoryStatus;
    type Outcome = Result<Pulled, Failure>;
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
        pull(self, ctx).await
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, outcome)
    }

    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        match outcome {
            Ok(Pulled::Stored(artifact)) => Some((
                "NewArtifact",
                format!(
                    "stored artifact with revision '{}' from '{}'",
                    artifact.revision, self.spec.url
                ),
            )),
            _ => None,
        }
    }

    /// A new artifact is in status: extractions nobody points at go, and health waits on the
    /// old revision are cancelled.
    fn after_status_written(&self, ctx: &Context, outcome: &Self::Outcome) {
        if let Ok(Pulled::Stored(artifact)) = outcome {
            crate::sources::forget_unreferenced_extractions(
                ctx,
                self.status.as_ref().and_then(|s| s.artifact.as_ref()),
                artifact,
            );
            ctx.health_waits.cancel_for_source(&ObjectKey::of(self));
        }
    }

    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        ctx.newest_oci_sources
            .forget(&self.namespace().unwrap_or_default(), &self.name_any());
        artifacts::remove_all(ctx, &owner_of(self));
        Ok(())
    }
}

async fn pull(repo: &OCIRepository, ctx: &Context) -> Result<Pulled, Failure> {
    refuse_unsupported(repo)?;
    let image = image_of(&repo.spec.url)?;
    let options = scan_options(&ctx.client, &access_of(repo), &image)
        .await
        .map_err(|message| {
            Failure::new(
                reasons::AUTHENTICATION_FAILED,
                format!("failed to configure authentication options: {message}"),
            )
        })?;
    let mut registry = Registry {
        client: &ctx.artifact_registry,
        image: &image,
        options: &options,
        session: None,
    };
    let revision = resolve_revision(repo, &mut registry).await?;
    if artifact_is_current(repo, ctx, &revision) {
        return Ok(Pulled::UpToDate);
    }
    let digest = digest_of(&revision);
    let manifest = registry
        .artifact_manifest(digest)
        .await
        .map_err(|e| pull_failure(&repo.spec.url, e))?;
    let layer = select_layer(repo, &manifest)?.clone();
    let work = tempfile::Builder::new()
        .prefix(".pull-")
        .tempdir_in(artifacts::store_root(ctx)?)
        .map_err(storage_failure)?;
    let blob = work.path().join("layer");
    registry
        .download_blob(&layer, MAX_LAYER_BYTES, &blob)
        .await
        .map_err(|e| pull_failure(&repo.spec.url, e))?;
    drop(registry);
    let stored = store_layer(repo, ctx, &revision, work.path(), &blob).await?;
    let metadata = Some(manifest.annotations).filter(|a| !a.is_empty());
    Ok(Pulled::Stored(artifacts::advertised(ctx, stored, metadata)))
}

/// The registry session of one pull, opened by the first step that asks the registry
/// something: the scheme, the `/v2/` ping and the authorization are settled once per pull
/// rather than once per request, and not at all when no step needs the registry.
struct Registry<'a> {
    client: &'a RegistryClient,
    image: &'a ImageName,
    options: &'a ScanOptions,
    session: Option<RepositorySession<'a>>,
}

impl<'a> Registry<'a> {
    async fn session(&mut self) -> Result<&mut RepositorySession<'a>, ScanError> {
        let session = match self.session.take() {
            Some(session) => session,
            None => {
                self.client
                    .open_repository(self.image, self.options)
                    .await?
            }
        };
        Ok(self.session.insert(session))
    }

    async fn list_tags(&mut self) -> Result<Vec<String>, ScanError> {
        self.session().await?.list_tags().await
    }

    async fn manifest_digest(&mut self, tag: &str) -> Result<String, ScanError> {
        self.session().await?.manifest_digest(tag).await
    }

    async fn artifact_manifest(&mut self, digest: &str) -> Result<ArtifactManifest, ScanError> {
        self.session().await?.artifact_manifest(digest).await
    }

    async fn download_blob(
        &mut self,
        layer: &Descriptor,
        max_bytes: u64,
        dest: &Path,
    ) -> Result<(), ScanError> {
        self.session()
            .await?
            .download_blob(layer, max_bytes, dest)
            .await
    }
}

/// Cloud providers and signature verification are refused rather than silently skipped.
fn refuse_unsupported(repo: &OCIRepository) -> Result<(), Failure> {
    let provider = repo.spec.provider.unwrap_or_default();
    if provider != OCIProvider::Generic {
        return Err(Failure::not_supported(&format!(
            "spec.provider '{provider}' (use the generic provider with spec.secretRef or spec.serviceAccountName)"
        )));
    }
    if repo.spec.verify.is_some() {
        return Err(Failure::not_supported(
            "spec.verify (artifact signature verification)",
        ));
    }
    if repo.spec.proxy_secret_ref.is_some() {
        return Err(Failure::not_supported("spec.proxySecretRef"));
    }
    Ok(())
}

/// The repository `url` names, without its `oci://` scheme; a tag or digest in the URL is an
/// error (the reference belongs in `spec.ref`), as in Flux.
fn image_of(url: &str) -> Result<ImageName, Failure> {
    let invalid = |message: String| Failure::terminal(reasons::URL_INVALID, message);
    let Some(rest) = url.strip_prefix("oci://") else {
        return Err(invalid(format!(
            "URL must be in format 'oci://<domain>/<org>/<repo>': '{url}'"
        )));
    };
    let last = rest.rsplit('/').next().unwrap_or_default();
    if rest.contains('@') || (rest.contains('/') && last.contains(':')) {
        return Err(invalid(format!(
            "URL must not contain a tag or digest; set spec.ref instead: '{url}'"
        )));
    }
    ImageName::parse(rest).map_err(|e| invalid(format!("invalid OCI URL '{url}': {e}")))
}

fn access_of(repo: &OCIRepository) -> RegistryAccess<'_> {
    RegistryAccess {
        namespace: repo.namespace().unwrap_or_default(),
        insecure: repo.spec.insecure == Some(true),
        timeout: repo.spec.timeout.as_ref().and_then(|t| t.to_std().ok()),
        secret_ref: repo.spec.secret_ref.as_ref().map(|s| s.name.as_str()),
        service_account: repo.spec.service_account_name.as_deref(),
        cert_secret_ref: repo.spec.cert_secret_ref.as_ref().map(|s| s.name.as_str()),
    }
}

/// Flux's revision of what `spec.ref` selects: `sha256:<hex>` for a digest, `<tag>@sha256:<hex>`
/// for a tag (also one chosen by semver).
async fn resolve_revision(
    repo: &OCIRepository,
    registry: &mut Registry<'_>,
) -> Result<String, Failure> {
    let reference = repo.spec.reference.clone().unwrap_or_default();
    if let Some(digest) = reference.digest.filter(|d| !d.is_empty()) {
        if !digest.starts_with("sha256:") {
            return Err(Failure::terminal(
                reasons::OCI_PULL_FAILED,
                format!("unsupported digest '{digest}': only sha256 digests are supported"),
            ));
        }
        return Ok(digest);
    }
    let tag = match reference.semver.filter(|s| !s.is_empty()) {
        Some(range) => {
            let filter = reference.semver_filter.filter(|f| !f.is_empty());
            tag_by_semver(registry, &range, filter.as_deref()).await?
        }
        None => reference
            .tag
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "latest".to_owned()),
    };
    let digest = registry.manifest_digest(&tag).await.map_err(|e| {
        let failure = pull_failure(&repo.spec.url, e);
        Failure {
            message: format!("failed to determine artifact digest: {}", failure.message),
            ..failure
        }
    })?;
    Ok(format!("{tag}@{digest}"))
}

/// The highest tag within `range` among the tags `filter` (a regular expression) keeps.
async fn tag_by_semver(
    registry: &mut Registry<'_>,
    range: &str,
    filter: Option<&str>,
) -> Result<String, Failure> {
    let invalid = |message: String| Failure::terminal(reasons::OCI_PULL_FAILED, message);
    let constraint = Constraint::parse(range)
        .map_err(|e| invalid(format!("semver '{range}' parse error: {e}")))?;
    let filter = filter.map(regex::Regex::new).transpose().map_err(|e| {
        invalid(format!(
            "semverFilter is not a valid regular expression: {e}"
        ))
    })?;
    let tags = registry
        .list_tags()
        .await
        .map_err(|e| pull_failure(&registry.image.canonical(), e))?;
    let kept = tags
        .iter()
        .map(String::as_str)
        .filter(|tag| filter.as_ref().is_none_or(|f| f.is_match(tag)));
    latest_matching_tag(kept, &constraint)
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::new(
                reasons::OCI_PULL_FAILED,
                format!(
                    "failed to determine artifact reference: no match found for semver: {range}"
                ),
            )
        })
}

/// The `sha256:<hex>` part of a revision.
fn digest_of(revision: &str) -> &str {
    revision.rsplit('@').next().unwrap_or(revision)
}

/// The stored artifact is still right when it is at `revision`, its file exists, and neither
/// the ignore rules nor the layer selector changed.
fn artifact_is_current(repo: &OCIRepository, ctx: &Context, revision: &str) -> bool {
    let Some(status) = &repo.status else {
        return false;
    };
    let Some(artifact) = &status.artifact else {
        return false;
    };
    artifact.revision == revision
        && status.observed_ignore == repo.spec.ignore
        && status.observed_layer_selector == repo.spec.layer_selector
        && ctx.workspace.store().root().join(&artifact.path).is_file()
}

/// The layer of the selected media type (the first layer when none is selected).
fn select_layer<'m>(
    repo: &OCIRepository,
    manifest: &'m ArtifactManifest,
) -> Result<&'m Descriptor, Failure> {
    let wanted = repo
        .spec
        .layer_selector
        .as_ref()
        .and_then(|s| s.media_type.as_deref())
        .filter(|m| !m.is_empty());
    let found = match wanted {
        Some(media_type) => manifest.layers.iter().find(|l| l.media_type == media_type),
        None => manifest.layers.first(),
    };
    found.ok_or_else(|| {
        let message = match wanted {
            Some(media_type) => {
                format!("failed to find layer with media type '{media_type}' in artifact")
            }
            None => "no layers found in artifact".to_owned(),
        };
        Failure::new(reasons::OCI_LAYER_OPERATION_FAILED, message)
    })
}

/// Stores the pulled layer as `<digest hex>.tar.gz`: extracted and archived again (honouring
/// `.sourceignore` and `spec.ignore`), or copied unchanged; then old artifacts are collected.
async fn store_layer(
    repo: &OCIRepository,
    ctx: &Context,
    revision: &str,
    work: &Path,
    blob: &Path,
) -> Result<tether_source::Artifact, Failure> {
    let owner = owner_of(repo);
    let store = ctx.workspace.store().clone();
    let operation = repo
        .spec
        .layer_selector
        .as_ref()
        .and_then(|s| s.operation)
        .unwrap_or_default();
    let ignore = repo.spec.ignore.clone();
    let retention = ctx.options.artifact_retention;
    let (revision, work, blob) = (revision.to_owned(), work.to_path_buf(), blob.to_path_buf());
    let file_name = format!(
        "{}.tar.gz",
        digest_of(&revision).trim_start_matches("sha256:")
    );
    tokio::task::spawn_blocking(move || {
        let stored = match operation {
            OCILayerOperation::Copy => store.store_file(&owner, &revision, &file_name, &blob),
            OCILayerOperation::Extract => {
                let dir = work.join("content");
                extract_tarball_within(&blob, &dir, EXTRACT_LIMITS).map_err(layer_failure)?;
                let filter = SourceIgnore::load(&dir, ignore.as_deref())
                    .map_err(|e| artifact_failure(e.into()))?;
                store.archive_dir(&owner, &revision, &file_name, &dir, &filter)
            }
        }
        .map_err(artifact_failure)?;
        store
            .garbage_collect(&owner, &stored, retention)
            .map_err(artifact_failure)?;
        Ok(stored)
    })
    .await
    .map_err(storage_failure)?
}

/// A layer that is not a gzipped tarball, escapes its root or is too large fails until the
/// artifact changes; only writing the extraction is the machine's fault, and retried.
fn layer_failure(error: tether_source::ArtifactError) -> Failure {
    use tether_source::ArtifactError;
    if let ArtifactError::Io { action, .. } = &error
        && *action != "reading"
    {
        return storage_failure(error);
    }
    Failure::terminal(
        reasons::OCI_LAYER_OPERATION_FAILED,
        format!("failed to extract layer contents from artifact: {error}"),
    )
}

fn pull_failure(url: &str, error: ScanError) -> Failure {
    let reason = match &error {
        ScanError::InvalidImage(_) => reasons::URL_INVALID,
        ScanError::Unauthorized { .. } | ScanError::Token { .. } => reasons::AUTHENTICATION_FAILED,
        _ => reasons::OCI_PULL_FAILED,
    };
    Failure::new(
        reason,
        format!("failed to pull artifact from '{url}': {error}"),
    )
    .terminal_if(error.is_terminal())
    .retry_after(error.suggested_backoff())
}

fn owner_of(repo: &OCIRepository) -> ArtifactOwner {
    ArtifactOwner::new(
        "OCIRepository",
        &repo.namespace().unwrap_or_default(),
        &repo.name_any(),
    )
}

fn next_status(repo: &OCIRepository, outcome: &Result<Pulled, Failure>) -> OCIRepositoryStatus {
    let mut status = repo.status.clone().unwrap_or_default();
    let generation = repo.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    if let Ok(Pulled::Stored(artifact)) = outcome {
        status.url = Some(artifact.url.clone());
        status.artifact = Some(artifact.clone());
        status.observed_ignore = repo.spec.ignore.clone();
        status.observed_layer_selector = repo.spec.layer_selector.clone();
    }
    let stored = status.artifact.as_ref().map(|a| a.revision.as_str());
    let result = match outcome {
        Ok(_) => Ok(format!(
            "stored artifact for digest '{}'",
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

    #[test]
    fn a_url_names_a_repository_without_tag_or_digest() {
        let image = image_of("oci://127.0.0.1:5000/manifests/app").expect("valid");
        assert_eq!(image.repository(), "manifests/app");
        for bad in [
            "https://ghcr.io/org/app",
            "oci://ghcr.io/org/app:v1",
            "oci://ghcr.io/org/app@sha256:00",
        ] {
            let failure = image_of(bad).expect_err(bad);
            assert_eq!(failure.reason, reasons::URL_INVALID);
            assert!(failure.terminal, "{bad}");
        }
    }

    #[test]
    fn a_revision_ends_in_its_digest() {
        assert_eq!(digest_of("1.0.0@sha256:ab"), "sha256:ab");
        assert_eq!(digest_of("sha256:ab"), "sha256:ab");
    }

    #[test]
    fn unsupported_settings_are_refused_not_skipped() {
        let repo: OCIRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": {"name": "app", "namespace": "flux-system"},
            "spec": {"url": "oci://ghcr.io/org/app", "interval": "1m",
                     "verify": {"provider": "cosign"}}
        }))
        .expect("a valid OCIRepository");
        let failure = refuse_unsupported(&repo).expect_err("verify is not supported");
        assert!(failure.terminal);
        assert!(
            failure.message.contains("spec.verify"),
            "{}",
            failure.message
        );
    }
}
