//! Bucket end to end, against a real S3 server (versitygw on loopback) and the local control
//! plane: uploaded files are stored as an artifact at Flux's revision and applied by a
//! Kustomization; an object removed from the bucket is pruned from the cluster; wrong
//! credentials, an unknown bucket, a cloud provider and an unsafe key are reported by name while
//! what was applied stays; an HTTPS bucket is read with the CA of `certSecretRef`; a HelmChart
//! is packaged from a chart directory in a bucket.

mod common;

use common::InProcessController;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{
    condition, create, dynamic_api, kustomizations, merge_patch, wait_for_gone, wait_ready_where,
};
use tether_testkit::s3::S3Server;

struct BucketFixture {
    s3: S3Server,
    ns: TestNamespace,
    sources: Api<DynamicObject>,
    _controller: InProcessController,
}

impl BucketFixture {
    async fn start(prefix: &str) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let s3 = S3Server::start()?;
        let sources = dynamic_api(
            &client,
            &ns.name,
            "source.toolkit.fluxcd.io",
            "v1",
            "Bucket",
        );
        let controller = InProcessController::start(&ns.name).await?;
        Ok(Self {
            s3,
            ns,
            sources,
            _controller: controller,
        })
    }

    /// Secret `name` with the server's access key and `secret_key`.
    async fn credentials(&self, name: &str, secret_key: &str) -> anyhow::Result<()> {
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": self.ns.name},
            "stringData": {"accesskey": self.s3.access_key(), "secretkey": secret_key}
        }))?;
        let secrets = self.ns.api::<Secret>();
        let params = PatchParams::apply("bucket-source-test").force();
        secrets.patch(name, &params, &Patch::Apply(&secret)).await?;
        Ok(())
    }

    fn bucket(&self, name: &str, bucket_name: &str) -> Value {
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": {"name": name, "namespace": self.ns.name},
            "spec": {"bucketName": bucket_name, "endpoint": self.s3.endpoint(), "insecure": true,
                     "interval": "10m", "timeout": "20s", "secretRef": {"name": "s3-keys"}}
        })
    }

    async fn request_reconcile(&self, name: &str, token: &str) -> anyhow::Result<()> {
        let requested =
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
        merge_patch(&self.sources, name, requested).await
    }
}

fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: {value}\n")
}

/// Flux's revision of objects with single-part uploads: the sha256 of `<key> <md5>\n` lines.
fn expected_revision(objects: &[(&str, &str)]) -> String {
    let mut lines: Vec<String> = objects
        .iter()
        .map(|(key, content)| format!("{key} {:x}\n", Md5::digest(content.as_bytes())))
        .collect();
    lines.sort();
    format!(
        "sha256:{:x}",
        sha2::Sha256::digest(lines.concat().as_bytes())
    )
}

