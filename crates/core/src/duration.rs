//! Go `time.Duration` strings (`1m30s`, `500ms`, `1h`): parsing them the way Go's
//! `time.ParseDuration` does, and formatting a duration back the way Go's `Duration.String` does.
//! Flux spec fields such as `interval` and `timeout` use this format.

use std::time::Duration;

/// Go's largest duration, in nanoseconds.
const MAX_NANOS: u64 = i64::MAX as u64;
/// The bound Go checks intermediate values against (one past the largest duration).
const OVERFLOW_BOUND: u64 = 1 << 63;

/// Errors raised while parsing a duration string; messages follow Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is empty, malformed, or overflows Go's 290-year limit.
    #[error("time: invalid duration {0:?}")]
    Invalid(String),
    /// A number has no unit after it (only `0` may stand alone).
    #[error("time: missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit is not one of `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`.
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit found.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// The duration is negative, which `std::time::Duration` cannot hold.
    #[error("negative duration {0:?} is not allowed")]
    Negative(String),
}

/// Parses a Go duration string such as `1h30m`, `1.5s` or `500ms`. A leading `+` is accepted;
/// a negative duration other than `-0` is an error.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(input.to_owned());
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (nanos, remainder) = parse_component(rest, input)?;
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= OVERFLOW_BOUND)
            .ok_or_else(invalid)?;
        rest = remainder;
    }
    if total > MAX_NANOS {
        return Err(invalid());
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(input.to_owned()));
    }
    Ok(Duration::from_nanos(total))
}

/// Parses one `<number><unit>` component, returning its nanoseconds and the rest of the input.
fn parse_component<'a>(s: &'a str, input: &str) -> Result<(u64, &'a str), DurationError> {
    let invalid = || DurationError::Invalid(input.to_owned());
    if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
        return Err(invalid());
    }
    let (whole, after_whole) = leading_int(s).ok_or_else(invalid)?;
    let has_whole = after_whole.len() != s.len();
    let (fraction, scale, after_fraction, has_fraction) = match after_whole.strip_prefix('.') {
        Some(f) => {
            let (fraction, scale, rest) = leading_fraction(f);
            (fraction, scale, rest, rest.len() != f.len())
        }
        None => (0, 1.0, after_whole, false),
    };
    if !has_whole && !has_fraction {
        return Err(invalid());
    }
    let unit_len = after_fraction
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(after_fraction.len());
    if unit_len == 0 {
        return Err(DurationError::MissingUnit(input.to_owned()));
    }
    let (unit_text, rest) = after_fraction.split_at(unit_len);
    let unit = unit_nanos(unit_text).ok_or_else(|| DurationError::UnknownUnit {
        unit: unit_text.to_owned(),
        input: input.to_owned(),
    })?;
    let nanos = scale_component(whole, fraction, scale, unit).ok_or_else(invalid)?;
    Ok((nanos, rest))
}

fn scale_component(whole: u64, fraction: u64, scale: f64, unit: u64) -> Option<u64> {
    if whole > OVERFLOW_BOUND / unit {
        return None;
    }
    let mut nanos = whole * unit;
    if fraction > 0 {
        // Go adds the fraction through float64 and truncates; the cast saturates, never wraps.
        let extra = (fraction as f64 * (unit as f64 / scale)) as u64;
        nanos = nanos.checked_add(extra).filter(|n| *n <= OVERFLOW_BOUND)?;
    }
    Some(nanos)
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// Reads leading digits; `None` when the value passes Go's bound.
fn leading_int(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut value: u64 = 0;
    for digit in s[..end].bytes() {
        if value > OVERFLOW_BOUND / 10 {
            return None;
        }
        value = value * 10 + u64::from(digit - b'0');
        if value > OVERFLOW_BOUND {
            return None;
        }
    }
    Some((value, &s[end..]))
}

/// Reads leading fraction digits, ignoring those past the precision Go keeps; returns the
/// digits' value and the power of ten it is scaled by.
fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (mut value, mut scale, mut overflow) = (0u64, 1.0f64, false);
    for digit in s[..end].bytes() {
        if overflow || value > MAX_NANOS / 10 {
            overflow = true;
            continue;
        }
        let next = value * 10 + u64::from(digit - b'0');
        if next > OVERFLOW_BOUND {
            overflow = true;
            continue;
        }
        value = next;
        scale *= 10.0;
    }
    (value, scale, &s[end..])
}

