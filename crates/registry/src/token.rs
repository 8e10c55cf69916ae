//! The bearer token exchange (distribution's token authentication): `GET <realm>?service=&scope=`
//! with Basic credentials when there are some (anonymous otherwise), or the OAuth2 refresh-token
//! `POST` when the docker config holds an `identitytoken`. Returns the token and its lifetime.

use crate::auth::Credentials;
use crate::client::DEFAULT_TOKEN_LIFETIME;
use crate::error::ScanError;
use crate::session::Session;
use reqwest::Method;
use reqwest::header::{self, HeaderValue};
use std::time::Duration;

/// The client id go-containerregistry sends in the refresh-token grant; registries that check
/// it know this one.
const OAUTH_CLIENT_ID: &str = "go-containerregistry";

#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Fetches a token for `scope` from `realm`.
pub(crate) async fn exchange(
    session: &Session<'_>,
    realm: &str,
    service: &str,
    scope: &str,
) -> Result<(String, Duration), ScanError> {
    let realm_url = url::Url::parse(realm).map_err(|e| ScanError::Challenge {
        image: session.image.canonical(),
        message: format!("bearer realm '{realm}' is not a URL: {e}"),
    })?;
    let request = match &session.options.credentials {
        Credentials::IdentityToken(refresh_token) => {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token)
                .append_pair("service", service)
                .append_pair("scope", scope)
                .append_pair("client_id", OAUTH_CLIENT_ID)
                .finish();
            session
                .token_request(Method::POST, realm_url.as_str())
                .header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(body)
        }
        credentials => {
            let mut url = realm_url.clone();
            {
                let mut query = url.query_pairs_mut();
                if !service.is_empty() {
                    query.append_pair("service", service);
                }
                query.append_pair("scope", scope);
            }
            let request = session.token_request(Method::GET, url.as_str());
            match credentials {
                Credentials::Basic { username, password } => {
                    request.basic_auth(username, Some(password))
                }
                _ => request,
            }
        }
    };
    session.limit_rate().await;
    let response = session.send_unlimited(request, realm).await?;
    if !response.status().is_success() {
        return Err(token_error(session, realm, response).await);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| session.transport_error(realm, &e))?;
    let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
        session.invalid_response(
            realm,
            format!("token response: {}", crate::error::json_error_text(&e)),
        )
    })?;
    let token = if parsed.token.is_empty() {
        parsed.access_token
    } else {
        parsed.token
    };
    if token.is_empty() {
        return Err(session.invalid_response(realm, "token response has no token"));
    }
    let lifetime = parsed
        .expires_in
        .filter(|seconds| *seconds > 0)
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
    Ok((token, lifetime))
}

/// A refused token request: 401/403 are bad credentials, 429 and 5xx keep their meaning.
async fn token_error(session: &Session<'_>, realm: &str, response: reqwest::Response) -> ScanError {
    let status = response.status().as_u16();
    match session.status_error(response).await {
        ScanError::Unauthorized { image, message, .. } => ScanError::Unauthorized {
            image,
            status,
            message: format!("token endpoint {realm} refused the credentials: {message}"),
        },
        ScanError::NotFound { image, message }
        | ScanError::UnexpectedStatus { image, message, .. } => ScanError::Token {
            image,
            realm: realm.to_owned(),
            status,
            message,
        },
        other => other,
    }
}
