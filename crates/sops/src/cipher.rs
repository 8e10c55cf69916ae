//! sops' value cipher: AES-256-GCM with a 32-byte nonce, the value's path as additional data,
//! and the type of the plaintext in the envelope
//! (`ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<type>]`).

use crate::tree::{Comment, Node};
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// AES-256-GCM as sops uses it: 32-byte nonces.
type SopsGcm = AesGcm<Aes256, U32>;

/// Why a value could not be decrypted; never the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// Not an `ENC[AES256_GCM,...]` envelope.
    NotEncrypted,
    /// A part of the envelope is not valid base64 or has the wrong length.
    Malformed,
    /// Authentication failed: wrong data key, wrong path or tampered ciphertext.
    Authentication,
    /// The plaintext does not parse as the type the envelope names.
    BadType,
    /// The envelope names a type sops does not know.
    UnknownType,
}

impl ValueError {
    /// A short description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            ValueError::NotEncrypted => "the value does not match sops' data format",
            ValueError::Malformed => "the encrypted value is malformed",
            ValueError::Authentication => "authentication failed (wrong key or tampered data)",
            ValueError::BadType => "the decrypted value does not match its type",
            ValueError::UnknownType => "unknown value type",
        }
    }
}

struct Envelope<'a> {
    data: &'a str,
    iv: &'a str,
    tag: &'a str,
    kind: &'a str,
}

/// Splits `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]` as sops' pattern does (the
/// pattern is anchored at the start only).
fn parse(text: &str) -> Option<Envelope<'_>> {
    let rest = text.strip_prefix("ENC[AES256_GCM,data:")?;
    let end = rest.rfind(']')?;
    let rest = &rest[..end];
    let (data, rest) = rest.split_once(",iv:")?;
    let (iv, rest) = rest.split_once(",tag:")?;
    let (tag, kind) = rest.split_once(",type:")?;
    if data.is_empty() || iv.is_empty() || tag.is_empty() || kind.is_empty() {
        return None;
    }
    Some(Envelope {
        data,
        iv,
        tag,
        kind,
    })
}

/// Decrypts one value. An empty string stays empty (sops does not encrypt empty values).
pub fn decrypt(text: &str, key: &[u8; 32], additional_data: &str) -> Result<Node, ValueError> {
    if text.is_empty() {
        return Ok(Node::Str(String::new()));
    }
    let envelope = parse(text).ok_or(ValueError::NotEncrypted)?;
    let decode = |part: &str| STANDARD.decode(part).map_err(|_| ValueError::Malformed);
    let mut sealed = decode(envelope.data)?;
    let iv = decode(envelope.iv)?;
    let tag = decode(envelope.tag)?;
    if iv.len() != 32 || tag.len() != 16 {
        return Err(ValueError::Malformed);
    }
    sealed.extend_from_slice(&tag);
    let cipher = SopsGcm::new(key.into());
    let plain = cipher
        .decrypt(
            Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: additional_data.as_bytes(),
            },
        )
        .map_err(|_| ValueError::Authentication)?;
    typed(plain, envelope.kind)
}

fn typed(plain: Vec<u8>, kind: &str) -> Result<Node, ValueError> {
    if kind == "bytes" {
        return Ok(Node::Bytes(plain));
    }
    let text = String::from_utf8(plain).map_err(|_| ValueError::BadType)?;
    match kind {
        "str" | "time" => Ok(Node::Str(text)),
        "comment" => Ok(Node::Comment(Comment::own_line(text))),
        "int" => parse_go_int(&text)
            .map(Node::Int)
            .ok_or(ValueError::BadType),
        "float" => parse_go_float(&text)
            .map(Node::Float)
            .ok_or(ValueError::BadType),
        "bool" => match text.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Node::Bool(true)),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Node::Bool(false)),
            _ => Err(ValueError::BadType),
        },
        _ => Err(ValueError::UnknownType),
    }
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits.
fn parse_go_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Go's `strconv.ParseFloat` for the forms sops writes (`'f'` format) and the usual others.
fn parse_go_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => text.replace('_', "").parse().ok(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Seals `plain` the way sops does, for unit tests (sops itself encrypts the fixtures of
    /// the differential tests).
    pub(crate) fn seal(
        plain: &[u8],
        kind: &str,
        key: &[u8; 32],
        aad: &str,
        iv: &[u8; 32],
    ) -> String {
        let cipher = SopsGcm::new(key.into());
        let out = cipher
            .encrypt(
                Nonce::<U32>::from_slice(iv),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .expect("encrypt");
        let (data, tag) = out.split_at(out.len() - 16);
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
            STANDARD.encode(data),
            STANDARD.encode(iv),
            STANDARD.encode(tag)
        )
    }

    #[test]
    fn a_value_decrypts_to_its_type_only_under_its_own_path() {
        let key = [7u8; 32];
        let sealed = seal(b"42", "int", &key, "a:b:", &[1; 32]);
        assert_eq!(decrypt(&sealed, &key, "a:b:"), Ok(Node::Int(42)));
        assert_eq!(
            decrypt(&sealed, &key, "a:c:"),
            Err(ValueError::Authentication)
        );
        assert_eq!(
            decrypt(&sealed, &[8; 32], "a:b:"),
            Err(ValueError::Authentication)
        );
        assert_eq!(
            decrypt("plain", &key, "a:b:"),
            Err(ValueError::NotEncrypted)
        );
        assert_eq!(decrypt("", &key, "a:b:"), Ok(Node::Str(String::new())));
    }

    #[test]
    fn a_flipped_ciphertext_byte_fails_authentication() {
        let key = [3u8; 32];
        let sealed = seal(b"secret-value", "str", &key, "x:", &[2; 32]);
        let data = sealed
            .split("data:")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap_or_default();
        let mut bytes = STANDARD.decode(data).unwrap_or_default();
        bytes[0] ^= 1;
        let tampered = sealed.replace(data, &STANDARD.encode(bytes));
        assert_eq!(
            decrypt(&tampered, &key, "x:"),
            Err(ValueError::Authentication)
        );
    }
}
