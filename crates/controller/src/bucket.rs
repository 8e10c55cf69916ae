//! The Bucket reconciler's steps, as source-controller's with the `generic` provider: read the
//! credentials (`secretRef` with `accesskey`/`secretkey`, `certSecretRef`), list the bucket into
//! an index of keys and ETags (the bucket's `.sourceignore` and `spec.ignore` applied), and only
//! when the index's digest is not the stored artifact's revision bring the bucket's mirror up to
//! date (downloading the objects whose ETag changed), archive it and collect old artifacts.
//! The S3 work is `tether_source::bucket`'s; the loop around these steps is the driver's.

use crate::artifacts::{self, artifact_failure, storage_failure};
use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, Reconcile};
use crate::secrets::secret_data;
use crate::status::{ConditionSet, requested_at};
use kube::{Resource, ResourceExt};
use std::path::PathBuf;
use std::time::Duration;
use tether_api::meta::Artifact;
use tether_api::source::conditions::{STORAGE_OPERATION_FAILED, reasons};
use tether_api::source::v1::{Bucket, BucketProvider, BucketStatus};
use tether_registry::TlsConfig;
use tether_source::artifact::ArtifactOwner;
use tether_source::bucket::{
    BucketClient, BucketError, BucketLimits, BucketOptions, ListedIndex, Mirror, S3Keys,
};
use tether_source::sourceignore::SourceIgnore;

/// What a bucket may hold.
const LIMITS: BucketLimits = BucketLimits {
    max_objects: 20_000,
    max_total_bytes: 1024 * 1024 * 1024,
};

/// What fetching produced.
pub enum Fetched {
    /// The bucket's revision is the stored artifact's.
    UpToDate,
    /// A new artifact was stored from this many objects.
    Stored { artifact: Artifact, objects: usize },
}

impl Reconcile for Bucket {
    type Status = BucketStatus;
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
            Ok(Fetched::Stored { objects, .. }) => Some((
                "NewArtifact",
                format!(
                    "stored artifact with {objects} fetched files from '{}' bucket",
                    self.spec.bucket_name
                ),
            )),
            _ => None,
        }
    }

    /// A new artifact is in status: extractions nobody points at go, and health waits on the
    /// old revision are cancelled.
    fn after_status_written(&self, ctx: &Context, outcome: &Self::Outcome) {
        if let Ok(Fetched::Stored { artifact, .. }) = outcome {
            crate::sources::forget_unreferenced_extractions(
                ctx,
                self.status.as_ref().and_then(|s| s.artifact.as_ref()),
                artifact,
            );
            ctx.health_waits.cancel_for_source(&ObjectKey::of(self));
        }
    }

    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        ctx.newest_bucket_sources
            .forget(&self.namespace().unwrap_or_default(), &self.name_any());
        artifacts::remove_all(ctx, &owner_of(self));
        if let Err(error) = mirror_of(self, ctx).remove() {
            tracing::warn!(%error, "cannot remove a bucket's mirror");
        }
        Ok(())
    }
}

async fn fetch(bucket: &Bucket, ctx: &Context) -> Result<Fetched, Failure> {
    refuse_unsupported(bucket)?;
    let client = client_for(bucket, ctx).await?;
    let timeout = timeout_of(bucket);
    let (prefix, ignore) = (bucket.spec.prefix.as_deref(), bucket.spec.ignore.as_deref());
    let listing = ListedIndex::list(&client, prefix, ignore, LIMITS);
    let listed = within(timeout, &client, "listing objects", listing).await?;
    if artifact_is_current(bucket, ctx, &listed.index.revision()) {
        return Ok(Fetched::UpToDate);
    }
    let mirror = mirror_of(bucket, ctx);
    let update = mirror.update(&client, listed, LIMITS);
    let updated = within(timeout, &client, "downloading objects", update).await?;
    let revision = updated.index.revision();
    let stored = store_mirror(bucket, ctx, &revision, mirror.files()).await?;
    Ok(Fetched::Stored {
        artifact: artifacts::advertised(ctx, stored, None),
        objects: updated.index.len(),
    })
}

