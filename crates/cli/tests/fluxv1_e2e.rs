//! The Flux v1 workflow end to end: fluxd's automation run (the `tether-fluxv1` library, as the
//! controller calls it) and the fluxctl verbs (`tether list-workloads`, `list-images`,
//! `release`, `lock`, `unlock`, `automate`, `policy`, `identity`, `sync`) against the local
//! control plane, a smart-HTTP git server with basic auth and a real OCI registry. Every
//! change is checked in a fresh `git clone` of the server's repository.

mod common;

use anyhow::{Context, ensure};
use common::{ControllerProcess, tether, tether_ok, texts};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tether_fluxv1::{
    Anonymous, CommitSettings, ImageScanner, Repository, automate_once, set_policy,
};
use tether_registry::RegistryClient;
use tether_source::{CloneSpec, GitAuth, GitReference};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::git::{GitRepoFixture, HttpGitServer};
use tether_testkit::registry::RegistryServer;
use tether_workloads::{PolicyUpdate, ResourceId, Workload, workloads_in_text};

const GIT_USER: &str = "flux";
const GIT_PASSWORD: &str = "git-secret-pw";

/// A Deployment manifest with comments and odd-but-valid formatting that edits must keep.
fn deployment(ns: &str, name: &str, image: &str, annotations: &str) -> String {
    format!(
        "---\n# {name}: part of the fleet.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\n{annotations}spec:\n  replicas: 0   # scaled by hand\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}  # bumped by automation\n        ports:\n        - containerPort: 80\n"
    )
}

/// A namespace, a git server holding `apps/*.yaml`, its credentials Secret, and the
/// GitRepository and Kustomization `fleet` pointing at it.
struct Fleet {
    ns: TestNamespace,
    repo: GitRepoFixture,
    server: HttpGitServer,
}

impl Fleet {
    /// `files(namespace)` are the repository's files.
    async fn start(
        prefix: &str,
        files: impl FnOnce(&str) -> Vec<(&'static str, String)>,
    ) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let repo = GitRepoFixture::new("fleet")?;
        let server = HttpGitServer::start(&repo.projects_root(), GIT_USER, GIT_PASSWORD)?;
        let files = files(&ns.name);
        let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        repo.commit("master", &files, "the fleet")?;
        let fleet = Self { ns, repo, server };
        fleet.create_sources().await?;
        Ok(fleet)
    }

    fn name(&self) -> &str {
        &self.ns.name
    }

    async fn create_sources(&self) -> anyhow::Result<()> {
        let ns = self.name();
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "git-auth"},
            "stringData": {"username": GIT_USER, "password": GIT_PASSWORD}
        }))?;
        self.ns
            .api::<Secret>()
            .create(&PostParams::default(), &secret)
            .await?;
        let source: tether_api::source::v1::GitRepository = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": ns},
            "spec": {"url": self.server.repo_url(self.repo.name()), "interval": "10m",
                     "ref": {"branch": "master"}, "secretRef": {"name": "git-auth"}}
        }))?;
        self.ns
            .api()
            .create(&PostParams::default(), &source)
            .await?;
        let kustomization: tether_api::kustomize::v1::Kustomization =
            serde_json::from_value(json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "fleet", "namespace": ns},
                "spec": {"interval": "10m", "path": "./apps", "prune": false,
                         "sourceRef": {"kind": "GitRepository", "name": "fleet"}}
            }))?;
        self.ns
            .api()
            .create(&PostParams::default(), &kustomization)
            .await?;
        Ok(())
    }

    /// The repository as the library takes it.
    fn repository(&self) -> Repository {
        Repository {
            clone: CloneSpec {
                url: self.server.repo_url(self.repo.name()),
                checkout: GitReference::branch("master"),
                push_branch: None,
                auth: GitAuth {
                    username: Some(GIT_USER.into()),
                    password: Some(GIT_PASSWORD.into()),
                    ..GitAuth::default()
                },
                timeout: Duration::from_secs(30),
            },
            paths: vec![PathBuf::from("apps")],
            target_namespace: None,
            store: None,
        }
    }

    /// A fresh `git clone` of the server's repository.
    fn checkout(&self) -> anyhow::Result<Checkout> {
        let dir = tempfile::tempdir()?;
        let url = self
            .server
            .repo_url_with_credentials(self.repo.name(), GIT_USER, GIT_PASSWORD);
        git(dir.path(), &["clone", "--quiet", &url, "work"])?;
        Ok(Checkout { dir })
    }

    /// `--git-repository ns/fleet --path ./apps`, for verbs that name no live workload.
    fn repo_args(&self) -> Vec<String> {
        let ns = self.name();
        vec![
            "--git-repository".into(),
            format!("{ns}/fleet"),
            "--path".into(),
            "./apps".into(),
            "-n".into(),
            ns.into(),
        ]
    }
}

