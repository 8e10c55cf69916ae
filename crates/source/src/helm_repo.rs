//! HTTP(S) Helm chart repositories, as a HelmRepository and HelmChart use them: fetching
//! `index.yaml` (Basic auth, custom CA and client certificate, timeout, size cap, conditional
//! requests so an unchanged index is neither downloaded nor parsed again, sha256 digest), and
//! downloading a chart archive named by the index (URL resolved against the repository URL as
//! Helm's `ResolveReferenceURL` does, size-capped, checked against the index's digest).
//!
//! Credentials follow Helm's HTTP getter and Flux's `spec.passCredentials`: they go to the
//! repository's own scheme and host always, to any other host only when `pass_credentials` is
//! set. Errors name URLs without their user info and never carry credentials.

use std::fmt;
use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::helm_index::{
    ChartVersion, DEFAULT_MAX_INDEX_BYTES, HelmIndex, HelmIndexError, IndexLimits,
};

pub use tether_registry::TlsConfig;

/// The default cap on a chart archive.
pub const DEFAULT_MAX_CHART_BYTES: u64 = 64 * 1024 * 1024;

/// Basic auth credentials (`secretRef` with `username` and `password`).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl BasicAuth {
    /// Reads a `secretRef` secret's `username` and `password` as source-controller does: both
    /// empty means no auth; one of them empty is an error naming the secret.
    pub fn from_secret_data<'a>(
        secret_name: &str,
        data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Option<Self>, HelmRepoError> {
        let (mut username, mut password) = (String::new(), String::new());
        for (key, value) in data {
            match key {
                "username" => username = String::from_utf8_lossy(value).into_owned(),
                "password" => password = String::from_utf8_lossy(value).into_owned(),
                _ => {}
            }
        }
        match (username.is_empty(), password.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Ok(Some(Self { username, password })),
            _ => Err(HelmRepoError::InvalidSecret {
                name: secret_name.to_owned(),
            }),
        }
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to talk to one chart repository.
#[derive(Debug, Clone)]
pub struct HelmRepoOptions {
    /// Basic auth, when the repository needs it.
    pub basic_auth: Option<BasicAuth>,
    /// Send the credentials to chart URLs on other hosts too (`spec.passCredentials`).
    pub pass_credentials: bool,
    /// Extra CA and client certificate (`spec.certSecretRef`).
    pub tls: Option<TlsConfig>,
    /// Upper bound for one request, body included (`spec.timeout`).
    pub timeout: Duration,
    /// The largest index accepted.
    pub max_index_bytes: u64,
    /// The largest chart archive accepted.
    pub max_chart_bytes: u64,
}

impl Default for HelmRepoOptions {
    fn default() -> Self {
        Self {
            basic_auth: None,
            pass_credentials: false,
            tls: None,
            timeout: Duration::from_secs(60),
            max_index_bytes: DEFAULT_MAX_INDEX_BYTES,
            max_chart_bytes: DEFAULT_MAX_CHART_BYTES,
        }
    }
}

/// What a server said about an index, to ask next time whether it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheValidator {
    /// The `ETag` response header.
    pub etag: Option<String>,
    /// The `Last-Modified` response header.
    pub last_modified: Option<String>,
}

/// The outcome of [`HelmRepoClient::fetch_index`].
#[derive(Debug)]
pub enum IndexFetch {
    /// The server says the index did not change since `validator` was taken.
    NotModified,
    /// A new index, written to the destination file and parsed.
    Fetched(FetchedIndex),
}

/// A downloaded, parsed index.
#[derive(Debug)]
pub struct FetchedIndex {
    /// The parsed index.
    pub index: HelmIndex,
    /// `sha256:<hex>` of the document as downloaded.
    pub digest: String,
    /// The document's size in bytes.
    pub size: u64,
    /// What to send next time for a conditional request.
    pub validator: CacheValidator,
}

/// A downloaded chart archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartDownload {
    /// The URL it came from (without user info).
    pub url: String,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    /// The archive's size in bytes.
    pub size: u64,
}

