//! One registry operation's connection: scheme choice (HTTPS, plain HTTP where allowed), the
//! `/v2/` ping, Basic and Bearer authorization, rate-limited sends, and turning statuses and
//! transport failures into typed errors.

use crate::auth::{Challenge, Credentials, parse_challenges};
use crate::client::{RegistryClient, ScanOptions, TokenKey};
use crate::error::ScanError;
use crate::name::ImageName;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use std::error::Error as _;
use std::fmt;
use std::time::Duration;

impl RegistryClient {
    /// Opens a session for one operation on `image`: picks the HTTP client for the TLS
    /// settings and settles scheme and authentication with a `/v2/` ping.
    pub(crate) async fn session<'a>(
        &'a self,
        image: &'a ImageName,
        options: &'a ScanOptions,
    ) -> Result<Session<'a>, ScanError> {
        self.session_for(image, options, "pull").await
    }

    /// [`Self::session`] whose bearer tokens are asked for `actions` on the repository
    /// (`pull`, or `pull,push` to upload).
    pub(crate) async fn session_for<'a>(
        &'a self,
        image: &'a ImageName,
        options: &'a ScanOptions,
        actions: &'static str,
    ) -> Result<Session<'a>, ScanError> {
        let http = self.http_client(image, options.tls.as_ref())?;
        let mut session = Session {
            client: self,
            http,
            image,
            options,
            actions,
            base: String::new(),
            authorization: None,
            bearer: None,
        };
        session.ping().await?;
        Ok(session)
    }
}

/// One operation's connection to a registry: scheme, HTTP client and authorization settled.
pub(crate) struct Session<'a> {
    client: &'a RegistryClient,
    http: reqwest::Client,
    pub(crate) image: &'a ImageName,
    pub(crate) options: &'a ScanOptions,
    /// The repository actions bearer tokens are asked for.
    actions: &'static str,
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
            scope: format!("repository:{}:{}", self.image.repository(), self.actions),
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
        self.request_with_body(method, url, headers, None).await
    }

    /// [`Self::request`] with a body (uploads).
    pub(crate) async fn request_with_body(
        &mut self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<Response, ScanError> {
        let response = self
            .send_authorized(method.clone(), url, headers.clone(), body)
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return self.check(response).await;
        }
        let Some((key, challenge)) = self.bearer.take() else {
            return Err(self.status_error(response).await);
        };
        self.client.forget_token(&key);
        self.authorize_bearer(challenge).await?;
        let retried = self.send_authorized(method, url, headers, body).await?;
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
        body: Option<&[u8]>,
    ) -> Result<Response, ScanError> {
        if let Some(authorization) = &self.authorization {
            headers.insert(header::AUTHORIZATION, authorization.clone());
        }
        let Some(body) = body else {
            return self.send_raw(method, url, headers).await;
        };
        self.client.wait_for_rate_limit(self.image.registry()).await;
        let request = self.http.request(method, url).headers(headers);
        self.send_unlimited(request.body(body.to_vec()), url).await
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
}
