//! Flux v1 daemon mode end to end: `tether fluxd` with fluxd's flags, syncing a repository
//! served by sshd (the testkit git server) into the local control plane, driven by the REAL
//! fluxctl 1.25.4 built by dev/testbin.sh (`TETHER_FLUXCTL`) with `--url`. Every change a
//! fluxctl verb makes is checked in the server's repository and in the cluster.

mod common;

use common::{tether_ok, texts};

use anyhow::{Context, bail, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tether_testkit::cluster::{TestNamespace, client};
use tether_testkit::git::{GitRepoFixture, SshGitServer};
use tether_testkit::http::{free_port, http_get};
use tether_testkit::registry::RegistryServer;

/// The fluxctl binary: `$TETHER_FLUXCTL`, else the testbin build. In CI it must exist.
fn fluxctl_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TETHER_FLUXCTL").map(PathBuf::from) {
        return Some(path);
    }
    let testbin = std::env::var_os("TETHER_TESTBIN").map(PathBuf::from)?;
    let path = testbin.join("fluxctl");
    path.exists().then_some(path)
}

fn require_fluxctl() -> anyhow::Result<Option<PathBuf>> {
    match fluxctl_binary() {
        Some(path) => Ok(Some(path)),
        None if std::env::var_os("CI").is_some() => {
            bail!("TETHER_FLUXCTL is unset in CI; run dev/testbin.sh")
        }
        None => {
            println!("no fluxctl binary (TETHER_FLUXCTL unset, dev/testbin.sh not run); skipping");
            Ok(None)
        }
    }
}

fn deployment(ns: &str, name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: 0\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n"
    )
}

fn config_map(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  key: value\n"
    )
}

/// A namespace, an ssh git server holding the repository, and where fluxd's HOME and
/// kubeconfig (whose context namespace is the test's, fluxd's own namespace) live.
struct Site {
    ns: TestNamespace,
    repo: GitRepoFixture,
    server: SshGitServer,
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Site {
    async fn start(prefix: &str, files: &[(&str, String)]) -> anyhow::Result<Self> {
        let client = client().await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let repo = GitRepoFixture::new("fleet")?;
        let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        repo.commit("master", &files, "the fleet")?;
        let server = SshGitServer::start()?;
        let home = tempfile::tempdir()?;
        std::fs::create_dir_all(home.path().join(".ssh"))?;
        std::fs::write(home.path().join(".ssh/known_hosts"), server.known_hosts()?)?;
        let kubeconfig = home.path().join("kubeconfig");
        let mut config =
            kube::config::Kubeconfig::read_from(tether_testkit::cluster::kubeconfig_path()?)?;
        for context in &mut config.contexts {
            if let Some(context) = context.context.as_mut() {
                context.namespace = Some(ns.name.clone());
            }
        }
        std::fs::write(&kubeconfig, serde_json::to_vec(&config)?)?;
        Ok(Self {
            ns,
            repo,
            server,
            home,
            kubeconfig,
        })
    }

    fn ns(&self) -> &str {
        &self.ns.name
    }

    fn url(&self) -> String {
        self.server.repo_url(&self.repo.bare_path())
    }

    /// Stores the server's authorized deploy key where fluxd reads it.
    async fn store_deploy_key(&self) -> anyhow::Result<()> {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "flux-git-deploy"},
            "stringData": {"identity": self.server.private_key_pem()?}
        }))?;
        self.ns
            .api::<Secret>()
            .create(&PostParams::default(), &secret)
            .await?;
        Ok(())
    }

    fn fluxd(&self, extra: &[&str]) -> anyhow::Result<Fluxd> {
        let port = free_port()?;
        let log = self.home.path().join(format!("fluxd-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_tether"))
            .arg("fluxd")
            .arg(format!("--git-url={}", self.url()))
            .args(["--git-branch", "master", "--git-path=apps"])
            .arg(format!("--k8s-allow-namespace={}", self.ns()))
            .arg(format!("--listen=127.0.0.1:{port}"))
            .args([
                "--git-poll-interval=1s",
                "--sync-interval=1m",
                "--git-timeout=30s",
            ])
            .arg("--memcached-hostname=memcached.flux")
            // Automation only where a test sets its interval.
            .args(
                (!extra.iter().any(|a| a.starts_with("--automation-interval")))
                    .then_some("--registry-disable-scanning"),
            )
            .args(extra)
            .env("HOME", self.home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .spawn()
            .context("cannot start tether fluxd")?;
        let fluxd = Fluxd { child, port, log };
        fluxd.wait_ready()?;
        Ok(fluxd)
    }
}

/// A running `tether fluxd`, killed on drop; its log printed when a test fails.
struct Fluxd {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Fluxd {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/flux", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(
                http_get(&format!("{}/v11/ping", self.url())),
                Some((204, _))
            ) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("fluxd not serving within 30s:\n{}", self.log_text())
    }

    /// Waits until the log holds `text`.
    async fn wait_log(&self, text: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.log_text().contains(text) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("fluxd never logged {text:?}:\n{}", self.log_text())
    }

    /// Runs the real fluxctl against this daemon; `(success, stdout, stderr)`.
    async fn fluxctl(
        &self,
        fluxctl: &PathBuf,
        args: &[&str],
    ) -> anyhow::Result<(bool, String, String)> {
        let output = tokio::process::Command::new(fluxctl)
            .args(args)
            .args(["--url", &self.url(), "--timeout", "90s"])
            .env("HOME", "/nonexistent")
            .output()
            .await
            .context("cannot run fluxctl")?;
        let (stdout, stderr) = common::texts(&output);
        Ok((output.status.success(), stdout, stderr))
    }

    async fn fluxctl_ok(
        &self,
        fluxctl: &PathBuf,
        args: &[&str],
    ) -> anyhow::Result<(String, String)> {
        let (ok, stdout, stderr) = self.fluxctl(fluxctl, args).await?;
        ensure!(
            ok,
            "fluxctl {args:?} failed:\n{stdout}\n{stderr}\n---- fluxd log ----\n{}",
            self.log_text()
        );
        Ok((stdout, stderr))
    }
}

