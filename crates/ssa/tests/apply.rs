//! e2e: the apply verb against the real local control plane — create, no-op re-apply with zero
//! writes, drift correction, hand edits reverted, validation before any write, forced recreate.

mod common;

use anyhow::{Context, bail, ensure};
use common::{config_map, deployment, live, recording_client, service};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tether_core::changeset::{Action, ChangeSet};
use tether_ssa::{ApplyError, ApplyOptions, ResourceManager, owner_labels};
use tether_testkit::cluster::TestNamespace;

fn actions(set: &ChangeSet) -> Vec<String> {
    set.entries.iter().map(ToString::to_string).collect()
}

fn all(set: &ChangeSet, action: Action) -> bool {
    set.entries.iter().all(|e| e.action == action)
}

fn app(ns: &str) -> Vec<Value> {
    vec![
        deployment(ns, "web", 1),
        service(ns, "web"),
        config_map(ns, "web", json!({"a": "1"})),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "web", "namespace": ns}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web", "namespace": ns},
               "stringData": {"password": "hunter2"}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "web", "namespace": ns},
               "spec": {"rules": [{"host": "web.example.com", "http": {"paths": [{
                   "path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}),
    ]
}

#[tokio::test]
async fn reapplying_an_unchanged_set_writes_nothing() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-noop").await?;
    let manager = ResourceManager::new(client).with_owner_labels(owner_labels("app", "flux"));
    writes.take();

    let first = manager
        .apply_all_staged(app(&ns.name), &ApplyOptions::default())
        .await?;
    ensure!(
        all(&first, Action::Created),
        "first apply: {:?}",
        actions(&first)
    );
    let first_writes = writes.take();
    eprintln!(
        "first apply: {} writes: {first_writes:#?}",
        first_writes.len()
    );
    ensure!(
        first_writes.len() == 6,
        "one apply per object: {first_writes:#?}"
    );

    for round in 0..2 {
        let again = manager
            .apply_all_staged(app(&ns.name), &ApplyOptions::default())
            .await?;
        ensure!(
            all(&again, Action::Unchanged),
            "round {round}: {:?}",
            actions(&again)
        );
        let sent = writes.take();
        eprintln!("re-apply {round}: {} writes", sent.len());
        ensure!(sent.is_empty(), "re-apply {round} wrote: {sent:#?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_changed_field_is_configured_and_the_rest_unchanged() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-configured").await?;
    let manager = ResourceManager::new(client.clone());
    let set = |value: &str| {
        vec![
            config_map(&ns.name, "a", json!({"k": value})),
            service(&ns.name, "s"),
        ]
    };
    manager
        .apply_all_staged(set("1"), &ApplyOptions::default())
        .await?;
    writes.take();

    let changed = manager
        .apply_all_staged(set("2"), &ApplyOptions::default())
        .await?;
    let expected = [
        format!("ConfigMap/{}/a configured", ns.name),
        format!("Service/{}/s unchanged", ns.name),
    ];
    ensure!(actions(&changed) == expected, "{:?}", actions(&changed));
    ensure!(
        writes.take().len() == 1,
        "only the drifted object is written"
    );
    let cm = live(&client, "v1", "ConfigMap", &ns.name, "a")
        .await?
        .context("cm")?;
    ensure!(cm["data"]["k"] == "2", "{cm}");
    Ok(())
}

#[tokio::test]
async fn hand_edits_are_reverted_at_the_next_apply() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-revert").await?;
    let manager = ResourceManager::new(client.clone());
    let set = || {
        vec![
            config_map(&ns.name, "cfg", json!({"a": "1"})),
            deployment(&ns.name, "web", 2),
        ]
    };
    manager
        .apply_all_staged(set(), &ApplyOptions::default())
        .await?;

    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = ns.api();
    let hack =
        json!({"metadata": {"labels": {"hand": "made"}}, "data": {"a": "hacked", "extra": "x"}});
    cms.patch(
        "cfg",
        &PatchParams::apply("kubectl-patch"),
        &Patch::Merge(&hack),
    )
    .await?;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = ns.api();
    let scale = json!({"spec": {"replicas": 5}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("kubectl-edit"),
            &Patch::Merge(&scale),
        )
        .await?;
    writes.take();

    let fixed = manager
        .apply_all_staged(set(), &ApplyOptions::default())
        .await?;
    ensure!(all(&fixed, Action::Configured), "{:?}", actions(&fixed));
    let cm = live(&client, "v1", "ConfigMap", &ns.name, "cfg")
        .await?
        .context("cm")?;
    ensure!(
        cm["data"] == json!({"a": "1"}),
        "data not reverted: {}",
        cm["data"]
    );
    ensure!(
        cm["metadata"]["labels"].get("hand").is_none(),
        "label kept: {}",
        cm["metadata"]
    );
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["manager"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        managers == ["kustomize-controller"],
        "managers: {managers:?}"
    );
    let web = live(&client, "apps/v1", "Deployment", &ns.name, "web")
        .await?
        .context("web")?;
    ensure!(
        web["spec"]["replicas"] == 2,
        "replicas not reverted: {}",
        web["spec"]
    );
    eprintln!("revert writes: {:#?}", writes.take());

    let again = manager
        .apply_all_staged(set(), &ApplyOptions::default())
        .await?;
    ensure!(all(&again, Action::Unchanged), "{:?}", actions(&again));
    ensure!(writes.take().is_empty(), "writes after the revert");
    Ok(())
}

#[tokio::test]
async fn an_unknown_kind_fails_before_anything_is_written() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-unknown").await?;
    let manager = ResourceManager::new(client.clone());
    writes.take();
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("{}-x", ns.name)}}),
        config_map(&ns.name, "ok", json!({})),
        json!({"apiVersion": "nope.tether.test/v1", "kind": "Frobnicator",
               "metadata": {"name": "f", "namespace": ns.name}}),
    ];
    let Err(error) = manager
        .apply_all_staged(objects, &ApplyOptions::default())
        .await
    else {
        bail!("apply of an unknown kind succeeded");
    };
    let message = error.to_string();
    let expected = format!(
        "Frobnicator/{}/f dry-run failed: no matches for kind \"Frobnicator\" in version \"nope.tether.test/v1\"",
        ns.name
    );
    ensure!(message == expected, "{message}");
    ensure!(matches!(error.error, ApplyError::UnknownKind { .. }));
    ensure!(error.applied.is_empty());
    ensure!(writes.take().is_empty(), "something was written");
    ensure!(
        live(&client, "v1", "ConfigMap", &ns.name, "ok")
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn an_invalid_object_fails_its_stage_before_anything_is_written() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-invalid").await?;
    let manager = ResourceManager::new(client.clone());
    writes.take();
    let mut bad = deployment(&ns.name, "bad", 1);
    bad["spec"]["template"]["spec"]["containers"][0]["name"] = json!("Not_A_DNS_Label");
    let objects = vec![config_map(&ns.name, "ok", json!({})), bad];
    let Err(error) = manager
        .apply_all_staged(objects, &ApplyOptions::default())
        .await
    else {
        bail!("apply of an invalid object succeeded");
    };
    let message = error.to_string();
    let prefix = format!("Deployment/{}/bad dry-run failed (Invalid): ", ns.name);
    ensure!(message.starts_with(&prefix), "{message}");
    ensure!(error.error.is_terminal());
    ensure!(writes.take().is_empty(), "something was written");
    ensure!(
        live(&client, "v1", "ConfigMap", &ns.name, "ok")
            .await?
            .is_none()
    );
    Ok(())
}

