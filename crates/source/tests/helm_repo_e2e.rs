//! Helm chart repositories against real servers: nginx serving archives made by the Go-built
//! `helm package` and an index made by `helm repo index` (tether-testkit's ChartRepoServer),
//! and the test registry holding charts pushed by `helm push`.

use std::path::Path;

use tether_registry::{Credentials, RegistryClient, ScanOptions};
use tether_source::helm_oci::{self, OciChartError};
use tether_source::helm_repo::TlsConfig;
use tether_source::{
    BasicAuth, CacheValidator, ChartLookupError, HelmRepoClient, HelmRepoError, HelmRepoOptions,
    IndexFetch,
};
use tether_testkit::chartrepo::{ChartRepoOptions, ChartRepoServer, helm_package, push_oci_chart};
use tether_testkit::charts::{ChartSpec, write_chart};
use tether_testkit::registry::RegistryServer;

const STACK: &str = "kube-prometheus-stack";

fn auth(user: &str, pass: &str) -> Option<BasicAuth> {
    Some(BasicAuth {
        username: user.into(),
        password: pass.into(),
    })
}

fn client(options: HelmRepoOptions) -> anyhow::Result<HelmRepoClient> {
    Ok(HelmRepoClient::new(options)?)
}

async fn fetch(
    client: &HelmRepoClient,
    url: &str,
    validator: Option<&CacheValidator>,
    dest: &Path,
) -> anyhow::Result<tether_source::FetchedIndex> {
    match client.fetch_index(url, validator, dest).await? {
        IndexFetch::Fetched(fetched) => Ok(fetched),
        IndexFetch::NotModified => anyhow::bail!("expected a new index, got NotModified"),
    }
}

#[tokio::test]
async fn index_with_basic_auth_is_fetched_then_not_modified_until_a_new_version_is_published()
-> anyhow::Result<()> {
    let repo = ChartRepoServer::start_with_basic_auth("charts", "s3cret")?;
    for version in ["60.5.0", "61.0.0", "61.1.0"] {
        repo.publish_chart(STACK, version, "")?;
    }
    let work = tempfile::tempdir()?;
    let dest = work.path().join("index.yaml");
    let client = client(HelmRepoOptions {
        basic_auth: auth("charts", "s3cret"),
        ..HelmRepoOptions::default()
    })?;

    let first = fetch(&client, &repo.url(), None, &dest).await?;
    assert_eq!(&*first.index.get(STACK, "61.x")?.version, "61.1.0");
    assert_eq!(&*first.index.get(STACK, "")?.version, "61.1.0");
    assert_eq!(&*first.index.get(STACK, "<61")?.version, "60.5.0");
    assert!(first.digest.starts_with("sha256:") && first.size > 0);
    assert!(first.validator.etag.is_some(), "nginx sends an ETag");
    let on_disk = std::fs::read(&dest)?;
    assert_eq!(on_disk, std::fs::read(repo.root().join("index.yaml"))?);

    let again = client
        .fetch_index(&repo.url(), Some(&first.validator), &dest)
        .await?;
    assert!(matches!(again, IndexFetch::NotModified), "{again:?}");

    repo.publish_chart(STACK, "61.2.0", "")?;
    let newer = fetch(&client, &repo.url(), Some(&first.validator), &dest).await?;
    assert_eq!(&*newer.index.get(STACK, "61.x")?.version, "61.2.0");
    assert_ne!(newer.digest, first.digest);
    Ok(())
}

#[tokio::test]
async fn wrong_password_and_missing_credentials_are_unauthorized() -> anyhow::Result<()> {
    let repo = ChartRepoServer::start_with_basic_auth("charts", "s3cret")?;
    repo.publish_chart("rabbitmq", "3.3.6", "")?;
    let work = tempfile::tempdir()?;
    let dest = work.path().join("index.yaml");
    for basic_auth in [auth("charts", "wrong"), None] {
        let client = client(HelmRepoOptions {
            basic_auth: basic_auth.clone(),
            ..HelmRepoOptions::default()
        })?;
        let error = client
            .fetch_index(&repo.url(), None, &dest)
            .await
            .expect_err("refused");
        assert!(
            matches!(error, HelmRepoError::Unauthorized { status: 401, .. }),
            "{error}"
        );
        assert!(!error.to_string().contains("wrong"), "{error}");
    }
    Ok(())
}

