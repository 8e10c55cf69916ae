//! HelmRelease options end to end, on the in-process controller against the real control plane
//! (charts pushed with the Go-built `helm push` to the real OCI registry, read back with the
//! Go-built `helm`): `upgrade.preserveValues` (Helm's reuse of the release's values, and a
//! no-op resync that stays one), a release target change (chart name with
//! `chartNameChangeStrategy` Reinstall or InPlaceUpdate, release name), a `spec.kubeConfig`
//! release rendered with the remote cluster's capabilities, a release installed and upgraded in
//! the remote cluster with workload identity (`kubeConfig.configMapRef`, provider `generic`),
//! `install.disableSchemaValidation`,
//! a release name over 53 characters shortened as helm-controller shortens it, and an object
//! of another release refusing an install that may not take ownership.

mod common;

use anyhow::{Context, ensure};
use common::helm::{Fixture, helm_list, replicas};
use common::{RemoteNamespace, apply_kubeconfig_config_map, trusted_deployer};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::chartrepo::run_helm;
use tether_testkit::cluster::{
    install_crds, remote_address_and_ca, remote_config, remote_kubeconfig_text, wait_for,
};
use tether_testkit::flux::{condition, create, merge_patch, wait_ready_where};

/// `helm <args>` as JSON.
fn helm_json(args: &[&str]) -> anyhow::Result<Value> {
    let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    Ok(serde_json::from_str(&run_helm(&args)?)?)
}

fn service_port(service: &Service) -> i32 {
    service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|p| p.first())
        .map_or(0, |p| p.port)
}

/// Asks for a reconcile and waits until the controller handled it.
async fn reconcile_now(fx: &Fixture, name: &str, token: &str) -> anyhow::Result<Value> {
    merge_patch(
        &fx.releases,
        name,
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}}),
    )
    .await?;
    let handled = wait_for(&fx.releases, name, Duration::from_secs(60), |o| {
        let value = serde_json::to_value(o).unwrap_or_default();
        value["status"]["lastHandledReconcileAt"] == token
    })
    .await?;
    Ok(serde_json::to_value(handled)?)
}

#[tokio::test]
async fn preserve_values_upgrades_over_the_release_values_and_a_resync_upgrades_nothing()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-preserve").await?;
    let values = json!({"replicas": 2, "service": {"port": 8080}});
    create(&fx.releases, fx.release("web", json!({"values": values}))).await?;
    wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;

    // The service port is no longer in the values: preserveValues keeps the release's.
    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"upgrade": {"preserveValues": true},
            "values": {"replicas": 3, "service": null}}}),
    )
    .await?;
    let upgraded = wait_ready_where(&fx.releases, "web", |s, r, _| {
        s == "True" && r == "UpgradeSucceeded"
    })
    .await?;
    ensure!(replicas(&fx.deployment("web").await?.context("kept")?) == 3);
    let service = fx.ns.api::<Service>().get("web").await?;
    ensure!(
        service_port(&service) == 8080,
        "port not preserved: {service:?}"
    );
    let stored = helm_json(&["get", "values", "web", "-n", &fx.ns.name, "-o", "json"])?;
    ensure!(
        stored == json!({"replicas": 3, "service": {"port": 8080}}),
        "helm get values: {stored}"
    );
    let revision = upgraded["status"]["lastReleaseRevision"].clone();
    ensure!(revision == 2, "{upgraded}");

    // A resync with nothing changed finds the release in sync.
    let resynced = reconcile_now(&fx, "web", "resync-1").await?;
    let (status, _, message) = condition(&resynced, "Ready").context("Ready")?;
    ensure!(status == "True", "{message}");
    ensure!(
        resynced["status"]["lastReleaseRevision"] == revision,
        "a no-op resync upgraded: {resynced}"
    );
    let history = helm_json(&["history", "web", "-n", &fx.ns.name, "-o", "json"])?;
    ensure!(
        history.as_array().map(Vec::len) == Some(2),
        "helm history: {history}"
    );
    Ok(())
}

