//! OCIRepository end to end, against the real OCI registry on loopback: a Flux artifact (Flux's
//! media types and annotations) is pulled at the highest tag in a semver range, stored and
//! served; a newer tag in range is pulled on request; `copy` keeps the layer as it is; a range
//! that matches nothing and a layer that is not a tarball are reported by name.

mod common;

use common::InProcessController;
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{condition, create, dynamic_api, merge_patch, wait_ready_where};
use tether_testkit::http::http_get_bytes;
use tether_testkit::oci::{FLUX_CONTENT, push_flux_artifact, tarball};
use tether_testkit::registry::RegistryServer;

fn oci_repository(name: &str, ns: &str, url: &str, reference: Value) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"url": url, "interval": "10m", "ref": reference, "timeout": "20s"}
    })
}

fn artifact_of(object: &Value) -> (String, String, String) {
    let artifact = &object["status"]["artifact"];
    let text = |key: &str| artifact[key].as_str().unwrap_or_default().to_owned();
    (text("revision"), text("url"), text("digest"))
}

/// The files of the artifact at `url`, read back through the storage server.
async fn downloaded_files(url: &str, digest: &str) -> anyhow::Result<tempfile::TempDir> {
    let download = url.to_owned();
    let (code, body) = tokio::task::spawn_blocking(move || http_get_bytes(&download))
        .await?
        .ok_or_else(|| anyhow::anyhow!("nothing answers at {url}"))?;
    anyhow::ensure!(code == 200, "GET {url}: {code}");
    assert_eq!(format!("sha256:{:x}", Sha256::digest(&body)), digest);
    let dir = tempfile::tempdir()?;
    let archive = dir.path().join("artifact.tar.gz");
    std::fs::write(&archive, &body)?;
    tether_source::extract_tarball(&archive, &dir.path().join("files"))?;
    Ok(dir)
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join("files").join(path)).unwrap_or_default()
}

struct OciFixture {
    registry: RegistryServer,
    ns: TestNamespace,
    sources: Api<DynamicObject>,
    _controller: InProcessController,
}

impl OciFixture {
    async fn start(prefix: &str) -> anyhow::Result<Self> {
        Self::start_with(prefix, |_| {}).await
    }