impl Drop for Fluxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("TETHER_E2E_LOGS").is_some() {
            eprintln!("---- fluxd log ----\n{}", self.log_text());
        }
    }
}

/// Polls `check` until it returns true (one minute).
async fn eventually<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    bail!("timed out waiting for {what}")
}

async fn live_annotation(
    api: &Api<Deployment>,
    name: &str,
    key: &str,
) -> anyhow::Result<Option<String>> {
    let live = api.get(name).await?;
    Ok(live
        .metadata
        .annotations
        .unwrap_or_default()
        .get(key)
        .cloned())
}

async fn live_image(api: &Api<Deployment>, name: &str) -> anyhow::Result<String> {
    let live = api.get(name).await?;
    let containers = live
        .spec
        .and_then(|s| s.template.spec)
        .map(|s| s.containers)
        .unwrap_or_default();
    Ok(containers
        .first()
        .and_then(|c| c.image.clone())
        .unwrap_or_default())
}

/// The commit the server's `flux-sync` tag points at (peeled).
fn sync_tag(repo: &GitRepoFixture) -> Option<String> {
    let refs = repo.ls_remote().ok()?;
    refs.get("refs/tags/flux-sync^{}")
        .or_else(|| refs.get("refs/tags/flux-sync"))
        .cloned()
}

#[tokio::test]
async fn fluxctl_drives_tether_fluxd_end_to_end() -> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let registry = RegistryServer::start()?;
    for tag in ["1.0", "1.1", "2.0"] {
        registry.push_image("app", tag).await?;
    }
    let app = registry.image("app");
    let prefix = "fluxd";
    let outside = format!("{prefix}-not-allowed");
    let files = |ns: &str| {
        vec![
            (
                "apps/web.yaml",
                deployment(ns, "web", &format!("{app}:1.0")),
            ),
            ("apps/settings.yaml", config_map(ns, "settings")),
            ("apps/elsewhere.yaml", config_map(&outside, "elsewhere")),
        ]
    };
    // The namespace name is only known once created: commit after.
    let site = Site::start(prefix, &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    let saved = tempfile::tempdir()?;
    site.repo.commit(
        "master",
        &files(&ns)
            .iter()
            .map(|(p, c)| (*p, c.as_str()))
            .collect::<Vec<_>>(),
        "apps",
    )?;
    site.store_deploy_key().await?;
    let fluxd = site.fluxd(&[])?;
    let deployments: Api<Deployment> = site.ns.api();

    // The deploy key: logged as fluxd logged identity.pub, and what `fluxctl identity` prints.
    let public = site.server.public_key()?;
    let key_fields: Vec<&str> = public.split_whitespace().take(2).collect();
    fluxd.wait_log(&key_fields.join(" ")).await?;
    let (identity, _) = fluxd.fluxctl_ok(&fluxctl, &["identity"]).await?;
    ensure!(
        identity.starts_with(&key_fields.join(" ")),
        "identity: {identity}"
    );

    // The first sync: applied with gc marks, the manifest outside the allowed namespace skipped.
    eventually("web applied", || async {
        Ok(deployments.get_opt("web").await?.is_some())
    })
    .await?;
    let web = deployments.get("web").await?;
    let labels = web.metadata.labels.unwrap_or_default();
    ensure!(
        labels
            .get("fluxcd.io/sync-gc-mark")
            .is_some_and(|m| m.starts_with("sha256.")),
        "{labels:?}"
    );
    fluxd.wait_log("excluded by namespace constraints").await?;
    ensure!(
        fluxd
            .log_text()
            .contains(&format!("{outside}:configmap/elsewhere"))
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(client().await?, &outside);
    ensure!(
        elsewhere
            .get_opt("elsewhere")
            .await
            .ok()
            .flatten()
            .is_none()
    );
    let settings: Api<ConfigMap> = site.ns.api();
    ensure!(
        settings.get_opt("settings").await?.is_some(),
        "the allowed ConfigMap is applied"
    );

    // list-controllers (the old name) prints fluxctl's table.
    let (table, _) = fluxd
        .fluxctl_ok(&fluxctl, &["list-controllers", "--namespace", &ns])
        .await?;
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    ensure!(
        lines.first().map(Vec::as_slice)
            == Some(&["WORKLOAD", "CONTAINER", "IMAGE", "RELEASE", "POLICY"][..]),
        "{table}"
    );
    let web_row = format!("{ns}:deployment/web");
    ensure!(
        lines.iter().any(|l| l.first() == Some(&web_row.as_str())
            && l.get(1) == Some(&"app")
            && l.get(2) == Some(&format!("{app}:1.0").as_str())),
        "{table}"
    );

    // save: the allowed namespace and its workloads, to stdout and as files.
    let (exported, _) = fluxd.fluxctl_ok(&fluxctl, &["save"]).await?;
    ensure!(
        exported.contains("kind: Namespace")
            && exported.contains(&format!("name: {ns}"))
            && exported.contains("kind: Deployment")
            && exported.contains(&format!("image: {app}:1.0"))
            && !exported.contains(&outside),
        "{exported}"
    );
    let out = saved.path().to_string_lossy().into_owned();
    let (written, _) = fluxd.fluxctl_ok(&fluxctl, &["save", "--out", &out]).await?;
    ensure!(written.contains("Saving Deployment 'web'"), "{written}");
    let web_file = std::fs::read_to_string(saved.path().join(&ns).join("web-dep.yaml"))?;
    ensure!(
        web_file.starts_with("---\n") && !web_file.contains("resourceVersion"),
        "{web_file}"
    );
    ensure!(saved.path().join(format!("{ns}-ns.yaml")).exists());

    // list-images shows the registry's tags for the container, the current one marked.
    let (images, _) = fluxd
        .fluxctl_ok(&fluxctl, &["list-images", "--workload", &web_row])
        .await?;
    ensure!(
        images.contains(app.as_str()) && images.contains("2.0") && images.contains("1.1"),
        "{images}"
    );
    ensure!(
        images
            .lines()
            .any(|l| l.contains("'->") && l.contains("1.0")),
        "the current tag is marked:\n{images}"
    );

    // sync waits for the sync tag to reach the head.
    let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, &["sync"]).await?;
    ensure!(stderr.contains("Done."), "{stderr}");
    let head = site.repo.rev_parse("master")?;
    ensure!(
        sync_tag(&site.repo).as_deref() == Some(head.as_str()),
        "flux-sync tag not at {head}"
    );

    // release --update-image commits and is applied.
    let image = format!("{app}:1.1");
    let (_, stderr) = fluxd
        .fluxctl_ok(
            &fluxctl,
            &["release", "--workload", &web_row, "--update-image", &image],
        )
        .await?;
    ensure!(
        stderr.contains("Commit pushed") && stderr.contains("Commit applied"),
        "{stderr}"
    );
    ensure!(site.repo.show("master", "apps/web.yaml")?.contains(&image));
    ensure!(live_image(&deployments, "web").await? == image);

    // An interactive release (what `fluxctl release --interactive` posts once the user chose;
    // the menu itself needs a terminal): a stale "current" image releases nothing, a fresh one
    // moves the container in one commit.
    let containers = |current: &str| {
        json!({"type": "containers", "cause": {}, "spec": {
            "Kind": "execute", "SkipMismatches": false, "Force": false,
            "ContainerSpecs": {web_row.clone(): [
                {"Container": "app", "Current": current, "Target": format!("{app}:2.0")}]}}})
        .to_string()
    };
    let post = |body: String| {
        Command::new("curl")
            .args([
                "-s",
                "-H",
                "Accept: application/json",
                "-X",
                "POST",
                "--data",
            ])
            .arg(body)
            .arg(format!("{}/v9/update-manifests", fluxd.url()))
            .output()
    };
    let before = site.repo.rev_parse("master")?;
    let stale = post(containers(&format!("{app}:1.0")))?;
    ensure!(stale.status.success());
    let wanted = format!("{app}:2.0");
    post(containers(&image))?;
    eventually("the interactive release", || async {
        Ok(site.repo.show("master", "apps/web.yaml")?.contains(&wanted))
    })
    .await?;
    let message = site.repo.message("master")?;
    ensure!(
        message.starts_with(&format!("Update image refs in {web_row}")),
        "{message}"
    );
    ensure!(
        site.repo.rev_parse("master~1")? == before,
        "the stale request made no commit"
    );
    eventually("2.0 applied", || async {
        Ok(live_image(&deployments, "web").await? == wanted)
    })
    .await?;

    // automate, policy --tag-all and lock: one commit each, each applied.
    let verbs: [(&[&str], &str, &str); 3] = [
        (
            &["automate", "--workload", &web_row],
            "fluxcd.io/automated",
            "true",
        ),
        (
            &["policy", "--workload", &web_row, "--tag-all", "semver:~1"],
            "fluxcd.io/tag.app",
            "semver:~1",
        ),
        (
            &["lock", "--workload", &web_row],
            "fluxcd.io/locked",
            "true",
        ),
    ];
    for (args, key, value) in verbs {
        let before = site.repo.rev_parse("master")?;
        let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, args).await?;
        ensure!(stderr.contains("Commit pushed"), "{args:?}: {stderr}");
        ensure!(
            site.repo.rev_parse("master")? != before,
            "{args:?} made no commit"
        );
        ensure!(
            site.repo.show("master", "apps/web.yaml")?.contains(key),
            "{args:?}"
        );
        eventually(key, || async {
            Ok(live_annotation(&deployments, "web", key).await?.as_deref() == Some(value))
        })
        .await?;
    }

    // Bad requests: clear errors, nothing else changes.
    let head = site.repo.rev_parse("master")?;
    let (code, body) = http_get(&format!("{}/v99/nothing", fluxd.url())).context("GET")?;
    ensure!(
        code == 404 && body.contains("/v99/nothing"),
        "{code} {body}"
    );
    let (code, _) =
        http_get(&format!("http://127.0.0.1:{}/v11/version", fluxd.port)).context("GET")?;
    ensure!(code == 200, "the API is served at the root too");
    let posted = Command::new("curl")
        .args([
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-H",
            "Accept: application/json",
            "-X",
            "POST",
            "--data",
            "{\"type\": \"image\", ",
        ])
        .arg(format!("{}/v9/update-manifests", fluxd.url()))
        .output()?;
    let posted = String::from_utf8_lossy(&posted.stdout).into_owned();
    ensure!(
        posted.ends_with("\n400") && posted.contains("malformed request body"),
        "{posted}"
    );
    ensure!(
        site.repo.rev_parse("master")? == head,
        "a bad request changed the repository"
    );
    Ok(())
}

