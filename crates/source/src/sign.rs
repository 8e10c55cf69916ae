//! OpenPGP commit signatures (Flux's `git.commit.signingKey`): the commit object without its
//! `gpgsig` header is signed with a detached, armored binary signature by the key's primary key
//! (or, when the primary key may not sign, its first signing subkey), as `gpg --detach-sign
//! --armor` does for `git commit -S`.
//! Errors never carry the key or its passphrase.

use crate::commit::SigningKey;
use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};

/// The armored signature over `payload`, without a trailing newline.
pub(crate) fn sign_payload(key: &SigningKey, payload: &[u8]) -> Result<String, String> {
    let (secret, _) = SignedSecretKey::from_string(&key.armored_key)
        .map_err(|_| "'git.asc' is not an armored OpenPGP secret key".to_owned())?;
    let password = key
        .passphrase
        .as_deref()
        .map_or_else(Password::empty, Password::from);
    let rng = rand_pgp::thread_rng();
    let signing_subkey = secret.secret_subkeys.iter().find(|subkey| {
        subkey
            .signatures
            .iter()
            .any(|signature| signature.key_flags().sign())
    });
    let signature = match signing_subkey {
        Some(subkey) if !primary_can_sign(&secret) => DetachedSignature::sign_binary_data(
            rng,
            &subkey.key,
            &password,
            HashAlgorithm::Sha256,
            payload,
        ),
        _ => DetachedSignature::sign_binary_data(
            rng,
            &secret.primary_key,
            &password,
            HashAlgorithm::Sha256,
            payload,
        ),
    }
    .map_err(|error| match error {
        pgp::errors::Error::InvalidInput { .. } => {
            "the passphrase does not unlock the OpenPGP key".to_owned()
        }
        _ => format!(
            "signing with key {} failed",
            secret.primary_key.fingerprint()
        ),
    })?;
    let armored = signature
        .to_armored_string(ArmorOptions::default())
        .map_err(|e| format!("armoring the signature failed: {e}"))?;
    Ok(armored.trim_end().to_owned())
}

/// Whether the primary key's self-signatures allow it to sign data.
fn primary_can_sign(secret: &SignedSecretKey) -> bool {
    let details = &secret.details;
    details
        .users
        .iter()
        .flat_map(|user| user.signatures.iter())
        .chain(details.direct_signatures.iter())
        .any(|signature| signature.key_flags().sign())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_key_is_named_without_its_content() {
        let key = SigningKey {
            armored_key: "not-a-key-hunter2".into(),
            passphrase: Some("hunter3-pass".into()),
        };
        let error = sign_payload(&key, b"tree x\n").expect_err("invalid key");
        assert!(error.contains("git.asc"), "{error}");
        assert!(!error.contains("hunter"), "{error}");
    }
}
