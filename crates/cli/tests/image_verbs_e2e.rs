//! Flux's image verbs end to end: `tether get images …`, `reconcile image …`, `suspend image …`
//! and `resume image …` run as processes against the local control plane, a `tether controller`,
//! a real OCI registry on loopback and an SSH git server. The ImageRepository scans every 10m,
//! so only a reconcile request can see a pushed tag.

mod common;

use anyhow::Context;
use common::{ControllerProcess, row, tether, tether_ok, texts};
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::serde::Serialize;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::time::Duration;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::{GitSourceFixture, condition};
use tether_testkit::registry::RegistryServer;

const WAIT: Duration = Duration::from_secs(90);

fn lines(log: &str) -> Vec<&str> {
    log.lines().collect()
}

/// A Deployment manifest whose image carries a setter marker for the policy `marker`.
fn deployment(image: &str, marker: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  selector:\n    matchLabels: {{app: podinfo}}\n  template:\n    metadata:\n      labels: {{app: podinfo}}\n    spec:\n      containers:\n      - name: podinfod\n        image: {image} # {{\"$imagepolicy\": \"{marker}\"}}\n"
    )
}

async fn wait_ready<K>(api: &Api<K>, name: &str) -> anyhow::Result<K>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    wait_for(api, name, WAIT, |object| {
        let value = serde_json::to_value(object).unwrap_or_default();
        condition(&value, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await
}

/// The image objects of Flux's image update guide: a repository scanning every 10m, a semver
/// policy and an automation pushing to `master`.
struct ImageFixture {
    source: GitSourceFixture,
    registry: RegistryServer,
    image: String,
    _controller: ControllerProcess,
}

impl ImageFixture {
    async fn start() -> anyhow::Result<Self> {
        let source = GitSourceFixture::start("imgverbs", "10m").await?;
        let ns = source.ns.name.clone();
        let registry = RegistryServer::start()?;
        let image = registry.image("podinfo");
        registry.push_image("podinfo", "1.0.0").await?;
        let manifest = deployment(&format!("{image}:1.0.0"), &format!("{ns}:podinfo"));
        let files = [("apps/deployment.yaml", manifest.as_str())];
        source.repo.commit("master", &files, "add podinfo")?;
        let controller = ControllerProcess::start(&ns, &[])?;
        let fixture = Self {
            source,
            registry,
            image,
            _controller: controller,
        };
        fixture.create_objects().await?;
        Ok(fixture)
    }

    fn ns(&self) -> &str {
        &self.source.ns.name
    }

    async fn create_objects(&self) -> anyhow::Result<()> {
        let (ns, post) = (self.ns(), PostParams::default());
        let repository: ImageRepository = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"image": self.image, "interval": "10m"}
        }))?;
        let repositories = self.source.ns.api::<ImageRepository>();
        repositories.create(&post, &repository).await?;
        let policy: ImagePolicy = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"imageRepositoryRef": {"name": "podinfo"},
                     "policy": {"semver": {"range": ">=1.0.0"}}}
        }))?;
        let policies = self.source.ns.api::<ImagePolicy>();
        policies.create(&post, &policy).await?;
        wait_ready(&repositories, "podinfo").await?;
        wait_ready(&policies, "podinfo").await?;
        let automation: ImageUpdateAutomation = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"interval": "10m",
                     "sourceRef": {"kind": "GitRepository", "name": "app"},
                     "git": {"checkout": {"ref": {"branch": "master"}},
                             "commit": {"author": {"name": "fluxcdbot", "email": "bot@example.com"}},
                             "push": {"branch": "master"}},
                     "update": {"path": "./apps", "strategy": "Setters"}}
        }))?;
        let automations = self.source.ns.api::<ImageUpdateAutomation>();
        automations.create(&post, &automation).await?;
        wait_ready(&automations, "podinfo").await?;
        Ok(())
    }
}

#[tokio::test]
async fn flux_image_verbs_drive_the_image_objects() -> anyhow::Result<()> {
    let f = ImageFixture::start().await?;
    get_tables_show_each_kind(&f).await?;
    a_pushed_tag_reaches_git_through_reconcile(&f).await?;
    suspend_and_resume_each_kind(&f).await?;
    get_all_lists_every_kind(&f).await?;
    missing_objects_are_named(&f).await
}

