//! ExternalArtifact end to end, against the local control plane and a real HTTP server (the
//! testkit's nginx): the test plays the third-party producer, serving tarballs and writing the
//! ExternalArtifact's status through the status subresource. A Kustomization built from it
//! applies the tarball, applies a new revision as soon as the status changes (the watch wakes
//! it, no reconcile request), and reports a tarball whose digest is not the status's with
//! Ready=False naming the cause, leaving what it applied alone. A HelmRelease whose `chartRef`
//! is an ExternalArtifact holding a chart archive installs it, upgrades on a new revision, and
//! refuses a digest mismatch the same way.

mod common;

use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use sha2::{Digest, Sha256};
use tether_testkit::chartrepo::{ChartRepoServer, helm_package};
use tether_testkit::charts::{ChartSpec, write_chart};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{condition, create, dynamic_api, kustomizations, wait_ready_where};

struct Fixture {
    server: ChartRepoServer,
    ns: TestNamespace,
    artifacts: Api<DynamicObject>,
    _controller: InProcessController,
}

impl Fixture {
    async fn start(prefix: &str) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let server = ChartRepoServer::start()?;
        let artifacts = dynamic_api(
            &client,
            &ns.name,
            "source.toolkit.fluxcd.io",
            "v1",
            "ExternalArtifact",
        );
        let controller = InProcessController::start(&ns.name).await?;
        Ok(Self {
            server,
            ns,
            artifacts,
            _controller: controller,
        })
    }

    /// Serves `tarball` as `file` and returns its URL.
    fn serve(&self, file: &str, tarball: &[u8]) -> anyhow::Result<String> {
        self.server.write_file(file, tarball)?;
        Ok(format!(
            "{}/{file}",
            self.server.url().trim_end_matches('/')
        ))
    }

    /// Writes the ExternalArtifact's status as a producer would: an artifact at `url` with
    /// `digest`, and Ready=True.
    async fn publish(
        &self,
        name: &str,
        url: &str,
        revision: &str,
        digest: &str,
    ) -> anyhow::Result<()> {
        let status = json!({"status": {
            "artifact": {"url": url, "path": format!("external/{name}.tar.gz"),
                         "revision": revision, "digest": digest,
                         "lastUpdateTime": "2026-12-07T10:00:00Z"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                            "message": format!("produced {revision}"),
                            "lastTransitionTime": "2026-12-07T10:00:00Z"}]
        }});
        self.artifacts
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await?;
        Ok(())
    }
}

/// A gzipped tarball holding `deploy/<name>.yaml` ConfigMaps with their `value`.
fn tarball(maps: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, value) in maps {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: {value}\n"
        );
        let mut header = tar::Header::new_gnu();
        header.set_size(yaml.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("deploy/{name}.yaml"), yaml.as_bytes())?;
    }
    Ok(tar.into_inner()?.finish()?)
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

async fn value_of(maps: &Api<ConfigMap>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(maps
        .get_opt(name)
        .await?
        .and_then(|m| m.data?.get("value").cloned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_applies_an_external_artifact_and_refuses_a_wrong_digest()
-> anyhow::Result<()> {
    let f = Fixture::start("external-artifact").await?;
    let client = client().await?;
    create(
        &f.artifacts,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
            "metadata": {"name": "app", "namespace": f.ns.name},
            "spec": {"sourceRef": {"apiVersion": "generators.example.com/v1", "kind": "Bundle",
                                   "name": "app"}}
        }),
    )
    .await?;
    let first = tarball(&[("one", "a")])?;
    let url = f.serve("app-1.tar.gz", &first)?;
    f.publish("app", &url, "v1@sha256:1", &sha256(&first))
        .await?;

    let ks_api = kustomizations(&client, &f.ns.name);
    create(
        &ks_api,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": f.ns.name},
            "spec": {"interval": "10m", "path": "./deploy", "prune": true,
                     "targetNamespace": f.ns.name,
                     "sourceRef": {"kind": "ExternalArtifact", "name": "app"}}
        }),
    )
    .await?;
    let applied = wait_ready_where(&ks_api, "app", |s, _, _| s == "True").await?;
    assert_eq!(applied["status"]["lastAppliedRevision"], "v1@sha256:1");
    let maps = f.ns.api::<ConfigMap>();
    assert_eq!(value_of(&maps, "one").await?.as_deref(), Some("a"));

    // A new revision applies as soon as the producer writes it: the watch wakes the
    // Kustomization (its interval is ten minutes, and nothing requests a reconcile).
    let second = tarball(&[("one", "b"), ("two", "b")])?;
    let url = f.serve("app-2.tar.gz", &second)?;
    f.publish("app", &url, "v2@sha256:2", &sha256(&second))
        .await?;
    let applied = wait_ready_where(&ks_api, "app", |s, _, m| {
        s == "True" && m.contains("v2@sha256:2")
    })
    .await?;
    assert_eq!(applied["status"]["lastAppliedRevision"], "v2@sha256:2");
    assert_eq!(value_of(&maps, "one").await?.as_deref(), Some("b"));
    assert_eq!(value_of(&maps, "two").await?.as_deref(), Some("b"));

    // A tarball that is not the one the status's digest names is refused, by name, and what
    // was applied stays as it was.
    let third = tarball(&[("one", "c")])?;
    let url = f.serve("app-3.tar.gz", &third)?;
    let claimed = sha256(b"not the served tarball");
    f.publish("app", &url, "v3@sha256:3", &claimed).await?;
    let failed = wait_ready_where(&ks_api, "app", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&failed, "Ready").unwrap_or_default();
    assert_eq!(reason, "ArtifactFailed", "{message}");
    assert!(message.contains(&url), "{message}");
    assert!(message.contains(&claimed), "{message}");
    assert!(message.contains(&sha256(&third)), "{message}");
    assert_eq!(failed["status"]["lastAppliedRevision"], "v2@sha256:2");
    assert_eq!(value_of(&maps, "one").await?.as_deref(), Some("b"));
    assert!(maps.get_opt("two").await?.is_some(), "nothing is pruned");
    Ok(())
}

