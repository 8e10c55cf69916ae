//! The local control plane is a real one: a Deployment rolls out through the real
//! kube-controller-manager and kube-scheduler, and kwok marks its Pods ready.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::PostParams;
use std::time::Duration;
use tether_testkit::cluster::{TestNamespace, client, wait_for};

#[tokio::test]
async fn deployment_with_three_replicas_rolls_out() -> anyhow::Result<()> {
    let client = client().await?;
    let ns = TestNamespace::create(&client, "rollout").await?;
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    }))?;
    let api = ns.api::<Deployment>();
    api.create(&PostParams::default(), &deployment).await?;
    let rolled_out = wait_for(&api, "web", Duration::from_secs(90), |d| {
        d.status.as_ref().and_then(|s| s.available_replicas) == Some(3)
    })
    .await?;
    assert_eq!(rolled_out.status.and_then(|s| s.ready_replicas), Some(3));
    Ok(())
}
