//! `tether get|reconcile|suspend|resume|debug|tree helmrelease` as processes against the local
//! control plane, a `tether controller` and a chart repository on loopback (nginx serving what
//! the Go-built helm packaged): Flux's tables, progress lines and messages, and their effects —
//! `--with-source` picks up a newly published chart, `--force` makes a new Helm revision
//! without a spec change (the Go-built `helm history` shows it), `--reset` lets a release that
//! ran out of retries try again.

mod common;

use anyhow::{Context, ensure};
use common::{ControllerProcess, row, tether, tether_ok, texts};
use k8s_openapi::api::core::v1::{ConfigMap, ResourceQuota, Secret};
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::chartrepo::{ChartRepoServer, run_helm};
use tether_testkit::cluster::{TestNamespace, client, install_crds, wait_for};
use tether_testkit::flux::{create, dynamic_api, wait_ready_where};

/// `helm history NAME -n NAMESPACE -o json`, as the Go-built helm reads it.
fn helm_history(namespace: &str, name: &str) -> anyhow::Result<Vec<Value>> {
    let args = ["history", name, "-n", namespace, "-o", "json"].map(std::ffi::OsString::from);
    Ok(serde_json::from_str(&run_helm(&args)?)?)
}

/// A namespace holding HelmRepository `charts` (chart `web` 1.0.0 published), and the API of
/// its HelmReleases.
struct Fixture {
    ns: TestNamespace,
    server: ChartRepoServer,
    releases: Api<DynamicObject>,
}

