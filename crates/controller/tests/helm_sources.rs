//! HelmRepository and HelmChart end to end, against real chart repositories on loopback (nginx
//! serving what the Go-built `helm package` / `helm repo index` made, plain, Basic auth and
//! TLS), the real OCI registry (charts pushed with `helm push`) and the SSH git server: the
//! index is stored, the newest chart within a constraint is pulled and served, a newly
//! published version is picked up on request, a constraint nothing meets is reported by name,
//! credentials and CAs come from Secrets, and a chart directory in git is packaged with its
//! values files merged.

mod common;

use common::InProcessController;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tether_testkit::chartrepo::{ChartRepoServer, helm_package, push_oci_chart};
use tether_testkit::charts::{ChartSpec, write_chart};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{
    GitSourceFixture, condition, create, dynamic_api, merge_patch, wait_ready_where,
};
use tether_testkit::http::http_get_bytes;
use tether_testkit::registry::RegistryServer;

fn helm_repository(name: &str, ns: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })
}

fn helm_chart(name: &str, ns: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The bytes at `url` (the controller's storage), checked against `digest`.
async fn download(url: &str, digest: &str) -> anyhow::Result<Vec<u8>> {
    let target = url.to_owned();
    let (code, body) = tokio::task::spawn_blocking(move || http_get_bytes(&target))
        .await?
        .ok_or_else(|| anyhow::anyhow!("nothing answers at {url}"))?;
    anyhow::ensure!(code == 200, "GET {url}: {code}");
    assert_eq!(format!("sha256:{:x}", Sha256::digest(&body)), digest);
    Ok(body)
}

/// The chart stored as `object`'s artifact, loaded as Helm loads it.
async fn stored_chart(object: &Value) -> anyhow::Result<tether_helm::Chart> {
    let artifact = &object["status"]["artifact"];
    let body = download(&text(&artifact["url"]), &text(&artifact["digest"])).await?;
    Ok(tether_helm::load::load_archive(
        &body,
        tether_helm::load::Limits::default(),
    )?)
}

struct Fixture {
    client: kube::Client,
    ns: String,
    /// The namespace, deleted on drop, when this fixture made it.
    _owned: Option<TestNamespace>,
    repositories: Api<DynamicObject>,
    charts: Api<DynamicObject>,
    _controller: InProcessController,
}

impl Fixture {
    async fn start(prefix: &str) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let mut fixture = Self::in_namespace(client, &ns.name).await?;
        fixture._owned = Some(ns);
        Ok(fixture)
    }

    async fn in_namespace(client: kube::Client, ns: &str) -> anyhow::Result<Self> {
        let group = "source.toolkit.fluxcd.io";
        let repositories = dynamic_api(&client, ns, group, "v1", "HelmRepository");
        let charts = dynamic_api(&client, ns, group, "v1", "HelmChart");
        let controller = InProcessController::start(ns).await?;
        Ok(Self {
            client,
            ns: ns.to_owned(),
            _owned: None,
            repositories,
            charts,
            _controller: controller,
        })
    }

    async fn secret(&self, name: &str, data: Value) -> anyhow::Result<()> {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": self.ns},
            "stringData": data,
        }))?;
        Api::<Secret>::namespaced(self.client.clone(), &self.ns)
            .create(&PostParams::default(), &secret)
            .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_chart_in_range_is_pulled_and_a_new_one_picked_up_on_request()
