//! Differential tests against the Go-built sops: documents are encrypted at test time by the
//! real `sops` (age recipients from `age-keygen`, OpenPGP keys from gpg), decrypted by tether
//! and compared byte for byte with what `sops decrypt` prints; a seeded generator makes the
//! documents the hand-written ones are too close to the code to find. Tampered documents must
//! fail.

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use tether_sops::{Error, Format, Keys, Options};
use tether_testkit::sops::{AgeKey, Encrypt, age_keygen, gpg_key, sops_decrypt, sops_encrypt};

const YAML: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: app
  namespace: default
type: Opaque
stringData:
  password: hunter2
  multi: |
    line one
    line two
  number_like: "123"
  yes_word: "yes"
  padded: "  padded  "
  colon: "a: b"
  unicode: "héllo wörld ✓"
data:
  token: c2VjcmV0
list:
  - a
  - 1
  - 2.5
  - true
  - nested:
      x: 1
      y: [1, 2]
  - [3, 4]
empty_map: {}
empty_list: []
nothing: null
port_unencrypted: 8080
---
second: document
deep:
  a:
    b:
      c: value
"#;

const JSON: &str = r#"{
  "name": "app",
  "password": "hunter2 <b>&</b>",
  "count": 3,
  "ratio": 0.125,
  "big": 1e21,
  "small": 0.000001,
  "enabled": false,
  "nothing": null,
  "list": [1, "two", {"three": 3.0}, []],
  "nested": {"a": {"b": "c"}, "e": {}},
  "escapes": "tab\tnewline\nquote\"backslash\\ \u0001 \u2028"
}
"#;

const DOTENV: &str = "USER=admin\nPASSWORD=s3cr=t value\n#a comment\nMULTI=one\\ntwo\nEMPTY=\n";

const INI: &str =
    "[database]\nuser = admin\npassword = secret value\n\n[web]\nport = 8080\nhost = example.org\n";

const BINARY: &str =
    "-----BEGIN CERTIFICATE-----\nMIIB\u{0}raw bytes é\n-----END CERTIFICATE-----\n";

fn keys_for(age: &AgeKey) -> Result<Keys> {
    let mut keys = Keys::new();
    keys.import_age(&age.identity)?;
    Ok(keys)
}

fn type_name(format: Format) -> &'static str {
    match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
        Format::Dotenv => "dotenv",
        Format::Ini => "ini",
        Format::Binary => "binary",
    }
}

/// Decrypts `encrypted` with tether and with sops and asserts both print the same bytes.
fn assert_same_as_sops(
    encrypted: &[u8],
    format: Format,
    keys: &Keys,
    age_identity: Option<&str>,
    gnupg_home: Option<&std::path::Path>,
    what: &str,
) -> Result<()> {
    let expected = sops_decrypt(encrypted, type_name(format), age_identity, gnupg_home)?;
    let got = tether_sops::decrypt(encrypted, format, format, keys, Options::default())
        .with_context(|| format!("{what}: tether failed"))?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected),
        "{what}: tether's plaintext differs from sops'"
    );
    assert_eq!(got, expected, "{what}: bytes differ");
    Ok(())
}

#[test]
fn every_format_encrypted_by_sops_with_age_decrypts_byte_for_byte_as_sops_prints_it() -> Result<()>
{
    let age = age_keygen()?;
    let keys = keys_for(&age)?;
    let cases = [
        (Format::Yaml, YAML),
        (Format::Json, JSON),
        (Format::Dotenv, DOTENV),
        (Format::Ini, INI),
        (Format::Binary, BINARY),
    ];
    for (format, plain) in cases {
        let with = Encrypt {
            age: vec![&age.recipient],
            flags: vec!["--unencrypted-suffix".into(), "_unencrypted".into()],
            ..Encrypt::default()
        };
        let encrypted = sops_encrypt(plain.as_bytes(), type_name(format), &with)?;
        assert!(tether_sops::is_encrypted(&encrypted, format), "{format:?}");
        assert_same_as_sops(
            &encrypted,
            format,
            &keys,
            Some(&age.identity),
            None,
            format.name(),
        )?;
    }
    Ok(())
}

#[test]
fn documents_encrypted_by_sops_to_an_openpgp_key_decrypt_as_sops_prints_them() -> Result<()> {
    let gpg = gpg_key("tether-sops")?;
    let mut keys = Keys::new();
    keys.import_pgp(gpg.secret_armored.as_bytes())?;
    for (format, plain) in [(Format::Yaml, YAML), (Format::Dotenv, DOTENV)] {
        let with = Encrypt {
            pgp: vec![&gpg.fingerprint],
            gnupg_home: Some(gpg.home.path()),
            ..Encrypt::default()
        };
        let encrypted = sops_encrypt(plain.as_bytes(), type_name(format), &with)?;
        assert_same_as_sops(
            &encrypted,
            format,
            &keys,
            None,
            Some(gpg.home.path()),
            &format!("PGP {}", format.name()),
        )?;
    }
    Ok(())
}

