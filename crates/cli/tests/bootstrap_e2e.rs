//! `tether bootstrap git` end to end, against the local control plane and the local git servers
//! (SSH with a deploy key, smart HTTP with basic auth): the seed flow (`check --pre`,
//! bootstrap at path `demo` with the image components, then the tutorial's objects committed
//! under `demo/` applied by the bootstrapped sync and Ready), a second run that changes nothing,
//! and the errors that must leave the cluster untouched.
//!
//! The cluster has no container runtime (kwok fakes the pods), so the controller runs as a host
//! process scoped to the bootstrap namespace, as in the other e2e tests; the Deployment the
//! bootstrap installs is reported healthy by kwok and reconciles nothing. One test function runs
//! the steps in order: two bootstraps at once would fight over the cluster-scoped install objects.

mod common;

use common::{ControllerProcess, tether, tether_ok, texts};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::{TestNamespace, client, install_crds, unique_name, wait_for};
use tether_testkit::flux::{condition, deployment_yaml, dynamic_api};
use tether_testkit::git::{GitRepoFixture, HttpGitServer, SshGitServer};
use tether_testkit::registry::RegistryServer;

const WAIT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn bootstrap_git_syncs_the_cluster_from_the_repository() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    errors_change_nothing(&client).await?;
    install_applies(&client).await?;
    over_http_with_basic_auth(&client).await?;
    into_an_empty_repository(&client).await?;
    seed_flow(&client, CURRENT).await
}

/// `install` with Flux's flags applies the manifests and waits for the controller.
async fn install_applies(client: &kube::Client) -> anyhow::Result<()> {
    let ns = TestNamespace::create(client, "install").await?;
    let (_, log) = tether_ok(&[
        "install",
        "-n",
        &ns.name,
        "--watch-all-namespaces=false",
        "--network-policy=false",
        "--components-extra=image-reflector-controller",
        "--timeout=2m",
    ])
    .await?;
    for line in [
        "✚ generating manifests".to_owned(),
        "✔ manifests build completed".to_owned(),
        format!("► installing components in {} namespace", ns.name),
        "► tether runs one controller, tether-controller, for the components source-controller, kustomize-controller, helm-controller, notification-controller, image-reflector-controller".to_owned(),
        format!("Deployment/{}/tether-controller created", ns.name),
        "✔ install finished".to_owned(),
    ] {
        assert!(log.contains(&line), "no {line:?} in:\n{log}");
    }
    assert!(!log.contains("NetworkPolicy"), "{log}");
    let deployment = ns.api::<Deployment>().get("tether-controller").await?;
    let args =
        serde_json::to_value(&deployment)?["spec"]["template"]["spec"]["containers"][0]["args"]
            .clone();
    assert!(
        args.to_string()
            .contains("--watch-namespace=$(RUNTIME_NAMESPACE)"),
        "{args}"
    );
    Ok(())
}

/// Over smart HTTP with basic auth: the push authenticates with --username/--password, the
/// cluster's Secret holds them, the sync URL carries no credentials, and the sync gets Ready.
async fn over_http_with_basic_auth(client: &kube::Client) -> anyhow::Result<()> {
    let ns = TestNamespace::create(client, "bootstrap-http").await?;
    let repo = GitRepoFixture::new("fleet")?;
    repo.commit("main", &[("README.md", "# fleet\n")], "init")?;
    let server = HttpGitServer::start(&repo.projects_root(), "bot", "s3cret")?;
    let url = server.repo_url(repo.name());
    let controller = ControllerProcess::start(&ns.name, &[])?;
    let (_, log) = tether_ok(&[
        "bootstrap",
        "git",
        &format!("--url={url}"),
        "--branch=main",
        "--path=clusters/dev",
        "--username=bot",
        "--password=s3cret",
        "--allow-insecure-http",
        "--silent",
        "-n",
        &ns.name,
        "--timeout=3m",
    ])
    .await?;
    assert!(
        log.contains("✔ Kustomization reconciled successfully"),
        "{log}"
    );
    assert!(!log.contains("s3cret"), "{log}");
    assert!(!log.contains("public key"), "{log}");
    let sync = repo.show("main", &format!("clusters/dev/{}/gotk-sync.yaml", ns.name))?;
    assert!(sync.contains(&format!("  url: {url}\n")), "{sync}");
    let secret = ns.api::<Secret>().get(&ns.name).await?;
    let data = secret.data.unwrap_or_default();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["password", "username"]);
    assert_eq!(data["username"].0, b"bot");
    release(client, &ns.name, controller).await
}

