//! `tether reconcile source git|oci|helm|chart NAME`, `tether reconcile kustomization NAME
//! [--with-source]`, `tether reconcile helmrelease NAME [--with-source] [--force] [--reset]` and
//! `tether reconcile image repository|policy|update NAME`: set `reconcile.fluxcd.io/requestedAt`
//! to now (RFC 3339, nanoseconds) — and a HelmRelease's `forceAt` / `resetAt` to the same value
//! — then wait until the controller has handled that request and settled, printing Flux's
//! progress lines.
//! `tether reconcile source git NAME`, `tether reconcile kustomization NAME [--with-source]`,
//! `tether reconcile image repository|policy|update NAME` and `tether reconcile receiver NAME`: set `reconcile.fluxcd.io/requestedAt` to now (RFC 3339, nanoseconds) and wait until the
//! controller has handled that request and settled, printing Flux's progress lines.

use super::cluster::{self, get_named, object_label};
use super::output::{action, success, waiting};
use super::toolkit::FluxObject;
use crate::cli::{ImageTarget, ReconcileArgs, ReconcileKind, SourceTarget};
use anyhow::bail;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use serde_json::json;
use std::time::{Duration, Instant};
use tether_api::helm::RESET_REQUEST_ANNOTATION;
use tether_api::helm::v2::{ChartRefKind, HelmRelease};
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_api::kustomize::v1::{Kustomization, SourceKind};
use tether_api::meta::{FORCE_REQUEST_ANNOTATION, RECONCILE_REQUEST_ANNOTATION};
use tether_api::notification::v1::Receiver;
use tether_api::source::v1::{
    Bucket, GitRepository, HelmChart, HelmChartSourceKind, HelmRepository, OCIRepository,
};

/// How often the object is read while waiting.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

pub fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let deadline = Instant::now() + args.cluster.timeout;
        let namespace = args.cluster.namespace.as_str();
        match &args.kind {
            ReconcileKind::Source(SourceTarget::Git { name }) => {
                let api = Api::<GitRepository>::namespaced(client, namespace);
                reconcile(&api, namespace, name, deadline).await
            }
            ReconcileKind::Source(SourceTarget::Oci { name }) => {
                let api = Api::<OCIRepository>::namespaced(client, namespace);
                reconcile(&api, namespace, name, deadline).await
            }
            ReconcileKind::Source(SourceTarget::Bucket { name }) => {
                let api = Api::<Bucket>::namespaced(client, namespace);
                reconcile(&api, namespace, name, deadline).await
            }
            ReconcileKind::Source(SourceTarget::Helm { name }) => {
                let api = Api::<HelmRepository>::namespaced(client, namespace);
                reconcile(&api, namespace, name, deadline).await
            }
            ReconcileKind::Source(SourceTarget::Chart { name }) => {
                let api = Api::<HelmChart>::namespaced(client, namespace);
                reconcile(&api, namespace, name, deadline).await
            }
            ReconcileKind::Kustomization { name, with_source } => {
                reconcile_kustomization(&client, namespace, name, *with_source, deadline).await
            }
            ReconcileKind::Helmrelease {
                name,
                with_source,
                force,
                reset,
            } => {
                let requests = ReleaseRequests {
                    with_source: *with_source,
                    force: *force,
                    reset: *reset,
                };
                reconcile_helm_release(&client, namespace, name, requests, deadline).await
            }
            ReconcileKind::Image(target) => {
                reconcile_image(client, namespace, target, deadline).await
            }
            ReconcileKind::Receiver { name } => {
                let api = Api::<Receiver>::namespaced(client, namespace);
                reconcile(&api, namespace, name, deadline).await
            }
        }
    })
}

async fn reconcile_image(
    client: kube::Client,
    namespace: &str,
    target: &ImageTarget,
    deadline: Instant,
) -> anyhow::Result<()> {
    match target {
        ImageTarget::Repository { name } => {
            let api = Api::<ImageRepository>::namespaced(client, namespace);
            reconcile(&api, namespace, name, deadline).await
        }
        ImageTarget::Policy { name } => {
            let api = Api::<ImagePolicy>::namespaced(client, namespace);
            reconcile(&api, namespace, name, deadline).await
        }
        ImageTarget::Update { name } => {
            let api = Api::<ImageUpdateAutomation>::namespaced(client, namespace);
            reconcile(&api, namespace, name, deadline).await
        }
    }
}

