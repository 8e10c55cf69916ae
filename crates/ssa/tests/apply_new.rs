//! e2e: stages none of whose objects was applied before (`previously_applied` known and without
//! them) are applied without dry-runs — created and configured told apart by the API server's
//! answer — while a bad object still leaves the cluster as it was, and objects of the previous
//! inventory keep the validated apply with zero writes when nothing drifted.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use common::{config_map, deployment, live, recording_client, service};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::core::ApiResource;
use serde_json::{Value, json};
use tether_core::changeset::{Action, ChangeSet};
use tether_core::object::ObjectId;
use tether_ssa::{ApplyOptions, Presence, ResourceManager, owner_labels};
use tether_testkit::cluster::TestNamespace;

fn actions(set: &ChangeSet) -> Vec<String> {
    set.entries.iter().map(ToString::to_string).collect()
}

/// Options for an owner whose previous inventory is `inventory`.
fn after(inventory: &ChangeSet) -> ApplyOptions {
    let ids: HashSet<ObjectId> = inventory.entries.iter().map(|e| e.object.id()).collect();
    ApplyOptions {
        previously_applied: Some(ids),
        ..ApplyOptions::default()
    }
}

fn app(ns: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("{ns}-extra")}}),
        deployment(ns, "web", 1),
        service(ns, "web"),
        config_map(ns, "web", json!({"a": "1"})),
    ]
}

#[tokio::test]
async fn a_first_apply_sends_no_dry_run_and_a_resync_no_write() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-new").await?;
    let manager = ResourceManager::new(client.clone()).with_owner_labels(owner_labels("a", "b"));
    writes.take();
    writes.take_dry_runs();

    let first = manager
        .apply_all_staged(app(&ns.name), &after(&ChangeSet::new()))
        .await?;
    let created = first.entries.iter().all(|e| e.action == Action::Created);
    ensure!(created, "first apply: {:?}", actions(&first));
    ensure!(writes.take().len() == 4, "one apply per object");
    let dry_runs = writes.take_dry_runs();
    ensure!(dry_runs.is_empty(), "dry-runs: {dry_runs:#?}");
    let cm = live(&client, "v1", "ConfigMap", &ns.name, "web").await?;
    let labels = &cm.context("configmap")?["metadata"]["labels"];
    ensure!(
        labels["kustomize.toolkit.fluxcd.io/name"] == "a",
        "{labels}"
    );

    let again = manager
        .apply_all_staged(app(&ns.name), &after(&first))
        .await?;
    let unchanged = again.entries.iter().all(|e| e.action == Action::Unchanged);
    ensure!(unchanged, "resync: {:?}", actions(&again));
    ensure!(writes.take().is_empty(), "the resync wrote");
    // At most a dry-run per object, and one more when a controller wrote the object between
    // its dry-run and its read (the Deployment controller's revision annotation). None for an
    // object whose version from the first apply the watch has already delivered: that
    // version is known to match.
    let dry_runs = writes.take_dry_runs().len();
    ensure!(dry_runs <= 8, "the resync dry-ran {dry_runs} times");
    common::delete_cluster_object(&client, "v1", "Namespace", &format!("{}-extra", ns.name)).await;
    Ok(())
}

#[tokio::test]
async fn an_object_outside_the_inventory_that_exists_is_configured() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-adopt").await?;
    let manager = ResourceManager::new(client.clone());
    let existing = vec![config_map(&ns.name, "old", json!({"a": "1"}))];
    manager
        .apply_all_staged(existing, &ApplyOptions::default())
        .await?;

    let set = vec![
        config_map(&ns.name, "old", json!({"a": "2"})),
        config_map(&ns.name, "new", json!({})),
    ];
    let applied = manager
        .apply_all_staged(set, &after(&ChangeSet::new()))
        .await?;
    let expected = [
        format!("ConfigMap/{}/new created", ns.name),
        format!("ConfigMap/{}/old configured", ns.name),
    ];
    ensure!(actions(&applied) == expected, "{:?}", actions(&applied));
    let old = live(&client, "v1", "ConfigMap", &ns.name, "old").await?;
    ensure!(old.context("old")?["data"]["a"] == "2", "not applied");
    Ok(())
}

/// Puts ConfigMap `held` in the cluster as a person would: excluded from reconciliation by
/// its annotation, applied unconditionally.
async fn put_held_by_hand(manager: &ResourceManager, ns: &str) -> anyhow::Result<()> {
    let mut held = config_map(ns, "held", json!({"a": "by-hand"}));
    held["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/reconcile": "disabled"});
    let unconditional = ApplyOptions {
        exclusion_selector: tether_ssa::Selector::from_pairs(&[]),
        ..ApplyOptions::default()
    };
    manager.apply_all_staged(vec![held], &unconditional).await?;
    Ok(())
}

