//! The real `flux` CLI (v2.9.5, built from Go modules by `dev/testbin.sh`) pointed at objects a
//! `tether controller` reconciles: what Flux users run every day must read and drive tether as
//! it reads and drives Flux. Where tether has the same verb, both print the same text.

mod common;

use anyhow::Context;
use common::{ControllerProcess, row, tether_ok, texts};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::chartrepo::ChartRepoServer;
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{GitSourceFixture, create, deployment_yaml, dynamic_api};
use tether_testkit::fluxcli::run_flux;
use tether_testkit::registry::RegistryServer;
use tether_testkit::s3::S3Server;

const WAIT: Duration = Duration::from_secs(90);

/// Runs the real `flux ARGS`, requires success and returns `(stdout, stderr)`.
async fn flux_ok(args: &[&str]) -> anyhow::Result<(String, String)> {
    let output = run_flux(args).await?;
    let (stdout, stderr) = texts(&output);
    anyhow::ensure!(
        output.status.success(),
        "flux {args:?} failed with {}:\n{stdout}\n{stderr}",
        output.status
    );
    Ok((stdout, stderr))
}

/// One namespace holding every kind the everyday verbs list, reconciled by one controller:
/// GitRepository `app` + Kustomization `app`, HelmRepository `charts` + HelmRelease `podinfo`
/// (and its HelmChart), OCIRepository `manifests`, Bucket `files`, Provider `chat`, Alert `on-apps`
/// and Receiver `hook`.
struct Fixture {
    git: GitSourceFixture,
    _charts: ChartRepoServer,
    _registry: RegistryServer,
    _s3: S3Server,
    controller: ControllerProcess,
}

impl Fixture {
    async fn start() -> anyhow::Result<Self> {
        let git = GitSourceFixture::start("flux-cli", "10m").await?;
        let ns = git.ns.name.clone();
        let charts = ChartRepoServer::start()?;
        charts.publish_chart("web", "1.0.0", "")?;
        let registry = RegistryServer::start()?;
        let s3 = S3Server::start()?;
        s3.create_bucket("files").await?;
        s3.put_object("files", "cm.yaml", b"kind: ConfigMap\n")
            .await?;
        push_manifests(&registry).await?;
        let fixture = Self {
            git,
            _charts: charts,
            _registry: registry,
            _s3: s3,
            controller: ControllerProcess::start(&ns, &[])?,
        };
        fixture.create_objects(&ns).await?;
        Ok(fixture)
    }

    fn ns(&self) -> &str {
        &self.git.ns.name
    }

    fn api(&self, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
        dynamic_api(&self.git.client, self.ns(), group, version, kind)
    }

    async fn create_objects(&self, ns: &str) -> anyhow::Result<()> {
        let source = |kind| self.api("source.toolkit.fluxcd.io", "v1", kind);
        let s3 = &self._s3;
        let keys: Secret = serde_json::from_value(json!({"metadata": {"name": "s3-keys"},
            "stringData": {"accesskey": s3.access_key(), "secretkey": s3.secret_key()}}))?;
        let token: Secret = serde_json::from_value(json!({"metadata": {"name": "hook-token"},
            "stringData": {"token": "s3cret-token"}}))?;
        for secret in [keys, token] {
            self.git
                .ns
                .api::<Secret>()
                .create(&PostParams::default(), &secret)
                .await?;
        }
        let objects = [
            (
                self.api("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
                json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "app", "namespace": ns},
                "spec": {"interval": "10m", "path": "./deploy", "prune": true, "targetNamespace": ns,
                         "sourceRef": {"kind": "GitRepository", "name": "app"},
                         "postBuild": {"substitute": {"team": "blue"}}}}),
            ),
            (
                source("HelmRepository"),
                json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": {"name": "charts", "namespace": ns},
                "spec": {"url": self._charts.url(), "interval": "10m"}}),
            ),
            (
                self.api("helm.toolkit.fluxcd.io", "v2", "HelmRelease"),
                json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "podinfo", "namespace": ns},
                "spec": {"interval": "10m", "timeout": "60s",
                         "chart": {"spec": {"chart": "web", "version": "1.x",
                             "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}}),
            ),
            (
                source("OCIRepository"),
                json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
                "metadata": {"name": "manifests", "namespace": ns},
                "spec": {"url": format!("oci://{}", self._registry.image("manifests")),
                         "interval": "10m", "ref": {"tag": "1.0.0"}, "insecure": true}}),
            ),
            (
                source("Bucket"),
                json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
                "metadata": {"name": "files", "namespace": ns},
                "spec": {"bucketName": "files", "endpoint": s3.endpoint(), "insecure": true,
                         "interval": "10m", "secretRef": {"name": "s3-keys"}}}),
            ),
            (
                self.api("notification.toolkit.fluxcd.io", "v1beta3", "Provider"),
                json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
                "metadata": {"name": "chat", "namespace": ns},
                "spec": {"type": "generic", "address": "http://127.0.0.1:9/hook"}}),
            ),
            (
                self.api("notification.toolkit.fluxcd.io", "v1beta3", "Alert"),
                json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
                "metadata": {"name": "on-apps", "namespace": ns},
                "spec": {"providerRef": {"name": "chat"},
                         "eventSources": [{"kind": "Kustomization", "name": "*"}]}}),
            ),
            (
                self.api("notification.toolkit.fluxcd.io", "v1", "Receiver"),
                json!({"apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
                "metadata": {"name": "hook", "namespace": ns},
                "spec": {"type": "generic", "secretRef": {"name": "hook-token"},
                         "resources": [{"kind": "GitRepository", "name": "app"}]}}),
            ),
        ];
        for (api, object) in objects {
            create(&api, object).await?;
        }
        Ok(())
    }

    /// Waits until every object of the fixture is Ready (as `flux get all` would show it).
    async fn wait_all_ready(&self) -> anyhow::Result<()> {
        let ns = self.ns();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let (table, _) = flux_ok(&["get", "all", "-n", ns, "--status-selector", "ready=false"])
                .await
                .unwrap_or_default();
            let pending: Vec<&str> = table
                .lines()
                .filter(|l| !l.starts_with("NAME") && !l.trim().is_empty())
                .collect();
            let (all, _) = flux_ok(&["get", "all", "-n", ns]).await?;
            let rows = all.lines().filter(|l| l.contains("\tTrue")).count();
            if pending.is_empty() && rows >= 10 {
                return Ok(());
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "not all Ready:\n{all}\n{}",
                self.controller.log_text()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Pushes `manifests:1.0.0` (one ConfigMap) with `tether push artifact`.
async fn push_manifests(registry: &RegistryServer) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("cm.yaml"), "kind: ConfigMap\n")?;
    let url = format!("oci://{}:1.0.0", registry.image("manifests"));
    let path = dir.path().to_string_lossy().into_owned();
    tether_ok(&[
        "push",
        "artifact",
        &url,
        "--path",
        &path,
        "--source",
        "https://example.invalid/manifests",
        "--revision",
        "main@sha1:0123abcd",
    ])
    .await?;
    Ok(())
}

