//! SSH deploy keys as fluxd kept them: a private key generated when none exists yet (ed25519,
//! OpenSSH format), its public line (`identity.pub`) and the fingerprints fluxctl's
//! `identity --fingerprint` prints. Keys never appear in errors.

use ssh_key::private::{Ed25519Keypair, KeypairData};
use ssh_key::{HashAlg, LineEnding, PrivateKey};

/// Why a deploy key could not be made or read. Messages never include key material.
#[derive(Debug, thiserror::Error)]
pub enum DeployKeyError {
    /// The stored private key does not parse as an OpenSSH private key.
    #[error("the deploy key is not an OpenSSH private key: {reason}")]
    Invalid { reason: String },
    /// Encoding the generated key failed.
    #[error("cannot encode the generated deploy key: {reason}")]
    Encode { reason: String },
}

/// A deploy key: the private key (OpenSSH PEM) and its public line.
#[derive(Clone, PartialEq, Eq)]
pub struct DeployKey {
    /// `-----BEGIN OPENSSH PRIVATE KEY-----...`
    pub private_pem: String,
    /// `ssh-ed25519 AAAA... <comment>`
    pub public_line: String,
}

impl std::fmt::Debug for DeployKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployKey")
            .field("public_line", &self.public_line)
            .finish_non_exhaustive()
    }
}

impl DeployKey {
    /// A new ed25519 key with `comment`.
    pub fn generate(comment: &str) -> Result<Self, DeployKeyError> {
        let keypair = Ed25519Keypair::random(&mut rand_core::OsRng);
        let private = PrivateKey::new(KeypairData::from(keypair), comment).map_err(|e| {
            DeployKeyError::Encode {
                reason: e.to_string(),
            }
        })?;
        let private_pem = private
            .to_openssh(LineEnding::LF)
            .map_err(|e| DeployKeyError::Encode {
                reason: e.to_string(),
            })?
            .to_string();
        Self::from_private_pem(&private_pem)
    }

    /// The key stored as `private_pem` (unencrypted OpenSSH format).
    pub fn from_private_pem(private_pem: &str) -> Result<Self, DeployKeyError> {
        let private =
            PrivateKey::from_openssh(private_pem).map_err(|e| DeployKeyError::Invalid {
                reason: e.to_string(),
            })?;
        let public_line =
            private
                .public_key()
                .to_openssh()
                .map_err(|e| DeployKeyError::Encode {
                    reason: e.to_string(),
                })?;
        Ok(Self {
            private_pem: private_pem.to_owned(),
            public_line,
        })
    }

    /// `MD5:aa:bb:...` as `ssh-keygen -l -E md5` prints it (what fluxctl shows).
    pub fn md5_fingerprint(&self) -> String {
        use md5::Digest;
        let blob = ssh_key::PublicKey::from_openssh(&self.public_line)
            .and_then(|key| key.to_bytes())
            .unwrap_or_default();
        let digest = md5::Md5::digest(&blob);
        let hex: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("MD5:{}", hex.join(":"))
    }

    /// `SHA256:...` as `ssh-keygen -l` prints it.
    pub fn sha256_fingerprint(&self) -> String {
        ssh_key::PublicKey::from_openssh(&self.public_line)
            .map(|key| key.fingerprint(HashAlg::Sha256).to_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_and_have_fingerprints() {
        let key = DeployKey::generate("flux@cluster").expect("generate");
        assert!(key.public_line.starts_with("ssh-ed25519 "), "{key:?}");
        assert!(key.public_line.ends_with(" flux@cluster"));
        let read = DeployKey::from_private_pem(&key.private_pem).expect("parse");
        assert_eq!(read, key);
        assert!(key.md5_fingerprint().starts_with("MD5:"));
        assert_eq!(key.md5_fingerprint().split(':').count(), 17);
        assert!(key.sha256_fingerprint().starts_with("SHA256:"));
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn a_broken_key_is_refused_without_echoing_it() {
        let error = DeployKey::from_private_pem("-----BEGIN garbage secret").expect_err("bad");
        assert!(!error.to_string().contains("garbage secret"), "{error}");
    }
}
