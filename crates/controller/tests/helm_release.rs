//! HelmRelease end to end, on the in-process controller against the real control plane: a
//! chart pushed with the Go-built `helm push` to the real OCI registry, served through an
//! OCIRepository (`chartRef`), is installed, upgraded on a values change, rolled back when an
//! upgrade's hook fails (with `upgrade.remediation`), drift is corrected, a missing valuesFrom
//! Secret is reported and leaves the release as it was, and deleting the object uninstalls; the
//! Go-built `helm` lists what tether released. Also: post-renderers and common metadata, bad
//! chart input (schema, template error, invalid values YAML), adoption of a release `helm
//! install` made, and the ownership check of `disableTakeOwnership`.

mod common;

use anyhow::{Context, ensure};
use common::InProcessController;
use common::helm::{Fixture, helm_list, replicas};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::chartrepo::run_helm;
use tether_testkit::charts::{ChartSpec, write_chart};
use tether_testkit::cluster::{TestNamespace, client, install_crds, wait_for};
use tether_testkit::flux::{
    condition, create, dynamic_api, merge_patch, wait_for_gone, wait_ready_where,
};

#[tokio::test]
async fn a_helm_release_installs_upgrades_corrects_drift_and_uninstalls() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-life").await?;
    create(
        &fx.releases,
        fx.release(
            "web",
            json!({"values": {"replicas": 2}, "driftDetection": {"mode": "enabled"}}),
        ),
    )
    .await?;
    let ready = wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    let (_, reason, message) = condition(&ready, "Ready").context("Ready")?;
    ensure!(reason == "InstallSucceeded", "{reason}: {message}");
    ensure!(
        message
            == format!(
                "Helm install succeeded for release {}/web.v1 with chart web@1.0.0",
                fx.ns.name
            ),
        "{message}"
    );
    let deployment = fx.deployment("web").await?.context("installed")?;
    ensure!(replicas(&deployment) == 2);
    let listed = helm_list(&fx.ns.name)?;
    ensure!(
        listed.len() == 1
            && listed[0]["name"] == "web"
            && listed[0]["status"] == "deployed"
            && listed[0]["chart"] == "web-1.0.0",
        "helm list: {listed:?}"
    );

    // A values change upgrades.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"values": {"replicas": 3}}}),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, r, _| {
        s == "True" && r == "UpgradeSucceeded"
    })
    .await?;
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 3);

    // A hand edit is drift: corrected at the next reconcile.
    fx.ns
        .api::<Deployment>()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await?;
    merge_patch(
        &fx.releases,
        "web",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "drift-1"}}}),
    )
    .await?;
    wait_for(
        &fx.ns.api::<Deployment>(),
        "web",
        Duration::from_secs(60),
        |d| replicas(d) == 3,
    )
    .await
    .context("drift corrected")?;

    // A missing valuesFrom Secret: Ready=False naming it, the release left as it was.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"valuesFrom": [{"kind": "Secret", "name": "absent"}]}}),
    )
    .await?;
    let failed = wait_ready_where(&fx.releases, "web", |s, _, m| {
        s == "False" && m.contains("absent")
    })
    .await?;
    let (_, _, message) = condition(&failed, "Ready").context("Ready")?;
    ensure!(
        message.contains(&format!("Secret '{}/absent'", fx.ns.name)),
        "{message}"
    );
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 3);

    // Delete uninstalls.
    fx.releases.delete("web", &Default::default()).await?;
    wait_for_gone(&fx.releases, "web").await?;
    ensure!(fx.deployment("web").await?.is_none(), "uninstalled");
    ensure!(fx.ns.api::<Service>().get_opt("web").await?.is_none());
    ensure!(helm_list(&fx.ns.name)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_failing_upgrade_is_rolled_back_and_reported() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-remediate").await?;
    create(
        &fx.releases,
        fx.release(
            "web",
            json!({"values": {"replicas": 1},
                "upgrade": {"remediation": {"retries": 1, "strategy": "rollback"}}}),
        ),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    // An image that never becomes ready cannot fail on kwok; an invalid field can: the API
    // server refuses a negative replica count, so the upgrade fails and is rolled back.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"values": {"replicas": -1}}}),
    )
    .await?;
    let remediated = wait_ready_where(&fx.releases, "web", |s, r, _| {
        s == "False" && r == "RollbackSucceeded"
    })
    .await?;
    let (status, _, message) = condition(&remediated, "Remediated").context("Remediated")?;
    ensure!(status == "True", "{message}");
    ensure!(
        message.starts_with(&format!(
            "Helm rollback to previous release {}/web.v1 with chart web@1.0.0",
            fx.ns.name
        )),
        "{message}"
    );
    let (_, reason, released) = condition(&remediated, "Released").context("Released")?;
    ensure!(
        reason == "UpgradeFailed" && released.contains("Helm upgrade failed"),
        "{released}"
    );
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 1);
    Ok(())
}

