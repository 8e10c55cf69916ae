//! `tether logs` against the real `flux logs` (v2.9.5) on the same cluster: both find the
//! controller pod of each Deployment labelled `app.kubernetes.io/part-of=flux` in
//! `--flux-namespace` and ask the API server for its log. The local control plane has no
//! kubelet serving `pods/log` (kwok runs the pods), so what is compared is everything up to the
//! log itself: no pods, a pod whose log the cluster cannot serve, and flag mistakes; both must
//! print the same text with the same exit status. The line format and filters are unit-tested
//! in `commands/logs.rs` on the JSON `tether controller --log-encoding=json` writes.

mod common;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::{TestNamespace, client};
use tether_testkit::fluxcli::run_flux;

async fn both(args: &[&str]) -> anyhow::Result<[(Option<i32>, String, String); 2]> {
    let tether = common::tether(args).await?;
    let flux = run_flux(args).await?;
    Ok([tether, flux].map(|output| {
        let (stdout, stderr) = common::texts(&output);
        (output.status.code(), stdout, stderr)
    }))
}

#[tokio::test]
async fn logs_find_the_controller_pods_and_fail_as_flux_does() -> anyhow::Result<()> {
    let client = client().await?;
    let ns = TestNamespace::create(&client, "logs").await?;
    let name = ns.name.as_str();
    let args = ["logs", "--flux-namespace", name];
    let [tether, flux] = both(&args).await?;
    assert_eq!(
        flux,
        (
            Some(1),
            String::new(),
            format!("✗ no Flux pods found in namespace \"{name}\"\n")
        )
    );
    assert_eq!(tether, flux);

    let labels = json!({"app": "controller"});
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "controller", "labels": {"app.kubernetes.io/part-of": "flux"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "manager", "image": "tether:test"}]}}}}))?;
    let deployments: Api<Deployment> = ns.api();
    deployments
        .create(&PostParams::default(), &deployment)
        .await?;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = ns.api();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while pods.list(&Default::default()).await?.items.is_empty() {
        anyhow::ensure!(std::time::Instant::now() < deadline, "no pod");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for extra in [
        &[][..],
        &[
            "--level",
            "error",
            "--kind",
            "Kustomization",
            "-A",
            "--tail",
            "10",
        ],
        &["--since", "5m", "--since-time", "2026-01-01T00:00:00Z"],
        &["--since-time", "yesterday"],
        &["--level", "warn"],
        &["--tail", "x"],
        &["unexpected"],
    ] {
        let args = [&args[..], extra].concat();
        let [tether, flux] = both(&args).await?;
        assert_eq!(flux.0, Some(1), "{args:?}: {flux:?}");
        if extra.is_empty() {
            assert!(flux.2.contains("failed getting logs: "), "{flux:?}");
            assert!(
                flux.2
                    .ends_with("✗ failed to collect logs from all Flux pods\n")
            );
        }
        assert_eq!(tether, flux, "{args:?}");
    }
    Ok(())
}