/// Cloud providers, STS and proxies are refused rather than silently ignored.
fn refuse_unsupported(bucket: &Bucket) -> Result<(), Failure> {
    let provider = bucket.spec.provider.unwrap_or_default();
    if provider != BucketProvider::Generic {
        return Err(Failure::not_supported(&format!(
            "spec.provider '{provider}' (use the generic provider: any S3-compatible endpoint with spec.secretRef)"
        )));
    }
    if bucket.spec.sts.is_some() {
        return Err(Failure::not_supported("spec.sts"));
    }
    if bucket.spec.proxy_secret_ref.is_some() {
        return Err(Failure::not_supported("spec.proxySecretRef"));
    }
    Ok(())
}

/// The client of the bucket the spec names, with the keys of `secretRef` and the TLS material
/// of `certSecretRef`.
async fn client_for(bucket: &Bucket, ctx: &Context) -> Result<BucketClient, Failure> {
    let namespace = bucket.namespace().unwrap_or_default();
    let auth_failed = |message: String| Failure::new(reasons::AUTHENTICATION_FAILED, message);
    let keys = match &bucket.spec.secret_ref {
        Some(secret) => {
            let data = secret_data(&ctx.client, &namespace, &secret.name)
                .await
                .map_err(|e| auth_failed(e.to_string()))?;
            let data = data.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            Some(S3Keys::from_secret_data(&secret.name, data).map_err(bucket_failure)?)
        }
        None => None,
    };
    let tls = match &bucket.spec.cert_secret_ref {
        Some(secret) => {
            let data = secret_data(&ctx.client, &namespace, &secret.name)
                .await
                .map_err(|e| auth_failed(format!("failed to get TLS config: {e}")))?;
            TlsConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
        }
        None => None,
    };
    BucketClient::new(BucketOptions {
        endpoint: bucket.spec.endpoint.clone(),
        bucket_name: bucket.spec.bucket_name.clone(),
        region: bucket.spec.region.clone(),
        insecure: bucket.spec.insecure == Some(true),
        keys,
        tls,
        timeout: timeout_of(bucket),
    })
    .map_err(bucket_failure)
}

/// `spec.timeout`, 60 s when unset.
fn timeout_of(bucket: &Bucket) -> Duration {
    bucket
        .spec
        .timeout
        .as_ref()
        .and_then(|t| t.to_std().ok())
        .unwrap_or(Duration::from_secs(60))
}

/// `work`, failed as [`BucketError::Timeout`] when it takes longer than `timeout`.
async fn within<T>(
    timeout: Duration,
    client: &BucketClient,
    operation: &'static str,
    work: impl Future<Output = Result<T, BucketError>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result.map_err(bucket_failure),
        Err(_) => Err(bucket_failure(BucketError::Timeout {
            operation,
            bucket: client.name().to_owned(),
            after: timeout,
        })),
    }
}

/// The stored artifact is still right when it is at `revision` and its file exists.
fn artifact_is_current(bucket: &Bucket, ctx: &Context, revision: &str) -> bool {
    bucket
        .status
        .as_ref()
        .and_then(|status| status.artifact.as_ref())
        .is_some_and(|artifact| {
            artifact.revision == revision
                && ctx.workspace.store().root().join(&artifact.path).is_file()
        })
}

/// Where the bucket's objects are kept between reconciles (not under the served store).
fn mirror_of(bucket: &Bucket, ctx: &Context) -> Mirror {
    let dir: PathBuf = ctx
        .bucket_mirrors
        .join(bucket.namespace().unwrap_or_default())
        .join(bucket.name_any());
    Mirror::new(dir)
}