/// An automated Deployment whose container `app` follows `semver:~1` (no creation times
/// needed).
fn automated_deployment(ns: &str, name: &str, image: &str) -> String {
    deployment(ns, name, image).replacen(
        "metadata:\n",
        "metadata:\n  annotations:\n    fluxcd.io/automated: \"true\"\n    fluxcd.io/tag.app: semver:~1\n",
        1,
    )
}

#[tokio::test]
async fn image_filters_and_the_skip_message_shape_automation_as_fluxd_did() -> anyhow::Result<()> {
    let registry = RegistryServer::start()?;
    for repository in ["app", "skipped"] {
        for tag in ["1.0", "1.1"] {
            registry.push_image(repository, tag).await?;
        }
    }
    let (app, skipped) = (registry.image("app"), registry.image("skipped"));
    let site = Site::start("fluxd-filters", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    let web = automated_deployment(&ns, "web", &format!("{app}:1.0"));
    let other = automated_deployment(&ns, "other", &format!("{skipped}:1.0"));
    site.repo.commit(
        "master",
        &[("apps/web.yaml", &web), ("apps/other.yaml", &other)],
        "apps",
    )?;
    site.store_deploy_key().await?;
    let _fluxd = site.fluxd(&[
        "--automation-interval=1s",
        "--registry-exclude-image=*/skipped",
        "--git-ci-skip-message= [skip ci]",
        "--registry-rps=20",
        "--registry-burst=5",
    ])?;
    eventually("web automated to 1.1", || async {
        Ok(site
            .repo
            .show("master", "apps/web.yaml")?
            .contains(&format!("{app}:1.1")))
    })
    .await?;
    let message = site.repo.message("master")?;
    ensure!(
        message.trim_end().ends_with(" [skip ci]"),
        "the skip message is appended as given: {message:?}"
    );
    ensure!(
        site.repo
            .show("master", "apps/other.yaml")?
            .contains(&format!("{skipped}:1.0")),
        "an excluded image is never scanned, so never automated"
    );
    Ok(())
}

#[tokio::test]
async fn garbage_collection_deletes_only_stale_marked_objects_and_only_with_the_flag()
-> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let site = Site::start("fluxd-gc", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    let keep = config_map(&ns, "keep");
    let stale = config_map(&ns, "stale");
    site.repo.commit(
        "master",
        &[("apps/keep.yaml", &keep), ("apps/stale.yaml", &stale)],
        "two",
    )?;
    site.store_deploy_key().await?;
    let maps: Api<ConfigMap> = site.ns.api();
    {
        let fluxd = site.fluxd(&[])?;
        eventually("stale applied", || async {
            Ok(maps.get_opt("stale").await?.is_some())
        })
        .await?;
        drop(fluxd);
    }
    // An object tether never applied, and the stale one removed from git.
    let unmarked: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "unmarked"}}))?;
    maps.create(&PostParams::default(), &unmarked).await?;
    site.repo
        .remove("master", &["apps/stale.yaml"], "drop stale")?;

    for (flags, deleted) in [
        (&[][..], false),
        (&["--sync-garbage-collection-dry"][..], false),
        (&["--sync-garbage-collection"][..], true),
    ] {
        let fluxd = site.fluxd(flags)?;
        fluxd.wait_log("sync done").await?;
        let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, &["sync"]).await?;
        ensure!(stderr.contains("Done."), "{flags:?}: {stderr}");
        let exists = maps.get_opt("stale").await?.is_some();
        ensure!(exists != deleted, "{flags:?}: stale exists = {exists}");
        if flags == ["--sync-garbage-collection-dry"] {
            ensure!(
                fluxd.log_text().contains(&format!("{ns}:configmap/stale")),
                "dry mode logs the object:\n{}",
                fluxd.log_text()
            );
        }
        ensure!(maps.get_opt("keep").await?.is_some(), "{flags:?}");
        ensure!(
            maps.get_opt("unmarked").await?.is_some(),
            "{flags:?}: an unmarked object was deleted"
        );
    }
    Ok(())
}