async fn ensure_held_untouched(client: &kube::Client, ns: &str) -> anyhow::Result<()> {
    let held = live(client, "v1", "ConfigMap", ns, "held").await?;
    ensure!(
        held.context("held")?["data"]["a"] == "by-hand",
        "a disabled live object was written"
    );
    Ok(())
}

#[tokio::test]
async fn a_live_object_outside_the_inventory_keeps_its_exclusion() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-excluded").await?;
    let manager = ResourceManager::new(client.clone());
    put_held_by_hand(&manager, &ns.name).await?;

    let set = vec![
        config_map(&ns.name, "fresh", json!({})),
        config_map(&ns.name, "held", json!({"a": "from-git"})),
    ];
    let applied = manager
        .apply_all_staged(set, &after(&ChangeSet::new()))
        .await?;
    let held_action = applied
        .entries
        .iter()
        .find(|e| e.object.name == "held")
        .map(|e| e.action);
    ensure!(
        held_action == Some(Action::Skipped),
        "{:?}",
        actions(&applied)
    );
    ensure_held_untouched(&client, &ns.name).await?;
    ensure!(
        live(&client, "v1", "ConfigMap", &ns.name, "fresh")
            .await?
            .is_some(),
        "the new object was not created"
    );
    Ok(())
}

#[tokio::test]
async fn a_watched_kind_answers_existence_without_reads() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-known").await?;
    let manager = ResourceManager::new(client.clone());
    let config_maps = ApiResource::erase::<ConfigMap>(&());
    let known = manager.known_objects();
    ensure!(
        known.watch(&config_maps, Duration::from_secs(20)).await,
        "the index never answered for ConfigMaps"
    );
    writes.take_reads();

    let created = manager
        .apply_all_staged(
            vec![config_map(&ns.name, "fresh", json!({}))],
            &after(&ChangeSet::new()),
        )
        .await?;
    ensure!(
        actions(&created) == [format!("ConfigMap/{}/fresh created", ns.name)],
        "{:?}",
        actions(&created)
    );
    let reads = writes.take_reads();
    ensure!(
        !reads.iter().any(|r| r.contains("/configmaps/fresh")),
        "the new object was read: {reads:?}"
    );
    // What the manager wrote is known at once, before its watch event arrives.
    ensure!(
        known.presence(&config_maps, &ns.name, "fresh") == Presence::Present,
        "the object just created is not known to exist"
    );

    // Somebody else puts an object in the cluster that Git also declares, excluded from
    // reconciliation; once the watch has seen it, the apply takes the validated path.
    let (other, _) = recording_client().await?;
    put_held_by_hand(&ResourceManager::new(other), &ns.name).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while known.presence(&config_maps, &ns.name, "held") != Presence::Present {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the watch never saw the object"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let applied = manager
        .apply_all_staged(
            vec![config_map(&ns.name, "held", json!({"a": "from-git"}))],
            &after(&ChangeSet::new()),
        )
        .await?;
    ensure!(
        actions(&applied) == [format!("ConfigMap/{}/held skipped", ns.name)],
        "{:?}",
        actions(&applied)
    );
    ensure_held_untouched(&client, &ns.name).await?;
    Ok(())
}

#[tokio::test]
async fn a_bad_new_object_leaves_nothing_behind() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-new-bad").await?;
    let manager = ResourceManager::new(client.clone());
    let mut bad = deployment(&ns.name, "bad", 1);
    bad["spec"]["template"]["spec"]["containers"][0]["name"] = json!("Not_A_DNS_Label");
    let objects = vec![config_map(&ns.name, "ok", json!({})), bad];
    let Err(error) = manager
        .apply_all_staged(objects, &after(&ChangeSet::new()))
        .await
    else {
        bail!("apply of an invalid object succeeded");
    };
    let message = error.to_string();
    let prefix = format!("Deployment/{}/bad dry-run failed (Invalid): ", ns.name);
    ensure!(message.starts_with(&prefix), "{message}");
    ensure!(error.error.is_terminal());
    let ok = live(&client, "v1", "ConfigMap", &ns.name, "ok").await?;
    ensure!(
        ok.is_none(),
        "the object created before the bad one is left"
    );
    Ok(())
}

fn job(ns: &str, image: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "namespace": ns},
        "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "m", "image": image}]}}}})
}