struct Checkout {
    dir: tempfile::TempDir,
}

impl Checkout {
    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn file(&self, path: &str) -> anyhow::Result<String> {
        std::fs::read_to_string(self.work().join(path)).with_context(|| format!("reading {path}"))
    }

    fn commits(&self) -> anyhow::Result<usize> {
        Ok(git(&self.work(), &["rev-list", "--count", "HEAD"])?
            .trim()
            .parse()?)
    }

    fn last_message(&self) -> anyhow::Result<String> {
        git(&self.work(), &["log", "-1", "--format=%B"])
    }

    fn last_author(&self) -> anyhow::Result<String> {
        Ok(git(&self.work(), &["log", "-1", "--format=%an <%ae>"])?
            .trim()
            .to_owned())
    }

    fn changed_files(&self) -> anyhow::Result<Vec<String>> {
        let names = git(&self.work(), &["diff", "--name-only", "HEAD~1", "HEAD"])?;
        Ok(names.lines().map(str::to_owned).collect())
    }

    /// The workload `name` as defined in `apps/<name>.yaml`.
    fn workload(&self, name: &str) -> anyhow::Result<Workload> {
        let path = format!("apps/{name}.yaml");
        let text = self.file(&path)?;
        workloads_in_text(&text, Path::new(&path))?
            .into_iter()
            .next()
            .with_context(|| format!("no workload in {path}"))
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .context("running git")?;
    ensure!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

fn args(words: &[&str], extra: &[String]) -> Vec<String> {
    words
        .iter()
        .map(|w| (*w).to_owned())
        .chain(extra.iter().cloned())
        .collect()
}

/// Pushes `app:<tag>` images created an hour apart, in the order given.
async fn push_tags(
    registry: &RegistryServer,
    repo: &str,
    tags: &[(&str, u32)],
) -> anyhow::Result<()> {
    for (tag, hour) in tags {
        let created = format!("2024-05-01T{hour:02}:00:00Z");
        registry
            .push_image_created(repo, tag, Some(&created))
            .await?;
    }
    Ok(())
}

/// The live Deployment `name` with the owner labels of Kustomization `fleet`, as
/// kustomize-controller would have applied it.
async fn create_live_workload(fleet: &Fleet, name: &str, image: &str) -> anyhow::Result<()> {
    let ns = fleet.name();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns, "labels": {
            "kustomize.toolkit.fluxcd.io/name": "fleet",
            "kustomize.toolkit.fluxcd.io/namespace": ns}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}}
    }))?;
    fleet
        .ns
        .api::<Deployment>()
        .create(&PostParams::default(), &deployment)
        .await?;
    Ok(())
}

const AUTOMATED_GLOB: &str =
    "  annotations:\n    fluxcd.io/automated: \"true\"\n    fluxcd.io/tag.app: glob:1.*\n";