#[tokio::test]
async fn flux_cli_reads_and_drives_what_tether_reconciles() -> anyhow::Result<()> {
    let fx = Fixture::start().await?;
    fx.wait_all_ready().await?;
    let ns = fx.ns();

    create_external_artifact(ns).await?;
    // Every `get` table is the one tether prints for the same objects.
    for kind in [
        &["all"][..],
        &["sources", "all"],
        &["sources", "external"],
        &["sources", "git"],
        &["sources", "oci"],
        &["sources", "bucket"],
        &["sources", "helm"],
        &["sources", "chart"],
        &["kustomizations"],
        &["helmreleases"],
        &["alerts"],
        &["alert-providers"],
        &["receivers"],
    ] {
        let args = [&["get"], kind, &["-n", ns]].concat();
        let (flux, _) = flux_ok(&args).await?;
        let (tether, _) = tether_ok(&args).await?;
        assert_eq!(flux, tether, "{args:?}");
        assert!(flux.lines().count() >= 2, "{args:?}: {flux}");
    }
    let head = fx.git.repo.rev_parse("master")?;
    let (table, _) = flux_ok(&["get", "kustomizations", "-n", ns]).await?;
    let applied = format!("Applied revision: master@sha1:{}", &head[..8]);
    let revision = format!("master@sha1:{}", &head[..8]);
    assert_eq!(
        row(&table, "app"),
        Some(vec!["app", &revision, "False", "True", &applied, ""]),
        "{table}"
    );

    get_all_lists_every_kind(ns).await?;
    get_watch_prints_what_flux_prints(ns).await?;
    export_prints_what_tether_exports(ns).await?;
    build_prints_what_flux_builds(&fx).await?;
    diff_prints_what_flux_diffs(&fx).await?;
    build_flags_agree_with_flux(&fx).await?;
    reconcile_with_source_applies_a_push(&fx).await?;
    suspend_and_resume(&fx).await?;
    reconcile_every_source_kind(ns).await?;
    events_tree_and_trace(&fx).await?;
    Ok(())
}

/// An ExternalArtifact `generated`, as a third-party controller would write it: a source
/// reference to the GitRepository `app`, an artifact and a Ready condition in its status.
async fn create_external_artifact(ns: &str) -> anyhow::Result<()> {
    let client = client().await?;
    let api = dynamic_api(
        &client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "ExternalArtifact",
    );
    let object = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "ExternalArtifact",
        "metadata": {"name": "generated", "namespace": ns},
        "spec": {"sourceRef": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "name": "app", "namespace": ns}},
    });
    api.create(&PostParams::default(), &serde_json::from_value(object)?)
        .await?;
    let status = json!({"status": {
        "artifact": {
            "path": "externalartifact/generated/sha256.tar.gz",
            "url": "http://generator.invalid/generated.tar.gz",
            "revision": "latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "lastUpdateTime": "2026-01-01T00:00:00Z",
        },
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "Succeeded",
            "message": "produced artifact latest@sha256:0123456789abcdef",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }],
    }});
    api.patch_status(
        "generated",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&status),
    )
    .await?;
    Ok(())
}

/// `flux export` of every kind is the YAML `tether export` prints; the Kustomization's is the
/// object as applied, durations in Go's form.
async fn export_prints_what_tether_exports(ns: &str) -> anyhow::Result<()> {
    for kind in [
        &["source", "git", "app"][..],
        &["source", "oci", "manifests"],
        &["source", "bucket", "files"],
        &["source", "helm", "charts"],
        &["source", "chart", "--all"],
        &["source", "external", "generated"],
        &["kustomization", "app"],
        &["helmrelease", "podinfo"],
        &["alert", "on-apps"],
        &["alert-provider", "chat"],
        &["receiver", "hook"],
        &["source", "bucket", "files", "--with-credentials"],
        &["source", "git", "app", "--with-credentials"],
        &["source", "bucket", "--all", "--with-credentials"],
        &["source", "helm", "charts", "--with-credentials"],
    ] {
        let args = [&["export"], kind, &["-n", ns]].concat();
        let (flux, _) = flux_ok(&args).await?;
        let (tether, _) = tether_ok(&args).await?;
        assert_eq!(tether, flux, "{args:?}");
    }
    let (ks, _) = flux_ok(&["export", "ks", "app", "-n", ns]).await?;
    let expected = format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 10m0s\n  path: ./deploy\n  postBuild:\n    substitute:\n      team: blue\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n  targetNamespace: {ns}\n"
    );
    assert_eq!(ks, expected);
    Ok(())
}