async fn reconcile_kustomization(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    with_source: bool,
    deadline: Instant,
) -> anyhow::Result<()> {
    let api = Api::<Kustomization>::namespaced(client.clone(), namespace);
    if with_source {
        let kustomization = get_named(&api, namespace, name).await?;
        ensure_not_suspended(&kustomization, namespace, name)?;
        let source = &kustomization.spec.source_ref;
        let source_namespace = source.namespace.as_deref().unwrap_or(namespace);
        match source.kind {
            SourceKind::GitRepository => {
                let sources = Api::<GitRepository>::namespaced(client.clone(), source_namespace);
                reconcile(&sources, source_namespace, &source.name, deadline).await?;
            }
            SourceKind::OciRepository => {
                let sources = Api::<OCIRepository>::namespaced(client.clone(), source_namespace);
                reconcile(&sources, source_namespace, &source.name, deadline).await?;
            }
            SourceKind::Bucket => {
                let sources = Api::<Bucket>::namespaced(client.clone(), source_namespace);
                reconcile(&sources, source_namespace, &source.name, deadline).await?;
            }
            ref other => bail!("cannot reconcile source of kind {other}"),
        }
    }
    reconcile(&api, namespace, name, deadline).await
}

/// What `reconcile helmrelease` asks for besides a reconcile.
#[derive(Debug, Clone, Copy)]
struct ReleaseRequests {
    with_source: bool,
    force: bool,
    reset: bool,
}

/// `flux reconcile hr`: the source first with `--with-source`, then the HelmRelease, with
/// `forceAt` / `resetAt` set to the reconcile request's value as asked.
async fn reconcile_helm_release(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    requests: ReleaseRequests,
    deadline: Instant,
) -> anyhow::Result<()> {
    let api = Api::<HelmRelease>::namespaced(client.clone(), namespace);
    if requests.with_source {
        let release = get_named(&api, namespace, name).await?;
        ensure_not_suspended(&release, namespace, name)?;
        reconcile_release_source(client, &release, deadline).await?;
    }
    let mut also = Vec::new();
    if requests.force {
        also.push(FORCE_REQUEST_ANNOTATION);
    }
    if requests.reset {
        also.push(RESET_REQUEST_ANNOTATION);
    }
    reconcile_requesting(&api, namespace, name, &also, deadline).await
}

/// Flux's `getSource` of a HelmRelease: the HelmChart made from `spec.chart` (named
/// `<namespace>-<name>`, in its source's namespace) or the `chartRef`'s HelmChart, each with
/// its own source first, or the `chartRef`'s OCIRepository.
async fn reconcile_release_source(
    client: &kube::Client,
    release: &HelmRelease,
    deadline: Instant,
) -> anyhow::Result<()> {
    let own = release.metadata.namespace.as_deref().unwrap_or_default();
    if let Some(reference) = &release.spec.chart_ref {
        let namespace = reference.namespace.as_deref().unwrap_or(own);
        return match reference.kind {
            ChartRefKind::HelmChart => {
                reconcile_chart_with_source(client, namespace, &reference.name, deadline).await
            }
            ChartRefKind::OciRepository => {
                let api = Api::<OCIRepository>::namespaced(client.clone(), namespace);
                reconcile(&api, namespace, &reference.name, deadline).await
            }
            ref other => bail!("cannot reconcile source of kind {other}"),
        };
    }
    let Some(template) = &release.spec.chart else {
        bail!("HelmRelease has neither spec.chart nor spec.chartRef");
    };
    let source_namespace = template.spec.source_ref.namespace.as_deref();
    let namespace = source_namespace.filter(|n| !n.is_empty()).unwrap_or(own);
    let chart = release.helm_chart_name();
    reconcile_chart_with_source(client, namespace, &chart, deadline).await
}

