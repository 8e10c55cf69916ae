//! The decryption step (`spec.decryption`, provider `sops`), as kustomize-controller does it:
//! the private keys come from the Secret named by `secretRef` (`*.agekey` age identities,
//! `*.asc` armored OpenPGP keys); files the build reads that sops encrypted (Secret manifests,
//! `secretGenerator` env files and files, patches) are decrypted in memory as they are read,
//! their MAC verified; objects that still carry `sops` metadata after the build, and Secret
//! `data` entries holding an encrypted document, are decrypted before post-build
//! substitution. Plaintext never leaves memory: errors name files, objects and causes only.

use crate::context::Context;
use crate::failure::Failure;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::ResourceExt;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tether_api::kustomize::v1::Kustomization;
use tether_kustomize::FileSystem;
use tether_sops::{Format, Keys, Options};

/// The keys of the Kustomization's decryption Secret, when `spec.decryption` is set.
pub async fn decryption_keys(
    ks: &Kustomization,
    ctx: &Context,
) -> Result<Option<Arc<Keys>>, Failure> {
    let Some(decryption) = &ks.spec.decryption else {
        return Ok(None);
    };
    let mut keys = Keys::new();
    let Some(secret_ref) = &decryption.secret_ref else {
        return Ok(Some(Arc::new(keys)));
    };
    let namespace = ks.namespace().unwrap_or_default();
    let shown = format!("{namespace}/{}", secret_ref.name);
    let data = crate::secrets::secret_data(&ctx.client, &namespace, &secret_ref.name)
        .await
        .map_err(|e| Failure::build(format!("cannot get sops decryption Secret '{shown}': {e}")))?;
    for (name, value) in &data {
        let imported = if name.ends_with(".asc") {
            keys.import_pgp(value).map(drop)
        } else if name.ends_with(".agekey") {
            match std::str::from_utf8(value) {
                Ok(text) => keys.import_age(text).map(drop),
                Err(_) => Err(tether_sops::Error::InvalidKey {
                    kind: "age",
                    reason: "not UTF-8".into(),
                }),
            }
        } else {
            Ok(())
        };
        imported.map_err(|e| {
            Failure::build(format!(
                "failed to import '{name}' data from sops decryption Secret '{shown}': {e}"
            ))
        })?;
    }
    Ok(Some(Arc::new(keys)))
}

/// A filesystem that decrypts SOPS-encrypted files as the build reads them.
pub struct DecryptingFs<'a, F: FileSystem> {
    inner: &'a F,
    keys: &'a Keys,
    /// The first decryption failure, reported instead of the build error it causes.
    failure: Mutex<Option<String>>,
}

impl<'a, F: FileSystem> DecryptingFs<'a, F> {
    pub fn new(inner: &'a F, keys: &'a Keys) -> Self {
        DecryptingFs {
            inner,
            keys,
            failure: Mutex::new(None),
        }
    }

    /// The first file that failed to decrypt, and why.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

/// The format a file the build reads is encrypted in, if it is: YAML, JSON and INI files by
/// their name; any other file as a dotenv file (an env source) or a binary document, by the
/// marker it contains (as Flux's decryption of `secretGenerator` sources decides).
fn encrypted_format(path: &str, data: &[u8]) -> Option<Format> {
    match Format::for_path(path) {
        Format::Binary => [Format::Dotenv, Format::Binary]
            .into_iter()
            .find(|f| tether_sops::is_encrypted(data, *f)),
        format => tether_sops::is_encrypted(data, format).then_some(format),
    }
}

impl<F: FileSystem> FileSystem for DecryptingFs<'_, F> {
    fn read(&self, path: &str) -> tether_kustomize::Result<Vec<u8>> {
        let data = self.inner.read(path)?;
        let Some(format) = encrypted_format(path, &data) else {
            return Ok(data);
        };
        tether_sops::decrypt(&data, format, format, self.keys, Options::default()).map_err(|e| {
            let message = format!("error decrypting sources: failed to decrypt '{path}': {e}");
            if let Ok(mut failure) = self.failure.lock() {
                failure.get_or_insert_with(|| message.clone());
            }
            tether_kustomize::Error::Transform(message)
        })
    }