#[tokio::test]
async fn fluxv1_workflow_over_git_and_registry() -> anyhow::Result<()> {
    let registry = RegistryServer::start()?;
    let tags = [("1.0", 1), ("1.1", 2), ("1.2", 3), ("2.0", 4)];
    push_tags(&registry, "app", &tags).await?;
    let app = registry.image("app");
    let frozen_annotations = format!("{AUTOMATED_GLOB}    fluxcd.io/locked: \"true\"\n");
    let fleet = Fleet::start("fluxv1", |ns| {
        let v1 = format!("{app}:1.0");
        vec![
            ("apps/web.yaml", deployment(ns, "web", &v1, AUTOMATED_GLOB)),
            (
                "apps/frozen.yaml",
                deployment(ns, "frozen", &v1, &frozen_annotations),
            ),
            ("apps/api.yaml", deployment(ns, "api", &v1, "")),
        ]
    })
    .await?;
    create_live_workload(&fleet, "api", &format!("{app}:1.0")).await?;

    lists_show_workloads_and_images(&fleet, &app).await?;
    automation_updates_automated_unlocked_workloads(&fleet, &app).await?;
    release_commits_exactly_the_image(&fleet, &app).await?;
    policy_verbs_commit_fluxd_messages(&fleet).await?;
    locked_workloads_are_not_updated(&fleet, &registry, &app).await?;
    concurrent_commits_both_land(&fleet, &registry, &app).await?;
    identity_prints_the_deploy_key(&fleet).await?;
    sync_reconciles_source_and_kustomization(&fleet).await
}

async fn lists_show_workloads_and_images(fleet: &Fleet, app: &str) -> anyhow::Result<()> {
    let ns = fleet.name();
    let (table, _) = tether_ok(&args(&["list-workloads"], &fleet.repo_args())).await?;
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows.first().cloned(),
        Some(vec!["WORKLOAD", "CONTAINER", "IMAGE", "RELEASE", "POLICY"]),
        "{table}"
    );
    let image = format!("{app}:1.0");
    let web = format!("{ns}:deployment/web");
    let frozen = format!("{ns}:deployment/frozen");
    let api = format!("{ns}:deployment/api");
    assert!(
        rows.contains(&vec![web.as_str(), "app", &image, "automated"]),
        "{table}"
    );
    assert!(
        rows.contains(&vec![frozen.as_str(), "app", &image, "automated,locked"]),
        "{table}"
    );
    let api_row = rows.iter().find(|r| r.first() == Some(&api.as_str()));
    assert_eq!(
        api_row.map(|r| &r[..3]),
        Some(&[api.as_str(), "app", &image][..]),
        "{table}"
    );

    let listing = args(&["list-images", "-w", &web], &fleet.repo_args());
    let (table, _) = tether_ok(&listing).await?;
    let lines: Vec<&str> = table.lines().map(str::trim).collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["WORKLOAD", "CONTAINER", "IMAGE", "CREATED"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [web.as_str(), "app", app],
        "{table}"
    );
    assert!(
        lines[2].starts_with("|   1.2") && lines[2].ends_with("01 May 24 03:00 UTC"),
        "{table}"
    );
    assert!(lines[3].starts_with("|   1.1"), "{table}");
    assert!(
        lines[4].starts_with("'-> 1.0") && lines[4].ends_with("01 May 24 01:00 UTC"),
        "{table}"
    );
    assert_eq!(lines.len(), 5, "2.0 is outside glob:1.*: {table}");

    let (json, _) = tether_ok(&args(
        &["list-images", "-w", &web, "-o", "json"],
        &fleet.repo_args(),
    ))
    .await?;
    let json: serde_json::Value = serde_json::from_str(&json)?;
    let container = &json[0]["Containers"][0];
    assert_eq!(
        container["LatestFiltered"]["ID"],
        format!("{app}:1.2"),
        "{json}"
    );
    assert_eq!(container["Current"]["ID"], format!("{app}:1.0"), "{json}");
    assert_eq!(
        container["Available"].as_array().map(Vec::len),
        Some(3),
        "{json}"
    );
    Ok(())
}

