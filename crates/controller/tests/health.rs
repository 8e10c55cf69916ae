//! Health checks: a Kustomization waits for what it applied to become ready, and a new
//! revision cancels a wait that cannot succeed instead of queueing behind it.

mod common;

use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, deployment_yaml, kustomization, kustomizations,
    wait_ready_where,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_cancels_a_running_health_wait() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("cancel", "1s").await?;
    let stuck = deployment_yaml(1).replace(
        "    spec:\n      containers:",
        "    spec:\n      nodeSelector: {tether.test/nowhere: \"true\"}\n      containers:",
    );
    s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &stuck)],
        "unschedulable",
    )?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut ks = kustomization("app", &s.ns.name, &s.ns.name, "./deploy");
    ks["spec"]["timeout"] = json!("2m");
    create(&ks_api, ks).await?;
    let deployments = s.ns.api::<Deployment>();
    wait_for(&deployments, "web", WAIT, |d| {
        d.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .is_some_and(|p| p.node_selector.is_some())
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = serde_json::to_value(ks_api.get("app").await?)?;
    let in_progress = condition(&waiting, "Ready").map(|c| (c.0, c.1));
    let expected = Some(("Unknown".to_owned(), "Progressing".to_owned()));
    assert_eq!(
        in_progress, expected,
        "the first reconcile should still be waiting: {waiting}"
    );
    assert_eq!(
        condition(&waiting, "Reconciling").map(|c| c.0),
        Some("True".into())
    );

    let fixed = s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(1))],
        "schedulable",
    )?;
    let started = std::time::Instant::now();
    let ready = wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "True" && message.contains(&fixed)
    })
    .await?;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the new revision waited for the old health check ({:?})",
        started.elapsed()
    );
    assert_eq!(
        condition(&ready, "Healthy").map(|c| c.0),
        Some("True".into())
    );
    Ok(())
}
