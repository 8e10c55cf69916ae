//! The notification verbs end to end: `tether create|get|suspend|resume alert|alert-provider|
//! receiver`, `tether reconcile receiver` and `tether trigger receiver`, run as processes
//! against the local control plane and a `tether controller`, printing what Flux prints.

mod common;

use common::{ControllerProcess, row, tether, tether_ok, texts};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;
use std::time::{Duration, Instant};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{create, dynamic_api};

const TOKEN: &str = "receiver-s3cret";

/// The stderr lines of a command, without the symbols' trailing spaces.
fn lines(stderr: &str) -> Vec<&str> {
    stderr.lines().map(str::trim_end).collect()
}

#[tokio::test]
async fn alerts_providers_and_receivers_are_created_listed_suspended_and_triggered()
-> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "notify-verbs").await?;
    let ns = ns.name.clone();
    let controller = ControllerProcess::start(&ns, &[])?;

    // Flux's export of a Provider: keys sorted, nothing applied.
    let (export, _) = tether_ok(&[
        "create",
        "alert-provider",
        "slack",
        "--type",
        "slack",
        "--channel",
        "general",
        "--address",
        "https://hooks.slack.com/services/mock",
        "--export",
        "-n",
        &ns,
    ])
    .await?;
    let expected = format!(
        "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: slack\n  namespace: {ns}\nspec:\n  address: https://hooks.slack.com/services/mock\n  channel: general\n  type: slack\n"
    );
    assert_eq!(export, expected);
    let missing = tether(&["get", "alert-providers", "-n", &ns]).await?;
    let (_, stderr) = texts(&missing);
    assert!(!missing.status.success());
    assert_eq!(
        stderr.trim(),
        format!("✗ no Provider objects found in \"{ns}\" namespace")
    );

    let (_, stderr) = tether_ok(&[
        "create",
        "alert-provider",
        "slack",
        "--type",
        "slack",
        "--channel",
        "general",
        "--address",
        "http://127.0.0.1:9/slack",
        "-n",
        &ns,
    ])
    .await?;
    assert_eq!(
        lines(&stderr),
        [
            "✚ generating Provider",
            "► applying Provider",
            "✔ Provider created",
            "◎ waiting for Provider reconciliation",
            "✔ Provider slack is ready",
        ]
    );
    let (_, stderr) = tether_ok(&[
        "create",
        "alert",
        "apps",
        "--provider-ref",
        "slack",
        "--event-severity",
        "error",
        "--event-source",
        "Kustomization/app,GitRepository/*",
        "--label",
        "team=web",
        "-n",
        &ns,
    ])
    .await?;
    assert!(stderr.contains("✔ Alert created"), "{stderr}");
    assert!(stderr.contains("✔ Alert apps is ready"), "{stderr}");
    let (_, stderr) = tether_ok(&[
        "create",
        "alert",
        "apps",
        "--provider-ref",
        "slack",
        "--event-source",
        "Kustomization/app",
        "-n",
        &ns,
    ])
    .await?;
    assert!(stderr.contains("✔ Alert updated"), "{stderr}");
    let refused = tether(&["create", "alert", "bad", "--event-source", "x/y", "-n", &ns]).await?;
    assert_eq!(texts(&refused).1.trim(), "✗ provider ref is required");

    let (table, _) = tether_ok(&["get", "alert-providers", "-n", &ns]).await?;
    assert!(table.starts_with("NAME \tREADY\tMESSAGE"), "{table}");
    assert_eq!(
        row(&table, "slack"),
        Some(vec!["slack", "True", "Provider is Ready", ""])
    );
    let (table, _) = tether_ok(&["get", "alerts", "-n", &ns]).await?;
    assert!(
        table.starts_with("NAME\tSUSPENDED\tREADY\tMESSAGE"),
        "{table}"
    );
    assert_eq!(
        row(&table, "apps"),
        Some(vec!["apps", "False", "True", "Alert is Ready", ""])
    );
    let (table, _) = tether_ok(&[
        "get",
        "alerts",
        "--status-selector",
        "ready=false",
        "-n",
        &ns,
    ])
    .await?;
    assert_eq!(
        table.lines().count(),
        1,
        "an Alert is always Ready: {table}"
    );

    let (_, stderr) = tether_ok(&["suspend", "alert", "apps", "-n", &ns]).await?;
    assert_eq!(
        lines(&stderr),
        [
            format!("► suspending alert apps in {ns} namespace").as_str(),
            "✔ alert suspended"
        ]
    );
    let (table, _) = tether_ok(&["get", "alert", "apps", "-n", &ns]).await?;
    assert_eq!(row(&table, "apps").map(|r| r[1]), Some("True"));
    let (_, stderr) = tether_ok(&["resume", "alert", "apps", "-n", &ns]).await?;
    assert!(
        stderr
            .ends_with("✔ Alert apps reconciliation completed\n✔ Alert reconciliation completed\n"),
        "{stderr}"
    );

    receivers(&client, &ns, &controller).await
}