/// What `GET /v6/sync?ref=` answers (fluxd's `SyncStatus`).
fn sync_status(fluxd: &Fluxd, reference: &str) -> anyhow::Result<Vec<String>> {
    let url = format!("{}/v6/sync?ref={reference}", fluxd.url());
    match http_get(&url) {
        Some((200, body)) => Ok(serde_json::from_str(&body)?),
        other => bail!("{url}: {other:?}\n{}", fluxd.log_text()),
    }
}

#[tokio::test]
async fn sync_status_lists_the_commits_between_the_sync_tag_and_the_ref_under_the_git_paths()
-> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let site = Site::start("fluxd-status", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    let first = site.repo.commit(
        "master",
        &[("apps/one.yaml", &config_map(&ns, "one"))],
        "one",
    )?;
    site.store_deploy_key().await?;
    // Polls and periodic syncs far apart: only the first sync and `fluxctl sync` run.
    let fluxd = site.fluxd(&["--git-poll-interval=1h", "--sync-interval=1h"])?;
    eventually("the sync tag at the first commit", || async {
        Ok(sync_tag(&site.repo).as_deref() == Some(first.as_str()))
    })
    .await?;
    let two = site.repo.commit(
        "master",
        &[("apps/two.yaml", &config_map(&ns, "two"))],
        "two",
    )?;
    site.repo
        .commit("master", &[("README.md", "outside the git path\n")], "docs")?;
    let three = site.repo.commit(
        "master",
        &[("apps/three.yaml", &config_map(&ns, "three"))],
        "three",
    )?;

    // `git rev-list flux-sync..<ref> -- apps`, newest first, from a 7-character prefix.
    ensure!(sync_status(&fluxd, &three[..7])? == [three.clone(), two.clone()]);
    ensure!(sync_status(&fluxd, &two[..7])? == std::slice::from_ref(&two));
    ensure!(sync_status(&fluxd, &first[..7])?.is_empty());
    let unknown = format!("{}/v6/sync?ref=0123456789", fluxd.url());
    ensure!(
        matches!(http_get(&unknown), Some((500, body)) if body.contains("0123456789")),
        "an unknown ref is an error naming it"
    );

    let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, &["sync"]).await?;
    ensure!(stderr.contains("Done."), "{stderr}");
    ensure!(sync_status(&fluxd, &three)?.is_empty());
    let maps: Api<ConfigMap> = site.ns.api();
    ensure!(maps.get_opt("three").await?.is_some());
    Ok(())
}

/// A Go tool built by dev/testbin.sh: `$<var>`, else `$TETHER_TESTBIN/<name>`; in CI it must exist.
fn require_testbin(var: &str, name: &str) -> anyhow::Result<Option<PathBuf>> {
    let found = std::env::var_os(var).map(PathBuf::from).or_else(|| {
        let path = PathBuf::from(std::env::var_os("TETHER_TESTBIN")?).join(name);
        path.exists().then_some(path)
    });
    match found {
        Some(path) => Ok(Some(path)),
        None if std::env::var_os("CI").is_some() => {
            bail!("{var} is unset in CI; run dev/testbin.sh")
        }
        None => {
            println!("no {name} binary ({var} unset, dev/testbin.sh not run); skipping");
            Ok(None)
        }
    }
}