/// helm-operator's manifest from issue 12, unchanged but for the repository URL and the
/// namespace of the object (the in-process controller watches the test's namespace).
#[tokio::test]
async fn a_helm_operator_release_installs_and_helm_lists_it() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "hr-operator").await?;
    let mq = TestNamespace::create(&client, "mq").await?;
    let repo = tether_testkit::chartrepo::ChartRepoServer::start()?;
    repo.publish_chart("rabbitmq", "3.3.5", "")?;
    repo.publish_chart("rabbitmq", "3.3.6", "")?;
    repo.publish_chart("rabbitmq", "3.4.0", "")?;
    let _controller = InProcessController::start(&ns.name).await?;
    let releases = dynamic_api(&client, &ns.name, "helm.fluxcd.io", "v1", "HelmRelease");
    create(
        &releases,
        json!({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
            "metadata": {"name": "rabbit", "namespace": ns.name},
            "spec": {"releaseName": "rabbitmq", "targetNamespace": mq.name, "timeout": 300,
                "chart": {"repository": repo.url(), "name": "rabbitmq", "version": "3.3.6"},
                "values": {"replicas": 1}}}),
    )
    .await?;
    let released = wait_for(&releases, "rabbit", Duration::from_secs(120), |o| {
        let v = serde_json::to_value(o).unwrap_or_default();
        v["status"]["releaseStatus"] == "deployed"
    })
    .await?;
    let status = serde_json::to_value(&released)?["status"].clone();
    ensure!(
        status["releaseName"] == "rabbitmq"
            && status["revision"] == "3.3.6"
            && status["phase"] == "Succeeded",
        "{status}"
    );
    let deployment = mq.api::<Deployment>().get_opt("rabbitmq").await?;
    let deployment = match deployment {
        Some(d) => d,
        None => mq
            .api::<Deployment>()
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .next()
            .context("a Deployment in the target namespace")?,
    };
    ensure!(replicas(&deployment) == 1);
    let listed = helm_list(&mq.name)?;
    ensure!(
        listed.len() == 1
            && listed[0]["name"] == "rabbitmq"
            && listed[0]["chart"] == "rabbitmq-3.3.6"
            && listed[0]["status"] == "deployed",
        "helm list: {listed:?}"
    );
    releases.delete("rabbit", &Default::default()).await?;
    wait_for_gone(&releases, "rabbit").await?;
    ensure!(helm_list(&mq.name)?.is_empty(), "uninstalled on delete");
    Ok(())
}

