//! The registry client: one `RegistryClient` per process, shared by every scan, owning the HTTP
//! clients, the per-registry-host rate limiters and the bearer-token cache; and the per-request
//! machinery a scan uses (scheme choice, the `/v2/` ping, Basic and Bearer auth, status → error).
//!
//! Written on reqwest by hand rather than on oci-client: that crate does not expose `Link`
//! pagination, per-host rate limits, `Retry-After` or the status of a failed request, which
//! are what image scanning needs.

use crate::auth::{Challenge, Credentials, parse_challenges};
use crate::error::ScanError;
use crate::name::ImageName;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use std::collections::HashMap;
use std::error::Error as _;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use tokio::time::Instant;

/// fluxd's `--registry-rps` default.
pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 50.0;
/// fluxd's `--registry-burst` default.
pub const DEFAULT_BURST: u32 = 10;
/// The token lifetime the distribution spec implies when `expires_in` is absent.
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Tokens are renewed this long before they expire.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// Process-wide settings of a [`RegistryClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Requests per second allowed to one registry host, across all scans.
    pub requests_per_second: f64,
    /// Requests allowed in a burst above the rate.
    pub burst: u32,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            burst: DEFAULT_BURST,
            user_agent: format!("tether/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// TLS material from a `certSecretRef` secret: `ca.crt`, `tls.crt`, `tls.key` (PEM).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Extra CA certificates, trusted on top of the system roots (as Flux does).
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain for mutual TLS.
    pub client_cert_pem: Option<Vec<u8>>,
    /// Client private key for mutual TLS.
    pub client_key_pem: Option<Vec<u8>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl TlsConfig {
    /// Reads a secret's data (`ca.crt`, `tls.crt`, `tls.key`; the deprecated `caFile`,
    /// `certFile`, `keyFile` when the new keys are absent). `None` when it has none of them.
    pub fn from_secret_data<'a>(
        data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Option<Self> {
        let data: HashMap<&str, &[u8]> = data.into_iter().collect();
        let pick = |key: &str, legacy: &str| {
            data.get(key)
                .or_else(|| data.get(legacy))
                .map(|value| value.to_vec())
        };
        let config = Self {
            ca_pem: pick("ca.crt", "caFile"),
            client_cert_pem: pick("tls.crt", "certFile"),
            client_key_pem: pick("tls.key", "keyFile"),
        };
        (config != Self::default()).then_some(config)
    }

    fn cache_key(&self) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        for part in [&self.ca_pem, &self.client_cert_pem, &self.client_key_pem] {
            let bytes = part.as_deref().unwrap_or_default();
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        }
        format!("{:x}", hasher.finalize())
    }
}

/// Per-scan settings, from an ImageRepository's spec and its secrets.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// What to present to the registry.
    pub credentials: Credentials,
    /// Allow plain HTTP (`spec.insecure`). Loopback and private addresses allow it anyway.
    pub insecure: bool,
    /// Custom CA and client certificate (`spec.certSecretRef`).
    pub tls: Option<TlsConfig>,
    /// Upper bound for the whole operation, token exchange and every page included.
    pub timeout: Duration,
    /// Tags per page requested with `?n=`; `None` lets the registry choose.
    pub page_size: Option<usize>,
    /// Refuse to follow more pages than this.
    pub max_pages: usize,
    /// Refuse to collect more tags than this.
    pub max_tags: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            credentials: Credentials::Anonymous,
            insecure: false,
            tls: None,
            timeout: Duration::from_secs(60),
            page_size: None,
            max_pages: 1_000,
            max_tags: 100_000,
        }
    }
}

/// The shared registry client. Cheap to clone; clones share limits, clients and tokens.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    options: ClientOptions,
    limiter: DefaultKeyedRateLimiter<String>,
    /// HTTP clients by TLS configuration (`""` is the default one).
    clients: Mutex<HashMap<String, reqwest::Client>>,
    tokens: Mutex<HashMap<TokenKey, CachedToken>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    registry: String,
    realm: String,
    service: String,
    scope: String,
    credentials: String,
}