    async fn start_with(
        prefix: &str,
        configure: impl FnOnce(&mut tether_controller::ReconcilerOptions),
    ) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let registry = RegistryServer::start()?;
        let sources = dynamic_api(
            &client,
            &ns.name,
            "source.toolkit.fluxcd.io",
            "v1",
            "OCIRepository",
        );
        let controller = InProcessController::start_with(&ns.name, configure).await?;
        Ok(Self {
            registry,
            ns,
            sources,
            _controller: controller,
        })
    }

    fn url(&self) -> String {
        format!("oci://{}", self.registry.image("manifests/app"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_highest_tag_in_range_is_pulled_stored_and_served() -> anyhow::Result<()> {
    let f = OciFixture::start("oci-semver").await?;
    let v1 = tarball(&[("deploy/config.yaml", "version: one\n")])?;
    let v1_digest = push_flux_artifact(&f.registry, "manifests/app", "1.0.0", &v1).await?;
    push_flux_artifact(
        &f.registry,
        "manifests/app",
        "2.0.0",
        &tarball(&[("deploy/config.yaml", "version: two\n")])?,
    )
    .await?;
    let reference = json!({"semver": ">=1.0.0 <2.0.0"});
    create(
        &f.sources,
        oci_repository("app", &f.ns.name, &f.url(), reference),
    )
    .await?;

    let ready = wait_ready_where(&f.sources, "app", |s, _, _| s == "True").await?;
    let (revision, url, digest) = artifact_of(&ready);
    assert_eq!(revision, format!("1.0.0@{v1_digest}"));
    assert_eq!(
        condition(&ready, "Ready").map(|c| c.2),
        Some(format!("stored artifact for digest '{revision}'"))
    );
    assert_eq!(
        ready["status"]["artifact"]["metadata"]["org.opencontainers.image.source"],
        "https://example.invalid/app"
    );
    let files = downloaded_files(&url, &digest).await?;
    assert_eq!(read(files.path(), "deploy/config.yaml"), "version: one\n");

    // A newer tag in range is pulled when a reconcile is requested.
    let v11 = tarball(&[("deploy/config.yaml", "version: one-one\n")])?;
    let v11_digest = push_flux_artifact(&f.registry, "manifests/app", "1.1.0", &v11).await?;
    let requested =
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-1"}}});
    merge_patch(&f.sources, "app", requested).await?;
    let expected = format!("1.1.0@{v11_digest}");
    let newer = wait_ready_where(&f.sources, "app", |s, _, m| {
        s == "True" && m.contains(&expected)
    })
    .await?;
    let (_, url, digest) = artifact_of(&newer);
    let files = downloaded_files(&url, &digest).await?;
    assert_eq!(
        read(files.path(), "deploy/config.yaml"),
        "version: one-one\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_layer_is_stored_unchanged() -> anyhow::Result<()> {
    let f = OciFixture::start("oci-copy").await?;
    let layer = tarball(&[("app.yaml", "kind: ConfigMap\n")])?;
    push_flux_artifact(&f.registry, "manifests/app", "latest", &layer).await?;
    let mut object = oci_repository("app", &f.ns.name, &f.url(), json!({}));
    object["spec"]["layerSelector"] = json!({"mediaType": FLUX_CONTENT, "operation": "copy"});
    create(&f.sources, object).await?;
    let ready = wait_ready_where(&f.sources, "app", |s, _, _| s == "True").await?;
    let (revision, _, digest) = artifact_of(&ready);
    assert!(revision.starts_with("latest@sha256:"), "{revision}");
    assert_eq!(digest, format!("sha256:{:x}", Sha256::digest(&layer)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_references_and_layers_are_reported_by_name() -> anyhow::Result<()> {
    let f = OciFixture::start("oci-bad").await?;
    push_flux_artifact(
        &f.registry,
        "manifests/app",
        "1.0.0",
        b"this is not a tarball",
    )
    .await?;
    create(
        &f.sources,
        oci_repository(
            "nomatch",
            &f.ns.name,
            &f.url(),
            json!({"semver": ">=5.0.0"}),
        ),
    )
    .await?;
    create(
        &f.sources,
        oci_repository("notar", &f.ns.name, &f.url(), json!({"tag": "1.0.0"})),
    )
    .await?;
    let mut wrong_type = oci_repository("wrongtype", &f.ns.name, &f.url(), json!({"tag": "1.0.0"}));
    wrong_type["spec"]["layerSelector"] = json!({"mediaType": "application/x-nothing"});
    create(&f.sources, wrong_type).await?;

    let nomatch = wait_ready_where(&f.sources, "nomatch", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&nomatch, "Ready").unwrap_or_default();
    assert_eq!(reason, "OCIArtifactPullFailed", "{message}");
    assert!(
        message.contains("no match found for semver: >=5.0.0"),
        "{message}"
    );

    let notar = wait_ready_where(&f.sources, "notar", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&notar, "Ready").unwrap_or_default();
    assert_eq!(reason, "OCIArtifactLayerOperationFailed", "{message}");
    assert_eq!(
        condition(&notar, "Stalled").map(|c| c.0),
        Some("True".into())
    );
    assert!(notar["status"]["artifact"].is_null());

    let wrong = wait_ready_where(&f.sources, "wrongtype", |s, _, _| s == "False").await?;
    let message = condition(&wrong, "Ready").map(|c| c.2).unwrap_or_default();
    assert!(message.contains("application/x-nothing"), "{message}");
    Ok(())
}

fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: {value}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_applies_and_prunes_what_an_artifact_holds() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    use tether_testkit::flux::{kustomizations, wait_for_gone};
    let f = OciFixture::start("oci-apply").await?;
    let (one, two) = (config_map("one", "a"), config_map("two", "a"));
    push_flux_artifact(
        &f.registry,
        "manifests/app",
        "1.0.0",
        &tarball(&[("deploy/one.yaml", &one), ("deploy/two.yaml", &two)])?,
    )
    .await?;
    let reference = json!({"semver": "1.x"});
    create(
        &f.sources,
        oci_repository("app", &f.ns.name, &f.url(), reference),
    )
    .await?;
    let client = client().await?;
    let ks_api = kustomizations(&client, &f.ns.name);
    create(
        &ks_api,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": f.ns.name},
            "spec": {"interval": "10m", "path": "./deploy", "prune": true,
                     "targetNamespace": f.ns.name,
                     "sourceRef": {"kind": "OCIRepository", "name": "app"}}
        }),
    )
    .await?;
    let applied = wait_ready_where(&ks_api, "app", |s, _, _| s == "True").await?;
    let revision = applied["status"]["lastAppliedRevision"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(revision.starts_with("1.0.0@sha256:"), "{revision}");
    let maps = f.ns.api::<ConfigMap>();
    assert!(maps.get_opt("two").await?.is_some());

    // A new version in range, fetched on request, is applied without waiting for the
    // Kustomization's interval; what it no longer holds is pruned.
    let digest = push_flux_artifact(
        &f.registry,
        "manifests/app",
        "1.1.0",
        &tarball(&[("deploy/one.yaml", &config_map("one", "b"))])?,
    )
    .await?;
    let requested =
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-2"}}});
    merge_patch(&f.sources, "app", requested).await?;
    let expected = format!("1.1.0@{digest}");
    wait_ready_where(&ks_api, "app", |s, _, m| {
        s == "True" && m.contains(&expected)
    })
    .await?;
    wait_for_gone(&maps, "two").await?;
    let one = maps.get("one").await?;
    assert_eq!(
        one.data
            .unwrap_or_default()
            .get("value")
            .map(String::as_str),
        Some("b")
    );
    Ok(())
}

/// A Kustomization is woken by its OCIRepository's first artifact, through the watch of
/// OCIRepositories: it applies within seconds, not at its next requeue (the dependency requeue
/// and the retry are ten minutes here), though it first found no source at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_applies_as_soon_as_its_source_has_an_artifact() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    use std::time::{Duration, Instant};
    use tether_testkit::flux::kustomizations;
    let f = OciFixture::start_with("oci-prompt", |options| {
        options.dependency_requeue = Duration::from_secs(600);
        options.default_retry = Duration::from_secs(600);
    })
    .await?;
    let client = client().await?;
    let ks_api = kustomizations(&client, &f.ns.name);
    create(
        &ks_api,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": f.ns.name},
            "spec": {"interval": "10m", "path": "./", "prune": true,
                     "targetNamespace": f.ns.name,
                     "sourceRef": {"kind": "OCIRepository", "name": "app"}}
        }),
    )
    .await?;
    let missing = wait_ready_where(&ks_api, "app", |s, _, _| s == "False").await?;
    let message = condition(&missing, "Ready")
        .map(|c| c.2)
        .unwrap_or_default();
    assert!(message.contains("not found"), "{message}");

    // The source exists, but its tag does not yet: no artifact.
    create(
        &f.sources,
        oci_repository("app", &f.ns.name, &f.url(), json!({"tag": "1.0.0"})),
    )
    .await?;
    let failed = wait_ready_where(&f.sources, "app", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&failed, "Ready").unwrap_or_default();
    assert_eq!(reason, "OCIArtifactPullFailed", "{message}");
    // A source without an artifact changes none of the Kustomization's inputs (Flux's source
    // predicate wakes on a new revision only): it still has applied nothing.
    let waiting = ks_api.get("app").await?;
    assert!(waiting.data["status"]["lastAppliedRevision"].is_null());

    // The tag is pushed and the source fetched on request: its first artifact is applied at once.
    let digest = push_flux_artifact(
        &f.registry,
        "manifests/app",
        "1.0.0",
        &tarball(&[("config.yaml", &config_map("prompt", "a"))])?,
    )
    .await?;
    let requested = Instant::now();
    merge_patch(
        &f.sources,
        "app",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-3"}}}),
    )
    .await?;
    let expected = format!("1.0.0@{digest}");
    wait_ready_where(&ks_api, "app", |s, _, m| {
        s == "True" && m.contains(&expected)
    })
    .await?;
    let took = requested.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "applied {took:?} after the source was asked to fetch"
    );
    assert!(f.ns.api::<ConfigMap>().get_opt("prompt").await?.is_some());
    Ok(())
}