/// `get images repository|policy|update`: Flux's columns, the scan and run times in RFC 3339.
async fn get_tables_show_each_kind(f: &ImageFixture) -> anyhow::Result<()> {
    let ns = f.ns();
    let (table, _) = tether_ok(&["get", "images", "repository", "-n", ns]).await?;
    assert!(
        table.starts_with("NAME   \tLAST SCAN           \tSUSPENDED\tREADY\tMESSAGE"),
        "{table}"
    );
    let cells = row(&table, "podinfo").context("no podinfo row")?;
    assert_rfc3339_seconds(cells[1])?;
    assert_eq!(cells[2..4], ["False", "True"], "{table}");

    let (table, _) = tether_ok(&["get", "image", "policy", "podinfo", "-n", ns]).await?;
    assert!(table.starts_with("NAME   \tIMAGE"), "{table}");
    let cells = row(&table, "podinfo").context("no podinfo row")?;
    assert_eq!(cells[1..4], [f.image.as_str(), "1.0.0", "True"], "{table}");

    let (table, _) = tether_ok(&["get", "images", "update", "-A"]).await?;
    let header = [
        "NAMESPACE",
        "NAME",
        "LAST RUN",
        "SUSPENDED",
        "READY",
        "MESSAGE",
    ];
    assert_eq!(row(&table, "NAMESPACE"), Some(header.to_vec()), "{table}");
    let cells = table
        .lines()
        .map(|line| line.split('\t').map(str::trim).collect::<Vec<_>>())
        .find(|cells| cells[..2] == [ns, "podinfo"])
        .context("no row for the automation")?;
    assert_rfc3339_seconds(cells[2])?;
    assert_eq!(
        cells[3..6],
        ["False", "True", "repository up-to-date"],
        "{table}"
    );
    Ok(())
}

/// Go's `time.RFC3339`: a timestamp without fractional seconds.
fn assert_rfc3339_seconds(cell: &str) -> anyhow::Result<()> {
    cell.parse::<Timestamp>()
        .with_context(|| format!("not RFC 3339: {cell:?}"))?;
    anyhow::ensure!(!cell.contains('.'), "fractional seconds in {cell:?}");
    Ok(())
}

/// A new tag is invisible until `reconcile image repository`; the policy then selects it and
/// `reconcile image update` leaves it committed on `master`. Each prints Flux's lines.
async fn a_pushed_tag_reaches_git_through_reconcile(f: &ImageFixture) -> anyhow::Result<()> {
    let ns = f.ns();
    f.registry.push_image("podinfo", "1.1.0").await?;
    let (_, log) = tether_ok(&["reconcile", "image", "repository", "podinfo", "-n", ns]).await?;
    let expected = [
        format!("► annotating ImageRepository podinfo in {ns} namespace"),
        "✔ ImageRepository annotated".to_owned(),
        "◎ waiting for ImageRepository reconciliation".to_owned(),
        "✔ scan fetched 2 tags".to_owned(),
    ];
    assert_eq!(lines(&log), expected);

    let (_, log) = tether_ok(&["reconcile", "image", "policy", "podinfo", "-n", ns]).await?;
    let selected = format!("✔ selected ref {}:1.1.0", f.image);
    assert_eq!(lines(&log).last(), Some(&selected.as_str()), "{log}");

    let (_, log) = tether_ok(&["reconcile", "image", "update", "podinfo", "-n", ns]).await?;
    let expected = [
        format!("► annotating ImageUpdateAutomation podinfo in {ns} namespace"),
        "✔ ImageUpdateAutomation annotated".to_owned(),
        "◎ waiting for ImageUpdateAutomation reconciliation".to_owned(),
        "✔ repository up-to-date".to_owned(),
    ];
    assert_eq!(lines(&log), expected);
    let head = f.source.repo.rev_parse("master")?;
    let manifest = f.source.repo.show(&head, "apps/deployment.yaml")?;
    assert!(
        manifest.contains(&format!("{}:1.1.0", f.image)),
        "{manifest}"
    );
    let automation = f.source.ns.api::<ImageUpdateAutomation>();
    let status = automation.get("podinfo").await?.status.unwrap_or_default();
    assert_eq!(status.last_push_commit.as_deref(), Some(head.as_str()));
    Ok(())
}