    fn is_dir(&self, path: &str) -> bool {
        self.inner.is_dir(path)
    }

    fn is_file(&self, path: &str) -> bool {
        self.inner.is_file(path)
    }

    fn list(&self, path: &str) -> tether_kustomize::Result<Vec<String>> {
        self.inner.list(path)
    }

    fn display(&self, path: &str) -> PathBuf {
        self.inner.display(path)
    }

    fn real_path(&self, path: &str) -> tether_kustomize::Result<String> {
        self.inner.real_path(path)
    }
}

/// Decrypts the built objects that are still encrypted: objects with `sops` metadata (their
/// MAC cannot be checked any more, kustomize has changed them; Flux does not check it either)
/// and Secret `data` entries that hold a whole encrypted document (MAC checked).
pub fn decrypt_objects(objects: &mut [Value], keys: &Keys) -> Result<(), Failure> {
    for object in objects.iter_mut() {
        if disabled(object) {
            continue;
        }
        let shown = shown(object);
        let fail =
            |e: tether_sops::Error| Failure::build(format!("decryption failed for '{shown}': {e}"));
        if object.get("sops").and_then(|s| s.get("mac")).is_some() {
            *object = tether_sops::decrypt_value(object, keys, Options { verify_mac: false })
                .map_err(fail)?;
        } else if object.get("kind").and_then(Value::as_str) == Some("Secret") {
            decrypt_data_entries(object, keys).map_err(|(key, e)| {
                Failure::build(format!(
                    "decryption failed for '{shown}': Secret field '{key}': {e}"
                ))
            })?;
        }
    }
    Ok(())
}

fn decrypt_data_entries(
    object: &mut Value,
    keys: &Keys,
) -> Result<(), (String, tether_sops::Error)> {
    let Some(Value::Object(data)) = object.get_mut("data") else {
        return Ok(());
    };
    for (key, value) in data.iter_mut() {
        let Some(encoded) = value.as_str() else {
            continue;
        };
        let Ok(bytes) = STANDARD.decode(encoded) else {
            continue;
        };
        let Some(input) = Format::detect(&bytes) else {
            continue;
        };
        let output = if key.ends_with(".dockerconfigjson") {
            Format::Json
        } else {
            Format::for_path(key)
        };
        let input = if input == Format::Json && output == Format::Binary {
            Format::Binary
        } else {
            input
        };
        let plain = tether_sops::decrypt(&bytes, input, output, keys, Options::default())
            .map_err(|e| (key.clone(), e))?;
        *value = Value::String(STANDARD.encode(plain));
    }
    Ok(())
}

/// `kustomize.toolkit.fluxcd.io/decrypt: disabled`.
fn disabled(object: &Value) -> bool {
    object
        .pointer("/metadata/annotations/kustomize.toolkit.fluxcd.io~1decrypt")
        .and_then(Value::as_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

fn shown(object: &Value) -> String {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    format!(
        "{}/{}/{}",
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_decrypted_by_their_name_or_by_the_marker_of_an_env_or_binary_document() {
        let yaml = b"a: ENC[x]\nsops:\n    mac: ENC[AES256_GCM,data:x]\n";
        assert_eq!(encrypted_format("secret.yaml", yaml), Some(Format::Yaml));
        assert_eq!(encrypted_format("secret.txt", yaml), None);
        assert_eq!(encrypted_format("plain.yaml", b"a: b\n"), None);
        let env = b"A=ENC[x]\nsops_mac=ENC[AES256_GCM,data:x]\n";
        assert_eq!(encrypted_format("app.env", env), Some(Format::Dotenv));
        assert_eq!(
            encrypted_format("app.properties", env),
            Some(Format::Dotenv)
        );
        let binary = b"{\"data\": \"ENC[x]\", \"sops\": {\"mac\": \"ENC[AES256_GCM\"}}";
        assert_eq!(encrypted_format("tls.crt", binary), Some(Format::Binary));
    }
}