#[tokio::test]
async fn https_repository_needs_its_ca_and_for_mutual_tls_a_client_certificate()
-> anyhow::Result<()> {
    let repo = ChartRepoServer::start_with(ChartRepoOptions {
        mutual_tls: true,
        ..ChartRepoOptions::default()
    })?;
    repo.publish_chart("rabbitmq", "3.3.6", "")?;
    let tls = repo.tls().expect("TLS repository");
    let work = tempfile::tempdir()?;
    let dest = work.path().join("index.yaml");

    let untrusted = client(HelmRepoOptions::default())?;
    let error = untrusted
        .fetch_index(&repo.url(), None, &dest)
        .await
        .expect_err("unknown CA");
    assert!(
        matches!(error, HelmRepoError::Unreachable { .. }),
        "{error}"
    );

    let ca_only = client(HelmRepoOptions {
        tls: Some(TlsConfig {
            ca_pem: Some(tls.ca_pem.clone().into_bytes()),
            ..TlsConfig::default()
        }),
        ..HelmRepoOptions::default()
    })?;
    let error = ca_only.fetch_index(&repo.url(), None, &dest).await;
    assert!(error.is_err(), "nginx demands a client certificate");

    let secret_data = [
        ("caFile", tls.ca_pem.as_bytes()),
        ("certFile", tls.client_cert_pem.as_bytes()),
        ("keyFile", tls.client_key_pem.as_bytes()),
    ];
    let mutual = client(HelmRepoOptions {
        tls: TlsConfig::from_secret_data(secret_data),
        ..HelmRepoOptions::default()
    })?;
    let fetched = fetch(&mutual, &repo.url(), None, &dest).await?;
    let chart = fetched.index.get("rabbitmq", "3.3.6")?;
    let archive = work.path().join("rabbitmq.tgz");
    let download = mutual.download_chart(&repo.url(), chart, &archive).await?;
    assert_eq!(download.url, format!("{}/rabbitmq-3.3.6.tgz", repo.url()));
    Ok(())
}

#[tokio::test]
async fn chart_download_is_checked_against_the_index_digest() -> anyhow::Result<()> {
    let repo = ChartRepoServer::start()?;
    let published = repo.publish_chart(STACK, "61.0.0", "v0.75.0")?;
    let work = tempfile::tempdir()?;
    let client = client(HelmRepoOptions::default())?;
    let fetched = fetch(&client, &repo.url(), None, &work.path().join("index.yaml")).await?;
    let chart = fetched.index.get(STACK, "~61.0")?;
    assert_eq!(chart.app_version.as_deref(), Some("v0.75.0"));
    let archive = work.path().join("chart.tgz");
    let download = client.download_chart(&repo.url(), chart, &archive).await?;
    assert_eq!(std::fs::read(&archive)?, std::fs::read(&published)?);
    assert_eq!(
        Some(&download.digest[7..]),
        chart.digest.as_deref(),
        "helm repo index records the archive's sha256"
    );

    let mut tampered = chart.clone();
    tampered.digest = Some("0".repeat(64).into());
    let error = client
        .download_chart(&repo.url(), &tampered, &archive)
        .await
        .expect_err("digest differs");
    assert!(
        matches!(error, HelmRepoError::DigestMismatch { .. }),
        "{error}"
    );

    let small = client_with_chart_cap(64)?;
    let error = small
        .download_chart(&repo.url(), chart, &archive)
        .await
        .expect_err("too large");
    assert!(
        matches!(error, HelmRepoError::TooLarge { max: 64, .. }),
        "{error}"
    );
    Ok(())
}

fn client_with_chart_cap(max_chart_bytes: u64) -> anyhow::Result<HelmRepoClient> {
    client(HelmRepoOptions {
        max_chart_bytes,
        ..HelmRepoOptions::default()
    })
}

