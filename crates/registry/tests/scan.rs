//! e2e: tag listing, auth, pagination, digests and failures against distribution's real
//! registry on loopback (`tether_testkit::registry`). Needs the registry binary from
//! `dev/testbin.sh` (found through `TETHER_TESTBIN`, or by running the script).

use std::time::{Duration, Instant};
use tether_registry::{
    ClientOptions, Credentials, DockerConfig, ImageName, RegistryClient, ScanError, ScanOptions,
};
use tether_testkit::registry::RegistryServer;

fn image(server: &RegistryServer, repo: &str) -> anyhow::Result<ImageName> {
    Ok(ImageName::parse(&server.image(repo))?)
}

fn sorted(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn anonymous_registry_lists_every_tag() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    for tag in ["1.0.0", "1.1.0", "latest", "sha256-abc.sig"] {
        server.push_image("team/app", tag).await?;
    }
    let client = RegistryClient::default();
    let tags = client
        .list_tags(&image(&server, "team/app")?, &ScanOptions::default())
        .await?;
    assert_eq!(
        sorted(tags),
        strings(&["1.0.0", "1.1.0", "latest", "sha256-abc.sig"])
    );
    Ok(())
}

#[tokio::test]
async fn plain_http_with_insecure() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    server.push_image("app", "v1").await?;
    let options = ScanOptions {
        insecure: true,
        ..ScanOptions::default()
    };
    let tags = RegistryClient::default()
        .list_tags(&image(&server, "app")?, &options)
        .await?;
    assert_eq!(tags, strings(&["v1"]));
    Ok(())
}

#[tokio::test]
async fn basic_auth_with_right_credentials_lists_tags() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_basic_auth("scanner", "s3cret-pass")?;
    server.push_image("private/app", "v1").await?;
    server.push_image("private/app", "v2").await?;
    let options = ScanOptions {
        credentials: Credentials::basic("scanner", "s3cret-pass"),
        ..ScanOptions::default()
    };
    let tags = RegistryClient::default()
        .list_tags(&image(&server, "private/app")?, &options)
        .await?;
    assert_eq!(sorted(tags), strings(&["v1", "v2"]));
    Ok(())
}