fn job(ns: &str, image: &str, annotations: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "namespace": ns, "annotations": annotations},
        "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "m", "image": image}]}}}})
}

async fn job_uid(client: &kube::Client, ns: &str) -> anyhow::Result<String> {
    let job = live(client, "batch/v1", "Job", ns, "migrate")
        .await?
        .context("job")?;
    Ok(job["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn immutable_changes_fail_without_force_and_recreate_with_it() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-force").await?;
    let manager = ResourceManager::new(client.clone());
    let opts = ApplyOptions::default();
    manager
        .apply_all_staged(vec![job(&ns.name, "img:1", json!({}))], &opts)
        .await?;
    let first_uid = job_uid(&client, &ns.name).await?;

    let Err(error) = manager
        .apply_all_staged(vec![job(&ns.name, "img:2", json!({}))], &opts)
        .await
    else {
        bail!("immutable change applied without force");
    };
    ensure!(error.to_string().contains("field is immutable"), "{error}");
    ensure!(
        job_uid(&client, &ns.name).await? == first_uid,
        "recreated without force"
    );

    let forced = ApplyOptions {
        force: true,
        ..ApplyOptions::default()
    };
    let set = manager
        .apply_all_staged(vec![job(&ns.name, "img:2", json!({}))], &forced)
        .await?;
    ensure!(all(&set, Action::Created), "{:?}", actions(&set));
    let second_uid = job_uid(&client, &ns.name).await?;
    ensure!(second_uid != first_uid, "not recreated");

    let annotated = job(
        &ns.name,
        "img:3",
        json!({"kustomize.toolkit.fluxcd.io/force": "Enabled"}),
    );
    let set = manager.apply_all_staged(vec![annotated], &opts).await?;
    ensure!(all(&set, Action::Created), "{:?}", actions(&set));
    ensure!(
        job_uid(&client, &ns.name).await? != second_uid,
        "annotation did not force"
    );
    Ok(())
}

#[tokio::test]
async fn skip_annotations_leave_objects_alone() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-skip").await?;
    let manager = ResourceManager::new(client.clone());
    let with = |name: &str, key: &str, value: &str, data: &str| {
        let mut cm = config_map(&ns.name, name, json!({"v": data}));
        cm["metadata"]["annotations"] = json!({key: value});
        cm
    };
    let ssa = "kustomize.toolkit.fluxcd.io/ssa";
    let reconcile = "kustomize.toolkit.fluxcd.io/reconcile";
    let set = |data: &str| {
        vec![
            with("once", ssa, "IfNotPresent", data),
            with("ignored", ssa, "Ignore", data),
            with("disabled", reconcile, "disabled", data),
        ]
    };
    let first = manager
        .apply_all_staged(set("1"), &ApplyOptions::default())
        .await?;
    let expected = [
        format!("ConfigMap/{}/disabled skipped", ns.name),
        format!("ConfigMap/{}/ignored skipped", ns.name),
        format!("ConfigMap/{}/once created", ns.name),
    ];
    ensure!(actions(&first) == expected, "{:?}", actions(&first));
    writes.take();
    let second = manager
        .apply_all_staged(set("2"), &ApplyOptions::default())
        .await?;
    ensure!(all(&second, Action::Skipped), "{:?}", actions(&second));
    ensure!(writes.take().is_empty());
    let once = live(&client, "v1", "ConfigMap", &ns.name, "once")
        .await?
        .context("once")?;
    ensure!(once["data"]["v"] == "1", "IfNotPresent object updated");
    Ok(())
}
