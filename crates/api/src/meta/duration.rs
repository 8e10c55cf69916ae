//! Flux durations (`metav1.Duration` on the wire): a Go duration string such as `30s`, `1m30s`,
//! `1.5h`, kept verbatim so that objects round-trip byte for byte, with conversion to and from
//! [`std::time::Duration`].

use std::{borrow::Cow, fmt, str::FromStr, time::Duration as StdDuration};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The pattern Flux puts on intervals and timeouts: decimal numbers with `ms`, `s`, `m` or `h`.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// The pattern Flux puts on Git operation timeouts: like [`DURATION_PATTERN`] but without hours.
pub const DURATION_NO_HOURS_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";

/// The largest duration Go can hold (`math.MaxInt64` nanoseconds).
const MAX_NANOS: u128 = i64::MAX as u128;

/// A Go duration string as written in a manifest.
///
/// Deserialization accepts any string (the API server already checked the pattern); call
/// [`Duration::to_std`] to interpret it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration(String);

/// Why a string is not a Go duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is empty.
    #[error("invalid duration \"\": empty")]
    Empty,
    /// A number is missing, or is not followed by a known unit.
    #[error("invalid duration {0:?}: expected <number><unit>, with units ns, us, ms, s, m, h")]
    Malformed(String),
    /// The string names a negative duration, which no timer can wait for.
    #[error("invalid duration {0:?}: negative durations are not allowed")]
    Negative(String),
    /// The value is larger than Go's largest duration (about 292 years).
    #[error("invalid duration {0:?}: out of range")]
    Overflow(String),
}

impl Duration {
    /// Checks that `value` parses as a Go duration and keeps it verbatim.
    pub fn new(value: impl Into<String>) -> Result<Self, DurationError> {
        let value = value.into();
        parse_go_duration(&value)?;
        Ok(Self(value))
    }

    /// The duration exactly as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Interprets the string with Go's `time.ParseDuration` rules.
    pub fn to_std(&self) -> Result<StdDuration, DurationError> {
        parse_go_duration(&self.0)
    }

    /// Formats `duration` the way Go's `time.Duration.String` does (`1m30s`, `1.5s`, `250ms`).
    pub fn from_std(duration: StdDuration) -> Self {
        Self(format_go_duration(duration))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl From<StdDuration> for Duration {
    fn from(duration: StdDuration) -> Self {
        Self::from_std(duration)
    }
}

impl JsonSchema for Duration {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Duration").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string" })
    }
}

/// Nanoseconds per unit, longest unit names first so `ms` is not read as `m`.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

fn parse_go_duration(input: &str) -> Result<StdDuration, DurationError> {
    let malformed = || DurationError::Malformed(input.to_owned());
    let rest = match input.as_bytes().first() {
        None => return Err(DurationError::Empty),
        Some(b'-') => return Err(DurationError::Negative(input.to_owned())),
        Some(b'+') => &input[1..],
        Some(_) => input,
    };
    if rest == "0" {
        return Ok(StdDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(malformed());
    }
    let mut total: u128 = 0;
    let mut rest = rest;
    let overflow = || DurationError::Overflow(input.to_owned());
    while !rest.is_empty() {
        let (nanos, tail) = match parse_component(rest) {
            Component::Parsed(nanos, tail) => (nanos, tail),
            Component::Malformed => return Err(malformed()),
            Component::Overflow => return Err(overflow()),
        };
        total = total
            .checked_add(nanos)
            .filter(|n| *n <= MAX_NANOS)
            .ok_or_else(overflow)?;
        rest = tail;
    }
    let nanos = u64::try_from(total).map_err(|_| DurationError::Overflow(input.to_owned()))?;
    Ok(StdDuration::from_nanos(nanos))
}

/// One `<number><unit>` read from the front of a duration string.
enum Component<'a> {
    /// Its nanoseconds, and the rest of the string.
    Parsed(u128, &'a str),
    /// No number, or no known unit.
    Malformed,
    /// A number too large for a Go duration.
    Overflow,
}

fn parse_component(s: &str) -> Component<'_> {
    let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
    let (int_digits, after_int) = s.split_at(int_len);
    let (frac_digits, after_number) = match after_int.strip_prefix('.') {
        Some(after_dot) => {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            after_dot.split_at(frac_len)
        }
        None => ("", after_int),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Component::Malformed;
    }
    let unit_len = after_number
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit() || *c == '.')
        .map_or(after_number.len(), |(i, _)| i);
    let (unit, tail) = after_number.split_at(unit_len);
    let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Component::Malformed;
    };
    let whole = parse_digits(int_digits).and_then(|n| n.checked_mul(scale));
    match whole.and_then(|w| w.checked_add(fraction_nanos(frac_digits, scale))) {
        Some(nanos) => Component::Parsed(nanos, tail),
        None => Component::Overflow,
    }
}