/// A helm-operator release of a chart kept in Git (`chart.git`, `ref`, `path`, `secretRef`
/// over HTTP basic auth), with values from a file of the chart (`chartFileRef`) and from a URL
/// (`externalSourceRef`): installed at the branch's commit; a commit outside the chart's path
/// records the new commit without upgrading; a commit inside it upgrades; a path that does not
/// exist is reported and leaves the release as it was.
#[tokio::test]
async fn a_helm_operator_release_from_git_follows_its_chart_path() -> anyhow::Result<()> {
    const USER: &str = "charts-reader";
    const PASSWORD: &str = "s3cret-git-pass";
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "hr-operator-git").await?;
    let repo = tether_testkit::git::GitRepoFixture::new("charts")?;
    let server = tether_testkit::git::HttpGitServer::start(&repo.projects_root(), USER, PASSWORD)?;
    let work = tempfile::tempdir()?;
    let chart_dir = write_chart(work.path(), &ChartSpec::new("web", "1.0.0", ""))?;
    let mut files = Vec::new();
    for entry in walk(&chart_dir)? {
        let relative = entry
            .strip_prefix(&chart_dir)?
            .to_string_lossy()
            .into_owned();
        files.push((
            format!("charts/web/{relative}"),
            std::fs::read_to_string(&entry)?,
        ));
    }
    files.push(("charts/web/values-prod.yaml".into(), "replicas: 2\n".into()));
    files.push(("README.md".into(), "charts\n".into()));
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let first = repo.commit("master", &files, "the web chart")?;
    let values_server = tether_testkit::chartrepo::ChartRepoServer::start()?;
    values_server.write_file(
        "external-values.yaml",
        b"podAnnotations:\n  source: external\n",
    )?;
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": {"name": "git-auth"},
        "stringData": {"username": USER, "password": PASSWORD}}))?;
    ns.api::<k8s_openapi::api::core::v1::Secret>()
        .create(&Default::default(), &secret)
        .await?;
    let _controller = InProcessController::start(&ns.name).await?;
    let releases = dynamic_api(&client, &ns.name, "helm.fluxcd.io", "v1", "HelmRelease");
    create(
        &releases,
        json!({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": ns.name},
            "spec": {"releaseName": "web-git",
                "chart": {"git": server.repo_url(repo.name()), "ref": "master",
                    "path": "charts/web", "secretRef": {"name": "git-auth"}},
                "valuesFrom": [
                    {"chartFileRef": {"path": "values-prod.yaml"}},
                    {"externalSourceRef": {"url": format!("{}/external-values.yaml", values_server.url())}}
                ]}}),
    )
    .await?;
    let status_of =
        |o: &DynamicObject| serde_json::to_value(o).unwrap_or_default()["status"].clone();
    let released = wait_for(&releases, "web", Duration::from_secs(120), |o| {
        status_of(o)["releaseStatus"] == "deployed"
    })
    .await?;
    let status = status_of(&released);
    ensure!(
        status["revision"] == first.as_str() && status["phase"] == "Succeeded",
        "{status}"
    );
    let deployments = ns.api::<Deployment>();
    let deployment = deployments.get("web-git").await?;
    ensure!(replicas(&deployment) == 2, "chartFileRef values applied");
    let annotations = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    ensure!(
        annotations.get("source").map(String::as_str) == Some("external"),
        "externalSourceRef values applied: {annotations:?}"
    );
    let request =
        |at: &str| json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": at}}});

    // A commit outside the chart's path: recorded, not released.
    let second = repo.commit("master", &[("README.md", "charts, again\n")], "docs")?;
    merge_patch(&releases, "web", request("one")).await?;
    wait_for(&releases, "web", Duration::from_secs(60), |o| {
        status_of(o)["revision"] == second.as_str()
    })
    .await?;
    let history = helm(&["history", "web-git", "-n", &ns.name, "-o", "json"])?;
    let history: Vec<Value> = serde_json::from_str(&history)?;
    ensure!(
        history.len() == 1,
        "no upgrade for a commit outside the chart: {history:?}"
    );

    // A commit inside it: upgraded.
    let third = repo.commit(
        "master",
        &[("charts/web/values-prod.yaml", "replicas: 3\n")],
        "scale",
    )?;
    merge_patch(&releases, "web", request("two")).await?;
    wait_for(&releases, "web", Duration::from_secs(60), |o| {
        status_of(o)["revision"] == third.as_str()
    })
    .await?;
    ensure!(replicas(&deployments.get("web-git").await?) == 3);
    let history: Vec<Value> = serde_json::from_str(&helm(&[
        "history", "web-git", "-n", &ns.name, "-o", "json",
    ])?)?;
    ensure!(history.len() == 2, "upgraded once: {history:?}");

    // A path that does not exist: reported; the release stays.
    merge_patch(
        &releases,
        "web",
        json!({"spec": {"chart": {"path": "charts/missing"}}}),
    )
    .await?;
    let failed = wait_for(&releases, "web", Duration::from_secs(60), |o| {
        status_of(o)["phase"] == "ChartFetchFailed"
    })
    .await?;
    let message = status_of(&failed)["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ChartFetched"))
        .map(|c| c["message"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    ensure!(
        message.contains("charts/missing") && message.contains("does not exist"),
        "{message}"
    );
    ensure!(!message.contains(PASSWORD), "no secret in the condition");
    ensure!(
        replicas(&deployments.get("web-git").await?) == 3,
        "release unchanged"
    );
    releases.delete("web", &Default::default()).await?;
    wait_for_gone(&releases, "web").await?;
    Ok(())
}

/// helm-operator's `test`: a release whose tests pass is `Tested` then `Succeeded`; an upgrade
/// whose tests fail is rolled back (`rollback.enable`), and the failure is reported.
#[tokio::test]
async fn a_helm_operator_release_is_tested_and_rolled_back_when_its_tests_fail()
-> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "hr-operator-test").await?;
    let repo = tether_testkit::chartrepo::ChartRepoServer::start()?;
    let work = tempfile::tempdir()?;
    let chart = write_chart(work.path(), &ChartSpec::new("checked", "1.0.0", ""))?;
    std::fs::create_dir_all(chart.join("templates/tests"))?;
    std::fs::write(
        chart.join("templates/tests/check.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-check\n  annotations:\n    helm.sh/hook: test\n{{- if .Values.breakTest }}\ndata:\n  broken: [1]\n{{- else }}\ndata:\n  ok: \"yes\"\n{{- end }}\n",
    )?;
    repo.publish(&chart)?;
    let _controller = InProcessController::start(&ns.name).await?;
    let releases = dynamic_api(&client, &ns.name, "helm.fluxcd.io", "v1", "HelmRelease");
    create(
        &releases,
        json!({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
            "metadata": {"name": "checked", "namespace": ns.name},
            "spec": {"releaseName": "checked", "timeout": 60,
                "chart": {"repository": repo.url(), "name": "checked", "version": "1.0.0"},
                "test": {"enable": true}, "rollback": {"enable": true},
                "values": {"replicas": 1}}}),
    )
    .await?;
    let status_of =
        |o: &DynamicObject| serde_json::to_value(o).unwrap_or_default()["status"].clone();
    let tested_condition = |status: &Value| {
        status["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Tested"))
            .map(|c| {
                (
                    c["status"].as_str().unwrap_or_default().to_owned(),
                    c["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
    };
    let released = wait_for(&releases, "checked", Duration::from_secs(120), |o| {
        status_of(o)["phase"] == "Succeeded"
    })
    .await?;
    let status = status_of(&released);
    ensure!(
        tested_condition(&status).is_some_and(|(s, _)| s == "True"),
        "{status}"
    );
    merge_patch(
        &releases,
        "checked",
        json!({"spec": {"values": {"replicas": 2, "breakTest": true}}}),
    )
    .await?;
    let failed = wait_for(&releases, "checked", Duration::from_secs(120), |o| {
        status_of(o)["rollbackCount"] == 1
    })
    .await?;
    let status = status_of(&failed);
    let (tested, message) = tested_condition(&status).context("Tested condition")?;
    ensure!(
        tested == "False" && message.contains("checked-check"),
        "{status}"
    );
    let history: Vec<Value> = serde_json::from_str(&helm(&[
        "history", "checked", "-n", &ns.name, "-o", "json",
    ])?)?;
    ensure!(
        history.len() == 3
            && history[2]["status"] == "deployed"
            && history[2]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Rollback to 1")),
        "{history:?}"
    );
    ensure!(
        replicas(&ns.api::<Deployment>().get("checked").await?) == 1,
        "rolled back to one replica"
    );
    Ok(())
}

/// The files under `dir`, recursively.
fn walk(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

/// Issue 12's seed flow, manifests unchanged but for the URL: `kube-prometheus-stack` at
/// `61.x` from a HelmRepository holding 60.5.0, 61.0.0 and 61.1.0 installs 61.1.0; publishing
/// 61.2.0 upgrades to it; publishing 62.0.0 changes nothing; a constraint nothing matches is
/// reported by name and leaves the release as it was.
#[tokio::test]
async fn the_seed_flow_installs_the_newest_61_and_follows_the_repository() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "hr-seed").await?;
    let repo = tether_testkit::chartrepo::ChartRepoServer::start()?;
    for version in ["60.5.0", "61.0.0", "61.1.0"] {
        repo.publish_chart("kube-prometheus-stack", version, "")?;
    }
    let _controller = InProcessController::start(&ns.name).await?;
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
            "metadata": {"name": "prometheus-community-charts", "namespace": ns.name},
            "spec": {"interval": "24h", "url": repo.url()}}),
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
            "metadata": {"name": "kube-prometheus-stack", "namespace": ns.name},
            "spec": {"interval": "1h", "chart": {"spec": {
                "chart": "kube-prometheus-stack", "version": "61.x",
                "sourceRef": {"kind": "HelmRepository", "name": "prometheus-community-charts"}}}}}),
    )
    .await?;
    let installed =
        wait_ready_where(&releases, "kube-prometheus-stack", |s, _, _| s == "True").await?;
    let (_, _, message) = condition(&installed, "Ready").context("Ready")?;
    ensure!(
        message.ends_with("with chart kube-prometheus-stack@61.1.0"),
        "{message}"
    );

    repo.publish_chart("kube-prometheus-stack", "61.2.0", "")?;
    merge_patch(
        &repositories,
        "prometheus-community-charts",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "publish-61.2.0"}}}),
    )
    .await?;
    let upgraded = wait_ready_where(&releases, "kube-prometheus-stack", |s, _, m| {
        s == "True" && m.ends_with("@61.2.0")
    })
    .await?;
    ensure!(upgraded["status"]["history"][0]["chartVersion"] == "61.2.0");

    repo.publish_chart("kube-prometheus-stack", "62.0.0", "")?;
    merge_patch(
        &repositories,
        "prometheus-community-charts",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "publish-62.0.0"}}}),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let kept = serde_json::to_value(releases.get("kube-prometheus-stack").await?)?;
    ensure!(
        kept["status"]["history"][0]["chartVersion"] == "61.2.0",
        "62.0.0 is out of range"
    );
    let listed = helm_list(&ns.name)?;
    ensure!(
        listed.len() == 1 && listed[0]["chart"] == "kube-prometheus-stack-61.2.0",
        "{listed:?}"
    );

    // A constraint nothing matches: reported, the installed release left as it was.
    merge_patch(
        &releases,
        "kube-prometheus-stack",
        json!({"spec": {"chart": {"spec": {"version": "99.x"}}}}),
    )
    .await?;
    let failed = wait_ready_where(&releases, "kube-prometheus-stack", |s, _, m| {
        s == "False" && m.contains("99.x")
    })
    .await?;
    let (_, _, message) = condition(&failed, "Ready").context("Ready")?;
    ensure!(message.contains("kube-prometheus-stack"), "{message}");
    let listed = helm_list(&ns.name)?;
    ensure!(
        listed.len() == 1 && listed[0]["chart"] == "kube-prometheus-stack-61.2.0",
        "{listed:?}"
    );
    Ok(())
}