struct CachedToken {
    token: String,
    expires: Instant,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Default for RegistryClient {
    fn default() -> Self {
        Self::new(ClientOptions::default())
    }
}

impl RegistryClient {
    /// A client with the given rate limits. A rate ≤ 0 or a zero burst falls back to the
    /// defaults rather than blocking every request.
    pub fn new(options: ClientOptions) -> Self {
        install_crypto_provider();
        let burst = NonZeroU32::new(options.burst).unwrap_or(NonZeroU32::MIN);
        let rate = if options.requests_per_second > 0.0 {
            options.requests_per_second
        } else {
            DEFAULT_REQUESTS_PER_SECOND
        };
        let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            inner: Arc::new(Inner {
                options,
                limiter: RateLimiter::keyed(quota),
                clients: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Opens a session for one operation on `image`: picks the HTTP client for the TLS
    /// settings and settles scheme and authentication with a `/v2/` ping.
    pub(crate) async fn session<'a>(
        &'a self,
        image: &'a ImageName,
        options: &'a ScanOptions,
    ) -> Result<Session<'a>, ScanError> {
        let http = self.http_client(image, options.tls.as_ref())?;
        let mut session = Session {
            client: self,
            http,
            image,
            options,
            base: String::new(),
            authorization: None,
            bearer: None,
        };
        session.ping().await?;
        Ok(session)
    }

    fn http_client(
        &self,
        image: &ImageName,
        tls: Option<&TlsConfig>,
    ) -> Result<reqwest::Client, ScanError> {
        let key = tls.map(TlsConfig::cache_key).unwrap_or_default();
        let mut clients = self
            .inner
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client =
            build_http_client(&self.inner.options, tls).map_err(|message| ScanError::Tls {
                image: image.canonical(),
                message,
            })?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    async fn wait_for_rate_limit(&self, registry: &str) {
        self.inner
            .limiter
            .until_key_ready(&registry.to_owned())
            .await;
    }

    fn cached_token(&self, key: &TokenKey) -> Option<String> {
        let tokens = self
            .inner
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens
            .get(key)
            .filter(|cached| cached.expires > Instant::now())
            .map(|cached| cached.token.clone())
    }

    fn store_token(&self, key: TokenKey, token: String, lifetime: Duration) {
        let usable = lifetime
            .saturating_sub(TOKEN_EXPIRY_MARGIN)
            .max(lifetime / 2);
        let mut tokens = self
            .inner
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        tokens.retain(|_, cached| cached.expires > now);
        tokens.insert(
            key,
            CachedToken {
                token,
                expires: now + usable,
            },
        );
    }

    fn forget_token(&self, key: &TokenKey) {
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

/// reqwest is built without a default TLS provider (see the workspace manifest); tether uses
/// ring, the provider kube uses. Installing fails harmlessly if one is installed already.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn build_http_client(
    options: &ClientOptions,
    tls: Option<&TlsConfig>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().user_agent(options.user_agent.clone());
    if let Some(tls) = tls {
        if let Some(ca) = &tls.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|e| format!("ca.crt is not a PEM certificate bundle: {e}"))?;
            if certs.is_empty() {
                return Err("ca.crt holds no certificate".to_owned());
            }
            builder = builder.tls_certs_merge(certs);
        }
        match (&tls.client_cert_pem, &tls.client_key_pem) {
            (Some(cert), Some(key)) => {
                let mut pem = cert.clone();
                pem.push(b'\n');
                pem.extend_from_slice(key);
                let identity = reqwest::Identity::from_pem(&pem)
                    .map_err(|_| "tls.crt/tls.key are not a PEM certificate and key".to_owned())?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => return Err("tls.crt and tls.key must be given together".to_owned()),
        }
    }
    builder.build().map_err(|e| error_chain(&e))
}

/// One operation's connection to a registry: scheme, HTTP client and authorization settled.
pub(crate) struct Session<'a> {
    client: &'a RegistryClient,
    http: reqwest::Client,
    pub(crate) image: &'a ImageName,
    pub(crate) options: &'a ScanOptions,
    /// `scheme://registry`.
    pub(crate) base: String,
    authorization: Option<HeaderValue>,
    /// The token cache key when `authorization` is a bearer token from a token endpoint.
    bearer: Option<(TokenKey, Challenge)>,
}

impl Session<'_> {
    /// `GET /v2/`: HTTPS first; plain HTTP when allowed (insecure, or a local registry) and
    /// HTTPS cannot connect. Then authorizes according to the challenge.
    async fn ping(&mut self) -> Result<(), ScanError> {
        let registry = self.image.registry();
        let https = format!("https://{registry}");
        let response = match self.get_v2(&https).await {
            Ok(response) => {
                self.base = https;
                response
            }
            Err(https_error @ ScanError::Connect { .. })
                if allows_plain_http(self.image, self.options.insecure) =>
            {
                let http = format!("http://{registry}");
                let fallback = match self.get_v2(&http).await {
                    Ok(r) if matches!(r.status(), StatusCode::OK | StatusCode::UNAUTHORIZED) => {
                        Ok(r)
                    }
                    Ok(r) => Err(self.status_error(r).await),
                    Err(error) => Err(error),
                };
                match fallback {
                    Ok(response) => {
                        self.base = http;
                        response
                    }
                    Err(http_error) => return Err(self.both_failed(https_error, &http_error)),
                }
            }
            Err(error) => return Err(error),
        };
        match response.status() {
            StatusCode::OK => self.authorize_without_challenge(),
            StatusCode::UNAUTHORIZED => {
                let challenges = challenges_of(&response);
                self.authorize(challenges).await
            }
            _ => Err(self.status_error(response).await),
        }
    }

