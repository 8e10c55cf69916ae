//! tether-sops: decryption of SOPS documents exactly as sops v3 decrypts them.
//!
//! A document (YAML, JSON, dotenv, INI, or binary wrapped in JSON) carries its values encrypted
//! with AES-256-GCM under one data key, and `sops` metadata holding that data key encrypted to
//! each master key (age recipients, OpenPGP keys, cloud KMS keys), the rules that say which
//! values are encrypted, and a MAC over the values. [`decrypt`] recovers the data key with the
//! [`Keys`] given, decrypts every value under its path, verifies the MAC and writes the
//! plaintext document as `sops -d` writes it. [`decrypt_value`] does the same on a JSON value
//! (a Kubernetes object built by kustomize).
//!
//! Errors never contain plaintext, data keys or private keys; inputs are bounded
//! ([`MAX_DOCUMENT_BYTES`]).

#![forbid(unsafe_code)]

mod cipher;
mod error;
mod format;
mod keys;
mod metadata;
mod shamir;
mod tree;
mod walk;

pub use error::Error;
pub use format::Format;
pub use keys::Keys;

use metadata::{METADATA_KEY, Metadata};
use tree::{Item, Node};

/// Largest document accepted (Flux's limit for an encrypted file).
pub const MAX_DOCUMENT_BYTES: usize = 5 << 20;

/// How a document is checked.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Verify the MAC (what `sops -d` does). Flux skips it for objects kustomize has already
    /// changed (labels, namespace), whose MAC can no longer match.
    pub verify_mac: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { verify_mac: true }
    }
}

/// Decrypts `data` read as `input` and writes the plaintext as `output`, as `sops -d
/// --input-type <input> --output-type <output>` does.
pub fn decrypt(
    data: &[u8],
    input: Format,
    output: Format,
    keys: &Keys,
    options: Options,
) -> Result<Vec<u8>, Error> {
    if data.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge {
            size: data.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let (mut branches, metadata) = load(data, input)?;
    decrypt_branches(&mut branches, &metadata, keys, options)?;
    emit(&branches, output)
}

/// Whether `data` looks like a SOPS document of `format` (it contains the format's marker).
pub fn is_encrypted(data: &[u8], format: Format) -> bool {
    let marker = format.marker().as_bytes();
    data.windows(marker.len()).any(|w| w == marker)
}

/// Decrypts a SOPS-encrypted JSON value (an object with a `sops` entry), returning it without
/// the metadata, as Flux decrypts an encrypted Secret after the build.
pub fn decrypt_value(
    value: &serde_json::Value,
    keys: &Keys,
    options: Options,
) -> Result<serde_json::Value, Error> {
    let serde_json::Value::Object(_) = value else {
        return Err(Error::syntax("JSON", "the top level is not an object"));
    };
    let mut branch = format::json::from_value(value.clone());
    let metadata = take_metadata(std::slice::from_mut(&mut branch))?;
    let metadata = Metadata::from_node(&metadata)?;
    decrypt_branches(std::slice::from_mut(&mut branch), &metadata, keys, options)?;
    Ok(format::json::to_value(&branch))
}

fn load(data: &[u8], input: Format) -> Result<(Vec<Node>, Metadata), Error> {
    let (mut branches, metadata) = match input {
        Format::Yaml => (format::yaml::load(data)?, None),
        Format::Json | Format::Binary => (vec![format::json::load(data)?], None),
        Format::Dotenv => {
            let (branch, metadata) = format::dotenv::load(data)?;
            (vec![branch], metadata)
        }
        Format::Ini => {
            let (branch, metadata) = format::ini::load(data)?;
            (vec![branch], metadata)
        }
    };
    let metadata = match metadata {
        Some(metadata) => metadata,
        None => take_metadata(&mut branches)?,
    };
    Ok((branches, Metadata::from_node(&metadata)?))
}

/// Removes the `sops` entry from every branch and returns the first branch's.
fn take_metadata(branches: &mut [Node]) -> Result<Node, Error> {
    let mut found = None;
    for (index, branch) in branches.iter_mut().enumerate() {
        let Node::Map(items) = branch else { continue };
        let mut kept: Vec<Item> = Vec::with_capacity(items.len());
        for item in std::mem::take(items) {
            if item.name() == Some(METADATA_KEY) {
                if index == 0 {
                    if found.is_some() {
                        return Err(Error::Metadata("duplicate sops entry".into()));
                    }
                    found = Some(item.value);
                }
            } else {
                kept.push(item);
            }
        }
        *items = kept;
    }
    found.ok_or(Error::MetadataNotFound)
}

fn decrypt_branches(
    branches: &mut [Node],
    metadata: &Metadata,
    keys: &Keys,
    options: Options,
) -> Result<(), Error> {
    let key = keys.data_key(metadata)?;
    let mac = walk::decrypt_branches(branches, metadata, &key)?;
    if options.verify_mac {
        walk::verify_mac(metadata, &key, &mac)?;
    }
    Ok(())
}

fn emit(branches: &[Node], output: Format) -> Result<Vec<u8>, Error> {
    match output {
        Format::Yaml => format::yaml::emit(branches),
        Format::Json => format::json::emit(single(branches, output)?),
        Format::Dotenv => format::dotenv::emit(single(branches, output)?),
        Format::Ini => format::ini::emit(single(branches, output)?),
        Format::Binary => binary_data(single(branches, output)?),
    }
}

fn single(branches: &[Node], output: Format) -> Result<&Node, Error> {
    match branches {
        [branch] => Ok(branch),
        _ => Err(Error::Emit {
            format: output.name(),
            reason: "there must be exactly one document".into(),
        }),
    }
}

/// The binary store's plaintext: the string under `data`.
fn binary_data(branch: &Node) -> Result<Vec<u8>, Error> {
    let Node::Map(items) = branch else {
        return Err(no_binary_data());
    };
    match items.iter().find(|i| i.name() == Some("data")) {
        Some(Item {
            value: Node::Str(s),
            ..
        }) => Ok(s.clone().into_bytes()),
        _ => Err(no_binary_data()),
    }
}

fn no_binary_data() -> Error {
    Error::Emit {
        format: "binary",
        reason: "no binary data found in tree".into(),
    }
}
