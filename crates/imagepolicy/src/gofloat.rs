//! Numbers as Go's `strconv.ParseFloat(s, 64)` reads them, which is what Flux's numerical
//! policy applies to each tag: decimal and hexadecimal (`0x1p-2`) floats, `_` digit separators,
//! `inf`/`infinity`/`nan` in any case, and an error (here `None`) for overflow.
//!
//! Rust's `f64::from_str` differs (no `_`, no hex floats, `+nan` accepted, overflow gives
//! infinity), so the syntax is checked here and the correctly rounded decimal conversion is
//! left to `from_str`.

/// The value Go's `strconv.ParseFloat(text, 64)` returns, or `None` where it returns an error.
pub fn parse_go_float(text: &str) -> Option<f64> {
    if let Some((value, consumed)) = special(text) {
        return (consumed == text.len()).then_some(value);
    }
    let bytes = text.as_bytes();
    let (negative, body) = match bytes.first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    if text.contains('_') && !underscores_ok(text) {
        return None;
    }
    let body_bytes = body.as_bytes();
    let magnitude = if body_bytes.len() > 2 && body_bytes[0] == b'0' && lower(body_bytes[1]) == b'x'
    {
        parse_hex(&body[2..])?
    } else {
        parse_decimal(body)?
    };
    if magnitude.is_infinite() {
        return None;
    }
    Some(if negative { -magnitude } else { magnitude })
}

/// `inf`, `infinity` (optionally signed) and `nan`, case-insensitively, as a prefix; returns the
/// value and how many bytes it spans.
fn special(text: &str) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let (sign, rest, sign_len) = match bytes.first()? {
        b'+' => (1.0, &bytes[1..], 1),
        b'-' => (-1.0, &bytes[1..], 1),
        _ => (1.0, bytes, 0),
    };
    match rest.first() {
        Some(b'i' | b'I') => {}
        _ if sign_len == 1 => return None,
        Some(b'n' | b'N') => {
            return (common_prefix_ignore_case(rest, b"nan") == 3).then_some((f64::NAN, 3));
        }
        _ => return None,
    }
    match common_prefix_ignore_case(rest, b"infinity") {
        8 => Some((sign * f64::INFINITY, sign_len + 8)),
        3..=7 => Some((sign * f64::INFINITY, sign_len + 3)),
        _ => None,
    }
}

fn common_prefix_ignore_case(text: &[u8], word: &[u8]) -> usize {
    text.iter()
        .zip(word)
        .take_while(|(a, b)| lower(**a) == **b)
        .count()
}

fn lower(byte: u8) -> u8 {
    byte | (b'x' - b'X')
}

/// Go's rule: an underscore may only sit between digits, or between a base prefix and a digit.
fn underscores_ok(text: &str) -> bool {
    let mut bytes = text.as_bytes();
    if let Some(b'+' | b'-') = bytes.first() {
        bytes = &bytes[1..];
    }
    let mut last = b'^';
    let mut hex = false;
    let mut start = 0;
    if bytes.len() >= 2 && bytes[0] == b'0' && matches!(lower(bytes[1]), b'b' | b'o' | b'x') {
        start = 2;
        last = b'0';
        hex = lower(bytes[1]) == b'x';
    }
    for &byte in &bytes[start..] {
        if byte.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lower(byte))) {
            last = b'0';
        } else if byte == b'_' {
            if last != b'0' {
                return false;
            }
            last = b'_';
        } else if last == b'_' {
            return false;
        } else {
            last = b'!';
        }
    }
    last != b'_'
}

