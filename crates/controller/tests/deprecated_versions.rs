//! Objects applied at a deprecated API version (Flux's tutorials still write GitRepository
//! `v1beta1` and Kustomization `v1beta2`) reconcile as if applied at v1. With conversion `None`
//! the applier's managedFields entry keeps the old version, so the API server converts every
//! status write the controller makes at v1 to that version; these tests fail when the old
//! version's schema lacks a field the controller writes ("field not declared in schema").

mod common;

use common::InProcessController;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use tether_testkit::flux::{GitSourceFixture, dynamic_api, kustomizations, wait_ready_where};

/// The field manager of a user's `kubectl apply --server-side`, not the controller's.
const USER_MANAGER: &str = "kubectl";

/// Applies `object` server-side as [`USER_MANAGER`] through `api`.
async fn user_applies(api: &Api<DynamicObject>, object: Value) -> anyhow::Result<()> {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let object: DynamicObject = serde_json::from_value(object)?;
    api.patch(
        &name,
        &PatchParams::apply(USER_MANAGER),
        &Patch::Apply(&object),
    )
    .await?;
    Ok(())
}

/// The apiVersions of `object`'s managedFields entries made by `manager`.
fn managed_versions(object: &Value, manager: &str) -> Vec<String> {
    let entries = object["metadata"]["managedFields"].as_array();
    entries
        .into_iter()
        .flatten()
        .filter(|entry| entry["manager"] == manager)
        .filter_map(|entry| entry["apiVersion"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1beta1_source_and_a_v1beta2_kustomization_applied_by_a_user_become_ready()
-> anyhow::Result<()> {
    let s = GitSourceFixture::start("deprecated", "1m").await?;
    let ns = s.ns.name.clone();
    let _controller = InProcessController::start(&ns).await?;
    let old_sources = dynamic_api(
        &s.client,
        &ns,
        "source.toolkit.fluxcd.io",
        "v1beta1",
        "GitRepository",
    );
    user_applies(
        &old_sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1beta1", "kind": "GitRepository",
            "metadata": {"name": "tutorial", "namespace": ns},
            "spec": {"url": s.url_of(&s.repo), "interval": "1m", "ref": {"branch": "master"},
                     "secretRef": {"name": "ssh-credentials"}}}),
    )
    .await?;
    let old_kustomizations = dynamic_api(
        &s.client,
        &ns,
        "kustomize.toolkit.fluxcd.io",
        "v1beta2",
        "Kustomization",
    );
    user_applies(
        &old_kustomizations,
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "kind": "Kustomization",
            "metadata": {"name": "tutorial", "namespace": ns},
            "spec": {"interval": "5m", "path": "./deploy", "prune": true, "targetNamespace": ns,
                     "sourceRef": {"kind": "GitRepository", "name": "tutorial"}}}),
    )
    .await?;

    let sources = dynamic_api(
        &s.client,
        &ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    let source = wait_ready_where(&sources, "tutorial", |status, _, _| status == "True").await?;
    assert_eq!(
        managed_versions(&source, USER_MANAGER),
        ["source.toolkit.fluxcd.io/v1beta1"]
    );
    assert!(
        source["status"]["artifact"]["size"].as_u64().is_some(),
        "{source}"
    );
    let applied = wait_ready_where(
        &kustomizations(&s.client, &ns),
        "tutorial",
        |status, _, _| status == "True",
    )
    .await?;
    assert_eq!(
        managed_versions(&applied, USER_MANAGER),
        ["kustomize.toolkit.fluxcd.io/v1beta2"]
    );
    assert!(
        applied["status"]["lastAppliedRevision"]
            .as_str()
            .is_some_and(|r| r.starts_with("master@sha1:")),
        "{applied}"
    );
    Ok(())
}