/// A repository created and never pushed to (no commit, no branch) is bootstrapped as Flux
/// bootstraps it: the first commit is a root commit and the push creates the branch.
async fn into_an_empty_repository(client: &kube::Client) -> anyhow::Result<()> {
    let ns = TestNamespace::create(client, "bootstrap-empty").await?;
    let repo = GitRepoFixture::new("fresh")?;
    let server = HttpGitServer::start(&repo.projects_root(), "bot", "s3cret")?;
    let url = server.repo_url(repo.name());
    let controller = ControllerProcess::start(&ns.name, &[])?;
    let (_, log) = tether_ok(&[
        "bootstrap",
        "git",
        &format!("--url={url}"),
        "--branch=main",
        "--path=clusters/dev",
        "--username=bot",
        "--password=s3cret",
        "--allow-insecure-http",
        "--silent",
        "-n",
        &ns.name,
        "--timeout=3m",
    ])
    .await?;
    for line in [
        "✔ cloned repository",
        "✔ committed component manifests to \"main\" (\"",
        "✔ Kustomization reconciled successfully",
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }
    let components = format!("clusters/dev/{}/gotk-components.yaml", ns.name);
    assert!(
        repo.show("main", &components)?
            .contains("tether-controller")
    );
    // Two commits, components then sync, the first a root commit.
    repo.rev_parse("main~1")?;
    assert!(repo.rev_parse("main~2").is_err());
    release(client, &ns.name, controller).await
}

/// The seed flow with the tutorial's objects at the deprecated versions it was written in.
/// An object the sync applied at v1beta1 keeps a v1beta1 managedFields entry, so every status
/// write the controller makes at v1 is converted to v1beta1 by the API server; this passes
/// because the deprecated versions' schemas declare every v1 field (`.status.artifact.size`,
/// `.spec.provider`, `.spec.digestReflectionPolicy`...), not only their own.
#[tokio::test]
async fn bootstrap_git_syncs_the_tutorial_at_its_deprecated_versions() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    seed_flow(&client, TUTORIAL).await
}

/// The kinds the bootstrap and the tutorial create, whose finalizers must go before the test
/// namespace can (the controller that would remove them is stopped first).
const FINALIZED: [(&str, &str, &str); 4] = [
    ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
    ("source.toolkit.fluxcd.io", "v1", "GitRepository"),
    ("image.toolkit.fluxcd.io", "v1", "ImageRepository"),
    ("image.toolkit.fluxcd.io", "v1", "ImageUpdateAutomation"),
];

