//! A client for one S3-compatible bucket: ListObjectsV2 page by page (with a prefix), GetObject
//! streamed to a file under a size cap, over HTTPS (extra CA, client certificate) or plain HTTP
//! (`insecure`), anonymous or with static keys. Requests are presigned (SigV4 in the query
//! string) by `rusty-s3` and sent with reqwest; path-style addressing, as minio-go uses for
//! endpoints that are not AWS. Error answers are read (bounded) for S3's `Code` and `Message`.

use super::BucketError;
use crate::helm_repo::{error_chain, install_crypto_provider, with_tls};
use reqwest::{Method, StatusCode};
use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tether_registry::TlsConfig;
use tokio::io::AsyncWriteExt;
use url::Url;

/// The region requests are signed for when the Bucket names none (what S3-compatible servers
/// expect by default).
pub const DEFAULT_REGION: &str = "us-east-1";
/// The largest page of a listing read (S3 sends at most 1000 keys a page).
const MAX_LIST_PAGE_BYTES: u64 = 16 * 1024 * 1024;
/// The most of an error answer read for its code and message.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;
/// S3 error codes that mean the credentials are wrong, whatever the status (versitygw answers
/// an unknown access key with 404 `XAdminUserNotFound`).
const AUTHENTICATION_CODES: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthorizationHeaderMalformed",
    "ExpiredToken",
    "InvalidToken",
    "XAdminUserNotFound",
];

/// Static S3 keys (`accesskey` and `secretkey` of the Bucket's `secretRef`).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Keys {
    access_key: String,
    secret_key: String,
}

impl S3Keys {
    /// Keys given directly.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }

    /// The keys of Secret `secret_name`'s data; both must be there and not empty, as
    /// source-controller requires of a generic Bucket's Secret.
    pub fn from_secret_data<'a>(
        secret_name: &str,
        data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, BucketError> {
        let (mut access_key, mut secret_key) = (String::new(), String::new());
        for (key, value) in data {
            match key {
                "accesskey" => access_key = String::from_utf8_lossy(value).into_owned(),
                "secretkey" => secret_key = String::from_utf8_lossy(value).into_owned(),
                _ => {}
            }
        }
        if access_key.is_empty() || secret_key.is_empty() {
            return Err(BucketError::InvalidSecret {
                secret: secret_name.to_owned(),
            });
        }
        Ok(Self::new(access_key, secret_key))
    }
}

impl fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Keys")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// How to reach one bucket.
#[derive(Debug, Clone)]
pub struct BucketOptions {
    /// `host[:port]`, without a scheme (`spec.endpoint`).
    pub endpoint: String,
    /// `spec.bucketName`.
    pub bucket_name: String,
    /// `spec.region`; [`DEFAULT_REGION`] when unset or empty.
    pub region: Option<String>,
    /// Plain HTTP (`spec.insecure`).
    pub insecure: bool,
    /// Anonymous when `None`.
    pub keys: Option<S3Keys>,
    /// Extra CA and client certificate (`spec.certSecretRef`).
    pub tls: Option<TlsConfig>,
    /// Upper bound of one request, body included.
    pub timeout: Duration,
}

/// One object of a listing. The ETag is without its quotes, as minio-go gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub etag: String,
    pub size: u64,
}

/// What a GetObject found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Written to the file; the object's ETag as the download answered it.
    Written { etag: String, size: u64 },
    /// There is no such object (any more).
    Missing,
}

/// The bytes that downloads running side by side may write together.
#[derive(Debug)]
pub struct ByteBudget {
    limit: u64,
    spent: AtomicU64,
}

impl ByteBudget {
    /// `limit` bytes in all, `already` of them spent.
    pub fn new(limit: u64, already: u64) -> Self {
        Self {
            limit,
            spent: AtomicU64::new(already),
        }
    }

    /// The bytes not spent yet.
    pub fn remaining(&self) -> u64 {
        self.limit
            .saturating_sub(self.spent.load(Ordering::Relaxed))
    }

