//! The core sync loop end to end: a `tether controller` process, the real local control plane
//! and a real sshd serving a git repository with a deploy key. Git changes become cluster
//! changes: applied, pruned, drift corrected, bad input reported without touching live objects.

mod common;

use anyhow::Context;
use common::{ControllerProcess, GitSourceFixture, condition, deployment_yaml};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::cluster::{TestNamespace, wait_for};

const WAIT: Duration = Duration::from_secs(60);

fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

fn kustomizations(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &resource("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
    )
}

async fn create(api: &Api<DynamicObject>, object: Value) -> anyhow::Result<()> {
    let object: DynamicObject = serde_json::from_value(object)?;
    api.create(&PostParams::default(), &object).await?;
    Ok(())
}

async fn merge_patch(api: &Api<DynamicObject>, name: &str, patch: Value) -> anyhow::Result<()> {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Waits until the Kustomization's Ready condition satisfies `check`, returning the object.
async fn wait_ready_where(
    api: &Api<DynamicObject>,
    name: &str,
    check: impl Fn(&str, &str, &str) -> bool,
) -> anyhow::Result<Value> {
    let object = wait_for(api, name, WAIT, |o| {
        let value = serde_json::to_value(o).unwrap_or_default();
        condition(&value, "Ready").is_some_and(|(s, r, m)| check(&s, &r, &m))
    })
    .await?;
    Ok(serde_json::to_value(object)?)
}

fn kustomization(name: &str, ns: &str, target: &str, path: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "10m", "path": path, "prune": true, "wait": true, "timeout": "60s",
                 "targetNamespace": target,
                 "sourceRef": {"kind": "GitRepository", "name": "app"}}
    })
}

#[tokio::test]
async fn git_changes_become_cluster_changes() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("sync", "2s").await?;
    let target = TestNamespace::create(&s.client, "sync-target").await?;
    let _controller = ControllerProcess::start(&s.ns.name, &[])?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    create(
        &ks_api,
        kustomization("app", &s.ns.name, &target.name, "./deploy"),
    )
    .await?;

    // Applied and healthy, with Flux's revision, inventory, labels and field manager.
    let head = s.repo.rev_parse("master")?;
    let ks = wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    assert_eq!(
        condition(&ks, "Ready").map(|c| c.2),
        Some(format!("Applied revision: master@sha1:{head}"))
    );
    assert_eq!(condition(&ks, "Healthy").map(|c| c.0), Some("True".into()));
    assert_eq!(
        ks["status"]["lastAppliedRevision"],
        format!("master@sha1:{head}")
    );
    let ids: Vec<&str> = ks["status"]["inventory"]["entries"]
        .as_array()
        .context("inventory")?
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert!(
        ids.contains(&format!("{}_web_apps_Deployment", target.name).as_str()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&format!("{}_web__Service", target.name).as_str()),
        "{ids:?}"
    );
    let deployments = target.api::<Deployment>();
    let web = deployments.get("web").await?;
    let labels = web.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("app")
    );
    assert_eq!(
        labels.get("kustomize.toolkit.fluxcd.io/namespace"),
        Some(&s.ns.name)
    );
    let managers: Vec<String> = web
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"kustomize-controller".to_owned()),
        "{managers:?}"
    );
    wait_for(&deployments, "web", WAIT, |d| {
        d.status.as_ref().and_then(|s| s.available_replicas) == Some(2)
    })
    .await?;

    // A pushed change is applied long before the 10m interval.
    s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(3))],
        "scale to 3",
    )?;
    wait_for(&deployments, "web", WAIT, |d| {
        d.spec.as_ref().and_then(|s| s.replicas) == Some(3)
    })
    .await?;

    // A removed manifest is pruned.
    s.repo
        .remove("master", &["deploy/service.yaml"], "drop the service")?;
    let services = target.api::<Service>();
    wait_for_gone(&services, "web").await?;

    // A broken manifest fails the reconcile, names the file and the cause, and changes nothing.
    s.repo.commit(
        "master",
        &[
            ("deploy/deployment.yaml", &deployment_yaml(5)),
            (
                "deploy/broken.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
            ),
        ],
        "break it",
    )?;
    let broken = wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message.contains("broken.yaml")
    })
    .await?;
    let (_, reason, message) = condition(&broken, "Ready").context("Ready")?;
    assert_eq!(reason, "BuildFailed", "{message}");
    assert_eq!(
        deployments.get("web").await?.spec.and_then(|s| s.replicas),
        Some(3),
        "a broken commit changed live objects"
    );
    s.repo.remove("master", &["deploy/broken.yaml"], "fix it")?;
    wait_for(&deployments, "web", WAIT, |d| {
        d.spec.as_ref().and_then(|s| s.replicas) == Some(5)
    })
    .await?;

    // A field changed by hand is corrected at the next interval.
    merge_patch(&ks_api, "app", json!({"spec": {"interval": "2s"}})).await?;
    wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    let by_hand = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    deployments
        .patch(
            "web",
            &by_hand,
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await?;
    wait_for(&deployments, "web", WAIT, |d| {
        d.spec.as_ref().and_then(|s| s.replicas) == Some(5)
    })
    .await?;

    // Suspended: pushes are not applied; resumed: they are.
    merge_patch(&ks_api, "app", json!({"spec": {"suspend": true}})).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(4))],
        "scale to 4",
    )?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        deployments.get("web").await?.spec.and_then(|s| s.replicas),
        Some(5),
        "a suspended Kustomization applied"
    );
    merge_patch(&ks_api, "app", json!({"spec": {"suspend": false}})).await?;
    wait_for(&deployments, "web", WAIT, |d| {
        d.spec.as_ref().and_then(|s| s.replicas) == Some(4)
    })
    .await?;

    // Deleting the Kustomization (prune: true) deletes what it applied.
    ks_api.delete("app", &DeleteParams::default()).await?;
    wait_for_gone(&deployments, "web").await?;
    wait_for_gone(&ks_api, "app").await?;
    Ok(())
}