fn helm(args: &[&str]) -> anyhow::Result<String> {
    let args: Vec<std::ffi::OsString> = args.iter().map(std::ffi::OsString::from).collect();
    run_helm(&args)
}

/// `postRenderers` (a kustomize patch and an image override) and `commonMetadata` shape what
/// is applied and what Helm stores; changing them upgrades the release.
#[tokio::test]
async fn post_renderers_and_common_metadata_shape_the_release() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-postrender").await?;
    let patch =
        r#"[{"op": "add", "path": "/spec/template/metadata/labels/patched", "value": "yes"}]"#;
    create(
        &fx.releases,
        fx.release(
            "web",
            json!({"postRenderers": [{"kustomize": {
                    "patches": [{"target": {"kind": "Deployment"}, "patch": patch}],
                    "images": [{"name": "ghcr.io/tether-test/webapp", "newTag": "9.9.9"}]}}],
                "commonMetadata": {"labels": {"team": "platform"}}}),
        ),
    )
    .await?;
    let ready = wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    ensure!(
        ready["status"]["observedPostRenderersDigest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{}",
        ready["status"]
    );
    let deployment = serde_json::to_value(fx.deployment("web").await?.context("installed")?)?;
    ensure!(deployment["metadata"]["labels"]["team"] == "platform");
    ensure!(deployment["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"] == "web");
    ensure!(deployment["spec"]["template"]["metadata"]["labels"]["patched"] == "yes");
    ensure!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            == "ghcr.io/tether-test/webapp:9.9.9",
        "{}",
        deployment["spec"]["template"]
    );
    let service = serde_json::to_value(fx.ns.api::<Service>().get("web").await?)?;
    ensure!(service["metadata"]["labels"]["team"] == "platform");
    let manifest = helm(&["get", "manifest", "web", "-n", &fx.ns.name])?;
    ensure!(manifest.contains("team: platform"), "{manifest}");
    ensure!(manifest.contains("9.9.9"), "{manifest}");
    ensure!(!manifest.contains("postrender-filename"), "{manifest}");

    // Changing the common metadata is a new release.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"commonMetadata": {"labels": {"team": "apps"}}}}),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, r, m| {
        s == "True" && r == "UpgradeSucceeded" && m.contains("web.v2")
    })
    .await?;
    let deployment = serde_json::to_value(fx.deployment("web").await?.context("kept")?)?;
    ensure!(deployment["metadata"]["labels"]["team"] == "apps");
    Ok(())
}

