//! The registry client: one `RegistryClient` per process, shared by every scan, owning the HTTP
//! clients (one per TLS configuration), the per-registry-host rate limiters and the bearer-token
//! cache; and the options a scan is run with. The per-request machinery is in `session`.
//!
//! Written on reqwest by hand rather than on oci-client: that crate does not expose `Link`
//! pagination, per-host rate limits, `Retry-After` or the status of a failed request, which
//! are what image scanning needs.

use crate::auth::Credentials;
use crate::error::ScanError;
use crate::name::ImageName;
use crate::session::error_chain;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
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
/// Past this many rate-limited hosts, idle ones are forgotten.
const LIMITED_HOSTS_BEFORE_CLEANUP: usize = 1_000;
/// Tokens are renewed this long before they expire.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// Process-wide settings of a [`RegistryClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Requests per second allowed to one registry host, across all scans; `f64::INFINITY`
    /// for no limit (artifact pulls, which Flux does not rate-limit).
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
    /// `None` when requests are not rate-limited.
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    /// HTTP clients by TLS configuration (`""` is the default one).
    clients: Mutex<HashMap<String, reqwest::Client>>,
    tokens: Mutex<HashMap<TokenKey, CachedToken>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) registry: String,
    pub(crate) realm: String,
    pub(crate) service: String,
    pub(crate) scope: String,
    pub(crate) credentials: String,
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
                limiter: (!rate.is_infinite()).then(|| RateLimiter::keyed(quota)),
                clients: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub(crate) fn http_client(
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

    pub(crate) async fn wait_for_rate_limit(&self, registry: &str) {
        let Some(limiter) = &self.inner.limiter else {
            return;
        };
        // Hosts no longer scanned keep no state once their bucket has refilled.
        if limiter.len() > LIMITED_HOSTS_BEFORE_CLEANUP {
            limiter.retain_recent();
        }
        limiter.until_key_ready(&registry.to_owned()).await;
    }

    pub(crate) fn cached_token(&self, key: &TokenKey) -> Option<String> {
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

    pub(crate) fn store_token(&self, key: TokenKey, token: String, lifetime: Duration) {
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

    pub(crate) fn forget_token(&self, key: &TokenKey) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