/// Why talking to a chart repository failed.
#[derive(Debug, thiserror::Error)]
pub enum HelmRepoError {
    /// The repository or chart URL is not a usable http(s) URL.
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL, without user info.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The auth secret has a user name without a password or the reverse.
    #[error("invalid '{name}' secret data: required fields 'username' and 'password'")]
    InvalidSecret {
        /// The secret's name.
        name: String,
    },
    /// The CA or client certificate cannot be used.
    #[error("invalid TLS configuration: {message}")]
    Tls {
        /// What is wrong.
        message: String,
    },
    /// The server refused the credentials (401) or the access (403).
    #[error("failed to fetch {url} : {status}")]
    Unauthorized {
        /// The URL, without user info.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The server has nothing at that URL (404).
    #[error("failed to fetch {url} : 404 Not Found")]
    NotFound {
        /// The URL, without user info.
        url: String,
    },
    /// Any other unsuccessful status.
    #[error("failed to fetch {url} : {status}")]
    Status {
        /// The URL, without user info.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The server could not be reached (DNS, refused connection, TLS handshake, reset).
    #[error("failed to fetch {url}: {message}")]
    Unreachable {
        /// The URL, without user info.
        url: String,
        /// The transport's explanation.
        message: String,
    },
    /// The request took longer than the timeout.
    #[error("failed to fetch {url}: timed out after {}s", .after.as_secs_f32())]
    Timeout {
        /// The URL, without user info.
        url: String,
        /// The configured timeout.
        after: Duration,
    },
    /// The body is larger than allowed.
    #[error("{url} exceeds the maximum size of {max} bytes")]
    TooLarge {
        /// The URL, without user info.
        url: String,
        /// The cap, in bytes.
        max: u64,
    },
    /// The chart archive does not match the digest the index gives.
    #[error("chart {url} has digest {actual}, the index says {expected}")]
    DigestMismatch {
        /// The URL, without user info.
        url: String,
        /// The index's digest.
        expected: String,
        /// The archive's digest.
        actual: String,
    },
    /// The chart version has no URL to download from.
    #[error("chart '{name}' has no downloadable URLs")]
    NoChartUrl {
        /// The chart's name.
        name: String,
    },
    /// The downloaded index is not a valid index.
    #[error(transparent)]
    Index(#[from] HelmIndexError),
    /// Writing the download failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The destination file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl HelmRepoError {
    /// Whether retrying without a change of spec or secret cannot help.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::InvalidUrl { .. } | Self::Tls { .. } | Self::InvalidSecret { .. }
        )
    }
}

/// A client for one repository configuration (credentials, TLS, limits). Cheap to clone.
#[derive(Debug, Clone)]
pub struct HelmRepoClient {
    http: reqwest::Client,
    options: HelmRepoOptions,
}

impl HelmRepoClient {
    /// A client with `options`; fails when the TLS material is unusable.
    pub fn new(options: HelmRepoOptions) -> Result<Self, HelmRepoError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(format!("tether/{}", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout);
        if let Some(tls) = &options.tls {
            builder = with_tls(builder, tls).map_err(|message| HelmRepoError::Tls { message })?;
        }
        let http = builder.build().map_err(|e| HelmRepoError::Tls {
            message: error_chain(&e),
        })?;
        Ok(Self { http, options })
    }

    /// The options this client was made with.
    pub fn options(&self) -> &HelmRepoOptions {
        &self.options
    }

    /// Fetches `<repo_url>/index.yaml` into `dest` and parses it. With `validator` from the
    /// previous fetch, asks the server whether the index changed and returns
    /// [`IndexFetch::NotModified`] (leaving `dest` untouched) when it did not.
    pub async fn fetch_index(
        &self,
        repo_url: &str,
        validator: Option<&CacheValidator>,
        dest: &Path,
    ) -> Result<IndexFetch, HelmRepoError> {
        let base = parse_http_url(repo_url)?;
        let url = index_url(&base);
        let mut headers = HeaderMap::new();
        if let Some(validator) = validator {
            conditional_headers(validator, &mut headers);
        }
        let response = self.get(&url, &base, headers).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(IndexFetch::NotModified);
        }
        let validator = CacheValidator {
            etag: header_text(response.headers(), header::ETAG),
            last_modified: header_text(response.headers(), header::LAST_MODIFIED),
        };
        let max = self.options.max_index_bytes;
        let (digest, size) = self.save_body(&url, response, max, dest).await?;
        let limits = IndexLimits { max_bytes: max };
        let path = dest.to_owned();
        let index = tokio::task::spawn_blocking(move || HelmIndex::from_path(&path, limits))
            .await
            .map_err(|e| HelmIndexError::Io(std::io::Error::other(e.to_string())))??;
        Ok(IndexFetch::Fetched(FetchedIndex {
            index,
            digest,
            size,
            validator,
        }))
    }