/// The REAL fluxd 1.25.4, out of cluster: the kubeconfig of the site, git over ssh with the
/// site's deploy key (set in `$HOME/.gitconfig`: fluxd passes only `$HOME` to git, and ssh
/// reads keys from the passwd home), kubectl from the testbin, killed on drop.
fn real_fluxd(
    site: &Site,
    fluxd: &std::path::Path,
    kubectl: &std::path::Path,
) -> anyhow::Result<Fluxd> {
    let home = site.home.path();
    let key = home.join("deploy_ed25519");
    std::fs::write(&key, site.server.private_key_pem()?)?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    std::fs::write(
        home.join(".gitconfig"),
        format!(
            "[core]\n\tsshCommand = ssh -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={}\n",
            key.display(),
            home.join(".ssh/known_hosts").display()
        ),
    )?;
    // fluxd reads `$HOME/.kube/config` unless told otherwise, whatever KUBECONFIG says.
    std::fs::create_dir_all(home.join(".kube"))?;
    std::fs::copy(&site.kubeconfig, home.join(".kube/config"))?;
    let port = free_port()?;
    let log = home.join(format!("real-fluxd-{port}.log"));
    let child = Command::new(fluxd)
        .arg(format!("--git-url={}", site.url()))
        .args(["--git-branch=master", "--git-path=apps"])
        .arg(format!("--k8s-allow-namespace={}", site.ns()))
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!("--kubernetes-kubectl={}", kubectl.display()))
        .args([
            "--git-poll-interval=1s",
            "--sync-interval=1m",
            "--sync-garbage-collection",
            "--registry-disable-scanning",
        ])
        .env("HOME", home)
        .env("KUBECONFIG", &site.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log)?))
        .spawn()
        .context("cannot start the real fluxd")?;
    let fluxd = Fluxd { child, port, log };
    fluxd.wait_ready()?;
    Ok(fluxd)
}

/// `name → (uid, gc mark)` of the ConfigMaps of the namespace.
async fn uids_and_marks(
    maps: &Api<ConfigMap>,
) -> anyhow::Result<std::collections::BTreeMap<String, (String, String)>> {
    let list = maps.list(&Default::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|map| {
            let mark = map.metadata.labels?.get("fluxcd.io/sync-gc-mark")?.clone();
            Some((map.metadata.name?, (map.metadata.uid?, mark)))
        })
        .collect())
}

#[tokio::test]
async fn a_cluster_synced_by_a_real_fluxd_is_taken_over_without_recreating_objects()
-> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let Some(real) = require_testbin("TETHER_FLUXD", "fluxd")? else {
        return Ok(());
    };
    let Some(kubectl) = require_testbin("TETHER_KUBECTL", "kubectl")? else {
        return Ok(());
    };
    let site = Site::start("fluxd-takeover", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    let first = site.repo.commit(
        "master",
        &[
            ("apps/keep.yaml", &config_map(&ns, "keep")),
            ("apps/later.yaml", &config_map(&ns, "later")),
        ],
        "two maps",
    )?;
    let maps: Api<ConfigMap> = site.ns.api();
    let before = {
        let fluxd = real_fluxd(&site, &real, &kubectl)?;
        eventually("the real fluxd synced and tagged", || async {
            Ok(sync_tag(&site.repo).as_deref() == Some(first.as_str())
                && uids_and_marks(&maps).await?.len() == 2)
        })
        .await
        .with_context(|| fluxd.log_text())?;
        uids_and_marks(&maps).await?
    };

    site.store_deploy_key().await?;
    let fluxd = site.fluxd(&["--sync-garbage-collection"])?;
    fluxd.wait_log("sync done").await?;
    let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, &["sync"]).await?;
    ensure!(stderr.contains("Done."), "{stderr}");
    let after = uids_and_marks(&maps).await?;
    ensure!(
        after == before,
        "the same objects (uids) and gc marks as the real fluxd's: {before:?} then {after:?}"
    );

    site.repo
        .remove("master", &["apps/later.yaml"], "drop later")?;
    let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, &["sync"]).await?;
    ensure!(stderr.contains("Done."), "{stderr}");
    let left = uids_and_marks(&maps).await?;
    ensure!(
        left.keys().collect::<Vec<_>>() == ["keep"] && left.get("keep") == before.get("keep"),
        "only the removed object is collected, keep is untouched: {left:?}"
    );
    Ok(())
}

#[tokio::test]
async fn flux_yaml_generates_with_native_kustomize_applies_the_patch_file_and_refuses_shell()
-> anyhow::Result<()> {
    if require_fluxctl()?.is_none() {
        return Ok(());
    }
    let site = Site::start("fluxd-gen", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    let patch_updated = "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n  patchFile: flux-patch.yaml\n";
    let patch = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\n  annotations:\n    patched: \"yes\"\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: example.org/app:1.1\n"
    );
    let shell = "version: 1\ncommandUpdated:\n  generators:\n  - command: cat *.yaml\n";
    site.repo.commit(
        "master",
        &[
            ("apps/.flux.yaml", patch_updated),
            ("apps/kustomization.yaml", "resources: [web.yaml]\n"),
            (
                "apps/web.yaml",
                &deployment(&ns, "web", "example.org/app:1.0"),
            ),
            ("apps/flux-patch.yaml", &patch),
            ("shell/.flux.yaml", shell),
            ("shell/made.yaml", &config_map(&ns, "made")),
        ],
        "generated",
    )?;
    site.store_deploy_key().await?;
    let deployments: Api<Deployment> = site.ns.api();
    let maps: Api<ConfigMap> = site.ns.api();
    {
        let fluxd = site.fluxd(&["--manifest-generation"])?;
        eventually("web generated and patched", || async {
            Ok(deployments.get_opt("web").await?.is_some())
        })
        .await
        .with_context(|| fluxd.log_text())?;
        ensure!(live_image(&deployments, "web").await? == "example.org/app:1.1");
        ensure!(
            live_annotation(&deployments, "web", "patched")
                .await?
                .as_deref()
                == Some("yes")
        );
    }
    {
        let fluxd = site.fluxd(&["--manifest-generation", "--git-path=shell"])?;
        fluxd
            .wait_log("shell/.flux.yaml: generators command \"cat *.yaml\" is a shell command")
            .await?;
        ensure!(
            fluxd
                .log_text()
                .contains("--manifest-generation-allow-shell"),
            "the refusal names the flag"
        );
        ensure!(
            maps.get_opt("made").await?.is_none(),
            "nothing of the refused path applied"
        );
    }
    let fluxd = site.fluxd(&[
        "--manifest-generation",
        "--manifest-generation-allow-shell",
        "--git-path=shell",
    ])?;
    eventually("the shell generator's output applied", || async {
        Ok(maps.get_opt("made").await?.is_some())
    })
    .await
    .with_context(|| fluxd.log_text())?;
    Ok(())
}

