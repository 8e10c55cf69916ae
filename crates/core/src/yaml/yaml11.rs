//! How go-yaml v2 (YAML 1.1) types an untagged plain scalar: `yes`/`on`/`y` are booleans,
//! `0777` is octal, `1_000` is an integer, `~` is null, and timestamps stay strings. Flux reads
//! the substituted text back with these rules (`sigs.k8s.io/yaml.YAMLToJSON`), so
//! `replicas: ${N}` becomes a number; a float with an integral value becomes a JSON integer, as
//! Flux's JSON round trip prints it, and NaN or infinities are refused (JSON has none).

use granit_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// Types a scalar as go-yaml v2 decodes it into an untyped value: quoted and block scalars are
/// strings and plain ones resolve; an explicit core tag (`!!int`, `!!bool`...) must match what
/// the text resolves to (`!!float` also takes an integer) or the document is refused with
/// go-yaml's "cannot decode !!str `x` as a !!int"; `!!str` forces a string, `!!binary` is
/// base64-decoded, and other tags leave the text a string.
pub(super) fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let wanted = match tag {
        Some(tag) if tag.handle() == CORE_TAG_PREFIX => tag.suffix(),
        Some(_) => return Ok(Value::String(text.to_owned())),
        None if style == ScalarStyle::Plain => "",
        None => return Ok(Value::String(text.to_owned())),
    };
    match wanted {
        "" | "bool" | "null" | "int" | "float" | "timestamp" => {}
        "binary" => return binary(text),
        _ => return Ok(Value::String(text.to_owned())),
    }
    // go-yaml tries a timestamp only when the text is untagged or tagged `!!timestamp`.
    let resolved = resolve(text, matches!(wanted, "" | "timestamp"));
    let found = match resolved {
        Resolved::Null => "null",
        Resolved::Bool(_) => "bool",
        Resolved::Int(_) | Resolved::Uint(_) => "int",
        Resolved::Float(_) => "float",
        Resolved::Timestamp => "timestamp",
        Resolved::Str => "str",
    };
    if !(wanted.is_empty() || wanted == found || (wanted == "float" && found == "int")) {
        return Err(format!(
            "{DECODE_ERROR_PREFIX}!!{found} `{text}` as a !!{wanted}"
        ));
    }
    Ok(match resolved {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::from(i),
        Resolved::Uint(u) => Value::from(u),
        Resolved::Float(f) => float(f)?,
        Resolved::Timestamp | Resolved::Str => Value::String(text.to_owned()),
    })
}

/// How go-yaml v2 starts the message of a tagged scalar whose text is of another type.
pub const DECODE_ERROR_PREFIX: &str = "cannot decode ";

/// go-yaml v2's message for a `!!binary` scalar that is not base64.
pub const BINARY_ERROR: &str = "!!binary value contains invalid base64 data";

/// A `!!binary` scalar: standard base64 decoded to the string of its bytes.
fn binary(text: &str) -> Result<Value, String> {
    let compact: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    let bytes = decode_base64(&compact).ok_or_else(|| BINARY_ERROR.to_owned())?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Standard padded base64 as Go's `base64.StdEncoding` reads it, line breaks skipped (the
/// only base64 this crate reads; a dependency for it would be heavier than these lines).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let sextet = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | sextet(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

/// Largest integer a float holds exactly.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

/// A float as JSON holds it; NaN and infinities are refused with `encoding/json`'s message,
/// which prints them as Go's `%v` does.
fn float(f: f64) -> Result<Value, String> {
    if f.fract() == 0.0 && f.abs() <= MAX_EXACT_FLOAT {
        // Exact: integral and within the float's exact-integer range.
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number).ok_or_else(|| {
        let go = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        format!("json: unsupported value: {go}")
    })
}

/// The type a plain scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// Looks like a timestamp: go-yaml keeps it a string when decoding into `interface{}`, but
    /// quotes such strings when encoding.
    Timestamp,
    Str,
}

/// Resolves a plain scalar as go-yaml v2's `resolve("", s)` does.
pub fn resolve_plain(s: &str) -> Resolved {
    resolve(s, true)
}

/// go-yaml v2's resolution of `s`, trying a timestamp only when `timestamps` is set.
fn resolve(s: &str, timestamps: bool) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    if let Some(known) = keyword(s) {
        return known;
    }
    match first {
        b'.' => dot_float(s).map_or(Resolved::Str, Resolved::Float),
        b'+' | b'-' | b'0'..=b'9' => number(s, timestamps),
        _ => Resolved::Str,
    }
}

/// Whether a YAML 1.1 reader decoding into an untyped value (go-yaml v2, as kyaml's
/// `IsValueNonString` asks it) gets something other than a string from the plain scalar `s`:
/// null, a bool, an int or a float. Timestamps decode as strings there; empty and multi-line
/// values count as strings.
pub fn reads_as_non_string(s: &str) -> bool {
    !s.is_empty()
        && !s.contains('\n')
        && !matches!(resolve_plain(s), Resolved::Str | Resolved::Timestamp)
}

fn keyword(s: &str) -> Option<Resolved> {
    let resolved = match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Resolved::Bool(false)
        }
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    };
    Some(resolved)
}