/// `flux build kustomization app --path DIR` and `tether build` print the same objects: DIR
/// (no kustomization.yaml) built with the Kustomization's target namespace, substituted with its
/// variables, and labelled as applied by it.
async fn build_prints_what_flux_builds(fx: &Fixture) -> anyhow::Result<()> {
    let ns = fx.ns();
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  team: ${team}\n  size: ${size:=small}\n";
    let deployment = deployment_yaml(1);
    let local = tree_of(&[("deployment.yaml", &deployment), ("config.yaml", config)])?;
    let path = local.path().to_string_lossy().into_owned();
    let args = ["build", "kustomization", "app", "--path", &path, "-n", ns];
    let (flux, _) = flux_ok(&args).await?;
    let (tether, _) = tether_ok(&args).await?;
    assert_eq!(tether, flux);
    let owner = format!("kustomize.toolkit.fluxcd.io/namespace: {ns}");
    for expected in [
        "  size: small\n",
        "  team: blue\n",
        &owner,
        &format!("namespace: {ns}"),
    ] {
        assert!(flux.contains(expected), "{expected} not in {flux}");
    }
    Ok(())
}

/// `flux build kustomization` with a Kustomization file (with and without the cluster), with
/// `--recursive --local-sources`, and over SOPS-encrypted Secrets (masked) prints what `tether
/// build` prints; bad flags fail both with the same message.
async fn build_flags_agree_with_flux(fx: &Fixture) -> anyhow::Result<()> {
    let ns = fx.ns();
    let child = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: child\n  namespace: {ns}\nspec:\n  interval: 5m\n  path: ./child\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: app\n"
    );
    let sops = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sealed\ntype: Opaque\ndata:\n  password: RU5DW0FFUzI1Nl9HQ00sZGF0YTpvcGFxdWVd\nsops:\n  mac: ENC[AES256_GCM,data:abc,type:str]\n  version: 3.9.0\n";
    let value = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: partly\ndata:\n  plain: aGVsbG8=\n  hidden: c29wczogRU5DW0FFUzI1Nl9HQ01d\n";
    let root = tree_of(&[
        (
            "deploy/config.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  team: ${team}\n  size: ${size:=small}\n",
        ),
        ("deploy/child.yaml", &child),
        ("deploy/sealed.yaml", sops),
        ("deploy/partly.yaml", value),
        (
            "child/more.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\ndata:\n  who: ${team:=nobody}\n",
        ),
    ])?;
    let file = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: other\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 5m\n  path: ./deploy\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: app\n  postBuild:\n    substitute:\n      team: green\n"
    );
    let files = tree_of(&[("app.yaml", &file)])?;
    let deploy = root.path().join("deploy").to_string_lossy().into_owned();
    let file = files.path().join("app.yaml").to_string_lossy().into_owned();
    let sources = format!("GitRepository/{ns}/app={}", root.path().display());
    let build = ["build", "kustomization", "app", "--path", &deploy, "-n", ns];
    for extra in [
        &[][..],
        &["--kustomization-file", &file],
        &["--kustomization-file", &file, "--dry-run"],
        &["--recursive", "--local-sources", &sources],
        &[
            "--kustomization-file",
            &file,
            "--dry-run",
            "-r",
            "--local-sources",
            &sources,
        ],
        &["--dry-run"],
        &["--kustomization-file", "/nonexistent.yaml"],
        &["--recursive"],
    ] {
        let args = [&build[..], extra].concat();
        let [tether, flux] = both_with_status(&args).await?;
        assert_eq!(tether, flux, "{args:?}");
    }
    let (flux, _) = flux_ok(
        &[
            &build[..],
            &[
                "--kustomization-file",
                &file,
                "-r",
                "--local-sources",
                &sources,
            ],
        ]
        .concat(),
    )
    .await?;
    for expected in [
        "  team: green\n",
        "  password: KipTT1BTKio=\n",
        "  hidden: KipTT1BTKio=\n",
        "  plain: aGVsbG8=\n",
        "  name: more\n",
    ] {
        assert!(flux.contains(expected), "{expected} not in {flux}");
    }
    assert!(!flux.contains("sops:"), "{flux}");
    Ok(())
}

/// Runs `tether ARGS` and the real `flux ARGS`; returns each one's `(exit status, stdout,
/// stderr)`.
async fn both_with_status(args: &[&str]) -> anyhow::Result<[(Option<i32>, String, String); 2]> {
    let tether = common::tether(args).await?;
    let flux = run_flux(args).await?;
    Ok([tether, flux].map(|output| {
        let (stdout, stderr) = texts(&output);
        (output.status.code(), stdout, stderr)
    }))
}

