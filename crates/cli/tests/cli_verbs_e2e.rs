//! The Flux verbs end to end: `tether get`, `reconcile`, `suspend`, `resume` and `tree` run as
//! processes against the local control plane, a `tether controller` and an SSH git server.
//! The GitRepository polls every 10m, so only a reconcile request can pick up a push.

mod common;

use common::{ControllerProcess, row, tether, tether_ok, texts};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use std::time::Duration;
use tether_api::kustomize::v1::Kustomization;
use tether_testkit::cluster::{TestNamespace, client, install_crds, wait_for};
use tether_testkit::flux::{GitSourceFixture, condition, deployment_yaml};

const WAIT: Duration = Duration::from_secs(90);

fn kustomization(name: &str, ns: &str) -> anyhow::Result<Kustomization> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "10m", "path": "./deploy", "prune": true, "targetNamespace": ns,
                 "sourceRef": {"kind": "GitRepository", "name": "app"}}
    }))?)
}

async fn wait_ready(api: &Api<Kustomization>, name: &str) -> anyhow::Result<Kustomization> {
    wait_for(api, name, WAIT, |ks| {
        let value = serde_json::to_value(ks).unwrap_or_default();
        condition(&value, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await
}

#[tokio::test]
async fn flux_verbs_drive_a_kustomization() -> anyhow::Result<()> {
    let f = GitSourceFixture::start("verbs", "10m").await?;
    let ns = f.ns.name.as_str();
    let _controller = ControllerProcess::start(ns, &[])?;
    let api: Api<Kustomization> = f.ns.api();
    api.create(&PostParams::default(), &kustomization("app", ns)?)
        .await?;
    wait_ready(&api, "app").await?;

    // get: the Ready Kustomization with its (shortened) revision, and its source.
    let first = f.repo.rev_parse("master")?;
    let revision = format!("master@sha1:{}", &first[..8]);
    let (table, _) = tether_ok(&["get", "kustomizations", "-n", ns]).await?;
    assert!(table.starts_with("NAME\tREVISION"), "{table}");
    let applied = format!("Applied revision: {revision}");
    assert_eq!(
        row(&table, "app"),
        Some(vec!["app", &revision, "False", "True", &applied, ""]),
        "{table}"
    );
    let (sources, _) = tether_ok(&["get", "sources", "git", "app", "-n", ns]).await?;
    assert_eq!(row(&sources, "app").map(|r| r[1]), Some(revision.as_str()));
    let (failing, _) =
        tether_ok(&["get", "ks", "--status-selector", "ready=false", "-n", ns]).await?;
    assert_eq!(failing.lines().count(), 1, "only the header: {failing}");

    reconcile_with_source_applies_a_push(&f).await?;
    suspend_and_resume(&f, &api).await?;

    // tree: what the Kustomization applied.
    let (tree, _) = tether_ok(&["tree", "kustomization", "app", "-n", ns]).await?;
    let mut lines: Vec<&str> = tree.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("Kustomization/{ns}/app").as_str())
    );
    lines.sort_unstable();
    let deployment = format!("── Deployment/{ns}/web");
    let service = format!("── Service/{ns}/web");
    assert!(lines.iter().any(|l| l.ends_with(&deployment)), "{tree}");
    assert!(lines.iter().any(|l| l.ends_with(&service)), "{tree}");
    assert!(tree.contains("└── "), "{tree}");

    reconcile_reports_a_failed_build(&f).await
}

/// A broken commit: `reconcile` waits for the failed attempt, prints the Ready message after
/// `✗` and exits non-zero.
async fn reconcile_reports_a_failed_build(f: &GitSourceFixture) -> anyhow::Result<()> {
    let ns = f.ns.name.as_str();
    let broken = [(
        "deploy/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
    )];
    f.repo.commit("master", &broken, "break it")?;
    let output = tether(&["reconcile", "ks", "app", "--with-source", "-n", ns]).await?;
    let (_, log) = texts(&output);
    assert!(!output.status.success(), "{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("✗ Kustomization reconciliation failed: ") && last.contains("broken.yaml"),
        "{log}"
    );
    Ok(())
}

/// A push is invisible until `reconcile kustomization --with-source`, which fetches it, applies
/// it and says so.
async fn reconcile_with_source_applies_a_push(f: &GitSourceFixture) -> anyhow::Result<()> {
    let ns = f.ns.name.as_str();
    let deployment = deployment_yaml(3);
    let files = [("deploy/deployment.yaml", deployment.as_str())];
    f.repo.commit("master", &files, "scale to 3")?;
    let head = f.repo.rev_parse("master")?;
    let (_, log) = tether_ok(&[
        "reconcile",
        "kustomization",
        "app",
        "--with-source",
        "-n",
        ns,
    ])
    .await?;
    let expected = [
        format!("► annotating GitRepository app in {ns} namespace"),
        "✔ GitRepository annotated".to_owned(),
        "◎ waiting for GitRepository reconciliation".to_owned(),
        format!("✔ fetched revision master@sha1:{head}"),
        format!("► annotating Kustomization app in {ns} namespace"),
        "✔ Kustomization annotated".to_owned(),
        "◎ waiting for Kustomization reconciliation".to_owned(),
        format!("✔ applied revision master@sha1:{head}"),
    ];
    assert_eq!(log.lines().collect::<Vec<_>>(), expected);
    let web = f.ns.api::<Deployment>().get("web").await?;
    assert_eq!(web.spec.and_then(|s| s.replicas), Some(3));
    Ok(())
}

/// `suspend` sets spec.suspend (and `get` shows it, `reconcile` refuses); `resume` clears it,
/// waits for the reconcile and applies what was pushed meanwhile.
async fn suspend_and_resume(f: &GitSourceFixture, api: &Api<Kustomization>) -> anyhow::Result<()> {
    let ns = f.ns.name.as_str();
    let (_, log) = tether_ok(&["suspend", "kustomization", "app", "-n", ns]).await?;
    assert_eq!(
        log,
        format!("► suspending kustomization app in {ns} namespace\n✔ kustomization suspended\n")
    );
    assert_eq!(api.get("app").await?.spec.suspend, Some(true));
    let (table, _) = tether_ok(&["get", "ks", "app", "-n", ns]).await?;
    assert_eq!(row(&table, "app").map(|r| r[2]), Some("True"), "{table}");
    let refused = tether(&["reconcile", "ks", "app", "-n", ns]).await?;
    assert!(!refused.status.success());
    let suspended = format!("✗ Kustomization '{ns}/app' is suspended");
    assert!(
        texts(&refused).1.contains(&suspended),
        "{:?}",
        texts(&refused)
    );

    let deployment = deployment_yaml(4);
    let files = [("deploy/deployment.yaml", deployment.as_str())];
    f.repo.commit("master", &files, "scale to 4")?;
    tether_ok(&["reconcile", "source", "git", "app", "-n", ns]).await?;
    let head = f.repo.rev_parse("master")?;
    let (_, log) = tether_ok(&["resume", "ks", "app", "-n", ns]).await?;
    assert!(
        log.starts_with(&format!(
            "► resuming kustomization app in {ns} namespace\n✔ kustomization resumed\n"
        )),
        "{log}"
    );
    assert!(
        log.contains("✔ Kustomization app reconciliation completed"),
        "{log}"
    );
    assert!(
        log.ends_with(&format!("✔ applied revision master@sha1:{head}\n")),
        "{log}"
    );
    assert_eq!(api.get("app").await?.spec.suspend, None);
    let web = f.ns.api::<Deployment>().get("web").await?;
    assert_eq!(web.spec.and_then(|s| s.replicas), Some(4));
    Ok(())
}

#[tokio::test]
async fn a_missing_object_fails_with_its_name() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "verbs-missing").await?;
    let ns = ns.name.as_str();
    let missing = format!("✗ Kustomization '{ns}/nope' not found");
    for verb in [
        &["reconcile", "kustomization", "nope"][..],
        &["suspend", "kustomization", "nope"],
        &["resume", "ks", "nope"],
        &["tree", "kustomization", "nope"],
    ] {
        let output = tether(&[verb, &["-n", ns]].concat()).await?;
        let (_, stderr) = texts(&output);
        assert!(!output.status.success(), "{verb:?} succeeded");
        assert_eq!(stderr.trim_end(), missing, "{verb:?}");
    }
    let output = tether(&["get", "ks", "nope", "-n", ns]).await?;
    assert!(!output.status.success());
    assert_eq!(
        texts(&output).1.trim_end(),
        format!("✗ Kustomization object 'nope' not found in \"{ns}\" namespace")
    );
    let output = tether(&["reconcile", "source", "git", "nope", "-n", ns]).await?;
    assert_eq!(
        texts(&output).1.trim_end(),
        format!("✗ GitRepository '{ns}/nope' not found")
    );
    Ok(())
}

