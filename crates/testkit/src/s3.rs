//! A real S3 server on loopback for e2e tests: versitygw (built by `dev/testbin.sh`) with its
//! posix backend in a temp dir, on a free 127.0.0.1 port, with one root access key; over plain
//! HTTP or TLS with a CA made per run; killed when dropped. Buckets are created and objects put
//! and deleted through the S3 API (SigV4-signed by `rusty-s3`), as any S3 client would.

use crate::registry::{TlsMaterial, testbin_dir};
use anyhow::{Context, bail};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const SIGNATURE_VALIDITY: Duration = Duration::from_secs(300);
/// The region versitygw serves by default.
pub const REGION: &str = "us-east-1";

/// A running versitygw; the process is killed and its storage removed when dropped.
pub struct S3Server {
    addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
    access_key: String,
    secret_key: String,
    tls: Option<TlsMaterial>,
}

impl S3Server {
    /// A server over plain HTTP.
    pub fn start() -> anyhow::Result<Self> {
        Self::launch(None)
    }

    /// A server over HTTPS with a certificate for 127.0.0.1 from a CA made for this run
    /// ([`tls`](Self::tls) has the CA).
    pub fn start_with_tls() -> anyhow::Result<Self> {
        Self::launch(Some(TlsMaterial::generate()?))
    }

    fn launch(tls: Option<TlsMaterial>) -> anyhow::Result<Self> {
        let binary = versitygw_binary()?;
        let dir = tempfile::tempdir().context("cannot create the S3 server's temp dir")?;
        let (root, sidecar) = (dir.path().join("root"), dir.path().join("sidecar"));
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&sidecar)?;
        let addr = free_loopback_addr()?;
        let access_key = format!("tether-{}", std::process::id());
        let secret_key = format!("secret-{:x}", rand_suffix());
        let log_path = dir.path().join("versitygw.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut command = Command::new(&binary);
        command
            .arg("--port")
            .arg(addr.to_string())
            .arg("--quiet")
            .env("ROOT_ACCESS_KEY", &access_key)
            .env("ROOT_SECRET_KEY", &secret_key);
        if let Some(material) = &tls {
            let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
            std::fs::write(&cert, &material.server_cert_pem)?;
            std::fs::write(&key, &material.server_key_pem)?;
            command.arg("--cert").arg(&cert).arg("--key").arg(&key);
        }
        let child = command
            .arg("posix")
            .arg("--sidecar")
            .arg(&sidecar)
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Self {
            addr,
            child,
            dir,
            access_key,
            secret_key,
            tls,
        };
        server.wait_until_listening(&log_path)?;
        Ok(server)
    }

    fn wait_until_listening(&mut self, log_path: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                bail!("versitygw exited ({status}) before listening:\n{log}");
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                bail!("versitygw did not listen on {} in time:\n{log}", self.addr);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:<port>`, a Bucket's `spec.endpoint`.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// The root user's access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The root user's secret key.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The CA of a TLS server.
    pub fn tls(&self) -> Option<&TlsMaterial> {
        self.tls.as_ref()
    }

    /// The server's storage and log directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates bucket `name`.
    pub async fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let bucket = self.bucket(name)?;
        let credentials = self.credentials();
        let action = bucket.create_bucket(&credentials);
        let url = action.sign(SIGNATURE_VALIDITY);
        let response = self.http()?.put(url).body(action.body()).send().await?;
        check(response, &format!("creating bucket {name}")).await
    }

    /// Uploads `content` as object `key` of `bucket`.
    pub async fn put_object(&self, bucket: &str, key: &str, content: &[u8]) -> anyhow::Result<()> {
        let target = self.bucket(bucket)?;
        let credentials = self.credentials();
        let url = target
            .put_object(Some(&credentials), key)
            .sign(SIGNATURE_VALIDITY);
        let response = self.http()?.put(url).body(content.to_vec()).send().await?;
        check(response, &format!("putting {bucket}/{key}")).await
    }

    /// Deletes object `key` of `bucket`.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> anyhow::Result<()> {
        let target = self.bucket(bucket)?;
        let credentials = self.credentials();
        let url = target
            .delete_object(Some(&credentials), key)
            .sign(SIGNATURE_VALIDITY);
        let response = self.http()?.delete(url).send().await?;
        check(response, &format!("deleting {bucket}/{key}")).await
    }

    fn bucket(&self, name: &str) -> anyhow::Result<Bucket> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let endpoint = url::Url::parse(&format!("{scheme}://{}/", self.addr))?;
        Ok(Bucket::new(
            endpoint,
            UrlStyle::Path,
            name.to_owned(),
            REGION,
        )?)
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key.clone(), self.secret_key.clone())
    }

    fn http(&self) -> anyhow::Result<reqwest::Client> {
        crate::registry::install_crypto_provider();
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if let Some(tls) = &self.tls {
            let ca = reqwest::Certificate::from_pem(tls.ca_pem.as_bytes())?;
            builder = builder.tls_certs_merge([ca]);
        }
        Ok(builder.build()?)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The versitygw binary: `$TETHER_TESTBIN/versitygw`, else the one `dev/testbin.sh` builds.
pub fn versitygw_binary() -> anyhow::Result<PathBuf> {
    let binary = testbin_dir()?.join("versitygw");
    if !binary.is_file() {
        bail!(
            "{} is missing; run dev/testbin.sh (it builds versitygw)",
            binary.display()
        );
    }
    Ok(binary)
}

fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot bind a loopback port for the S3 server")?;
    Ok(listener.local_addr()?)
}

/// Enough to keep two servers' secret keys apart (not a secret worth more).
fn rand_suffix() -> u128 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    nanos ^ u128::from(std::process::id())
}

async fn check(response: reqwest::Response, what: &str) -> anyhow::Result<()> {
    if response.status().is_success() {
        return Ok(());
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    bail!("{what}: {status}: {body}")
}