async fn wait_for_gone<K>(api: &Api<K>, name: &str) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + k8s_openapi::serde::de::DeserializeOwned + std::fmt::Debug,
{
    for _ in 0..(WAIT.as_millis() / 200) {
        if api.get_opt(name).await?.is_none() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("{name} still exists after {WAIT:?}")
}

#[tokio::test]
async fn depends_on_orders_kustomizations() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("depends", "2s").await?;
    s.repo.commit(
        "master",
        &[(
            "infra/config.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: infra\ndata: {a: b}\n",
        )],
        "infra",
    )?;
    let _controller = ControllerProcess::start(&s.ns.name, &[])?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut infra = kustomization("infra", &s.ns.name, &s.ns.name, "./infra");
    infra["spec"]["sourceRef"]["name"] = json!("not-there-yet");
    create(&ks_api, infra).await?;
    let mut apps = kustomization("apps", &s.ns.name, &s.ns.name, "./deploy");
    apps["spec"]["dependsOn"] = json!([{"name": "infra"}]);
    create(&ks_api, apps).await?;

    let waiting = wait_ready_where(&ks_api, "apps", |status, reason, _| {
        status == "False" && reason == "DependencyNotReady"
    })
    .await?;
    assert!(
        condition(&waiting, "Ready").is_some_and(|c| c.2.contains("infra")),
        "{waiting}"
    );
    let infra_failed = wait_ready_where(&ks_api, "infra", |status, reason, _| {
        status == "False" && reason == "ArtifactFailed"
    })
    .await?;
    assert!(condition(&infra_failed, "Ready").is_some_and(|c| c.2.contains("not-there-yet")));
    assert!(
        s.ns.api::<Deployment>().get_opt("web").await?.is_none(),
        "apps applied before its dependency"
    );

    merge_patch(
        &ks_api,
        "infra",
        json!({"spec": {"sourceRef": {"name": "app"}}}),
    )
    .await?;
    wait_ready_where(&ks_api, "infra", |status, _, _| status == "True").await?;
    wait_ready_where(&ks_api, "apps", |status, _, _| status == "True").await?;
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_some());
    Ok(())
}

