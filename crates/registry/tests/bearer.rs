//! e2e: the bearer token flow (`401 Bearer realm=..,service=..` → token endpoint → retry with
//! the token) against distribution's real registry in `auth: token:` mode, with testkit's token
//! issuer: anonymous tokens like Docker Hub's public images, and tokens for an account.

use tether_registry::{Credentials, ImageName, RegistryClient, ScanError, ScanOptions};
use tether_testkit::registry::RegistryServer;

fn image(server: &RegistryServer, repo: &str) -> anyhow::Result<ImageName> {
    Ok(ImageName::parse(&server.image(repo))?)
}

#[tokio::test]
async fn anonymous_bearer_flow_lists_tags_and_caches_the_token() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_anonymous_tokens()?;
    let digest = server.push_image("library/app", "1.0").await?;
    server.push_image("library/app", "1.1").await?;
    let pushed_with = server.tokens_issued();
    let name = image(&server, "library/app")?;
    let client = RegistryClient::default();
    let options = ScanOptions::default();
    let mut tags = client.list_tags(&name, &options).await?;
    tags.sort();
    assert_eq!(tags, vec!["1.0".to_owned(), "1.1".to_owned()]);
    assert_eq!(client.list_tags(&name, &options).await?.len(), 2);
    assert_eq!(
        client.manifest_digest(&name, "1.0", &options).await?,
        digest
    );
    assert_eq!(
        server.tokens_issued() - pushed_with,
        1,
        "one token for the scope, reused until it expires"
    );
    Ok(())
}

#[tokio::test]
async fn bearer_flow_with_an_account() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_token_auth("robot", "t0ken-pass")?;
    server.push_image("team/app", "v1").await?;
    let name = image(&server, "team/app")?;
    let client = RegistryClient::default();
    let right = ScanOptions {
        credentials: Credentials::basic("robot", "t0ken-pass"),
        ..ScanOptions::default()
    };
    assert_eq!(
        client.list_tags(&name, &right).await?,
        vec!["v1".to_owned()]
    );

    let wrong = ScanOptions {
        credentials: Credentials::basic("robot", "wr0ng-pass"),
        ..ScanOptions::default()
    };
    let error = client
        .list_tags(&name, &wrong)
        .await
        .expect_err("the token endpoint refuses a wrong password");
    let message = error.to_string();
    assert!(
        matches!(error, ScanError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    assert!(message.contains("token endpoint"), "{message}");
    assert!(!message.contains("wr0ng-pass"), "{message}");
    Ok(())
}

#[tokio::test]
async fn registry_token_credentials_skip_the_exchange() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_anonymous_tokens()?;
    server.push_image("app", "v1").await?;
    let name = image(&server, "app")?;
    // A token the registry does not accept: sent as it is, refused with 401, no exchange.
    let options = ScanOptions {
        credentials: Credentials::RegistryToken("not-a-jwt".to_owned()),
        ..ScanOptions::default()
    };
    let before = server.tokens_issued();
    let error = RegistryClient::default()
        .list_tags(&name, &options)
        .await
        .expect_err("a bogus registry token");
    assert!(matches!(error, ScanError::Unauthorized { .. }), "{error:?}");
    assert_eq!(server.tokens_issued(), before);
    Ok(())
}

#[tokio::test]
async fn identity_token_uses_the_refresh_grant() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_token_auth("robot", "refresh-me")?;
    server.push_image("app", "v1").await?;
    let name = image(&server, "app")?;
    let client = RegistryClient::default();
    let secret = |token: &str| {
        format!(
            r#"{{"auths":{{"{}":{{"auth":"MDAwMDAwMDA6","identitytoken":"{token}"}}}}}}"#,
            server.host()
        )
    };
    let config = tether_registry::DockerConfig::from_json(secret("refresh-me").as_bytes())?;
    let options = ScanOptions {
        credentials: config.credentials_for(&name),
        ..ScanOptions::default()
    };
    assert_eq!(
        client.list_tags(&name, &options).await?,
        vec!["v1".to_owned()]
    );

    let config = tether_registry::DockerConfig::from_json(secret("stale").as_bytes())?;
    let options = ScanOptions {
        credentials: config.credentials_for(&name),
        ..ScanOptions::default()
    };
    let error = client
        .list_tags(&name, &options)
        .await
        .expect_err("the issuer refuses an unknown refresh token");
    assert!(matches!(error, ScanError::Unauthorized { .. }), "{error:?}");
    assert!(!error.to_string().contains("stale"), "{error}");
    Ok(())
}
