//! Where a HelmRelease's chart comes from: for `spec.chart` the HelmChart it owns (created or
//! updated from the template, named `<namespace>-<name>` in the source's namespace, as
//! helm-controller does), for `spec.chartRef` the HelmChart, OCIRepository or ExternalArtifact it
//! names; then the chart loaded from that source's stored artifact (an ExternalArtifact's is
//! downloaded from its URL and checked against its digest, a third party serves it). Loaded
//! charts are cached by artifact digest, so a thousand releases of one chart load it once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;
use tether_api::helm::conditions::reasons;
use tether_api::helm::v2::{ChartRefKind, HelmRelease};
use tether_api::helm::{FIELD_MANAGER, NAME_LABEL, NAMESPACE_LABEL};
use tether_api::meta::Artifact;
use tether_api::meta::conditions::{READY, STALLED, STATUS_FALSE, find, is_true};
use tether_api::source::v1::{ExternalArtifact, HelmChart, OCIRepository};
use tether_helm::Chart;

use crate::context::Context;
use crate::failure::Failure;
use crate::sources::ArtifactSource;

/// Loaded charts kept at most (by digest); the oldest entry goes first.
const CACHED_CHARTS: usize = 64;

/// Loaded charts by artifact digest, and the digests oldest first.
type ChartCache = (HashMap<String, Arc<Chart>>, Vec<String>);

/// Charts loaded from artifacts, by artifact digest.
#[derive(Default)]
pub struct LoadedCharts {
    charts: Mutex<ChartCache>,
}