/// Stops the controller, then clears the finalizers in `ns`, so deleting the namespace prunes
/// nothing (the install's cluster-scoped objects, CRDs included, are shared with other tests).
async fn release(
    client: &kube::Client,
    ns: &str,
    controller: ControllerProcess,
) -> anyhow::Result<()> {
    drop(controller);
    for (group, version, kind) in FINALIZED {
        let api = dynamic_api(client, ns, group, version, kind);
        for object in api.list(&ListParams::default()).await?.items {
            let name = object.metadata.name.unwrap_or_default();
            let patch = json!({"metadata": {"finalizers": null}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
    }
    Ok(())
}

async fn wait_ready(api: &Api<DynamicObject>, name: &str) -> anyhow::Result<DynamicObject> {
    wait_for(api, name, WAIT, |object| {
        let value = serde_json::to_value(object).unwrap_or_default();
        condition(&value, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await
}

/// The API versions the tutorial's objects are written in.
#[derive(Clone, Copy)]
struct Versions {
    source: &'static str,
    kustomize: &'static str,
    image: &'static str,
}

/// The versions of the seed flow, as the tutorial was written.
const TUTORIAL: Versions = Versions {
    source: "v1beta1",
    kustomize: "v1beta2",
    image: "v1beta1",
};

/// The current versions.
const CURRENT: Versions = Versions {
    source: "v1",
    kustomize: "v1",
    image: "v1",
};

/// The tutorial's objects (Flux's getting-started and image-update guides, at the API versions
/// they were written for): the podinfo source and Kustomization, and the image automation
/// that writes back to the bootstrap repository.
fn tutorial(ns: &str, app_url: &str, image: &str, versions: Versions) -> Vec<(String, String)> {
    let Versions {
        source,
        kustomize,
        image: image_version,
    } = versions;
    let source = format!(
        "apiVersion: source.toolkit.fluxcd.io/{source}\nkind: GitRepository\nmetadata:\n  name: podinfo\n  namespace: {ns}\nspec:\n  interval: 30s\n  ref:\n    branch: master\n  secretRef:\n    name: {ns}\n  url: {app_url}\n"
    );
    let kustomization = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/{kustomize}\nkind: Kustomization\nmetadata:\n  name: podinfo\n  namespace: {ns}\nspec:\n  interval: 5m0s\n  path: ./deploy\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: podinfo\n  targetNamespace: {ns}\n"
    );
    let images = format!(
        "apiVersion: image.toolkit.fluxcd.io/{image_version}\nkind: ImageRepository\nmetadata:\n  name: podinfo\n  namespace: {ns}\nspec:\n  image: {image}\n  interval: 1m0s\n---\napiVersion: image.toolkit.fluxcd.io/{image_version}\nkind: ImagePolicy\nmetadata:\n  name: podinfo\n  namespace: {ns}\nspec:\n  imageRepositoryRef:\n    name: podinfo\n  policy:\n    semver:\n      range: 5.0.x\n---\napiVersion: image.toolkit.fluxcd.io/{image_version}\nkind: ImageUpdateAutomation\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  interval: 1m0s\n  sourceRef:\n    kind: GitRepository\n    name: {ns}\n  git:\n    checkout:\n      ref:\n        branch: main\n    commit:\n      author:\n        email: fluxcdbot@users.noreply.github.com\n        name: fluxcdbot\n      messageTemplate: '{{{{range .Updated.Images}}}}{{{{println .}}}}{{{{end}}}}'\n    push:\n      branch: main\n  update:\n    path: ./demo\n    strategy: Setters\n"
    );
    vec![
        ("demo/podinfo-source.yaml".into(), source),
        ("demo/podinfo-kustomization.yaml".into(), kustomization),
        ("demo/podinfo-image.yaml".into(), images),
    ]
}

/// `check --pre`; bootstrap over SSH at `demo` with the image components; the tutorial's
/// objects committed under `demo/` become Ready through the bootstrapped sync; a second
/// bootstrap makes no commit and keeps every object.
async fn seed_flow(client: &kube::Client, versions: Versions) -> anyhow::Result<()> {
    let (stdout, stderr) = tether_ok(&["check", "--pre"]).await?;
    assert!(
        stderr.contains("prerequisites checks passed"),
        "{stdout}{stderr}"
    );

    let ns = TestNamespace::create(client, "bootstrap").await?;
    let server = SshGitServer::start()?;
    let fleet = GitRepoFixture::new("fleet")?;
    fleet.commit("main", &[("README.md", "# fleet\n")], "init")?;
    let app = GitRepoFixture::new("podinfo")?;
    app.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(1))],
        "podinfo",
    )?;
    let registry = RegistryServer::start()?;
    registry.push_image("podinfo", "5.0.3").await?;
    let key = tempfile::NamedTempFile::new()?;
    std::fs::write(key.path(), server.private_key_pem()?)?;
    let url = server.repo_url(&fleet.bare_path());
    let key_flag = format!("--private-key-file={}", key.path().display());
    let bootstrap = [
        "bootstrap",
        "git",
        &format!("--url={url}"),
        "--branch=main",
        "--path=demo",
        &key_flag,
        "--components-extra=image-reflector-controller,image-automation-controller",
        "--silent",
        "-n",
        &ns.name,
        "--timeout=3m",
    ];
    let controller = ControllerProcess::start(&ns.name, &[])?;
    let (_, log) = tether_ok(&bootstrap).await?;
    for line in [
        "► cloning branch \"main\" from Git repository",
        "✔ committed component manifests to \"main\" (\"",
        &format!("► installing components in \"{}\" namespace", ns.name),
        "► generating source secret",
        "✔ public key: ssh-ed25519 ",
        "✔ committed sync manifests to \"main\"",
        "✔ reconciled sync configuration",
        "✔ Kustomization reconciled successfully",
        "✔ all components are healthy",
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }
    let dir = format!("demo/{}", ns.name);
    let components = fleet.show("main", &format!("{dir}/gotk-components.yaml"))?;
    assert!(components.starts_with("---\n# This manifest was generated by flux. DO NOT EDIT.\n"));
    assert!(components.contains("# Components: source-controller,kustomize-controller,helm-controller,notification-controller,image-reflector-controller,image-automation-controller\n"));
    let sync = fleet.show("main", &format!("{dir}/gotk-sync.yaml"))?;
    assert!(sync.contains("  path: ./demo\n"), "{sync}");
    assert!(sync.contains(&format!("  url: {url}\n")), "{sync}");
    assert_eq!(
        fleet.show("main", &format!("{dir}/kustomization.yaml"))?,
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n"
    );
    assert_eq!(fleet.show("main", "README.md")?, "# fleet\n");
    let secret = ns.api::<Secret>().get(&ns.name).await?;
    let keys: Vec<_> = secret.data.unwrap_or_default().into_keys().collect();
    assert_eq!(keys, ["identity", "identity.pub", "known_hosts"]);
    ns.api::<Deployment>().get("tether-controller").await?;

    // Re-running is a no-op: no commit, the Secret and the sync objects kept.
    let head = fleet.rev_parse("main")?;
    let uid = |o: &DynamicObject| o.metadata.uid.clone();
    let sync_ks = dynamic_api(
        client,
        &ns.name,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
    );
    let before = sync_ks.get(&ns.name).await?;
    let (_, again) = tether_ok(&bootstrap).await?;
    for line in [
        "✔ component manifests are up to date",
        "✔ source secret up to date",
        "✔ sync manifests are up to date",
    ] {
        assert!(again.contains(line), "no {line:?} in:\n{again}");
    }
    assert!(!again.contains("installing components"), "{again}");
    assert_eq!(fleet.rev_parse("main")?, head);
    assert_eq!(uid(&sync_ks.get(&ns.name).await?), uid(&before));

    // A bootstrap at another path would take the sync over: refused before anything is written.
    let mut elsewhere = bootstrap.map(str::to_owned).to_vec();
    elsewhere[4] = "--path=other".into();
    let output = tether(&elsewhere).await?;
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("sync path configuration (\"./other\") would overwrite path (\"./demo\") of existing Kustomization"),
        "{stderr}"
    );
    assert_eq!(fleet.rev_parse("main")?, head);

    // The tutorial, committed under demo/, is applied by the bootstrapped sync.
    let image = registry.image("podinfo");
    let app_url = server.repo_url(&app.bare_path());
    let files = tutorial(&ns.name, &app_url, &image, versions);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    fleet.commit("main", &files, "Add podinfo")?;
    tether_ok(&[
        "reconcile",
        "kustomization",
        &ns.name,
        "--with-source",
        "-n",
        &ns.name,
    ])
    .await?;
    let api = |group, version, kind| dynamic_api(client, &ns.name, group, version, kind);
    wait_ready(
        &api("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "podinfo",
    )
    .await?;
    wait_ready(
        &api("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
        "podinfo",
    )
    .await?;
    wait_ready(
        &api("image.toolkit.fluxcd.io", "v1", "ImageRepository"),
        "podinfo",
    )
    .await?;
    let policy = wait_ready(
        &api("image.toolkit.fluxcd.io", "v1", "ImagePolicy"),
        "podinfo",
    )
    .await?;
    let latest = serde_json::to_value(&policy)?;
    assert_eq!(
        latest
            .pointer("/status/latestRef/tag")
            .and_then(|t| t.as_str()),
        Some("5.0.3"),
        "{latest}"
    );
    wait_ready(
        &api("image.toolkit.fluxcd.io", "v1", "ImageUpdateAutomation"),
        "flux-system",
    )
    .await?;
    let web = wait_for(&ns.api::<Deployment>(), "web", WAIT, |_| true).await?;
    if versions.source == "v1" {
        // The sole test that reaches here on the shared cluster: uninstall deletes the CRDs.
        return uninstall(client, &ns, controller, &web).await;
    }
    release(client, &ns.name, controller).await
}

/// `uninstall --dry-run` changes nothing; `uninstall` (after the controller is gone, as
/// deleting its Deployment stops it in a real cluster) removes the finalizers, the controller
/// and the CRDs, and keeps the workload the sync applied and the namespace holding it.
async fn uninstall(
    client: &kube::Client,
    ns: &TestNamespace,
    controller: ControllerProcess,
    web: &Deployment,
) -> anyhow::Result<()> {
    let (_, log) = tether_ok(&["uninstall", "--dry-run", "-n", &ns.name]).await?;
    let line = format!(
        "✔ Deployment/{}/tether-controller deleted (dry run)",
        ns.name
    );
    assert!(log.contains(&line), "{log}");
    assert!(log.contains("✔ CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io deleted (dry run)"), "{log}");
    ns.api::<Deployment>().get("tether-controller").await?;
    drop(controller);
    let (_, log) = tether_ok(&["uninstall", "--silent", "-n", &ns.name]).await?;
    for line in [
        format!("► deleting components in {} namespace", ns.name),
        format!("✔ Deployment/{}/tether-controller deleted", ns.name),
        format!("✔ Kustomization/{}/podinfo finalizers deleted", ns.name),
        "✔ CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io deleted".to_owned(),
        format!(
            "► keeping Namespace/{}: it holds workloads not installed by Flux (Deployment/{}/web)",
            ns.name, ns.name
        ),
        "✔ uninstall finished".to_owned(),
    ] {
        assert!(log.contains(&line), "no {line:?} in:\n{log}");
    }
    let crds = Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone());
    tether_testkit::flux::wait_for_gone(&crds, "kustomizations.kustomize.toolkit.fluxcd.io")
        .await?;
    assert!(
        ns.api::<Deployment>()
            .get_opt("tether-controller")
            .await?
            .is_none()
    );
    let kept = ns.api::<Deployment>().get("web").await?;
    assert_eq!(kept.metadata.uid, web.metadata.uid);
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt(&ns.name)
            .await?
            .is_some()
    );
    // Put the CRDs back for whatever runs next on this cluster.
    install_crds(client, tether_api::crds()).await
}

/// A path leaving the repository, a branch the repository lacks, and a repository that rejects
/// the push: clear errors, no commit, nothing in the cluster (the namespace is not even
/// created).
async fn errors_change_nothing(client: &kube::Client) -> anyhow::Result<()> {
    let repo = GitRepoFixture::new("closed")?;
    let init = repo.commit("main", &[("README.md", "closed\n")], "init")?;
    let hook = repo.bare_path().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'pushes are closed here' >&2\nexit 1\n",
    )?;
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let server = HttpGitServer::start(&repo.projects_root(), "bot", "s3cret")?;
    let ns = unique_name("bootstrap-closed");
    let url = format!("--url={}", server.repo_url(repo.name()));
    let run = |path: &'static str| {
        let (url, ns) = (url.clone(), ns.clone());
        async move {
            let output = tether(&[
                "bootstrap",
                "git",
                &url,
                "--branch=main",
                path,
                "--username=bot",
                "--password=s3cret",
                "--allow-insecure-http",
                "--silent",
                "-n",
                &ns,
            ])
            .await?;
            anyhow::ensure!(!output.status.success(), "bootstrap succeeded");
            Ok::<_, anyhow::Error>(texts(&output).1)
        }
    };
    let stderr = run("--path=../outside").await?;
    assert!(stderr.contains("invalid --path '../outside'"), "{stderr}");
    // A branch the (non-empty) repository does not have: Flux fails the clone too (only a
    // repository with no refs at all is started from scratch).
    let output = tether(&[
        "bootstrap",
        "git",
        &url,
        "--branch=missing",
        "--username=bot",
        "--password=s3cret",
        "--allow-insecure-http",
        "--silent",
        "-n",
        &ns,
    ])
    .await?;
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("✗ failed to clone repository: "),
        "{stderr}"
    );
    let stderr = run("--path=clusters/closed").await?;
    assert!(stderr.contains("✗ failed to push manifests: "), "{stderr}");
    assert!(stderr.contains("pushes are closed here"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert_eq!(repo.rev_parse("main")?, init);
    let namespaces = Api::<Namespace>::all(client.clone());
    assert!(
        namespaces.get_opt(&ns).await?.is_none(),
        "namespace {ns} was created"
    );
    Ok(())
}

#[tokio::test]
async fn bootstrap_github_and_gitlab_say_only_git_is_supported() -> anyhow::Result<()> {
    for provider in ["github", "gitlab"] {
        let output = tether(&["bootstrap", provider, "--owner=me", "--repository=fleet"]).await?;
        let (_, stderr) = texts(&output);
        assert!(!output.status.success());
        assert!(
            stderr.contains(&format!(
                "`bootstrap {provider}` is not supported by tether"
            )) && stderr.contains("tether bootstrap git --url="),
            "{stderr}"
        );
    }
    Ok(())
}