/// Scalars starting with a sign or digit: timestamp, then integer (Go base-0 syntax, underscores
/// dropped), then unsigned, then decimal float.
fn number(s: &str, timestamps: bool) -> Resolved {
    if timestamps && is_timestamp(s) {
        return Resolved::Timestamp;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = parse_go_int(&plain) {
        return Resolved::Int(i);
    }
    if let Some(u) = parse_go_uint(&plain) {
        return Resolved::Uint(u);
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && f.is_finite()
    {
        return Resolved::Float(f);
    }
    Resolved::Str
}

/// `.5`, `.5e3`: Go's `ParseFloat` on the raw text, which tolerates underscores between digits.
fn dot_float(s: &str) -> Option<f64> {
    if s.contains("__") || s.ends_with('_') || s.contains("._") || s.contains("_e") {
        return None;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if !is_yaml_float(&plain) {
        return None;
    }
    plain.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Go's `strconv.ParseInt(s, 0, 64)` (underscores already removed).
fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = i128::from(parse_go_uint(digits)?);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Go's `strconv.ParseUint(s, 0, 64)`: `0x`, `0o`, `0b` prefixes and a leading `0` for octal.
fn parse_go_uint(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let bytes = s.as_bytes();
    let (radix, digits) = if bytes[0] == b'0' {
        match bytes.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if s.len() >= 3 => (2, &s[2..]),
            Some(b'o') if s.len() >= 3 => (8, &s[2..]),
            Some(b'x') if s.len() >= 3 => (16, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    if digits.is_empty() {
        return (radix == 8).then_some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml's timestamp shapes: `2006-1-2`, `2006-1-2 15:4:5[.frac]`, and
/// `2006-1-2T15:4:5[.frac](Z|±hh:mm)` with `T` or `t`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut rest = &s[5..];
    let date_ok = take_number(&mut rest, 1, 12) && take(&mut rest, '-');
    if !date_ok || !take_number(&mut rest, 1, 31) || !super::scalar::day_fits_month(s) {
        return false;
    }
    let zoned = match rest.chars().next() {
        None => return true,
        Some('T' | 't') => true,
        Some(' ') => false,
        Some(_) => return false,
    };
    rest = &rest[1..];
    let time_ok = take_number(&mut rest, 0, 23)
        && take(&mut rest, ':')
        && take_number(&mut rest, 0, 59)
        && take(&mut rest, ':')
        && take_number(&mut rest, 0, 59);
    if !time_ok {
        return false;
    }
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        rest = &fraction[len..];
    }
    if !zoned {
        return rest.is_empty();
    }
    if rest == "Z" {
        return true;
    }
    let Some(offset) = rest.strip_prefix(['+', '-']) else {
        return false;
    };
    let mut offset = offset;
    take_two_digits(&mut offset)
        && take(&mut offset, ':')
        && take_two_digits(&mut offset)
        && offset.is_empty()
}

fn take(rest: &mut &str, c: char) -> bool {
    match rest.strip_prefix(c) {
        Some(r) => {
            *rest = r;
            true
        }
        None => false,
    }
}

/// Takes one or two digits in `min..=max`.
fn take_number(rest: &mut &str, min: u32, max: u32) -> bool {
    let len = rest.bytes().take(2).take_while(u8::is_ascii_digit).count();
    let Ok(n) = rest[..len].parse::<u32>() else {
        return false;
    };
    *rest = &rest[len..];
    (min..=max).contains(&n)
}

fn take_two_digits(rest: &mut &str) -> bool {
    let ok = rest.len() >= 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_digit);
    if ok {
        *rest = &rest[2..];
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_yaml11_reader_takes_for_a_non_string() {
        for v in [
            "1.0", "10", "0x1F", "1e3", "+.inf", "yes", "off", "~", "007", "1_000", ".5",
        ] {
            assert!(reads_as_non_string(v), "{v}");
        }
        let strings = [
            "v1.0",
            "5.0.0",
            "1.2.3-rc1",
            "latest",
            "sha256:abc",
            "1e",
            "0x",
        ];
        for v in strings
            .into_iter()
            .chain(["ghcr.io/a:1", "2001-12-14", "", "1\n2"])
        {
            assert!(!reads_as_non_string(v), "{v}");
        }
    }

    #[test]
    fn table() {
        let cases = [
            ("", Resolved::Null),
            ("~", Resolved::Null),
            ("yes", Resolved::Bool(true)),
            ("Off", Resolved::Bool(false)),
            ("nope", Resolved::Str),
            ("3", Resolved::Int(3)),
            ("-3", Resolved::Int(-3)),
            ("+3", Resolved::Int(3)),
            ("0777", Resolved::Int(511)),
            ("0o17", Resolved::Int(15)),
            ("0x1F", Resolved::Int(31)),
            ("0b101", Resolved::Int(5)),
            ("1_000", Resolved::Int(1000)),
            ("08", Resolved::Float(8.0)),
            ("18446744073709551615", Resolved::Uint(u64::MAX)),
            ("1.5", Resolved::Float(1.5)),
            ("1.", Resolved::Float(1.0)),
            (".5", Resolved::Float(0.5)),
            ("1e3", Resolved::Float(1000.0)),
            ("1e400", Resolved::Str),
            ("1.2.3", Resolved::Str),
            ("2024-01-02", Resolved::Timestamp),
            ("2024-1-2T3:04:05Z", Resolved::Timestamp),
            ("2024-01-02 10:00:00.5", Resolved::Timestamp),
            ("2024-13-02", Resolved::Str),
            ("2024-02-30", Resolved::Str),
            ("2024-02-29", Resolved::Timestamp),
            ("2023-02-29T10:00:00Z", Resolved::Str),
            ("1:20", Resolved::Str),
            ("-", Resolved::Str),
            ("v1", Resolved::Str),
        ];
        for (s, want) in cases {
            assert_eq!(resolve_plain(s), want, "{s:?}");
        }
    }
}
