//! Scalar resolution rules of the Go YAML libraries kustomize runs input and output through.
//!
//! Input is read by go-yaml v3, which resolves plain scalars with a YAML 1.2 core schema plus
//! Go-isms (`0644` is octal, `0x1F` hex, `1_000` an integer; `yes` stays a string). Output goes
//! through go-yaml v2, which quotes any string that YAML 1.1 would read as something else (`yes`,
//! `on`, `1.5`, dates). Numbers travel through Go's `encoding/json` between the two.

use serde_json::{Number, Value};

/// Resolves a plain (unquoted, untagged) scalar the way go-yaml v3 decodes it into `interface{}`.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let Some(first) = s.bytes().next() else {
        return Value::Null;
    };
    match first {
        b'.' => parse_dot_float(s).unwrap_or_else(|| Value::String(s.to_string())),
        b'0'..=b'9' | b'+' | b'-' => {
            resolve_numeric(s).unwrap_or_else(|| Value::String(s.to_string()))
        }
        _ => Value::String(s.to_string()),
    }
}

fn parse_dot_float(s: &str) -> Option<Value> {
    if matches!(s, ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF") {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

fn resolve_numeric(s: &str) -> Option<Value> {
    if is_timestamp(s) {
        return Some(Value::String(timestamp_rfc3339(s)));
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Some(Value::Number(i.into()));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(Value::Number(u.into()));
    }
    if is_yaml_style_float(&plain) {
        let f: f64 = plain.parse().ok()?;
        return Number::from_f64(f).map(Value::Number);
    }
    None
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, then `0x`, `0o`, `0b`, a leading `0` for
/// octal, or decimal.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(body)?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn go_parse_uint(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (digits, radix) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest, 16)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (rest, 8)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml's timestamp check: `YYYY-M-D`, optionally followed by a time, as `time.Parse` accepts
/// with the layouts go-yaml tries.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let Some(month) = take_number(b, &mut i, 2) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = take_number(b, &mut i, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !day_fits_month(s) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return false;
    }
    i += 1;
    time_of_day_matches(b, i, sep != b' ')
}

/// Whether the day of a `YYYY-M-D...` date exists in its month (`time.Parse` refuses
/// `2024-02-30` with "day out of range", so go-yaml keeps it a plain string).
pub(crate) fn day_fits_month(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    let (Some(y), Some(m), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let d: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let (Ok(year), Ok(month), Ok(day)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>())
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

fn take_number(b: &[u8], i: &mut usize, max_digits: usize) -> Option<u32> {
    let start = *i;
    while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max_digits {
        *i += 1;
    }
    if *i == start {
        return None;
    }
    std::str::from_utf8(&b[start..*i]).ok()?.parse().ok()
}

fn time_of_day_matches(b: &[u8], mut i: usize, zone_required: bool) -> bool {
    let (Some(h), true) = (take_number(b, &mut i, 2), b.get(i) == Some(&b':')) else {
        return false;
    };
    i += 1;
    let (Some(m), true) = (take_number(b, &mut i, 2), b.get(i) == Some(&b':')) else {
        return false;
    };
    i += 1;
    let Some(sec) = take_number(b, &mut i, 2) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if !zone_required {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let rest = &b[i + 1..];
            rest.len() == 5
                && rest[2] == b':'
                && rest
                    .iter()
                    .enumerate()
                    .all(|(k, c)| k == 2 || c.is_ascii_digit())
        }
        _ => false,
    }
}

/// go-yaml v3 decodes an unquoted timestamp into a `time.Time`, which JSON then renders in
/// RFC 3339 with nanoseconds trimmed; `is_timestamp(s)` must hold.
fn timestamp_rfc3339(s: &str) -> String {
    let (date, rest) = s.split_at(s.find(['T', 't', ' ']).unwrap_or(s.len()));
    let mut d = date.split('-');
    let (y, m, dd) = (
        d.next().unwrap_or("0"),
        d.next().unwrap_or("1"),
        d.next().unwrap_or("1"),
    );
    let pad = |x: &str| format!("{:0>2}", x);
    let date = format!("{y}-{}-{}", pad(m), pad(dd));
    if rest.is_empty() {
        return format!("{date}T00:00:00Z");
    }
    let time = &rest[1..];
    let zone_at = time.find(['Z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let hms: Vec<String> = hms.split(':').map(pad).collect();
    let frac = frac.trim_end_matches('0');
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    let zone = if zone.is_empty() || zone == "Z" || zone == "+00:00" {
        "Z"
    } else {
        zone
    };
    format!("{date}T{}{frac}{zone}", hms.join(":"))
}

/// Whether go-yaml v2 would read `s`, written plain, back as the same string.
pub fn plain_reads_as_string(s: &str) -> bool {
    const NON_STRINGS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    if NON_STRINGS.contains(&s) {
        return false;
    }
    match s.as_bytes().first() {
        Some(b'.') => s.parse::<f64>().is_err() || s == ".",
        Some(b'0'..=b'9' | b'+' | b'-') => resolve_v2_numeric_is_string(s),
        _ => true,
    }
}

fn resolve_v2_numeric_is_string(s: &str) -> bool {
    if is_timestamp(s) {
        return false;
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if go_parse_int(&plain).is_some() || go_parse_uint(&plain).is_some() {
        return false;
    }
    if is_yaml_style_float(&plain) && plain.parse::<f64>().is_ok() {
        return false;
    }
    let bin = plain
        .strip_prefix("0b")
        .or_else(|| plain.strip_prefix("-0b"));
    !bin.is_some_and(|d| !d.is_empty() && d.chars().all(|c| c == '0' || c == '1'))
}

/// go-yaml v2 also quotes YAML 1.1 sexagesimal numbers such as `1:20`.
pub fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&c) = b.first() else {
        return false;
    };
    if !(c == b'+' || c == b'-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    base60_regex().is_match(s)
}

fn base60_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
            .expect("constant regex compiles")
    })
}

/// Formats a number as it comes out of Go's `encoding/json` and then go-yaml v2: integers as
/// integers, integral floats as integers too, other floats in Go's shortest `%g` form.
pub fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let json = go_json_float(f);
    let plain: String = json.chars().filter(|c| *c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return i.to_string();
    }
    if let Some(u) = go_parse_uint(&plain) {
        return u.to_string();
    }
    go_format_g(f)
}

