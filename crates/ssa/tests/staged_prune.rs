//! e2e: staging (a CRD, a Namespace and objects using them in one set) and prune (owner labels,
//! `prune: disabled`, objects already gone), against the real local control plane.

mod common;

use anyhow::{Context, ensure};
use common::{config_map, delete_cluster_object, live, recording_client, widget, widget_crd};
use serde_json::{Value, json};
use tether_core::changeset::{Action, ChangeSet};
use tether_core::object::ObjectRef;
use tether_ssa::{ApplyOptions, DeleteOptions, ResourceManager, owner_labels};
use tether_testkit::cluster::TestNamespace;

fn actions(set: &ChangeSet) -> Vec<String> {
    set.entries.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_crd_and_its_custom_resources_apply_in_one_set() -> anyhow::Result<()> {
    let (client, writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-crd").await?;
    let group = format!("{}.tether.test", ns.name);
    let extra_ns = format!("{}-apps", ns.name);
    let manager = ResourceManager::new(client.clone());
    let set = || -> Vec<Value> {
        vec![
            widget(&group, &extra_ns, "w", json!({})),
            config_map(&extra_ns, "cfg", json!({})),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": extra_ns}}),
            widget_crd(&group),
        ]
    };
    let result = manager
        .apply_all_staged(set(), &ApplyOptions::default())
        .await;
    let first = result?;
    let expected = [
        format!("CustomResourceDefinition/widgets.{group}"),
        format!("Namespace/{extra_ns}"),
        format!("ConfigMap/{extra_ns}/cfg"),
        format!("Widget/{extra_ns}/w"),
    ]
    .map(|s| format!("{s} created"));
    ensure!(actions(&first) == expected, "{:?}", actions(&first));
    ensure!(
        live(&client, &format!("{group}/v1"), "Widget", &extra_ns, "w")
            .await?
            .is_some()
    );

    writes.take();
    let again = manager
        .apply_all_staged(set(), &ApplyOptions::default())
        .await?;
    ensure!(
        again.entries.iter().all(|e| e.action == Action::Unchanged),
        "{:?}",
        actions(&again)
    );
    ensure!(writes.take().is_empty(), "re-apply wrote");

    delete_cluster_object(&client, "v1", "Namespace", &extra_ns).await;
    delete_cluster_object(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        &format!("widgets.{group}"),
    )
    .await;
    Ok(())
}

fn cm_ref(ns: &str, name: &str) -> ObjectRef {
    ObjectRef {
        group: String::new(),
        version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

#[tokio::test]
async fn prune_deletes_only_owned_objects_in_reverse_order() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-prune").await?;
    let owner = owner_labels("apps", "flux-system");
    let manager = ResourceManager::new(client.clone()).with_owner_labels(owner.clone());
    let mut kept = config_map(&ns.name, "kept", json!({}));
    kept["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"});
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "sa", "namespace": ns.name}});
    let owned = vec![config_map(&ns.name, "a", json!({})), kept, sa];
    manager
        .apply_all_staged(owned, &ApplyOptions::default())
        .await?;
    let foreign = ResourceManager::new(client.clone());
    foreign
        .apply_all_staged(
            vec![config_map(&ns.name, "foreign", json!({}))],
            &ApplyOptions::default(),
        )
        .await?;

    let sa_ref = ObjectRef {
        kind: "ServiceAccount".into(),
        name: "sa".into(),
        ..cm_ref(&ns.name, "")
    };
    let refs = [
        cm_ref(&ns.name, "a"),
        cm_ref(&ns.name, "kept"),
        sa_ref,
        cm_ref(&ns.name, "foreign"),
        cm_ref(&ns.name, "gone"),
    ];
    let opts = DeleteOptions {
        inclusions: owner,
        ..DeleteOptions::default()
    };
    let outcome = manager.delete_all(&refs, &opts).await;
    ensure!(outcome.failures.is_empty(), "{:?}", outcome.error_message());
    let n = &ns.name;
    let expected = [
        format!("ConfigMap/{n}/kept skipped"),
        format!("ConfigMap/{n}/gone deleted"),
        format!("ConfigMap/{n}/foreign skipped"),
        format!("ConfigMap/{n}/a deleted"),
        format!("ServiceAccount/{n}/sa deleted"),
    ];
    ensure!(
        actions(&outcome.change_set) == expected,
        "{:?}",
        actions(&outcome.change_set)
    );
    for (name, present) in [("a", false), ("kept", true), ("foreign", true)] {
        let found = live(&client, "v1", "ConfigMap", n, name).await?.is_some();
        ensure!(found == present, "{name}: present={found}");
    }
    Ok(())
}

#[tokio::test]
async fn prune_reports_failures_and_goes_on() -> anyhow::Result<()> {
    let (client, _writes) = recording_client().await?;
    let ns = TestNamespace::create(&client, "ssa-prune-fail").await?;
    let manager = ResourceManager::new(client.clone());
    manager
        .apply_all_staged(
            vec![config_map(&ns.name, "a", json!({}))],
            &ApplyOptions::default(),
        )
        .await?;
    // The API server refuses to delete its own namespaces (NamespaceLifecycle admission): a
    // delete failure a real server produces on demand.
    let immortal = ObjectRef {
        group: String::new(),
        version: "v1".into(),
        kind: "Namespace".into(),
        namespace: String::new(),
        name: "kube-public".into(),
    };
    let refs = [cm_ref(&ns.name, "a"), immortal.clone()];
    let outcome = manager.delete_all(&refs, &DeleteOptions::default()).await;
    ensure!(
        outcome.failed_objects() == vec![immortal],
        "{:?}",
        outcome.change_set
    );
    let message = outcome.error_message().context("no error")?;
    ensure!(
        message.starts_with("delete failed, errors: Namespace/kube-public delete failed: ")
            && message.contains("may not be deleted"),
        "{message}"
    );
    let expected = [
        format!("ConfigMap/{}/a deleted", ns.name),
        "Namespace/kube-public unknown".into(),
    ];
    ensure!(
        actions(&outcome.change_set) == expected,
        "{:?}",
        actions(&outcome.change_set)
    );
    ensure!(
        live(&client, "v1", "ConfigMap", &ns.name, "a")
            .await?
            .is_none(),
        "the rest was not pruned"
    );
    Ok(())
}
