//! Delivering provider requests over HTTP(S) as Flux's retrying client does: a time limit on
//! the whole delivery (the Provider's `timeout`), up to four retries after connection errors
//! (not after an untrusted certificate), `429` and `5xx` answers other than `501`, waiting 2 s
//! doubling up to 30 s (or `Retry-After` on `429`/`503`); success is a `2xx`, plus
//! `"ok": true` from Slack's `chat.postMessage`. Optional CA bundle, client certificate and
//! proxy. Errors are typed and never contain the Provider's token or password.

use std::{sync::Once, time::Duration};

use reqwest::{StatusCode, header::HeaderValue};

use crate::{
    provider::HttpRequest,
    redact::{mask, url_for_display},
};

/// The Slack API whose answers carry success in the body.
const SLACK_POST_MESSAGE: &str = "https://slack.com/api/chat.postMessage";

/// How to deliver.
#[derive(Clone)]
pub struct SendOptions {
    /// The limit on one delivery, retries included (Flux's default: 15 s).
    pub timeout: Duration,
    /// Retries after the first attempt (Flux: 4).
    pub max_retries: u32,
    /// The first wait between attempts (Flux: 2 s); doubled each retry.
    pub min_backoff: Duration,
    /// The longest wait between attempts (Flux: 30 s).
    pub max_backoff: Duration,
    /// PEM CA certificates to trust besides the system's (`ca.crt`).
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate and key (`tls.crt`, `tls.key`) for mutual TLS.
    pub client_identity_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// A proxy URL, possibly with credentials.
    pub proxy: Option<String>,
}

impl std::fmt::Debug for SendOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendOptions")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("ca_pem", &self.ca_pem.is_some())
            .field("client_identity_pem", &self.client_identity_pem.is_some())
            .field("proxy", &self.proxy.as_deref().map(url_for_display))
            .finish()
    }
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            max_retries: 4,
            min_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
            ca_pem: None,
            client_identity_pem: None,
            proxy: None,
        }
    }
}

/// Why a delivery failed. Every message has secrets masked and URLs shown without
/// credentials.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The CA bundle, client certificate or proxy cannot be used.
    #[error("invalid HTTP client settings: {0}")]
    Settings(String),
    /// The request itself is malformed (URL, header).
    #[error("failed to create a new request for {url}: {detail}")]
    InvalidRequest {
        /// The URL, as it may be shown.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// No answer after the last attempt (connection refused, TLS failure, reset).
    #[error("failed to execute request to {url} after {attempts} attempts: {detail}")]
    Connect {
        /// The URL, as it may be shown.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        detail: String,
    },
    /// The endpoint answered with a failure.
    #[error("request to {url} failed with status code {status}: {body}")]
    Status {
        /// The URL, as it may be shown.
        url: String,
        /// The last status code.
        status: u16,
        /// The answer's body, secrets masked.
        body: String,
    },
    /// Slack's API answered `ok: false`.
    #[error("Slack responded with error: {0}")]
    Slack(String),
    /// The delivery took longer than the Provider's timeout.
    #[error("request to {url} timed out after {timeout:?}")]
    Timeout {
        /// The URL, as it may be shown.
        url: String,
        /// The limit.
        timeout: Duration,
    },
}

impl SendError {
    /// Whether a later delivery with the same settings cannot succeed either.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Settings(_) | Self::InvalidRequest { .. })
    }
}

/// An HTTP client for one Provider's settings.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    options: SendOptions,
}