    /// Downloads `chart`'s archive (its first URL, resolved against `repo_url`) into `dest`,
    /// checking it against the index's digest when there is one.
    pub async fn download_chart(
        &self,
        repo_url: &str,
        chart: &ChartVersion,
        dest: &Path,
    ) -> Result<ChartDownload, HelmRepoError> {
        let base = parse_http_url(repo_url)?;
        let first = chart
            .urls
            .first()
            .ok_or_else(|| HelmRepoError::NoChartUrl {
                name: chart.name.to_string(),
            })?;
        let url = resolve_reference_url(&base, first)?;
        let response = self.get(&url, &base, HeaderMap::new()).await?;
        let max = self.options.max_chart_bytes;
        let (digest, size) = self.save_body(&url, response, max, dest).await?;
        if let Some(expected) = chart.digest.as_deref() {
            let expected_hex = expected.strip_prefix("sha256:").unwrap_or(expected);
            let actual_hex = digest.strip_prefix("sha256:").unwrap_or(&digest);
            if !actual_hex.eq_ignore_ascii_case(expected_hex) {
                return Err(HelmRepoError::DigestMismatch {
                    url: redacted(&url),
                    expected: expected.to_owned(),
                    actual: digest,
                });
            }
        }
        Ok(ChartDownload {
            url: redacted(&url),
            digest,
            size,
        })
    }

    /// Downloads the file at `url` (a values file, as Helm's HTTP getter fetches one) into
    /// `dest`, refusing more than `max` bytes; returns its size.
    pub async fn download_file(
        &self,
        url: &str,
        max: u64,
        dest: &Path,
    ) -> Result<u64, HelmRepoError> {
        let url = parse_http_url(url)?;
        let response = self.get(&url, &url, HeaderMap::new()).await?;
        let (_, size) = self.save_body(&url, response, max, dest).await?;
        Ok(size)
    }

    /// Downloads the file at `url` (an artifact another controller serves, such as an
    /// ExternalArtifact's) into `dest`, refusing more than `max` bytes; returns its
    /// `sha256:<hex>` digest and size, for the caller to check against what it expects.
    pub async fn download_digested(
        &self,
        url: &str,
        max: u64,
        dest: &Path,
    ) -> Result<(String, u64), HelmRepoError> {
        let url = parse_http_url(url)?;
        let response = self.get(&url, &url, HeaderMap::new()).await?;
        self.save_body(&url, response, max, dest).await
    }

