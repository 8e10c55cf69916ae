//! A real OCI registry on loopback for e2e tests: distribution's `registry` binary (built by
//! `dev/testbin.sh`) on a free 127.0.0.1 port with filesystem storage in a temp dir, anonymous,
//! behind htpasswd Basic auth, or behind token auth (Docker Hub's bearer flow) with a small
//! token issuer served here; over plain HTTP, or TLS (optionally mutual) with a CA generated per
//! run; killed when dropped. Helpers push small OCI images (config + layer
//! blobs + manifest) through the distribution API and delete tags.

use anyhow::{Context, bail};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use sha2::Digest;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant};

/// Environment variable naming the directory with the test binaries (set by `dev/test.sh`).
pub const TESTBIN_ENV: &str = "TETHER_TESTBIN";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What [`RegistryServer::push_manifest`] pushes: `(media type, content)` of the config and of
/// each layer, and the manifest's annotations.
pub struct Manifest<'a> {
    pub config: (&'a str, &'a [u8]),
    pub layers: &'a [(&'a str, &'a [u8])],
    pub annotations: serde_json::Map<String, serde_json::Value>,
}

/// A running registry; the process is killed and its storage removed when dropped.
pub struct RegistryServer {
    addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
    basic_auth: Option<(String, String)>,
    issuer: Option<TokenIssuer>,
    tls: Option<TlsMaterial>,
}

/// PEM material of a TLS registry: the CA that signed its certificate (for 127.0.0.1 and
/// localhost), and a client certificate signed by the same CA, which a mutual-TLS registry
/// requires.
#[derive(Clone)]
pub struct TlsMaterial {
    pub ca_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub(crate) server_cert_pem: String,
    pub(crate) server_key_pem: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    Plain,
    Server,
    Mutual,
}

/// How the registry authenticates requests.
enum AuthMode {
    Anonymous,
    Htpasswd { user: String, pass: String },
    Token { account: Option<(String, String)> },
}

impl RegistryServer {
    /// An anonymous registry: anyone may pull and push.
    pub fn start() -> anyhow::Result<Self> {
        Self::launch(AuthMode::Anonymous, TlsMode::Plain)
    }

    /// An anonymous registry over HTTPS with a certificate from a CA made for this run
    /// ([`tls`](Self::tls) has the CA).
    pub fn start_with_tls() -> anyhow::Result<Self> {
        Self::launch(AuthMode::Anonymous, TlsMode::Server)
    }

    /// Like [`start_with_tls`](Self::start_with_tls), and clients must present a certificate
    /// signed by that CA ([`tls`](Self::tls) has one).
    pub fn start_with_mutual_tls() -> anyhow::Result<Self> {
        Self::launch(AuthMode::Anonymous, TlsMode::Mutual)
    }

    /// A registry that requires `user`/`pass` (htpasswd, bcrypt) for every request.
    pub fn start_with_basic_auth(user: &str, pass: &str) -> anyhow::Result<Self> {
        let mode = AuthMode::Htpasswd {
            user: user.to_owned(),
            pass: pass.to_owned(),
        };
        Self::launch(mode, TlsMode::Plain)
    }

    /// A registry with token auth whose issuer hands out tokens to anyone, like Docker Hub
    /// does for public images: `401 Bearer realm=...` first, then a token from the realm.
    pub fn start_with_anonymous_tokens() -> anyhow::Result<Self> {
        Self::launch(AuthMode::Token { account: None }, TlsMode::Plain)
    }

    /// A registry with token auth whose issuer requires Basic `user`/`pass`.
    pub fn start_with_token_auth(user: &str, pass: &str) -> anyhow::Result<Self> {
        let account = Some((user.to_owned(), pass.to_owned()));
        Self::launch(AuthMode::Token { account }, TlsMode::Plain)
    }