    async fn get_v2(&self, base: &str) -> Result<Response, ScanError> {
        self.send_raw(Method::GET, &format!("{base}/v2/"), HeaderMap::new())
            .await
    }

    /// HTTPS could not connect and plain HTTP failed too: both causes, as one connect error.
    fn both_failed(&self, https_error: ScanError, http_error: &ScanError) -> ScanError {
        let image = self.image.canonical();
        let http_text = http_error.to_string();
        let http_cause = http_text
            .strip_prefix(&format!("{image}: "))
            .unwrap_or(&http_text);
        match https_error {
            ScanError::Connect { image, url, cause } => ScanError::Connect {
                image,
                url,
                cause: format!("{cause}; over plain HTTP: {http_cause}"),
            },
            other => other,
        }
    }

    /// The registry answered `/v2/` without a challenge: only a registry token is sent.
    fn authorize_without_challenge(&mut self) -> Result<(), ScanError> {
        if let Credentials::RegistryToken(token) = &self.options.credentials {
            self.authorization = Some(bearer_header(self.image, token)?);
        }
        Ok(())
    }

    async fn authorize(&mut self, challenges: Vec<Challenge>) -> Result<(), ScanError> {
        let picked = challenges
            .iter()
            .find(|c| c.is_bearer() || c.is_basic())
            .cloned();
        match (picked, &self.options.credentials) {
            (_, Credentials::RegistryToken(token)) => {
                self.authorization = Some(bearer_header(self.image, token)?);
                Ok(())
            }
            (Some(challenge), _) if challenge.is_bearer() => self.authorize_bearer(challenge).await,
            (Some(_), Credentials::Basic { username, password }) => {
                self.authorization = Some(basic_header(self.image, username, password)?);
                Ok(())
            }
            // Anonymous against Basic: the request itself will be refused with a clear 401.
            (Some(_), _) => Ok(()),
            (None, _) => Err(ScanError::Challenge {
                image: self.image.canonical(),
                message: format!(
                    "401 from {}/v2/ without a Basic or Bearer challenge",
                    self.base
                ),
            }),
        }
    }

