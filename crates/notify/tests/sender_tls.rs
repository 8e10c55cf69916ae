//! The sender against an HTTPS endpoint on loopback whose certificate is signed by a CA made
//! for the run (the Provider's `certSecretRef` case): trusted with that `ca.crt`, refused
//! without it, and an untrusted certificate is not retried. The endpoint is a minimal TLS
//! server that answers every request with 200; no SaaS endpoint can be reached from here.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::Arc,
    time::Duration,
};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::{
    ServerConfig, ServerConnection, StreamOwned,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use tether_notify::{HttpRequest, SendError, SendOptions, Sender};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A CA (PEM) and a server certificate and key for 127.0.0.1 signed by it.
fn certificates() -> Result<(String, String, String), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate()?;
    let server =
        CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&server_key, &issuer)?;
    Ok((ca.pem(), server.pem(), server_key.serialize_pem()))
}

/// Serves HTTPS on loopback, answering each request with an empty 200.
fn serve_tls(cert_pem: &str, key_pem: &str) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let certs =
        CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, config.clone());
        }
    });
    Ok(address)
}

fn answer(stream: TcpStream, config: Arc<ServerConfig>) -> std::io::Result<()> {
    let connection = ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(connection, stream);
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tls.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        seen.extend_from_slice(&buffer[..read]);
    }
    tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")?;
    tls.conn.send_close_notify();
    tls.flush()
}

fn request(address: SocketAddr) -> HttpRequest {
    HttpRequest {
        method: "POST",
        url: format!("https://{address}/hook"),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: b"{}".to_vec(),
    }
}

fn options(ca_pem: Option<&str>) -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs(10),
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        ca_pem: ca_pem.map(|pem| pem.as_bytes().to_vec()),
        ..SendOptions::default()
    }
}

#[tokio::test]
async fn a_provider_behind_a_private_ca_is_reached_with_its_ca_crt() -> TestResult {
    let (ca, cert, key) = certificates()?;
    let address = serve_tls(&cert, &key)?;
    let status = Sender::new(options(Some(&ca)))?
        .send(&request(address), &[])
        .await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test]
async fn a_provider_with_an_unknown_ca_is_refused_without_retrying() -> TestResult {
    let (_, cert, key) = certificates()?;
    let address = serve_tls(&cert, &key)?;
    let error = Sender::new(options(None))?
        .send(&request(address), &[])
        .await;
    assert!(
        matches!(&error, Err(SendError::Connect { attempts: 1, .. })),
        "{error:?}"
    );
    Ok(())
}
