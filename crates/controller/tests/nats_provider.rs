//! The `nats` Provider end to end against the local control plane and a real nats-server
//! (built by `dev/testbin.sh`): an event matched by an Alert is published to the Provider's
//! subject (`channel`) on its server (`address`), authenticated with the Secret's username and
//! password, and a subscriber on the server receives Flux's payload, the event as Go's
//! `json.Marshal` writes it.

mod common;

use common::InProcessController;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::cluster::TestNamespace;
use tether_testkit::flux::{create, dynamic_api};
use tether_testkit::nats::NatsServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// POSTs an event to the events endpoint as a Flux controller does; the status code.
async fn post_event(url: &str, event: &Value) -> anyhow::Result<u16> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let body = event.to_string();
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    Ok(answer.split(' ').nth(1).unwrap_or_default().parse()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_publishes_the_event_to_the_nats_subject_with_the_secrets_credentials()
-> anyhow::Result<()> {
    let server = NatsServer::start("flux", "n4ts-s3cret")?;
    let subscriber = async_nats::ConnectOptions::with_user_and_password(
        "flux".to_owned(),
        "n4ts-s3cret".to_owned(),
    )
    .connect(server.url())
    .await?;
    let mut messages = subscriber.subscribe("flux.events").await?;
    subscriber.flush().await?;

    let client = tether_testkit::cluster::client().await?;
    tether_testkit::cluster::install_crds(&client, tether_api::crds()).await?;
    let namespace = TestNamespace::create(&client, "nats").await?;
    let ns = namespace.name.as_str();
    let controller = InProcessController::start(ns).await?;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "nats-auth"},
        "stringData": {"username": "flux", "password": "n4ts-s3cret"}
    }))?;
    namespace
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let api = |kind| {
        dynamic_api(
            &client,
            ns,
            "notification.toolkit.fluxcd.io",
            "v1beta3",
            kind,
        )
    };
    create(
        &api("Provider"),
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "nats", "namespace": ns},
            "spec": {"type": "nats", "address": server.url(), "channel": "flux.events",
                     "secretRef": {"name": "nats-auth"}}
        }),
    )
    .await?;
    create(
        &api("Alert"),
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "nats", "namespace": ns},
            "spec": {"providerRef": {"name": "nats"}, "eventSeverity": "info",
                     "eventSources": [{"kind": "HelmRelease", "name": "*"}]}
        }),
    )
    .await?;
    // Let the caches see the Alert and Provider.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let event = json!({
        "involvedObject": {"kind": "HelmRelease", "namespace": ns, "name": "podinfo",
                           "apiVersion": "helm.toolkit.fluxcd.io/v2"},
        "severity": "info", "timestamp": "2026-01-02T03:04:05Z",
        "message": "Helm install succeeded for release podinfo", "reason": "InstallSucceeded",
        "metadata": {"helm.toolkit.fluxcd.io/revision": "6.5.0"},
        "reportingController": "helm-controller"
    });
    assert_eq!(post_event(&controller.events_url, &event).await?, 202);

    let message = tokio::time::timeout(Duration::from_secs(30), messages.next())
        .await
        .map_err(|_| anyhow::anyhow!("nothing published; server log:\n{}", server.log()))?
        .ok_or_else(|| anyhow::anyhow!("the subscription ended"))?;
    let published: Value = serde_json::from_slice(&message.payload)?;
    assert_eq!(
        published["involvedObject"]["name"], "podinfo",
        "{published}"
    );
    assert_eq!(published["reason"], "InstallSucceeded");
    assert_eq!(published["reportingController"], "helm-controller");
    assert_eq!(published["metadata"], json!({"revision": "6.5.0"}));
    // Byte for byte the event as Go's json.Marshal writes it (Flux's NATS payload).
    let as_event: tether_notify::Event = serde_json::from_slice(&message.payload)?;
    assert_eq!(
        String::from_utf8_lossy(&as_event.to_go_json()?),
        String::from_utf8_lossy(&message.payload)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_nats_credentials_publish_nothing_and_never_show_the_password() -> anyhow::Result<()>
{
    let server = NatsServer::start("flux", "right-pass")?;
    let settings = tether_notify::ProviderSettings {
        address: server.url(),
        channel: "flux.events".into(),
        username: "flux".into(),
        password: "wr0ng-pass".into(),
        ..Default::default()
    };
    let event: tether_notify::Event = serde_json::from_value(json!({
        "involvedObject": {"kind": "HelmRelease", "namespace": "ns", "name": "podinfo"},
        "severity": "info", "timestamp": "2026-01-02T03:04:05Z",
        "message": "m", "reason": "r", "reportingController": "helm-controller"
    }))?;
    let error =
        tether_notify::nats::publish(&settings, None, &event, Duration::from_secs(10)).await;
    let text = format!("{:?}", error.as_ref().err());
    assert!(
        matches!(error, Err(tether_notify::nats::NatsError::Connect(_))),
        "{text}"
    );
    assert!(!text.contains("wr0ng-pass"), "{text}");
    Ok(())
}
