//! The ImageRepository reconciler: decides whether a scan is due (never scanned, interval up,
//! image or exclusion list changed, reconcile requested, tag cache empty), lists the tags
//! through `tether-registry` with the credentials of `secretRef` and the TLS settings of
//! `certSecretRef`, filters them with the exclusion list, stores them in the tag cache, and
//! reports `lastScanResult`. Registry failures back off (the registry's `Retry-After` first).

use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::reconcile::{Next, Reconcile, usual_next_run};
use crate::registry_access::scan_options;
use crate::status::{ConditionSet, now, requested_at};
use crate::triggers::with_jitter;
use kube::{Resource, ResourceExt};
use std::time::Duration;
use tether_api::image::conditions::reasons;
use tether_api::image::v1::{ImageProvider, ImageRepository, ImageRepositoryStatus, ScanResult};
use tether_api::meta::conditions::reasons as meta_reasons;
use tether_registry::{CachedScan, ExclusionList, ImageName, ScanError, ScanOptions};

/// What a successful reconcile found.
pub struct Scanned {
    canonical: String,
    scan: CachedScan,
    /// Whether a registry scan ran (otherwise the cached result stood).
    fresh: bool,
    next: Duration,
}

impl Reconcile for ImageRepository {
    type Status = ImageRepositoryStatus;
    type Outcome = Result<Scanned, Failure>;
    const ORIGIN: Origin = Origin::ImageReflector;

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn interval(&self) -> Duration {
        interval_of(self)
    }

    async fn run(&self, ctx: &Context) -> Self::Outcome {
        scan_if_due(self, ctx).await
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, outcome)
    }

    /// A scan that found a different set of tags is told.
    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        let scanned = outcome.as_ref().ok().filter(|s| s.fresh)?;
        let previous = self
            .status
            .as_ref()
            .and_then(|s| s.last_scan_result.as_ref())
            .and_then(|r| r.revision.as_deref());
        (previous != Some(scanned.scan.revision.as_str())).then(|| {
            let note = format!(
                "successful scan: found {} tags with checksum {}",
                scanned.scan.tags.len(),
                scanned.scan.revision
            );
            (meta_reasons::SUCCEEDED, note)
        })
    }

    /// The next scan is due one interval after the last one, even when this run only read
    /// the cache.
    fn next_run(&self, ctx: &Context, outcome: &Self::Outcome) -> Next {
        match outcome {
            Ok(scanned) => Next::After(scanned.next),
            Err(failure) => usual_next_run(self, &ctx.options, Some(failure)),
        }
    }
}

fn interval_of(repo: &ImageRepository) -> Duration {
    repo.spec
        .interval
        .to_std()
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(60))
}

/// The tag cache key: tags belong to one object and its canonical image, as in Flux's
/// database (two ImageRepositories of one image with different exclusion lists differ).
pub fn cache_key(namespace: &str, name: &str, canonical: &str) -> String {
    format!("{namespace}/{name}/{canonical}")
}

async fn scan_if_due(repo: &ImageRepository, ctx: &Context) -> Result<Scanned, Failure> {
    let image = ImageName::parse(&repo.spec.image)
        .map_err(|e| Failure::terminal(reasons::IMAGE_URL_INVALID, e.to_string()))?;
    if let Some(tag) = image_has_tag(&repo.spec.image) {
        return Err(Failure::terminal(
            reasons::IMAGE_URL_INVALID,
            format!(
                "image '{}' must not contain a tag or digest ('{tag}'); ImageRepository scans every tag",
                repo.spec.image
            ),
        ));
    }
    let exclusions = ExclusionList::new(&repo.spec.exclusion_list_or_default()).map_err(|e| {
        Failure::terminal(
            meta_reasons::RECONCILIATION_FAILED,
            format!("invalid exclusionList: {e}"),
        )
    })?;
    let canonical = image.canonical();
    let namespace = repo.namespace().unwrap_or_default();
    let key = cache_key(&namespace, &repo.name_any(), &canonical);
    let interval = interval_of(repo);
    let cached = ctx.tags.load(&key).ok().flatten();
    if let Some(wait) = time_to_next_scan(repo, &canonical, cached.as_ref(), interval)
        && let Some(scan) = cached
    {
        return Ok(Scanned {
            canonical,
            scan,
            fresh: false,
            next: wait,
        });
    }
    let options = options_for(repo, ctx, &image).await?;
    let tags = ctx
        .registry
        .list_tags(&image, &options)
        .await
        .map_err(scan_failure)?;
    let tags = exclusions.filter(tags);
    let scan = CachedScan::new(key, tags, chrono::Utc::now());
    ctx.tags.store(&scan).map_err(|e| {
        Failure::new(
            reasons::READ_OPERATION_FAILED,
            format!("failed to set tags for '{canonical}': {e}"),
        )
    })?;
    Ok(Scanned {
        canonical,
        scan,
        fresh: true,
        next: with_jitter(interval, &ObjectKey::of(repo)),
    })
}