#[tokio::test]
async fn credentials_reach_chart_urls_on_other_hosts_only_with_pass_credentials()
-> anyhow::Result<()> {
    let storage = ChartRepoServer::start_with_basic_auth("charts", "s3cret")?;
    storage.publish_chart("rabbitmq", "3.3.6", "")?;
    let front = ChartRepoServer::start()?;
    // The index lives on one host and names archives on another, as CDN-backed repos do.
    let index = std::fs::read(storage.root().join("index.yaml"))?;
    front.write_file("index.yaml", &index)?;
    let work = tempfile::tempdir()?;
    let archive = work.path().join("chart.tgz");
    for (pass_credentials, allowed) in [(false, false), (true, true)] {
        let client = client(HelmRepoOptions {
            basic_auth: auth("charts", "s3cret"),
            pass_credentials,
            ..HelmRepoOptions::default()
        })?;
        let fetched = fetch(&client, &front.url(), None, &work.path().join("i.yaml")).await?;
        let chart = fetched.index.get("rabbitmq", "3.3.x")?;
        assert!(chart.urls[0].starts_with(&storage.url()), "absolute URL");
        let result = client.download_chart(&front.url(), chart, &archive).await;
        match (allowed, result) {
            (true, Ok(_)) => {}
            (false, Err(HelmRepoError::Unauthorized { status: 401, .. })) => {}
            (_, other) => panic!("passCredentials={pass_credentials}: {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn unreachable_server_missing_chart_and_missing_archive_are_typed_errors()
-> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let dest = work.path().join("index.yaml");
    let client = client(HelmRepoOptions::default())?;
    let port = tether_testkit::git::closed_loopback_port()?;
    let error = client
        .fetch_index(&format!("http://127.0.0.1:{port}"), None, &dest)
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(error, HelmRepoError::Unreachable { .. }),
        "{error}"
    );

    let repo = ChartRepoServer::start()?;
    let error = client
        .fetch_index(&repo.url(), None, &dest)
        .await
        .expect_err("no index yet");
    assert!(matches!(error, HelmRepoError::NotFound { .. }), "{error}");

    repo.publish_chart("rabbitmq", "3.3.6", "")?;
    let fetched = fetch(&client, &repo.url(), None, &dest).await?;
    let missing = fetched
        .index
        .get("podinfo", "*")
        .expect_err("no such chart");
    assert!(matches!(missing, ChartLookupError::NoChartName { .. }));
    let no_match = fetched.index.get("rabbitmq", "61.x").expect_err("no match");
    assert_eq!(
        no_match.to_string(),
        "no chart version found for rabbitmq-61.x"
    );

    std::fs::remove_file(repo.root().join("rabbitmq-3.3.6.tgz"))?;
    let chart = fetched.index.get("rabbitmq", "")?;
    let error = client
        .download_chart(&repo.url(), chart, &work.path().join("c.tgz"))
        .await
        .expect_err("archive gone");
    assert!(matches!(error, HelmRepoError::NotFound { .. }), "{error}");
    Ok(())
}

#[tokio::test]
async fn oci_chart_pushed_by_helm_is_listed_selected_and_pulled() -> anyhow::Result<()> {
    let registry = RegistryServer::start_with_basic_auth("pusher", "p4ss")?;
    let work = tempfile::tempdir()?;
    let mut archives = Vec::new();
    for version in ["61.0.0", "61.1.0", "62.0.0-rc.1", "60.5.0+build.1"] {
        let chart = write_chart(work.path(), &ChartSpec::new(STACK, version, ""))?;
        let archive = helm_package(&chart, work.path())?;
        let repo_url = push_oci_chart(&registry, &archive, "charts")?;
        assert_eq!(repo_url, format!("oci://{}/charts", registry.host()));
        archives.push(archive);
    }
    let client = RegistryClient::default();
    let options = ScanOptions {
        credentials: Credentials::basic("pusher", "p4ss"),
        ..ScanOptions::default()
    };
    let repo_url = format!("oci://{}/charts", registry.host());
    let image = helm_oci::chart_image(&repo_url, STACK)?;

    let versions = helm_oci::list_chart_versions(&client, &image, &options).await?;
    assert_eq!(
        versions,
        ["62.0.0-rc.1", "61.1.0", "61.0.0", "60.5.0+build.1"]
    );
    let select = |constraint: &'static str| {
        let (client, image, options) = (&client, &image, &options);
        async move { helm_oci::select_oci_chart_version(client, image, constraint, options).await }
    };
    assert_eq!(select("61.x").await?, "61.1.0");
    assert_eq!(select("").await?, "61.1.0");
    assert_eq!(select(">=62.0.0-0").await?, "62.0.0-rc.1");
    assert_eq!(select("<61").await?, "60.5.0+build.1");
    let error = select("63.x").await.expect_err("no match");
    assert!(
        matches!(error, OciChartError::NoMatchingVersion { .. }),
        "{error}"
    );

    let dest = work.path().join("pulled.tgz");
    let pulled =
        helm_oci::pull_oci_chart(&client, &image, "61.1.0", 1 << 20, &dest, &options).await?;
    assert_eq!(std::fs::read(&dest)?, std::fs::read(&archives[1])?);
    assert!(pulled.manifest_digest.starts_with("sha256:"));
    let with_metadata =
        helm_oci::pull_oci_chart(&client, &image, "60.5.0+build.1", 1 << 20, &dest, &options)
            .await?;
    assert_eq!(with_metadata.tag, "60.5.0_build.1");

    let anonymous = ScanOptions::default();
    let error = helm_oci::list_chart_versions(&client, &image, &anonymous)
        .await
        .expect_err("registry needs credentials");
    assert!(
        matches!(
            error,
            OciChartError::Registry(tether_registry::ScanError::Unauthorized { .. })
        ),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn version_selection_on_an_index_made_by_helm_repo_index() -> anyhow::Result<()> {
    let repo = ChartRepoServer::start()?;
    for version in ["1.2.0", "1.2.5", "1.3.0", "2.0.0-rc.1", "1.0.0+build.7"] {
        repo.publish_chart("app", version, "")?;
    }
    let work = tempfile::tempdir()?;
    let client = client(HelmRepoOptions::default())?;
    let fetched = fetch(&client, &repo.url(), None, &work.path().join("index.yaml")).await?;
    for (constraint, expected) in [
        ("", "1.3.0"),
        ("*", "1.3.0"),
        ("1.x", "1.3.0"),
        (">=1.2 <1.3", "1.2.5"),
        ("~1.2", "1.2.5"),
        ("^1", "1.3.0"),
        ("1.2.0", "1.2.0"),
        ("2.0.0-rc.1", "2.0.0-rc.1"),
        (">=2.0.0-0", "2.0.0-rc.1"),
        ("<1.2", "1.0.0+build.7"),
    ] {
        let chosen = fetched.index.get("app", constraint)?;
        assert_eq!(&*chosen.version, expected, "constraint {constraint:?}");
    }
    let error = fetched
        .index
        .get("app", ">=2")
        .expect_err("prerelease only");
    assert_eq!(error.to_string(), "no chart version found for app->=2");
    Ok(())
}
