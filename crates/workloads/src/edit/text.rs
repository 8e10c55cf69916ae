//! Byte-level helpers for splicing YAML text: scalar rendering in a chosen quoting style (the
//! quoting itself is `tether_core::yaml`'s), line boundaries, and applying non-overlapping
//! replacements.

use granit_parser::ScalarStyle;
use serde_json::Value;
pub(crate) use tether_core::yaml::double_quoted;
use tether_core::yaml::{Resolved, resolve_plain_scalar, resolve_plain_yaml11, single_quoted};

/// One replacement of `start..end` by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Applies splices that do not overlap; `None` when two overlap.
pub(crate) fn apply_splices(text: &str, mut splices: Vec<Splice>) -> Option<String> {
    splices.sort_by(|a, b| b.start.cmp(&a.start).then(b.end.cmp(&a.end)));
    let mut out = text.to_string();
    let mut limit = text.len();
    for splice in splices {
        if splice.end > limit || splice.start > splice.end {
            return None;
        }
        out.replace_range(splice.start..splice.end, &splice.text);
        limit = splice.start;
    }
    Some(out)
}

/// Whether `s` can be written without quotes and still read back as this exact string, in
/// block and flow context, by YAML 1.1 and 1.2 readers alike.
pub(crate) fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let first_ok = first.is_alphanumeric() || matches!(first, '/' | '.' | '_' | '$' | '(');
    let chars_ok = s
        .chars()
        .all(|c| !c.is_control() && !matches!(c, ',' | '[' | ']' | '{' | '}' | '#' | '"'));
    first_ok
        && chars_ok
        && !s.ends_with(' ')
        && !s.ends_with(':')
        && !s.contains(": ")
        && !s.contains(" #")
        && matches!(resolve_plain_scalar(s), Value::String(_))
        && resolve_plain_yaml11(s) == Resolved::Str
}

/// `value` written in the style of the scalar it replaces: plain stays plain when that reads
/// back as the same string, single-quoted stays single-quoted, everything else is
/// double-quoted.
pub(crate) fn scalar_like(value: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::Plain if plain_safe(value) => value.to_string(),
        ScalarStyle::SingleQuoted => single_quoted(value),
        _ => double_quoted(value),
    }
}

/// A mapping key: plain when safe, else double-quoted.
pub(crate) fn key_text(key: &str) -> String {
    if plain_safe(key) {
        key.to_string()
    } else {
        double_quoted(key)
    }
}

/// The byte offset where the line holding `pos` starts.
pub(crate) fn line_start(text: &str, pos: usize) -> usize {
    text.get(..pos)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1)
}

/// The offset just after the line break ending the line that content ending at `pos` is on
/// (or `pos` itself when the content already ends with a line break). `None` when that line
/// is the last one and has no line break.
pub(crate) fn line_end_after(text: &str, pos: usize) -> Option<usize> {
    if pos > 0 && text.as_bytes().get(pos - 1) == Some(&b'\n') {
        return Some(pos);
    }
    text.get(pos..)?.find('\n').map(|i| pos + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_when_it_reads_back_as_the_same_string() {
        for ok in [
            "nginx:1.25",
            "ghcr.io/org/app@sha256:abc",
            "fluxcd.io/tag.web",
            "glob:1.*",
        ] {
            assert!(plain_safe(ok), "{ok}");
        }
        for quoted in [
            "true", "yes", "1.0", "", "~", "null", "a: b", "x #y", "-x", "*x", "a,b", "0x1f",
        ] {
            assert!(!plain_safe(quoted), "{quoted}");
        }
    }

    #[test]
    fn styles_are_kept() {
        assert_eq!(scalar_like("nginx:2", ScalarStyle::Plain), "nginx:2");
        assert_eq!(scalar_like("true", ScalarStyle::Plain), "\"true\"");
        assert_eq!(scalar_like("it's", ScalarStyle::SingleQuoted), "'it''s'");
        assert_eq!(
            scalar_like("a\"b\\c\nd", ScalarStyle::DoubleQuoted),
            "\"a\\\"b\\\\c\\nd\""
        );
    }

    #[test]
    fn splices_apply_back_to_front_and_refuse_overlaps() {
        let text = "abcdef";
        let splices = vec![
            Splice {
                start: 0,
                end: 1,
                text: "X".into(),
            },
            Splice {
                start: 4,
                end: 6,
                text: "YZW".into(),
            },
            Splice {
                start: 2,
                end: 2,
                text: "-".into(),
            },
        ];
        assert_eq!(apply_splices(text, splices).as_deref(), Some("Xb-cdYZW"));
        let overlapping = vec![
            Splice {
                start: 0,
                end: 3,
                text: String::new(),
            },
            Splice {
                start: 2,
                end: 4,
                text: String::new(),
            },
        ];
        assert_eq!(apply_splices(text, overlapping), None);
    }

    #[test]
    fn line_boundaries() {
        let text = "a: b # c\nd: e";
        assert_eq!(line_end_after(text, 4), Some(9));
        assert_eq!(line_end_after(text, 9), Some(9));
        assert_eq!(line_end_after(text, 13), None);
        assert_eq!(line_start(text, 11), 9);
    }
}