#[tokio::test]
async fn a_new_chart_name_reinstalls_unless_in_place_and_a_new_release_name_uninstalls_the_old()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-target").await?;
    fx.publish_chart("site", "site", "1.0.0", |_| Ok(()))
        .await?;
    for name in ["fresh", "inplace"] {
        create(&fx.releases, fx.release(name, json!({}))).await?;
    }
    merge_patch(
        &fx.releases,
        "inplace",
        json!({"spec": {"upgrade": {"chartNameChangeStrategy": "InPlaceUpdate"}}}),
    )
    .await?;
    for name in ["fresh", "inplace"] {
        wait_ready_where(&fx.releases, name, |s, _, _| s == "True").await?;
        ensure!(fx.deployment(&format!("{name}-web")).await?.is_some());
    }

    // Both move to chart `site`.
    for name in ["fresh", "inplace"] {
        merge_patch(
            &fx.releases,
            name,
            json!({"spec": {"chartRef": {"kind": "OCIRepository", "name": "site"}}}),
        )
        .await?;
    }
    for (name, reason, revision) in [
        ("fresh", "InstallSucceeded", 1),
        ("inplace", "UpgradeSucceeded", 2),
    ] {
        let moved = wait_ready_where(&fx.releases, name, |s, _, m| {
            s == "True" && m.contains("site@1.0.0")
        })
        .await?;
        let (_, got, message) = condition(&moved, "Ready").context("Ready")?;
        ensure!(got == reason, "{name}: {got}: {message}");
        let history = helm_json(&["history", name, "-n", &fx.ns.name, "-o", "json"])?;
        let versions: Vec<i64> = history
            .as_array()
            .context("history")?
            .iter()
            .filter_map(|h| h["revision"].as_i64())
            .collect();
        ensure!(
            versions.last() == Some(&revision),
            "{name}: helm history {history}"
        );
        ensure!(fx.deployment(&format!("{name}-web")).await?.is_none());
        ensure!(fx.deployment(&format!("{name}-site")).await?.is_some());
    }

    // A new release name: the release under the old one is uninstalled.
    merge_patch(
        &fx.releases,
        "fresh",
        json!({"spec": {"releaseName": "renamed"}}),
    )
    .await?;
    wait_ready_where(&fx.releases, "fresh", |s, _, m| {
        s == "True" && m.contains("/renamed.v1")
    })
    .await?;
    let names: Vec<String> = helm_list(&fx.ns.name)?
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        names.contains(&"renamed".to_owned()) && !names.contains(&"fresh".to_owned()),
        "helm list: {names:?}"
    );
    ensure!(fx.deployment("fresh-site").await?.is_none());
    // Each uninstall of a moved release is told, in helm-controller's words.
    let events: Api<Event> = fx.ns.api();
    let uninstalled: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("UninstallSucceeded"))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("fresh"))
        .filter_map(|e| e.note)
        .collect();
    let told = |chart: &str| {
        let message = format!(
            "Helm uninstall succeeded for release {}/fresh.v1 with chart {chart}",
            fx.ns.name
        );
        uninstalled.contains(&message)
    };
    ensure!(
        told("web@1.0.0") && told("site@1.0.0"),
        "events: {uninstalled:?}"
    );
    Ok(())
}

/// A kind served only by the remote cluster.
fn gadget_crd() -> anyhow::Result<
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.remote.tether.test"},
        "spec": {"group": "remote.tether.test", "scope": "Namespaced",
                 "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                   "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))?)
}

const CAPABILITIES_TEMPLATE: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: capabilities
data:
  gadgets: {{ .Capabilities.APIVersions.Has "remote.tether.test/v1/Gadget" | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_release_renders_with_the_remote_clusters_capabilities() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-remote-caps").await?;
    let remote = kube::Client::try_from(remote_config().await?)?;
    install_crds(&remote, vec![gadget_crd()?]).await?;
    let _target = RemoteNamespace::create(&remote, &fx.ns.name).await?;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "remote"},
        "stringData": {"value": remote_kubeconfig_text().await?}
    }))?;
    fx.ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    fx.publish("caps", "1.1.0", |dir| {
        Ok(std::fs::write(
            dir.join("templates/capabilities.yaml"),
            CAPABILITIES_TEMPLATE,
        )?)
    })
    .await?;
    let mut release = fx.release(
        "web",
        json!({"kubeConfig": {"secretRef": {"name": "remote"}},
            "install": {"disableWait": true}}),
    );
    release["spec"]["chartRef"]["name"] = json!("caps");
    create(&fx.releases, release).await?;
    let ready = wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    let (_, reason, _) = condition(&ready, "Ready").context("Ready")?;
    ensure!(reason == "InstallSucceeded", "{ready}");

    let remote_maps: Api<ConfigMap> = Api::namespaced(remote.clone(), &fx.ns.name);
    let rendered = remote_maps.get("capabilities").await?;
    let data = rendered.data.unwrap_or_default();
    ensure!(
        data.get("gadgets").map(String::as_str) == Some("true"),
        "rendered with another cluster's API versions: {data:?}"
    );
    let version = remote.apiserver_version().await?.git_version;
    ensure!(data.get("kube") == Some(&version), "{data:?} vs {version}");
    ensure!(
        fx.ns
            .api::<ConfigMap>()
            .get_opt("capabilities")
            .await?
            .is_none(),
        "installed in the controller's own cluster"
    );
    Ok(())
}