async fn automation_updates_automated_unlocked_workloads(
    fleet: &Fleet,
    app: &str,
) -> anyhow::Result<()> {
    let scanner = ImageScanner::new(RegistryClient::default(), Anonymous);
    let before = fleet.checkout()?;
    let run = automate_once(&fleet.repository(), &scanner, &CommitSettings::default()).await?;
    assert!(run.skipped.is_empty(), "{:?}", run.skipped);
    let updated: Vec<(String, &str)> = run
        .updates
        .iter()
        .map(|u| (u.workload.to_string(), u.new_image.as_str()))
        .collect();
    let web = format!("{}:deployment/web", fleet.name());
    let newest = format!("{app}:1.2");
    assert_eq!(updated, vec![(web, newest.as_str())]);
    let pushed = run.commit.context("automation pushed no commit")?;

    let after = fleet.checkout()?;
    assert_eq!(git(&after.work(), &["rev-parse", "HEAD"])?.trim(), pushed);
    assert_eq!(after.commits()?, before.commits()? + 1);
    assert_eq!(
        after.last_message()?.trim_end(),
        format!("Auto-release {newest}")
    );
    assert_eq!(after.last_author()?, "Weave Flux <support@weave.works>");
    assert_eq!(after.changed_files()?, ["apps/web.yaml"]);
    let expected = before
        .file("apps/web.yaml")?
        .replace(":1.0  # bumped", ":1.2  # bumped");
    assert_eq!(
        after.file("apps/web.yaml")?,
        expected,
        "comments and layout kept"
    );
    assert_eq!(
        after.file("apps/frozen.yaml")?,
        before.file("apps/frozen.yaml")?
    );

    let again = automate_once(&fleet.repository(), &scanner, &CommitSettings::default()).await?;
    assert_eq!(again.commit, None);
    assert!(again.updates.is_empty(), "{:?}", again.updates);
    assert_eq!(fleet.checkout()?.commits()?, after.commits()?);
    Ok(())
}

async fn release_commits_exactly_the_image(fleet: &Fleet, app: &str) -> anyhow::Result<()> {
    let api = format!("{}:deployment/api", fleet.name());
    let before = fleet.checkout()?;
    let target = format!("{app}:1.1");
    // No --git-repository: the live Deployment's owner labels lead to the repository.
    let release = args(
        &["release", "--workload", &api, "--update-image", &target],
        &[],
    );
    let (table, log) = tether_ok(&release).await?;
    let row = table
        .lines()
        .find(|l| l.starts_with(&api))
        .unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    let old = format!("{app}:1.0");
    assert_eq!(
        cells,
        [api.as_str(), "success", "app:", &old, "->", "1.1"],
        "{table}"
    );
    assert!(log.contains("Commit pushed:"), "{log}");

    let after = fleet.checkout()?;
    assert_eq!(after.commits()?, before.commits()? + 1);
    assert_eq!(
        after.last_message()?.trim_end(),
        format!("Release {target} to {api}")
    );
    assert_eq!(after.changed_files()?, ["apps/api.yaml"]);
    let expected = before.file("apps/api.yaml")?.replace(":1.0  #", ":1.1  #");
    assert_eq!(after.file("apps/api.yaml")?, expected);

    let missing = format!("{app}:9.9");
    let output = tether(&args(&["release", "--workload", &api, "-i", &missing], &[])).await?;
    let (_, log) = texts(&output);
    assert!(!output.status.success(), "{log}");
    assert!(
        log.contains(&format!("image {missing} not found in its registry")),
        "{log}"
    );
    assert_eq!(fleet.checkout()?.commits()?, after.commits()?);
    Ok(())
}

/// Runs a policy verb on the live `api` workload and checks it made one commit with `message`.
async fn policy_commit(fleet: &Fleet, verb: &[&str], message: &str) -> anyhow::Result<Checkout> {
    let before = fleet.checkout()?.commits()?;
    let api = format!("{}:deployment/api", fleet.name());
    let (table, log) = tether_ok(&args(verb, &["-w".into(), api.clone()])).await?;
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().eq([api.as_str(), "success"])),
        "{table}"
    );
    assert!(log.contains("Commit pushed:"), "{log}");
    let after = fleet.checkout()?;
    assert_eq!(after.commits()?, before + 1, "{verb:?}");
    assert_eq!(after.last_message()?.trim_end(), message, "{verb:?}");
    assert_eq!(after.changed_files()?, ["apps/api.yaml"]);
    Ok(after)
}

