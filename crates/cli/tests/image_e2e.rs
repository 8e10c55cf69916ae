//! Image automation end to end, as in Flux's image update guide: a real OCI registry on
//! loopback, a git repository behind sshd with a deploy key, the local control plane and a
//! `tether controller` process. A new tag accepted by an ImagePolicy ends in a commit that
//! changes exactly the marked tag, and the Kustomization then rolls the Deployment.

mod common;

use common::{ControllerProcess, GitSourceFixture, condition};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::cluster::wait_for;
use tether_testkit::registry::RegistryServer;

const WAIT: Duration = Duration::from_secs(90);

fn api(
    client: &kube::Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(client.clone(), ns, &resource)
}

fn image_api(client: &kube::Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    api(client, ns, "image.toolkit.fluxcd.io", "v1", kind)
}

async fn create(api: &Api<DynamicObject>, object: Value) -> anyhow::Result<()> {
    let object: DynamicObject = serde_json::from_value(object)?;
    api.create(&PostParams::default(), &object).await?;
    Ok(())
}

/// Waits until the object's Ready condition satisfies `check`; returns the object as JSON.
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

/// The manifest of the guide: a Deployment whose image carries a setter marker, with comments
/// and quoting that the update must leave alone.
fn deployment(image: &str, marker: &str) -> String {
    format!(
        "# the podinfo deployment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: podinfo}}\n  template:\n    metadata:\n      labels: {{app: podinfo}}\n    spec:\n      containers:\n      - name: podinfod\n        image: {image} # {{\"$imagepolicy\": \"{marker}\"}}\n        ports:\n        - containerPort: 9898 # http\n"
    )
}

#[tokio::test]
async fn a_new_tag_is_committed_and_rolled_out() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("image", "2s").await?;
    let ns = s.ns.name.clone();
    let registry = RegistryServer::start()?;
    let image = registry.image("podinfo");
    registry
        .push_image("podinfo", "master-abc1234-1700000000")
        .await?;
    registry
        .push_image("podinfo", "master-abc1234-1700000000.sig")
        .await?;
    registry.push_image("podinfo", "latest").await?;
    let original = deployment(
        &format!("{image}:master-abc1234-1700000000"),
        &format!("{ns}:podinfo"),
    );
    s.repo.commit(
        "master",
        &[("kustomize/deployment.yaml", &original)],
        "add podinfo",
    )?;
    let _controller = ControllerProcess::start(&ns, &[])?;

    create(
        &api(
            &s.client,
            &ns,
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "Kustomization",
        ),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"interval": "10m", "path": "./kustomize", "prune": true,
                     "targetNamespace": ns,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}}
        }),
    )
    .await?;
    let repos = image_api(&s.client, &ns, "ImageRepository");
    create(
        &repos,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"image": image, "interval": "2s"}
        }),
    )
    .await?;
    let policies = image_api(&s.client, &ns, "ImagePolicy");
    create(
        &policies,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"imageRepositoryRef": {"name": "podinfo"},
                     "filterTags": {"pattern": "^master-[a-f0-9]+-(?P<ts>[0-9]+)", "extract": "$ts"},
                     "policy": {"numerical": {"order": "asc"}}}
        }),
    )
    .await?;

    // The scan excludes the signature tag and counts the rest.
    let scanned = wait_ready_where(&repos, "podinfo", |s, _, _| s == "True").await?;
    assert_eq!(scanned["status"]["lastScanResult"]["tagCount"], json!(2));
    assert_eq!(scanned["status"]["canonicalImageName"], json!(image));
    let elected = wait_ready_where(&policies, "podinfo", |s, _, _| s == "True").await?;
    assert_eq!(
        elected["status"]["latestRef"],
        json!({"name": image, "tag": "master-abc1234-1700000000"})
    );

    // The automation runs with nothing to change: no commit.
    let automations = image_api(&s.client, &ns, "ImageUpdateAutomation");
    let head_before = s.repo.rev_parse("master")?;
    create(
        &automations,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"interval": "10m",
                     "sourceRef": {"kind": "GitRepository", "name": "app"},
                     "git": {"checkout": {"ref": {"branch": "master"}},
                             "commit": {"author": {"name": "fluxcdbot", "email": "fluxcdbot@users.noreply.github.com"},
                                        "messageTemplate": "Update image to {{range .Changed.Changes}}{{.NewValue}}{{end}}"},
                             "push": {"branch": "master"}},
                     "update": {"path": "./kustomize", "strategy": "Setters"}}
        }),
    )
    .await?;
    let idle = wait_ready_where(&automations, "podinfo", |s, _, _| s == "True").await?;
    assert!(idle["status"]["lastPushCommit"].is_null(), "{idle}");
    assert_eq!(s.repo.rev_parse("master")?, head_before);

    // A newer timestamp: scanned, elected, committed, pushed, applied.
    registry
        .push_image("podinfo", "master-def5678-1700000100")
        .await?;
    let pushed = wait_for(&automations, "podinfo", WAIT, |o| {
        o.data["status"]["lastPushCommit"].is_string()
    })
    .await?;
    let commit = pushed.data["status"]["lastPushCommit"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(s.repo.rev_parse("master")?, commit);
    let updated = s.repo.show(&commit, "kustomize/deployment.yaml")?;
    assert_eq!(
        updated,
        original.replace("master-abc1234-1700000000", "master-def5678-1700000100"),
        "only the marked tag changes"
    );
    let message = git_log_message(&s.repo.bare_path(), &commit)?;
    assert_eq!(
        message.trim(),
        format!("Update image to {image}:master-def5678-1700000100")
    );

    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), &ns);
    let rolled = wait_for(&deployments, "podinfo", WAIT, |d| {
        d.spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
            .map(|pod| pod.containers[0].image.clone().unwrap_or_default())
            == Some(format!("{image}:master-def5678-1700000100"))
    })
    .await;
    assert!(
        rolled.is_ok(),
        "the Deployment was not rolled to the new image"
    );

    // No commit loop: another run with the same policies pushes nothing.
    let requested =
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "again"}}});
    automations
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(&requested),
        )
        .await?;
    wait_for(&automations, "podinfo", WAIT, |o| {
        o.data["status"]["lastHandledReconcileAt"] == json!("again")
    })
    .await?;
    assert_eq!(s.repo.rev_parse("master")?, commit);
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

