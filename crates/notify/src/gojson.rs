//! JSON bytes as Go's `encoding/json` writes them, so that payloads match Flux's byte for
//! byte: compact, struct fields in declaration order (the Rust types declare them in Go's
//! order), map keys sorted (the Rust types use `BTreeMap`), and strings escaped as Go does.
//!
//! Go differs from serde_json in escaping only: `json.Marshal` writes `<`, `>` and `&` as
//! `\u003c`, `\u003e` and `\u0026`, and both it and an `Encoder` with `SetEscapeHTML(false)`
//! write U+2028 and U+2029 as `\u2028` and `\u2029`. Control characters are escaped the same
//! way by both (`\n`, `\u001f`, lowercase hex).

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// How strings are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// `json.Marshal`: HTML characters escaped.
    Html,
    /// An `Encoder` with `SetEscapeHTML(false)`: HTML characters kept.
    Plain,
}

/// `json.Marshal(value)`.
pub fn marshal<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    to_vec(value, Escaping::Html)
}

/// `value` as Go writes it with the given escaping, without a trailing newline.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, escaping: Escaping) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, GoFormatter { escaping });
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// `json.NewEncoder(w)` with `SetEscapeHTML(false)` then `Encode(value)`: plain escaping and a
/// trailing newline, as go-github and Flux's Bitbucket Server provider send bodies.
pub fn encode_plain<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = to_vec(value, Escaping::Plain)?;
    out.push(b'\n');
    Ok(out)
}

/// A compact formatter (the trait's defaults) whose string fragments get Go's extra escapes.
struct GoFormatter {
    escaping: Escaping,
}

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (index, ch) in fragment.char_indices() {
            let escape = match ch {
                '<' | '>' | '&' => self.escaping == Escaping::Html,
                '\u{2028}' | '\u{2029}' => true,
                _ => false,
            };
            if escape {
                writer.write_all(&fragment.as_bytes()[start..index])?;
                write!(writer, "\\u{:04x}", u32::from(ch))?;
                start = index + ch.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marshal_escapes_html_characters_as_go_does() -> serde_json::Result<()> {
        let text = "a<b>&c\u{2028}\n\"é";
        assert_eq!(
            String::from_utf8_lossy(&marshal(text)?),
            r#""a\u003cb\u003e\u0026c\u2028\n\"é""#
        );
        Ok(())
    }

    #[test]
    fn an_encoder_without_html_escaping_keeps_html_and_ends_with_a_newline()
    -> serde_json::Result<()> {
        let text = "a<b>&c\u{2029}";
        assert_eq!(
            String::from_utf8_lossy(&encode_plain(text)?),
            "\"a<b>&c\\u2029\"\n"
        );
        Ok(())
    }

    #[test]
    fn control_characters_are_escaped_with_lowercase_hex() -> serde_json::Result<()> {
        assert_eq!(
            String::from_utf8_lossy(&marshal("\u{1f}\t")?),
            r#""\u001f\t""#
        );
        Ok(())
    }
}