/// An ExternalArtifact whose producer has not written an artifact yet is waited for, in
/// Flux's words, and the Kustomization applies once it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_waits_for_the_producer_to_write_an_artifact() -> anyhow::Result<()> {
    let f = Fixture::start("external-pending").await?;
    let client = client().await?;
    create(
        &f.artifacts,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
            "metadata": {"name": "late", "namespace": f.ns.name}
        }),
    )
    .await?;
    let not_ready = json!({"status": {"conditions": [{
        "type": "Ready", "status": "False", "reason": "Failed", "message": "generator failed",
        "lastTransitionTime": "2026-12-07T10:00:00Z"}]}});
    f.artifacts
        .patch_status("late", &PatchParams::default(), &Patch::Merge(&not_ready))
        .await?;
    let ks_api = kustomizations(&client, &f.ns.name);
    create(
        &ks_api,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "late", "namespace": f.ns.name},
            "spec": {"interval": "10m", "path": "./deploy", "prune": true,
                     "targetNamespace": f.ns.name,
                     "sourceRef": {"kind": "ExternalArtifact", "name": "late"}}
        }),
    )
    .await?;
    let waiting = wait_ready_where(&ks_api, "late", |s, _, _| s == "False").await?;
    let message = condition(&waiting, "Ready")
        .map(|c| c.2)
        .unwrap_or_default();
    let expected = format!(
        "Source 'ExternalArtifact/{}/late' is not ready, artifact not found",
        f.ns.name
    );
    assert_eq!(message, expected);

    let tarball = tarball(&[("late", "here")])?;
    let url = f.serve("late.tar.gz", &tarball)?;
    f.publish("late", &url, "v1@sha256:1", &sha256(&tarball))
        .await?;
    wait_ready_where(&ks_api, "late", |s, _, _| s == "True").await?;
    let maps = f.ns.api::<ConfigMap>();
    assert_eq!(value_of(&maps, "late").await?.as_deref(), Some("here"));
    Ok(())
}