/// The value of a run of ASCII digits; `None` when above Go's range.
fn parse_digits(digits: &str) -> Option<u128> {
    if digits.is_empty() {
        return Some(0);
    }
    digits.parse::<u128>().ok().filter(|n| *n <= MAX_NANOS)
}

/// The nanoseconds that the decimal fraction `0.<digits>` of `scale` stands for, truncated.
fn fraction_nanos(digits: &str, scale: u128) -> u128 {
    let mut numerator: u128 = 0;
    let mut denominator: u128 = 1;
    // Digits past the 20th cannot change the result: the largest scale is below 10^13.
    for digit in digits.bytes().take(20) {
        numerator = numerator * 10 + u128::from(digit - b'0');
        denominator *= 10;
    }
    numerator * scale / denominator
}

fn format_go_duration(duration: StdDuration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}\u{b5}s", decimal(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", decimal(nanos, 1_000_000));
    }
    let seconds = decimal(nanos % 60_000_000_000, 1_000_000_000);
    let total_minutes = nanos / 60_000_000_000;
    let (hours, minutes) = (total_minutes / 60, total_minutes % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m{seconds}s"),
        _ => format!("{hours}h{minutes}m{seconds}s"),
    }
}

/// `value / unit` as a decimal with trailing fractional zeros dropped.
fn decimal(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<StdDuration, DurationError> {
        Duration(s.to_owned()).to_std()
    }

    #[test]
    fn parses_the_forms_flux_manifests_use() {
        assert_eq!(parse("30s"), Ok(StdDuration::from_secs(30)));
        assert_eq!(parse("1m30s"), Ok(StdDuration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(StdDuration::from_secs(3600)));
        assert_eq!(parse("1.5h"), Ok(StdDuration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(StdDuration::from_millis(500)));
        assert_eq!(parse("0.5s"), Ok(StdDuration::from_millis(500)));
        assert_eq!(parse(".5s"), Ok(StdDuration::from_millis(500)));
        assert_eq!(parse("2h45m0.5s"), Ok(StdDuration::from_millis(9_900_500)));
        assert_eq!(parse("0"), Ok(StdDuration::ZERO));
        assert_eq!(parse("10us"), Ok(StdDuration::from_micros(10)));
        assert_eq!(parse("10\u{b5}s"), Ok(StdDuration::from_micros(10)));
    }

    #[test]
    fn rejects_what_go_rejects() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        for bad in ["30", "s", "1x", "1.s1", "m1", "1m 30s", "."] {
            assert!(
                matches!(parse(bad), Err(DurationError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(parse("-1s"), Err(DurationError::Negative(_))));
        assert!(matches!(parse("3000000h"), Err(DurationError::Overflow(_))));
        assert!(matches!(
            parse("99999999999999999999999999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            (StdDuration::ZERO, "0s"),
            (StdDuration::from_nanos(15), "15ns"),
            (StdDuration::from_nanos(1_500), "1.5\u{b5}s"),
            (StdDuration::from_micros(2_500), "2.5ms"),
            (StdDuration::from_millis(1_500), "1.5s"),
            (StdDuration::from_secs(90), "1m30s"),
            (StdDuration::from_secs(3600), "1h0m0s"),
            (StdDuration::from_millis(3_723_004), "1h2m3.004s"),
        ];
        for (duration, text) in cases {
            assert_eq!(Duration::from_std(duration).as_str(), text);
            assert_eq!(parse(text), Ok(duration));
        }
    }

    #[test]
    fn keeps_the_text_verbatim() -> Result<(), serde_json::Error> {
        let d: Duration = serde_json::from_str("\"60s\"")?;
        assert_eq!(serde_json::to_string(&d)?, "\"60s\"");
        assert_eq!(
            Duration::new("1m0s").map(|d| d.to_string()),
            Ok("1m0s".to_owned())
        );
        Ok(())
    }
}