/// `flux diff kustomization app --path DIR` and `tether diff` print the same report with the
/// same exit status: nothing and 0 for the repository's own files; for changed files the
/// Deployment drifted (dyff's report of replicas and image), a new ConfigMap created, a Secret
/// that exists outside the Kustomization drifted with its values masked, the Service that a
/// prune would delete, and 1. A missing path fails both with status 2.
async fn diff_prints_what_flux_diffs(fx: &Fixture) -> anyhow::Result<()> {
    let ns = fx.ns();
    let same = tree_of(&[
        ("deployment.yaml", &deployment_yaml(2)),
        ("service.yaml", tether_testkit::flux::SERVICE_YAML),
    ])?;
    let path = same.path().to_string_lossy().into_owned();
    let args = ["diff", "kustomization", "app", "--path", &path, "-n", ns];
    let [tether, flux] = both_with_status(&args).await?;
    assert_eq!(flux, (Some(0), String::new(), String::new()));
    assert_eq!(tether, flux);

    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "creds"},
        "stringData": {"password": "old", "user": "admin"}}))?;
    fx.git
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let deployment = deployment_yaml(5).replace("nginx:1.27", "nginx:1.28");
    let config =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  team: ${team}\n";
    let creds = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: new\n  user: admin\n  token: t0k3n\n";
    let changed = tree_of(&[
        ("deployment.yaml", &deployment),
        ("config.yaml", config),
        ("creds.yaml", creds),
    ])?;
    let path = changed.path().to_string_lossy().into_owned();
    for progress in [&[][..], &["--progress-bar=false"]] {
        let args = [
            &["diff", "ks", "app", "--path", &path, "-n", ns][..],
            progress,
        ]
        .concat();
        let [tether, flux] = both_with_status(&args).await?;
        assert_eq!(flux.0, Some(1), "{flux:?}");
        for expected in [
            format!("► Deployment/{ns}/web drifted\n"),
            "spec.template.spec.containers.web.image\n± value change\n- nginx:1.27\n+ nginx:1.28\n"
                .to_owned(),
            format!("► ConfigMap/{ns}/settings created\n"),
            format!("► Secret/{ns}/creds drifted\n"),
            "- *** (before)\n+ *** (after)\n".to_owned(),
            format!("► Service/{ns}/web deleted\n"),
        ] {
            assert!(flux.1.contains(&expected), "{expected} not in {}", flux.1);
        }
        assert_eq!(tether.1, flux.1, "{args:?}");
        assert_eq!(tether, flux, "{args:?}");
    }

    // A Kustomization only in a file: created objects with --ignore-not-found, else an error.
    let file = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: fresh\n  namespace: {ns}\nspec:\n  interval: 5m\n  path: ./deploy\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: app\n"
    );
    let files = tree_of(&[("fresh.yaml", &file)])?;
    let file = files
        .path()
        .join("fresh.yaml")
        .to_string_lossy()
        .into_owned();
    for extra in [&["--ignore-not-found"][..], &[]] {
        let args = [
            &[
                "diff",
                "ks",
                "fresh",
                "--path",
                &path,
                "--kustomization-file",
                &file,
                "-n",
                ns,
            ][..],
            extra,
        ]
        .concat();
        let [tether, flux] = both_with_status(&args).await?;
        assert_eq!(
            flux.0,
            Some(if extra.is_empty() { 2 } else { 1 }),
            "{flux:?}"
        );
        assert_eq!(tether, flux, "{args:?}");
    }
    let args = ["build", "ks", "fresh", "--path", &path, "-n", ns];
    let [tether, flux] = both_with_status(&args).await?;
    assert_eq!(flux.0, Some(1), "{flux:?}");
    assert_eq!(tether, flux, "{args:?}");

    let args = ["diff", "ks", "app", "--path", "/nonexistent/dir", "-n", ns];
    let [tether, flux] = both_with_status(&args).await?;
    assert_eq!(flux.0, Some(2), "{flux:?}");
    assert_eq!(tether, flux);
    fx.git
        .ns
        .api::<Secret>()
        .delete("creds", &Default::default())
        .await?;
    diff_recursively(fx).await
}

/// `diff ks --recursive --local-sources`: a Kustomization in the build that exists in the
/// cluster is diffed in turn from the local copy of its source, under `📁 ... changed`.
async fn diff_recursively(fx: &Fixture) -> anyhow::Result<()> {
    let ns = fx.ns();
    let child = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "child", "namespace": ns},
        "spec": {"interval": "5m", "path": "./child", "prune": true, "suspend": true,
                 "targetNamespace": ns, "sourceRef": {"kind": "GitRepository", "name": "app"}}});
    let api = fx.api("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    create(&api, child).await?;
    let child_yaml = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: child\n  namespace: {ns}\nspec:\n  interval: 5m\n  path: ./child\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: app\n"
    );
    let root = tree_of(&[
        ("deploy/deployment.yaml", &deployment_yaml(2)),
        ("deploy/service.yaml", tether_testkit::flux::SERVICE_YAML),
        ("deploy/child.yaml", &child_yaml),
        (
            "child/more.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\ndata:\n  a: b\n",
        ),
    ])?;
    let deploy = root.path().join("deploy").to_string_lossy().into_owned();
    let sources = format!("GitRepository/{ns}/app={}", root.path().display());
    let args = [
        "diff",
        "ks",
        "app",
        "--path",
        &deploy,
        "-r",
        "--local-sources",
        &sources,
        "-n",
        ns,
    ];
    let [tether, flux] = both_with_status(&args).await?;
    assert_eq!(flux.0, Some(1), "{flux:?}");
    let nested = format!("📁 Kustomization/{ns}/child changed\n► ConfigMap/{ns}/more created\n");
    assert!(flux.1.contains(&nested), "{nested} not in {}", flux.1);
    assert_eq!(tether, flux);
    api.delete("child", &Default::default()).await?;
    Ok(())
}

/// `flux reconcile source oci|bucket|helm|chart` and `flux reconcile helmrelease|receiver`:
/// each request is handled and the revision reported.
async fn reconcile_every_source_kind(ns: &str) -> anyhow::Result<()> {
    let chart = format!("{ns}-podinfo");
    for (args, last) in [
        (
            ["source", "oci", "manifests"],
            "✔ fetched revision 1.0.0@sha256:",
        ),
        (["source", "bucket", "files"], "✔ fetched revision sha256:"),
        (["source", "helm", "charts"], "✔ fetched revision sha256:"),
        (
            ["source", "chart", chart.as_str()],
            "✔ fetched revision 1.0.0",
        ),
    ] {
        let (_, log) = flux_ok(&[&["reconcile"][..], &args, &["-n", ns]].concat()).await?;
        let line = log.lines().last().unwrap_or_default();
        assert!(line.starts_with(last), "{args:?}: {log}");
    }
    let (_, log) = flux_ok(&["reconcile", "hr", "podinfo", "--force", "-n", ns]).await?;
    assert!(log.ends_with("✔ applied revision 1.0.0\n"), "{log}");
    let (_, log) = flux_ok(&["reconcile", "receiver", "hook", "-n", ns]).await?;
    assert!(
        log.ends_with("✔ Receiver reconciliation completed\n"),
        "{log}"
    );
    Ok(())
}

