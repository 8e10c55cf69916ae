//! `tether get|reconcile|suspend|resume source helm|chart` as processes against the local
//! control plane, a `tether controller` and a chart repository on loopback (nginx serving what
//! the Go-built helm packaged): Flux's tables, progress lines and messages, the static OCI
//! HelmRepository included.

mod common;

use common::{ControllerProcess, row, tether_ok};
use serde_json::json;
use tether_testkit::chartrepo::ChartRepoServer;
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{create, dynamic_api};

#[tokio::test]
async fn helm_source_verbs_get_reconcile_suspend_and_resume() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "verbs-helm").await?;
    let ns = ns.name.as_str();
    let server = ChartRepoServer::start()?;
    server.publish_chart("podinfo", "1.0.0", "")?;
    let group = "source.toolkit.fluxcd.io";
    let repositories = dynamic_api(&client, ns, group, "v1", "HelmRepository");
    let charts = dynamic_api(&client, ns, group, "v1", "HelmChart");
    for (name, spec) in [
        ("charts", json!({"url": server.url(), "interval": "10m"})),
        (
            "oci",
            json!({"url": "oci://127.0.0.1:5000/charts", "type": "oci", "interval": "10m"}),
        ),
    ] {
        let object = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": name, "namespace": ns}, "spec": spec});
        create(&repositories, object).await?;
    }
    let chart = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
        "metadata": {"name": "podinfo", "namespace": ns},
        "spec": {"chart": "podinfo", "version": "1.x", "interval": "10m",
                 "sourceRef": {"kind": "HelmRepository", "name": "charts"}}});
    create(&charts, chart).await?;
    let _controller = ControllerProcess::start(ns, &[])?;

    let (_, log) = tether_ok(&["reconcile", "source", "helm", "charts", "-n", ns]).await?;
    assert!(
        log.contains("► annotating HelmRepository charts in"),
        "{log}"
    );
    let revision = log
        .rsplit_once("✔ fetched revision ")
        .map(|(_, r)| r.trim().to_owned())
        .unwrap_or_default();
    assert!(revision.starts_with("sha256:"), "{log}");
    let (_, log) = tether_ok(&["reconcile", "source", "chart", "podinfo", "-n", ns]).await?;
    assert!(log.ends_with("✔ fetched revision 1.0.0\n"), "{log}");
    let (_, log) = tether_ok(&["reconcile", "source", "helm", "oci", "-n", ns]).await?;
    assert_eq!(log, "✔ reconciliation not supported by the object\n");

    let (table, _) = tether_ok(&["get", "sources", "helm", "-n", ns]).await?;
    assert_eq!(
        row(&table, "NAME").map(|r| r[..5].to_vec()),
        Some(vec!["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]),
        "{table}"
    );
    let short = &revision[..15];
    let message = format!("stored artifact: revision '{short}'");
    assert_eq!(
        row(&table, "charts").map(|r| r[..5].to_vec()),
        Some(vec!["charts", short, "False", "True", message.as_str()]),
        "{table}"
    );
    assert_eq!(
        row(&table, "oci").map(|r| r[..5].to_vec()),
        Some(vec!["oci", "", "False", "True", "Helm repository is Ready"]),
        "{table}"
    );
    let (table, _) = tether_ok(&["get", "sources", "chart", "-n", ns]).await?;
    assert_eq!(
        row(&table, "podinfo").map(|r| r[..5].to_vec()),
        Some(vec![
            "podinfo",
            "1.0.0",
            "False",
            "True",
            "pulled 'podinfo' chart with version '1.0.0'"
        ]),
        "{table}"
    );

    // Suspended, the chart ignores a new version; resumed, it takes it.
    let (_, log) = tether_ok(&["suspend", "source", "chart", "podinfo", "-n", ns]).await?;
    assert!(log.ends_with("✔ source chart suspended\n"), "{log}");
    server.publish_chart("podinfo", "1.1.0", "")?;
    tether_ok(&["reconcile", "source", "helm", "charts", "-n", ns]).await?;
    let (table, _) = tether_ok(&["get", "sources", "chart", "podinfo", "-n", ns]).await?;
    assert_eq!(
        row(&table, "podinfo").map(|r| r[1..3].to_vec()),
        Some(vec!["1.0.0", "True"]),
        "{table}"
    );
    let (_, log) = tether_ok(&["resume", "source", "chart", "podinfo", "-n", ns]).await?;
    assert!(log.ends_with("✔ fetched revision 1.1.0\n"), "{log}");
    Ok(())
}
