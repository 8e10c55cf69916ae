//! e2e: `certSecretRef` TLS against distribution's real registry serving HTTPS with a CA made
//! for the run: the CA from `ca.crt` is trusted on top of the system roots, a registry whose CA
//! is unknown is refused, and mutual TLS presents `tls.crt`/`tls.key`.

use tether_registry::{ImageName, RegistryClient, ScanError, ScanOptions, TlsConfig};
use tether_testkit::registry::RegistryServer;

fn image(server: &RegistryServer, repo: &str) -> anyhow::Result<ImageName> {
    Ok(ImageName::parse(&server.image(repo))?)
}

fn cert_secret(server: &RegistryServer, with_client_cert: bool) -> anyhow::Result<TlsConfig> {
    let material = server
        .tls()
        .ok_or_else(|| anyhow::anyhow!("not a TLS registry"))?;
    let mut data = vec![("ca.crt", material.ca_pem.as_bytes())];
    if with_client_cert {
        data.push(("tls.crt", material.client_cert_pem.as_bytes()));
        data.push(("tls.key", material.client_key_pem.as_bytes()));
    }
    TlsConfig::from_secret_data(data).ok_or_else(|| anyhow::anyhow!("empty cert secret"))
}

#[tokio::test]
async fn custom_ca_from_the_cert_secret_verifies_the_registry() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_tls()?;
    server.push_image("app", "v1").await?;
    let options = ScanOptions {
        tls: Some(cert_secret(&server, false)?),
        ..ScanOptions::default()
    };
    let tags = RegistryClient::default()
        .list_tags(&image(&server, "app")?, &options)
        .await?;
    assert_eq!(tags, vec!["v1".to_owned()]);
    Ok(())
}

#[tokio::test]
async fn a_registry_signed_by_an_unknown_ca_is_refused() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_tls()?;
    server.push_image("app", "v1").await?;
    let error = RegistryClient::default()
        .list_tags(&image(&server, "app")?, &ScanOptions::default())
        .await
        .expect_err("the CA is not trusted");
    assert!(matches!(error, ScanError::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("certificate"), "{message}");
    // 127.0.0.1 may fall back to plain HTTP; the message says that failed too.
    assert!(message.contains("over plain HTTP"), "{message}");
    Ok(())
}

#[tokio::test]
async fn mutual_tls_presents_the_client_certificate() -> anyhow::Result<()> {
    let server = RegistryServer::start_with_mutual_tls()?;
    server.push_image("app", "v1").await?;
    let name = image(&server, "app")?;
    let client = RegistryClient::default();
    let with_cert = ScanOptions {
        tls: Some(cert_secret(&server, true)?),
        ..ScanOptions::default()
    };
    assert_eq!(
        client.list_tags(&name, &with_cert).await?,
        vec!["v1".to_owned()]
    );

    let ca_only = ScanOptions {
        tls: Some(cert_secret(&server, false)?),
        ..ScanOptions::default()
    };
    let error = client
        .list_tags(&name, &ca_only)
        .await
        .expect_err("the registry requires a client certificate");
    assert!(
        matches!(
            error,
            ScanError::Connect { .. } | ScanError::Transport { .. }
        ),
        "{error:?}"
    );
    Ok(())
}