fn revision_of(object: &Value) -> String {
    object["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn kustomization_of_bucket(ns: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "app", "namespace": ns},
        "spec": {"interval": "10m", "path": "./deploy", "prune": true, "targetNamespace": ns,
                 "sourceRef": {"kind": "Bucket", "name": "app"}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_applies_and_prunes_what_a_bucket_holds() -> anyhow::Result<()> {
    let f = BucketFixture::start("bucket-apply").await?;
    let (one, two) = (config_map("one", "a"), config_map("two", "a"));
    let objects = [
        ("deploy/one.yaml", one.as_str()),
        ("deploy/two.yaml", two.as_str()),
    ];
    f.s3.create_bucket("manifests").await?;
    for (key, content) in objects {
        f.s3.put_object("manifests", key, content.as_bytes())
            .await?;
    }
    f.credentials("s3-keys", f.s3.secret_key()).await?;
    create(&f.sources, f.bucket("app", "manifests")).await?;
    let ready = wait_ready_where(&f.sources, "app", |s, _, _| s == "True").await?;
    let revision = expected_revision(&objects);
    assert_eq!(revision_of(&ready), revision);
    assert_eq!(
        condition(&ready, "Ready").map(|c| c.2),
        Some(format!("stored artifact: revision '{revision}'"))
    );

    let client = client().await?;
    let ks_api = kustomizations(&client, &f.ns.name);
    create(&ks_api, kustomization_of_bucket(&f.ns.name)).await?;
    let applied = wait_ready_where(&ks_api, "app", |s, _, _| s == "True").await?;
    assert_eq!(applied["status"]["lastAppliedRevision"], revision.as_str());
    let maps = f.ns.api::<ConfigMap>();
    assert!(maps.get_opt("two").await?.is_some());

    // An object removed from the bucket is pruned; a changed one is applied, on request.
    f.s3.delete_object("manifests", "deploy/two.yaml").await?;
    let changed = config_map("one", "b");
    f.s3.put_object("manifests", "deploy/one.yaml", changed.as_bytes())
        .await?;
    f.request_reconcile("app", "now-1").await?;
    let revision = expected_revision(&[("deploy/one.yaml", &changed)]);
    wait_ready_where(&ks_api, "app", |s, _, m| {
        s == "True" && m.contains(&revision)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_named_and_what_was_applied_stays() -> anyhow::Result<()> {
    let f = BucketFixture::start("bucket-auth").await?;
    let one = config_map("one", "a");
    f.s3.create_bucket("manifests").await?;
    f.s3.put_object("manifests", "deploy/one.yaml", one.as_bytes())
        .await?;
    f.credentials("s3-keys", f.s3.secret_key()).await?;
    create(&f.sources, f.bucket("app", "manifests")).await?;
    let client = client().await?;
    let ks_api = kustomizations(&client, &f.ns.name);
    create(&ks_api, kustomization_of_bucket(&f.ns.name)).await?;
    wait_ready_where(&ks_api, "app", |s, _, _| s == "True").await?;
    let stored = revision_of(&wait_ready_where(&f.sources, "app", |s, _, _| s == "True").await?);

    f.credentials("s3-keys", "not-the-secret-key").await?;
    f.s3.put_object(
        "manifests",
        "deploy/two.yaml",
        config_map("two", "a").as_bytes(),
    )
    .await?;
    f.request_reconcile("app", "now-1").await?;
    let failed = wait_ready_where(&f.sources, "app", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&failed, "Ready").unwrap_or_default();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(message.contains("'manifests'"), "{message}");
    assert!(message.contains("SignatureDoesNotMatch"), "{message}");
    assert!(!message.contains("not-the-secret-key"), "{message}");
    assert_eq!(revision_of(&failed), stored, "the artifact stays");
    let maps = f.ns.api::<ConfigMap>();
    assert!(maps.get_opt("one").await?.is_some());
    assert!(maps.get_opt("two").await?.is_none());
    let ks = serde_json::to_value(ks_api.get("app").await?)?;
    assert_eq!(condition(&ks, "Ready").map(|c| c.0), Some("True".into()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_buckets_bad_secrets_and_cloud_providers_are_named() -> anyhow::Result<()> {
    let f = BucketFixture::start("bucket-bad").await?;
    f.credentials("s3-keys", f.s3.secret_key()).await?;
    create(&f.sources, f.bucket("absent", "no-such-bucket")).await?;
    let mut aws = f.bucket("aws", "manifests");
    aws["spec"]["provider"] = json!("aws");
    create(&f.sources, aws).await?;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "half-keys"}, "stringData": {"accesskey": "only-this"}
    }))?;
    f.ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let mut half = f.bucket("half", "manifests");
    half["spec"]["secretRef"] = json!({"name": "half-keys"});
    create(&f.sources, half).await?;

    let absent = wait_ready_where(&f.sources, "absent", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&absent, "Ready").unwrap_or_default();
    assert_eq!(reason, "BucketOperationFailed", "{message}");
    assert_eq!(message, "bucket 'no-such-bucket' not found");

    let aws = wait_ready_where(&f.sources, "aws", |s, _, _| s == "False").await?;
    let message = condition(&aws, "Ready").map(|c| c.2).unwrap_or_default();
    assert!(
        message.contains("not supported yet: spec.provider 'aws'"),
        "{message}"
    );
    assert_eq!(condition(&aws, "Stalled").map(|c| c.0), Some("True".into()));

    let half = wait_ready_where(&f.sources, "half", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&half, "Ready").unwrap_or_default();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert_eq!(
        message,
        "invalid 'half-keys' secret data: required fields 'accesskey' and 'secretkey'"
    );
    Ok(())
}

/// versitygw itself refuses keys with `..` segments, so the unsafe key a real server can hold
/// here is one with a control character; it goes through the same refusal as an escaping key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsafe_key_is_refused_and_the_last_artifact_stays() -> anyhow::Result<()> {
    let f = BucketFixture::start("bucket-key").await?;
    f.s3.create_bucket("manifests").await?;
    f.s3.put_object(
        "manifests",
        "deploy/one.yaml",
        config_map("one", "a").as_bytes(),
    )
    .await?;
    f.credentials("s3-keys", f.s3.secret_key()).await?;
    create(&f.sources, f.bucket("app", "manifests")).await?;
    let first = wait_ready_where(&f.sources, "app", |s, _, _| s == "True").await?;
    let stored = revision_of(&first);

    f.s3.put_object("manifests", "deploy/evil\nname.yaml", b"kind: Secret\n")
        .await?;
    f.request_reconcile("app", "now-1").await?;
    let refused = wait_ready_where(&f.sources, "app", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&refused, "Ready").unwrap_or_default();
    assert_eq!(reason, "BucketOperationFailed", "{message}");
    assert!(
        message.contains("refusing object key 'deploy/evil\nname.yaml' in bucket 'manifests'"),
        "{message}"
    );
    assert_eq!(revision_of(&refused), stored, "the artifact stays");

    f.s3.delete_object("manifests", "deploy/evil\nname.yaml")
        .await?;
    // lastUpdateTime has second precision: a new archive would show.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    f.request_reconcile("app", "now-2").await?;
    let recovered = wait_ready_where(&f.sources, "app", |s, _, _| s == "True").await?;
    assert_eq!(revision_of(&recovered), stored);
    assert_eq!(
        recovered["status"]["artifact"]["lastUpdateTime"],
        first["status"]["artifact"]["lastUpdateTime"],
        "the bucket is back at the stored revision: nothing is downloaded or archived again"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_bucket_is_read_with_the_ca_of_cert_secret_ref() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "bucket-tls").await?;
    let s3 = S3Server::start_with_tls()?;
    s3.create_bucket("manifests").await?;
    s3.put_object("manifests", "app.yaml", config_map("one", "a").as_bytes())
        .await?;
    let ca = s3.tls().map(|t| t.ca_pem.clone()).unwrap_or_default();
    for (name, data) in [
        (
            "s3-keys",
            json!({"accesskey": s3.access_key(), "secretkey": s3.secret_key()}),
        ),
        ("s3-ca", json!({"ca.crt": ca})),
    ] {
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))?;
        ns.api::<Secret>()
            .create(&PostParams::default(), &secret)
            .await?;
    }
    let sources = dynamic_api(
        &client,
        &ns.name,
        "source.toolkit.fluxcd.io",
        "v1",
        "Bucket",
    );
    let _controller = InProcessController::start(&ns.name).await?;
    let spec = |cert: bool| {
        let mut spec = json!({"bucketName": "manifests", "endpoint": s3.endpoint(),
                              "interval": "10m", "timeout": "20s",
                              "secretRef": {"name": "s3-keys"}});
        if cert {
            spec["certSecretRef"] = json!({"name": "s3-ca"});
        }
        spec
    };
    for (name, cert) in [("trusted", true), ("untrusted", false)] {
        create(
            &sources,
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
                   "metadata": {"name": name, "namespace": ns.name}, "spec": spec(cert)}),
        )
        .await?;
    }
    let trusted = wait_ready_where(&sources, "trusted", |s, _, _| s == "True").await?;
    assert_eq!(
        revision_of(&trusted),
        expected_revision(&[("app.yaml", &config_map("one", "a"))])
    );
    let untrusted = wait_ready_where(&sources, "untrusted", |s, _, _| s == "False").await?;
    let (_, reason, message) = condition(&untrusted, "Ready").unwrap_or_default();
    assert_eq!(reason, "BucketOperationFailed", "{message}");
    assert!(message.contains("certificate"), "{message}");
    Ok(())
}