/// The release's objects and its Helm storage are in the remote cluster, written with a token of
/// a ServiceAccount of the controller's cluster that the remote cluster trusts; helm's wait
/// watched the remote Deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_identity_release_installs_and_upgrades_in_the_remote_cluster()
-> anyhow::Result<()> {
    use k8s_openapi::api::apps::v1::Deployment;
    let fx = Fixture::start("hr-remote-wi").await?;
    let remote = kube::Client::try_from(remote_config().await?)?;
    let _target = RemoteNamespace::create(&remote, &fx.ns.name).await?;
    trusted_deployer(&fx.ns, &remote, "deployer").await?;
    let (address, ca) = remote_address_and_ca().await?;
    let data = json!({"provider": "generic", "address": address, "ca.crt": ca,
                      "serviceAccountName": "deployer"});
    apply_kubeconfig_config_map(&fx.ns, data).await?;
    let spec = json!({"kubeConfig": {"configMapRef": {"name": "remote"}},
                      "values": {"replicas": 2}});
    create(&fx.releases, fx.release("web", spec)).await?;
    let ready = wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    let (_, reason, _) = condition(&ready, "Ready").context("Ready")?;
    ensure!(reason == "InstallSucceeded", "{ready}");

    let remote_deployments: Api<Deployment> = Api::namespaced(remote.clone(), &fx.ns.name);
    let web = remote_deployments.get("web").await?;
    ensure!(replicas(&web) == 2);
    let available = web.status.and_then(|s| s.available_replicas);
    ensure!(
        available == Some(2),
        "helm's wait ended early: {available:?}"
    );
    let storage: Api<Secret> = Api::namespaced(remote.clone(), &fx.ns.name);
    ensure!(
        storage
            .get_opt("sh.helm.release.v1.web.v1")
            .await?
            .is_some()
    );
    ensure!(fx.deployment("web").await?.is_none(), "installed locally");
    ensure!(helm_list(&fx.ns.name)?.is_empty(), "release stored locally");

    merge_patch(
        &fx.releases,
        "web",
        json!({"spec": {"values": {"replicas": 3}}}),
    )
    .await?;
    wait_ready_where(&fx.releases, "web", |s, r, _| {
        s == "True" && r == "UpgradeSucceeded"
    })
    .await?;
    ensure!(replicas(&remote_deployments.get("web").await?) == 3);
    ensure!(
        storage
            .get_opt("sh.helm.release.v1.web.v2")
            .await?
            .is_some()
    );
    Ok(())
}

const SCHEMA: &str = r#"{"$schema": "https://json-schema.org/draft-07/schema#",
  "type": "object", "properties": {"replicas": {"type": "integer", "maximum": 5}}}"#;