#[tokio::test]
async fn resync_at_an_unchanged_revision_makes_no_writes() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("noop", "2s").await?;
    let controller = ControllerProcess::start(&s.ns.name, &[])?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut ks = kustomization("app", &s.ns.name, &s.ns.name, "./deploy");
    ks["spec"]["interval"] = json!("1s");
    create(&ks_api, ks).await?;
    wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    // Let the follow-up reconciles of the first apply (health, status events) settle.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let writes = |c: &ControllerProcess| {
        c.api_requests(|verb, dry_run| {
            !dry_run && ["create", "update", "patch", "delete"].contains(&verb)
        })
    };
    let (writes_before, reconciles_before) = (
        writes(&controller)?,
        controller.reconciles("kustomization")?,
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (writes_after, reconciles_after) = (
        writes(&controller)?,
        controller.reconciles("kustomization")?,
    );

    // Each resync compares with the cluster (by dry-run, or through the watch of known objects
    // once a dry-run found an object unchanged; git_changes_become_cluster_changes covers hand
    // edits).
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

#[tokio::test]
async fn a_new_revision_cancels_a_running_health_wait() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("cancel", "1s").await?;
    let stuck = deployment_yaml(1).replace(
        "    spec:\n      containers:",
        "    spec:\n      nodeSelector: {tether.test/nowhere: \"true\"}\n      containers:",
    );
    s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &stuck)],
        "unschedulable",
    )?;
    let _controller = ControllerProcess::start(&s.ns.name, &[])?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut ks = kustomization("app", &s.ns.name, &s.ns.name, "./deploy");
    ks["spec"]["timeout"] = json!("2m");
    create(&ks_api, ks).await?;
    let deployments = s.ns.api::<Deployment>();
    wait_for(&deployments, "web", WAIT, |d| {
        d.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .is_some_and(|p| p.node_selector.is_some())
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = serde_json::to_value(ks_api.get("app").await?)?;
    let in_progress = condition(&waiting, "Ready").map(|c| (c.0, c.1));
    let expected = Some(("Unknown".to_owned(), "Progressing".to_owned()));
    assert_eq!(
        in_progress, expected,
        "the first reconcile should still be waiting: {waiting}"
    );
    assert_eq!(
        condition(&waiting, "Reconciling").map(|c| c.0),
        Some("True".into())
    );

    let fixed = s.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(1))],
        "schedulable",
    )?;
    let started = std::time::Instant::now();
    let ready = wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "True" && message.contains(&fixed)
    })
    .await?;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the new revision waited for the old health check ({:?})",
        started.elapsed()
    );
    assert_eq!(
        condition(&ready, "Healthy").map(|c| c.0),
        Some("True".into())
    );
    Ok(())
}

#[tokio::test]
async fn a_source_that_cannot_fetch_is_reported_on_its_kustomization() -> anyhow::Result<()> {
    use tether_testkit::cluster::{TestNamespace, client, install_crds};
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "unfetched").await?;
    let unreachable = format!("http://127.0.0.1:{}/app.git", common::free_port()?);
    let sources = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns.name,
        &resource("source.toolkit.fluxcd.io", "v1", "GitRepository"),
    );
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": ns.name},
            "spec": {"url": unreachable, "interval": "1h", "timeout": "5s",
                     "ref": {"branch": "main"}}}),
    )
    .await?;
    // A suspended source that never fetched has nothing to wait for either.
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "held", "namespace": ns.name},
            "spec": {"url": "http://127.0.0.1:1/held.git", "interval": "1h", "suspend": true,
                     "ref": {"branch": "main"}}}),
    )
    .await?;
    let ks_api = kustomizations(&client, &ns.name);
    create(
        &ks_api,
        kustomization("app", &ns.name, &ns.name, "./deploy"),
    )
    .await?;
    let mut on_held = kustomization("on-held", &ns.name, &ns.name, "./deploy");
    on_held["spec"]["sourceRef"]["name"] = json!("held");
    create(&ks_api, on_held).await?;
    let _controller = ControllerProcess::start(&ns.name, &[])?;
    let started = std::time::Instant::now();

    // The Kustomization waits for its source's first fetch without a report of its own; the
    // failed fetch wakes it (well before the 30 s dependency requeue), and it says what it
    // waits for.
    let failed = wait_ready_where(&ks_api, "app", |status, reason, _| {
        status == "False" && reason == "ArtifactFailed"
    })
    .await?;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "reported after {:?}",
        started.elapsed()
    );
    let expected = format!(
        "Source 'GitRepository/{}/app' is not ready, artifact not found",
        ns.name
    );
    assert!(
        condition(&failed, "Ready").is_some_and(|c| c.2 == expected),
        "{failed}"
    );
    wait_ready_where(&ks_api, "on-held", |status, reason, message| {
        status == "False" && reason == "ArtifactFailed" && message.contains("is not ready")
    })
    .await?;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the Kustomization of a suspended source reported after {:?}",
        started.elapsed()
    );
    Ok(())
}
