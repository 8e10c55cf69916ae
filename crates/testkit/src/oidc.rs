//! An OpenID Connect issuer on loopback, for the Receivers that authenticate callers by signed
//! tokens (generic-oidc, gcr). It serves the two documents of the standard protocol, the
//! discovery document (`/.well-known/openid-configuration`) and the key set (`/jwks`), with
//! keys the test generates (an ES256 and an RS256 key), and signs tokens with them. It is the
//! protocol a real issuer speaks, not a stand-in for a product; tests that use it in place of
//! Google (gcr), which cannot be reached from here, say so.

use anyhow::Context as _;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

/// The key id of the published ES256 key.
pub const ES256_KID: &str = "es256-1";
/// The key id of the published RS256 key.
pub const RS256_KID: &str = "rs256-1";

/// A running issuer and its keys.
pub struct Issuer {
    url: String,
    es256: EncodingKey,
    rs256: EncodingKey,
    /// A key that is published nowhere.
    stranger: EncodingKey,
}

struct EcKey {
    signing: EncodingKey,
    jwk: Value,
}

fn ec_key(kid: &str) -> anyhow::Result<EcKey> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let point = pair.public_key_raw();
    anyhow::ensure!(
        point.len() == 65 && point[0] == 4,
        "not an uncompressed P-256 point"
    );
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(EcKey {
        signing: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                    "x": b64(&point[1..33]), "y": b64(&point[33..])}),
    })
}

impl Issuer {
    /// Generates the keys and serves the documents on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let es = ec_key(ES256_KID)?;
        let stranger = ec_key("unpublished")?;
        let rsa_key =
            tokio::task::spawn_blocking(|| rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048))
                .await?
                .context("generating an RSA key")?;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let rs_jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": RS256_KID,
                            "n": b64(&rsa_key.n().to_bytes_be()),
                            "e": b64(&rsa_key.e().to_bytes_be())});
        let rs256 = EncodingKey::from_rsa_der(rsa_key.to_pkcs1_der()?.as_bytes());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let discovery = json!({
            "issuer": url,
            "jwks_uri": format!("{url}/jwks"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        });
        let jwks = json!({"keys": [es.jwk, rs_jwk]});
        let as_json = |document: Value| {
            let body = document.to_string();
            move || {
                let body = body.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }
        };
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(as_json(discovery)),
            )
            .route("/jwks", axum::routing::get(as_json(jwks)));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            url,
            es256: es.signing,
            rs256,
            stranger: stranger.signing,
        })
    }

    /// The issuer URL (the `iss` of its tokens).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key set's URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.url)
    }

    /// `claims` signed with the published ES256 key.
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        sign(Algorithm::ES256, ES256_KID, claims, &self.es256)
    }

    /// `claims` signed with the published RS256 key.
    pub fn sign_rs256(&self, claims: &Value) -> anyhow::Result<String> {
        sign(Algorithm::RS256, RS256_KID, claims, &self.rs256)
    }

    /// `claims` signed with a key that is not published, under a key id that is not either.
    pub fn sign_with_unknown_key(&self, claims: &Value) -> anyhow::Result<String> {
        sign(Algorithm::ES256, "unpublished", claims, &self.stranger)
    }

    /// `claims` signed with a key that is not published, claiming the published key's id:
    /// the signature does not verify.
    pub fn sign_forged(&self, claims: &Value) -> anyhow::Result<String> {
        sign(Algorithm::ES256, ES256_KID, claims, &self.stranger)
    }
}

fn sign(alg: Algorithm, kid: &str, claims: &Value, key: &EncodingKey) -> anyhow::Result<String> {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    Ok(jsonwebtoken::encode(&header, claims, key)?)
}

/// Seconds since the epoch, `offset` seconds from now (for `exp`, `iat`).
pub fn epoch_in(offset: i64) -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + offset
}