impl LoadedCharts {
    /// The chart of `artifact`, loaded once: read from the store, or downloaded from its URL
    /// when `external` (an ExternalArtifact's).
    pub async fn load(
        &self,
        ctx: &Context,
        artifact: &Artifact,
        external: bool,
    ) -> Result<Arc<Chart>, Failure> {
        if let Some(chart) = self.lock().0.get(&artifact.digest) {
            return Ok(chart.clone());
        }
        let bytes = if external {
            download_external_chart(artifact).await?
        } else {
            let path = ctx.workspace.store().root().join(&artifact.path);
            tokio::fs::read(&path).await.map_err(|e| {
                Failure::new(
                    reasons::ARTIFACT_FAILED,
                    format!("cannot read the chart artifact {}: {e}", artifact.path),
                )
            })?
        };
        let chart = tokio::task::spawn_blocking(move || {
            tether_helm::load::load_archive(&bytes, tether_helm::load::Limits::default())
        })
        .await
        .map_err(|e| Failure::new(reasons::ARTIFACT_FAILED, e.to_string()))?
        .map_err(|e| {
            Failure::terminal(
                reasons::ARTIFACT_FAILED,
                format!("cannot load the chart {}: {e}", artifact.path),
            )
        })?;
        let chart = Arc::new(chart);
        let mut cache = self.lock();
        if cache.1.len() >= CACHED_CHARTS {
            let oldest = cache.1.remove(0);
            cache.0.remove(&oldest);
        }
        cache.1.push(artifact.digest.clone());
        cache.0.insert(artifact.digest.clone(), chart.clone());
        Ok(chart)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChartCache> {
        self.charts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The chart source of `hr`: `(namespace, name)` of the HelmChart it owns or names.
pub fn helm_chart_key(hr: &HelmRelease) -> Option<(String, String)> {
    let own = hr.namespace().unwrap_or_default();
    if let Some(template) = &hr.spec.chart {
        let namespace = template
            .spec
            .source_ref
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(own);
        return Some((namespace, hr.helm_chart_name()));
    }
    let reference = hr.spec.chart_ref.as_ref()?;
    (reference.kind == ChartRefKind::HelmChart).then(|| {
        (
            reference.namespace.clone().unwrap_or(own),
            reference.name.clone(),
        )
    })
}

/// The HelmReleases whose chart source is `chart`: the one that owns it (by its owner labels,
/// a lookup rather than a scan of every release for each of a thousand charts' events) and
/// those naming it in `chartRef`. A chart without owner labels (made before they were set) is
/// matched against every release.
pub fn releases_of_chart(
    releases: &Store<HelmRelease>,
    chart: &HelmChart,
) -> Vec<ObjectRef<HelmRelease>> {
    let key = (chart.namespace().unwrap_or_default(), chart.name_any());
    let owns =
        |hr: &HelmRelease| hr.spec.chart.is_some() && helm_chart_key(hr).as_ref() == Some(&key);
    let labels = chart.labels();
    let mut woken = match (labels.get(NAME_LABEL), labels.get(NAMESPACE_LABEL)) {
        (Some(name), Some(namespace)) => releases
            .get(&ObjectRef::new(name).within(namespace))
            .filter(|hr| owns(hr))
            .map(|hr| ObjectRef::from_obj(hr.as_ref()))
            .into_iter()
            .collect(),
        _ => super::releases_of(releases, owns),
    };
    woken.extend(super::releases_of(releases, |hr| {
        hr.spec
            .chart_ref
            .as_ref()
            .is_some_and(|r| r.kind == ChartRefKind::HelmChart && r.name == key.1)
            && helm_chart_key(hr).as_ref() == Some(&key)
    }));
    woken
}

/// Refuses a chart source in another namespace under `--no-cross-namespace-refs`, in
/// helm-controller's words: the HelmChart (of `spec.chart`, or named by `spec.chartRef`) or
/// the `chartRef` OCIRepository.
pub fn check_source_access(hr: &HelmRelease, ctx: &Context) -> Result<(), Failure> {
    if !ctx.options.no_cross_namespace_refs {
        return Ok(());
    }
    let own = hr.namespace().unwrap_or_default();
    let referenced = match (helm_chart_key(hr), &hr.spec.chart_ref) {
        (Some((namespace, name)), _) => Some(("HelmChart", namespace, name)),
        (None, Some(reference)) => Some((
            reference.kind.as_str(),
            reference.namespace.clone().unwrap_or_else(|| own.clone()),
            reference.name.clone(),
        )),
        (None, None) => None,
    };
    match referenced {
        Some((kind, namespace, name)) if namespace != own => Err(Failure::access_denied(format!(
            "cross-namespace references are not allowed: cannot access {kind} {namespace}/{name}"
        ))),
        _ => Ok(()),
    }
}

/// Creates or updates the HelmChart of `spec.chart` (server-side apply: only our fields),
/// labelled with the HelmRelease that owns it. Returns the HelmChart as it now is: the newest
/// copy the watches delivered when it already was as desired (nothing written; its status is
/// current), else the API server's answer to the apply. Without `spec.chart`, `None`.
pub async fn ensure_helm_chart(
    hr: &HelmRelease,
    ctx: &Context,
) -> Result<Option<Arc<HelmChart>>, Failure> {
    let Some(mut chart) = hr.helm_chart_from_template() else {
        return Ok(None);
    };
    let labels = chart.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(NAME_LABEL.to_owned(), hr.name_any());
    labels.insert(
        NAMESPACE_LABEL.to_owned(),
        hr.namespace().unwrap_or_default(),
    );
    let (namespace, name) = (chart.namespace().unwrap_or_default(), chart.name_any());
    // Unchanged since the last apply (as the watches show it): no write, so a resync is free.
    let cached = newest_helm_chart(ctx, &namespace, &name);
    if let Some(cached) = cached
        && cached.spec == chart.spec
        && chart
            .metadata
            .labels
            .iter()
            .flatten()
            .all(|(k, v)| cached.labels().get(k) == Some(v))
        && chart
            .metadata
            .annotations
            .iter()
            .flatten()
            .all(|(k, v)| cached.annotations().get(k) == Some(v))
    {
        return Ok(Some(cached));
    }
    let mut body = serde_json::to_value(&chart).map_err(|e| {
        Failure::new(
            reasons::ARTIFACT_FAILED,
            format!("cannot encode HelmChart: {e}"),
        )
    })?;
    if let Some(map) = body.as_object_mut() {
        map.remove("status");
        map.insert("apiVersion".into(), json!("source.toolkit.fluxcd.io/v1"));
        map.insert("kind".into(), json!("HelmChart"));
    }
    let applied = Api::<HelmChart>::namespaced(ctx.client.clone(), &namespace)
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        )
        .await
        .map_err(|e| {
            Failure::new(
                reasons::ARTIFACT_FAILED,
                format!("failed to create or update HelmChart '{namespace}/{name}': {e}"),
            )
        })?;
    Ok(Some(Arc::new(applied)))
}

/// The newer of the chart store's copy and the one the HelmRelease watch remembered.
fn newest_helm_chart(ctx: &Context, namespace: &str, name: &str) -> Option<Arc<HelmChart>> {
    let stored = ctx.helm_charts.get(&ObjectRef::new(name).within(namespace));
    ctx.newest_helm_charts.newest(stored, namespace, name)
}

/// The newer of the OCIRepository store's copy and the one the watches remembered.
fn newest_oci_repository(ctx: &Context, namespace: &str, name: &str) -> Option<Arc<OCIRepository>> {
    let stored = ctx
        .oci_repositories
        .get(&ObjectRef::new(name).within(namespace));
    ctx.newest_oci_sources.newest(stored, namespace, name)
}

/// What wakes a HelmRelease about its chart source: its artifact digest, Ready status and
/// observed generation (a source failing without a new artifact counts too).
pub fn source_fingerprint(
    hr: &HelmRelease,
    ctx: &Context,
) -> Option<(Option<String>, Option<String>, Option<i64>)> {
    fn of(
        artifact: Option<&Artifact>,
        conditions: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]>,
        observed: Option<i64>,
    ) -> (Option<String>, Option<String>, Option<i64>) {
        (
            artifact.map(|a| a.digest.clone()),
            conditions
                .and_then(|c| find(c, READY))
                .map(|c| c.status.clone()),
            observed,
        )
    }
    if let Some((namespace, name)) = helm_chart_key(hr) {
        let chart = newest_helm_chart(ctx, &namespace, &name)?;
        let status = chart.status.as_ref()?;
        return Some(of(
            status.artifact.as_ref(),
            status.conditions.as_deref(),
            status.observed_generation,
        ));
    }
    if let Some((namespace, name)) = external_chart_ref(hr) {
        let source = newest_external_artifact(ctx, &namespace, &name)?;
        let status = source.status.as_ref()?;
        return Some(of(
            status.artifact.as_ref(),
            status.conditions.as_deref(),
            None,
        ));
    }
    let (namespace, name) = oci_chart_ref(hr)?;
    let source = newest_oci_repository(ctx, &namespace, &name)?;
    let status = source.status.as_ref()?;
    Some(of(
        status.artifact.as_ref(),
        status.conditions.as_deref(),
        status.observed_generation,
    ))
}

/// The chart archive of an ExternalArtifact, downloaded from `status.artifact.url` (at most
/// Helm's chart size) and refused unless its sha256 is `status.artifact.digest`.
async fn download_external_chart(artifact: &Artifact) -> Result<Vec<u8>, Failure> {
    let failed = |message: String| Failure::new(reasons::ARTIFACT_FAILED, message);
    let url = &artifact.url;
    let download = |e: String| failed(format!("failed to download artifact from '{url}': {e}"));
    if !artifact.digest.starts_with("sha256:") {
        return Err(Failure::terminal(
            reasons::ARTIFACT_FAILED,
            format!(
                "unsupported digest algorithm in '{}', only sha256 is supported",
                artifact.digest
            ),
        ));
    }
    let http = tether_source::HelmRepoClient::new(tether_source::HelmRepoOptions::default())
        .map_err(|e| download(e.to_string()))?;
    let file = tempfile::NamedTempFile::new().map_err(|e| download(e.to_string()))?;
    let (actual, _) = http
        .download_digested(
            url,
            tether_source::helm_repo::DEFAULT_MAX_CHART_BYTES,
            file.path(),
        )
        .await
        .map_err(|e| download(e.to_string()))?;
    if !actual.eq_ignore_ascii_case(&artifact.digest) {
        return Err(failed(format!(
            "failed to verify artifact from '{url}': computed digest '{actual}' doesn't match '{}'",
            artifact.digest
        )));
    }
    tokio::fs::read(file.path())
        .await
        .map_err(|e| download(e.to_string()))
}

/// The newer of the ExternalArtifact store's copy and the one the watches remembered.
fn newest_external_artifact(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Option<Arc<ExternalArtifact>> {
    let stored = ctx
        .external_artifacts
        .get(&ObjectRef::new(name).within(namespace));
    ctx.newest_external_artifacts
        .newest(stored, namespace, name)
}

/// Whether `spec.chartRef` names an ExternalArtifact (whose artifact is downloaded).
pub fn uses_external_artifact(hr: &HelmRelease) -> bool {
    hr.spec
        .chart_ref
        .as_ref()
        .is_some_and(|r| r.kind == ChartRefKind::ExternalArtifact)
}

/// `(namespace, name)` of the ExternalArtifact `spec.chartRef` names, if it names one.
pub fn external_chart_ref(hr: &HelmRelease) -> Option<(String, String)> {
    chart_ref_of_kind(hr, ChartRefKind::ExternalArtifact)
}

/// `(namespace, name)` of the OCIRepository `spec.chartRef` names, if it names one.
pub fn oci_chart_ref(hr: &HelmRelease) -> Option<(String, String)> {
    chart_ref_of_kind(hr, ChartRefKind::OciRepository)
}

fn chart_ref_of_kind(hr: &HelmRelease, kind: ChartRefKind) -> Option<(String, String)> {
    let reference = hr.spec.chart_ref.as_ref()?;
    (reference.kind == kind).then(|| {
        (
            reference
                .namespace
                .clone()
                .unwrap_or_else(|| hr.namespace().unwrap_or_default()),
            reference.name.clone(),
        )
    })
}

/// Deletes the HelmChart `spec.chart` made (on delete of the HelmRelease).
pub async fn delete_helm_chart(hr: &HelmRelease, ctx: &Context) -> Result<(), kube::Error> {
    if hr.spec.chart.is_none() {
        return Ok(());
    }
    let Some((namespace, name)) = helm_chart_key(hr) else {
        return Ok(());
    };
    match Api::<HelmChart>::namespaced(ctx.client.clone(), &namespace)
        .delete(&name, &Default::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The artifact of the chart source, once it has a Ready one.
pub async fn chart_artifact(
    hr: &HelmRelease,
    ctx: &Context,
    current: Option<Arc<HelmChart>>,
) -> Result<Artifact, Failure> {
    if let Some((namespace, name)) = helm_chart_key(hr) {
        let shown = format!("HelmChart '{namespace}/{name}'");
        // The HelmChart of `spec.chart` as `ensure_helm_chart` left it (current); one named
        // by `chartRef` as the caches hold it, else as the API server has it.
        let chart = match current.or_else(|| newest_helm_chart(ctx, &namespace, &name)) {
            Some(chart) => chart,
            None => Api::<HelmChart>::namespaced(ctx.client.clone(), &namespace)
                .get_opt(&name)
                .await
                .map_err(|e| not_found(&shown, &e.to_string()))?
                .map(Arc::new)
                .ok_or_else(|| not_found(&shown, "not found"))?,
        };
        let observed = chart.status.as_ref().and_then(|s| s.observed_generation);
        return ready_artifact(&shown, chart.as_ref(), Some(observed));
    }
    let Some(reference) = &hr.spec.chart_ref else {
        return Err(Failure::terminal(
            reasons::INIT_FAILED,
            "either chart or chartRef must be set",
        ));
    };
    let namespace = reference
        .namespace
        .clone()
        .unwrap_or_else(|| hr.namespace().unwrap_or_default());
    match reference.kind {
        ChartRefKind::OciRepository => {
            let shown = format!("OCIRepository '{namespace}/{}'", reference.name);
            let source = match newest_oci_repository(ctx, &namespace, &reference.name) {
                Some(source) => source,
                None => Api::<OCIRepository>::namespaced(ctx.client.clone(), &namespace)
                    .get_opt(&reference.name)
                    .await
                    .map_err(|e| not_found(&shown, &e.to_string()))?
                    .map(Arc::new)
                    .ok_or_else(|| not_found(&shown, "not found"))?,
            };
            let observed = source.status.as_ref().and_then(|s| s.observed_generation);
            ready_artifact(&shown, source.as_ref(), Some(observed))
        }
        ChartRefKind::ExternalArtifact => {
            let shown = format!("ExternalArtifact '{namespace}/{}'", reference.name);
            let source = match newest_external_artifact(ctx, &namespace, &reference.name) {
                Some(source) => source,
                None => Api::<ExternalArtifact>::namespaced(ctx.client.clone(), &namespace)
                    .get_opt(&reference.name)
                    .await
                    .map_err(|e| not_found(&shown, &e.to_string()))?
                    .map(Arc::new)
                    .ok_or_else(|| not_found(&shown, "not found"))?,
            };
            // A third party writes the status: only its artifact counts.
            ready_artifact(&shown, source.as_ref(), None)
        }
        // Resolved through `helm_chart_key` above; kept so that a new kind is a compile error.
        ChartRefKind::HelmChart => Err(not_found(
            &format!("HelmChart '{namespace}/{}'", reference.name),
            "not found",
        )),
    }
}

/// The source's artifact when helm-controller would use it (its `isSourceReady`): the source
/// has observed its latest generation (`observed`: `None` for a kind without one), is not
/// stalled, and has an artifact; a Ready=False with an artifact still serves. Otherwise
/// `SourceNotReady` in helm-controller's words, without an event, retried after the
/// dependency requeue; a source still on its first fetch is waited for silently by a release
/// that has reported nothing yet.
fn ready_artifact<K: ArtifactSource>(
    shown: &str,
    source: &K,
    observed: Option<Option<i64>>,
) -> Result<Artifact, Failure> {
    let conditions = source.conditions().unwrap_or_default();
    let message = |type_: &str| find(conditions, type_).map(|c| c.message.as_str());
    let why = match (observed, source.artifact()) {
        (Some(observed), _) if observed != source.meta().generation => {
            let ready_false = find(conditions, READY).is_some_and(|c| c.status == STATUS_FALSE);
            match message(READY) {
                Some(message) if ready_false => message,
                _ => "latest generation of object has not been reconciled",
            }
        }
        (Some(_), _) if is_true(conditions, STALLED) => message(STALLED).unwrap_or_default(),
        (_, None) => "does not have an artifact",
        (_, Some(artifact)) => return Ok(artifact.clone()),
    };
    Err(Failure {
        emits_event: false,
        ..Failure::new(
            reasons::SOURCE_NOT_READY,
            format!("{shown} is not ready: {why}"),
        )
    }
    .awaiting_first_fetch(source.first_fetch_pending()))
}

/// The chart source could not be read (helm-controller's `ArtifactFailed`), logged only.
fn not_found(shown: &str, why: &str) -> Failure {
    Failure {
        emits_event: false,
        ..Failure::new(
            reasons::ARTIFACT_FAILED,
            format!("{shown} is not ready: {why}"),
        )
    }
}