/// The cells of each table row, trimmed (continuation rows included).
fn cells(table: &str) -> Vec<Vec<&str>> {
    let rows = table.lines();
    rows.map(|line| line.split('\t').map(str::trim).collect())
        .collect()
}

/// `flux events --for`, `flux tree` and `flux trace` over what tether applied and recorded.
async fn events_tree_and_trace(fx: &Fixture) -> anyhow::Result<()> {
    let ns = fx.ns();
    let head = fx.git.repo.rev_parse("master")?;
    let (events, _) = flux_ok(&["events", "--for", "Kustomization/app", "-n", ns]).await?;
    let rows = cells(&events);
    let header = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
    assert_eq!(
        rows.first().map(Vec::as_slice),
        Some(&header[..]),
        "{events}"
    );
    let stored = format!("stored artifact for revision 'master@sha1:{head}'");
    assert!(
        rows.iter()
            .any(|r| r[1..] == ["Normal", "NewArtifact", "GitRepository/app", &stored, ""]),
        "{stored}: {events}"
    );
    let applied = format!("Applied revision: master@sha1:{head}");
    assert!(rows.iter().any(|r| r[4] == applied), "{events}");
    assert!(
        rows.iter()
            .any(|r| r[2..4] == ["ReconciliationSucceeded", "Kustomization/app"]),
        "{events}"
    );

    // tether lists the same events in the same order (ages may have moved on by a second).
    for args in [&["events", "--for", "Kustomization/app"][..], &["events"]] {
        let args = [args, &["-n", ns]].concat();
        let (flux, _) = flux_ok(&args).await?;
        let (tether, _) = tether_ok(&args).await?;
        let without_age = |table: &str| -> Vec<Vec<String>> {
            let rows = cells(table).into_iter();
            rows.map(|r| r.iter().skip(1).map(|c| (*c).to_owned()).collect())
                .collect()
        };
        assert_eq!(
            without_age(&tether),
            without_age(&flux),
            "{args:?}\n{tether}\n{flux}"
        );
    }

    let (flux_tree, _) = flux_ok(&["tree", "ks", "app", "-n", ns]).await?;
    let (tether_tree, _) = tether_ok(&["tree", "ks", "app", "-n", ns]).await?;
    assert_eq!(
        flux_tree,
        format!("Kustomization/{ns}/app\n├── Service/{ns}/web\n└── Deployment/{ns}/web\n\n")
    );
    assert_eq!(tether_tree, flux_tree);

    let (trace, _) = flux_ok(&["trace", "deployment", "web", "-n", ns]).await?;
    assert_eq!(trace, expected_trace(fx, &head).await?);
    // tether traces the same objects to the same text: one applied by the Kustomization, named
    // by kind and API version, and one the HelmRelease installed.
    let released = fx
        .git
        .ns
        .api::<Deployment>()
        .list(&Default::default())
        .await?;
    let released = released.items.iter().find_map(|d| {
        let labels = d.metadata.labels.as_ref()?;
        labels
            .contains_key("helm.toolkit.fluxcd.io/name")
            .then(|| d.metadata.name.clone())?
    });
    let released = released.context("no Deployment installed by the HelmRelease")?;
    let by_kind = ["trace", "web", "--kind", "Service", "--api-version", "v1"];
    let helm = format!("deployment/{released}");
    for args in [
        &["trace", "deployment", "web"][..],
        &by_kind,
        &["trace", &helm],
    ] {
        let args = [args, &["-n", ns]].concat();
        let (flux, _) = flux_ok(&args).await?;
        let (tether, _) = tether_ok(&args).await?;
        assert_eq!(tether, flux, "{args:?}");
    }
    Ok(())
}