/// Archives the mirror as `<revision hex>.tar.gz` (its objects as they are: the ignore rules
/// were applied to the keys), then collects old artifacts.
async fn store_mirror(
    bucket: &Bucket,
    ctx: &Context,
    revision: &str,
    files: PathBuf,
) -> Result<tether_source::Artifact, Failure> {
    let owner = owner_of(bucket);
    let store = ctx.workspace.store().clone();
    let retention = ctx.options.artifact_retention;
    let revision = revision.to_owned();
    let file_name = format!("{}.tar.gz", revision.trim_start_matches("sha256:"));
    tokio::task::spawn_blocking(move || {
        let keep_all = SourceIgnore::nothing(&files);
        let stored = store
            .archive_dir(&owner, &revision, &file_name, &files, &keep_all)
            .map_err(artifact_failure)?;
        store
            .garbage_collect(&owner, &stored, retention)
            .map_err(artifact_failure)?;
        Ok(stored)
    })
    .await
    .map_err(storage_failure)?
}

/// Flux's reasons: a bad endpoint is `URLInvalid` (terminal), refused or unusable credentials
/// `AuthenticationFailed`, the mirror's disk `StorageOperationFailed`, anything else about the
/// bucket `BucketOperationFailed`.
fn bucket_failure(error: BucketError) -> Failure {
    let reason = match &error {
        BucketError::InvalidEndpoint { .. } => reasons::URL_INVALID,
        BucketError::Io { .. } => STORAGE_OPERATION_FAILED,
        e if e.is_authentication() => reasons::AUTHENTICATION_FAILED,
        _ => reasons::BUCKET_OPERATION_FAILED,
    };
    Failure::new(reason, error.to_string()).terminal_if(error.is_terminal())
}

fn owner_of(bucket: &Bucket) -> ArtifactOwner {
    ArtifactOwner::new(
        "Bucket",
        &bucket.namespace().unwrap_or_default(),
        &bucket.name_any(),
    )
}

fn next_status(bucket: &Bucket, outcome: &Result<Fetched, Failure>) -> BucketStatus {
    let mut status = bucket.status.clone().unwrap_or_default();
    let generation = bucket.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    if let Ok(Fetched::Stored { artifact, .. }) = outcome {
        status.url = Some(artifact.url.clone());
        status.artifact = Some(artifact.clone());
    }
    if outcome.is_ok() {
        status.observed_ignore = bucket.spec.ignore.clone();
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
    if let Some(requested) = requested_at(bucket) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(spec: serde_json::Value) -> Bucket {
        let mut spec_with_defaults = serde_json::json!({
            "bucketName": "manifests", "endpoint": "127.0.0.1:9000", "interval": "1m"
        });
        if let (Some(base), Some(extra)) = (spec_with_defaults.as_object_mut(), spec.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": {"name": "app", "namespace": "flux-system"},
            "spec": spec_with_defaults
        }))
        .expect("a valid Bucket")
    }

    #[test]
    fn cloud_providers_are_refused_not_skipped() {
        for provider in ["aws", "gcp", "azure"] {
            let failure = refuse_unsupported(&bucket(serde_json::json!({"provider": provider})))
                .expect_err(provider);
            assert!(failure.terminal, "{provider}");
            assert!(
                failure
                    .message
                    .contains(&format!("spec.provider '{provider}'")),
                "{}",
                failure.message
            );
        }
        refuse_unsupported(&bucket(serde_json::json!({}))).expect("generic is the default");
    }

    #[test]
    fn failures_carry_fluxs_reasons() {
        let cases = [
            (
                BucketError::BucketNotFound { bucket: "b".into() },
                reasons::BUCKET_OPERATION_FAILED,
                false,
            ),
            (
                BucketError::InvalidSecret { secret: "s".into() },
                reasons::AUTHENTICATION_FAILED,
                true,
            ),
            (
                BucketError::InvalidEndpoint {
                    endpoint: "e".into(),
                    message: "m".into(),
                },
                reasons::URL_INVALID,
                true,
            ),
            (
                BucketError::UnsafeKey {
                    bucket: "b".into(),
                    key: "../x".into(),
                    reason: "escapes",
                },
                reasons::BUCKET_OPERATION_FAILED,
                false,
            ),
        ];
        for (error, reason, terminal) in cases {
            let failure = bucket_failure(error);
            assert_eq!((failure.reason, failure.terminal), (reason, terminal));
        }
    }
}