#[tokio::test]
async fn tree_descends_into_nested_kustomizations() -> anyhow::Result<()> {
    let f = GitSourceFixture::start("verbs-tree", "10m").await?;
    let ns = f.ns.name.as_str();
    let child = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: child\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./deploy\n  prune: true\n  targetNamespace: {ns}\n  sourceRef: {{kind: GitRepository, name: app}}\n"
    );
    f.repo
        .commit("master", &[("clusters/child.yaml", &child)], "child")?;
    let _controller = ControllerProcess::start(ns, &[])?;
    let api: Api<Kustomization> = f.ns.api();
    let mut parent = kustomization("parent", ns)?;
    parent.spec.path = Some("./clusters".into());
    api.create(&PostParams::default(), &parent).await?;
    wait_ready(&api, "parent").await?;
    wait_ready(&api, "child").await?;

    let (tree, _) = tether_ok(&["tree", "ks", "parent", "-n", ns]).await?;
    let expected = format!(
        "Kustomization/{ns}/parent\n└── Kustomization/{ns}/child\n    ├── Service/{ns}/web\n    └── Deployment/{ns}/web\n\n"
    );
    assert_eq!(tree, expected);
    let (compact, _) = tether_ok(&["tree", "ks", "parent", "--compact", "-n", ns]).await?;
    assert_eq!(
        compact,
        format!("Kustomization/{ns}/parent\n└── Kustomization/{ns}/child\n\n")
    );
    Ok(())
}