/// What `flux trace deployment web` prints for the Kustomization's Deployment: the object, the
/// Kustomization and the GitRepository with the times of their Ready conditions.
async fn expected_trace(fx: &Fixture, head: &str) -> anyhow::Result<String> {
    let ns = fx.ns();
    let ks = fx.api("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let git = fx.api("source.toolkit.fluxcd.io", "v1", "GitRepository");
    let ks = serde_json::to_value(ks.get("app").await?)?;
    let git = serde_json::to_value(git.get("app").await?)?;
    let url = git["spec"]["url"].as_str().unwrap_or_default();
    let (ks_at, git_at) = (ready_since(&ks)?, ready_since(&git)?);
    Ok(format!(
        "\nObject:          Deployment/web\nNamespace:       {ns}\nStatus:          Managed by Flux\n---\nKustomization:   app\nNamespace:       {ns}\nTarget:          {ns}\nPath:            ./deploy\nRevision:        master@sha1:{head}\nStatus:          Last reconciled at {ks_at}\nMessage:         Applied revision: master@sha1:{head}\n---\nGitRepository:   app\nNamespace:       {ns}\nURL:             {url}\nBranch:          master\nRevision:        master@sha1:{head}\nStatus:          Last reconciled at {git_at}\nMessage:         stored artifact for revision 'master@sha1:{head}'\n"
    ))
}

/// The Ready condition's lastTransitionTime as Go prints a `metav1.Time`
/// (`2006-01-02 15:04:05 +0000 UTC`).
fn ready_since(object: &Value) -> anyhow::Result<String> {
    let conditions = object["status"]["conditions"].as_array();
    let ready = conditions
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .context("no Ready condition")?;
    let time = ready["lastTransitionTime"].as_str().unwrap_or_default();
    let (date, clock) = time
        .trim_end_matches('Z')
        .split_once('T')
        .unwrap_or_default();
    Ok(format!("{date} {clock} +0000 UTC"))
}

/// `flux get --watch` until its timeout: the header and a row per object, then Flux's timeout
/// error; and the refusal of `--watch` over every kind.
async fn get_watch_prints_what_flux_prints(ns: &str) -> anyhow::Result<()> {
    for args in [
        &["get", "ks", "--watch", "--timeout", "3s", "-n", ns][..],
        &[
            "get",
            "sources",
            "git",
            "app",
            "-w",
            "--timeout",
            "2s",
            "-n",
            ns,
        ],
        &[
            "get",
            "receivers",
            "--watch",
            "--no-header",
            "--timeout",
            "2s",
            "-n",
            ns,
        ],
        &["get", "all", "--watch", "-n", ns],
    ] {
        let [tether, flux] = both_with_status(args).await?;
        assert_eq!(flux.0, Some(1), "{args:?}: {flux:?}");
        assert_eq!(tether, flux, "{args:?}");
    }
    let [_, flux] = both_with_status(&["get", "ks", "-w", "--timeout", "2s", "-n", ns]).await?;
    assert!(
        flux.1.starts_with("NAME") && flux.1.contains("\napp"),
        "{flux:?}"
    );
    assert_eq!(flux.2, "✗ timed out waiting for the condition\n");
    Ok(())
}

/// `flux get all -A`: one section per kind, each with this namespace's object Ready.
async fn get_all_lists_every_kind(ns: &str) -> anyhow::Result<()> {
    let (all, _) = flux_ok(&["get", "all", "-A"]).await?;
    for name in [
        "gitrepository/app",
        "ocirepository/manifests",
        "bucket/files",
        "helmrepository/charts",
        &format!("helmchart/{ns}-podinfo"),
        "kustomization/app",
        "helmrelease/podinfo",
        "receiver/hook",
        "provider/chat",
        "alert/on-apps",
    ] {
        let cells = all
            .lines()
            .map(|line| line.split('\t').map(str::trim).collect::<Vec<_>>())
            .find(|cells| cells.first() == Some(&ns) && cells.get(1) == Some(&name));
        let cells = cells.with_context(|| format!("no row {ns} {name} in:\n{all}"))?;
        assert!(cells.contains(&"True"), "{name} not Ready: {cells:?}");
    }
    Ok(())
}

/// `flux reconcile kustomization --with-source`: flux annotates both objects, waits until
/// tether mirrors each request in `status.lastHandledReconcileAt`, and prints the revisions.
async fn reconcile_with_source_applies_a_push(fx: &Fixture) -> anyhow::Result<()> {
    let ns = fx.ns();
    let deployment = deployment_yaml(3);
    let files = [("deploy/deployment.yaml", deployment.as_str())];
    fx.git.repo.commit("master", &files, "scale to 3")?;
    let head = fx.git.repo.rev_parse("master")?;
    let (_, log) = flux_ok(&["reconcile", "ks", "app", "--with-source", "-n", ns]).await?;
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
    let web = fx.git.ns.api::<Deployment>().get("web").await?;
    assert_eq!(web.spec.and_then(|s| s.replicas), Some(3));
    Ok(())
}

/// `flux suspend` sets spec.suspend (tether then leaves a push alone); `flux resume` clears it,
/// waits for the reconcile and reports the revision applied.
async fn suspend_and_resume(fx: &Fixture) -> anyhow::Result<()> {
    let ns = fx.ns();
    let (_, log) = flux_ok(&["suspend", "ks", "app", "-n", ns]).await?;
    assert_eq!(
        log,
        format!("► suspending kustomization app in {ns} namespace\n✔ kustomization suspended\n")
    );
    let ks = fx.api("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let suspended: Value = serde_json::to_value(ks.get("app").await?)?;
    assert_eq!(suspended["spec"]["suspend"], true);
    let deployment = deployment_yaml(4);
    let files = [("deploy/deployment.yaml", deployment.as_str())];
    fx.git.repo.commit("master", &files, "scale to 4")?;
    flux_ok(&["reconcile", "source", "git", "app", "-n", ns]).await?;
    let head = fx.git.repo.rev_parse("master")?;
    let (_, log) = flux_ok(&["resume", "ks", "app", "-n", ns]).await?;
    let expected = [
        format!("► resuming kustomization app in {ns} namespace"),
        "✔ kustomization resumed".to_owned(),
        "◎ waiting for Kustomization reconciliation".to_owned(),
        "✔ Kustomization app reconciliation completed".to_owned(),
        format!("✔ applied revision master@sha1:{head}"),
    ];
    assert_eq!(log.lines().collect::<Vec<_>>(), expected);
    let web = fx.git.ns.api::<Deployment>().get("web").await?;
    assert_eq!(web.spec.and_then(|s| s.replicas), Some(4));
    Ok(())
}

/// Writes `files` under a new directory and returns it.
fn tree_of(files: &[(&str, &str)]) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(dir.path()))?;
        std::fs::write(path, content)?;
    }
    Ok(dir)
}

/// Every file under `dir` as `(relative path, bytes)`, sorted.
fn files_under(dir: &std::path::Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir)?.to_string_lossy().into_owned();
                files.push((relative, std::fs::read(&path)?));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The digest after the last `@` of a push log.
fn pushed_digest(log: &str) -> String {
    let last = log.trim_end().rsplit_once('@').map(|(_, d)| d);
    last.unwrap_or_default().to_owned()
}