/// Issue 12's bad input on an installed release: a schema violation, a template error, invalid
/// values YAML — each Ready=False naming the cause, the release left as it was;
/// `upgrade.disableSchemaValidation` lets the values through.
#[tokio::test]
async fn bad_chart_input_is_reported_and_leaves_the_release_as_it_was() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-bad-input").await?;
    create(
        &fx.releases,
        fx.release("web", json!({"values": {"replicas": 2}})),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    fx.publish("web-next", "1.1.0", |dir| {
        std::fs::write(
            dir.join("values.schema.json"),
            r#"{"type": "object", "properties": {"replicas": {"type": "integer", "maximum": 5}}}"#,
        )?;
        std::fs::write(
            dir.join("templates/extra.yaml"),
            "{{- if .Values.explode }}\n{{ include \"no-such-template\" . }}\n{{- end }}\n",
        )?;
        Ok(())
    })
    .await?;

    // A schema violation.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"chartRef": {"name": "web-next"}, "values": {"replicas": 9}}}),
    )
    .await?;
    let failed = wait_ready_where(&fx.releases, "web", |s, _, m| {
        s == "False" && m.contains("schema")
    })
    .await?;
    let (_, reason, message) = condition(&failed, "Ready").context("Ready")?;
    ensure!(reason == "UpgradeFailed", "{reason}: {message}");
    ensure!(
        message.contains("values don't meet the specifications of the schema"),
        "{message}"
    );
    ensure!(message.contains("replicas"), "{message}");
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 2);

    // disableSchemaValidation lets the same values through.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"upgrade": {"disableSchemaValidation": true}}}),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, _, m| {
        s == "True" && m.contains("web@1.1.0")
    })
    .await?;
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 9);

    // A template error names the template and its line.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"values": {"explode": true}}}),
    )
    .await?;
    let failed = wait_ready_where(&fx.releases, "web", |s, _, m| {
        s == "False" && m.contains("extra.yaml")
    })
    .await?;
    let (_, _, message) = condition(&failed, "Ready").context("Ready")?;
    ensure!(message.contains("web/templates/extra.yaml:2"), "{message}");
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 9);

    // Values that are not YAML, from a ConfigMap: named in the condition.
    let config_maps = fx.ns.api::<k8s_openapi::api::core::v1::ConfigMap>();
    config_maps
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": "broken-values"},
                "data": {"values.yaml": "replicas: [3\n"}}))?,
        )
        .await?;
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"values": {"explode": false},
            "valuesFrom": [{"kind": "ConfigMap", "name": "broken-values"}]}}),
    )
    .await?;
    let failed = wait_ready_where(&fx.releases, "web", |s, _, m| {
        s == "False" && m.contains("broken-values")
    })
    .await?;
    let (_, _, message) = condition(&failed, "Ready").context("Ready")?;
    ensure!(message.contains("values.yaml"), "{message}");
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 9);
    let listed = helm_list(&fx.ns.name)?;
    ensure!(
        listed.len() == 1 && listed[0]["status"] == "deployed" && listed[0]["chart"] == "web-1.1.0",
        "{listed:?}"
    );
    Ok(())
}