#[tokio::test]
async fn a_refused_apply_is_still_forced_and_reported() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-new-force").await?;
    let manager = ResourceManager::new(client.clone());
    let uid = |job: Option<Value>| -> anyhow::Result<String> {
        let job = job.context("job")?;
        Ok(job["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    };
    manager
        .apply_all_staged(vec![job(&ns.name, "img:1")], &ApplyOptions::default())
        .await?;
    let first = uid(live(&client, "batch/v1", "Job", &ns.name, "migrate").await?)?;

    let set = vec![
        config_map(&ns.name, "cfg", json!({})),
        job(&ns.name, "img:2"),
    ];
    let forced = ApplyOptions {
        force: true,
        ..after(&ChangeSet::new())
    };
    let applied = manager.apply_all_staged(set, &forced).await?;
    let expected = [
        format!("ConfigMap/{}/cfg created", ns.name),
        format!("Job/{}/migrate created", ns.name),
    ];
    ensure!(actions(&applied) == expected, "{:?}", actions(&applied));
    let second = uid(live(&client, "batch/v1", "Job", &ns.name, "migrate").await?)?;
    ensure!(second != first, "not recreated");
    Ok(())
}

/// What a resync asks the API server, once the index of known objects has seen the objects'
/// versions settle: nothing for an object this process applied (or found unchanged) since;
/// after a restart (a fresh index), one dry-run per object and no read, then nothing. A change
/// in Git, and a hand edit, are still found and written.
#[tokio::test]
async fn a_resync_of_settled_objects_reads_nothing() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-settled").await?;
    let labels = || owner_labels("a", "b");
    let manager = ResourceManager::new(client.clone()).with_owner_labels(labels());
    let objects = |value: &str| {
        vec![
            config_map(&ns.name, "web", json!({"a": value})),
            service(&ns.name, "web"),
        ]
    };
    let settle = || tokio::time::sleep(Duration::from_millis(1600));
    let first = manager
        .apply_all_staged(objects("1"), &after(&ChangeSet::new()))
        .await?;
    settle().await;
    let asked = |what: &str| {
        let asked = (writes.take(), writes.take_dry_runs(), writes.take_reads());
        let read = asked.2.iter().any(|r| r.contains("/web"));
        ensure!(
            asked.0.is_empty() && !read,
            "{what}: wrote or read the objects: {asked:?}"
        );
        Ok(asked.1.len())
    };
    writes.take();
    writes.take_dry_runs();
    writes.take_reads();
    let unchanged = |set: &ChangeSet| set.entries.iter().all(|e| e.action == Action::Unchanged);

    // The versions the apply produced are known to match Git: no request at all.
    let again = manager
        .apply_all_staged(objects("1"), &after(&first))
        .await?;
    ensure!(unchanged(&again), "resync: {:?}", actions(&again));
    ensure!(asked("resync")? == 0, "the resync dry-ran objects");

    // A restarted controller: its index has seen the versions settle, not its own writes. The
    // dry-runs show nothing would change, and stand for the reads.
    let restarted = ResourceManager::new(client.clone()).with_owner_labels(labels());
    for resource in [
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<k8s_openapi::api::core::v1::Service>(&()),
    ] {
        ensure!(
            restarted
                .known_objects()
                .watch(&resource, Duration::from_secs(20))
                .await,
            "the index never answered for {}",
            resource.plural
        );
    }
    settle().await;
    asked("watch")?;
    let after_restart = restarted
        .apply_all_staged(objects("1"), &after(&first))
        .await?;
    ensure!(unchanged(&after_restart), "{:?}", actions(&after_restart));
    ensure!(asked("after a restart")? == 2, "one dry-run per object");
    let quiet = restarted
        .apply_all_staged(objects("1"), &after(&first))
        .await?;
    ensure!(unchanged(&quiet), "{:?}", actions(&quiet));
    ensure!(
        asked("the next resync")? == 0,
        "the next resync dry-ran objects"
    );

    let changed = manager
        .apply_all_staged(objects("2"), &after(&first))
        .await?;
    let expected = [
        format!("ConfigMap/{}/web configured", ns.name),
        format!("Service/{}/web unchanged", ns.name),
    ];
    ensure!(actions(&changed) == expected, "{:?}", actions(&changed));

    // Somebody edits the ConfigMap by hand; once that version has settled too, the resync
    // still sees that applying Git would change it, and reverts the edit.
    let config_maps = kube::Api::<ConfigMap>::namespaced(client.clone(), &ns.name);
    let hand_edit = json!({"data": {"a": "by-hand"}});
    config_maps
        .patch(
            "web",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&hand_edit),
        )
        .await?;
    settle().await;
    let reverted = manager
        .apply_all_staged(objects("2"), &after(&first))
        .await?;
    ensure!(actions(&reverted) == expected, "{:?}", actions(&reverted));
    let data = live(&client, "v1", "ConfigMap", &ns.name, "web").await?;
    ensure!(
        data.context("configmap")?["data"]["a"] == "2",
        "the hand edit stayed"
    );
    Ok(())
}
