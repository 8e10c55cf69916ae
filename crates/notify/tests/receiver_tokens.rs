//! The Receivers that authenticate callers by signed token, against an OIDC issuer on loopback
//! (`tether_testkit::oidc`: the discovery document and key set of the standard protocol,
//! served with keys the test generates).
//!
//! generic-oidc: the issuer is the Receiver's `oidcProviders` entry, as in production.
//! gcr: Google's key URLs cannot be reached from here; the loopback issuer's key set stands
//! in for Google's published certificates (`GoogleKeys` pointed at it), and its tokens carry
//! Google's issuer and a service account's email as Pub/Sub push tokens do.

use base64::Engine as _;
use serde_json::{Value, json};
use tether_api::notification::v1::OidcProvider;
use tether_notify::receiver::gcr::{GcrIdentity, GoogleKeys};
use tether_notify::receiver::token::{TokenError, http_client};
use tether_notify::receiver::{oidc, verify_gcr};
use tether_notify::{Headers, Verdict};
use tether_testkit::oidc::{Issuer, epoch_in};

fn provider(issuer: &Issuer, audience: Option<&str>) -> anyhow::Result<OidcProvider> {
    Ok(serde_json::from_value(json!({
        "issuerURL": issuer.url(),
        "audience": audience,
        "validations": [{"expression": "true", "message": "m"}],
    }))?)
}

fn oidc_claims(issuer: &Issuer, audience: &str, exp: i64) -> Value {
    json!({"iss": issuer.url(), "aud": audience, "sub": "repo:acme/app", "exp": exp,
           "iat": epoch_in(0)})
}

async fn verify(issuer: &Issuer, token: &str) -> anyhow::Result<Result<Value, TokenError>> {
    let providers = [provider(issuer, None)?];
    let client = http_client()?;
    let provider = match oidc::provider_for(&providers, token) {
        Ok(provider) => provider,
        Err(e) => return Ok(Err(e)),
    };
    Ok(oidc::verify_token(&client, provider, token)
        .await
        .map(Value::Object))
}

#[tokio::test]
async fn a_token_of_the_configured_issuer_and_audience_is_verified() -> anyhow::Result<()> {
    let issuer = Issuer::start().await?;
    let claims = oidc_claims(&issuer, "notification-controller", epoch_in(300));
    let verified = verify(&issuer, &issuer.sign(&claims)?).await?;
    assert_eq!(verified.as_ref().ok(), Some(&claims), "{verified:?}");
    let rs256 = verify(&issuer, &issuer.sign_rs256(&claims)?).await?;
    assert_eq!(rs256.ok(), Some(claims));
    Ok(())
}

#[tokio::test]
async fn wrong_audience_expiry_signature_key_or_issuer_are_refused() -> anyhow::Result<()> {
    let issuer = Issuer::start().await?;
    let later = epoch_in(300);
    let wrong_audience = issuer.sign(&oidc_claims(&issuer, "someone-else", later))?;
    let refused = verify(&issuer, &wrong_audience).await?;
    assert!(
        matches!(&refused, Err(TokenError::Claim(m)) if m.contains("expected audience")),
        "{refused:?}"
    );
    let expired = issuer.sign(&oidc_claims(
        &issuer,
        "notification-controller",
        epoch_in(-60),
    ))?;
    let refused = verify(&issuer, &expired).await?;
    assert!(
        matches!(&refused, Err(TokenError::Claim(m)) if m.contains("expired")),
        "{refused:?}"
    );
    let good_claims = oidc_claims(&issuer, "notification-controller", later);
    let forged = verify(&issuer, &issuer.sign_forged(&good_claims)?).await?;
    assert_eq!(forged, Err(TokenError::BadSignature));
    let unknown = verify(&issuer, &issuer.sign_with_unknown_key(&good_claims)?).await?;
    assert!(
        matches!(unknown, Err(TokenError::UnknownKey(_))),
        "{unknown:?}"
    );
    let mut other_issuer = good_claims.clone();
    other_issuer["iss"] = json!("https://elsewhere.example");
    let refused = verify(&issuer, &issuer.sign(&other_issuer)?).await?;
    assert!(
        matches!(&refused, Err(TokenError::Claim(m)) if m.contains("no oidcProvider configured")),
        "{refused:?}"
    );
    // The payload altered after signing: the signature no longer verifies.
    let token = issuer.sign(&good_claims)?;
    let parts: Vec<&str> = token.split('.').collect();
    let mut tampered_claims = good_claims.clone();
    tampered_claims["sub"] = json!("repo:evil/app");
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&tampered_claims)?);
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(
        verify(&issuer, &tampered).await?,
        Err(TokenError::BadSignature)
    );
    Ok(())
}