    fn launch(mode: AuthMode, tls_mode: TlsMode) -> anyhow::Result<Self> {
        let binary = registry_binary()?;
        let dir = tempfile::tempdir().context("cannot create the registry's temp dir")?;
        let (auth, basic_auth, issuer) = match mode {
            AuthMode::Anonymous => (String::new(), None, None),
            AuthMode::Htpasswd { user, pass } => {
                let auth = htpasswd_config(dir.path(), &user, &pass)?;
                (auth, Some((user, pass)), None)
            }
            AuthMode::Token { account } => {
                let issuer = TokenIssuer::start(account.clone())?;
                let auth = issuer.registry_config(dir.path())?;
                (auth, account, Some(issuer))
            }
        };
        let (tls, tls_config) = match tls_mode {
            TlsMode::Plain => (None, String::new()),
            _ => {
                let material = TlsMaterial::generate()?;
                let config = material.registry_config(dir.path(), tls_mode == TlsMode::Mutual)?;
                (Some(material), config)
            }
        };
        // The port is picked after the token issuer has bound its own, and picked again if
        // another process took it between the pick and the registry's bind.
        let config = dir.path().join("config.yml");
        let log_path = dir.path().join("registry.log");
        let mut attempt = 0;
        let (addr, child) = loop {
            attempt += 1;
            let addr = free_loopback_addr()?;
            std::fs::write(
                &config,
                registry_config(dir.path(), addr, &tls_config, &auth),
            )
            .with_context(|| format!("cannot write {}", config.display()))?;
            let log = std::fs::File::create(&log_path)
                .with_context(|| format!("cannot create {}", log_path.display()))?;
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(&config)
                .env("OTEL_TRACES_EXPORTER", "none")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {}", binary.display()))?;
            match wait_until_ready(&mut child, addr, &log_path) {
                Ok(()) => break (addr, child),
                Err(e) if attempt < 3 && e.to_string().contains("address already in use") => {
                    continue;
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(e);
                }
            }
        };
        Ok(Self {
            addr,
            child,
            dir,
            basic_auth,
            issuer,
            tls,
        })
    }

    /// `127.0.0.1:<port>`, the registry part of image names.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port>`, or `https://` for a TLS registry.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The Basic (htpasswd or token issuer) user and password, when the registry needs them.
    pub fn basic_auth(&self) -> Option<(&str, &str)> {
        self.basic_auth
            .as_ref()
            .map(|(user, pass)| (user.as_str(), pass.as_str()))
    }

    /// The CA and client certificate of a TLS registry.
    pub fn tls(&self) -> Option<&TlsMaterial> {
        self.tls.as_ref()
    }

    /// `127.0.0.1:<port>/<repo>`.
    pub fn image(&self, repo: &str) -> String {
        format!("{}/{repo}", self.addr)
    }

    /// How many tokens the token issuer has handed out (0 without token auth).
    pub fn tokens_issued(&self) -> usize {
        self.issuer.as_ref().map_or(0, TokenIssuer::issued)
    }

    /// The registry's storage and log directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Pushes a small OCI image (one layer unique to `repo:tag`) as `repo:tag`; returns the
    /// manifest digest.
    pub async fn push_image(&self, repo: &str, tag: &str) -> anyhow::Result<String> {
        self.push_image_created(repo, tag, None).await
    }