/// A release `helm install` made is adopted and upgraded in place (a new revision on top of
/// helm's); with `install.disableTakeOwnership` an object no release owns stops the install
/// with Helm's message, and nothing is recorded.
#[tokio::test]
async fn a_release_installed_by_helm_is_upgraded_in_place_and_foreign_objects_are_refused()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-adopt").await?;
    let chart = format!("oci://{}/charts/web", fx.registry.host());
    helm(&[
        "install",
        "web",
        &chart,
        "--version",
        "1.0.0",
        "--plain-http",
        "-n",
        &fx.ns.name,
        "--set",
        "replicas=1",
    ])?;
    create(
        &fx.releases,
        fx.release("web", json!({"values": {"replicas": 2}})),
    )
    .await?;
    let ready = wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    let (_, reason, message) = condition(&ready, "Ready").context("Ready")?;
    ensure!(
        reason == "UpgradeSucceeded" && message.contains("web.v2"),
        "{reason}: {message}"
    );
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 2);
    let history: Vec<Value> =
        serde_json::from_str(&helm(&["history", "web", "-n", &fx.ns.name, "-o", "json"])?)?;
    ensure!(
        history.len() == 2
            && history[0]["status"] == "superseded"
            && history[1]["status"] == "deployed",
        "{history:?}"
    );

    // An object of the same name that no release owns.
    fx.ns
        .api::<k8s_openapi::api::core::v1::ServiceAccount>()
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": "taken-web"}}))?,
        )
        .await?;
    create(
        &fx.releases,
        fx.release("taken", json!({"install": {"disableTakeOwnership": true}})),
    )
    .await?;
    let refused = wait_ready_where(&fx.releases, "taken", |s, _, _| s == "False").await?;
    let (_, _, message) = condition(&refused, "Ready").context("Ready")?;
    ensure!(
        message.contains(&format!(
            "unable to continue with install: ServiceAccount \"taken-web\" in namespace \"{}\" exists and cannot be imported into the current release: invalid ownership metadata",
            fx.ns.name
        )),
        "{message}"
    );
    let history = helm(&["history", "taken", "-n", &fx.ns.name, "-o", "json"]);
    ensure!(history.is_err(), "no record: {history:?}");
    ensure!(
        fx.deployment("taken-web").await?.is_none(),
        "nothing applied"
    );
    Ok(())
}

