//! Health checks: a Kustomization waits for what it applied to become ready, and a new
//! revision cancels a wait that cannot succeed instead of queueing behind it. A custom resource
//! (a CRD this test defines) is judged by the Kustomization's `healthCheckExprs`; an invalid
//! expression stalls the Kustomization.

mod common;

use common::InProcessController;
use common::{set_phase, widget_crd, widget_health_exprs};
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::{install_crds, wait_for};
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, deployment_yaml, dynamic_api, kustomization,
    kustomizations, merge_patch, wait_ready_where,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_resource_is_judged_by_the_kustomizations_health_check_exprs() -> anyhow::Result<()>
{
    let s = GitSourceFixture::start_with(
        "celhealth",
        "1h",
        |repo| {
            repo.commit(
                "master",
                &[("deploy/widget.yaml", common::WIDGET_YAML)],
                "widget",
            )
            .map(drop)
        },
        json!({}),
    )
    .await?;
    install_crds(&s.client, vec![widget_crd()?]).await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut ks = kustomization("widgets", &s.ns.name, &s.ns.name, "./deploy");
    ks["spec"]["healthCheckExprs"] = widget_health_exprs();
    create(&ks_api, ks).await?;
    let widgets = dynamic_api(&s.client, &s.ns.name, "cel.tether.test", "v1", "Widget");
    wait_for(&widgets, "gear", WAIT, |_| true).await?;
    // Without a status, `status.phase` does not evaluate: Unknown, and the wait goes on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting = serde_json::to_value(ks_api.get("widgets").await?)?;
    assert_eq!(
        condition(&waiting, "Ready").map(|c| c.1),
        Some("Progressing".to_owned()),
        "{waiting}"
    );
    set_phase(&widgets, "gear", "Starting").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    set_phase(&widgets, "gear", "Broken").await?;
    let failed = wait_ready_where(&ks_api, "widgets", |status, reason, _| {
        status == "False" && reason == "HealthCheckFailed"
    })
    .await?;
    let message = condition(&failed, "Ready").map(|c| c.2).unwrap_or_default();
    assert!(
        message.contains("failed early due to stalled resources")
            && message.contains("Widget/")
            && message.contains("gear status: 'Failed'"),
        "{message}"
    );

    set_phase(&widgets, "gear", "Ready").await?;
    let requested =
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "ready"}}});
    merge_patch(&ks_api, "widgets", requested).await?;
    let ready = wait_ready_where(&ks_api, "widgets", |status, _, _| status == "True").await?;
    assert_eq!(
        condition(&ready, "Healthy").map(|c| c.0),
        Some("True".into())
    );

    let mut bad = kustomization("bad-expr", &s.ns.name, &s.ns.name, "./deploy");
    bad["spec"]["healthCheckExprs"] = json!([{"apiVersion": "cel.tether.test/v1", "kind": "Widget", "current": "status.phase =="}]);
    create(&ks_api, bad).await?;
    let stalled = wait_ready_where(&ks_api, "bad-expr", |status, reason, _| {
        status == "False" && reason == "InvalidCELExpression"
    })
    .await?;
    let message = condition(&stalled, "Ready")
        .map(|c| c.2)
        .unwrap_or_default();
    assert!(
        message.starts_with(
            "Reconciliation failed terminally due to configuration error: failed to create custom status evaluator for healthchecks[0]: failed to parse the expression Current: failed to parse the CEL expression 'status.phase =='"
        ),
        "{message}"
    );
    assert_eq!(
        condition(&stalled, "Stalled").map(|c| c.0),
        Some("True".into())
    );
    Ok(())
}

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
