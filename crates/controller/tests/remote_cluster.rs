//! Remote clusters: a Kustomization with `spec.kubeConfig.secretRef` applies, prunes and checks
//! health in the cluster of that kubeconfig (a second local control plane), not in the
//! controller's own; a kubeconfig Secret without the expected key is reported.

mod common;

use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, PostParams};
use serde_json::json;
use tether_testkit::cluster::{TestNamespace, remote_config, remote_kubeconfig_text};
use tether_testkit::flux::{
    GitSourceFixture, condition, create, kustomization, kustomizations, wait_for_gone,
    wait_ready_where,
};

async fn kubeconfig_secret(ns: &TestNamespace, key: &str, text: &str) -> anyhow::Result<()> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "remote"},
        "stringData": {key: text}
    }))?;
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_kustomization_syncs_prunes_and_checks_health_in_the_remote_cluster()
-> anyhow::Result<()> {
    let s = GitSourceFixture::start("remote", "2s").await?;
    let remote = kube::Client::try_from(remote_config().await?)?;
    let target = TestNamespace::create(&remote, "remote-target").await?;
    kubeconfig_secret(&s.ns, "value.yaml", &remote_kubeconfig_text().await?).await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut app = kustomization("app", &s.ns.name, &target.name, "./deploy");
    app["spec"]["kubeConfig"] = json!({"secretRef": {"name": "remote"}});
    create(&ks_api, app).await?;

    let ready = wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    assert_eq!(
        condition(&ready, "Healthy").map(|c| c.0),
        Some("True".to_owned()),
        "wait: true checked the remote Deployment"
    );
    let remote_deployments = target.api::<Deployment>();
    let web = remote_deployments.get("web").await?;
    let available = web.status.and_then(|s| s.available_replicas).unwrap_or(0);
    assert_eq!(
        available, 2,
        "Ready before the remote Deployment was available"
    );
    let local: Api<Deployment> = Api::namespaced(s.client.clone(), &target.name);
    assert!(
        matches!(local.get_opt("web").await, Ok(None) | Err(_)),
        "applied to the controller's own cluster"
    );

    let services = target.api::<Service>();
    assert!(services.get_opt("web").await?.is_some());
    s.repo
        .remove("master", &["deploy/service.yaml"], "drop the service")?;
    wait_for_gone(&services, "web").await?;
    assert!(remote_deployments.get_opt("web").await?.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_secret_without_the_key_is_reported() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("remote-nokey", "2s").await?;
    kubeconfig_secret(&s.ns, "config", "apiVersion: v1\nkind: Config\n").await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut app = kustomization("app", &s.ns.name, &s.ns.name, "./deploy");
    app["spec"]["kubeConfig"] = json!({"secretRef": {"name": "remote"}});
    create(&ks_api, app).await?;

    let failed = wait_ready_where(&ks_api, "app", |status, _, _| status == "False").await?;
    let (_, _, message) = condition(&failed, "Ready").unwrap_or_default();
    let expected = format!(
        "KubeConfig secret '{}/remote' does not contain a 'value' key with a kubeconfig",
        s.ns.name
    );
    assert!(message.contains(&expected), "{message}");
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_none());
    Ok(())
}