/// `suspend image …` sets spec.suspend (shown by `get`, refused by `reconcile`); `resume image …`
/// clears it and waits for the reconcile, as Flux's golden files show.
async fn suspend_and_resume_each_kind(f: &ImageFixture) -> anyhow::Result<()> {
    let ns = f.ns();
    let selected = format!("✔ selected ref {}:1.1.0", f.image);
    let kinds = [
        (
            "repository",
            "image repository",
            "ImageRepository",
            "✔ scan fetched 2 tags",
        ),
        ("policy", "image policy", "ImagePolicy", selected.as_str()),
        (
            "update",
            "image update automation",
            "ImageUpdateAutomation",
            "✔ repository up-to-date",
        ),
    ];
    for (verb_kind, human, kind, done) in kinds {
        let (_, log) = tether_ok(&["suspend", "image", verb_kind, "podinfo", "-n", ns]).await?;
        assert_eq!(
            log,
            format!("► suspending {human} podinfo in {ns} namespace\n✔ {human} suspended\n")
        );
        let refused = tether(&["reconcile", "image", verb_kind, "podinfo", "-n", ns]).await?;
        let suspended = format!("✗ {kind} '{ns}/podinfo' is suspended");
        assert!(!refused.status.success());
        assert!(
            texts(&refused).1.contains(&suspended),
            "{:?}",
            texts(&refused)
        );

        let (_, log) = tether_ok(&["resume", "image", verb_kind, "podinfo", "-n", ns]).await?;
        let log = lines(&log);
        let expected = [
            format!("► resuming {human} podinfo in {ns} namespace"),
            format!("✔ {human} resumed"),
            format!("◎ waiting for {kind} reconciliation"),
            format!("✔ {kind} podinfo reconciliation completed"),
            done.to_owned(),
        ];
        assert_eq!(log, expected);
    }
    let (table, _) = tether_ok(&["get", "images", "repository", "podinfo", "-n", ns]).await?;
    assert_eq!(row(&table, "podinfo").map(|r| r[2]), Some("False"));
    Ok(())
}

/// `get images all`: one table per kind with `kind/name` names, each followed by a blank line;
/// a status selector matching nothing prints nothing.
async fn get_all_lists_every_kind(f: &ImageFixture) -> anyhow::Result<()> {
    let ns = f.ns();
    let (all, _) = tether_ok(&["get", "images", "all", "-n", ns]).await?;
    let tables: Vec<&str> = all.split("\n\n").collect();
    assert_eq!(tables.len(), 4, "three tables and the end: {all:?}");
    assert_eq!(tables[3], "", "{all:?}");
    let names = [
        "imagerepository/podinfo",
        "imagepolicy/podinfo",
        "imageupdateautomation/podinfo",
    ];
    for (table, name) in tables.iter().zip(names) {
        let cells = row(table, name).with_context(|| format!("no {name} in {all}"))?;
        assert!(cells.contains(&"True"), "{table}");
    }
    assert!(tables[1].contains(&format!("{}\t1.1.0", f.image)), "{all}");

    let (none, log) = tether_ok(&[
        "get",
        "images",
        "all",
        "--status-selector",
        "ready=false",
        "-n",
        ns,
    ])
    .await?;
    assert_eq!((none.as_str(), log.as_str()), ("", ""));
    let (failed, _) = tether_ok(&[
        "get",
        "images",
        "repository",
        "--status-selector",
        "ready!=true",
        "-n",
        ns,
    ])
    .await?;
    assert_eq!(failed.lines().count(), 1, "only the header: {failed}");
    Ok(())
}

/// Flux's errors for a name or a namespace without objects.
async fn missing_objects_are_named(f: &ImageFixture) -> anyhow::Result<()> {
    let ns = f.ns();
    let missing = tether(&["get", "images", "update", "nope", "-n", ns]).await?;
    assert!(!missing.status.success());
    let expected = format!("✗ ImageUpdateAutomation object 'nope' not found in \"{ns}\" namespace");
    assert_eq!(texts(&missing).1.trim_end(), expected);
    let empty = tether(&["get", "images", "policy", "-n", "default"]).await?;
    assert!(!empty.status.success());
    let expected = "✗ no ImagePolicy objects found in \"default\" namespace";
    assert_eq!(texts(&empty).1.trim_end(), expected);
    let (all, _) = tether_ok(&["get", "images", "all", "-n", "default"]).await?;
    assert_eq!(all, "", "no tables for a namespace without image objects");
    let refused = tether(&["reconcile", "image", "repository", "nope", "-n", ns]).await?;
    assert!(!refused.status.success());
    let expected = format!("ImageRepository '{ns}/nope' not found");
    assert!(
        texts(&refused).1.contains(&expected),
        "{:?}",
        texts(&refused)
    );
    Ok(())
}