    async fn authorize_bearer(&mut self, challenge: Challenge) -> Result<(), ScanError> {
        let key = TokenKey {
            registry: self.image.registry().to_owned(),
            realm: challenge.param("realm").unwrap_or_default().to_owned(),
            service: challenge.param("service").unwrap_or_default().to_owned(),
            scope: format!("repository:{}:pull", self.image.repository()),
            credentials: self.options.credentials.fingerprint(),
        };
        let token = match self.client.cached_token(&key) {
            Some(token) => token,
            None => {
                let (token, lifetime) =
                    crate::token::exchange(self, &key.realm, &key.service, &key.scope).await?;
                self.client
                    .store_token(key.clone(), token.clone(), lifetime);
                token
            }
        };
        self.authorization = Some(bearer_header(self.image, &token)?);
        self.bearer = Some((key, challenge));
        Ok(())
    }

    /// Sends an authorized request to `url`; on a 401 with a cached token the token is
    /// dropped, a fresh one fetched and the request repeated once (it may have expired or
    /// been revoked). Non-success statuses come back as typed errors.
    pub(crate) async fn request(
        &mut self,
        method: Method,
        url: &str,
        headers: HeaderMap,
    ) -> Result<Response, ScanError> {
        let response = self
            .send_authorized(method.clone(), url, headers.clone())
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return self.check(response).await;
        }
        let Some((key, challenge)) = self.bearer.take() else {
            return Err(self.status_error(response).await);
        };
        self.client.forget_token(&key);
        self.authorize_bearer(challenge).await?;
        let retried = self.send_authorized(method, url, headers).await?;
        self.check(retried).await
    }

    async fn check(&self, response: Response) -> Result<Response, ScanError> {
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.status_error(response).await)
        }
    }

    async fn send_authorized(
        &self,
        method: Method,
        url: &str,
        mut headers: HeaderMap,
    ) -> Result<Response, ScanError> {
        if let Some(authorization) = &self.authorization {
            headers.insert(header::AUTHORIZATION, authorization.clone());
        }
        self.send_raw(method, url, headers).await
    }

    /// Sends one request after waiting for the registry host's rate limit.
    pub(crate) async fn send_raw(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
    ) -> Result<Response, ScanError> {
        self.client.wait_for_rate_limit(self.image.registry()).await;
        self.send_unlimited(self.http.request(method, url).headers(headers), url)
            .await
    }

    /// Sends a prepared request (the token exchange builds its own), mapping failures.
    pub(crate) async fn send_unlimited(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<Response, ScanError> {
        request
            .send()
            .await
            .map_err(|e| self.transport_error(url, &e))
    }

    pub(crate) fn token_request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }

    pub(crate) async fn limit_rate(&self) {
        self.client.wait_for_rate_limit(self.image.registry()).await;
    }

    pub(crate) fn transport_error(&self, url: &str, error: &reqwest::Error) -> ScanError {
        let image = self.image.canonical();
        let url = strip_query(url);
        // reqwest's own message repeats the URL; its sources say what went wrong.
        let cause = error
            .source()
            .map_or_else(|| error.to_string(), error_chain);
        if error.is_timeout() {
            ScanError::Timeout {
                image,
                after: self.options.timeout,
            }
        } else if error.is_connect() {
            ScanError::Connect { image, url, cause }
        } else if error.is_decode() || error.is_body() {
            ScanError::InvalidResponse { image, url, cause }
        } else {
            ScanError::Transport { image, url, cause }
        }
    }

    /// Turns a non-success response into the matching error, with the registry's message.
    pub(crate) async fn status_error(&self, response: Response) -> ScanError {
        let image = self.image.canonical();
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let message = error_message(response).await;
        match status.as_u16() {
            401 | 403 => ScanError::Unauthorized {
                image,
                status: status.as_u16(),
                message,
            },
            404 => ScanError::NotFound { image, message },
            429 => ScanError::RateLimited { image, retry_after },
            500..=599 => ScanError::Server {
                image,
                status: status.as_u16(),
                message,
            },
            other => ScanError::UnexpectedStatus {
                image,
                status: other,
                message,
            },
        }
    }

    pub(crate) fn invalid_response(&self, url: &str, cause: impl fmt::Display) -> ScanError {
        ScanError::InvalidResponse {
            image: self.image.canonical(),
            url: strip_query(url),
            cause: cause.to_string(),
        }
    }
}