#[tokio::test]
async fn install_disable_schema_validation_installs_values_the_schema_refuses() -> anyhow::Result<()>
{
    let fx = Fixture::start("hr-schema-install").await?;
    fx.publish("strict", "1.2.0", |dir| {
        Ok(std::fs::write(dir.join("values.schema.json"), SCHEMA)?)
    })
    .await?;
    let with_replicas = |name: &str, install: Value| {
        let mut release = fx.release(name, json!({"values": {"replicas": 9}, "install": install}));
        release["spec"]["chartRef"]["name"] = json!("strict");
        release
    };
    create(&fx.releases, with_replicas("refused", json!({}))).await?;
    create(
        &fx.releases,
        with_replicas("allowed", json!({"disableSchemaValidation": true})),
    )
    .await?;
    let refused = wait_ready_where(&fx.releases, "refused", |s, _, m| {
        s == "False" && m.contains("values don't meet the specifications of the schema")
    })
    .await?;
    let (_, reason, _) = condition(&refused, "Ready").context("Ready")?;
    ensure!(reason == "InstallFailed", "{refused}");
    wait_ready_where(&fx.releases, "allowed", |s, _, _| s == "True").await?;
    ensure!(replicas(&fx.deployment("allowed-web").await?.context("installed")?) == 9);
    ensure!(fx.deployment("refused-web").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn a_release_name_over_53_characters_is_shortened_as_helm_controller_does()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-long").await?;
    let name = "a-helm-release-whose-name-is-longer-than-helm-allows-for-names";
    create(
        &fx.releases,
        fx.release(name, json!({"install": {"disableWait": true}})),
    )
    .await?;
    let ready = wait_ready_where(&fx.releases, name, |s, _, _| s == "True").await?;
    // helm-controller's ShortenName: the first 40 characters, `-`, 12 hex digits of the
    // name's SHA-256.
    let sum = {
        use sha2::Digest as _;
        format!("{:x}", sha2::Sha256::digest(name.as_bytes()))
    };
    let short = format!("{}-{}", &name[..40], &sum[..12]);
    let listed = helm_list(&fx.ns.name)?;
    ensure!(
        listed.len() == 1 && listed[0]["name"] == short.as_str(),
        "helm list: {listed:?}"
    );
    ensure!(
        ready["status"]["history"][0]["name"] == short.as_str(),
        "{ready}"
    );
    Ok(())
}

#[tokio::test]
async fn the_legacy_wait_strategy_judges_only_core_kinds_by_helm_3s_rules() -> anyhow::Result<()> {
    let fx = Fixture::start("hr-wait-legacy").await?;
    install_crds(&fx.client, vec![common::widget_crd()?]).await?;
    fx.publish("widgets", "1.1.0", |dir| {
        Ok(std::fs::write(
            dir.join("templates/widget.yaml"),
            common::WIDGET_TEMPLATE,
        )?)
    })
    .await?;
    // A Widget nobody marks ready: the poller would wait on its health check expressions;
    // Helm 3's rules take any custom resource as ready.
    let mut widget = fx.release(
        "widget",
        json!({"waitStrategy": {"name": "legacy"},
            "healthCheckExprs": common::widget_health_exprs()}),
    );
    widget["spec"]["chartRef"]["name"] = json!("widgets");
    create(&fx.releases, widget).await?;
    // A LoadBalancer Service no controller gives an ingress: kstatus takes it as current,
    // Helm 3's rules wait for the ingress.
    let balancer = |name: &str, strategy: &str| {
        fx.release(
            name,
            json!({"timeout": "6s", "waitStrategy": {"name": strategy},
                "values": {"service": {"type": "LoadBalancer"}}}),
        )
    };
    create(&fx.releases, balancer("polled", "poller")).await?;
    create(&fx.releases, balancer("waiting", "legacy")).await?;

    let ready = wait_ready_where(&fx.releases, "widget", |s, _, _| s == "True").await?;
    let (_, reason, _) = condition(&ready, "Ready").context("Ready")?;
    ensure!(reason == "InstallSucceeded", "{ready}");
    wait_ready_where(&fx.releases, "polled", |s, _, _| s == "True").await?;
    let refused = wait_ready_where(&fx.releases, "waiting", |s, _, m| {
        s == "False" && m.contains("Helm install failed")
    })
    .await?;
    let (_, _, message) = condition(&refused, "Ready").context("Ready")?;
    ensure!(
        message.contains(&format!("Service/{}/waiting-web", fx.ns.name)),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn an_object_of_another_release_refuses_the_install_without_take_ownership()
-> anyhow::Result<()> {
    let fx = Fixture::start("hr-owned").await?;
    create(&fx.releases, fx.release("web", json!({}))).await?;
    wait_ready_where(&fx.releases, "web", |s, _, _| s == "True").await?;
    // Release `second` renders ServiceAccount `web`, which release `web` owns.
    create(
        &fx.releases,
        fx.release(
            "second",
            json!({"values": {"serviceAccount": {"name": "web"}},
                "install": {"disableTakeOwnership": true}}),
        ),
    )
    .await?;
    let refused = wait_ready_where(&fx.releases, "second", |s, _, m| {
        s == "False" && m.contains("Helm install failed")
    })
    .await?;
    let (_, _, message) = condition(&refused, "Ready").context("Ready")?;
    let expected = format!(
        "ServiceAccount \"web\" in namespace \"{}\" exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: key \"meta.helm.sh/release-name\" must equal \"second\": current value is \"web\"",
        fx.ns.name
    );
    ensure!(message.contains(&expected), "{message}");
    ensure!(fx.deployment("second-web").await?.is_none());
    Ok(())
}