impl Fixture {
    async fn start(prefix: &str) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let server = ChartRepoServer::start()?;
        server.publish_chart("web", "1.0.0", "")?;
        let repositories = dynamic_api(
            &client,
            &ns.name,
            "source.toolkit.fluxcd.io",
            "v1",
            "HelmRepository",
        );
        create(
            &repositories,
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": {"name": "charts", "namespace": ns.name},
                "spec": {"url": server.url(), "interval": "10m"}}),
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
            server,
            releases,
        })
    }

    /// HelmRelease `web` of chart `web` `1.x` from `charts`, with `extra` spec fields.
    async fn create_release(&self, extra: Value) -> anyhow::Result<()> {
        let mut spec = json!({"interval": "10m", "timeout": "60s",
            "chart": {"spec": {"chart": "web", "version": "1.x",
                "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        create(
            &self.releases,
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "web", "namespace": self.ns.name}, "spec": spec}),
        )
        .await
    }

    async fn release(&self) -> anyhow::Result<Value> {
        Ok(serde_json::to_value(self.releases.get("web").await?)?)
    }

    async fn create_object<K>(&self, object: Value) -> anyhow::Result<()>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + k8s_openapi::serde::de::DeserializeOwned
            + k8s_openapi::serde::Serialize
            + std::fmt::Debug,
    {
        let object: K = serde_json::from_value(object)?;
        self.ns
            .api::<K>()
            .create(&PostParams::default(), &object)
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn helm_release_verbs_show_and_change_a_release_as_flux_does() -> anyhow::Result<()> {
    let fx = Fixture::start("verbs-hr").await?;
    let ns = fx.ns.name.as_str();
    fx.create_object::<ConfigMap>(json!({"metadata": {"name": "web-values"},
        "data": {"values.yaml": "cm: test\noverride: cm\n"}}))
        .await?;
    fx.create_object::<Secret>(json!({"metadata": {"name": "web-secret"},
        "stringData": {"secrets.yaml": "secret: test\noverride: secret\n",
                       "flatValue": "some-flat-value"}}))
        .await?;
    fx.create_release(json!({
    "values": {"replicas": 2},
    "valuesFrom": [
        {"kind": "ConfigMap", "name": "web-values"},
        {"kind": "Secret", "name": "web-secret", "valuesKey": "secrets.yaml"},
        {"kind": "Secret", "name": "web-secret", "valuesKey": "flatValue",
         "targetPath": "aFlatValue"},
        {"kind": "ConfigMap", "name": "none", "optional": true},
    ]}))
    .await?;
    let _controller = ControllerProcess::start(ns, &[])?;
    wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;

    // get: Flux's columns, the chart version as REVISION, the Ready message.
    let (table, _) = tether_ok(&["get", "helmreleases", "-n", ns]).await?;
    assert_eq!(
        row(&table, "NAME"),
        Some(vec!["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]),
        "{table}"
    );
    let installed = format!("Helm install succeeded for release {ns}/web.v1 with chart web@1.0.0");
    assert_eq!(
        row(&table, "web").map(|r| r[..5].to_vec()),
        Some(vec!["web", "1.0.0", "False", "True", installed.as_str()]),
        "{table}"
    );
    let (table, _) = tether_ok(&["get", "hr", "web", "-A", "--no-header"]).await?;
    assert_eq!(
        row(&table, ns).map(|r| r[..3].to_vec()),
        Some(vec![ns, "web", "1.0.0"])
    );
    assert!(!table.contains("NAMESPACE"), "{table}");
    let (table, _) =
        tether_ok(&["get", "hr", "-n", ns, "--status-selector", "ready=false"]).await?;
    assert_eq!(row(&table, "web"), None, "{table}");

    // debug: the values the release gets, Secrets' included, as Flux prints them.
    let (values, _) = tether_ok(&["debug", "hr", "web", "--show-values", "-n", ns]).await?;
    assert_eq!(
        values,
        "aFlatValue: some-flat-value\ncm: test\noverride: secret\nreplicas: 2\nsecret: test\n"
    );
    let (history, _) = tether_ok(&["debug", "hr", "web", "--show-history", "-n", ns]).await?;
    assert!(
        history.starts_with("# History documentation: https://fluxcd.io/flux/components/helm/helmreleases/#history\n- ")
            && history.contains("\n  chartVersion: 1.0.0\n"),
        "{history}"
    );
    let refused = tether(&["debug", "hr", "web", "-n", ns]).await?;
    let (_, error) = texts(&refused);
    assert!(!refused.status.success());
    assert!(
        error
            .contains("exactly one of --show-status, --show-values, or --show-history must be set"),
        "{error}"
    );

    // tree: the objects of the release as Helm stored them.
    let (tree, _) = tether_ok(&["tree", "hr", "web", "-n", ns]).await?;
    assert_eq!(
        tree,
        format!(
            "HelmRelease/{ns}/web\n├── ServiceAccount/{ns}/web\n├── Service/{ns}/web\n└── Deployment/{ns}/web\n\n"
        )
    );
    let (tree, _) = tether_ok(&["tree", "hr", "web", "--compact", "-n", ns]).await?;
    assert_eq!(tree, format!("HelmRelease/{ns}/web\n\n"));

    // --with-source: the repository and the chart first, so a new chart version is released.
    fx.server.publish_chart("web", "1.1.0", "")?;
    let (_, log) = tether_ok(&["reconcile", "hr", "web", "--with-source", "-n", ns]).await?;
    let fetched = log
        .lines()
        .nth(3)
        .and_then(|l| l.strip_prefix("✔ fetched revision sha256:"))
        .context("the repository's revision")?;
    let expected = format!(
        "► annotating HelmRepository charts in {ns} namespace\n\
         ✔ HelmRepository annotated\n\
         ◎ waiting for HelmRepository reconciliation\n\
         ✔ fetched revision sha256:{fetched}\n\
         ► annotating HelmChart {ns}-web in {ns} namespace\n\
         ✔ HelmChart annotated\n\
         ◎ waiting for HelmChart reconciliation\n\
         ✔ fetched revision 1.1.0\n\
         ► annotating HelmRelease web in {ns} namespace\n\
         ✔ HelmRelease annotated\n\
         ◎ waiting for HelmRelease reconciliation\n\
         ✔ applied revision 1.1.0\n"
    );
    assert_eq!(log, expected);
    ensure!(helm_history(ns, "web")?.len() == 2);

    // A plain reconcile of a release in sync releases nothing; --force does, with no spec change.
    let generation = fx.release().await?["metadata"]["generation"].clone();
    let (_, log) = tether_ok(&["reconcile", "hr", "web", "-n", ns]).await?;
    assert!(log.ends_with("✔ applied revision 1.1.0\n"), "{log}");
    ensure!(helm_history(ns, "web")?.len() == 2, "nothing to release");
    let (_, log) = tether_ok(&["reconcile", "hr", "web", "--force", "-n", ns]).await?;
    assert!(log.ends_with("✔ applied revision 1.1.0\n"), "{log}");
    let history = helm_history(ns, "web")?;
    let newest = history.last().context("a revision")?;
    ensure!(
        history.len() == 3
            && newest["revision"] == 3
            && newest["status"] == "deployed"
            && newest["chart"] == "web-1.1.0",
        "helm history: {history:?}"
    );
    let forced = fx.release().await?;
    ensure!(
        forced["metadata"]["generation"] == generation,
        "no spec change"
    );
    let force_at = &forced["metadata"]["annotations"]["reconcile.fluxcd.io/forceAt"];
    ensure!(
        force_at.is_string()
            && forced["status"]["lastHandledForceAt"] == *force_at
            && forced["status"]["lastHandledReconcileAt"] == *force_at
            && forced["status"]["lastAttemptedReleaseAction"] == "upgrade",
        "status: {}",
        forced["status"]
    );
    // The request is spent: reconciling again releases nothing more.
    tether_ok(&["reconcile", "hr", "web", "-n", ns]).await?;
    ensure!(
        helm_history(ns, "web")?.len() == 3,
        "the force request was handled once"
    );

    // suspend / resume: Flux's lines; a suspended release is not reconciled.
    let (_, log) = tether_ok(&["suspend", "hr", "web", "-n", ns]).await?;
    assert_eq!(
        log,
        format!("► suspending helmrelease web in {ns} namespace\n✔ helmrelease suspended\n")
    );
    let (table, _) = tether_ok(&["get", "hr", "web", "-n", ns]).await?;
    assert_eq!(row(&table, "web").map(|r| r[2]), Some("True"), "{table}");
    let refused = tether(&["reconcile", "hr", "web", "-n", ns]).await?;
    let (_, error) = texts(&refused);
    assert!(
        !refused.status.success() && error.contains("is suspended"),
        "{error}"
    );
    let (_, log) = tether_ok(&["resume", "hr", "web", "-n", ns]).await?;
    assert_eq!(
        log,
        format!(
            "► resuming helmrelease web in {ns} namespace\n\
             ✔ helmrelease resumed\n\
             ◎ waiting for HelmRelease reconciliation\n\
             ✔ HelmRelease web reconciliation completed\n\
             ✔ applied revision 1.1.0\n"
        )
    );
    Ok(())
}

#[tokio::test]
async fn reset_lets_a_release_out_of_retries_try_again() -> anyhow::Result<()> {
    let fx = Fixture::start("verbs-hr-reset").await?;
    let ns = fx.ns.name.as_str();
    // No Deployment may be created here: the install fails, and with no retries it stalls.
    fx.create_object::<ResourceQuota>(json!({"metadata": {"name": "no-deployments"},
        "spec": {"hard": {"count/deployments.apps": "0"}}}))
        .await?;
    let quotas = fx.ns.api::<ResourceQuota>();
    wait_for(&quotas, "no-deployments", Duration::from_secs(60), |q| {
        q.status.as_ref().and_then(|s| s.hard.as_ref()).is_some()
    })
    .await
    .context("the quota is in force")?;
    fx.create_release(json!({})).await?;
    let _controller = ControllerProcess::start(ns, &[])?;
    let failed = wait_ready_where(&fx.releases, "web", |s, _, _| s == "False").await?;
    let stalled = wait_for(&fx.releases, "web", Duration::from_secs(60), |hr| {
        let status = &hr.data["status"];
        status["installFailures"] == 1
            && status["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Stalled" && c["status"] == "True")
            })
    })
    .await
    .with_context(|| format!("stalled out of retries: {}", failed["status"]))?;
    let failures = |hr: &Value| hr["status"]["installFailures"].clone();
    ensure!(failures(&serde_json::to_value(&stalled)?) == 1);

    // The cause is gone, but without a change the release stays out of retries.
    quotas.delete("no-deployments", &Default::default()).await?;
    let refused = tether(&["reconcile", "hr", "web", "-n", ns]).await?;
    let (_, error) = texts(&refused);
    assert!(
        !refused.status.success() && error.contains("HelmRelease reconciliation failed"),
        "{error}"
    );
    ensure!(failures(&fx.release().await?) == 1, "counters kept");

    // --reset clears the counters: the release tries again and succeeds.
    let (_, log) = tether_ok(&["reconcile", "hr", "web", "--reset", "-n", ns]).await?;
    assert!(log.ends_with("✔ applied revision 1.0.0\n"), "{log}");
    let reset = fx.release().await?;
    let status = &reset["status"];
    ensure!(
        status["installFailures"].is_null()
            && status["upgradeFailures"].is_null()
            && status["failures"].is_null(),
        "counters reset: {status}"
    );
    let reset_at = &reset["metadata"]["annotations"]["reconcile.fluxcd.io/resetAt"];
    ensure!(
        reset_at.is_string() && status["lastHandledResetAt"] == *reset_at,
        "{status}"
    );
    let history = helm_history(ns, "web")?;
    ensure!(
        history.last().is_some_and(|r| r["status"] == "deployed"),
        "helm history: {history:?}"
    );
    Ok(())
}