#[test]
fn any_one_of_several_master_keys_opens_the_document() -> Result<()> {
    let (first, second) = (age_keygen()?, age_keygen()?);
    let gpg = gpg_key("tether-group")?;
    let with = Encrypt {
        age: vec![&first.recipient, &second.recipient],
        pgp: vec![&gpg.fingerprint],
        gnupg_home: Some(gpg.home.path()),
        ..Encrypt::default()
    };
    let encrypted = sops_encrypt(JSON.as_bytes(), "json", &with)?;
    assert_same_as_sops(
        &encrypted,
        Format::Json,
        &keys_for(&second)?,
        Some(&second.identity),
        None,
        "second age key",
    )?;
    let mut pgp_only = Keys::new();
    pgp_only.import_pgp(gpg.secret_armored.as_bytes())?;
    assert_same_as_sops(
        &encrypted,
        Format::Json,
        &pgp_only,
        Some(&first.identity),
        None,
        "pgp key",
    )?;
    Ok(())
}

#[test]
fn a_wrong_key_a_tampered_value_and_a_tampered_mac_are_errors_without_plaintext() -> Result<()> {
    let age = age_keygen()?;
    let keys = keys_for(&age)?;
    let plain = "secret: hunter2-plaintext\nport_unencrypted: open-value\n";
    let with = Encrypt {
        age: vec![&age.recipient],
        flags: vec!["--unencrypted-suffix".into(), "_unencrypted".into()],
        ..Encrypt::default()
    };
    let encrypted = String::from_utf8(sops_encrypt(plain.as_bytes(), "yaml", &with)?)?;
    let decrypt = |text: &str, keys: &Keys| {
        tether_sops::decrypt(
            text.as_bytes(),
            Format::Yaml,
            Format::Yaml,
            keys,
            Options::default(),
        )
    };
    assert!(decrypt(&encrypted, &keys).is_ok());

    let other = keys_for(&age_keygen()?)?;
    let wrong = decrypt(&encrypted, &other).expect_err("a wrong key opens nothing");
    assert!(matches!(wrong, Error::DataKey(_)), "{wrong}");

    // One character of the ciphertext of `secret` changed.
    let at = encrypted
        .find("secret: ENC[AES256_GCM,data:")
        .context("no secret")?
        + 29;
    let mut tampered = encrypted.clone().into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered)?;
    let error = decrypt(&tampered, &keys).expect_err("tampered ciphertext");
    assert!(matches!(error, Error::Value { .. }), "{error}");

    // A value left in the clear edited by hand: the MAC no longer matches.
    let edited = encrypted.replace("open-value", "changed-value");
    let error = decrypt(&edited, &keys).expect_err("edited value");
    assert!(matches!(error, Error::Mac(_)), "{error}");

    // The MAC replaced by the MAC of another document.
    let other_doc = String::from_utf8(sops_encrypt(b"secret: other\n", "yaml", &with)?)?;
    let mac_of = |doc: &str| {
        doc.lines()
            .find(|l| l.trim_start().starts_with("mac: "))
            .map(str::to_string)
    };
    let swapped = encrypted.replace(
        &mac_of(&encrypted).context("mac")?,
        &mac_of(&other_doc).context("mac")?,
    );
    let error = decrypt(&swapped, &keys).expect_err("foreign MAC");
    assert!(matches!(error, Error::Mac(_)), "{error}");

    for error in [wrong, error] {
        let text = format!("{error} {error:?}");
        assert!(!text.contains("hunter2"), "plaintext in an error: {text}");
    }
    Ok(())
}

#[test]
fn cloud_kms_key_groups_are_reported_as_not_supported() -> Result<()> {
    let age = age_keygen()?;
    let with = Encrypt {
        age: vec![&age.recipient],
        ..Encrypt::default()
    };
    let encrypted = String::from_utf8(sops_encrypt(b"a: b\n", "yaml", &with)?)?;
    // The same document as if its only master key were an AWS KMS key.
    let start = encrypted.find("    age:").context("age section")?;
    let end = encrypted
        .find("    lastmodified:")
        .context("lastmodified")?;
    let kms = "    kms:\n        - arn: arn:aws:kms:eu-west-1:000000000000:key/x\n          created_at: \"2026-01-01T00:00:00Z\"\n          enc: AQID\n          aws_profile: \"\"\n";
    let kms_only = format!("{}{kms}{}", &encrypted[..start], &encrypted[end..]);
    let error = tether_sops::decrypt(
        kms_only.as_bytes(),
        Format::Yaml,
        Format::Yaml,
        &keys_for(&age)?,
        Options::default(),
    )
    .expect_err("kms is not implemented");
    assert!(matches!(error, Error::UnsupportedKeyService(_)), "{error}");
    assert!(error.to_string().contains("AWS KMS"), "{error}");
    Ok(())
}