impl Sender {
    /// A sender with `options`; fails on an unusable CA, certificate or proxy.
    pub fn new(options: SendOptions) -> Result<Self, SendError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = &options.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca).map_err(|_| {
                SendError::Settings("ca.crt is not a PEM certificate bundle".into())
            })?;
            if certs.is_empty() {
                return Err(SendError::Settings("ca.crt holds no certificate".into()));
            }
            builder = builder.tls_certs_merge(certs);
        }
        if let Some((cert, key)) = &options.client_identity_pem {
            let mut pem = cert.clone();
            pem.push(b'\n');
            pem.extend_from_slice(key);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
                SendError::Settings("tls.crt/tls.key are not a PEM certificate and key".into())
            })?;
            builder = builder.identity(identity);
        }
        if let Some(proxy) = &options.proxy {
            let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|_| {
                SendError::Settings(format!("invalid proxy URL {}", url_for_display(proxy)))
            })?;
            builder = builder.proxy(proxy);
        }
        let client = builder
            .build()
            .map_err(|e| SendError::Settings(error_chain(&e)))?;
        Ok(Self { client, options })
    }

    /// Sends `request`, retrying as Flux does, within the timeout; `secrets` (the token,
    /// the password) are masked in any error. Returns the final status code.
    pub async fn send(
        &self,
        request: &HttpRequest,
        secrets: &[&str],
    ) -> Result<StatusCode, SendError> {
        self.exchange(request, secrets)
            .await
            .map(|(status, _)| status)
    }

    /// Sends `request` as [`Sender::send`] does and returns the final status code with the
    /// answer's body (secrets masked), for the requests whose answer decides the next one.
    pub async fn exchange(
        &self,
        request: &HttpRequest,
        secrets: &[&str],
    ) -> Result<(StatusCode, String), SendError> {
        let shown_url = mask(&url_for_display(&request.url), secrets);
        match tokio::time::timeout(self.options.timeout, self.attempts(request, secrets)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout {
                url: shown_url,
                timeout: self.options.timeout,
            }),
        }
    }

    /// Sends every request in order, stopping at the first failure.
    pub async fn send_all(
        &self,
        requests: &[HttpRequest],
        secrets: &[&str],
    ) -> Result<(), SendError> {
        for request in requests {
            self.send(request, secrets).await?;
        }
        Ok(())
    }

    async fn attempts(
        &self,
        request: &HttpRequest,
        secrets: &[&str],
    ) -> Result<(StatusCode, String), SendError> {
        let mut retries = 0;
        loop {
            match self.attempt(request, secrets, retries + 1).await {
                Ok(answer) => return Ok(answer),
                Err(failure) if !failure.retry || retries >= self.options.max_retries => {
                    return Err(failure.error);
                }
                Err(failure) => {
                    let wait = self.backoff(retries, failure.retry_after);
                    retries += 1;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Attempt number `attempt` (from 1).
    async fn attempt(
        &self,
        request: &HttpRequest,
        secrets: &[&str],
        attempt: u32,
    ) -> Result<(StatusCode, String), Failure> {
        let url = mask(&url_for_display(&request.url), secrets);
        let built = self.build(request).map_err(|detail| {
            Failure::last(SendError::InvalidRequest {
                url: url.clone(),
                detail: mask(&detail, secrets),
            })
        })?;
        let response = built.send().await.map_err(|error| {
            let detail = mask(&error_chain(&error), secrets);
            // As go-retryablehttp, a certificate the client does not trust is not retried.
            let retry = !detail.contains("certificate");
            Failure {
                error: SendError::Connect {
                    url: url.clone(),
                    attempts: attempt,
                    detail,
                },
                retry,
                retry_after: None,
            }
        })?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = mask(&response.text().await.unwrap_or_default(), secrets);
        if status.is_success() {
            return check_slack(&request.url, status, &body)
                .map(|status| (status, body))
                .map_err(Failure::last);
        }
        let retry = status == StatusCode::TOO_MANY_REQUESTS
            || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED);
        let honours_retry_after =
            status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
        Err(Failure {
            error: SendError::Status {
                url,
                status: status.as_u16(),
                body,
            },
            retry,
            retry_after: retry_after.filter(|_| honours_retry_after),
        })
    }

    fn build(&self, request: &HttpRequest) -> Result<reqwest::RequestBuilder, String> {
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let url = reqwest::Url::parse(&request.url).map_err(|e| e.to_string())?;
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header {name}"))?;
            builder = builder.header(name.as_str(), value);
        }
        Ok(builder.body(request.body.clone()))
    }

    /// `min * 2^attempt` capped at `max`, or the server's `Retry-After` when it gave one.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let factor = 2u32.saturating_pow(attempt);
        self.options
            .min_backoff
            .saturating_mul(factor)
            .min(self.options.max_backoff)
    }
}

/// A failed attempt, and whether another is worth making.
struct Failure {
    error: SendError,
    retry: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    /// A failure no retry can fix.
    fn last(error: SendError) -> Self {
        Self {
            error,
            retry: false,
            retry_after: None,
        }
    }
}

/// Slack's `chat.postMessage` answers 200 with `{"ok": false, "error": ...}` on failure.
fn check_slack(url: &str, status: StatusCode, body: &str) -> Result<StatusCode, SendError> {
    if url != SLACK_POST_MESSAGE {
        return Ok(status);
    }
    let answer: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| SendError::Slack(format!("unable to unmarshal response body: {e}")))?;
    if answer["ok"] == serde_json::Value::Bool(true) {
        Ok(status)
    } else {
        Err(SendError::Slack(
            answer["error"].as_str().unwrap_or_default().to_owned(),
        ))
    }
}

/// `Retry-After` in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// An error and its sources, joined.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// reqwest is built without a default TLS provider (see the workspace manifest); tether uses
/// ring, the provider kube uses. Installing fails harmlessly if one is installed already.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
