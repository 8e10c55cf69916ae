//! Image automation end to end, as in Flux's image update guide: a real OCI registry on
//! loopback, a git repository behind sshd with a deploy key, the local control plane and the
//! controller. A new tag accepted by an ImagePolicy ends in a commit that changes exactly the
//! marked tag, and the Kustomization then rolls the Deployment; registry errors are reported
//! and fixed by credentials.

mod common;

use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, dynamic_api, kustomizations, wait_ready_where,
};
use tether_testkit::http::free_port;
use tether_testkit::registry::RegistryServer;

fn image_api(client: &kube::Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    dynamic_api(client, ns, "image.toolkit.fluxcd.io", "v1", kind)
}

/// The manifest of the guide: a Deployment whose image carries a setter marker, with comments
/// and quoting that the update must leave alone.
fn deployment(image: &str, marker: &str) -> String {
    format!(
        "# the podinfo deployment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: podinfo}}\n  template:\n    metadata:\n      labels: {{app: podinfo}}\n    spec:\n      containers:\n      - name: podinfod\n        image: {image} # {{\"$imagepolicy\": \"{marker}\"}}\n        ports:\n        - containerPort: 9898 # http\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    let _controller = InProcessController::start(&ns).await?;

    create(
        &kustomizations(&s.client, &ns),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_errors_are_reported_and_credentials_fix_them() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("image-auth", "10m").await?;
    let ns = s.ns.name.clone();
    let registry = RegistryServer::start_with_basic_auth("robot", "s3cr3t-pass")?;
    registry.push_image("private", "1.0.0").await?;
    registry.push_image("private", "1.1.0").await?;
    let _controller = InProcessController::start(&ns).await?;
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
            "spec": {"image": format!("127.0.0.1:{}/gone", free_port()?), "interval": "1m", "timeout": "5s"}
        }),
    )
    .await?;
    let gone = wait_ready_where(&repos, "gone", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&gone, "Ready").unwrap_or_default();
    assert_eq!(reason, "ReadOperationFailed", "{message}");
    assert!(message.contains("/gone"), "{message}");
    Ok(())
}
