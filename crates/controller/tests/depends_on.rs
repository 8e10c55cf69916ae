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