/// A HelmChart's source (a HelmRepository or GitRepository in its namespace), then the chart.
async fn reconcile_chart_with_source(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    let api = Api::<HelmChart>::namespaced(client.clone(), namespace);
    let chart = get_named(&api, namespace, name).await?;
    ensure_not_suspended(&chart, namespace, name)?;
    let source = &chart.spec.source_ref;
    match source.kind {
        HelmChartSourceKind::HelmRepository => {
            let sources = Api::<HelmRepository>::namespaced(client.clone(), namespace);
            reconcile(&sources, namespace, &source.name, deadline).await?;
        }
        HelmChartSourceKind::GitRepository => {
            let sources = Api::<GitRepository>::namespaced(client.clone(), namespace);
            reconcile(&sources, namespace, &source.name, deadline).await?;
        }
        ref other => bail!("cannot reconcile source of kind {other}"),
    }
    reconcile(&api, namespace, name, deadline).await
}

/// Requests a reconcile of a not suspended object and waits for a Ready result.
async fn reconcile<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    reconcile_requesting(api, namespace, name, &[], deadline).await
}

/// [`reconcile`], with the annotations `also` set to the reconcile request's value.
async fn reconcile_requesting<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    also: &[&str],
    deadline: Instant,
) -> anyhow::Result<()> {
    let object = get_named(api, namespace, name).await?;
    if object.is_static() {
        success("reconciliation not supported by the object");
        return Ok(());
    }
    ensure_not_suspended(&object, namespace, name)?;
    let kind = K::kind(&());
    action(&format!(
        "annotating {kind} {name} in {namespace} namespace"
    ));
    let requested = request_reconcile(api, namespace, name, None, also).await?;
    success(&format!("{kind} annotated"));
    waiting(&format!("waiting for {kind} reconciliation"));
    let object = wait_handled(api, namespace, name, &requested, deadline).await?;
    if let Some(message) = not_ready_message(&object) {
        bail!("{kind} reconciliation failed: {message}");
    }
    success(&object.success_message());
    Ok(())
}

fn ensure_not_suspended<K: FluxObject>(
    object: &K,
    namespace: &str,
    name: &str,
) -> anyhow::Result<()> {
    if object.suspended() {
        bail!("{} is suspended", object_label::<K>(namespace, name));
    }
    Ok(())
}

/// Sets the reconcile request annotation, and the annotations `also`, to now, with `spec` (a
/// merge patch of the spec, e.g. resuming) in the same write, and returns the value set.
pub async fn request_reconcile<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    spec: Option<serde_json::Value>,
    also: &[&str],
) -> anyhow::Result<String> {
    let requested = Timestamp::now().to_string();
    let mut annotations = serde_json::Map::new();
    for annotation in std::iter::once(&RECONCILE_REQUEST_ANNOTATION).chain(also) {
        annotations.insert((*annotation).to_owned(), json!(requested));
    }
    let mut patch = json!({"metadata": {"annotations": annotations}});
    if let (Some(spec), Some(fields)) = (spec, patch.as_object_mut()) {
        fields.insert("spec".to_owned(), spec);
    }
    cluster::merge_patch(api, namespace, name, &patch).await?;
    Ok(requested)
}

