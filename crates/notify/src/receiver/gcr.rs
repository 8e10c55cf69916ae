//! `gcr` Receivers, as notification-controller v1.9 authenticates them (Google's `idtoken`
//! validator, then Flux's issuer and service account checks): the Secret must hold `email` and
//! `audience`; the Pub/Sub push carries `Authorization: Bearer <Google-signed ID token>` whose
//! `aud` must equal `audience`, whose `exp` must not be past, and whose signature must verify
//! with Google's published keys (RS256 from the service account certificates, ES256 from the
//! IAP keys, matched by `kid`); then `iss` must be `accounts.google.com` (with or without
//! `https://`), `email` the Secret's, and `email_verified` true.
//!
//! Google's key URLs are [`GoogleKeys::default`]; they are overridable only so that tests,
//! which cannot reach Google, can serve keys they generate on loopback.

use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::token::{self, TokenError};

/// Where Google publishes the keys that sign its ID tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleKeys {
    /// RS256 keys (service accounts; what Pub/Sub push uses).
    pub rs256_url: String,
    /// ES256 keys (Identity-Aware Proxy).
    pub es256_url: String,
}

impl Default for GoogleKeys {
    fn default() -> Self {
        Self {
            rs256_url: "https://www.googleapis.com/oauth2/v3/certs".to_owned(),
            es256_url: "https://www.gstatic.com/iap/verify/public_key-jwk".to_owned(),
        }
    }
}

/// What a `gcr` Receiver's Secret names: the push subscription's service account and the
/// token audience.
#[derive(Debug, Clone, Copy)]
pub struct GcrIdentity<'a> {
    /// The Secret's `email`.
    pub email: &'a str,
    /// The Secret's `audience`.
    pub audience: &'a str,
}

/// Authenticates a Pub/Sub push's `Authorization` header.
pub async fn authenticate(
    client: &reqwest::Client,
    keys: &GoogleKeys,
    authorization: &str,
    identity: GcrIdentity<'_>,
) -> Result<(), TokenError> {
    let token = authorization
        .strip_prefix("Bearer ")
        .ok_or(TokenError::MissingBearer)?;
    validate_id_token(client, keys, token, identity.audience)
        .await
        .map_err(|e| {
            let got = token::unverified_claims(token)
                .ok()
                .and_then(|c| c.get("aud").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "<unknown>".to_owned());
            TokenError::Claim(format!(
                "invalid ID token: audience is '{got}', want '{}': {e}",
                identity.audience
            ))
        })?;
    let claims = token::unverified_claims(token)?;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if issuer != "accounts.google.com" && issuer != "https://accounts.google.com" {
        return Err(TokenError::Claim(format!(
            "token issuer is '{issuer}', want 'accounts.google.com' or 'https://accounts.google.com'"
        )));
    }
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if email != identity.email {
        return Err(TokenError::Claim(format!(
            "token email is '{email}', want '{}'",
            identity.email
        )));
    }
    if claims.get("email_verified") != Some(&Value::Bool(true)) {
        return Err(TokenError::Claim(format!(
            "token email '{email}' is not verified"
        )));
    }
    Ok(())
}

/// Google's `idtoken.Validate`: audience, expiry, then the signature with the key of `kid`.
async fn validate_id_token(
    client: &reqwest::Client,
    keys: &GoogleKeys,
    token: &str,
    audience: &str,
) -> Result<(), TokenError> {
    let claims = token::unverified_claims(token)?;
    if claims.get("aud").and_then(Value::as_str) != Some(audience) {
        return Err(TokenError::Claim(
            "idtoken: audience provided does not match aud claim in the JWT".into(),
        ));
    }
    let now = token::now();
    let expires = token::numeric_claim(&claims, "exp").unwrap_or(0);
    if now > expires {
        return Err(TokenError::Claim(format!(
            "idtoken: token expired: now={now}, expires={expires}"
        )));
    }
    let alg = token::algorithm(token, &[Algorithm::RS256, Algorithm::ES256])?;
    let url = if alg == Algorithm::RS256 {
        &keys.rs256_url
    } else {
        &keys.es256_url
    };
    let document: Value = token::fetch_json(client, url, "Google certificates").await?;
    token::verify_signature(token, &token::key_set(&document), &[alg]).map(|_| ())
}