/// `driftDetection.ignore` fields are neither reported nor changed when the rest of the object
/// is corrected; in `warn` mode drift is reported and left alone.
#[tokio::test]
async fn drift_ignore_rules_and_warn_mode() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-drift-ignore").await?;
    create(
        &fx.releases,
        fx.release(
            "web",
            json!({"values": {"replicas": 2}, "driftDetection": {"mode": "enabled",
                "ignore": [{"paths": ["/spec/replicas"], "target": {"kind": "Deployment"}}]}}),
        ),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    let deployments = fx.ns.api::<Deployment>();
    // Two fields the release manages: the replica count (ignored) and the image (not).
    let hand_edit = json!({"spec": {"replicas": 7, "template": {"spec": {"containers": [
        {"name": "web", "image": "ghcr.io/tether-test/webapp:edited"}]}}}});
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(hand_edit.clone()),
        )
        .await?;
    merge_patch(
        &fx.releases,
        "web",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "drift-1"}}}),
    )
    .await?;
    let image = |d: &Deployment| {
        d.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default()
    };
    let corrected = wait_for(&deployments, "web", Duration::from_secs(60), |d| {
        image(d) == "ghcr.io/tether-test/webapp:6.0.0"
    })
    .await
    .context("the field not ignored is corrected")?;
    ensure!(
        replicas(&corrected) == 7,
        "the ignored field is left as edited"
    );

    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"driftDetection": {"mode": "warn"}}}),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(hand_edit))
        .await?;
    merge_patch(
        &fx.releases,
        "web",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "drift-2"}}}),
    )
    .await?;
    let warned = wait_for(&fx.releases, "web", Duration::from_secs(60), |o| {
        let o = serde_json::to_value(o).unwrap_or_default();
        condition(&o, "Drifted").is_some_and(|(s, _, _)| s == "True")
    })
    .await?;
    let (_, reason, message) =
        condition(&serde_json::to_value(&warned)?, "Drifted").context("Drifted")?;
    ensure!(reason == "DriftDetected", "{reason}");
    ensure!(
        message.contains("Deployment") && message.contains("changed"),
        "{message}"
    );
    let kept = deployments.get("web").await?;
    ensure!(image(&kept).ends_with(":edited"), "warn leaves drift alone");
    Ok(())
}

/// A Helm test that fails after an upgrade counts against `upgrade.remediation`: the release
/// is rolled back, TestSuccess=False says why.
#[tokio::test]
async fn a_failing_helm_test_is_remediated_by_rollback() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-test-fail").await?;
    fx.publish("web-tested", "1.2.0", |dir| {
        std::fs::create_dir_all(dir.join("templates/tests"))?;
        std::fs::write(
            dir.join("templates/tests/check.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-check\n  annotations:\n    helm.sh/hook: test\n{{- if .Values.breakTest }}\ndata:\n  broken: [1]\n{{- else }}\ndata:\n  ok: \"yes\"\n{{- end }}\n",
        )?;
        Ok(())
    })
    .await?;
    create(
        &fx.releases,
        fx.release(
            "web",
            json!({"chartRef": {"kind": "OCIRepository", "name": "web-tested"},
                "values": {"replicas": 1}, "test": {"enable": true},
                "upgrade": {"remediation": {"retries": 1, "strategy": "rollback"}}}),
        ),
    )
    .await?;
    let ready = wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    let (status, reason, _) = condition(&ready, "TestSuccess").context("TestSuccess")?;
    ensure!(status == "True" && reason == "TestSucceeded", "{reason}");

    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"values": {"replicas": 2, "breakTest": true}}}),
    )
    .await?;
    let remediated = wait_for(&fx.releases, "web", Duration::from_secs(120), |o| {
        let o = serde_json::to_value(o).unwrap_or_default();
        condition(&o, "Remediated").is_some_and(|(s, r, _)| s == "True" && r == "RollbackSucceeded")
    })
    .await?;
    let remediated = serde_json::to_value(&remediated)?;
    let (status, reason, message) = condition(&remediated, "TestSuccess").context("TestSuccess")?;
    ensure!(
        status == "False" && reason == "TestFailed" && message.contains("web-check"),
        "{reason}: {message}"
    );
    wait_for(
        &fx.ns.api::<Deployment>(),
        "web",
        Duration::from_secs(60),
        |d| replicas(d) == 1,
    )
    .await
    .context("rolled back to one replica")?;
    let history: Vec<Value> =
        serde_json::from_str(&helm(&["history", "web", "-n", &fx.ns.name, "-o", "json"])?)?;
    ensure!(
        history.iter().any(|r| r["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Rollback to 1"))),
        "{history:?}"
    );

    // `test.filters` excluding the failing test: the upgrade passes its (empty) test run.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"values": {"replicas": 3, "breakTest": true},
            "test": {"filters": [{"name": "web-check", "exclude": true}]}}}),
    )
    .await?;
    let filtered = wait_for(&fx.releases, "web", Duration::from_secs(120), |o| {
        let o = serde_json::to_value(o).unwrap_or_default();
        condition(&o, "TestSuccess")
            .is_some_and(|(s, _, m)| s == "True" && m.contains("no test hooks"))
    })
    .await?;
    let filtered = serde_json::to_value(&filtered)?;
    ensure!(
        filtered["status"]["history"][0]["testHooks"].is_null(),
        "no excluded hook in the snapshot: {}",
        filtered["status"]["history"][0]
    );
    wait_for(
        &fx.ns.api::<Deployment>(),
        "web",
        Duration::from_secs(60),
        |d| replicas(d) == 3,
    )
    .await
    .context("upgraded to three replicas")?;
    Ok(())
}