    /// Like [`push_image`](Self::push_image), with `created` (RFC 3339) in the image config.
    pub async fn push_image_created(
        &self,
        repo: &str,
        tag: &str,
        created: Option<&str>,
    ) -> anyhow::Result<String> {
        let layer = format!("layer of {repo}:{tag}").into_bytes();
        let mut config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [digest_of(&layer)]},
        });
        if let Some(created) = created {
            config["created"] = serde_json::Value::from(created);
        }
        let config = serde_json::to_vec(&config)?;
        let manifest = Manifest {
            config: (OCI_CONFIG, &config),
            layers: &[(OCI_LAYER, &layer)],
            annotations: serde_json::Map::new(),
        };
        self.push_manifest(repo, tag, manifest).await
    }

    /// Pushes a manifest with its config and layer blobs as `repo:tag` (an OCI artifact such as
    /// Flux's when the media types are Flux's); returns the manifest digest.
    pub async fn push_manifest(
        &self,
        repo: &str,
        tag: &str,
        manifest: Manifest<'_>,
    ) -> anyhow::Result<String> {
        let client = self.http_client()?;
        let (config_type, config) = manifest.config;
        let config_digest = self.upload_blob(&client, repo, config).await?;
        let mut layers = Vec::new();
        for (media_type, content) in manifest.layers {
            let digest = self.upload_blob(&client, repo, content).await?;
            layers.push(serde_json::json!({"mediaType": media_type, "digest": digest, "size": content.len()}));
        }
        let mut body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
            "layers": layers,
        });
        if !manifest.annotations.is_empty() {
            body["annotations"] = serde_json::Value::Object(manifest.annotations);
        }
        let body = serde_json::to_vec(&body)?;
        let url = format!("{}/v2/{repo}/manifests/{tag}", self.base_url());
        let response = self
            .authorize(&client, repo, client.put(&url))
            .await?
            .header(reqwest::header::CONTENT_TYPE, OCI_MANIFEST)
            .body(body.clone())
            .send()
            .await
            .with_context(|| format!("PUT {url}"))?;
        check(response, &url).await?;
        Ok(digest_of(&body))
    }

    /// Deletes tag `repo:tag` (distribution v3 deletes tags by name; the manifest stays).
    pub async fn delete_tag(&self, repo: &str, tag: &str) -> anyhow::Result<()> {
        let client = self.http_client()?;
        let url = format!("{}/v2/{repo}/manifests/{tag}", self.base_url());
        let response = self
            .authorize(&client, repo, client.delete(&url))
            .await?
            .send()
            .await
            .with_context(|| format!("DELETE {url}"))?;
        check(response, &url).await?;
        Ok(())
    }

    async fn upload_blob(
        &self,
        client: &reqwest::Client,
        repo: &str,
        content: &[u8],
    ) -> anyhow::Result<String> {
        let digest = digest_of(content);
        let start = format!("{}/v2/{repo}/blobs/uploads/", self.base_url());
        let response = self
            .authorize(client, repo, client.post(&start))
            .await?
            .send()
            .await
            .with_context(|| format!("POST {start}"))?;
        let response = check(response, &start).await?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .context("blob upload started without a Location")?;
        let mut upload = url::Url::parse(&start)?.join(location)?;
        upload.query_pairs_mut().append_pair("digest", &digest);
        let response = self
            .authorize(client, repo, client.put(upload.as_str()))
            .await?
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(content.to_vec())
            .send()
            .await
            .with_context(|| format!("PUT blob {digest}"))?;
        check(response, upload.path()).await?;
        Ok(digest)
    }

    /// A client that trusts the registry's CA and presents the client certificate.
    fn http_client(&self) -> anyhow::Result<reqwest::Client> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder();
        if let Some(tls) = &self.tls {
            let ca = reqwest::Certificate::from_pem(tls.ca_pem.as_bytes())?;
            let identity = format!("{}{}", tls.client_cert_pem, tls.client_key_pem);
            builder = builder
                .tls_certs_merge([ca])
                .identity(reqwest::Identity::from_pem(identity.as_bytes())?);
        }
        builder.build().context("cannot build an HTTP client")
    }

    /// Adds what the registry needs to accept a push: Basic credentials, or a token for
    /// `repo` with every action fetched from the issuer.
    async fn authorize(
        &self,
        client: &reqwest::Client,
        repo: &str,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        if let Some(issuer) = &self.issuer {
            let token = issuer
                .fetch_token(client, repo, self.basic_auth.as_ref())
                .await?;
            return Ok(request.bearer_auth(token));
        }
        Ok(match &self.basic_auth {
            Some((user, pass)) => request.basic_auth(user, Some(pass)),
            None => request,
        })
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn htpasswd_config(dir: &Path, user: &str, pass: &str) -> anyhow::Result<String> {
    let hash = bcrypt::hash(pass, 4).context("cannot hash the registry password")?;
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, format!("{user}:{hash}\n"))
        .with_context(|| format!("cannot write {}", htpasswd.display()))?;
    Ok(format!(
        "auth:\n  htpasswd:\n    realm: tether-test\n    path: {}\n",
        htpasswd.display()
    ))
}

fn registry_config(dir: &Path, addr: SocketAddr, tls: &str, auth: &str) -> String {
    format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
         \x20 maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: {addr}\n  secret: tether-test-secret\n{tls}\
         {auth}",
        dir.join("data").display()
    )
}

/// The registry binary: `$TETHER_TESTBIN/registry`, else the one `dev/testbin.sh` builds.
pub fn registry_binary() -> anyhow::Result<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR
        .get_or_init(|| testbin_dir().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)?;
    let binary = dir.join("registry");
    if !binary.is_file() {
        bail!(
            "{} is missing; run dev/testbin.sh (it builds distribution's registry)",
            binary.display()
        );
    }
    Ok(binary)
}