    /// Takes `bytes`; `false` (taking nothing) when that would pass the limit.
    fn spend(&self, bytes: u64) -> bool {
        self.spent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                spent
                    .checked_add(bytes)
                    .filter(|total| *total <= self.limit)
            })
            .is_ok()
    }
}

/// A client for one bucket. Cheap to clone.
#[derive(Clone)]
pub struct BucketClient {
    http: reqwest::Client,
    bucket: Bucket,
    credentials: Option<Credentials>,
    timeout: Duration,
    page_size: Option<usize>,
}

impl fmt::Debug for BucketClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketClient")
            .field("bucket", &self.bucket.name())
            .field("url", &self.bucket.base_url().as_str())
            .field("anonymous", &self.credentials.is_none())
            .finish()
    }
}

impl BucketClient {
    /// A client for `options`; fails on an endpoint that is not `host[:port]` and on unusable
    /// TLS material.
    pub fn new(options: BucketOptions) -> Result<Self, BucketError> {
        install_crypto_provider();
        let endpoint = endpoint_url(&options.endpoint, options.insecure)?;
        let region = options
            .region
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let bucket =
            Bucket::new(endpoint, UrlStyle::Path, options.bucket_name, region).map_err(|e| {
                BucketError::InvalidEndpoint {
                    endpoint: options.endpoint.clone(),
                    message: e.to_string(),
                }
            })?;
        let mut builder = reqwest::Client::builder()
            .user_agent(format!("tether/{}", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout);
        if let Some(tls) = &options.tls {
            builder = with_tls(builder, tls).map_err(|message| BucketError::Tls { message })?;
        }
        let http = builder.build().map_err(|e| BucketError::Tls {
            message: error_chain(&e.without_url()),
        })?;
        let credentials = options
            .keys
            .map(|keys| Credentials::new(keys.access_key, keys.secret_key));
        Ok(Self {
            http,
            bucket,
            credentials,
            timeout: options.timeout,
            page_size: None,
        })
    }

    /// This client asking for at most `keys` keys per listing page (the server's default,
    /// 1000 for S3, otherwise).
    pub fn with_page_size(mut self, keys: usize) -> Self {
        self.page_size = Some(keys);
        self
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        self.bucket.name()
    }

    /// Lists the objects whose keys start with `prefix`, every page, handing each to `visit`
    /// (which may stop the listing with an error).
    pub async fn list_objects(
        &self,
        prefix: Option<&str>,
        mut visit: impl FnMut(ListedObject) -> Result<(), BucketError>,
    ) -> Result<(), BucketError> {
        const OPERATION: &str = "listing objects";
        let mut token: Option<String> = None;
        loop {
            let mut action = self.bucket.list_objects_v2(self.credentials.as_ref());
            if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
                action.with_prefix(prefix);
            }
            if let Some(token) = &token {
                action.with_continuation_token(token.as_str());
            }
            if let Some(keys) = self.page_size {
                action.with_max_keys(keys);
            }
            let url = action.sign(self.signature_validity());
            let response = self.send(Method::GET, url, OPERATION, None).await?;
            let body = self
                .read_capped(response, MAX_LIST_PAGE_BYTES, OPERATION)
                .await?;
            let text =
                String::from_utf8(body).map_err(|_| self.malformed(OPERATION, "not UTF-8"))?;
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| self.malformed(OPERATION, &e.to_string()))?;
            for object in page.contents {
                visit(ListedObject {
                    etag: unquoted_etag(object.etag.as_deref().unwrap_or_default()),
                    size: object.size.unwrap_or_default(),
                    key: object.key,
                })?;
            }
            match page.next_continuation_token {
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(self.malformed(OPERATION, "the continuation token repeats"));
                }
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Downloads object `key` into `dest` (created or truncated), spending `budget` on every
    /// byte written and failing when it runs out.
    pub async fn get_object(
        &self,
        key: &str,
        dest: &Path,
        budget: &ByteBudget,
    ) -> Result<Fetched, BucketError> {
        const OPERATION: &str = "downloading an object";
        let url = self
            .bucket
            .get_object(self.credentials.as_ref(), key)
            .sign(self.signature_validity());
        let mut response = match self.send(Method::GET, url, OPERATION, Some(key)).await {
            Ok(response) => response,
            Err(BucketError::ObjectNotFound { .. }) => return Ok(Fetched::Missing),
            Err(error) => return Err(error),
        };
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(unquoted_etag)
            .unwrap_or_default();
        let too_large = || BucketError::TooLarge {
            bucket: self.name().to_owned(),
            max: budget.limit,
        };
        if response
            .content_length()
            .is_some_and(|l| l > budget.remaining())
        {
            return Err(too_large());
        }
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(BucketError::io("creating", dest))?;
        let mut size = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(OPERATION, e))?
        {
            size += chunk.len() as u64;
            if !budget.spend(chunk.len() as u64) {
                return Err(too_large());
            }
            file.write_all(&chunk)
                .await
                .map_err(BucketError::io("writing", dest))?;
        }
        file.flush()
            .await
            .map_err(BucketError::io("writing", dest))?;
        Ok(Fetched::Written { etag, size })
    }