async fn policy_verbs_commit_fluxd_messages(fleet: &Fleet) -> anyhow::Result<()> {
    let api = format!("{}:deployment/api", fleet.name());
    let unlocked = fleet.checkout()?.file("apps/api.yaml")?;
    let jane = "Jane <jane@example.com>";
    let lock = ["lock", "--user", jane, "-m", "hold the api"];
    let locked = policy_commit(
        fleet,
        &lock,
        &format!("hold the api\n\n- Locked: {api}\n- Updated policies: {api}"),
    )
    .await?;
    let policy = locked.workload("api")?.policy;
    assert!(policy.locked);
    assert_eq!(policy.locked_user.as_deref(), Some(jane));
    assert_eq!(policy.locked_msg.as_deref(), Some("hold the api"));

    let message =
        format!("Updated workload policies\n\n- Unlocked: {api}\n- Updated policies: {api}");
    let after = policy_commit(fleet, &["unlock"], &message).await?;
    assert_eq!(
        after.file("apps/api.yaml")?,
        unlocked,
        "unlock restores the file exactly"
    );

    let after = policy_commit(fleet, &["automate"], &format!("Automated: {api}")).await?;
    assert!(after.workload("api")?.policy.automated);

    let tag_all = ["policy", "--tag-all", "glob:1.*"];
    let after = policy_commit(fleet, &tag_all, &format!("Updated policies: {api}")).await?;
    let patterns = after.workload("api")?.policy.tag_patterns;
    assert_eq!(patterns.get("app").map(String::as_str), Some("glob:1.*"));

    // Already automated: nothing to commit.
    let (_, log) = tether_ok(&args(&["automate", "-w", &api], &[])).await?;
    assert!(log.contains("Nothing to do"), "{log}");
    assert_eq!(fleet.checkout()?.commits()?, after.commits()?);
    Ok(())
}

async fn locked_workloads_are_not_updated(
    fleet: &Fleet,
    registry: &RegistryServer,
    app: &str,
) -> anyhow::Result<()> {
    let web = format!("{}:deployment/web", fleet.name());
    let api = format!("{}:deployment/api", fleet.name());
    tether_ok(&args(&["lock", "-w", &web], &fleet.repo_args())).await?;
    push_tags(registry, "app", &[("1.3", 5)]).await?;
    let before = fleet.checkout()?;
    assert!(before.workload("web")?.policy.locked);
    let scanner = ImageScanner::new(RegistryClient::default(), Anonymous);
    let settings = CommitSettings {
        skip_message: tether_fluxv1::CI_SKIP_SUFFIX.to_owned(),
        ..CommitSettings::default()
    };
    let run = automate_once(&fleet.repository(), &scanner, &settings).await?;
    let updated: Vec<String> = run.updates.iter().map(|u| u.workload.to_string()).collect();
    assert_eq!(updated, [api], "only the unlocked automated workload moves");
    let after = fleet.checkout()?;
    assert_eq!(
        after.last_message()?.trim_end(),
        format!("Auto-release {app}:1.3\n\n[ci skip]")
    );
    assert_eq!(after.file("apps/web.yaml")?, before.file("apps/web.yaml")?);
    assert_eq!(
        after.file("apps/frozen.yaml")?,
        before.file("apps/frozen.yaml")?
    );
    assert!(
        after
            .file("apps/api.yaml")?
            .contains(&format!("{app}:1.3  #"))
    );
    Ok(())
}

