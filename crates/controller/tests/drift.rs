//! Drift: a field changed by hand is corrected at the next interval, and a resync at an
//! unchanged revision with nothing drifted writes nothing to the API server.

mod common;

use common::SyncedApp;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::WAIT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_changed_by_hand_is_corrected_at_the_next_interval() -> anyhow::Result<()> {
    let synced = SyncedApp::start("drift", "2s").await?;
    let s = &synced.source;

    let by_hand = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    let deployments = s.ns.api::<Deployment>();
    deployments
        .patch(
            "web",
            &by_hand,
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await?;
    wait_for(&deployments, "web", WAIT, |d| {
        d.spec.as_ref().and_then(|s| s.replicas) == Some(2)
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_at_an_unchanged_revision_makes_no_writes() -> anyhow::Result<()> {
    let synced = SyncedApp::start("noop", "1s").await?;
    // Let the follow-up reconciles of the first apply (health, status events) settle.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let metrics = &synced.controller.metrics;
    let writes = || {
        metrics.api_requests(|verb, dry_run| {
            !dry_run && ["create", "update", "patch", "delete"].contains(&verb)
        })
    };
    let (writes_before, reconciles_before) = (writes()?, metrics.reconciles("kustomization")?);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (writes_after, reconciles_after) = (writes()?, metrics.reconciles("kustomization")?);

    // Each resync compares with the cluster (by dry-run, or through the watch of known objects
    // once a dry-run found an object unchanged).
    assert!(
        reconciles_after >= reconciles_before + 3,
        "expected resyncs: {reconciles_before} -> {reconciles_after}"
    );
    assert_eq!(
        writes_after, writes_before,
        "resync at an unchanged revision wrote to the API server"
    );
    Ok(())
}
