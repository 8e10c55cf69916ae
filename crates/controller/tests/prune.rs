//! Pruning: what a commit no longer holds is deleted from the cluster, and deleting a
//! Kustomization with `prune: true` deletes everything it applied.

mod common;

use common::SyncedApp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::DeleteParams;
use tether_testkit::flux::wait_for_gone;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_manifest_is_pruned_and_deletion_prunes_the_rest() -> anyhow::Result<()> {
    let synced = SyncedApp::start("prune", "10m").await?;
    let (s, ks_api) = (&synced.source, &synced.kustomizations);
    let services = s.ns.api::<Service>();
    let deployments = s.ns.api::<Deployment>();
    assert!(services.get_opt("web").await?.is_some());

    s.repo
        .remove("master", &["deploy/service.yaml"], "drop the service")?;
    wait_for_gone(&services, "web").await?;
    assert!(
        deployments.get_opt("web").await?.is_some(),
        "pruning the Service deleted the Deployment"
    );

    ks_api.delete("app", &DeleteParams::default()).await?;
    wait_for_gone(&deployments, "web").await?;
    wait_for_gone(ks_api, "app").await?;
    Ok(())
}
