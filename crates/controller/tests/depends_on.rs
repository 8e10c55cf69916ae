//! `dependsOn`: a Kustomization waits, with `DependencyNotReady`, until every Kustomization it
//! depends on is ready, and applies nothing before.

mod common;

use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;
use tether_testkit::flux::{
    GitSourceFixture, condition, create, kustomization, kustomizations, merge_patch,
    wait_ready_where,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    let _controller = InProcessController::start(&s.ns.name).await?;
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

/// `readyExpr` replaces the built-in check: the dependency's readiness is what the expression
/// over `self` and `dep` says, here matching version annotations, even while the dependency
/// itself is not Ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_expr_decides_when_a_dependency_is_ready() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("readyexpr", "1h").await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut infra = kustomization("infra", &s.ns.name, &s.ns.name, "./deploy");
    infra["metadata"]["annotations"] = json!({"app/version": "1"});
    infra["spec"]["sourceRef"]["name"] = json!("not-there");
    create(&ks_api, infra).await?;
    let mut apps = kustomization("apps", &s.ns.name, &s.ns.name, "./deploy");
    apps["metadata"]["annotations"] = json!({"app/version": "2"});
    apps["spec"]["dependsOn"] = json!([{"name": "infra",
        "readyExpr": "self.metadata.annotations['app/version'] == dep.metadata.annotations['app/version']"}]);
    create(&ks_api, apps).await?;

    let waiting = wait_ready_where(&ks_api, "apps", |status, reason, message| {
        status == "False" && reason == "DependencyNotReady" && message.contains("readyExpr")
    })
    .await?;
    let (_, _, message) = condition(&waiting, "Ready").unwrap_or_default();
    assert_eq!(
        message,
        format!(
            "dependency '{}/infra' is not ready according to readyExpr eval",
            s.ns.name
        )
    );
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_none());

    // The versions agree while infra still fails: the expression alone decides.
    merge_patch(
        &ks_api,
        "infra",
        json!({"metadata": {"annotations": {"app/version": "2"}}}),
    )
    .await?;
    wait_ready_where(&ks_api, "apps", |status, _, _| status == "True").await?;
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_some());

    // An expression that does not compile stalls the dependent with Flux's message.
    let mut broken = kustomization("broken", &s.ns.name, &s.ns.name, "./deploy");
    broken["spec"]["dependsOn"] = json!([{"name": "infra", "readyExpr": "other.ready"}]);
    create(&ks_api, broken).await?;
    let stalled = wait_ready_where(&ks_api, "broken", |status, _, message| {
        status == "False" && message.starts_with("failed to evaluate dependency infra")
    })
    .await?;
    assert!(
        condition(&stalled, "Stalled").is_some_and(|c| c.0 == "True"),
        "{stalled}"
    );
    Ok(())
}

/// A dependency built from the same source holds its dependents back until it has applied the
/// source's current revision, even while it is Ready (Flux: "revision is not up to date"); a
/// dependency built from another source is not compared. The dependencies are suspended and
/// their status is written by the test, standing for a Kustomization that has not yet applied
/// the revision its source just fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependency_on_the_same_source_must_have_applied_its_revision() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("deprev", "1h").await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let stale = "master@sha1:0000000000000000000000000000000000000000";
    for (name, source) in [("infra", "app"), ("elsewhere", "other")] {
        let mut dependency = kustomization(name, &s.ns.name, &s.ns.name, "./deploy");
        dependency["spec"]["suspend"] = json!(true);
        dependency["spec"]["sourceRef"]["name"] = json!(source);
        create(&ks_api, dependency).await?;
        set_ready_at(&ks_api, name, stale).await?;
    }
    let mut apps = kustomization("apps", &s.ns.name, &s.ns.name, "./deploy");
    apps["spec"]["dependsOn"] = json!([{"name": "elsewhere"}, {"name": "infra"}]);
    create(&ks_api, apps).await?;

    let waiting = wait_ready_where(&ks_api, "apps", |status, reason, _| {
        status == "False" && reason == "DependencyNotReady"
    })
    .await?;
    let (_, _, message) = condition(&waiting, "Ready").unwrap_or_default();
    assert_eq!(
        message,
        format!(
            "dependency '{}/infra' revision is not up to date",
            s.ns.name
        )
    );
    assert!(
        s.ns.api::<Deployment>().get_opt("web").await?.is_none(),
        "apps applied before its dependency applied the revision"
    );

    let sources = tether_testkit::flux::dynamic_api(
        &s.client,
        &s.ns.name,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    let source = serde_json::to_value(sources.get("app").await?)?;
    let revision = source["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(revision.starts_with("master@sha1:"), "{source}");
    set_ready_at(&ks_api, "infra", &revision).await?;
    wait_ready_where(&ks_api, "apps", |status, _, _| status == "True").await?;
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_some());
    Ok(())
}

/// Writes `name`'s status as Ready at its generation, having last applied `revision`.
async fn set_ready_at(
    api: &kube::Api<kube::api::DynamicObject>,
    name: &str,
    revision: &str,
) -> anyhow::Result<()> {
    let generation = api.get(name).await?.metadata.generation;
    let status = json!({"status": {
        "observedGeneration": generation,
        "lastAppliedRevision": revision,
        "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
            "message": format!("Applied revision: {revision}"),
            "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": generation}]
    }});
    api.patch_status(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&status),
    )
    .await?;
    Ok(())
}