    /// Object `key` read into memory (at most `max_bytes`), `None` when there is none.
    pub async fn get_small_object(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<Vec<u8>>, BucketError> {
        const OPERATION: &str = "downloading an object";
        let url = self
            .bucket
            .get_object(self.credentials.as_ref(), key)
            .sign(self.signature_validity());
        match self.send(Method::GET, url, OPERATION, Some(key)).await {
            Ok(response) => Ok(Some(
                self.read_capped(response, max_bytes, OPERATION).await?,
            )),
            Err(BucketError::ObjectNotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Long enough for the request to be sent after signing, on a slow day.
    fn signature_validity(&self) -> Duration {
        self.timeout + Duration::from_secs(60)
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        operation: &'static str,
        key: Option<&str>,
    ) -> Result<reqwest::Response, BucketError> {
        let response = self
            .http
            .request(method, url)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(operation, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = self
            .read_capped(response, MAX_ERROR_BODY_BYTES, operation)
            .await
            .unwrap_or_default();
        let (code, message) = s3_error(&body);
        Err(self.error_answer(operation, key, status, code, message))
    }

    /// Flux's words for the answers that matter: a missing bucket or object, refused
    /// credentials; anything else with S3's code and message.
    fn error_answer(
        &self,
        operation: &'static str,
        key: Option<&str>,
        status: StatusCode,
        code: String,
        message: String,
    ) -> BucketError {
        let bucket = self.name().to_owned();
        let message = if message.is_empty() {
            status.canonical_reason().unwrap_or_default().to_owned()
        } else {
            message
        };
        match (code.as_str(), status, key) {
            (code, _, _) if AUTHENTICATION_CODES.contains(&code) => BucketError::Unauthorized {
                bucket,
                status: status.as_u16(),
                code: code.to_owned(),
                message,
            },
            ("NoSuchBucket", _, _) | ("", StatusCode::NOT_FOUND, None) => {
                BucketError::BucketNotFound { bucket }
            }
            ("NoSuchKey", _, Some(key)) | ("", StatusCode::NOT_FOUND, Some(key)) => {
                BucketError::ObjectNotFound {
                    bucket,
                    key: key.to_owned(),
                }
            }
            (_, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => BucketError::Unauthorized {
                bucket,
                status: status.as_u16(),
                code,
                message,
            },
            _ => BucketError::Status {
                operation,
                bucket,
                status: status.as_u16(),
                code,
                message,
            },
        }
    }

    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        max_bytes: u64,
        operation: &'static str,
    ) -> Result<Vec<u8>, BucketError> {
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(operation, e))?
        {
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(self.malformed(operation, &format!("more than {max_bytes} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// reqwest's error without its URL: a presigned URL carries a signature.
    fn transport_error(&self, operation: &'static str, error: reqwest::Error) -> BucketError {
        let bucket = self.name().to_owned();
        if error.is_timeout() {
            return BucketError::Timeout {
                operation,
                bucket,
                after: self.timeout,
            };
        }
        BucketError::Unreachable {
            operation,
            bucket,
            message: error_chain(&error.without_url()),
        }
    }

    fn malformed(&self, operation: &'static str, message: &str) -> BucketError {
        BucketError::Malformed {
            operation,
            bucket: self.name().to_owned(),
            message: message.to_owned(),
        }
    }
}

/// `http(s)://<endpoint>/`, for an endpoint that is a bare `host[:port]` as minio-go requires.
fn endpoint_url(endpoint: &str, insecure: bool) -> Result<Url, BucketError> {
    let invalid = |message: &str| BucketError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        message: message.to_owned(),
    };
    if endpoint.is_empty() {
        return Err(invalid("empty"));
    }
    if endpoint.contains("://") {
        return Err(invalid(
            "must be host[:port] without a scheme (set spec.insecure for plain HTTP)",
        ));
    }
    if endpoint.contains(['/', '?', '#', '@']) {
        return Err(invalid("must be host[:port] without a path"));
    }
    let scheme = if insecure { "http" } else { "https" };
    let url =
        Url::parse(&format!("{scheme}://{endpoint}/")).map_err(|e| invalid(&e.to_string()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    Ok(url)
}

/// An ETag without the quotes S3 puts around it.
fn unquoted_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_owned()
}

/// The `Code` and `Message` of an S3 error document (empty when there are none).
fn s3_error(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        text.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&close))
            .map(|(value, _)| unescape_xml(value.trim()))
            .unwrap_or_default()
    };
    (element("Code"), element("Message"))
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_a_bare_host_and_port() {
        let url = endpoint_url("127.0.0.1:9000", true).expect("valid");
        assert_eq!(url.as_str(), "http://127.0.0.1:9000/");
        let url = endpoint_url("s3.example.com", false).expect("valid");
        assert_eq!(url.as_str(), "https://s3.example.com/");
        for bad in ["", "https://s3.example.com", "s3.example.com/path", "u@h:1"] {
            let error = endpoint_url(bad, false).expect_err(bad);
            assert!(error.is_terminal(), "{bad}: {error}");
        }
    }

    #[test]
    fn a_secret_needs_both_keys_and_never_shows_the_secret_one() {
        let keys = S3Keys::from_secret_data(
            "creds",
            [
                ("accesskey", &b"AK"[..]),
                ("secretkey", &b"SK-very-secret"[..]),
            ],
        )
        .expect("both keys");
        assert!(!format!("{keys:?}").contains("SK-very-secret"));
        let error = S3Keys::from_secret_data("creds", [("accesskey", &b"AK"[..])])
            .expect_err("no secretkey");
        assert_eq!(
            error.to_string(),
            "invalid 'creds' secret data: required fields 'accesskey' and 'secretkey'"
        );
    }

    #[test]
    fn s3_error_documents_give_their_code_and_message() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InvalidAccessKeyId</Code><Message>The key &amp; id are wrong</Message><Resource>/b</Resource></Error>"#;
        assert_eq!(
            s3_error(body),
            (
                "InvalidAccessKeyId".to_owned(),
                "The key & id are wrong".to_owned()
            )
        );
        assert_eq!(s3_error(b""), (String::new(), String::new()));
    }

    #[test]
    fn a_byte_budget_is_shared_and_never_overspent() {
        let budget = ByteBudget::new(10, 4);
        assert_eq!(budget.remaining(), 6);
        assert!(budget.spend(5));
        assert!(!budget.spend(2), "5 + 4 + 2 > 10");
        assert!(budget.spend(1));
        assert_eq!(budget.remaining(), 0);
    }

    #[test]
    fn etags_lose_their_quotes() {
        assert_eq!(unquoted_etag("\"abc\""), "abc");
        assert_eq!(unquoted_etag("abc-2"), "abc-2");
    }
}
