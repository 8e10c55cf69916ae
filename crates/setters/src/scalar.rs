//! Rendering a new value for a marked scalar in the style it was written in, with kyaml's rule
//! for plain scalars: a value that a YAML 1.1 reader would take as a non-string (`1.0`, `10`,
//! `yes`, `~`, ...) is double-quoted (`yaml.FormatNonStringStyle` with a `string` schema), so the
//! Kubernetes API server still reads a string. Quoting and YAML 1.1 resolution are
//! `tether_core::yaml`'s; the plain-scalar policy is kyaml's and lives here.

use granit_parser::ScalarStyle;
use tether_core::yaml::{double_quoted, reads_as_non_string_yaml11, single_quoted};

/// The source text for `value` replacing a scalar written in `style`.
pub fn render(value: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::SingleQuoted => single_quoted(value),
        ScalarStyle::DoubleQuoted => double_quoted(value),
        _ if needs_quotes(value) => double_quoted(value),
        _ => value.to_owned(),
    }
}

/// Whether `value` cannot stand as a plain scalar that reads back as the same string.
fn needs_quotes(value: &str) -> bool {
    value.is_empty() || reads_as_non_string_yaml11(value) || !is_safe_plain(value)
}

/// Plain-scalar safety, conservatively: no leading indicator, no leading/trailing space, no
/// `: ` or ` #` inside, no line break, no flow indicators (the value may sit in a flow collection).
fn is_safe_plain(value: &str) -> bool {
    let first = value.chars().next().unwrap_or(' ');
    let bad_start = "-?:,[]{}#&*!|>'\"%@` \t".contains(first);
    // `-`, `?` and `:` may start a plain scalar when followed by a non-space.
    let indicator_ok = matches!(first, '-' | '?' | ':')
        && value.chars().nth(1).is_some_and(|c| !c.is_whitespace());
    (!bad_start || indicator_ok)
        && !value.ends_with([' ', '\t', ':'])
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.contains(['\n', '\r', ',', '[', ']', '{', '}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_the_original_style() {
        assert_eq!(render("a:5.0.1", ScalarStyle::Plain), "a:5.0.1");
        assert_eq!(render("it's", ScalarStyle::SingleQuoted), "'it''s'");
        assert_eq!(render("a\"b", ScalarStyle::DoubleQuoted), "\"a\\\"b\"");
        assert_eq!(render("1.10", ScalarStyle::Plain), "\"1.10\"");
        assert_eq!(render("1.10", ScalarStyle::SingleQuoted), "'1.10'");
        assert_eq!(render("", ScalarStyle::Plain), "\"\"");
        assert_eq!(render("a #b", ScalarStyle::Plain), "\"a #b\"");
        assert_eq!(render("-x", ScalarStyle::Plain), "-x");
        assert_eq!(render("- x", ScalarStyle::Plain), "\"- x\"");
    }
}