/// An automation run and a policy change started together: whichever pushes second is
/// rejected, redone on the new tip and pushed; history stays linear and both changes land.
async fn concurrent_commits_both_land(
    fleet: &Fleet,
    registry: &RegistryServer,
    app: &str,
) -> anyhow::Result<()> {
    push_tags(registry, "app", &[("1.4", 6)]).await?;
    let before = fleet.checkout()?;
    let base = git(&before.work(), &["rev-parse", "HEAD"])?;
    let frozen: ResourceId = format!("{}:deployment/frozen", fleet.name()).parse()?;
    let scanner = ImageScanner::new(RegistryClient::default(), Anonymous);
    let settings = CommitSettings::default();
    let repository = fleet.repository();
    let unlock = [(frozen.clone(), PolicyUpdate::unlock())];
    let (automated, unlocked) = tokio::join!(
        automate_once(&repository, &scanner, &settings),
        set_policy(&repository, &unlock, None, &settings),
    );
    assert!(automated?.commit.is_some());
    assert_eq!(unlocked?.report, std::slice::from_ref(&frozen));
    let after = fleet.checkout()?;
    assert_eq!(after.commits()?, before.commits()? + 2);
    assert_eq!(
        git(&after.work(), &["rev-parse", "HEAD~2"])?,
        base,
        "linear history"
    );
    let messages = git(&after.work(), &["log", "-2", "--format=%s"])?;
    assert!(
        messages.contains(&format!("Auto-release {app}:1.4")),
        "{messages}"
    );
    assert!(messages.contains("Updated workload policies"), "{messages}");
    assert!(
        after
            .file("apps/api.yaml")?
            .contains(&format!("{app}:1.4  #"))
    );
    assert!(!after.workload("frozen")?.policy.locked);
    Ok(())
}

async fn identity_prints_the_deploy_key(fleet: &Fleet) -> anyhow::Result<()> {
    let ns = fleet.name();
    let output = tether(&args(
        &["identity", "--git-repository", &format!("{ns}/fleet")],
        &[],
    ))
    .await?;
    let (_, log) = texts(&output);
    assert!(!output.status.success());
    assert!(
        log.contains(&format!("Secret '{ns}/git-auth' has no identity.pub")),
        "{log}"
    );

    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFluxV1DeployKeyForTests fleet@tether";
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "deploy-key"},
        "stringData": {"identity": "not used", "identity.pub": key, "known_hosts": "x"}
    }))?;
    fleet
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let keyed: tether_api::source::v1::GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "keyed", "namespace": ns},
        "spec": {"url": "ssh://git@example.invalid/fleet.git", "interval": "10m",
                 "secretRef": {"name": "deploy-key"}}
    }))?;
    fleet
        .ns
        .api()
        .create(&PostParams::default(), &keyed)
        .await?;
    let (printed, _) = tether_ok(&args(
        &["identity", "--git-repository", &format!("{ns}/keyed")],
        &[],
    ))
    .await?;
    assert_eq!(printed, format!("{key}\n"));
    Ok(())
}

async fn sync_reconciles_source_and_kustomization(fleet: &Fleet) -> anyhow::Result<()> {
    let ns = fleet.name();
    let _controller = ControllerProcess::start(ns, &[])?;
    let api = format!("{ns}:deployment/api");
    let (_, log) = tether_ok(&args(&["sync", "-w", &api, "--timeout", "90s"], &[])).await?;
    assert!(log.contains("annotating GitRepository fleet"), "{log}");
    assert!(log.contains("annotating Kustomization fleet"), "{log}");
    let head = fleet.repo.rev_parse("master")?;
    assert!(
        log.contains(&head[..8]) || log.contains(&head),
        "the applied revision is the tip: {log}"
    );
    Ok(())
}