/// A Widget (see `common::widget_crd`) named after the release.
#[tokio::test]
async fn a_custom_resource_in_a_chart_is_judged_by_the_releases_health_check_exprs()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-cel").await?;
    install_crds(&fx.client, vec![common::widget_crd()?]).await?;
    fx.publish("widgets", "1.1.0", |dir| {
        Ok(std::fs::write(
            dir.join("templates/widget.yaml"),
            common::WIDGET_TEMPLATE,
        )?)
    })
    .await?;
    let widgets = dynamic_api(&fx.client, &fx.ns.name, "cel.tether.test", "v1", "Widget");
    let with_widget = |name: &str| {
        let mut release = fx.release(
            name,
            json!({"healthCheckExprs": common::widget_health_exprs()}),
        );
        release["spec"]["chartRef"]["name"] = json!("widgets");
        release
    };
    create(&fx.releases, with_widget("good")).await?;
    create(&fx.releases, with_widget("broken")).await?;
    wait_for(&widgets, "good-gear", Duration::from_secs(90), |_| true).await?;
    wait_for(&widgets, "broken-gear", Duration::from_secs(90), |_| true).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting = serde_json::to_value(fx.releases.get("good").await?)?;
    ensure!(
        condition(&waiting, "Ready").is_none_or(|c| c.0 != "True"),
        "installed before the Widget was judged: {waiting}"
    );
    common::set_phase(&widgets, "good-gear", "Ready").await?;
    common::set_phase(&widgets, "broken-gear", "Broken").await?;
    let good = wait_ready_where(&fx.releases, "good", |s, _, _| s == "True").await?;
    let (_, reason, _) = condition(&good, "Ready").context("Ready")?;
    ensure!(reason == "InstallSucceeded", "{good}");
    // Before the install, Ready may be False for another reason (the source's first fetch).
    let broken = wait_ready_where(&fx.releases, "broken", |s, _, m| {
        s == "False" && m.contains("broken-gear status: 'Failed'")
    })
    .await?;
    let (_, reason, message) = condition(&broken, "Ready").context("Ready")?;
    ensure!(reason == "InstallFailed", "{reason}: {message}");
    Ok(())
}

/// helm-operator's `wait` is Helm 3's: a LoadBalancer Service that no controller gives an
/// ingress never becomes ready (kstatus would take it as current), so the release fails
/// naming the Service, while the same chart without `wait` is deployed.
#[tokio::test]
async fn a_helm_operator_release_waits_by_helm_3s_rules() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "hr-operator-wait").await?;
    let repo = tether_testkit::chartrepo::ChartRepoServer::start()?;
    repo.publish_chart("balanced", "1.0.0", "")?;
    let _controller = InProcessController::start(&ns.name).await?;
    let releases = dynamic_api(&client, &ns.name, "helm.fluxcd.io", "v1", "HelmRelease");
    for (name, wait) in [("waiting", true), ("unwaited", false)] {
        create(
            &releases,
            json!({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
                "metadata": {"name": name, "namespace": ns.name},
                "spec": {"releaseName": name, "timeout": 6, "wait": wait,
                    "chart": {"repository": repo.url(), "name": "balanced", "version": "1.0.0"},
                    "values": {"service": {"type": "LoadBalancer"}}}}),
        )
        .await?;
    }
    let status_of =
        |o: &DynamicObject| serde_json::to_value(o).unwrap_or_default()["status"].clone();
    wait_for(&releases, "unwaited", Duration::from_secs(120), |o| {
        status_of(o)["phase"] == "Succeeded"
    })
    .await?;
    let failed = wait_for(&releases, "waiting", Duration::from_secs(120), |o| {
        status_of(o)["phase"] == "Failed"
    })
    .await?;
    let status = status_of(&failed);
    let service = format!("Service/{}/waiting-balanced", ns.name);
    ensure!(
        status["conditions"].as_array().is_some_and(|c| c
            .iter()
            .any(|c| c["message"].as_str().is_some_and(|m| m.contains(&service)))),
        "{status}"
    );
    Ok(())
}