    async fn get(
        &self,
        url: &Url,
        repo: &Url,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, HelmRepoError> {
        let mut request = self
            .http
            .get(without_user_info(url))
            .headers(headers)
            .timeout(self.options.timeout);
        if let Some(auth) = self.credentials_for(url, repo) {
            request = request.basic_auth(&auth.username, Some(&auth.password));
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(url, &e))?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let url = redacted(url);
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => HelmRepoError::Unauthorized {
                url,
                status: status.as_u16(),
            },
            StatusCode::NOT_FOUND => HelmRepoError::NotFound { url },
            _ => HelmRepoError::Status {
                url,
                status: status.as_u16(),
            },
        })
    }

    /// The configured credentials, else those in the URL's user info; only for the
    /// repository's scheme and host unless credentials are passed to every host.
    fn credentials_for(&self, url: &Url, repo: &Url) -> Option<BasicAuth> {
        let same_host = url.scheme() == repo.scheme()
            && url.host_str() == repo.host_str()
            && url.port_or_known_default() == repo.port_or_known_default();
        if !same_host && !self.options.pass_credentials {
            return None;
        }
        self.options.basic_auth.clone().or_else(|| {
            (!repo.username().is_empty()).then(|| BasicAuth {
                username: repo.username().to_owned(),
                password: repo.password().unwrap_or_default().to_owned(),
            })
        })
    }

    /// Streams the body into `dest`, refusing more than `max` bytes; returns its digest and size.
    async fn save_body(
        &self,
        url: &Url,
        mut response: reqwest::Response,
        max: u64,
        dest: &Path,
    ) -> Result<(String, u64), HelmRepoError> {
        let too_large = || HelmRepoError::TooLarge {
            url: redacted(url),
            max,
        };
        if response.content_length().is_some_and(|length| length > max) {
            return Err(too_large());
        }
        let write_failed = |source| HelmRepoError::Write {
            path: dest.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(write_failed)?;
        let (mut hasher, mut size) = (Sha256::new(), 0u64);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(url, &e))?
        {
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large());
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(write_failed)?;
        }
        file.flush().await.map_err(write_failed)?;
        Ok((format!("sha256:{:x}", hasher.finalize()), size))
    }

    fn transport_error(&self, url: &Url, error: &reqwest::Error) -> HelmRepoError {
        if error.is_timeout() {
            return HelmRepoError::Timeout {
                url: redacted(url),
                after: self.options.timeout,
            };
        }
        HelmRepoError::Unreachable {
            url: redacted(url),
            message: error_chain(error),
        }
    }
}

/// `<repo>/index.yaml`, the path joined as Flux's `DownloadIndex` does (query kept).
fn index_url(base: &Url) -> Url {
    let mut url = base.clone();
    let path = format!("{}/index.yaml", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

/// Helm's `ResolveReferenceURL`: an absolute reference as it is, a relative one against the
/// repository URL with a trailing slash, keeping the repository URL's query.
pub fn resolve_reference_url(base: &Url, reference: &str) -> Result<Url, HelmRepoError> {
    if let Ok(absolute) = Url::parse(reference) {
        return Ok(absolute);
    }
    let mut dir = base.clone();
    dir.set_path(&format!("{}/", base.path().trim_end_matches('/')));
    dir.set_query(None);
    let mut resolved = dir.join(reference).map_err(|e| HelmRepoError::InvalidUrl {
        url: reference.to_owned(),
        reason: e.to_string(),
    })?;
    resolved.set_query(base.query());
    Ok(resolved)
}

fn parse_http_url(text: &str) -> Result<Url, HelmRepoError> {
    let url = Url::parse(text).map_err(|e| HelmRepoError::InvalidUrl {
        url: redact_text(text),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HelmRepoError::InvalidUrl {
            url: redacted(&url),
            reason: format!("scheme '{}' is not http or https", url.scheme()),
        });
    }
    Ok(url)
}

fn conditional_headers(validator: &CacheValidator, headers: &mut HeaderMap) {
    let pairs = [
        (header::IF_NONE_MATCH, &validator.etag),
        (header::IF_MODIFIED_SINCE, &validator.last_modified),
    ];
    for (name, value) in pairs {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, value);
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// `builder` trusting `tls`'s CA on top of the system roots and presenting its client
/// certificate; the error says which part of the material is unusable.
pub(crate) fn with_tls(
    mut builder: reqwest::ClientBuilder,
    tls: &TlsConfig,
) -> Result<reqwest::ClientBuilder, String> {
    let invalid = |message: &str| message.to_owned();
    if let Some(ca) = &tls.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(ca)
            .map_err(|_| invalid("ca.crt is not a PEM certificate bundle"))?;
        if certs.is_empty() {
            return Err(invalid("ca.crt holds no certificate"));
        }
        builder = builder.tls_certs_merge(certs);
    }
    match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) => {
            let mut pem = cert.clone();
            pem.push(b'\n');
            pem.extend_from_slice(key);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|_| invalid("tls.crt/tls.key are not a PEM certificate and key"))?;
            Ok(builder.identity(identity))
        }
        (None, None) => Ok(builder),
        _ => Err(invalid("tls.crt and tls.key must be given together")),
    }
}

