//! HMAC signatures of webhook bodies: GitHub's `<algorithm>=<hex>` form (`X-Hub-Signature-256`,
//! `X-Hub-Signature`, generic-hmac's `X-Signature`; sha1, sha256 or sha512) and Nexus's bare
//! hex HMAC-SHA1, compared in constant time.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// Why a signature does not verify; the texts are go-github's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header.
    #[error("missing signature")]
    Missing,
    /// Not `<algorithm>=<hex>`.
    #[error("error parsing signature {0:?}")]
    Malformed(String),
    /// An algorithm other than sha1, sha256 and sha512.
    #[error("unknown hash type prefix: {0:?}")]
    UnknownAlgorithm(String),
    /// The hex part does not decode.
    #[error("error decoding signature {0:?}")]
    BadHex(String),
    /// The MAC differs.
    #[error("payload signature check failed")]
    Mismatch,
}

/// Verifies `<algorithm>=<hex HMAC of body keyed by token>` (go-github's `ValidateSignature`).
pub fn verify_prefixed(signature: &str, body: &[u8], token: &str) -> Result<(), SignatureError> {
    if signature.is_empty() {
        return Err(SignatureError::Missing);
    }
    let (algorithm, digest) = signature
        .split_once('=')
        .ok_or_else(|| SignatureError::Malformed(signature.to_owned()))?;
    let expected =
        decode_hex(digest).ok_or_else(|| SignatureError::BadHex(signature.to_owned()))?;
    let key = token.as_bytes();
    let verified = match algorithm {
        "sha1" => mac_matches::<Hmac<Sha1>>(key, body, &expected),
        "sha256" => mac_matches::<Hmac<Sha256>>(key, body, &expected),
        "sha512" => mac_matches::<Hmac<Sha512>>(key, body, &expected),
        other => return Err(SignatureError::UnknownAlgorithm(other.to_owned())),
    };
    if verified {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Verifies a bare lowercase hex HMAC-SHA1 (Nexus's `X-Nexus-Webhook-Signature`).
pub fn verify_hex_sha1(signature: &str, body: &[u8], token: &str) -> bool {
    decode_hex(signature)
        .filter(|_| signature.bytes().all(|b| !b.is_ascii_uppercase()))
        .is_some_and(|expected| mac_matches::<Hmac<Sha1>>(token.as_bytes(), body, &expected))
}

/// `<algorithm>=<hex>` for `body`, as a forge would sign it (for tests and for callers that
/// sign outgoing webhooks).
pub fn sign_sha256(body: &[u8], token: &str) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!(
                "sha256={}",
                crate::provider::hex(&mac.finalize().into_bytes())
            )
        }
        Err(_) => String::new(),
    }
}

fn mac_matches<M: Mac + hmac::digest::KeyInit>(key: &[u8], body: &[u8], expected: &[u8]) -> bool {
    match <M as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(body);
            mac.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_with_the_token_verifies_and_others_do_not() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let signature = sign_sha256(body, "s3cret");
        assert_eq!(verify_prefixed(&signature, body, "s3cret"), Ok(()));
        assert_eq!(
            verify_prefixed(&signature, body, "other"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_prefixed("", body, "s3cret"),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify_prefixed("md5=00", body, "s3cret"),
            Err(SignatureError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            verify_prefixed("sha256=zz", body, "s3cret"),
            Err(SignatureError::BadHex(_))
        ));
    }
}
