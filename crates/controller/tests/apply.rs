//! Applying a GitRepository's revision: the real local control plane and a real sshd serving
//! the repository with a deploy key. A commit is applied with Flux's labels, inventory and field
//! manager; a push is applied before the interval; a broken commit is reported and changes
//! nothing; a suspended Kustomization applies nothing until resumed.

mod common;

use anyhow::Context;
use common::{InProcessController, SyncedApp};
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::{TestNamespace, wait_for};
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, deployment_yaml, kustomization, kustomizations,
    merge_patch, wait_ready_where,
};

fn replicas(deployment: &Deployment) -> Option<i32> {
    deployment.spec.as_ref().and_then(|s| s.replicas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_is_applied_with_flux_labels_inventory_and_field_manager() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("apply", "2s").await?;
    let target = TestNamespace::create(&s.client, "apply-target").await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    create(
        &ks_api,
        kustomization("app", &s.ns.name, &target.name, "./deploy"),
    )
    .await?;

    let head = s.repo.rev_parse("master")?;
    let ks = wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    assert_eq!(
        condition(&ks, "Ready").map(|c| c.2),
        Some(format!("Applied revision: master@sha1:{head}"))
    );
    assert_eq!(condition(&ks, "Healthy").map(|c| c.0), Some("True".into()));
    assert_eq!(
        ks["status"]["lastAppliedRevision"],
        format!("master@sha1:{head}")
    );
    let ids: Vec<&str> = ks["status"]["inventory"]["entries"]
        .as_array()
        .context("inventory")?
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    for id in [
        format!("{}_web_apps_Deployment", target.name),
        format!("{}_web__Service", target.name),
    ] {
        assert!(ids.contains(&id.as_str()), "{id} not in {ids:?}");
    }
    let deployments = target.api::<Deployment>();
    let web = deployments.get("web").await?;
    let labels = web.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("app")
    );
    assert_eq!(
        labels.get("kustomize.toolkit.fluxcd.io/namespace"),
        Some(&s.ns.name)
    );
    let managers: Vec<String> = web
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"kustomize-controller".to_owned()),
        "{managers:?}"
    );
    wait_for(&deployments, "web", WAIT, |d| {
        d.status.as_ref().and_then(|s| s.available_replicas) == Some(2)
    })
    .await?;

    // A pushed change is applied long before the 10m interval.
    s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(3))],
        "scale to 3",
    )?;
    wait_for(&deployments, "web", WAIT, |d| replicas(d) == Some(3)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_commit_is_reported_and_changes_nothing() -> anyhow::Result<()> {
    let synced = SyncedApp::start("broken", "10m").await?;
    let (s, ks_api) = (&synced.source, &synced.kustomizations);
    let deployments = s.ns.api::<Deployment>();

    s.repo.commit(
        "master",
        &[
            ("deploy/deployment.yaml", &deployment_yaml(5)),
            (
                "deploy/broken.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
            ),
        ],
        "break it",
    )?;
    let broken = wait_ready_where(ks_api, "app", |status, _, message| {
        status == "False" && message.contains("broken.yaml")
    })
    .await?;
    let (_, reason, message) = condition(&broken, "Ready").context("Ready")?;
    assert_eq!(reason, "BuildFailed", "{message}");
    assert_eq!(
        replicas(&deployments.get("web").await?),
        Some(2),
        "a broken commit changed live objects"
    );

    s.repo.remove("master", &["deploy/broken.yaml"], "fix it")?;
    wait_for(&deployments, "web", WAIT, |d| replicas(d) == Some(5)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_kustomization_applies_nothing_until_resumed() -> anyhow::Result<()> {
    let synced = SyncedApp::start("suspend", "2s").await?;
    let (s, ks_api) = (&synced.source, &synced.kustomizations);
    let deployments = s.ns.api::<Deployment>();

    merge_patch(ks_api, "app", json!({"spec": {"suspend": true}})).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(4))],
        "scale to 4",
    )?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        replicas(&deployments.get("web").await?),
        Some(2),
        "a suspended Kustomization applied"
    );
    merge_patch(ks_api, "app", json!({"spec": {"suspend": false}})).await?;
    wait_for(&deployments, "web", WAIT, |d| replicas(d) == Some(4)).await?;
    Ok(())
}