async fn receivers(
    client: &kube::Client,
    ns: &str,
    controller: &ControllerProcess,
) -> anyhow::Result<()> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "webhook-token"}, "stringData": {"token": TOKEN}
    }))?;
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await?;
    let sources = dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    create(
        &sources,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": ns},
            "spec": {"url": "https://example.invalid/app.git", "interval": "1h", "suspend": true}
        }),
    )
    .await?;

    let (_, stderr) = tether_ok(&[
        "create",
        "receiver",
        "hmac",
        "--type",
        "generic-hmac",
        "--secret-ref",
        "webhook-token",
        "--resource",
        "GitRepository/app",
        "-n",
        ns,
    ])
    .await?;
    let path = tether_notify::webhook_path(TOKEN, "hmac", ns);
    assert_eq!(
        lines(&stderr),
        [
            "✚ generating Receiver",
            "► applying Receiver",
            "✔ Receiver created",
            "◎ waiting for Receiver reconciliation",
            "✔ Receiver hmac is ready",
            format!("✔ generated webhook URL {path}").as_str(),
        ]
    );
    let (table, _) = tether_ok(&["get", "receivers", "-n", ns]).await?;
    let ready = row(&table, "hmac").unwrap_or_default();
    assert_eq!(ready[..3], ["hmac", "False", "True"], "{table}");
    assert!(ready[3].contains(&path), "{table}");

    let (_, stderr) = tether_ok(&["reconcile", "receiver", "hmac", "-n", ns]).await?;
    assert_eq!(
        lines(&stderr),
        [
            format!("► annotating Receiver hmac in {ns} namespace").as_str(),
            "✔ Receiver annotated",
            "◎ waiting for Receiver reconciliation",
            "✔ Receiver reconciliation completed",
        ]
    );
    tether_ok(&["suspend", "receiver", "hmac", "-n", ns]).await?;
    let (table, _) = tether_ok(&["get", "receivers", "hmac", "-n", ns]).await?;
    assert_eq!(row(&table, "hmac").map(|r| r[1]), Some("True"));
    let (_, stderr) = tether_ok(&["resume", "receiver", "hmac", "-n", ns]).await?;
    assert!(
        stderr.contains("✔ Receiver hmac reconciliation completed"),
        "{stderr}"
    );

    let url = format!("http://127.0.0.1:{}/", controller.receiver_port);
    let wrong = tether(&[
        "trigger",
        "receiver",
        "hmac",
        "--type",
        "generic-hmac",
        "--token",
        "not-the-token",
        "--url",
        &url,
        "--retries",
        "0",
        "-n",
        ns,
    ])
    .await?;
    let (_, stderr) = texts(&wrong);
    assert!(!wrong.status.success());
    assert!(
        stderr.contains("failed with status 404 Not Found"),
        "{stderr}"
    );
    assert_eq!(
        requested_at(&sources.get("app").await?),
        None,
        "nothing annotated"
    );

    let (_, stderr) = tether_ok(&[
        "trigger",
        "receiver",
        "hmac",
        "--type",
        "generic-hmac",
        "--token",
        TOKEN,
        "--url",
        &url,
        "--payload",
        r#"{"image":"ghcr.io/org/app:v1.0.0"}"#,
        "-n",
        ns,
    ])
    .await?;
    assert_eq!(
        lines(&stderr),
        [
            format!("► triggering Receiver {ns}/hmac").as_str(),
            format!("✔ Receiver {ns}/hmac triggered").as_str(),
        ]
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while requested_at(&sources.get("app").await?).is_none() {
        anyhow::ensure!(Instant::now() < deadline, "the trigger annotated nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn requested_at(object: &DynamicObject) -> Option<String> {
    let annotations = object.metadata.annotations.as_ref()?;
    annotations.get("reconcile.fluxcd.io/requestedAt").cloned()
}
