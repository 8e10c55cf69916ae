//! The private keys a document is opened with (age X25519 identities and OpenPGP secret keys)
//! and the recovery of its data key from the key groups: within a group the first master key
//! that opens wins (age before OpenPGP); several groups are Shamir parts of the data key.

use crate::error::Error;
use crate::metadata::{KeyGroup, MasterKey, Metadata};
use pgp::composed::{Deserializable, Message, SignedSecretKey};
use pgp::types::Password;
use std::io::Read;
use std::str::FromStr;

/// Largest armored data-key envelope accepted (they are a few hundred bytes).
const MAX_ENVELOPE_BYTES: usize = 64 << 10;

/// Private keys to open documents with. Debug output never shows key material.
#[derive(Default, Clone)]
pub struct Keys {
    age: Vec<age::x25519::Identity>,
    pgp: Vec<SignedSecretKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("age", &self.age.len())
            .field("pgp", &self.pgp.len())
            .finish()
    }
}

impl Keys {
    /// No keys.
    pub fn new() -> Self {
        Keys::default()
    }

    /// Whether no key was imported.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty()
    }

    /// Imports the identities of an age key file: `AGE-SECRET-KEY-1...` lines; blank lines and
    /// `#` comments are skipped.
    pub fn import_age(&mut self, text: &str) -> Result<usize, Error> {
        let mut count = 0;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity =
                age::x25519::Identity::from_str(line).map_err(|_| Error::InvalidKey {
                    kind: "age",
                    reason: "a line is not an AGE-SECRET-KEY-1 identity".into(),
                })?;
            self.age.push(identity);
            count += 1;
        }
        if count == 0 {
            return Err(Error::InvalidKey {
                kind: "age",
                reason: "no identity found".into(),
            });
        }
        Ok(count)
    }

    /// Imports the OpenPGP secret keys of an armored key block (one or several keys).
    pub fn import_pgp(&mut self, armored: &[u8]) -> Result<usize, Error> {
        let invalid = |reason: String| Error::InvalidKey {
            kind: "OpenPGP",
            reason,
        };
        let (keys, _) = SignedSecretKey::from_armor_many(armored)
            .map_err(|e| invalid(format!("cannot read the armored key: {e}")))?;
        let mut count = 0;
        for key in keys {
            self.pgp
                .push(key.map_err(|e| invalid(format!("cannot read a secret key: {e}")))?);
            count += 1;
        }
        if count == 0 {
            return Err(invalid("no secret key found".into()));
        }
        Ok(count)
    }

    /// The document's data key.
    pub(crate) fn data_key(&self, metadata: &Metadata) -> Result<[u8; 32], Error> {
        let groups = &metadata.key_groups;
        if groups.len() <= 1 {
            let group = groups
                .first()
                .ok_or_else(|| Error::DataKey("no key group".into()))?;
            let part = self.open_group(group)?;
            return part
                .try_into()
                .map_err(|_| Error::DataKey("the data key is not 32 bytes".into()));
        }
        let mut parts = Vec::new();
        let mut failures = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            match self.open_group(group) {
                Ok(part) => parts.push(part),
                Err(e) => failures.push(format!("group {i}: {e}")),
            }
        }
        let threshold = metadata.shamir_threshold.max(1);
        if parts.len() < threshold {
            return Err(Error::DataKey(format!(
                "{} of {} key groups opened, {threshold} needed ({})",
                parts.len(),
                groups.len(),
                failures.join("; ")
            )));
        }
        crate::shamir::combine(&parts)?
            .try_into()
            .map_err(|_| Error::DataKey("the data key is not 32 bytes".into()))
    }

    fn open_group(&self, group: &KeyGroup) -> Result<Vec<u8>, Error> {
        let mut unsupported = Vec::new();
        let mut tried = Vec::new();
        for key in &group.keys {
            match key {
                MasterKey::Age { recipient, enc } => {
                    if let Some(part) = self.open_age(enc) {
                        return Ok(part);
                    }
                    tried.push(format!("age recipient {recipient}"));
                }
                MasterKey::Pgp { fingerprint, enc } => {
                    if let Some(part) = self.open_pgp(enc) {
                        return Ok(part);
                    }
                    tried.push(format!("OpenPGP key {fingerprint}"));
                }
                MasterKey::Unsupported(name) => {
                    if !unsupported.contains(name) {
                        unsupported.push(*name);
                    }
                }
            }
        }
        if tried.is_empty() && !unsupported.is_empty() {
            return Err(Error::UnsupportedKeyService(unsupported.join(", ")));
        }
        let mut message = format!(
            "no key given opens the data key (tried {})",
            tried.join(", ")
        );
        if !unsupported.is_empty() {
            message.push_str(&format!("; not supported yet: {}", unsupported.join(", ")));
        }
        Err(Error::DataKey(message))
    }

    fn open_age(&self, enc: &str) -> Option<Vec<u8>> {
        if self.age.is_empty() || enc.len() > MAX_ENVELOPE_BYTES {
            return None;
        }
        let reader = age::armor::ArmoredReader::new(enc.as_bytes());
        let decryptor = age::Decryptor::new(reader).ok()?;
        let identities = self.age.iter().map(|i| i as &dyn age::Identity);
        let mut plain = Vec::new();
        decryptor
            .decrypt(identities)
            .ok()?
            .take(MAX_ENVELOPE_BYTES as u64)
            .read_to_end(&mut plain)
            .ok()?;
        Some(plain)
    }

    fn open_pgp(&self, enc: &str) -> Option<Vec<u8>> {
        if enc.len() > MAX_ENVELOPE_BYTES {
            return None;
        }
        for key in &self.pgp {
            let Ok((message, _)) = Message::from_string(enc) else {
                return None;
            };
            let Ok(mut message) = message.decrypt(&Password::empty(), key) else {
                continue;
            };
            if message.is_compressed() {
                let Ok(inner) = message.decompress() else {
                    continue;
                };
                message = inner;
            }
            if let Ok(plain) = message.as_data_vec()
                && plain.len() <= MAX_ENVELOPE_BYTES
            {
                return Some(plain);
            }
        }
        None
    }
}
