//! e2e: the wait verb against the real local control plane — a Deployment that rolls out (kwok
//! runs its pods), custom resources that report `Ready=False` (timeout) or `Stalled=True`
//! (early failure), and cancellation.

mod common;

use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use common::{delete_cluster_object, deployment, recording_client, widget, widget_crd};
use serde_json::json;
use tether_core::health::Status;
use tether_core::object::ObjectRef;
use tether_ssa::{ApplyOptions, ResourceManager, WaitError, WaitOptions};
use tether_testkit::cluster::TestNamespace;

fn reference(api_version: &str, kind: &str, ns: &str, name: &str) -> ObjectRef {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ObjectRef {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

fn quick(timeout: Duration) -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(250),
        timeout,
        ..WaitOptions::default()
    }
}

#[tokio::test]
async fn wait_succeeds_once_a_deployment_rolls_out() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-wait-ok").await?;
    let manager = ResourceManager::new(client);
    manager
        .apply_all_staged(
            vec![deployment(&ns.name, "web", 2)],
            &ApplyOptions::default(),
        )
        .await?;
    let web = reference("apps/v1", "Deployment", &ns.name, "web");
    manager
        .wait_for_set(std::slice::from_ref(&web), &quick(Duration::from_secs(60)))
        .await?;
    let status = manager.status_of(web).await;
    ensure!(status.status == Status::Current, "{status}");
    Ok(())
}

#[tokio::test]
async fn wait_times_out_listing_every_unready_object() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-wait-timeout").await?;
    let group = format!("{}.tether.test", ns.name);
    let manager = ResourceManager::new(client.clone());
    let not_ready = json!({"conditions": [{"type": "Ready", "status": "False",
        "reason": "Provisioning", "message": "waiting for the widget factory"}]});
    let objects = vec![
        widget_crd(&group),
        widget(&group, &ns.name, "slow", not_ready),
        widget(&group, &ns.name, "fine", json!({})),
    ];
    manager
        .apply_all_staged(objects, &ApplyOptions::default())
        .await?;
    let api_version = format!("{group}/v1");
    let refs = [
        reference(&api_version, "Widget", &ns.name, "slow"),
        reference(&api_version, "Widget", &ns.name, "fine"),
        reference("v1", "ConfigMap", &ns.name, "missing"),
    ];
    let result = manager
        .wait_for_set(&refs, &quick(Duration::from_secs(2)))
        .await;
    delete_cluster_object(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        &format!("widgets.{group}"),
    )
    .await;
    let Err(error) = result else {
        bail!("wait succeeded")
    };
    let n = &ns.name;
    let expected = format!(
        "timeout waiting for: [Widget/{n}/slow status: 'InProgress': waiting for the widget factory, \
         ConfigMap/{n}/missing status: 'NotFound': Resource not found]"
    );
    ensure!(error.to_string() == expected, "{error}");
    Ok(())
}

#[tokio::test]
async fn wait_fails_early_on_a_stalled_object() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-wait-stalled").await?;
    let group = format!("{}.tether.test", ns.name);
    let manager = ResourceManager::new(client.clone());
    let stalled = json!({"conditions": [{"type": "Stalled", "status": "True",
        "reason": "BadConfig", "message": "size must be positive"}]});
    let objects = vec![
        widget_crd(&group),
        widget(&group, &ns.name, "broken", stalled),
    ];
    manager
        .apply_all_staged(objects, &ApplyOptions::default())
        .await?;
    let broken = reference(&format!("{group}/v1"), "Widget", &ns.name, "broken");
    let started = Instant::now();
    let result = manager
        .wait_for_set(&[broken], &quick(Duration::from_secs(30)))
        .await;
    delete_cluster_object(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        &format!("widgets.{group}"),
    )
    .await;
    let Err(WaitError::Failed { failed }) = result else {
        bail!("expected an early failure: {result:?}")
    };
    ensure!(
        started.elapsed() < Duration::from_secs(10),
        "did not fail early"
    );
    ensure!(
        failed.len() == 1 && failed[0].status == Status::Failed,
        "{failed:?}"
    );
    ensure!(failed[0].message == "size must be positive", "{failed:?}");
    Ok(())
}

#[tokio::test]
async fn a_running_wait_can_be_cancelled() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-wait-cancel").await?;
    let manager = ResourceManager::new(client);
    let opts = quick(Duration::from_secs(60));
    let cancel = opts.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let missing = reference("v1", "ConfigMap", &ns.name, "never");
    let result = manager.wait_for_set(&[missing], &opts).await;
    ensure!(result == Err(WaitError::Cancelled), "{result:?}");
    ensure!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[tokio::test]