/// `$TETHER_TESTBIN`, else the directory `dev/testbin.sh` prints.
pub(crate) fn testbin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(TESTBIN_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let script = crate::cluster::repo_root().join("dev/testbin.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !output.status.success() {
        bail!("{} failed ({})", script.display(), output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let dir = stdout
        .lines()
        .last()
        .context("dev/testbin.sh printed no directory")?;
    Ok(PathBuf::from(dir.trim()))
}

/// Polls `GET /v2/` until the registry answers (any HTTP status), or fails with its log.
fn wait_until_ready(child: &mut Child, addr: SocketAddr, log_path: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            bail!("the registry exited ({status}) before answering:\n{log}");
        }
        if registry_answers(addr) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            bail!("the registry did not answer on {addr} within {STARTUP_TIMEOUT:?}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot bind a loopback port for the registry")?;
    Ok(listener.local_addr()?)
}

/// Whether a distribution registry answers `GET /v2/` on `addr`: any status, but with the
/// registry's API version header, so that another test's server on a reused port is not
/// taken for it.
fn registry_answers(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = Vec::new();
    let _ = stream.take(8192).read_to_end(&mut head);
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    // A TLS registry answers plain HTTP with Go's 400 instead.
    head.starts_with("http/1.")
        && (head.contains("docker-distribution-api-version:")
            || head.contains("client sent an http request to an https server"))
}

/// reqwest is built without a default TLS provider; the workspace uses ring.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

async fn check(response: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    bail!("{what}: {status}: {body}")
}

fn digest_of(content: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(content))
}

/// `Authorization: Basic` value for `user:pass` (for tests that talk to the registry directly).
pub fn basic_authorization(user: &str, pass: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {encoded}")
}

impl TlsMaterial {
    /// A CA, a server certificate for 127.0.0.1/localhost and a client certificate.
    pub fn generate() -> anyhow::Result<Self> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tether test registry CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate()?;
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params.signed_by(&server_key, &issuer)?;

        let client_key = KeyPair::generate()?;
        let mut client_params = CertificateParams::new(vec!["tether-client".to_owned()])?;
        client_params
            .distinguished_name
            .push(DnType::CommonName, "tether-client");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &issuer)?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
        })
    }

    /// Writes the PEM files; returns the registry's `http.tls` section.
    fn registry_config(&self, dir: &Path, mutual: bool) -> anyhow::Result<String> {
        let write = |name: &str, pem: &str| -> anyhow::Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, pem)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        };
        let cert = write("server.crt", &self.server_cert_pem)?;
        let key = write("server.key", &self.server_key_pem)?;
        let ca = write("ca.crt", &self.ca_pem)?;
        let mut section = format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            cert.display(),
            key.display()
        );
        if mutual {
            section.push_str(&format!("    clientcas:\n      - {}\n", ca.display()));
        }
        Ok(section)
    }
}

const TOKEN_SERVICE: &str = "tether-test-registry";
const TOKEN_ISSUER: &str = "tether-test-issuer";
const TOKEN_KEY_ID: &str = "tether-test-key";
const TOKEN_LIFETIME_SECONDS: u64 = 300;