/// Reads the object until it has handled `requested` and settled; fails when it stalls or at
/// the deadline.
pub async fn wait_handled<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    requested: &str,
    deadline: Instant,
) -> anyhow::Result<K> {
    loop {
        let object = get_named(api, namespace, name).await?;
        match progress(&object, requested) {
            Progress::Settled => return Ok(object),
            Progress::Stalled(message) => {
                bail!("{} reconciliation failed: {message}", K::kind(&()))
            }
            Progress::Pending if Instant::now() >= deadline => bail!(
                "timed out waiting for {} reconciliation",
                object_label::<K>(namespace, name)
            ),
            Progress::Pending => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Why the object is not Ready: the Ready condition's message, or `None` when Ready is True.
pub fn not_ready_message<K: FluxObject>(object: &K) -> Option<String> {
    match object.condition("Ready") {
        None => Some("status can't be determined".to_owned()),
        Some(ready) if ready.status != "True" => Some(ready.message.clone()),
        Some(_) => None,
    }
}

/// Where a requested reconcile stands.
#[derive(Debug, PartialEq)]
pub enum Progress {
    /// Not handled yet, or still reconciling.
    Pending,
    /// Handled, the status is for the current generation and nothing is in progress.
    Settled,
    /// The controller gave up (`Stalled=True`), with its message.
    Stalled(String),
}

/// Whether `object` has handled the reconcile request `requested`: kstatus's reading of the
/// conditions (Reconciling, Stalled, observedGeneration) plus a Ready that is not Unknown.
pub fn progress<K: FluxObject>(object: &K, requested: &str) -> Progress {
    let is_true = |type_: &str| object.condition(type_).filter(|c| c.status == "True");
    if object.last_handled_reconcile_at() != Some(requested)
        || object.observed_generation() != object.meta().generation
        || is_true("Reconciling").is_some()
    {
        return Progress::Pending;
    }
    if let Some(stalled) = is_true("Stalled") {
        return Progress::Stalled(stalled.message.clone());
    }
    match object.condition("Ready") {
        Some(ready) if ready.status != "Unknown" => Progress::Settled,
        _ => Progress::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUESTED: &str = "2024-05-01T10:00:00.123456789Z";

    fn kustomization(generation: i64, status: serde_json::Value) -> Kustomization {
        let object = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": "flux-system", "generation": generation},
            "spec": {"interval": "10m", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}},
            "status": status,
        });
        serde_json::from_value(object).expect("a valid Kustomization")
    }

    fn status(handled: &str, conditions: &[(&str, &str)]) -> serde_json::Value {
        let conditions: Vec<_> = conditions
            .iter()
            .map(|(t, s)| {
                json!({"type": t, "status": s, "reason": "R", "message": format!("{t} {s}"),
                "lastTransitionTime": "2024-01-01T00:00:00Z"})
            })
            .collect();
        json!({"lastHandledReconcileAt": handled, "observedGeneration": 2,
               "conditions": conditions, "lastAppliedRevision": "main@sha1:abc"})
    }

    #[test]
    fn pending_until_the_request_is_handled() {
        let old = kustomization(2, status("earlier", &[("Ready", "True")]));
        assert_eq!(progress(&old, REQUESTED), Progress::Pending);
    }

    #[test]
    fn pending_while_reconciling_unknown_or_behind_the_generation() {
        let reconciling = status(REQUESTED, &[("Ready", "Unknown"), ("Reconciling", "True")]);
        assert_eq!(
            progress(&kustomization(2, reconciling), REQUESTED),
            Progress::Pending
        );
        let unknown = status(REQUESTED, &[("Ready", "Unknown")]);
        assert_eq!(
            progress(&kustomization(2, unknown), REQUESTED),
            Progress::Pending
        );
        let behind = status(REQUESTED, &[("Ready", "True")]);
        assert_eq!(
            progress(&kustomization(3, behind), REQUESTED),
            Progress::Pending
        );
    }

    #[test]
    fn settled_when_ready_is_decided_and_stalled_fails() {
        let ready = kustomization(2, status(REQUESTED, &[("Ready", "True")]));
        assert_eq!(progress(&ready, REQUESTED), Progress::Settled);
        assert_eq!(not_ready_message(&ready), None);
        let failed = kustomization(2, status(REQUESTED, &[("Ready", "False")]));
        assert_eq!(progress(&failed, REQUESTED), Progress::Settled);
        assert_eq!(not_ready_message(&failed).as_deref(), Some("Ready False"));
        let stalled = status(REQUESTED, &[("Ready", "False"), ("Stalled", "True")]);
        assert_eq!(
            progress(&kustomization(2, stalled), REQUESTED),
            Progress::Stalled("Stalled True".into())
        );
    }

    #[test]
    fn requests_are_rfc3339_utc_like_go_rfc3339nano() {
        let now = Timestamp::now().to_string();
        assert!(now.ends_with('Z'), "{now}");
        assert!(
            !now.contains(".") || !now.trim_end_matches('Z').ends_with('0'),
            "{now}"
        );
    }
}