#[tokio::test]
async fn oci_source_verbs_get_reconcile_suspend_and_resume() -> anyhow::Result<()> {
    use tether_testkit::flux::{create, dynamic_api};
    use tether_testkit::oci::{push_flux_artifact, tarball};
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "verbs-oci").await?;
    let ns = ns.name.as_str();
    let registry =
        tether_testkit::registry::RegistryServer::start_with_basic_auth("pusher", "s3cret")?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("app.yaml"), "kind: ConfigMap\n")?;
    std::fs::write(dir.path().join("logo.png"), "ignored by default")?;
    let pushed = format!("oci://{}:1.0.0", registry.image("app"));
    let path = dir.path().to_string_lossy().into_owned();
    let (_, log) = tether_ok(&[
        "push",
        "artifact",
        &pushed,
        "--path",
        &path,
        "--source",
        "https://example.invalid/app",
        "--revision",
        "main@sha1:0123abcd",
        "--creds",
        "pusher:s3cret",
        "-a",
        "team=platform",
    ])
    .await?;
    let first = log
        .rsplit_once('@')
        .map(|(_, digest)| digest.trim().to_owned())
        .unwrap_or_default();
    assert_eq!(
        log,
        format!(
            "► logging in to registry with credentials\n► pushing artifact to {}\n✔ artifact successfully pushed to {}@{first}\n",
            &pushed["oci://".len()..],
            registry.image("app")
        )
    );
    // Pulled back: the pushed files, without the default-ignored image.
    let pulled = tempfile::tempdir()?;
    let out = pulled.path().join("out");
    let out_text = out.to_string_lossy().into_owned();
    let (_, log) = tether_ok(&[
        "pull",
        "artifact",
        &pushed,
        "-o",
        &out_text,
        "--creds",
        "pusher:s3cret",
    ])
    .await?;
    assert!(log.contains("✔ revision main@sha1:0123abcd\n"), "{log}");
    let digest_line = format!("✔ digest {}@{first}\n", registry.image("app"));
    assert!(log.contains(&digest_line), "{log}");
    assert_eq!(
        std::fs::read_to_string(out.join("app.yaml"))?,
        "kind: ConfigMap\n"
    );
    assert!(!out.join("logo.png").exists(), "an ignored file was pushed");
    // Tagged: the same manifest under another tag.
    let (_, log) = tether_ok(&[
        "tag",
        "artifact",
        &pushed,
        "--tag",
        "stable",
        "--creds",
        "pusher:s3cret",
    ])
    .await?;
    let stable = format!("{}:stable", registry.image("app"));
    assert!(
        log.ends_with(&format!("✔ artifact tagged as {stable}\n")),
        "{log}"
    );
    let again = pulled.path().join("again").to_string_lossy().into_owned();
    let stable_url = format!("oci://{stable}");
    let (_, log) = tether_ok(&[
        "pull",
        "artifact",
        &stable_url,
        "-o",
        &again,
        "--creds",
        "pusher:s3cret",
    ])
    .await?;
    assert!(log.contains(&digest_line), "{log}");
    let auth = serde_json::json!({"auths": {registry.host(): {"username": "pusher", "password": "s3cret"}}});
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "registry-auth"}, "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": auth.to_string()}
    }))?;
    Api::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await?;
    let sources = dynamic_api(
        &client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "OCIRepository",
    );
    let url = format!("oci://{}", registry.image("app"));
    create(
        &sources,
        serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": {"name": "app", "namespace": ns},
            "spec": {"url": url, "interval": "10m", "ref": {"semver": "1.x"},
                     "secretRef": {"name": "registry-auth"}}
        }),
    )
    .await?;
    let _controller = ControllerProcess::start(ns, &[])?;
    let (_, log) = tether_ok(&["reconcile", "source", "oci", "app", "-n", ns]).await?;
    assert!(
        log.ends_with(&format!("✔ fetched revision 1.0.0@{first}\n")),
        "{log}"
    );
    let fetched = sources.get("app").await?;
    let metadata = &serde_json::to_value(&fetched)?["status"]["artifact"]["metadata"];
    assert_eq!(
        metadata["org.opencontainers.image.revision"],
        "main@sha1:0123abcd"
    );
    assert_eq!(metadata["team"], "platform");
    let (table, _) = tether_ok(&["get", "sources", "oci", "-n", ns]).await?;
    assert!(table.starts_with("NAME\tREVISION"), "{table}");
    let short = format!("1.0.0@{}", &first[..15]);
    assert_eq!(
        row(&table, "app").map(|r| r[1]),
        Some(short.as_str()),
        "{table}"
    );

    let (_, log) = tether_ok(&["suspend", "source", "oci", "app", "-n", ns]).await?;
    assert!(log.ends_with("✔ source oci suspended\n"), "{log}");
    let newer = tarball(&[("app.yaml", "kind: Secret\n")])?;
    let second = push_flux_artifact(&registry, "app", "1.1.0", &newer).await?;
    let (_, log) = tether_ok(&["resume", "source", "oci", "app", "-n", ns]).await?;
    assert!(
        log.ends_with(&format!("✔ fetched revision 1.1.0@{second}\n")),
        "{log}"
    );
    Ok(())
}