fn pubsub_push() -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(
        br#"{"action":"INSERT","digest":"gcr.io/p/app@sha256:00","tag":"gcr.io/p/app:1.0"}"#,
    );
    format!(r#"{{"message":{{"data":"{data}","messageId":"1"}},"subscription":"s"}}"#)
}

fn google_claims(audience: &str, exp: i64, email_verified: bool) -> Value {
    json!({"iss": "https://accounts.google.com", "aud": audience, "exp": exp, "iat": epoch_in(0),
           "email": "push@p.iam.gserviceaccount.com", "email_verified": email_verified,
           "sub": "1234"})
}

async fn call_gcr(
    issuer: &Issuer,
    token: &str,
    identity: GcrIdentity<'_>,
) -> anyhow::Result<Verdict> {
    // Stands in for Google's certificate URLs, which cannot be reached from here.
    let keys = GoogleKeys {
        rs256_url: issuer.jwks_url(),
        es256_url: issuer.jwks_url(),
    };
    let headers = Headers::new([("Authorization", format!("Bearer {token}"))]);
    Ok(verify_gcr(
        &http_client()?,
        &keys,
        &headers,
        pubsub_push().as_bytes(),
        identity,
    )
    .await)
}

const IDENTITY: GcrIdentity<'static> = GcrIdentity {
    email: "push@p.iam.gserviceaccount.com",
    audience: "https://hooks.example/gcr",
};

fn refused(verdict: &Verdict, containing: &str) -> bool {
    matches!(verdict, Verdict::Refuse { status: 400, reason } if reason.contains(containing))
}

#[tokio::test]
async fn gcr_accepts_a_google_signed_push_token_for_its_service_account() -> anyhow::Result<()> {
    let issuer = Issuer::start().await?;
    let claims = google_claims(IDENTITY.audience, epoch_in(300), true);
    let verdict = call_gcr(&issuer, &issuer.sign_rs256(&claims)?, IDENTITY).await?;
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
    Ok(())
}

#[tokio::test]
async fn gcr_refuses_bad_tokens_with_400() -> anyhow::Result<()> {
    let issuer = Issuer::start().await?;
    let good = google_claims(IDENTITY.audience, epoch_in(300), true);
    let cases = [
        (
            issuer.sign_rs256(&google_claims("https://other", epoch_in(300), true))?,
            "audience provided does not match",
        ),
        (
            issuer.sign_rs256(&google_claims(IDENTITY.audience, epoch_in(-10), true))?,
            "token expired",
        ),
        (
            issuer.sign_forged(&good)?,
            "failed to verify token signature",
        ),
        (
            issuer.sign_with_unknown_key(&good)?,
            "no key in the key set matches",
        ),
        (
            issuer.sign_rs256(&google_claims(IDENTITY.audience, epoch_in(300), false))?,
            "is not verified",
        ),
    ];
    for (token, why) in cases {
        let verdict = call_gcr(&issuer, &token, IDENTITY).await?;
        assert!(refused(&verdict, why), "{why}: {verdict:?}");
    }
    let mut not_google = good.clone();
    not_google["iss"] = json!(issuer.url());
    let verdict = call_gcr(&issuer, &issuer.sign_rs256(&not_google)?, IDENTITY).await?;
    assert!(refused(&verdict, "token issuer is"), "{verdict:?}");
    let other_account = GcrIdentity {
        email: "other@p.iam.gserviceaccount.com",
        ..IDENTITY
    };
    let verdict = call_gcr(&issuer, &issuer.sign_rs256(&good)?, other_account).await?;
    assert!(refused(&verdict, "token email is"), "{verdict:?}");
    let no_email = GcrIdentity {
        email: "",
        ..IDENTITY
    };
    let verdict = call_gcr(&issuer, &issuer.sign_rs256(&good)?, no_email).await?;
    assert!(refused(&verdict, "required field 'email'"), "{verdict:?}");
    Ok(())
}