/// `digits[.digits][e[+-]digits]` with at least one mantissa digit; underscores are ignored
/// (their placement was checked already).
fn parse_decimal(body: &str) -> Option<f64> {
    let cleaned: String = body.chars().filter(|&c| c != '_').collect();
    let (mantissa, exponent) = match cleaned.find(['e', 'E']) {
        Some(at) => (&cleaned[..at], Some(&cleaned[at + 1..])),
        None => (cleaned.as_str(), None),
    };
    let mut dots = 0;
    let mut digits = 0;
    for byte in mantissa.bytes() {
        match byte {
            b'.' => dots += 1,
            b'0'..=b'9' => digits += 1,
            _ => return None,
        }
    }
    if dots > 1 || digits == 0 {
        return None;
    }
    if let Some(exponent) = exponent {
        let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    cleaned.parse::<f64>().ok()
}

/// `hexdigits[.hexdigits]p[+-]digits` (the `0x` already removed); the binary exponent is
/// mandatory, as in Go.
fn parse_hex(body: &str) -> Option<f64> {
    let (mantissa_text, exponent_text) = body.split_once(['p', 'P'])?;
    let mut mantissa: u64 = 0;
    let mut kept_digits: i64 = 0;
    let mut point_at: Option<i64> = None;
    let mut significant: i64 = 0;
    let mut truncated = false;
    let mut saw_digit = false;
    for byte in mantissa_text.bytes() {
        let digit = match byte {
            b'_' => continue,
            b'.' if point_at.is_none() => {
                point_at = Some(significant);
                continue;
            }
            _ => char::from(byte).to_digit(16)?,
        };
        saw_digit = true;
        if digit == 0 && significant == 0 {
            // Leading zeros move the point instead of counting as digits.
            if let Some(at) = point_at.as_mut() {
                *at -= 1;
            }
            continue;
        }
        significant += 1;
        if kept_digits < 16 {
            mantissa = mantissa * 16 + u64::from(digit);
            kept_digits += 1;
        } else if digit != 0 {
            truncated = true;
        }
    }
    if !saw_digit {
        return None;
    }
    let unsigned = exponent_text
        .strip_prefix(['+', '-'])
        .unwrap_or(exponent_text);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    let magnitude: i64 = unsigned
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0_i64, |acc, b| {
            (acc * 10 + i64::from(b - b'0')).min(100_000)
        });
    let binary_exponent = if exponent_text.starts_with('-') {
        -magnitude
    } else {
        magnitude
    };
    if truncated {
        // A sticky bit below the 53 bits that survive rounding keeps round-to-nearest correct.
        mantissa |= 1;
    }
    let point = point_at.unwrap_or(significant);
    let exponent = (point - kept_digits) * 4 + binary_exponent;
    Some(scale_by_power_of_two(mantissa as f64, exponent))
}

/// `value * 2^exponent`, in steps that neither overflow nor underflow the scale factor.
fn scale_by_power_of_two(mut value: f64, mut exponent: i64) -> f64 {
    while exponent > 0 && value.is_finite() && value != 0.0 {
        let step = exponent.min(1000);
        value *= 2f64.powi(step as i32);
        exponent -= step;
    }
    while exponent < 0 && value != 0.0 {
        let step = exponent.max(-1000);
        value *= 2f64.powi(step as i32);
        exponent -= step;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::parse_go_float;

    #[test]
    fn accepts_what_go_accepts() {
        for (text, expected) in [
            ("0", 0.0),
            ("1", 1.0),
            ("-62", -62.0),
            ("+3", 3.0),
            ("1.5", 1.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1E-2", 0.01),
            ("1_000", 1000.0),
            ("1_0.2_5", 10.25),
            ("0x1p-2", 0.25),
            ("0X1.8P1", 3.0),
            ("0x_1p0", 1.0),
            ("1606364286", 1_606_364_286.0),
            ("47.40896403322944", 47.408_964_033_229_44),
            ("1e-400", 0.0),
        ] {
            assert_eq!(parse_go_float(text), Some(expected), "{text}");
        }
        assert_eq!(parse_go_float("inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_go_float("NaN").is_some_and(f64::is_nan));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for text in [
            "",
            "+",
            "-",
            ".",
            "1a",
            "b",
            "1.2.3",
            "1e",
            "1e+",
            "e5",
            ".e5",
            "1__0",
            "_1",
            "1_",
            "1_.5",
            "0x1",
            "0x",
            "0xp1",
            "0x1p",
            "+nan",
            "nan1",
            "infin",
            "infx",
            "1e400",
            "0x1p2000",
            "latest",
            "v1",
            "master-abc",
            "1 ",
            " 1",
        ] {
            assert_eq!(parse_go_float(text), None, "{text:?}");
        }
    }
}