fn without_user_info(url: &Url) -> Url {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

fn redacted(url: &Url) -> String {
    without_user_info(url).to_string()
}

fn redact_text(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => text.to_owned(),
    }
}

/// An error and its causes, joined (reqwest's top level says little: "error sending request").
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

/// reqwest is built without a default TLS provider (see the workspace manifest); tether uses
/// ring. Installing fails harmlessly when one is installed already.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test URL parses")
    }

    #[test]
    fn relative_chart_urls_resolve_against_the_repository_like_helm() {
        for (base, reference, expected) in [
            (
                "https://h/charts",
                "a-1.0.0.tgz",
                "https://h/charts/a-1.0.0.tgz",
            ),
            (
                "https://h/charts/",
                "a-1.0.0.tgz",
                "https://h/charts/a-1.0.0.tgz",
            ),
            ("https://h/charts", "../x/a.tgz", "https://h/x/a.tgz"),
            ("https://h/charts", "/abs/a.tgz", "https://h/abs/a.tgz"),
            ("https://h/c?token=1", "a.tgz", "https://h/c/a.tgz?token=1"),
            ("https://h/c", "https://other/a.tgz", "https://other/a.tgz"),
        ] {
            let resolved = resolve_reference_url(&url(base), reference).expect("resolves");
            assert_eq!(resolved.as_str(), expected, "{base} + {reference}");
        }
    }

    #[test]
    fn index_url_appends_index_yaml() {
        assert_eq!(
            index_url(&url("http://h:1/a/")).as_str(),
            "http://h:1/a/index.yaml"
        );
        assert_eq!(
            index_url(&url("http://h:1")).as_str(),
            "http://h:1/index.yaml"
        );
        assert_eq!(
            index_url(&url("http://h/a?x=1")).as_str(),
            "http://h/a/index.yaml?x=1"
        );
    }

    #[test]
    fn credentials_go_to_other_hosts_only_when_passed() {
        let auth = BasicAuth {
            username: "u".into(),
            password: "p".into(),
        };
        let options = |pass_credentials| HelmRepoOptions {
            basic_auth: Some(auth.clone()),
            pass_credentials,
            ..HelmRepoOptions::default()
        };
        let repo = url("https://charts.example:8443/stable");
        let own = url("https://charts.example:8443/stable/a.tgz");
        let other = url("https://cdn.example/a.tgz");
        let client = HelmRepoClient::new(options(false)).expect("client");
        assert_eq!(client.credentials_for(&own, &repo), Some(auth.clone()));
        assert_eq!(client.credentials_for(&other, &repo), None);
        let client = HelmRepoClient::new(options(true)).expect("client");
        assert_eq!(client.credentials_for(&other, &repo), Some(auth));
    }

    #[test]
    fn auth_secret_needs_both_fields_or_neither() {
        let read = |data: &[(&'static str, &'static [u8])]| {
            BasicAuth::from_secret_data("creds", data.iter().copied())
        };
        assert_eq!(read(&[]).expect("no auth"), None);
        let both = read(&[("username", b"u"), ("password", b"p")]).expect("auth");
        assert_eq!(both.map(|a| a.username), Some("u".to_owned()));
        let half = read(&[("username", b"u")]).expect_err("password missing");
        assert_eq!(
            half.to_string(),
            "invalid 'creds' secret data: required fields 'username' and 'password'"
        );
    }

    #[test]
    fn errors_never_show_user_info() {
        let error = parse_http_url("ftp://user:secret@h/x").expect_err("ftp refused");
        assert!(!error.to_string().contains("secret"), "{error}");
        let error = parse_http_url("http://user:secret@[bad").expect_err("bad URL");
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn unusable_tls_material_is_terminal() {
        let options = HelmRepoOptions {
            tls: Some(TlsConfig {
                ca_pem: Some(b"not pem".to_vec()),
                ..TlsConfig::default()
            }),
            ..HelmRepoOptions::default()
        };
        let error = HelmRepoClient::new(options).expect_err("bad CA");
        assert!(error.is_terminal(), "{error}");
    }
}
