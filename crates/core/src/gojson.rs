//! Strings as Go's `encoding/json` writes them (Go 1.22 and later), for the engines whose JSON
//! must equal a Go tool's byte for byte: Helm's `toJson` and release records, kustomize's
//! generator hashes, sops' JSON output. Go escapes what serde_json leaves alone: `<`, `>` and
//! `&` (unless HTML escaping is off, as with `json.Encoder.SetEscapeHTML(false)`), and U+2028 and
//! U+2029 always; other control characters get `\b`, `\f`, `\n`, `\r`, `\t` or a lower-case
//! `\u00XX`.

use std::fmt::Write;

/// Appends `s` to `out` as a quoted Go JSON string; `escape_html` as `json.Marshal` does.
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => unicode_escape(out, c),
            '\u{2028}' | '\u{2029}' => unicode_escape(out, c),
            c if (c as u32) < 0x20 => unicode_escape(out, c),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn unicode_escape(out: &mut String, c: char) {
    // Writing to a String cannot fail.
    let _ = write!(out, "\\u{:04x}", c as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str, html: bool) -> String {
        let mut out = String::new();
        write_string(&mut out, s, html);
        out
    }

    #[test]
    fn escapes_as_go_1_22_and_later() {
        assert_eq!(
            quoted("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}", true),
            r#""a\"b\\c\n\r\t\b\f\u0001\u001f""#
        );
        assert_eq!(quoted("<a&b>", true), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(quoted("<a&b>", false), r#""<a&b>""#);
        assert_eq!(quoted("\u{2028}\u{2029}", false), r#""\u2028\u2029""#);
        assert_eq!(quoted("é✓\u{7f}", true), "\"é✓\u{7f}\"");
    }
}