#[tokio::test]
async fn artifacts_pushed_by_either_cli_are_pulled_by_the_other_byte_for_byte() -> anyhow::Result<()>
{
    let registry = RegistryServer::start()?;
    let files = [
        (
            "app.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
        ),
        ("nested/more.yaml", "kind: Secret\n"),
    ];
    let content = tree_of(&files)?;
    let path = content.path().to_string_lossy().into_owned();
    let revision = "main@sha1:0123456789abcdef0123456789abcdef01234567";
    let source = "https://example.invalid/app";
    let push = |by_tether: bool, tag: &'static str| {
        let url = format!("oci://{}:{tag}", registry.image("app"));
        let path = path.clone();
        async move {
            let args = [
                "push",
                "artifact",
                &url,
                "--path",
                &path,
                "--source",
                source,
                "--revision",
                revision,
                "--insecure-registry",
            ];
            if by_tether {
                tether_ok(&args).await
            } else {
                flux_ok(&args).await
            }
        }
    };
    let pull = |by_tether: bool, tag: &'static str, out: std::path::PathBuf| {
        let url = format!("oci://{}:{tag}", registry.image("app"));
        async move {
            let out = out.to_string_lossy().into_owned();
            let args = ["pull", "artifact", &url, "-o", &out, "--insecure-registry"];
            if by_tether {
                tether_ok(&args).await
            } else {
                flux_ok(&args).await
            }
        }
    };
    let pulled = tempfile::tempdir()?;
    for (pusher_is_tether, tag) in [(true, "by-tether"), (false, "by-flux")] {
        let (_, pushed) = push(pusher_is_tether, tag).await?;
        let digest = pushed_digest(&pushed);
        assert!(digest.starts_with("sha256:"), "{pushed}");
        let out = pulled.path().join(tag);
        std::fs::create_dir(&out)?; // flux pull wants an existing directory
        let (_, log) = pull(!pusher_is_tether, tag, out.clone()).await?;
        for line in [
            format!("✔ source {source}"),
            format!("✔ revision {revision}"),
            format!("✔ digest {}@{digest}", registry.image("app")),
        ] {
            assert!(log.lines().any(|l| l == line), "{tag}: {line} not in {log}");
        }
        assert_eq!(files_under(&out)?, files_under(content.path())?, "{tag}");
    }
    Ok(())
}

/// Runs `tether ARGS` and the real `flux ARGS` and returns both results as
/// `(success, stdout, stderr)`.
async fn both(args: &[&str]) -> anyhow::Result<[(bool, String, String); 2]> {
    let tether = common::tether(args).await?;
    let flux = run_flux(args).await?;
    Ok([tether, flux].map(|output| {
        let (stdout, stderr) = texts(&output);
        (output.status.success(), stdout, stderr)
    }))
}

/// Unpacks the gzipped tarball at `archive` with the system's `tar` into a new directory.
fn untar(archive: &std::path::Path) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(dir.path())
        .status()?;
    anyhow::ensure!(status.success(), "tar -xzf {} failed", archive.display());
    Ok(dir)
}

#[tokio::test]
async fn list_build_and_diff_artifact_agree_with_flux() -> anyhow::Result<()> {
    let registry = RegistryServer::start()?;
    let content = tree_of(&[
        ("app.yaml", "kind: ConfigMap\n"),
        ("nested/more.yaml", "kind: Secret\n"),
    ])?;
    std::os::unix::fs::symlink("../app.yaml", content.path().join("nested/linked.yaml"))?;
    let path = content.path().to_string_lossy().into_owned();
    let repository = format!("oci://{}", registry.image("app"));
    for (by_tether, tag, revision) in [
        (true, "v1.0.0", "main@sha1:aa"),
        (false, "v1.1.0", "main@sha1:bb"),
    ] {
        let url = format!("{repository}:{tag}");
        let args = [
            "push",
            "artifact",
            &url,
            "--path",
            &path,
            "--source",
            "https://example.invalid/app",
            "--revision",
            revision,
            "--insecure-registry",
        ];
        if by_tether {
            tether_ok(&args).await?;
        } else {
            flux_ok(&args).await?;
        }
    }
    let tagged = format!("{repository}:v1.1.0");
    tether_ok(&[
        "tag",
        "artifact",
        &tagged,
        "--tag",
        "latest,v2.0.0-rc.1,1.5,v1.1.0.sig",
        "--insecure-registry",
    ])
    .await?;

    // list: the same table, with and without filters; cosign's tags are left out.
    for filter in [
        &[][..],
        &["--filter-semver", ">=1.0.0"],
        &["--filter-semver", ">=1.0.0-0"],
        &["--filter-regex", "^v1"],
    ] {
        let mut args = vec!["list", "artifacts", &repository, "--insecure-registry"];
        args.extend_from_slice(filter);
        let [tether, flux] = both(&args).await?;
        assert!(tether.0 && flux.0, "{args:?}: {tether:?} {flux:?}");
        assert_eq!(tether.1, flux.1, "{args:?}");
        assert!(!tether.1.contains(".sig"), "{}", tether.1);
    }

    // build: the same files, links kept out or resolved as flux does.
    let out = tempfile::tempdir()?;
    for resolve in [false, true] {
        let mut archives = Vec::new();
        for by_tether in [true, false] {
            let archive = out.path().join(format!("{by_tether}-{resolve}.tgz"));
            let archive_text = archive.to_string_lossy().into_owned();
            let mut args = vec!["build", "artifact", "--path", &path, "-o", &archive_text];
            if resolve {
                args.push("--resolve-symlinks");
            }
            let (_, log) = if by_tether {
                tether_ok(&args).await?
            } else {
                flux_ok(&args).await?
            };
            assert!(
                log.contains(&format!("✔ artifact created at {archive_text}")),
                "{log}"
            );
            archives.push(files_under(untar(&archive)?.path())?);
        }
        assert_eq!(archives[0], archives[1], "resolve-symlinks {resolve}");
        assert_eq!(
            archives[0]
                .iter()
                .any(|(name, _)| name == "nested/linked.yaml"),
            resolve
        );
    }

    // diff: each CLI finds no change against what it pushed; tether also against flux's push,
    // which flux's byte comparison cannot do the other way round.
    let diff = |tag: &'static str, dir: String| {
        let url = format!("{repository}:{tag}");
        async move {
            both(&[
                "diff",
                "artifact",
                &url,
                "--path",
                &dir,
                "--insecure-registry",
            ])
            .await
        }
    };
    let [tether, _] = diff("v1.0.0", path.clone()).await?;
    assert!(
        tether.0 && tether.2.contains("✔ no changes detected"),
        "{tether:?}"
    );
    let [tether, flux] = diff("v1.1.0", path.clone()).await?;
    assert!(tether.0 && flux.0, "{tether:?} {flux:?}");
    std::fs::write(content.path().join("app.yaml"), "kind: Changed\n")?;
    std::fs::write(content.path().join("added.yaml"), "kind: New\n")?;
    let [tether, flux] = diff("v1.1.0", path.clone()).await?;
    assert!(!tether.0 && !flux.0, "{tether:?} {flux:?}");
    assert!(
        tether.2.contains("the remote artifact contents differs from the local one: added added.yaml, changed app.yaml"),
        "{}",
        tether.2
    );
    let [tether, flux] = diff("v1.1.0", "/nonexistent/dir".to_owned()).await?;
    assert!(!tether.0 && !flux.0);
    let message = "invalid path '/nonexistent/dir', must point to an existing directory or file";
    assert!(
        tether.2.contains(message) && flux.2.contains(message),
        "{tether:?} {flux:?}"
    );
    Ok(())
}