/// A small seeded generator (xorshift), so every run tries the same documents.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn key(&mut self) -> String {
        let base = self.pick(&[
            "name",
            "password",
            "data",
            "stringData",
            "port",
            "tls.crt",
            "a-b",
            "x_y",
            "key with space",
            "ünï",
        ]);
        let suffix = self.pick(&["", "", "", "_unencrypted", "_enc"]);
        format!("{base}{}{suffix}", self.below(100))
    }

    fn text(&mut self) -> String {
        let pieces = [
            "a",
            "Z",
            "0",
            " ",
            "  ",
            ":",
            ": ",
            "#",
            " #",
            "-",
            "'",
            "\"",
            "\\",
            "\n",
            "\t",
            "é",
            "✓",
            "yes",
            "no",
            "null",
            "true",
            "1.5",
            "0x1F",
            "~",
            "*",
            "&",
            "!",
            "%",
            "@",
            "`",
            "{",
            "[",
            ",",
            "long text that goes on and on past the folding width of eighty columns for sure",
        ];
        let n = self.below(6);
        (0..n).map(|_| self.pick(&pieces)).collect()
    }

    fn scalar(&mut self) -> Value {
        match self.below(8) {
            0 => json!(self.below(1 << 40) as i64 - (1 << 39)),
            1 => json!([0.5, -2.25, 1e-7, 123456.789, 3.0, 1e21][self.below(6) as usize]),
            2 => json!(self.below(2) == 0),
            3 => Value::Null,
            _ => json!(self.text()),
        }
    }

    fn value(&mut self, depth: u32) -> Value {
        match (depth, self.below(5)) {
            (d, 0) if d < 4 => Value::Object(self.map(depth + 1)),
            (d, 1) if d < 4 => {
                let n = self.below(4);
                Value::Array((0..n).map(|_| self.value(depth + 1)).collect())
            }
            _ => self.scalar(),
        }
    }

    fn map(&mut self, depth: u32) -> Map<String, Value> {
        let n = 1 + self.below(5);
        (0..n).map(|_| (self.key(), self.value(depth))).collect()
    }
}

#[test]
fn random_documents_encrypted_by_sops_decrypt_to_exactly_what_sops_prints() -> Result<()> {
    let age = age_keygen()?;
    let keys = keys_for(&age)?;
    let rules: [&[&str]; 4] = [
        &[],
        &["--unencrypted-suffix", "_unencrypted"],
        &["--encrypted-regex", "^(data|password|stringData)"],
        &["--unencrypted-regex", "^(name|port)"],
    ];
    // A MAC over only the encrypted values has no flag: a `.sops.yaml` rule sets it.
    let mac_only = format!(
        "creation_rules:\n  - age: {}\n    encrypted_suffix: _enc\n    mac_only_encrypted: true\n",
        age.recipient
    );
    let mut random = Random(0x5eed_50b5);
    for case in 0..24 {
        let document = Value::Object(random.map(0));
        let flags: Vec<String> = rules[case % rules.len()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let with = if case % 6 == 5 {
            Encrypt {
                config: Some(mac_only.clone()),
                ..Encrypt::default()
            }
        } else {
            Encrypt {
                age: vec![&age.recipient],
                flags,
                ..Encrypt::default()
            }
        };
        let json_text = serde_json::to_string_pretty(&document)?;
        let yaml_text = tether_core_yaml(&document);
        for (format, plain) in [(Format::Json, &json_text), (Format::Yaml, &yaml_text)] {
            let encrypted = sops_encrypt(plain.as_bytes(), type_name(format), &with)
                .with_context(|| format!("case {case}: sops refused\n{plain}"))?;
            let what = format!("case {case} ({}):\n{plain}", format.name());
            assert_same_as_sops(&encrypted, format, &keys, Some(&age.identity), None, &what)?;
        }
    }
    Ok(())
}

/// The document as YAML (go-yaml v2 layout, as kustomize would print it).
fn tether_core_yaml(value: &Value) -> String {
    tether_core::yaml::to_string(value)
}