#[tokio::test]
async fn a_generated_deploy_key_is_stored_logged_and_used_and_an_unreachable_url_is_reported()
-> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let site = Site::start("fluxd-key", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    site.repo.commit(
        "master",
        &[("apps/one.yaml", &config_map(&ns, "one"))],
        "one",
    )?;
    let fluxd = site.fluxd(&[])?;
    fluxd.wait_log("identity.pub").await?;
    let secret = site.ns.api::<Secret>().get("flux-git-deploy").await?;
    let secret_data_before = secret.data.clone();
    ensure!(
        secret.data.unwrap_or_default().contains_key("identity"),
        "the key is stored in the Secret"
    );
    let (identity, _) = fluxd.fluxctl_ok(&fluxctl, &["identity"]).await?;
    ensure!(
        identity.starts_with("ssh-ed25519 ") && fluxd.log_text().contains(identity.trim()),
        "{identity}"
    );
    // Not authorized yet: the repository is unreachable, and sync says so.
    fluxd.wait_log("unreachable").await?;
    let (ok, _, stderr) = fluxd.fluxctl(&fluxctl, &["sync"]).await?;
    ensure!(!ok && stderr.contains("git repository"), "{stderr}");
    site.server.authorize_public_key(&identity)?;
    fluxd.wait_log("sync done").await?;
    let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, &["sync"]).await?;
    ensure!(stderr.contains("Done."), "{stderr}");
    let maps: Api<ConfigMap> = site.ns.api();
    ensure!(maps.get_opt("one").await?.is_some());

    // identity --regenerate: a new key, stored and used; the old one no longer opens the repo.
    let (regenerated, _) = fluxd
        .fluxctl_ok(&fluxctl, &["identity", "--regenerate"])
        .await?;
    ensure!(
        regenerated.starts_with("ssh-ed25519 ") && regenerated != identity,
        "{regenerated}"
    );
    let stored = site.ns.api::<Secret>().get("flux-git-deploy").await?;
    let (again, _) = fluxd.fluxctl_ok(&fluxctl, &["identity"]).await?;
    ensure!(again == regenerated, "identity shows the new key: {again}");
    ensure!(
        stored.data != secret_data_before,
        "the Secret holds the new key"
    );
    site.server.revoke_public_key(&identity)?;
    site.server.authorize_public_key(&regenerated)?;
    site.repo.commit(
        "master",
        &[("apps/two.yaml", &config_map(&ns, "two"))],
        "two",
    )?;
    eventually("two applied with the new key", || async {
        Ok(maps.get_opt("two").await?.is_some())
    })
    .await?;
    drop(fluxd);

    // A URL nothing listens on: logged, reported by the API, nothing applied.
    let closed = tether_testkit::git::closed_loopback_port()?;
    let url = format!("--git-url=ssh://git@127.0.0.1:{closed}/nowhere.git");
    let fluxd = site.fluxd(&[&url])?;
    fluxd.wait_log("unreachable").await?;
    let (ok, _, stderr) = fluxd.fluxctl(&fluxctl, &["sync"]).await?;
    ensure!(
        !ok && stderr.contains("can not connect to git repository"),
        "{stderr}"
    );
    Ok(())
}

/// `(kind, name)` of every document of a multi-document YAML stream.
fn kinds_and_names(yaml: &str) -> anyhow::Result<Vec<(String, String)>> {
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(yaml)?;
    let mut named: Vec<(String, String)> = documents
        .iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (text(&d["kind"]), text(&d["metadata"]["name"]))
        })
        .collect();
    named.sort();
    Ok(named)
}