fn files_under(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_chart_is_packaged_from_a_chart_directory_in_a_bucket() -> anyhow::Result<()> {
    use tether_testkit::charts::{ChartSpec, write_chart};
    let f = BucketFixture::start("bucket-chart").await?;
    f.s3.create_bucket("charts").await?;
    let work = tempfile::tempdir()?;
    let chart_dir = write_chart(work.path(), &ChartSpec::new("podinfo", "1.0.0", ""))?;
    for file in files_under(&chart_dir)? {
        let key = format!(
            "podinfo/{}",
            file.strip_prefix(&chart_dir)?.to_string_lossy()
        );
        f.s3.put_object("charts", &key, &std::fs::read(&file)?)
            .await?;
    }
    f.credentials("s3-keys", f.s3.secret_key()).await?;
    create(&f.sources, f.bucket("charts", "charts")).await?;
    let client = client().await?;
    let charts = dynamic_api(
        &client,
        &f.ns.name,
        "source.toolkit.fluxcd.io",
        "v1",
        "HelmChart",
    );
    create(
        &charts,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
            "metadata": {"name": "podinfo", "namespace": f.ns.name},
            "spec": {"chart": "./podinfo", "interval": "10m",
                     "sourceRef": {"kind": "Bucket", "name": "charts"}}
        }),
    )
    .await?;
    let chart = wait_ready_where(&charts, "podinfo", |s, _, _| s == "True").await?;
    assert_eq!(
        condition(&chart, "Ready"),
        Some((
            "True".into(),
            "ChartPackageSucceeded".into(),
            "packaged 'podinfo' chart with version '1.0.0'".into()
        ))
    );
    assert_eq!(chart["status"]["artifact"]["revision"], "1.0.0");
    Ok(())
}
