//! `generic-oidc` Receivers, as notification-controller v1.9 authenticates them (go-oidc's
//! provider discovery and ID token verifier): the bearer token's unverified `iss` picks the
//! Receiver's `oidcProviders` entry with that exact `issuerURL`; the issuer's discovery
//! document (`<issuer>/.well-known/openid-configuration`) must name the same issuer and gives
//! the key set (`jwks_uri`) and the signing algorithms; the token must then have that issuer,
//! the provider's audience (default `notification-controller`) among its `aud`, an `exp` not
//! past, an `nbf` not more than 5 minutes ahead, and a signature by one of the issuer's keys.
//!
//! The discovery document and key set are fetched for every call, as Flux does. The provider's
//! CEL `variables` and `validations` over the verified claims are judged by the caller (they
//! need the CEL environment), as is the status: every failure here is Flux's `400`.

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Map, Value};
use tether_api::notification::v1::OidcProvider;

use super::token::{self, TokenError};

/// go-oidc's `nbf` leeway for clock skew.
const NOT_BEFORE_LEEWAY_SECONDS: i64 = 5 * 60;

/// The algorithms go-oidc verifies; a discovery document narrows them.
const SUPPORTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::EdDSA,
];

/// An issuer's discovery document, the fields used.
#[derive(Deserialize)]
struct Discovery {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

/// The provider of `providers` whose `issuerURL` is the token's `iss` (read unverified).
pub fn provider_for<'a>(
    providers: &'a [OidcProvider],
    token: &str,
) -> Result<&'a OidcProvider, TokenError> {
    let claims = token::unverified_claims(token)?;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .filter(|iss| !iss.is_empty())
        .ok_or_else(|| TokenError::Malformed("token is missing the 'iss' claim".into()))?;
    providers
        .iter()
        .find(|p| p.issuer_url == issuer)
        .ok_or_else(|| {
            TokenError::Claim(format!("no oidcProvider configured for issuer {issuer:?}"))
        })
}

/// Verifies `token` against `provider`'s issuer and returns its claims.
pub async fn verify_token(
    client: &reqwest::Client,
    provider: &OidcProvider,
    token: &str,
) -> Result<Map<String, Value>, TokenError> {
    let issuer = provider.issuer_url.as_str();
    let well_known = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let discovery: Discovery =
        token::fetch_json(client, &well_known, "OIDC discovery document").await?;
    if discovery.issuer != issuer {
        return Err(TokenError::Claim(format!(
            "oidc: issuer did not match the issuer returned by provider, expected {issuer:?} got {:?}",
            discovery.issuer
        )));
    }
    let algorithms = signing_algorithms(&discovery.id_token_signing_alg_values_supported);
    check_claims(
        &token::unverified_claims(token)?,
        issuer,
        provider.audience_or_default(),
    )?;
    token::algorithm(token, &algorithms)?;
    let keys: Value = token::fetch_json(client, &discovery.jwks_uri, "OIDC key set").await?;
    token::verify_signature(token, &token::key_set(&keys), &algorithms)
}

/// The algorithms a discovery document lists that go-oidc supports; RS256 when it lists none.
fn signing_algorithms(listed: &[String]) -> Vec<Algorithm> {
    let known: Vec<Algorithm> = listed
        .iter()
        .filter_map(|name| name.parse::<Algorithm>().ok())
        .filter(|alg| SUPPORTED.contains(alg))
        .collect();
    if known.is_empty() {
        vec![Algorithm::RS256]
    } else {
        known
    }
}

/// go-oidc's claim checks, in its order: issuer, audience, expiry, not-before.
fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    audience: &str,
) -> Result<(), TokenError> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != issuer {
        return Err(TokenError::Claim(format!(
            "oidc: id token issued by a different provider, expected {issuer:?} got {iss:?}"
        )));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&audience) {
        return Err(TokenError::Claim(format!(
            "oidc: expected audience {audience:?} got {audiences:?}"
        )));
    }
    let now = token::now();
    let expiry = token::numeric_claim(claims, "exp").unwrap_or(0);
    if expiry < now {
        return Err(TokenError::Claim(format!(
            "oidc: token is expired (Token Expiry: {expiry})"
        )));
    }
    if let Some(not_before) = token::numeric_claim(claims, "nbf")
        && now + NOT_BEFORE_LEEWAY_SECONDS < not_before
    {
        return Err(TokenError::Claim(format!(
            "oidc: current time {now} before the nbf (not before) time: {not_before}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn issuer_audience_and_expiry_are_checked_as_go_oidc_checks_them() {
        let later = token::now() + 600;
        let good = claims(json!({"iss": "https://i", "aud": ["x", "nc"], "exp": later}));
        assert_eq!(check_claims(&good, "https://i", "nc"), Ok(()));
        let single = claims(json!({"iss": "https://i", "aud": "nc", "exp": later}));
        assert_eq!(check_claims(&single, "https://i", "nc"), Ok(()));
        assert!(check_claims(&good, "https://other", "nc").is_err());
        assert!(check_claims(&good, "https://i", "notification-controller").is_err());
        let expired = claims(json!({"iss": "https://i", "aud": "nc", "exp": token::now() - 1}));
        assert!(check_claims(&expired, "https://i", "nc").is_err());
        let no_expiry = claims(json!({"iss": "https://i", "aud": "nc"}));
        assert!(check_claims(&no_expiry, "https://i", "nc").is_err());
        let early = claims(json!({"iss": "https://i", "aud": "nc", "exp": later,
                                   "nbf": token::now() + 3600}));
        assert!(check_claims(&early, "https://i", "nc").is_err());
        let skewed = claims(json!({"iss": "https://i", "aud": "nc", "exp": later,
                                    "nbf": token::now() + 60}));
        assert_eq!(check_claims(&skewed, "https://i", "nc"), Ok(()));
    }

    #[test]
    fn discovery_narrows_the_algorithms_and_defaults_to_rs256() {
        assert_eq!(signing_algorithms(&[]), vec![Algorithm::RS256]);
        let listed = ["ES256".to_owned(), "HS256".to_owned(), "none".to_owned()];
        assert_eq!(signing_algorithms(&listed), vec![Algorithm::ES256]);
    }
}