#[tokio::test]
async fn fluxctl_install_prints_fluxctls_objects_and_the_api_server_accepts_them()
-> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let client = client().await?;
    let ns = TestNamespace::create(&client, "fluxctl-install").await?;
    let flags = [
        "--git-url=git@example.com:org/fleet",
        "--git-email=me@example.com",
        "--git-path=apps,infra",
    ];
    let namespace = format!("--namespace={}", ns.name);
    let theirs = Command::new(&fluxctl)
        .arg("install")
        .args(flags)
        .arg(&namespace)
        .output()?;
    ensure!(theirs.status.success(), "fluxctl install failed");
    let (ours, _) =
        tether_ok(&[&["fluxctl", "install"][..], &flags, &[&namespace]].concat()).await?;
    // The same objects, less memcached (tether's image cache is built in).
    let mut expected = kinds_and_names(&String::from_utf8_lossy(&theirs.stdout))?;
    expected.retain(|(_, name)| name != "memcached");
    ensure!(kinds_and_names(&ours)? == expected, "{ours}");
    // Accepted by the API server as they are (a server-side dry run of each).
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&ours)?;
    for document in documents.iter().filter(|d| !d.is_null()) {
        let object: kube::api::DynamicObject = serde_json::from_value(document.clone())?;
        let gvk = kube::core::GroupVersionKind::try_from(
            object.types.as_ref().context("apiVersion and kind")?,
        )?;
        let resource = kube::api::ApiResource::from_gvk(&gvk);
        let api: Api<kube::api::DynamicObject> = if document["metadata"]["namespace"].is_string() {
            Api::namespaced_with(client.clone(), &ns.name, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        let dry_run = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        api.create(&dry_run, &object)
            .await
            .with_context(|| format!("the API server refused {}", document["kind"]))?;
    }
    // Missing required flags fail as fluxctl's do.
    let output = common::tether(&["fluxctl", "install", "--git-url=x"]).await?;
    let (_, stderr) = texts(&output);
    ensure!(
        !output.status.success() && stderr.contains("please supply a valid --git-email argument"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn a_flag_fluxd_never_had_fails_naming_it() -> anyhow::Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args([
            "fluxd",
            "--git-url=ssh://git@example.com/r",
            "--no-such-flag=1",
        ])
        .output()?;
    let (_, stderr) = common::texts(&output);
    ensure!(
        !output.status.success() && stderr.contains("--no-such-flag"),
        "{stderr}"
    );
    Ok(())
}

/// A `patchUpdated` path: `kustomize build .` over `web.yaml`, patched by `flux-patch.yaml`.
fn patch_updated_files(ns: &str, image: &str) -> Vec<(&'static str, String)> {
    let patch = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\n  annotations:\n    patched: \"yes\"\n"
    );
    vec![
        (
            "apps/.flux.yaml",
            "version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n  patchFile: flux-patch.yaml\n".to_owned(),
        ),
        ("apps/kustomization.yaml", "resources: [web.yaml]\n".to_owned()),
        ("apps/web.yaml", deployment(ns, "web", image)),
        ("apps/flux-patch.yaml", patch),
    ]
}

fn commit_files(repo: &GitRepoFixture, files: &[(&str, String)]) -> anyhow::Result<()> {
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    repo.commit("master", &files, "generated apps")?;
    Ok(())
}

#[tokio::test]
async fn patch_updated_releases_automation_and_policies_are_written_into_the_patch_file()
-> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let registry = RegistryServer::start()?;
    for tag in ["1.0", "1.1", "1.2"] {
        registry.push_image("app", tag).await?;
    }
    let app = registry.image("app");
    let site = Site::start("fluxd-patch", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    commit_files(&site.repo, &patch_updated_files(&ns, &format!("{app}:1.0")))?;
    let base = site.repo.show("master", "apps/web.yaml")?;
    site.store_deploy_key().await?;
    let fluxd = site.fluxd(&["--manifest-generation", "--automation-interval=2s"])?;
    let deployments: Api<Deployment> = site.ns.api();
    eventually("web generated and patched", || async {
        Ok(deployments.get_opt("web").await?.is_some())
    })
    .await
    .with_context(|| fluxd.log_text())?;
    let web_row = format!("{ns}:deployment/web");
    let patch_file = || site.repo.show("master", "apps/flux-patch.yaml");

    // A release moves the image in the patch file, not in the generators' input.
    let image = format!("{app}:1.1");
    let (_, stderr) = fluxd
        .fluxctl_ok(
            &fluxctl,
            &["release", "--workload", &web_row, "--update-image", &image],
        )
        .await?;
    ensure!(stderr.contains("Commit pushed"), "{stderr}");
    let patch = patch_file()?;
    ensure!(
        patch.contains(&format!("image: {image}")) && patch.contains("patched:"),
        "the patch holds the release and keeps what it had:\n{patch}"
    );
    ensure!(site.repo.show("master", "apps/web.yaml")? == base);
    eventually("1.1 applied", || async {
        Ok(live_image(&deployments, "web").await? == image)
    })
    .await?;

    // Policy changes land in the patch file and are applied; automation then writes the
    // newest allowed image there too.
    let verbs: [(&[&str], &str, &str); 2] = [
        (
            &["policy", "--workload", &web_row, "--tag-all", "semver:~1"],
            "fluxcd.io/tag.app",
            "semver:~1",
        ),
        (
            &["automate", "--workload", &web_row],
            "fluxcd.io/automated",
            "true",
        ),
    ];
    for (args, key, value) in verbs {
        let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, args).await?;
        ensure!(stderr.contains("Commit pushed"), "{args:?}: {stderr}");
        ensure!(patch_file()?.contains(key), "{args:?}:\n{}", patch_file()?);
        eventually(key, || async {
            Ok(live_annotation(&deployments, "web", key).await?.as_deref() == Some(value))
        })
        .await?;
    }
    let newest = format!("{app}:1.2");
    eventually("automation writes 1.2 into the patch file", || async {
        Ok(patch_file()?.contains(&format!("image: {newest}")))
    })
    .await
    .with_context(|| fluxd.log_text())?;
    eventually("1.2 applied", || async {
        Ok(live_image(&deployments, "web").await? == newest)
    })
    .await?;

    // lock: the patch file again; the generators' input never changed.
    let (_, stderr) = fluxd
        .fluxctl_ok(&fluxctl, &["lock", "--workload", &web_row])
        .await?;
    ensure!(stderr.contains("Commit pushed"), "{stderr}");
    ensure!(patch_file()?.contains("fluxcd.io/locked"));
    eventually("locked", || async {
        Ok(live_annotation(&deployments, "web", "fluxcd.io/locked")
            .await?
            .as_deref()
            == Some("true"))
    })
    .await?;
    ensure!(site.repo.show("master", "apps/web.yaml")? == base);
    ensure!(
        live_annotation(&deployments, "web", "patched")
            .await?
            .as_deref()
            == Some("yes")
    );
    Ok(())
}

/// A `commandUpdated` path: `kustomize build .` generates; the image updater records fluxd's
/// variables and its working directory, then edits `web.yaml`; the policy updater records
/// each policy change.
fn command_updated_config(image_timeout: &str) -> String {
    format!(
        "version: 1\ncommandUpdated:\n  generators:\n  - command: kustomize build .\n  updaters:\n  - containerImage:\n      command: 'echo \"$FLUX_WORKLOAD|$FLUX_WL_NS|$FLUX_WL_KIND|$FLUX_WL_NAME|$FLUX_CONTAINER|$FLUX_IMG|$FLUX_TAG|${{HOME-unset}}|$(basename \"$PWD\")\" > image-env.txt && sed -i \"s|image: .*|image: $FLUX_IMG:$FLUX_TAG|\" web.yaml'{image_timeout}\n    policy:\n      command: 'echo \"$FLUX_WORKLOAD $FLUX_POLICY=${{FLUX_POLICY_VALUE-(removed)}}\" >> policies.txt'\n"
    )
}

#[tokio::test]
async fn command_updated_updaters_run_with_fluxds_variables_only_when_shell_is_allowed()
-> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let registry = RegistryServer::start()?;
    for tag in ["1.0", "1.1"] {
        registry.push_image("app", tag).await?;
    }
    let app = registry.image("app");
    let site = Site::start("fluxd-cmd", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    commit_files(
        &site.repo,
        &[
            ("apps/.flux.yaml", command_updated_config("")),
            (
                "apps/kustomization.yaml",
                "resources: [web.yaml]\n".to_owned(),
            ),
            (
                "apps/web.yaml",
                deployment(&ns, "web", &format!("{app}:1.0")),
            ),
        ],
    )?;
    site.store_deploy_key().await?;
    let deployments: Api<Deployment> = site.ns.api();
    let web_row = format!("{ns}:deployment/web");
    let image = format!("{app}:1.1");
    let release = ["release", "--workload", &web_row, "--update-image", &image];

    // Without --manifest-generation-allow-shell: refused, naming the file; nothing changes.
    {
        let fluxd = site.fluxd(&["--manifest-generation"])?;
        fluxd
            .wait_log("apps/.flux.yaml: updaters.containerImage command")
            .await?;
        let head = site.repo.rev_parse("master")?;
        let (ok, stdout, stderr) = fluxd.fluxctl(&fluxctl, &release).await?;
        let said = format!("{stdout}{stderr}");
        ensure!(
            !ok && said.contains("apps/.flux.yaml")
                && said.contains("--manifest-generation-allow-shell"),
            "{said}"
        );
        ensure!(
            site.repo.rev_parse("master")? == head,
            "a refused release committed"
        );
        ensure!(deployments.get_opt("web").await?.is_none());
    }

    let fluxd = site.fluxd(&["--manifest-generation", "--manifest-generation-allow-shell"])?;
    eventually("web generated", || async {
        Ok(deployments.get_opt("web").await?.is_some())
    })
    .await
    .with_context(|| fluxd.log_text())?;
    let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, &release).await?;
    ensure!(stderr.contains("Commit pushed"), "{stderr}");
    let (name, tag) = image.rsplit_once(':').context("a tag")?;
    let recorded = site.repo.show("master", "apps/image-env.txt")?;
    ensure!(
        recorded.trim() == format!("{web_row}|{ns}|deployment|web|app|{name}|{tag}|unset|apps"),
        "the image updater's variables and working directory: {recorded}"
    );
    ensure!(site.repo.show("master", "apps/web.yaml")?.contains(&image));
    eventually("1.1 applied", || async {
        Ok(live_image(&deployments, "web").await? == image)
    })
    .await?;

    let verbs: [(&[&str], &str); 4] = [
        (
            &["policy", "--workload", &web_row, "--tag-all", "semver:~1"],
            "tag.app=semver:~1",
        ),
        (&["automate", "--workload", &web_row], "automated=true"),
        (&["lock", "--workload", &web_row], "locked=true"),
        (
            &["deautomate", "--workload", &web_row],
            "automated=(removed)",
        ),
    ];
    for (args, line) in verbs {
        let before = site.repo.rev_parse("master")?;
        let (_, stderr) = fluxd.fluxctl_ok(&fluxctl, args).await?;
        ensure!(stderr.contains("Commit pushed"), "{args:?}: {stderr}");
        ensure!(
            site.repo.rev_parse("master")? != before,
            "{args:?} made no commit"
        );
        let policies = site.repo.show("master", "apps/policies.txt")?;
        ensure!(
            policies.lines().any(|l| l == format!("{web_row} {line}")),
            "{args:?}:\n{policies}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn flux_yaml_commands_past_their_timeout_are_killed_and_named() -> anyhow::Result<()> {
    let Some(fluxctl) = require_fluxctl()? else {
        return Ok(());
    };
    let registry = RegistryServer::start()?;
    for tag in ["1.0", "1.1"] {
        registry.push_image("app", tag).await?;
    }
    let app = registry.image("app");
    let site = Site::start("fluxd-timeout", &[("README.md", "fleet\n".to_owned())]).await?;
    let ns = site.ns().to_owned();
    let slow_image = "version: 1\ncommandUpdated:\n  generators:\n  - command: kustomize build .\n  updaters:\n  - containerImage:\n      command: sleep 60\n      timeout: 1s\n";
    let slow_generator = "version: 1\ncommandUpdated:\n  generators:\n  - command: sleep 60; cat made.yaml\n    timeout: 2s\n";
    commit_files(
        &site.repo,
        &[
            ("apps/.flux.yaml", slow_image.to_owned()),
            (
                "apps/kustomization.yaml",
                "resources: [web.yaml]\n".to_owned(),
            ),
            (
                "apps/web.yaml",
                deployment(&ns, "web", &format!("{app}:1.0")),
            ),
            ("slow/.flux.yaml", slow_generator.to_owned()),
            ("slow/made.yaml", config_map(&ns, "made")),
        ],
    )?;
    site.store_deploy_key().await?;
    let deployments: Api<Deployment> = site.ns.api();
    {
        let fluxd = site.fluxd(&["--manifest-generation", "--manifest-generation-allow-shell"])?;
        eventually("web generated", || async {
            Ok(deployments.get_opt("web").await?.is_some())
        })
        .await
        .with_context(|| fluxd.log_text())?;
        let head = site.repo.rev_parse("master")?;
        let web_row = format!("{ns}:deployment/web");
        let image = format!("{app}:1.1");
        let started = Instant::now();
        let (ok, stdout, stderr) = fluxd
            .fluxctl(
                &fluxctl,
                &["release", "--workload", &web_row, "--update-image", &image],
            )
            .await?;
        let said = format!("{stdout}{stderr}");
        ensure!(
            !ok && said.contains("apps/.flux.yaml: updaters.containerImage command \"sleep 60\"")
                && said.contains("timeout of 1s"),
            "{said}"
        );
        ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the updater was not waited for: {:?}",
            started.elapsed()
        );
        ensure!(
            site.repo.rev_parse("master")? == head,
            "a killed updater committed"
        );
    }
    let fluxd = site.fluxd(&[
        "--manifest-generation",
        "--manifest-generation-allow-shell",
        "--git-path=slow",
    ])?;
    fluxd
        .wait_log(
            "slow/.flux.yaml: generators command \"sleep 60; cat made.yaml\" did not finish within its timeout of 2s",
        )
        .await?;
    let maps: Api<ConfigMap> = site.ns.api();
    ensure!(
        maps.get_opt("made").await?.is_none(),
        "a killed generator applied nothing"
    );
    Ok(())
}