-> anyhow::Result<()> {
    let server = ChartRepoServer::start()?;
    for version in ["60.5.0", "61.0.0", "61.1.0"] {
        server.publish_chart("podinfo", version, "")?;
    }
    let f = Fixture::start("helm-http").await?;
    let spec = json!({"url": server.url(), "interval": "10m"});
    create(&f.repositories, helm_repository("charts", &f.ns, spec)).await?;
    let repo = wait_ready_where(&f.repositories, "charts", |s, _, _| s == "True").await?;
    let artifact = &repo["status"]["artifact"];
    let revision = text(&artifact["revision"]);
    assert!(revision.starts_with("sha256:"), "{revision}");
    assert_eq!(
        condition(&repo, "Ready").map(|c| c.2),
        Some(format!("stored artifact: revision '{revision}'"))
    );
    assert!(
        text(&artifact["path"]).ends_with(&format!(
            "index-{}.yaml",
            revision.trim_start_matches("sha256:")
        )),
        "{artifact}"
    );
    let index = download(&text(&artifact["url"]), &text(&artifact["digest"])).await?;
    let served = std::fs::read(server.root().join("index.yaml"))?;
    assert_eq!(index, served, "the index is stored as it was served");

    let spec = json!({"chart": "podinfo", "version": "61.x", "interval": "10m",
                      "sourceRef": {"kind": "HelmRepository", "name": "charts"}});
    create(&f.charts, helm_chart("podinfo", &f.ns, spec)).await?;
    let chart = wait_ready_where(&f.charts, "podinfo", |s, _, _| s == "True").await?;
    assert_eq!(
        condition(&chart, "Ready"),
        Some((
            "True".into(),
            "ChartPullSucceeded".into(),
            "pulled 'podinfo' chart with version '61.1.0'".into()
        ))
    );
    assert_eq!(chart["status"]["artifact"]["revision"], "61.1.0");
    assert!(text(&chart["status"]["artifact"]["path"]).ends_with("/podinfo-61.1.0.tgz"));
    assert_eq!(chart["status"]["observedChartName"], "podinfo");
    assert_eq!(chart["status"]["observedSourceArtifactRevision"], revision);
    let archive = std::fs::read(server.root().join("podinfo-61.1.0.tgz"))?;
    let stored = stored_chart(&chart).await?;
    assert_eq!(stored.metadata.version, "61.1.0");
    assert_eq!(
        chart["status"]["artifact"]["digest"],
        format!("sha256:{:x}", Sha256::digest(&archive)),
        "a pulled chart is stored as served"
    );

    // A new version in range, seen once the repository is asked to reconcile.
    server.publish_chart("podinfo", "61.2.0", "")?;
    let requested =
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-1"}}});
    merge_patch(&f.repositories, "charts", requested).await?;
    let newer = wait_ready_where(&f.charts, "podinfo", |s, _, m| {
        s == "True" && m.contains("'61.2.0'")
    })
    .await?;
    assert_eq!(newer["status"]["artifact"]["revision"], "61.2.0");
    assert_ne!(newer["status"]["observedSourceArtifactRevision"], revision);

    // A constraint nothing meets is named, and the chart stalls.
    let spec = json!({"chart": "podinfo", "version": "99.x", "interval": "10m",
                      "sourceRef": {"kind": "HelmRepository", "name": "charts"}});
    create(&f.charts, helm_chart("missing", &f.ns, spec)).await?;
    let missing = wait_ready_where(&f.charts, "missing", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&missing, "Ready").unwrap_or_default();
    assert_eq!(reason, "InvalidChartReference");
    assert!(
        message.contains("no chart version found for podinfo-99.x"),
        "{message}"
    );
    assert_eq!(
        condition(&missing, "Stalled").map(|c| c.0).as_deref(),
        Some("True")
    );

    // Values files of a repository chart: merged into a repackaged chart, versioned
    // `+<generation>`.
    let spec = json!({"chart": "podinfo", "version": "61.x", "interval": "10m",
                      "valuesFiles": ["values.yaml"],
                      "sourceRef": {"kind": "HelmRepository", "name": "charts"}});
    create(&f.charts, helm_chart("with-values", &f.ns, spec)).await?;
    let packaged = wait_ready_where(&f.charts, "with-values", |s, _, _| s == "True").await?;
    assert_eq!(
        condition(&packaged, "Ready").map(|c| (c.1, c.2)),
        Some((
            "ChartPackageSucceeded".into(),
            "packaged 'podinfo' chart with version '61.2.0+1' and merged values files [values.yaml]"
                .into()
        ))
    );
    assert_eq!(stored_chart(&packaged).await?.metadata.version, "61.2.0+1");

    // Deleted, a chart's artifacts go with it.
    let url = text(&newer["status"]["artifact"]["url"]);
    f.charts.delete("podinfo", &Default::default()).await?;
    tether_testkit::flux::wait_for_gone(&f.charts, "podinfo").await?;
    let (code, _) = tokio::task::spawn_blocking(move || http_get_bytes(&url))
        .await?
        .unwrap_or_default();
    assert_eq!(code, 404, "the artifact of a deleted chart is removed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_certificates_come_from_secrets() -> anyhow::Result<()> {
    let basic = ChartRepoServer::start_with_basic_auth("chartuser", "s3cret")?;
    basic.publish_chart("podinfo", "1.0.0", "")?;
    let tls = ChartRepoServer::start_with_tls()?;
    tls.publish_chart("podinfo", "2.0.0", "")?;
    let ca = tls
        .tls()
        .ok_or_else(|| anyhow::anyhow!("TLS material"))?
        .ca_pem
        .clone();
    let f = Fixture::start("helm-auth").await?;
    f.secret(
        "basic",
        json!({"username": "chartuser", "password": "s3cret"}),
    )
    .await?;
    f.secret(
        "wrong",
        json!({"username": "chartuser", "password": "nope"}),
    )
    .await?;
    f.secret("ca", json!({"ca.crt": ca})).await?;

    let spec = json!({"url": basic.url(), "interval": "10m", "secretRef": {"name": "basic"}});
    create(&f.repositories, helm_repository("basic", &f.ns, spec)).await?;
    let spec = json!({"url": basic.url(), "interval": "10m", "secretRef": {"name": "wrong"}});
    create(&f.repositories, helm_repository("wrong", &f.ns, spec)).await?;
    let spec = json!({"url": tls.url(), "interval": "10m", "certSecretRef": {"name": "ca"}});
    create(&f.repositories, helm_repository("tls", &f.ns, spec)).await?;
    let spec = json!({"url": tls.url(), "interval": "10m"});
    create(&f.repositories, helm_repository("untrusted", &f.ns, spec)).await?;

    wait_ready_where(&f.repositories, "basic", |s, _, _| s == "True").await?;
    wait_ready_where(&f.repositories, "tls", |s, _, _| s == "True").await?;
    let wrong = wait_ready_where(&f.repositories, "wrong", |s, _, _| s == "False").await?;
    let (_, _, message) = condition(&wrong, "Ready").unwrap_or_default();
    assert!(
        message.starts_with("failed to fetch Helm repository index: ") && message.contains("401"),
        "{message}"
    );
    assert!(
        !message.contains("nope"),
        "no secret in messages: {message}"
    );
    let untrusted = wait_ready_where(&f.repositories, "untrusted", |s, _, _| s == "False").await?;
    let (_, _, message) = condition(&untrusted, "Ready").unwrap_or_default();
    assert!(
        message.starts_with("failed to fetch Helm repository index: "),
        "{message}"
    );

    // Charts are downloaded with the repository's credentials and CA.
    for (name, repo, version) in [
        ("from-basic", "basic", "1.0.0"),
        ("from-tls", "tls", "2.0.0"),
    ] {
        let spec = json!({"chart": "podinfo", "interval": "10m",
                          "sourceRef": {"kind": "HelmRepository", "name": repo}});
        create(&f.charts, helm_chart(name, &f.ns, spec)).await?;
        let chart = wait_ready_where(&f.charts, name, |s, _, _| s == "True").await?;
        assert_eq!(chart["status"]["artifact"]["revision"], version);
        assert_eq!(stored_chart(&chart).await?.metadata.version, version);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_in_git_is_packaged_with_its_values_files_and_revision() -> anyhow::Result<()> {
    let git = GitSourceFixture::start("helm-git", "2s").await?;
    let work = tempfile::tempdir()?;
    let chart_dir = write_chart(work.path(), &ChartSpec::new("podinfo", "1.0.0", ""))?;
    let mut files: Vec<(String, String)> = Vec::new();
    for entry in walk(&chart_dir)? {
        let relative = entry
            .strip_prefix(&chart_dir)?
            .to_string_lossy()
            .into_owned();
        files.push((
            format!("charts/podinfo/{relative}"),
            std::fs::read_to_string(&entry)?,
        ));
    }
    files.push(("env/prod.yaml".into(), "replicas: 5\nextra: prod\n".into()));
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let commit = git.repo.commit("master", &files, "add chart")?;
    let f = Fixture::in_namespace(git.client.clone(), &git.ns.name).await?;
    let spec = json!({"chart": "./charts/podinfo", "interval": "10m",
                      "reconcileStrategy": "Revision",
                      "valuesFiles": ["charts/podinfo/values.yaml", "env/prod.yaml"],
                      "sourceRef": {"kind": "GitRepository", "name": "app"}});
    create(&f.charts, helm_chart("podinfo", &f.ns, spec)).await?;
    let short = &commit[..12];
    let expected = format!("1.0.0+{short}.1");
    let chart = wait_ready_where(&f.charts, "podinfo", |s, _, m| {
        s == "True" && m.contains(&expected)
    })
    .await?;
    assert_eq!(
        condition(&chart, "Ready"),
        Some((
            "True".into(),
            "ChartPackageSucceeded".into(),
            format!(
                "packaged 'podinfo' chart with version '{expected}' and merged values files [charts/podinfo/values.yaml env/prod.yaml]"
            )
        ))
    );
    assert_eq!(chart["status"]["artifact"]["revision"], expected.as_str());
    assert_eq!(
        chart["status"]["observedValuesFiles"],
        json!(["charts/podinfo/values.yaml", "env/prod.yaml"])
    );
    let stored = stored_chart(&chart).await?;
    assert_eq!(stored.metadata.version, expected);
    assert_eq!(stored.values["replicas"], 5.0);
    assert_eq!(stored.values["extra"], "prod");
    assert!(
        stored.values.contains_key("image"),
        "values.yaml is merged under the later file"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_of_an_oci_repository_is_pulled_by_constraint() -> anyhow::Result<()> {
    let registry = RegistryServer::start()?;
    let work = tempfile::tempdir()?;
    let mut url = String::new();
    for version in ["1.1.0", "1.2.0", "2.0.0"] {
        let dir = write_chart(work.path(), &ChartSpec::new("podinfo", version, ""))?;
        let archive = helm_package(&dir, work.path())?;
        url = push_oci_chart(&registry, &archive, "charts")?;
    }
    let f = Fixture::start("helm-oci").await?;
    let spec = json!({"url": url, "type": "oci", "interval": "10m", "insecure": true});
    create(&f.repositories, helm_repository("oci", &f.ns, spec)).await?;
    let spec = json!({"chart": "podinfo", "version": "1.x", "interval": "10m",
                      "sourceRef": {"kind": "HelmRepository", "name": "oci"}});
    create(&f.charts, helm_chart("podinfo", &f.ns, spec)).await?;
    let chart = wait_ready_where(&f.charts, "podinfo", |s, _, _| s == "True").await?;
    assert_eq!(
        condition(&chart, "Ready").map(|c| c.2),
        Some("pulled 'podinfo' chart with version '1.2.0'".into())
    );
    assert_eq!(stored_chart(&chart).await?.metadata.version, "1.2.0");
    // The repository itself is static, as in Flux v1: no artifact, no conditions.
    let repo = f.repositories.get("oci").await?;
    let repo = serde_json::to_value(repo)?;
    assert!(repo["status"]["artifact"].is_null(), "{repo}");
    assert!(condition(&repo, "Ready").is_none(), "{repo}");
    Ok(())
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}
