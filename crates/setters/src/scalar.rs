//! Rendering a new value for a marked scalar in the style it was written in, with kyaml's rule
//! for plain scalars: a value that a YAML 1.1 reader would take as a non-string (`1.0`, `10`,
//! `yes`, `~`, ...) is double-quoted (`yaml.FormatNonStringStyle` with a `string` schema), so the
//! Kubernetes API server still reads a string.

use granit_parser::ScalarStyle;

/// The source text for `value` replacing a scalar written in `style`.
pub fn render(value: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::SingleQuoted => format!("'{}'", value.replace('\'', "''")),
        ScalarStyle::DoubleQuoted => double_quoted(value),
        _ if needs_quotes(value) => double_quoted(value),
        _ => value.to_owned(),
    }
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `value` cannot stand as a plain scalar that reads back as the same string.
fn needs_quotes(value: &str) -> bool {
    value.is_empty() || is_yaml11_non_string(value) || !is_safe_plain(value)
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

/// Whether a YAML 1.1 reader (go-yaml v2, which kyaml's `IsValueNonString` uses) resolves the
/// plain scalar to something other than a string: null, bool, int or float.
pub fn is_yaml11_non_string(value: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN",
    ];
    if value.is_empty() || value.contains('\n') {
        return false;
    }
    KEYWORDS.contains(&value) || is_yaml11_int(value) || is_yaml11_float(value)
}

/// go-yaml v2 removes `_` and asks `strconv.ParseInt(s, 0, 64)`: decimal, `0x`, `0o`, `0b`,
/// leading-zero octal, with an optional sign (out-of-range values still fall to float below).
fn is_yaml11_int(value: &str) -> bool {
    let plain = value.replace('_', "");
    let digits = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
    let radix_digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        return radix_digits(hex, 16);
    }
    if let Some(bin) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        return radix_digits(bin, 2);
    }
    if let Some(oct) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        return radix_digits(oct, 8);
    }
    radix_digits(digits, 10)
}

/// go-yaml v2's float pattern `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml11_float(value: &str) -> bool {
    let s = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && all_digits(frac),
        Some((int, frac)) => !int.is_empty() && all_digits(int) && all_digits(frac),
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_non_strings() {
        for v in [
            "1.0", "10", "0x1F", "1e3", "+.inf", "yes", "off", "~", "007", "1_000", ".5",
        ] {
            assert!(is_yaml11_non_string(v), "{v}");
        }
        for v in [
            "v1.0",
            "5.0.0",
            "1.2.3-rc1",
            "latest",
            "sha256:abc",
            "1e",
            "0x",
            "ghcr.io/a:1",
        ] {
            assert!(!is_yaml11_non_string(v), "{v}");
        }
    }

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
