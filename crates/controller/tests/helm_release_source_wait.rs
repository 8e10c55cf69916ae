//! A HelmRelease whose chart source is not ready waits for it as helm-controller does, on the
//! in-process controller against the real control plane, with charts served over HTTP by the
//! Go-built `helm repo index`: releases that exist before their HelmRepository has fetched (a
//! migration, a controller start) install once their HelmCharts have an artifact, woken by
//! the HelmChart watch, without a reconcile error, a Warning event or a not-ready status on
//! the way; a chart that cannot be had is reported with helm-controller's `SourceNotReady`
//! and its words, and a fixed chart spec installs at once.

mod common;

use anyhow::{Context, ensure};
use common::InProcessController;
use futures::StreamExt;
use k8s_openapi::api::events::v1::Event;
use kube::api::Api;
use kube::runtime::watcher;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether_api::helm::v2::HelmRelease;
use tether_testkit::chartrepo::ChartRepoServer;
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{condition, create, dynamic_api, merge_patch, wait_ready_where};

/// Longer than any wait below: a release that becomes Ready was woken by a watch, not by the
/// dependency requeue.
const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(300);

struct Fixture {
    ns: TestNamespace,
    client: kube::Client,
    releases: Api<kube::api::DynamicObject>,
    _repo: ChartRepoServer,
}

impl Fixture {
    /// A chart repository holding `podinfo` 6.7.0 and the HelmRepository `charts` serving it.
    async fn start(prefix: &str) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let repo = ChartRepoServer::start()?;
        repo.publish_chart("podinfo", "6.7.0", "6.7.0")?;
        let group = "source.toolkit.fluxcd.io";
        let repositories = dynamic_api(&client, &ns.name, group, "v1", "HelmRepository");
        create(
            &repositories,
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": {"name": "charts", "namespace": ns.name},
                "spec": {"interval": "1h", "url": repo.url()}}),
        )
        .await?;
        let releases = dynamic_api(
            &client,
            &ns.name,
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
        );
        Ok(Self {
            ns,
            client,
            releases,
            _repo: repo,
        })
    }

    /// A HelmRelease `name` of `podinfo` at `version` from the HelmRepository `charts`.
    async fn create_release(&self, name: &str, version: &str) -> anyhow::Result<()> {
        create(
            &self.releases,
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": name, "namespace": self.ns.name},
                "spec": {"interval": "1h", "driftDetection": {"mode": "enabled"},
                    "chart": {"spec": {"chart": "podinfo", "version": version, "interval": "1h",
                        "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}}),
        )
        .await
    }

    async fn start_controller(&self) -> anyhow::Result<InProcessController> {
        InProcessController::start_with(&self.ns.name, |options| {
            options.dependency_requeue = DEPENDENCY_REQUEUE;
        })
        .await
    }

    /// The Warning events about objects of the namespace, as `reason: note`.
    async fn warnings(&self) -> anyhow::Result<Vec<String>> {
        let events: Api<Event> = self.ns.api();
        Ok(events
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .filter(|e| e.type_.as_deref() == Some("Warning"))
            .map(|e| {
                format!(
                    "{}: {}",
                    e.reason.unwrap_or_default(),
                    e.note.unwrap_or_default()
                )
            })
            .collect())
    }
}

/// Every Ready condition the HelmReleases of the namespace show from now on, as
/// `name: status reason: message`, kept until the returned guard is dropped.
fn record_ready_conditions(
    client: &kube::Client,
    ns: &str,
) -> (Arc<Mutex<Vec<String>>>, RecordGuard) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), ns);
    let recorder = seen.clone();
    let task = tokio::spawn(async move {
        let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(event) = events.next().await {
            let (watcher::Event::Apply(hr) | watcher::Event::InitApply(hr)) = (match event {
                Ok(event) => event,
                Err(_) => continue,
            }) else {
                continue;
            };
            let conditions = hr.status.as_ref().and_then(|s| s.conditions.clone());
            let ready = conditions.iter().flatten().find(|c| c.type_ == "Ready");
            if let (Some(ready), Ok(mut seen)) = (ready, recorder.lock()) {
                let name = hr.metadata.name.clone().unwrap_or_default();
                seen.push(format!(
                    "{name}: {} {}: {}",
                    ready.status, ready.reason, ready.message
                ));
            }
        }
    });
    (seen, RecordGuard(task))
}