/// A token endpoint for distribution's `auth: token:` mode: grants every requested action to
/// anyone (or only to its one account), in ES256 JWTs signed with a key generated per run and
/// published to the registry as a JWKS. Runs on its own thread and runtime.
struct TokenIssuer {
    addr: SocketAddr,
    state: Arc<IssuerState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct IssuerState {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    account: Option<(String, String)>,
    issued: AtomicUsize,
}

impl TokenIssuer {
    fn start(account: Option<(String, String)>) -> anyhow::Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| anyhow::anyhow!("cannot generate the token signing key"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| anyhow::anyhow!("cannot load the token signing key"))?;
        let state = Arc::new(IssuerState {
            key,
            rng,
            account,
            issued: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (shutdown, on_shutdown) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let app_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("registry-token".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = axum::Router::new()
                        .route(
                            "/token",
                            axum::routing::get(issue_token).post(issue_refreshed_token),
                        )
                        .with_state(app_state);
                    let server = axum::serve(listener, app).with_graceful_shutdown(async {
                        let _ = on_shutdown.await;
                    });
                    if let Err(error) = server.await {
                        tracing::warn!(%error, "registry token issuer stopped");
                    }
                });
            })?;
        Ok(Self {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    fn issued(&self) -> usize {
        self.state.issued.load(Ordering::SeqCst)
    }

    /// Writes the JWKS with the issuer's public key; returns the registry's `auth:` section.
    fn registry_config(&self, dir: &Path) -> anyhow::Result<String> {
        let public = self.state.key.public_key().as_ref();
        anyhow::ensure!(public.len() == 65, "unexpected P-256 public key encoding");
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC",
            "crv": "P-256",
            "kid": TOKEN_KEY_ID,
            "alg": "ES256",
            "use": "sig",
            "x": base64url(&public[1..33]),
            "y": base64url(&public[33..65]),
        }]});
        let path = dir.join("jwks.json");
        std::fs::write(&path, serde_json::to_vec(&jwks)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(format!(
            "auth:\n  token:\n    realm: {}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    jwks: {}\n",
            self.realm(),
            path.display()
        ))
    }

    /// A token with every action on `repo`, for the push helpers.
    async fn fetch_token(
        &self,
        client: &reqwest::Client,
        repo: &str,
        account: Option<&(String, String)>,
    ) -> anyhow::Result<String> {
        let mut url = url::Url::parse(&self.realm())?;
        url.query_pairs_mut()
            .append_pair("service", TOKEN_SERVICE)
            .append_pair("scope", &format!("repository:{repo}:pull,push,delete"));
        let mut request = client.get(url.as_str());
        if let Some((user, pass)) = account {
            request = request.basic_auth(user, Some(pass));
        }
        let response = check(request.send().await?, "token request").await?;
        let body: serde_json::Value = serde_json::from_slice(&response.bytes().await?)?;
        body["token"]
            .as_str()
            .map(str::to_owned)
            .context("token response without a token")
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `GET /token?service=..&scope=..`: checks the account (if any) against Basic credentials and
/// signs a token granting the requested scopes.
async fn issue_token(
    axum::extract::State(state): axum::extract::State<Arc<IssuerState>>,
    axum::extract::Query(params): axum::extract::Query<Vec<(String, String)>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let allowed = state
        .account
        .as_ref()
        .is_none_or(|(user, pass)| presented == Some(basic_authorization(user, pass).as_str()));
    token_response(&state, allowed, &params)
}

/// `POST /token` with the OAuth2 refresh-token grant (a docker config `identitytoken`): the
/// account's password is the refresh token this issuer accepts.
async fn issue_refreshed_token(
    axum::extract::State(state): axum::extract::State<Arc<IssuerState>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let allowed = param("grant_type") == Some("refresh_token")
        && state
            .account
            .as_ref()
            .is_none_or(|(_, pass)| param("refresh_token") == Some(pass.as_str()));
    token_response(&state, allowed, &params)
}

fn token_response(
    state: &IssuerState,
    allowed: bool,
    params: &[(String, String)],
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !allowed {
        let body = serde_json::json!({"details": "incorrect username or password"});
        return json_response(axum::http::StatusCode::UNAUTHORIZED, &body);
    }
    let subject = state.account.as_ref().map_or("", |(user, _)| user.as_str());
    let scopes = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' '));
    match sign_token(state, subject, scopes) {
        Ok(token) => {
            state.issued.fetch_add(1, Ordering::SeqCst);
            let body = serde_json::json!({
                "token": token,
                "access_token": token,
                "expires_in": TOKEN_LIFETIME_SECONDS,
            });
            json_response(axum::http::StatusCode::OK, &body)
        }
        Err(error) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
        )
            .into_response(),
    }
}

/// An ES256 JWT in the shape distribution's token access controller verifies: `kid` naming a
/// JWKS key, issuer, audience (the service), validity window and `access` claims.
fn sign_token<'a>(
    state: &IssuerState,
    subject: &str,
    scopes: impl Iterator<Item = &'a str>,
) -> anyhow::Result<String> {
    let access: Vec<serde_json::Value> = scopes
        .filter_map(|scope| {
            let (kind, rest) = scope.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            Some(serde_json::json!({
                "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>(),
            }))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let issued = state.issued.load(Ordering::SeqCst);
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": TOKEN_KEY_ID});
    let claims = serde_json::json!({
        "iss": TOKEN_ISSUER,
        "sub": subject,
        "aud": TOKEN_SERVICE,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "nbf": now,
        "iat": now,
        "jti": format!("tether-{now}-{issued}"),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        base64url(&serde_json::to_vec(&header)?),
        base64url(&serde_json::to_vec(&claims)?)
    );
    let signature = state
        .key
        .sign(&state.rng, signing_input.as_bytes())
        .map_err(|_| anyhow::anyhow!("cannot sign the token"))?;
    Ok(format!("{signing_input}.{}", base64url(signature.as_ref())))
}

fn json_response(
    status: axum::http::StatusCode,
    body: &serde_json::Value,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