#[tokio::test]
async fn registry_errors_are_reported_and_credentials_fix_them() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("image-auth", "10m").await?;
    let ns = s.ns.name.clone();
    let registry = RegistryServer::start_with_basic_auth("robot", "s3cr3t-pass")?;
    registry.push_image("private", "1.0.0").await?;
    registry.push_image("private", "1.1.0").await?;
    let _controller = ControllerProcess::start(&ns, &[])?;
    let repos = image_api(&s.client, &ns, "ImageRepository");
    let image = registry.image("private");
    create(
        &repos,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "private", "namespace": ns},
            "spec": {"image": image, "interval": "1m", "secretRef": {"name": "registry-auth"}}
        }),
    )
    .await?;
    // The secret is missing: the condition names it.
    let missing = wait_ready_where(&repos, "private", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&missing, "Ready").unwrap_or_default();
    assert_eq!(reason, "AuthenticationFailed");
    assert!(message.contains("registry-auth"), "{message}");

    // Wrong credentials: 401 named, the password never shown.
    let secret = |password: &str| -> anyhow::Result<Secret> {
        let config =
            json!({"auths": {registry.host(): {"username": "robot", "password": password}}});
        Ok(serde_json::from_value(json!({
            "metadata": {"name": "registry-auth"},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": config.to_string()}
        }))?)
    };
    let secrets: Api<Secret> = Api::namespaced(s.client.clone(), &ns);
    secrets
        .create(&PostParams::default(), &secret("wrong-pass")?)
        .await?;
    let request = |value: &str| json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": value}}});
    repos
        .patch(
            "private",
            &PatchParams::default(),
            &Patch::Merge(&request("1")),
        )
        .await?;
    let refused = wait_ready_where(&repos, "private", |s, _, m| {
        s == "False" && m.contains("authentication failed (401)")
    })
    .await?;
    let (_, reason, message) = condition(&refused, "Ready").unwrap_or_default();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(message.contains(&image), "{message}");
    assert!(!message.contains("wrong-pass"), "{message}");

    // The right credentials: scanned.
    secrets
        .replace(
            "registry-auth",
            &PostParams::default(),
            &secret("s3cr3t-pass")?,
        )
        .await?;
    repos
        .patch(
            "private",
            &PatchParams::default(),
            &Patch::Merge(&request("2")),
        )
        .await?;
    let scanned = wait_ready_where(&repos, "private", |s, _, _| s == "True").await?;
    assert_eq!(scanned["status"]["lastScanResult"]["tagCount"], json!(2));
    assert_eq!(
        scanned["status"]["lastScanResult"]["latestTags"],
        json!(["1.1.0", "1.0.0"])
    );

    // A service account's imagePullSecrets serve as well (serviceAccountName, generic provider).
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(s.client.clone(), &ns);
    accounts
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "puller"},
                "imagePullSecrets": [{"name": "registry-auth"}]
            }))?,
        )
        .await?;
    create(
        &repos,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "via-account", "namespace": ns},
            "spec": {"image": image, "interval": "1m", "serviceAccountName": "puller"}
        }),
    )
    .await?;
    let via_account = wait_ready_where(&repos, "via-account", |s, _, _| s == "True").await?;
    assert_eq!(
        via_account["status"]["lastScanResult"]["tagCount"],
        json!(2)
    );

    // A policy no tag satisfies says so.
    let policies = image_api(&s.client, &ns, "ImagePolicy");
    create(
        &policies,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": "next-major", "namespace": ns},
            "spec": {"imageRepositoryRef": {"name": "private"}, "policy": {"semver": {"range": ">=2.0.0"}}}
        }),
    )
    .await?;
    let unmatched = wait_ready_where(&policies, "next-major", |s, _, _| s == "False").await?;
    let (_, _, message) = condition(&unmatched, "Ready").unwrap_or_default();
    assert!(
        message.contains("no tag matches") && message.contains(">=2.0.0"),
        "{message}"
    );

    // A repository the registry does not have is a read failure saying so.
    create(
        &repos,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "missing", "namespace": ns},
            "spec": {"image": registry.image("missing"), "interval": "1m", "secretRef": {"name": "registry-auth"}}
        }),
    )
    .await?;
    let missing = wait_ready_where(&repos, "missing", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&missing, "Ready").unwrap_or_default();
    assert_eq!(reason, "ReadOperationFailed", "{message}");
    assert!(
        message.contains("not found") || message.contains("NAME_UNKNOWN"),
        "{message}"
    );

    // An unreachable registry is a read failure naming the image, retried later.
    create(
        &repos,
        json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "gone", "namespace": ns},
            "spec": {"image": format!("127.0.0.1:{}/gone", common::free_port()?), "interval": "1m", "timeout": "5s"}
        }),
    )
    .await?;
    let gone = wait_ready_where(&repos, "gone", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&gone, "Ready").unwrap_or_default();
    assert_eq!(reason, "ReadOperationFailed", "{message}");
    assert!(message.contains("/gone"), "{message}");
    Ok(())
}

/// A Flux v1 workload: `fluxcd.io/automated` with a tag pattern on container `app`.
fn v1_deployment(name: &str, image: &str, extra_annotations: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    fluxcd.io/automated: \"true\"\n    fluxcd.io/tag.app: glob:1.*\n{extra_annotations}spec:\n  replicas: 0 # scaled by hand\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: '{image}' # the app\n"
    )
}

#[tokio::test]
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
        &api(
            &s.client,
            &ns,
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "Kustomization",
        ),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "v1", "namespace": ns},
            "spec": {"interval": "10m", "path": "./v1", "prune": true, "targetNamespace": ns,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}}
        }),
    )
    .await?;
    let _controller = ControllerProcess::start(
        &ns,
        &[
            "--automation-interval",
            "1s",
            "--git-user",
            "Flux v1",
            "--git-email",
            "v1@example.com",
        ],
    )?;

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

#[tokio::test]
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
    let ks_api = api(
        &s.client,
        &ns,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
    );
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
    let _controller = ControllerProcess::start(&ns, &[])?;
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