/// `flux check` against tether installed into a namespace (its ServiceAccount and Deployment
/// from `tether install --export`, the CRDs as every test installs them): the controller is
/// found by Flux's `part-of` label and is ready, every toolkit CRD is listed with its storage
/// version, and the distribution is the Flux release tether serves.
#[tokio::test]
async fn flux_check_passes_against_a_tether_install() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "flux-check").await?;
    let image = "ghcr.io/tether-test/tether:v0.0.0";
    let args = [
        "install",
        "--export",
        "--namespace",
        &ns.name,
        "--image",
        image,
    ];
    let (manifests, _) = tether_ok(&args).await?;
    let documents: Vec<Value> = serde_saphyr::from_multiple(&manifests)?;
    for kind in ["ServiceAccount", "Deployment"] {
        let document = documents.iter().find(|d| d["kind"] == kind);
        let document = document.with_context(|| format!("no {kind} in the install"))?;
        let group = if kind == "Deployment" { "apps" } else { "" };
        create(
            &dynamic_api(&client, &ns.name, group, "v1", kind),
            document.clone(),
        )
        .await?;
    }

    let (stdout, stderr) = flux_ok(&["check", "-n", &ns.name, "--timeout", "60s"]).await?;
    let server = client.apiserver_version().await?.git_version;
    let mut expected = vec![
        "► checking prerequisites".to_owned(),
        format!("✔ Kubernetes {} >=1.33.0-0", server.trim_start_matches('v')),
        "► checking version in cluster".to_owned(),
        "✔ distribution: flux-v2.9.5".to_owned(),
        "✔ bootstrapped: false".to_owned(),
        "► checking controllers".to_owned(),
        "✔ tether-controller: deployment ready".to_owned(),
        format!("► {image}"),
        "► checking crds".to_owned(),
    ];
    let mut crds: Vec<String> = tether_api::crds()
        .into_iter()
        .filter(|crd| crd.spec.group.ends_with(".toolkit.fluxcd.io"))
        .map(|crd| {
            let storage = crd.spec.versions.iter().find(|v| v.storage);
            let version = storage.map(|v| v.name.clone()).unwrap_or_default();
            format!("✔ {}/{version}", crd.metadata.name.unwrap_or_default())
        })
        .collect();
    crds.sort();
    expected.extend(crds);
    expected.push("✔ all checks passed".to_owned());
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected, "{stdout}");
    // tether check prints the same, and --pre only the prerequisites.
    let (_, tether) = tether_ok(&["check", "-n", &ns.name, "--timeout", "60s"]).await?;
    assert_eq!(tether, stderr);
    let (_, pre) = tether_ok(&["check", "--pre"]).await?;
    let (_, flux_pre) = flux_ok(&["check", "--pre"]).await?;
    assert_eq!(pre, flux_pre);
    assert!(pre.ends_with("✔ prerequisites checks passed\n"), "{pre}");
    // Without a controller in the namespace both fail the same way.
    let empty = TestNamespace::create(&client, "flux-check-empty").await?;
    let args = ["check", "-n", empty.name.as_str(), "--timeout", "5s"];
    let (flux, tether) = (run_flux(&args).await?, common::tether(&args).await?);
    assert!(!flux.status.success() && !tether.status.success());
    assert_eq!(texts(&tether).1, texts(&flux).1);
    let no_controller = format!(
        "✗ no controllers found in the '{}' namespace with the label selector 'app.kubernetes.io/part-of=flux'",
        empty.name
    );
    assert!(
        texts(&tether).1.contains(&no_controller),
        "{}",
        texts(&tether).1
    );
    Ok(())
}

/// Command-line mistakes: both CLIs print cobra's words and exit with status 1 (the command
/// path is each binary's own name). A flag missing its value is checked in `cli::errors`' unit
/// tests: `run_flux` appends `--kubeconfig`, which the flag would take.
#[tokio::test]
async fn command_line_mistakes_are_reported_as_flux_reports_them() -> anyhow::Result<()> {
    for args in [
        &["get", "ks", "--bogus"][..],
        &["get", "ks", "--bogus=1"],
        &["get", "ks", "-x"],
        &["get", "ks", "--timeout=abc"],
        &["get", "ks", "--timeout", "5"],
        &["gte"],
        &["tre"],
        &["xyzzy"],
    ] {
        let [tether, flux] = both_with_status(args).await?;
        assert_eq!(flux.0, Some(1), "{args:?}: {flux:?}");
        let flux_text = flux.2.replace("for \"flux\"", "for \"tether\"");
        assert_eq!(tether, (flux.0, flux.1, flux_text), "{args:?}");
    }
    Ok(())
}
