//! A `tether controller` process SIGKILLed in the middle of a Helm upgrade (its pre-upgrade hook
//! Job can never be scheduled, so the release stays `pending-upgrade`) leaves the release
//! locked; the next controller recovers it without anyone running `helm rollback`: the stale
//! record is marked failed ("Release unlocked from stale 'pending-upgrade' state") and the
//! release is upgraded to what the HelmRelease asks now.

mod common;

use anyhow::{Context, bail, ensure};
use common::ControllerProcess;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tether_testkit::chartrepo::{ChartRepoServer, run_helm};
use tether_testkit::charts::{ChartSpec, write_chart};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{condition, create, dynamic_api, merge_patch, wait_ready_where};

/// A pre-upgrade hook whose Pod asks for a node that does not exist, when `slowHook` is set.
const SLOW_HOOK: &str = r#"{{- if .Values.slowHook }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-slow-hook
  annotations:
    helm.sh/hook: pre-upgrade
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      nodeSelector:
        tether.test/never: scheduled
      containers:
        - name: wait
          image: busybox
          command: ["true"]
{{- end }}
"#;

fn history(namespace: &str) -> anyhow::Result<Vec<Value>> {
    let args = ["history", "web", "-n", namespace, "-o", "json"].map(std::ffi::OsString::from);
    Ok(serde_json::from_str(&run_helm(&args)?)?)
}

#[tokio::test]
async fn a_controller_killed_during_an_upgrade_is_recovered_by_the_next_one() -> anyhow::Result<()>
{
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "hr-crash").await?;
    let repo = ChartRepoServer::start()?;
    let work = tempfile::tempdir()?;
    let chart = write_chart(work.path(), &ChartSpec::new("web", "1.0.0", ""))?;
    std::fs::write(chart.join("templates/slow-hook.yaml"), SLOW_HOOK)?;
    repo.publish(&chart)?;
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
    create(
        &releases,
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": ns.name},
            "spec": {"interval": "1h", "timeout": "10m", "values": {"replicas": 1},
                "chart": {"spec": {"chart": "web", "version": "1.x",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}}),
    )
    .await?;
    let mut first = ControllerProcess::start(&ns.name, &[])?;
    wait_ready_where(&releases, "web", |s, _, _| s == "True").await?;

    // The upgrade blocks in its hook: revision 2 stays pending-upgrade. Then SIGKILL.
    merge_patch(
        &releases,
        "web",
        json!({"spec": {"values": {"replicas": 2, "slowHook": true}}}),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let records = history(&ns.name)?;
        if records
            .last()
            .is_some_and(|r| r["status"] == "pending-upgrade")
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("no pending upgrade: {records:?}\n{}", first.log_text());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    first.child.kill().context("SIGKILL")?;
    first.child.wait()?;
    drop(first);

    // What the release should be now; a new controller recovers the lock and gets there.
    merge_patch(
        &releases,
        "web",
        json!({"spec": {"values": {"replicas": 3, "slowHook": false}}}),
    )
    .await?;
    let second = ControllerProcess::start(&ns.name, &[])?;
    let recovered = wait_ready_where(&releases, "web", |s, _, m| {
        s == "True" && m.contains("web.v3")
    })
    .await
    .with_context(|| second.log_text())?;
    let (_, reason, message) = condition(&recovered, "Ready").context("Ready")?;
    ensure!(reason == "UpgradeSucceeded", "{reason}: {message}");
    let records = history(&ns.name)?;
    let statuses: Vec<&str> = records
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    ensure!(
        statuses == ["superseded", "failed", "deployed"],
        "{records:?}"
    );
    ensure!(
        records[1]["description"] == "Release unlocked from stale 'pending-upgrade' state",
        "{records:?}"
    );
    let deployment = ns
        .api::<k8s_openapi::api::apps::v1::Deployment>()
        .get("web")
        .await?;
    ensure!(deployment.spec.and_then(|s| s.replicas) == Some(3));
    Ok(())
}