#[tokio::test]
async fn registry_without_credentials_is_a_clear_error() -> anyhow::Result<()> {
    let registry = RegistryServer::start_with_basic_auth("puller", "pull-pw")?;
    push_tags(&registry, "private", &[("1.0", 1), ("1.1", 2)]).await?;
    let image = registry.image("private");
    let fleet = Fleet::start("fluxv1-auth", |ns| {
        let current = format!("{image}:1.0");
        vec![(
            "apps/private.yaml",
            deployment(ns, "private", &current, AUTOMATED_GLOB),
        )]
    })
    .await?;
    let id = format!("{}:deployment/private", fleet.name());

    let scanner = ImageScanner::new(RegistryClient::default(), Anonymous);
    let run = automate_once(&fleet.repository(), &scanner, &CommitSettings::default()).await?;
    assert_eq!(run.commit, None);
    let errors: Vec<String> = run.skipped.iter().map(|s| s.error.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&image) && errors[0].contains("authentication failed (401)"),
        "{errors:?}"
    );

    let release = args(
        &["release", "--workload", &id, "--update-all-images"],
        &fleet.repo_args(),
    );
    let output = tether(&release).await?;
    let (_, log) = texts(&output);
    assert!(!output.status.success(), "{log}");
    assert!(
        log.contains(&image) && log.contains("authentication failed (401)"),
        "{log}"
    );
    assert!(!log.contains("pull-pw"), "{log}");

    let listing = args(&["list-images", "-w", &id], &fleet.repo_args());
    let (table, _) = tether_ok(&listing).await?;
    assert!(table.contains("authentication failed (401)"), "{table}");

    // With the registry's docker config, the same listing shows the tags.
    let auth = tether_testkit::registry::basic_authorization("puller", "pull-pw");
    let encoded = auth.trim_start_matches("Basic ");
    let config = json!({"auths": {registry.host(): {"auth": encoded}}});
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "regcred"}, "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config.to_string()}
    }))?;
    fleet
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let secret_ref = format!("{}/regcred", fleet.name());
    let listing = args(
        &["list-images", "-w", &id, "--registry-secret", &secret_ref],
        &fleet.repo_args(),
    );
    let (table, _) = tether_ok(&listing).await?;
    let lines: Vec<&str> = table.lines().map(str::trim).collect();
    assert!(lines.iter().any(|l| l.starts_with("|   1.1")), "{table}");
    assert!(lines.iter().any(|l| l.starts_with("'-> 1.0")), "{table}");
    Ok(())
}

/// A Kustomization with `targetNamespace` puts the workloads of Git into another namespace:
/// the verbs name them as they are live, not as Git writes them. Also `release --dry-run`.
#[tokio::test]
async fn workloads_are_named_by_the_kustomization_target_namespace() -> anyhow::Result<()> {
    let registry = RegistryServer::start()?;
    push_tags(&registry, "app", &[("1.0", 1), ("1.1", 2)]).await?;
    let app = registry.image("app");
    let fleet = Fleet::start("fluxv1-target", |_| {
        let v1 = format!("{app}:1.0");
        vec![("apps/web.yaml", deployment("staging", "web", &v1, ""))]
    })
    .await?;
    let kustomizations = fleet.ns.api::<tether_api::kustomize::v1::Kustomization>();
    let target = json!({"spec": {"targetNamespace": fleet.name()}});
    kustomizations
        .patch("fleet", &PatchParams::default(), &Patch::Merge(&target))
        .await?;
    create_live_workload(&fleet, "web", &format!("{app}:1.0")).await?;

    let web = format!("{}:deployment/web", fleet.name());
    let (table, _) = tether_ok(&args(&["list-images", "--workload", &web], &[])).await?;
    assert!(table.lines().any(|l| l.starts_with(&web)), "{table}");

    let release = format!("{app}:1.1");
    let commits = fleet.checkout()?.commits()?;
    let (table, log) = tether_ok(&args(
        &["release", "--workload", &web, "-i", &release, "--dry-run"],
        &[],
    ))
    .await?;
    let planned = format!("{web} success app: {app}:1.0 -> 1.1");
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == planned),
        "{table}"
    );
    assert!(log.contains("nothing was committed"), "{log}");
    assert_eq!(fleet.checkout()?.commits()?, commits, "a dry run committed");

    let (table, log) = tether_ok(&args(
        &["release", "--workload", &web, "--update-image", &release],
        &[],
    ))
    .await?;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&web) && l.contains("success")),
        "{table}"
    );
    assert!(log.contains("Commit pushed:"), "{log}");
    let after = fleet.checkout()?;
    assert_eq!(
        after.last_message()?.trim_end(),
        format!("Release {release} to {web}")
    );
    assert!(after.file("apps/web.yaml")?.contains(":1.1  #"));
    assert!(after.file("apps/web.yaml")?.contains("namespace: staging"));

    let (_, log) = tether_ok(&args(&["automate", "--workload", &web], &[])).await?;
    assert!(log.contains("Commit pushed:"), "{log}");
    let after = fleet.checkout()?;
    assert_eq!(
        after.last_message()?.trim_end(),
        format!("Automated: {web}")
    );
    assert!(after.workload("web")?.policy.automated);
    Ok(())
}