struct RecordGuard(tokio::task::JoinHandle<()>);

impl Drop for RecordGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_created_before_their_repository_fetched_install_without_errors_or_churn()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-wait-source").await?;
    // The releases exist before the controller starts, as at a migration or in the benchmark:
    // each runs before its HelmChart has an artifact, each chart before the repository has
    // fetched its index.
    let names = ["app-1", "app-2", "app-3", "app-4"];
    for name in names {
        fx.create_release(name, "6.x").await?;
    }
    let (seen, _recording) = record_ready_conditions(&fx.client, &fx.ns.name);
    let controller = fx.start_controller().await?;
    let started = Instant::now();
    for name in names {
        let ready = wait_ready_where(&fx.releases, name, |s, _, _| s == "True").await?;
        let (_, reason, message) = condition(&ready, "Ready").context("Ready")?;
        ensure!(reason == "InstallSucceeded", "{name}: {reason}: {message}");
    }
    ensure!(
        started.elapsed() < DEPENDENCY_REQUEUE,
        "woken by the HelmChart watch, not the dependency requeue"
    );

    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let churn: Vec<&String> = seen.iter().filter(|s| !s.contains(" True ")).collect();
    ensure!(
        churn.is_empty(),
        "a not-ready status on the way: {churn:#?}"
    );
    for kind in ["helmrelease", "helmchart", "helmrepository"] {
        let errors = controller.metrics.reconcile_errors(kind)?;
        ensure!(errors == 0, "{errors} {kind} reconciles ended in an error");
    }
    let warnings = fx.warnings().await?;
    ensure!(warnings.is_empty(), "{warnings:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_that_cannot_be_had_is_reported_in_helm_controllers_words_and_a_fix_installs_at_once()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-source-not-ready").await?;
    let _controller = fx.start_controller().await?;
    fx.create_release("app", "99.x").await?;
    let failed = wait_ready_where(&fx.releases, "app", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&failed, "Ready").context("Ready")?;
    ensure!(reason == "SourceNotReady", "{reason}: {message}");
    let ns = &fx.ns.name;
    let charts = dynamic_api(
        &fx.client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "HelmChart",
    );
    let chart: Value = serde_json::to_value(charts.get(&format!("{ns}-app")).await?)?;
    let (stalled, _, why) = condition(&chart, "Stalled").context("the HelmChart stalls")?;
    ensure!(stalled == "True" && why.contains("99.x"), "{why}");
    ensure!(
        message == format!("HelmChart '{ns}/{ns}-app' is not ready: {why}"),
        "{message}"
    );
    // helm-controller tells a source that is not ready in the condition only.
    let warnings = fx.warnings().await?;
    ensure!(
        !warnings.iter().any(|w| w.starts_with("SourceNotReady")),
        "{warnings:#?}"
    );

    // Fixed, it installs as soon as the HelmChart has its artifact.
    let started = Instant::now();
    merge_patch(
        &fx.releases,
        "app",
        json!({"spec": {"chart": {"spec": {"version": "6.x"}}}}),
    )
    .await?;
    let ready = wait_ready_where(&fx.releases, "app", |s, _, _| s == "True").await?;
    let (_, reason, message) = condition(&ready, "Ready").context("Ready")?;
    ensure!(reason == "InstallSucceeded", "{reason}: {message}");
    ensure!(message.ends_with("with chart podinfo@6.7.0"), "{message}");
    ensure!(
        started.elapsed() < DEPENDENCY_REQUEUE,
        "woken by the HelmChart watch, not the dependency requeue"
    );
    Ok(())
}