#[tokio::test]
async fn basic_auth_with_wrong_credentials_is_a_clear_401() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_basic_auth("scanner", "s3cret-pass")?;
    server.push_image("private/app", "v1").await?;
    let name = image(&server, "private/app")?;
    let client = RegistryClient::default();
    let wrong = ScanOptions {
        credentials: Credentials::basic("scanner", "not-the-Pa55word"),
        ..ScanOptions::default()
    };
    let error = client
        .list_tags(&name, &wrong)
        .await
        .expect_err("wrong password");
    let message = error.to_string();
    assert!(
        matches!(error, ScanError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    assert!(message.starts_with(&name.canonical()), "{message}");
    assert!(message.contains("authentication failed (401)"), "{message}");
    assert!(!message.contains("not-the-Pa55word"), "{message}");
    assert!(!format!("{error:?}").contains("not-the-Pa55word"));
    assert!(!error.is_retryable());

    let anonymous = client
        .list_tags(&name, &ScanOptions::default())
        .await
        .expect_err("no credentials");
    assert!(
        matches!(anonymous, ScanError::Unauthorized { status: 401, .. }),
        "{anonymous:?}"
    );
    Ok(())
}

#[tokio::test]
async fn docker_config_secret_credentials_reach_the_registry() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_basic_auth("robot", "from-a-secret")?;
    server.push_image("app", "v1").await?;
    let secret = format!(
        r#"{{"auths":{{"http://{}":{{"auth":"{}"}}}}}}"#,
        server.host(),
        base64_of("robot:from-a-secret")
    );
    let config = DockerConfig::from_secret_data([(".dockerconfigjson", secret.as_bytes())])?;
    let name = image(&server, "app")?;
    let options = ScanOptions {
        credentials: config.credentials_for(&name),
        ..ScanOptions::default()
    };
    let tags = RegistryClient::default().list_tags(&name, &options).await?;
    assert_eq!(tags, strings(&["v1"]));
    Ok(())
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn pagination_follows_link_headers_with_small_pages() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    let pushed: Vec<String> = (0..7).map(|i| format!("v{i}")).collect();
    for tag in &pushed {
        server.push_image("paged", tag).await?;
    }
    let name = image(&server, "paged")?;
    let client = RegistryClient::default();
    let options = ScanOptions {
        page_size: Some(2),
        ..ScanOptions::default()
    };
    let tags = client.list_tags(&name, &options).await?;
    assert_eq!(sorted(tags), pushed, "all four pages of two");

    let limited = ScanOptions {
        page_size: Some(2),
        max_pages: 3,
        ..ScanOptions::default()
    };
    let error = client
        .list_tags(&name, &limited)
        .await
        .expect_err("seven tags need four pages of two");
    assert!(
        matches!(
            error,
            ScanError::TooMany {
                what: "pages",
                limit: 3,
                ..
            }
        ),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn missing_repository_is_not_found() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    let name = image(&server, "does/not/exist")?;
    let error = RegistryClient::default()
        .list_tags(&name, &ScanOptions::default())
        .await
        .expect_err("nothing was pushed");
    assert!(matches!(error, ScanError::NotFound { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("does/not/exist"), "{message}");
    assert!(message.contains("NAME_UNKNOWN"), "{message}");
    assert!(!error.is_retryable());
    Ok(())
}

#[tokio::test]
async fn manifest_digest_of_each_tag() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    let v1 = server.push_image("app", "v1").await?;
    let v2 = server.push_image("app", "v2").await?;
    assert_ne!(v1, v2);
    let name = image(&server, "app")?;
    let client = RegistryClient::default();
    let options = ScanOptions::default();
    assert_eq!(client.manifest_digest(&name, "v1", &options).await?, v1);
    assert_eq!(client.manifest_digest(&name, "v2", &options).await?, v2);
    let missing = client
        .manifest_digest(&name, "v3", &options)
        .await
        .expect_err("no such tag");
    assert!(matches!(missing, ScanError::NotFound { .. }), "{missing:?}");
    Ok(())
}

#[tokio::test]
async fn image_created_time_from_the_config() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    server
        .push_image_created("app", "old", Some("2024-01-02T03:04:05Z"))
        .await?;
    server.push_image("app", "undated").await?;
    let name = image(&server, "app")?;
    let client = RegistryClient::default();
    let options = ScanOptions::default();
    let created = client.image_created(&name, "old", &options).await?;
    assert_eq!(
        created.map(|t| t.to_rfc3339()),
        Some("2024-01-02T03:04:05+00:00".to_owned())
    );
    assert_eq!(
        client.image_created(&name, "undated", &options).await?,
        None
    );
    Ok(())
}

#[tokio::test]
async fn deleted_tags_disappear_from_the_list() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    server.push_image("app", "keep").await?;
    server.push_image("app", "drop").await?;
    server.delete_tag("app", "drop").await?;
    let tags = RegistryClient::default()
        .list_tags(&image(&server, "app")?, &ScanOptions::default())
        .await?;
    assert_eq!(tags, strings(&["keep"]));
    Ok(())
}

#[tokio::test]
async fn unreachable_port_is_a_retryable_connection_error() -> anyhow::Result<()> {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let name = ImageName::parse(&format!("127.0.0.1:{port}/app"))?;
    let error = RegistryClient::default()
        .list_tags(&name, &ScanOptions::default())
        .await
        .expect_err("nothing listens there");
    assert!(matches!(error, ScanError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.suggested_backoff().is_some());
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn requests_to_one_host_share_its_rate_limit() -> anyhow::Result<()> {
    let server = RegistryServer::start()?;
    server.push_image("app", "v1").await?;
    let name = image(&server, "app")?;
    let client = RegistryClient::new(ClientOptions {
        requests_per_second: 4.0,
        burst: 1,
        ..ClientOptions::default()
    });
    let options = ScanOptions::default();
    let started = Instant::now();
    // Each scan is two requests (ping, one page): six requests at 4/s with a burst of one.
    let (a, b, c) = tokio::join!(
        client.list_tags(&name, &options),
        client.list_tags(&name, &options),
        client.list_tags(&name, &options),
    );
    for tags in [a?, b?, c?] {
        assert_eq!(tags, strings(&["v1"]));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "six requests at 4/s took only {:?}",
        started.elapsed()
    );
    Ok(())
}
