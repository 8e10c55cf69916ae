//! `tether get|reconcile|suspend|resume source bucket` against the controller binary, a real S3
//! server (versitygw) and the local control plane, with Flux's output.

mod common;

use common::{ControllerProcess, row, tether_ok};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{create, dynamic_api};
use tether_testkit::s3::S3Server;

#[tokio::test]
async fn bucket_source_verbs_get_reconcile_suspend_and_resume() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "verbs-bucket").await?;
    let ns = ns.name.as_str();
    let s3 = S3Server::start()?;
    s3.create_bucket("manifests").await?;
    s3.put_object("manifests", "app.yaml", b"kind: ConfigMap\n")
        .await?;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "s3-keys"},
        "stringData": {"accesskey": s3.access_key(), "secretkey": s3.secret_key()}
    }))?;
    Api::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await?;
    let sources = dynamic_api(&client, ns, "source.toolkit.fluxcd.io", "v1", "Bucket");
    create(
        &sources,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": {"name": "app", "namespace": ns},
            "spec": {"bucketName": "manifests", "endpoint": s3.endpoint(), "insecure": true,
                     "interval": "10m", "secretRef": {"name": "s3-keys"}}
        }),
    )
    .await?;
    let _controller = ControllerProcess::start(ns, &[])?;

    let (_, log) = tether_ok(&["reconcile", "source", "bucket", "app", "-n", ns]).await?;
    let fetched = serde_json::to_value(sources.get("app").await?)?;
    let revision = fetched["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(revision.starts_with("sha256:"), "{revision}");
    assert!(
        log.ends_with(&format!("✔ fetched revision {revision}\n")),
        "{log}"
    );
    let (table, _) = tether_ok(&["get", "sources", "bucket", "-n", ns]).await?;
    assert!(table.starts_with("NAME\tREVISION"), "{table}");
    let short = &revision[..revision.len().min(15)];
    assert_eq!(row(&table, "app").map(|r| r[1]), Some(short), "{table}");

    let (_, log) = tether_ok(&["suspend", "source", "bucket", "app", "-n", ns]).await?;
    assert!(log.ends_with("✔ source bucket suspended\n"), "{log}");
    s3.put_object("manifests", "more.yaml", b"kind: Secret\n")
        .await?;
    let (_, log) = tether_ok(&["resume", "source", "bucket", "app", "-n", ns]).await?;
    let resumed = serde_json::to_value(sources.get("app").await?)?;
    let newer = resumed["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or_default();
    assert_ne!(newer, revision, "the new object is fetched on resume");
    assert!(
        log.ends_with(&format!("✔ fetched revision {newer}\n")),
        "{log}"
    );
    Ok(())
}
