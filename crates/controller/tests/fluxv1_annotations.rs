//! Flux v1 workload annotations end to end: `fluxcd.io/automated` with tag patterns releases
//! new registry tags into Git as fluxd did, `fluxcd.io/locked` holds a workload, and
//! `fluxcd.io/ignore` keeps objects out of sync and prune.

mod common;

use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::{GitSourceFixture, WAIT, create, kustomizations, wait_ready_where};
use tether_testkit::registry::RegistryServer;

/// A Flux v1 workload: `fluxcd.io/automated` with a tag pattern on container `app`.
fn v1_deployment(name: &str, image: &str, extra_annotations: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    fluxcd.io/automated: \"true\"\n    fluxcd.io/tag.app: glob:1.*\n{extra_annotations}spec:\n  replicas: 0 # scaled by hand\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: '{image}' # the app\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_v1_annotations_release_new_tags_but_not_locked_workloads() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("fluxv1", "2s").await?;
    let ns = s.ns.name.clone();
    let registry = RegistryServer::start()?;
    let image = registry.image("app");
    // glob: patterns order by image creation time, as fluxd did.
    for (tag, created) in [
        ("1.0.0", "2026-01-01T00:00:00Z"),
        ("1.0.3", "2026-01-15T00:00:00Z"),
        ("1.1.0", "2026-02-01T00:00:00Z"),
        ("2.0.0", "2026-03-01T00:00:00Z"),
    ] {
        registry
            .push_image_created("app", tag, Some(created))
            .await?;
    }
    let automated = v1_deployment("automated", &format!("{image}:1.0.0"), "");
    let locked = v1_deployment(
        "locked",
        &format!("{image}:1.0.0"),
        "    fluxcd.io/locked: \"true\"\n    fluxcd.io/locked_msg: hold\n",
    );
    let semver =
        v1_deployment("semver", &format!("{image}:1.0.0"), "").replace("glob:1.*", "semver:~1.0");
    s.repo.commit(
        "master",
        &[
            ("v1/automated.yaml", &automated),
            ("v1/locked.yaml", &locked),
            ("v1/semver.yaml", &semver),
        ],
        "v1 workloads",
    )?;
    create(
        &kustomizations(&s.client, &ns),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "v1", "namespace": ns},
            "spec": {"interval": "10m", "path": "./v1", "prune": true, "targetNamespace": ns,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}}
        }),
    )
    .await?;
    let _controller = InProcessController::start_with(&ns, |options| {
        options.v1_automation.interval = Duration::from_secs(1);
        options.v1_automation.commit.author = tether_source::Author {
            name: "Flux v1".into(),
            email: "v1@example.com".into(),
        };
    })
    .await?;

    // The newest tag matching glob:1.* is 1.1.0 (2.0.0 does not match): one commit.
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), &ns);
    let image_of = |d: &Deployment| {
        d.spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
            .and_then(|pod| pod.containers[0].image.clone())
            .unwrap_or_default()
    };
    // semver:~1.0 takes 1.0.3, the highest 1.0.x. One automation commit holds both.
    let want = format!("{image}:1.1.0");
    wait_for(&deployments, "automated", WAIT, |d| image_of(d) == want).await?;
    let want_semver = format!("{image}:1.0.3");
    wait_for(&deployments, "semver", WAIT, |d| image_of(d) == want_semver).await?;
    let head = s.repo.rev_parse("master")?;
    let message = git_log_message(&s.repo.bare_path(), &head)?;
    assert!(
        message.starts_with("Auto-release multiple (2) images"),
        "{message}"
    );
    assert!(
        message.contains(&want) && message.contains(&want_semver),
        "{message}"
    );
    let author = git_show_format(&s.repo.bare_path(), &head, "%an <%ae>")?;
    assert_eq!(author.trim(), "Flux v1 <v1@example.com>");
    assert_eq!(
        s.repo.show(&head, "v1/automated.yaml")?,
        automated.replace(&format!("{image}:1.0.0"), &want),
        "only the image changes, quotes and comments kept"
    );
    assert_eq!(s.repo.show(&head, "v1/locked.yaml")?, locked);
    let live_locked = deployments.get("locked").await?;
    assert_eq!(image_of(&live_locked), format!("{image}:1.0.0"));

    // Nothing new: no further commit.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.repo.rev_parse("master")?, head);
    Ok(())
}

fn git_show_format(bare: &std::path::Path, commit: &str, format: &str) -> anyhow::Result<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(bare)
        .args(["show", "-s", &format!("--format={format}"), commit])
        .output()?;
    anyhow::ensure!(output.status.success(), "git show failed");
    Ok(String::from_utf8(output.stdout)?)
}

fn config_map(name: &str, value: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{annotations}data:\n  value: {value}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_v1_ignore_keeps_objects_out_of_sync_and_prune() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let s = GitSourceFixture::start("ignore", "1s").await?;
    let ns = s.ns.name.clone();
    let ignore = "  annotations:\n    fluxcd.io/ignore: \"true\"\n";
    s.repo.commit(
        "master",
        &[
            ("cm/kept.yaml", &config_map("kept", "one", "")),
            ("cm/ignored.yaml", &config_map("ignored", "one", ignore)),
        ],
        "config maps",
    )?;
    let ks_api = kustomizations(&s.client, &ns);
    create(
        &ks_api,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "cm", "namespace": ns},
            "spec": {"interval": "1s", "path": "./cm", "prune": true, "targetNamespace": ns,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}}
        }),
    )
    .await?;
    let _controller = InProcessController::start(&ns).await?;
    let head = s.repo.rev_parse("master")?;
    wait_ready_where(&ks_api, "cm", |s, _, m| s == "True" && m.contains(&head)).await?;
    let maps: Api<ConfigMap> = Api::namespaced(s.client.clone(), &ns);
    assert!(maps.get_opt("kept").await?.is_some());
    assert!(
        maps.get_opt("ignored").await?.is_none(),
        "an object ignored in Git is not applied"
    );

    // Ignored live: a hand edit survives a new revision, and removal from Git does not prune it.
    let hand = json!({"metadata": {"annotations": {"fluxcd.io/ignore": "true"}}, "data": {"value": "by-hand"}});
    maps.patch("kept", &PatchParams::default(), &Patch::Merge(&hand))
        .await?;
    let second = s.repo.commit(
        "master",
        &[("cm/kept.yaml", &config_map("kept", "two", ""))],
        "two",
    )?;
    wait_ready_where(&ks_api, "cm", |s, _, m| s == "True" && m.contains(&second)).await?;
    let live = maps.get("kept").await?;
    assert_eq!(
        live.data
            .unwrap_or_default()
            .get("value")
            .map(String::as_str),
        Some("by-hand")
    );
    let third = s.repo.remove("master", &["cm/kept.yaml"], "remove kept")?;
    wait_ready_where(&ks_api, "cm", |s, _, m| s == "True" && m.contains(&third)).await?;
    assert!(
        maps.get_opt("kept").await?.is_some(),
        "a live object annotated fluxcd.io/ignore is not pruned"
    );
    Ok(())
}

fn git_log_message(bare: &std::path::Path, commit: &str) -> anyhow::Result<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(bare)
        .args(["log", "-1", "--format=%B", commit])
        .output()?;
    anyhow::ensure!(output.status.success(), "git log failed");
    Ok(String::from_utf8(output.stdout)?)
}