/// Whether plain HTTP may be tried after HTTPS fails to connect: `insecure`, or a registry
/// go-containerregistry treats as local (loopback, `localhost`, RFC 1918 addresses).
fn allows_plain_http(image: &ImageName, insecure: bool) -> bool {
    insecure || image.is_local()
}

fn challenges_of(response: &Response) -> Vec<Challenge> {
    response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

fn bearer_header(image: &ImageName, token: &str) -> Result<HeaderValue, ScanError> {
    sensitive_header(image, &format!("Bearer {token}"))
}

fn basic_header(
    image: &ImageName,
    username: &str,
    password: &str,
) -> Result<HeaderValue, ScanError> {
    use base64::Engine;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    sensitive_header(image, &format!("Basic {encoded}"))
}

/// A header value marked sensitive (hyper never logs it). The error names no part of it.
fn sensitive_header(image: &ImageName, value: &str) -> Result<HeaderValue, ScanError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| ScanError::Challenge {
        image: image.canonical(),
        message: "the token or credentials contain characters not allowed in an HTTP header"
            .to_owned(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// The registry's error text: the distribution spec's `{"errors": [{code, message}]}` joined,
/// else the start of the body, else the status text.
async fn error_message(response: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    if let Ok(parsed) = serde_json::from_slice::<Errors>(&body)
        && !parsed.errors.is_empty()
    {
        return parsed
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (true, _) => e.message.clone(),
                (false, true) => e.code.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    if text.is_empty() {
        status.canonical_reason().unwrap_or("no message").to_owned()
    } else {
        text.chars().take(200).collect()
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Drops the query: pagination URLs carry only `n`/`last`, token URLs carry scope and service,
/// neither belongs in an error message.
fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// An error and its sources, `: `-joined (reqwest's own message omits the cause).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn plain_http_only_for_insecure_or_local_registries() -> Result<(), crate::NameError> {
        let remote = ImageName::parse("ghcr.io/org/app")?;
        assert!(!allows_plain_http(&remote, false));
        assert!(allows_plain_http(&remote, true));
        for local in [
            "localhost:5000/a",
            "127.0.0.1:5000/a",
            "192.168.1.2/a",
            "r.localhost/a",
        ] {
            assert!(
                allows_plain_http(&ImageName::parse(local)?, false),
                "{local}"
            );
        }
        Ok(())
    }

    #[test]
    fn tls_config_from_secret_keys() {
        let data = [("ca.crt", b"CA".as_slice()), ("caFile", b"OLD".as_slice())];
        let tls = TlsConfig::from_secret_data(data).expect("has a CA");
        assert_eq!(tls.ca_pem.as_deref(), Some(b"CA".as_slice()));
        assert_eq!(tls.client_cert_pem, None);
        assert!(TlsConfig::from_secret_data([("username", b"x".as_slice())]).is_none());
        let shown = format!(
            "{:?}",
            TlsConfig {
                client_key_pem: Some(b"PRIVATE".to_vec()),
                ..TlsConfig::default()
            }
        );
        assert!(!shown.contains("PRIVATE"), "{shown}");
    }

    #[test]
    fn bad_ca_is_a_tls_error() {
        install_crypto_provider();
        let tls = TlsConfig {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..TlsConfig::default()
        };
        let error = build_http_client(&ClientOptions::default(), Some(&tls))
            .expect_err("garbage is not a CA");
        assert!(error.contains("ca.crt"), "{error}");
    }
}