/// The tag or digest in `image`, if it has one: after `@`, or after a `:` in the last path
/// segment (a `:` before the first `/` is a registry port).
fn image_has_tag(image: &str) -> Option<&str> {
    if let Some((_, digest)) = image.split_once('@') {
        return Some(digest);
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag)
}

/// `None` when a scan is due now, else how long until it is. Mirrors Flux's `shouldScan`.
fn time_to_next_scan(
    repo: &ImageRepository,
    canonical: &str,
    cached: Option<&CachedScan>,
    interval: Duration,
) -> Option<Duration> {
    let status = repo.status.as_ref()?;
    let last = status.last_scan_result.as_ref()?;
    let requested = requested_at(repo);
    if requested.is_some() && requested != status.last_handled_reconcile_at {
        return None;
    }
    if status.canonical_image_name.as_deref() != Some(canonical) {
        return None;
    }
    let wanted: Vec<String> = repo
        .spec
        .exclusion_list_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if status.observed_exclusion_list.as_ref() != Some(&wanted) {
        return None;
    }
    if status.observed_generation != repo.meta().generation {
        return None;
    }
    let cached = cached?;
    if cached.tags.is_empty() {
        return None;
    }
    let scanned_at = last.scan_time.as_ref()?.0.as_second();
    let elapsed = k8s_openapi::jiff::Timestamp::now().as_second() - scanned_at;
    let elapsed = Duration::from_secs(u64::try_from(elapsed).unwrap_or(0));
    let wait = interval.saturating_sub(elapsed);
    (wait >= Duration::from_secs(1)).then_some(wait)
}

async fn options_for(
    repo: &ImageRepository,
    ctx: &Context,
    image: &ImageName,
) -> Result<ScanOptions, Failure> {
    let provider = repo.spec.provider_or_default();
    if provider != ImageProvider::Generic {
        return Err(Failure::terminal(
            meta_reasons::RECONCILIATION_FAILED,
            format!(
                "spec.provider '{provider}' is not supported yet: use the generic provider with spec.secretRef or spec.serviceAccountName"
            ),
        ));
    }
    scan_options(&ctx.client, &super::access_of(repo), image)
        .await
        .map_err(|message| {
            Failure::new(
                reasons::AUTHENTICATION_FAILED,
                format!("failed to configure authentication options: {message}"),
            )
        })
}

fn scan_failure(error: ScanError) -> Failure {
    let reason = match &error {
        ScanError::InvalidImage(_) => reasons::IMAGE_URL_INVALID,
        ScanError::Unauthorized { .. } | ScanError::Token { .. } => reasons::AUTHENTICATION_FAILED,
        _ => reasons::READ_OPERATION_FAILED,
    };
    Failure::new(reason, format!("scan failed: {error}"))
        .terminal_if(error.is_terminal())
        .retry_after(error.suggested_backoff())
}

fn next_status(
    repo: &ImageRepository,
    outcome: &Result<Scanned, Failure>,
) -> ImageRepositoryStatus {
    let mut status = repo.status.clone().unwrap_or_default();
    let generation = repo.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    match outcome {
        Ok(scanned) => {
            if scanned.fresh {
                status.last_scan_result = Some(ScanResult {
                    revision: Some(scanned.scan.revision.clone()),
                    tag_count: i64::try_from(scanned.scan.tags.len()).unwrap_or(i64::MAX),
                    scan_time: Some(now()),
                    latest_tags: Some(scanned.scan.latest_tags().to_vec())
                        .filter(|tags| !tags.is_empty()),
                });
            }
            status.canonical_image_name = Some(scanned.canonical.clone());
            status.observed_exclusion_list = Some(
                repo.spec
                    .exclusion_list_or_default()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            );
            status.observed_generation = generation;
            let count = status
                .last_scan_result
                .as_ref()
                .map(|r| r.tag_count)
                .unwrap_or_default();
            conditions.ready(
                meta_reasons::SUCCEEDED,
                format!(
                    "successful scan: found {count} tags with checksum {}",
                    scanned.scan.revision
                ),
            );
        }
        Err(failure) => {
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

#[cfg(test)]
mod tests {
    use super::image_has_tag;

    #[test]
    fn tags_and_digests_are_found_but_ports_are_not() {
        assert_eq!(image_has_tag("nginx:1.25"), Some("1.25"));
        assert_eq!(image_has_tag("ghcr.io/org/app"), None);
        assert_eq!(image_has_tag("localhost:5000/app"), None);
        assert_eq!(image_has_tag("localhost:5000/app:v1"), Some("v1"));
        assert_eq!(image_has_tag("app@sha256:abc"), Some("sha256:abc"));
    }
}