/// Formats a duration as Go's `Duration.String` does: `0s`, `500ms`, `1.5µs`, `1m30s`,
/// `1h0m0s`, `72h3m0.5s`.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        return format_subsecond(nanos);
    }
    let seconds = format_with_fraction(nanos, 9);
    let total_seconds = nanos / 1_000_000_000;
    let minutes = total_seconds / 60;
    let hours = minutes / 60;
    let seconds_part = format!("{}{}s", total_seconds % 60, seconds);
    match (hours, minutes) {
        (0, 0) => seconds_part,
        (0, m) => format!("{m}m{seconds_part}"),
        (h, m) => format!("{h}h{}m{seconds_part}", m % 60),
    }
}

fn format_subsecond(nanos: u128) -> String {
    let (precision, unit) = match nanos {
        n if n < 1_000 => (0, "ns"),
        n if n < 1_000_000 => (3, "\u{b5}s"),
        _ => (6, "ms"),
    };
    let whole = nanos / 10u128.pow(precision);
    format!("{whole}{}{unit}", format_with_fraction(nanos, precision))
}

/// The `.digits` part of `value / 10^precision`, trailing zeros dropped; empty when none.
fn format_with_fraction(value: u128, precision: u32) -> String {
    let fraction = value % 10u128.pow(precision);
    if fraction == 0 {
        return String::new();
    }
    let digits = format!("{fraction:0width$}", width = precision as usize);
    format!(".{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn parses_go_durations() -> Result<(), DurationError> {
        let cases: [(&str, u64); 16] = [
            ("0", 0),
            ("-0", 0),
            ("+5s", 5_000 * MS),
            ("1m30s", 90_000 * MS),
            ("500ms", 500 * MS),
            ("1h", 3_600_000 * MS),
            ("1.5h", 5_400_000 * MS),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("10\u{b5}s", 10_000),
            ("10\u{3bc}s", 10_000),
            (".5s", 500 * MS),
            ("5.s", 5_000 * MS),
            ("3us", 3_000),
            ("0s", 0),
            ("1.000000001s", 1_000_000_001),
            ("9223372036854775807ns", MAX_NANOS),
        ];
        for (text, nanos) in cases {
            assert_eq!(parse_duration(text)?, Duration::from_nanos(nanos), "{text}");
        }
        Ok(())
    }

    #[test]
    fn rejects_what_go_rejects() {
        let invalid = |s: &str| DurationError::Invalid(s.to_owned());
        assert_eq!(parse_duration(""), Err(invalid("")));
        assert_eq!(parse_duration("-"), Err(invalid("-")));
        assert_eq!(parse_duration("s"), Err(invalid("s")));
        assert_eq!(parse_duration(".s"), Err(invalid(".s")));
        assert_eq!(
            parse_duration("9223372036854775808ns"),
            Err(invalid("9223372036854775808ns"))
        );
        assert_eq!(parse_duration("3000000h"), Err(invalid("3000000h")));
        assert_eq!(
            parse_duration("1"),
            Err(DurationError::MissingUnit("1".into()))
        );
        assert_eq!(
            parse_duration("1d"),
            Err(DurationError::UnknownUnit {
                unit: "d".into(),
                input: "1d".into()
            })
        );
        assert_eq!(
            parse_duration("-1s"),
            Err(DurationError::Negative("-1s".into()))
        );
    }

    #[test]
    fn error_messages_follow_go() {
        assert_eq!(
            parse_duration("1d").map_err(|e| e.to_string()),
            Err(r#"time: unknown unit "d" in duration "1d""#.to_owned())
        );
        assert_eq!(
            parse_duration("x").map_err(|e| e.to_string()),
            Err(r#"time: invalid duration "x""#.to_owned())
        );
    }

    #[test]
    fn formats_like_go() {
        let cases: [(u64, &str); 12] = [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1\u{b5}s"),
            (2_200_000, "2.2ms"),
            (500 * MS, "500ms"),
            (1_000 * MS, "1s"),
            (1_500 * MS, "1.5s"),
            (90_000 * MS, "1m30s"),
            (3_600_000 * MS, "1h0m0s"),
            (300_000 * MS, "5m0s"),
            (259_380_500 * MS, "72h3m0.5s"),
            (MAX_NANOS, "2562047h47m16.854775807s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(format_duration(Duration::from_nanos(nanos)), text);
        }
    }

    #[test]
    fn round_trips() -> Result<(), DurationError> {
        for text in [
            "1h0m0s",
            "1m30s",
            "500ms",
            "2.5s",
            "10m0s",
            "1.5\u{b5}s",
            "7ns",
        ] {
            assert_eq!(format_duration(parse_duration(text)?), text);
        }
        Ok(())
    }
}