async fn a_wait_reads_a_watched_object_again_as_soon_as_it_changes() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-wait-follow").await?;
    let group = format!("{}.tether.test", ns.name);
    let manager = ResourceManager::new(client.clone());
    let provisioning = json!({"conditions": [{"type": "Ready", "status": "False",
        "reason": "Provisioning", "message": "waiting for the widget factory"}]});
    let objects = vec![
        widget_crd(&group),
        widget(&group, &ns.name, "slow", provisioning),
    ];
    manager
        .apply_all_staged(objects, &ApplyOptions::default())
        .await?;
    let gvk = kube::core::GroupVersionKind::gvk(&group, "v1", "Widget");
    let (resource, _) = kube::discovery::pinned_kind(&client, &gvk).await?;
    let watched = manager
        .known_objects()
        .watch(&resource, Duration::from_secs(30))
        .await;
    ensure!(watched, "the index does not watch widgets");
    let slow = reference(&format!("{group}/v1"), "Widget", &ns.name, "slow");
    // Polls an hour apart: only the watch can end this wait in time.
    let opts = WaitOptions {
        interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(120),
        ..WaitOptions::default()
    };
    let waiting = {
        let manager = manager.clone();
        tokio::spawn(async move { manager.wait_for_set(&[slow], &opts).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ready = json!({"conditions": [{"type": "Ready", "status": "True",
        "reason": "Provisioned", "message": "ready"}]});
    let started = Instant::now();
    // Written as its controller would: the apply leaves `status` alone.
    let widgets: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client.clone(), &ns.name, &resource);
    let patch = kube::api::Patch::Merge(json!({"status": ready}));
    widgets
        .patch("slow", &kube::api::PatchParams::default(), &patch)
        .await?;
    let result = tokio::time::timeout(Duration::from_secs(20), waiting).await;
    delete_cluster_object(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        &format!("widgets.{group}"),
    )
    .await;
    let Ok(Ok(Ok(()))) = result else {
        bail!("the wait did not end when the widget became ready: {result:?}")
    };
    ensure!(
        started.elapsed() < Duration::from_secs(10),
        "the wait ended {:?} after the widget became ready",
        started.elapsed()
    );
    Ok(())
}

/// After an apply that keeps what it answered (`keep_applied`: a wait follows), the wait's first
/// look at each object is that answer: objects Current as applied cost no read. The answer is
/// used once, and not at all once another writer has changed the object since.
#[tokio::test]
async fn a_wait_after_an_apply_looks_first_at_what_the_apply_answered() -> anyhow::Result<()> {
    use common::{config_map, service};
    use k8s_openapi::api::core::v1::{ConfigMap, Service};
    use kube::core::ApiResource;
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-wait-applied").await?;
    let manager = ResourceManager::new(client.clone());
    for resource in [
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Service>(&()),
    ] {
        let watched = manager
            .known_objects()
            .watch(&resource, Duration::from_secs(30))
            .await;
        ensure!(watched, "the index does not watch {}", resource.plural);
    }
    let options = ApplyOptions {
        previously_applied: Some(Default::default()),
        keep_applied: true,
        ..ApplyOptions::default()
    };
    let objects = vec![
        config_map(&ns.name, "settings", json!({"a": "b"})),
        service(&ns.name, "web"),
        config_map(&ns.name, "edited", json!({"a": "b"})),
    ];
    manager.apply_all_staged(objects, &options).await?;
    let settings = reference("v1", "ConfigMap", &ns.name, "settings");
    let web = reference("v1", "Service", &ns.name, "web");
    writes.take_reads();
    manager
        .wait_for_set(&[settings.clone(), web], &quick(Duration::from_secs(30)))
        .await?;
    let reads = writes.take_reads();
    ensure!(
        !reads
            .iter()
            .any(|r| r.contains("/configmaps/settings") || r.contains("/services/web")),
        "objects Current as applied were read: {reads:?}"
    );

    // Taken once: the next wait reads.
    manager
        .wait_for_set(&[settings], &quick(Duration::from_secs(30)))
        .await?;
    let reads = writes.take_reads();
    ensure!(
        reads.iter().any(|r| r.contains("/configmaps/settings")),
        "a second wait did not read the object: {reads:?}"
    );

    // Changed by somebody else after the apply (seen by the watch): the answer is stale.
    let (other, _) = recording_client().await?;
    let maps: kube::Api<ConfigMap> = kube::Api::namespaced(other, &ns.name);
    let patch = kube::api::Patch::Merge(json!({"data": {"a": "by hand"}}));
    let edited = maps
        .patch("edited", &kube::api::PatchParams::default(), &patch)
        .await?;
    let version = edited.metadata.resource_version.unwrap_or_default();
    // The watch delivers the hand edit: another read of the same version comes back through it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    writes.take_reads();
    let edited_ref = reference("v1", "ConfigMap", &ns.name, "edited");
    manager
        .wait_for_set(&[edited_ref], &quick(Duration::from_secs(30)))
        .await?;
    let reads = writes.take_reads();
    ensure!(
        reads.iter().any(|r| r.contains("/configmaps/edited")),
        "an object changed since the apply was not read (version {version}): {reads:?}"
    );
    Ok(())
}
