//! Signed bearer tokens (JWTs) for the Receivers that authenticate callers by token rather than
//! by a shared secret: `generic-oidc` (any OIDC issuer, [`super::oidc`]) and `gcr` (Google's
//! Pub/Sub push tokens, [`super::gcr`]). This module owns the parts both need: the bearer
//! header, reading claims before the signature is checked (only to choose which keys to
//! trust), fetching a JSON Web Key Set, and checking a token's signature against it.
//! Symmetric keys and `alg: none` are never accepted: the keys are public.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::time::Duration;

/// How long fetching a discovery document or key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a bearer token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer ...` header.
    #[error("the Authorization header is missing or malformed")]
    MissingBearer,
    /// `Bearer ` and nothing else.
    #[error("the Authorization header is missing a bearer token")]
    EmptyBearer,
    /// Not three base64url segments with a JSON header and payload.
    #[error("failed to parse bearer token: {0}")]
    Malformed(String),
    /// A key set or discovery document could not be fetched or read.
    #[error("{0}")]
    Fetch(String),
    /// The header names an algorithm that is not accepted here.
    #[error("token signed with unsupported algorithm {0:?}")]
    Algorithm(String),
    /// No key of the set has the token's key id.
    #[error("no key in the key set matches the token's key id {0:?}")]
    UnknownKey(String),
    /// No key of the set verifies the signature.
    #[error("failed to verify token signature")]
    BadSignature,
    /// A claim is wrong (audience, issuer, expiry, ...).
    #[error("{0}")]
    Claim(String),
}

/// The HTTP client that fetches discovery documents and key sets (redirects followed, as Go's
/// default client follows them).
pub fn http_client() -> Result<reqwest::Client, TokenError> {
    crate::send::install_crypto_provider();
    reqwest::Client::builder()
        .build()
        .map_err(|e| TokenError::Fetch(format!("cannot build the HTTP client: {e}")))
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: &str) -> Result<&str, TokenError> {
    let token = authorization
        .strip_prefix("Bearer ")
        .ok_or(TokenError::MissingBearer)?
        .trim();
    if token.is_empty() {
        return Err(TokenError::EmptyBearer);
    }
    Ok(token)
}

/// The token's claims, read without checking the signature: only to choose the issuer whose
/// keys then verify it.
pub fn unverified_claims(token: &str) -> Result<Map<String, Value>, TokenError> {
    use base64::Engine as _;
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, _] = parts.as_slice() else {
        return Err(TokenError::Malformed("token is not a JWT".into()));
    };
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| TokenError::Malformed(format!("failed to decode token payload: {e}")))?;
    serde_json::from_slice(&payload)
        .map_err(|e| TokenError::Malformed(format!("failed to parse token payload: {e}")))
}

/// GETs `url` and decodes its JSON body; any status but 200 is an error.
pub(crate) async fn fetch_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    what: &str,
) -> Result<T, TokenError> {
    let failed =
        |cause: String| TokenError::Fetch(format!("failed to fetch {what} {url}: {cause}"));
    let response = client
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
    if status != reqwest::StatusCode::OK {
        return Err(failed(format!("status {status}")));
    }
    serde_json::from_slice(&body).map_err(|e| failed(format!("invalid JSON: {e}")))
}

/// The keys of a JWKS document; keys this crate cannot read are left out, as go-jose does.
pub(crate) fn key_set(document: &Value) -> JwkSet {
    let keys = document["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    JwkSet { keys }
}

/// The token's header algorithm, if it is one of `allowed` (asymmetric only).
pub(crate) fn algorithm(token: &str, allowed: &[Algorithm]) -> Result<Algorithm, TokenError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| TokenError::Malformed(format!("failed to decode token header: {e}")))?;
    if allowed.contains(&header.alg) && !is_symmetric(header.alg) {
        Ok(header.alg)
    } else {
        Err(TokenError::Algorithm(format!("{:?}", header.alg)))
    }
}

fn is_symmetric(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Checks the signature of `token` with the key of `keys` whose `kid` is the token's (every
/// key when the token names none), and returns its claims. Claims are not judged here.
pub(crate) fn verify_signature(
    token: &str,
    keys: &JwkSet,
    allowed: &[Algorithm],
) -> Result<Map<String, Value>, TokenError> {
    let alg = algorithm(token, allowed)?;
    let kid = jsonwebtoken::decode_header(token)
        .map_err(|e| TokenError::Malformed(e.to_string()))?
        .kid;
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|key| kid.is_none() || key.common.key_id == kid)
        .collect();
    if candidates.is_empty() {
        return Err(TokenError::UnknownKey(kid.unwrap_or_default()));
    }
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        if key.family() != alg.family() {
            continue;
        }
        if let Ok(data) = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            return Ok(data.claims);
        }
    }
    Err(TokenError::BadSignature)
}

/// A numeric date claim (`exp`, `nbf`) in seconds since the epoch, if it is a number.
pub(crate) fn numeric_claim(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let value = claims.get(name)?;
    value
        .as_i64()
        .or_else(|| value.as_f64().map(|f| f.floor() as i64))
}

/// Seconds since the epoch, now.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_is_taken_from_the_authorization_header() {
        assert_eq!(bearer("Bearer abc "), Ok("abc"));
        assert_eq!(bearer("Basic abc"), Err(TokenError::MissingBearer));
        assert_eq!(bearer("Bearer  "), Err(TokenError::EmptyBearer));
    }

    #[test]
    fn claims_are_read_from_the_middle_segment() {
        // {"iss":"https://issuer.example"}
        let token = "e30.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIn0.c2ln";
        let claims = unverified_claims(token).ok();
        assert_eq!(
            claims.as_ref().and_then(|c| c["iss"].as_str()),
            Some("https://issuer.example")
        );
        assert!(matches!(
            unverified_claims("a.b"),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            unverified_claims("a.!!.c"),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn symmetric_and_unlisted_algorithms_are_refused() {
        // {"alg":"HS256"}.{}.sig
        let hs = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
        assert!(matches!(
            algorithm(hs, &[Algorithm::HS256, Algorithm::RS256]),
            Err(TokenError::Algorithm(_))
        ));
        // {"alg":"ES256"}.{}.sig
        let es = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
        assert!(matches!(
            algorithm(es, &[Algorithm::RS256]),
            Err(TokenError::Algorithm(_))
        ));
        assert_eq!(algorithm(es, &[Algorithm::ES256]), Ok(Algorithm::ES256));
    }
}