/// The archive of the test chart `web` at `version`, as `helm package` makes it.
fn chart_archive(version: &str) -> anyhow::Result<Vec<u8>> {
    let work = tempfile::tempdir()?;
    let dir = write_chart(work.path(), &ChartSpec::new("web", version, "6.0.0"))?;
    let archive = helm_package(&dir, work.path())?;
    Ok(std::fs::read(archive)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_installs_and_upgrades_a_chart_from_an_external_artifact()
-> anyhow::Result<()> {
    let f = Fixture::start("external-chart").await?;
    let client = client().await?;
    create(
        &f.artifacts,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
            "metadata": {"name": "web", "namespace": f.ns.name}, "spec": {}
        }),
    )
    .await?;
    let first = chart_archive("1.0.0")?;
    let url = f.serve("web-1.0.0.tgz", &first)?;
    f.publish("web", &url, "1.0.0", &sha256(&first)).await?;
    let releases = dynamic_api(
        &client,
        &f.ns.name,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    );
    create(
        &releases,
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": f.ns.name},
            "spec": {"interval": "10m", "timeout": "60s", "values": {"replicas": 2},
                     "chartRef": {"kind": "ExternalArtifact", "name": "web"}}}),
    )
    .await?;
    let ready = wait_ready_where(&releases, "web", |s, _, _| s == "True").await?;
    let (_, reason, message) = condition(&ready, "Ready").unwrap_or_default();
    assert_eq!(reason, "InstallSucceeded", "{message}");
    assert!(message.ends_with("with chart web@1.0.0"), "{message}");
    let deployments = f.ns.api::<Deployment>();
    assert!(deployments.get_opt("web").await?.is_some());

    // A new chart version is upgraded to as soon as the producer writes it.
    let second = chart_archive("1.1.0")?;
    let url = f.serve("web-1.1.0.tgz", &second)?;
    f.publish("web", &url, "1.1.0", &sha256(&second)).await?;
    let upgraded = wait_ready_where(&releases, "web", |s, r, _| {
        s == "True" && r == "UpgradeSucceeded"
    })
    .await?;
    let message = condition(&upgraded, "Ready")
        .map(|c| c.2)
        .unwrap_or_default();
    assert!(message.ends_with("with chart web@1.1.0"), "{message}");

    // A chart archive that is not the one the digest names is refused, the release kept.
    let third = chart_archive("1.2.0")?;
    let url = f.serve("web-1.2.0.tgz", &third)?;
    let claimed = sha256(b"not the served chart");
    f.publish("web", &url, "1.2.0", &claimed).await?;
    let failed = wait_ready_where(&releases, "web", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&failed, "Ready").unwrap_or_default();
    assert_eq!(reason, "ArtifactFailed", "{message}");
    assert!(message.contains(&claimed), "{message}");
    assert!(message.contains(&sha256(&third)), "{message}");
    assert!(
        deployments.get_opt("web").await?.is_some(),
        "the release stays"
    );
    Ok(())
}

/// A gzipped tarball whose one entry is named `path` verbatim (`tar` refuses to write `..`).
fn tarball_with_raw_path(path: &str, body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    let name = &mut header
        .as_gnu_mut()
        .ok_or_else(|| anyhow::anyhow!("gnu header"))?
        .name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append(&header, body)?;
    Ok(tar.into_inner()?.finish()?)
}

/// Hostile or broken artifacts are named in Ready=False and change nothing applied: a URL the
/// server does not have, and a tarball with an entry that escapes its root (whose digest is
/// right: the producer itself is not trusted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_escaping_artifacts_are_named_and_change_nothing() -> anyhow::Result<()> {
    let f = Fixture::start("external-hostile").await?;
    let client = client().await?;
    create(
        &f.artifacts,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
            "metadata": {"name": "app", "namespace": f.ns.name}
        }),
    )
    .await?;
    let good = tarball(&[("one", "a")])?;
    let url = f.serve("good.tar.gz", &good)?;
    f.publish("app", &url, "v1@sha256:1", &sha256(&good))
        .await?;
    let ks_api = kustomizations(&client, &f.ns.name);
    create(
        &ks_api,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": f.ns.name},
            "spec": {"interval": "10m", "path": "./deploy", "prune": true,
                     "targetNamespace": f.ns.name,
                     "sourceRef": {"kind": "ExternalArtifact", "name": "app"}}
        }),
    )
    .await?;
    wait_ready_where(&ks_api, "app", |s, _, _| s == "True").await?;
    let maps = f.ns.api::<ConfigMap>();

    let absent = format!("{}/absent.tar.gz", f.server.url());
    f.publish("app", &absent, "v2@sha256:2", &sha256(b"absent"))
        .await?;
    let failed = wait_ready_where(&ks_api, "app", |s, _, m| {
        s == "False" && m.contains("absent.tar.gz")
    })
    .await?;
    let (_, reason, message) = condition(&failed, "Ready").unwrap_or_default();
    assert_eq!(reason, "ArtifactFailed", "{message}");
    assert!(message.contains("404 Not Found"), "{message}");

    let escaping = tarball_with_raw_path("../escape.yaml", b"kind: ConfigMap\n")?;
    let url = f.serve("escaping.tar.gz", &escaping)?;
    f.publish("app", &url, "v3@sha256:3", &sha256(&escaping))
        .await?;
    let failed = wait_ready_where(&ks_api, "app", |s, _, m| {
        s == "False" && m.contains("escaping.tar.gz")
    })
    .await?;
    let (_, reason, message) = condition(&failed, "Ready").unwrap_or_default();
    assert_eq!(reason, "ArtifactFailed", "{message}");
    assert!(message.contains("cannot extract artifact"), "{message}");
    assert_eq!(failed["status"]["lastAppliedRevision"], "v1@sha256:1");
    assert_eq!(value_of(&maps, "one").await?.as_deref(), Some("a"));
    Ok(())
}