/// Go `encoding/json` float formatting: `%f` shortest, or `%e` outside [1e-6, 1e21).
pub fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (mantissa, exp) = shortest_digits(f);
        let mut s = mantissa;
        s.push('e');
        s.push_str(&format!("{}{}", if exp < 0 { '-' } else { '+' }, exp.abs()));
        s
    } else {
        format!("{f}")
    }
}

/// Shortest round-trip digits of `f` as `d.ddd` and the decimal exponent.
fn shortest_digits(f: f64) -> (String, i32) {
    let text = format!("{f:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    (mantissa.to_string(), exp.parse().unwrap_or(0))
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)`: exponent form below 1e-4 and from 1e6 on.
fn go_format_g(f: f64) -> String {
    let (mantissa, exp) = shortest_digits(f);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// Go's shortest `%g` (`strconv.FormatFloat(f, 'g', -1, 64)`), with YAML's `.nan`/`.inf`.
pub fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    go_format_g(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_resolution() {
        assert_eq!(resolve_plain("0644"), Value::from(420));
        assert_eq!(resolve_plain("yes"), Value::from("yes"));
        assert_eq!(resolve_plain("0x1F"), Value::from(31));
        assert_eq!(resolve_plain("1_000"), Value::from(1000));
        assert_eq!(
            resolve_plain("2001-12-14"),
            Value::from("2001-12-14T00:00:00Z")
        );
        assert_eq!(resolve_plain("1.5"), Value::from(1.5));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("08"), Value::from(8.0));
    }

    #[test]
    fn v2_quoting() {
        assert!(!plain_reads_as_string("on"));
        assert!(!plain_reads_as_string("1e3"));
        assert!(!plain_reads_as_string("2020-01-01"));
        assert!(plain_reads_as_string("1.2.3"));
        assert!(plain_reads_as_string("v1"));
        assert!(is_base60_float("1:20"));
    }

    #[test]
    fn numbers_print_like_go() {
        assert_eq!(
            format_number(&Number::from_f64(1.0).unwrap_or(0.into())),
            "1"
        );
        assert_eq!(
            format_number(&Number::from_f64(0.5).unwrap_or(0.into())),
            "0.5"
        );
        assert_eq!(
            format_number(&Number::from_f64(1234567.5).unwrap_or(0.into())),
            "1.2345675e+06"
        );
        assert_eq!(
            format_number(&Number::from_f64(1e21).unwrap_or(0.into())),
            "1e+21"
        );
        assert_eq!(
            format_number(&Number::from_f64(0.00001).unwrap_or(0.into())),
            "1e-05"
        );
    }
}
