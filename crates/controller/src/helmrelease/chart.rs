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
use serde_json::json;
use tether_api::helm::conditions::reasons;
use tether_api::helm::v2::{ChartRefKind, HelmRelease};
use tether_api::helm::{FIELD_MANAGER, NAME_LABEL, NAMESPACE_LABEL};
use tether_api::meta::Artifact;
use tether_api::meta::conditions::{READY, find};
use tether_api::source::v1::{ExternalArtifact, HelmChart, OCIRepository};
use tether_helm::Chart;

use crate::context::Context;
use crate::failure::Failure;

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
/// labelled with the HelmRelease that owns it. Returns the newest copy the watches delivered
/// when it already was as desired (nothing written): its status is current. After a write
/// (or without `spec.chart`) it returns `None`.
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
    Api::<HelmChart>::namespaced(ctx.client.clone(), &namespace)
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
    Ok(None)
}

/// The newer of the chart store's copy and the one the HelmRelease watch remembered.
fn newest_helm_chart(ctx: &Context, namespace: &str, name: &str) -> Option<Arc<HelmChart>> {
    let stored = ctx
        .helm_charts
        .get(&kube::runtime::reflector::ObjectRef::new(name).within(namespace));
    ctx.newest_helm_charts.newest(stored, namespace, name)
}

/// The newer of the OCIRepository store's copy and the one the watches remembered.
fn newest_oci_repository(ctx: &Context, namespace: &str, name: &str) -> Option<Arc<OCIRepository>> {
    let stored = ctx
        .oci_repositories
        .get(&kube::runtime::reflector::ObjectRef::new(name).within(namespace));
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
        .get(&kube::runtime::reflector::ObjectRef::new(name).within(namespace));
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
        // A copy known current (its spec as desired) is used as it is. Otherwise it is read
        // from the API server: right after the HelmChart's spec was applied the caches may
        // still show the previous generation as Ready.
        let chart = match current {
            Some(current) => Some(current),
            None if hr.spec.chart.is_none() => newest_helm_chart(ctx, &namespace, &name),
            None => None,
        };
        let chart = match chart {
            Some(chart) => Some(chart),
            None => Api::<HelmChart>::namespaced(ctx.client.clone(), &namespace)
                .get_opt(&name)
                .await
                .map_err(|e| not_ready(&format!("HelmChart '{namespace}/{name}'"), &e.to_string()))?
                .map(Arc::new),
        };
        let Some(chart) = chart else {
            return Err(not_ready(
                &format!("HelmChart '{namespace}/{name}'"),
                "not found",
            ));
        };
        let status = chart.status.as_ref();
        return ready_artifact(
            &format!("HelmChart '{namespace}/{name}'"),
            status.and_then(|s| s.artifact.as_ref()),
            status.and_then(|s| s.conditions.as_deref()),
            chart.metadata.generation,
            status.and_then(|s| s.observed_generation),
        );
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
                    .map_err(|e| not_ready(&shown, &e.to_string()))?
                    .map(Arc::new)
                    .ok_or_else(|| not_ready(&shown, "not found"))?,
            };
            let status = source.status.as_ref();
            ready_artifact(
                &shown,
                status.and_then(|s| s.artifact.as_ref()),
                status.and_then(|s| s.conditions.as_deref()),
                source.metadata.generation,
                status.and_then(|s| s.observed_generation),
            )
        }
        ChartRefKind::ExternalArtifact => {
            let shown = format!("ExternalArtifact '{namespace}/{}'", reference.name);
            let source = match newest_external_artifact(ctx, &namespace, &reference.name) {
                Some(source) => source,
                None => Api::<ExternalArtifact>::namespaced(ctx.client.clone(), &namespace)
                    .get_opt(&reference.name)
                    .await
                    .map_err(|e| not_ready(&shown, &e.to_string()))?
                    .map(Arc::new)
                    .ok_or_else(|| not_ready(&shown, "not found"))?,
            };
            // A third party writes the status: there is no observedGeneration to compare.
            let status = source.status.as_ref();
            ready_artifact(
                &shown,
                status.and_then(|s| s.artifact.as_ref()),
                status.and_then(|s| s.conditions.as_deref()),
                None,
                None,
            )
        }
        // Resolved through `helm_chart_key` above; kept so that a new kind is a compile error.
        ChartRefKind::HelmChart => Err(not_ready(
            &format!("HelmChart '{namespace}/{}'", reference.name),
            "not found",
        )),
    }
}

fn ready_artifact(
    shown: &str,
    artifact: Option<&Artifact>,
    conditions: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]>,
    generation: Option<i64>,
    observed: Option<i64>,
) -> Result<Artifact, Failure> {
    let ready = conditions.and_then(|c| find(c, READY));
    match (artifact, ready) {
        (Some(artifact), Some(ready)) if ready.status == "True" && generation == observed => {
            Ok(artifact.clone())
        }
        (_, Some(ready)) if ready.status == "False" => Err(not_ready(shown, &ready.message)),
        _ => Err(not_ready(shown, "no artifact yet")),
    }
}

fn not_ready(shown: &str, why: &str) -> Failure {
    Failure {
        emits_event: false,
        ..Failure::new(
            reasons::ARTIFACT_FAILED,
            format!("{shown} is not ready: {why}"),
        )
    }
}
