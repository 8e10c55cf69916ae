//! Go's `time.Time` and `time.Duration` as templates see them, and the date functions of
//! sprig and Helm built on them: `now`, `date`, `dateInZone` (`date_in_zone`), `htmlDate`,
//! `htmlDateInZone`, `dateModify` (`date_modify`), `mustDateModify` (`must_date_modify`),
//! `toDate`, `mustToDate`, `unixEpoch`, `ago`, `duration`, `durationRound`, and Helm v4's
//! duration helpers (`mustToDuration`, `durationSeconds`... `durationRoundTo`).
//!
//! Layouts are Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`), formatted and parsed
//! here because no crate speaks them; zones come from the system's zoneinfo (jiff), as Go's
//! `time.LoadLocation` reads it, and `Local` is the process's zone, as in Go.

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use tether_gotemplate::{Func, FuncMap, Param, Struct, Value};

/// A Go `time.Time`: an instant, the offset and abbreviation of its location, and whether it
/// carries a monotonic reading (only `time.Now()` does; `String()` prints it).
#[derive(Debug, Clone, PartialEq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// The location's UTC offset at that instant, in seconds.
    pub offset: i32,
    /// The location's abbreviation at that instant (`UTC`, `CET`, or empty).
    pub zone: String,
    /// Seconds since the process started, when read from the clock.
    pub mono: Option<(i64, u32)>,
}

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// A zone by Go's `time.LoadLocation` name: `""`/`UTC`, `Local`, or an IANA name.
fn load_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    match name {
        "" | "UTC" => Some(jiff::tz::TimeZone::UTC),
        "Local" => Some(local_zone()),
        other => jiff::tz::TimeZone::get(other).ok(),
    }
}

fn local_zone() -> jiff::tz::TimeZone {
    static LOCAL: OnceLock<jiff::tz::TimeZone> = OnceLock::new();
    LOCAL.get_or_init(jiff::tz::TimeZone::system).clone()
}

impl GoTime {
    /// The clock now, in the local zone (Go's `time.Now()`).
    pub fn now() -> GoTime {
        let start = process_start();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let since = start.elapsed();
        let mut t = GoTime::at(now.as_secs() as i64, now.subsec_nanos()).in_zone(&local_zone());
        t.mono = Some((since.as_secs() as i64, since.subsec_nanos()));
        t
    }

    /// The instant in UTC.
    pub fn at(secs: i64, nanos: u32) -> GoTime {
        GoTime {
            secs,
            nanos,
            offset: 0,
            zone: "UTC".into(),
            mono: None,
        }
    }

    /// The same instant in `tz` (Go's `In`, which drops the monotonic reading).
    pub fn in_zone(mut self, tz: &jiff::tz::TimeZone) -> GoTime {
        let ts = jiff::Timestamp::new(self.secs, 0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let info = tz.to_offset_info(ts);
        self.offset = info.offset().seconds();
        self.zone = info.abbreviation().to_owned();
        self.mono = None;
        self
    }

    /// Wall-clock fields in the time's own offset.
    fn wall(&self) -> NaiveDateTime {
        DateTime::from_timestamp(self.secs + i64::from(self.offset), self.nanos)
            .unwrap_or_default()
            .naive_utc()
    }

    /// Go's `Add`.
    pub fn add(&self, nanos: i128) -> GoTime {
        let total = i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos) + nanos;
        let mut t = self.clone();
        t.secs = total.div_euclid(1_000_000_000) as i64;
        t.nanos = total.rem_euclid(1_000_000_000) as u32;
        if let Some((s, n)) = t.mono {
            let m = i128::from(s) * 1_000_000_000 + i128::from(n) + nanos;
            t.mono = Some((
                m.div_euclid(1_000_000_000) as i64,
                m.rem_euclid(1_000_000_000) as u32,
            ));
        }
        t
    }

    /// Nanoseconds since the epoch.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Go's `Time.String()`.
    pub fn go_string(&self) -> String {
        let mut out = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some((s, n)) = self.mono {
            out.push_str(&format!(" m=+{s}.{n:09}"));
        }
        out
    }

    /// Go's `Time.Format`.
    pub fn format(&self, layout: &str) -> String {
        format_layout(&self.wall(), self.offset, &self.zone, layout)
    }

    /// The template value: a `time.Time` with Go's methods that take no arguments.
    pub fn to_value(&self) -> Value {
        let w = self.wall();
        let go_month = MONTHS[w.month0() as usize];
        let go_day = DAYS[w.weekday().num_days_from_sunday() as usize];
        Value::Struct(
            Struct::new("time.Time")
                .method("Unix", Value::Int64(self.secs))
                .method(
                    "UnixNano",
                    Value::Int64(i64::try_from(self.unix_nanos()).unwrap_or(0)),
                )
                .method(
                    "UnixMilli",
                    Value::Int64(i64::try_from(self.unix_nanos() / 1_000_000).unwrap_or(0)),
                )
                .method("Year", Value::Int(i64::from(w.year())))
                .method("Month", month_value(go_month, w.month()))
                .method("Day", Value::Int(i64::from(w.day())))
                .method("Hour", Value::Int(i64::from(w.hour())))
                .method("Minute", Value::Int(i64::from(w.minute())))
                .method("Second", Value::Int(i64::from(w.second())))
                .method("Nanosecond", Value::Int(i64::from(self.nanos)))
                .method("YearDay", Value::Int(i64::from(w.ordinal())))
                .method(
                    "Weekday",
                    Value::Struct(Struct::new("time.Weekday").stringer(go_day)),
                )
                .method(
                    "IsZero",
                    Value::Bool(self.secs == ZERO_SECS && self.nanos == 0),
                )
                .method(NANOS, Value::str(self.unix_nanos().to_string()))
                .method(OFFSET, Value::Int(i64::from(self.offset)))
                .method(ZONE, Value::str(self.zone.clone()))
                .method(
                    JSON,
                    Value::str(tether_gotemplate::quote(
                        &self.format("2006-01-02T15:04:05.999999999Z07:00"),
                    )),
                )
                .stringer(self.go_string()),
        )
    }

    /// A `time.Time` template value back (`None` for anything else).
    pub fn from_value(v: &Value) -> Option<GoTime> {
        let Value::Struct(st) = v else { return None };
        if st.type_name != "time.Time" {
            return None;
        }
        let get = |n: &str| st.methods.iter().find(|(k, _)| k == n).map(|(_, v)| v);
        let nanos: i128 = match get(NANOS)? {
            Value::String(t) => t.parse().ok()?,
            _ => return None,
        };
        let offset = get(OFFSET).and_then(Value::as_int).unwrap_or(0) as i32;
        let zone = match get(ZONE) {
            Some(Value::String(z)) => z.clone(),
            _ => String::new(),
        };
        Some(GoTime {
            secs: nanos.div_euclid(1_000_000_000) as i64,
            nanos: nanos.rem_euclid(1_000_000_000) as u32,
            offset,
            zone,
            mono: None,
        })
    }
}

/// Hidden state of a `time.Time` value (unexported in Go, so no chart can name them).
const NANOS: &str = "tether_unix_nanos";
const OFFSET: &str = "tether_offset";
const ZONE: &str = "tether_zone";
/// The JSON text of a value (Go's `json.Marshaler`): RFC 3339 for a `time.Time`, the
/// nanoseconds for a `time.Duration`.
pub const JSON: &str = tether_gotemplate::sprig::MARSHAL_JSON;
/// The nanoseconds of a `time.Duration`.
const DURATION_NANOS: &str = "tether_nanos";

/// Go's zero time, `0001-01-01 00:00:00 UTC`, in Unix seconds.
const ZERO_SECS: i64 = -62_135_596_800;

fn month_value(name: &str, number: u32) -> Value {
    Value::Struct(
        Struct::new("time.Month")
            .method("tether_number", Value::Int(i64::from(number)))
            .stringer(name),
    )
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One element of a Go layout.
#[derive(Debug, Clone, PartialEq)]
enum Chunk {
    Literal(String),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// `Z07:00` style (Z for UTC) or `-07:00` style; the text names which.
    Offset {
        z: bool,
        colon: bool,
        seconds: bool,
        hours_only: bool,
    },
    /// `.000` / `,999`: separator, digits, trailing zeros trimmed.
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

/// Splits a layout as Go's `nextStdChunk` does.
fn chunks(layout: &str) -> Vec<(Chunk, String)> {
    let b = layout.as_bytes();
    let mut out: Vec<(Chunk, String)> = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let starts = |i: usize, p: &str| layout[i..].starts_with(p);
    while i < b.len() {
        let (chunk, len): (Option<Chunk>, usize) = match b[i] {
            b'J' if starts(i, "January") => (Some(Chunk::LongMonth), 7),
            b'J' if starts(i, "Jan") => (Some(Chunk::Month), 3),
            b'M' if starts(i, "Monday") => (Some(Chunk::LongWeekDay), 6),
            b'M' if starts(i, "Mon") => (Some(Chunk::WeekDay), 3),
            b'M' if starts(i, "MST") => (Some(Chunk::TZ), 3),
            b'0' if starts(i, "002") => (Some(Chunk::ZeroYearDay), 3),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => (
                Some(match b[i + 1] {
                    b'1' => Chunk::ZeroMonth,
                    b'2' => Chunk::ZeroDay,
                    b'3' => Chunk::ZeroHour12,
                    b'4' => Chunk::ZeroMinute,
                    b'5' => Chunk::ZeroSecond,
                    _ => Chunk::Year,
                }),
                2,
            ),
            b'1' if starts(i, "15") => (Some(Chunk::Hour), 2),
            b'1' => (Some(Chunk::NumMonth), 1),
            b'2' if starts(i, "2006") => (Some(Chunk::LongYear), 4),
            b'2' => (Some(Chunk::Day), 1),
            b'_' if starts(i, "_2006") => {
                // `_` is a literal before a year.
                lit.push('_');
                i += 1;
                continue;
            }
            b'_' if starts(i, "__2") => (Some(Chunk::UnderYearDay), 3),
            b'_' if starts(i, "_2") => (Some(Chunk::UnderDay), 2),
            b'3' => (Some(Chunk::Hour12), 1),
            b'4' => (Some(Chunk::Minute), 1),
            b'5' => (Some(Chunk::Second), 1),
            b'P' if starts(i, "PM") => (Some(Chunk::PM), 2),
            b'p' if starts(i, "pm") => (Some(Chunk::Pm), 2),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let rest = &layout[i + 1..];
                let opts: [(&str, bool, bool, bool); 5] = [
                    ("07:00:00", true, true, false),
                    ("070000", false, true, false),
                    ("07:00", true, false, false),
                    ("0700", false, false, false),
                    ("07", false, false, true),
                ];
                match opts.iter().find(|(p, ..)| rest.starts_with(p)) {
                    Some((p, colon, seconds, hours_only)) => (
                        Some(Chunk::Offset {
                            z,
                            colon: *colon,
                            seconds: *seconds,
                            hours_only: *hours_only,
                        }),
                        p.len() + 1,
                    ),
                    None => (None, 1),
                }
            }
            b'.' | b',' => {
                let c = b.get(i + 1).copied();
                if c == Some(b'0') || c == Some(b'9') {
                    let ch = c.unwrap_or(b'0');
                    let mut j = i + 1;
                    while j < b.len() && b[j] == ch {
                        j += 1;
                    }
                    if j < b.len() && b[j].is_ascii_digit() {
                        (None, 1)
                    } else {
                        (
                            Some(Chunk::Frac {
                                sep: b[i] as char,
                                digits: j - i - 1,
                                trim: ch == b'9',
                            }),
                            j - i,
                        )
                    }
                } else {
                    (None, 1)
                }
            }
            _ => (None, 1),
        };
        match chunk {
            Some(c) => {
                if !lit.is_empty() {
                    out.push((Chunk::Literal(std::mem::take(&mut lit)), String::new()));
                }
                out.push((c, layout[i..i + len].to_owned()));
                i += len;
            }
            None => {
                let ch = layout[i..].chars().next().unwrap_or(' ');
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    if !lit.is_empty() {
        out.push((Chunk::Literal(lit), String::new()));
    }
    out
}

fn format_layout(w: &NaiveDateTime, offset: i32, zone: &str, layout: &str) -> String {
    let mut out = String::new();
    let hour12 = match w.hour() % 12 {
        0 => 12,
        h => h,
    };
    for (chunk, _) in chunks(layout) {
        match chunk {
            Chunk::Literal(t) => out.push_str(&t),
            Chunk::LongMonth => out.push_str(MONTHS[w.month0() as usize]),
            Chunk::Month => out.push_str(&MONTHS[w.month0() as usize][..3]),
            Chunk::NumMonth => out.push_str(&w.month().to_string()),
            Chunk::ZeroMonth => out.push_str(&format!("{:02}", w.month())),
            Chunk::LongWeekDay => {
                out.push_str(DAYS[w.weekday().num_days_from_sunday() as usize]);
            }
            Chunk::WeekDay => {
                out.push_str(&DAYS[w.weekday().num_days_from_sunday() as usize][..3]);
            }
            Chunk::Day => out.push_str(&w.day().to_string()),
            Chunk::UnderDay => out.push_str(&format!("{:>2}", w.day())),
            Chunk::ZeroDay => out.push_str(&format!("{:02}", w.day())),
            Chunk::UnderYearDay => out.push_str(&format!("{:>3}", w.ordinal())),
            Chunk::ZeroYearDay => out.push_str(&format!("{:03}", w.ordinal())),
            Chunk::Hour => out.push_str(&format!("{:02}", w.hour())),
            Chunk::Hour12 => out.push_str(&hour12.to_string()),
            Chunk::ZeroHour12 => out.push_str(&format!("{hour12:02}")),
            Chunk::Minute => out.push_str(&w.minute().to_string()),
            Chunk::ZeroMinute => out.push_str(&format!("{:02}", w.minute())),
            Chunk::Second => out.push_str(&w.second().to_string()),
            Chunk::ZeroSecond => out.push_str(&format!("{:02}", w.second())),
            Chunk::LongYear => {
                let y = w.year();
                if y < 0 {
                    out.push_str(&format!("-{:04}", -y));
                } else {
                    out.push_str(&format!("{y:04}"));
                }
            }
            Chunk::Year => out.push_str(&format!("{:02}", w.year().rem_euclid(100))),
            Chunk::PM => out.push_str(if w.hour() >= 12 { "PM" } else { "AM" }),
            Chunk::Pm => out.push_str(if w.hour() >= 12 { "pm" } else { "am" }),
            Chunk::TZ => {
                if zone.is_empty() {
                    let m = offset / 60;
                    out.push(if m < 0 { '-' } else { '+' });
                    out.push_str(&format!("{:02}{:02}", m.abs() / 60, m.abs() % 60));
                } else {
                    out.push_str(zone);
                }
            }
            Chunk::Offset {
                z,
                colon,
                seconds,
                hours_only,
            } => {
                if z && offset == 0 {
                    out.push('Z');
                    continue;
                }
                let a = offset.abs();
                out.push(if offset < 0 { '-' } else { '+' });
                out.push_str(&format!("{:02}", a / 3600));
                if !hours_only {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{:02}", a / 60 % 60));
                }
                if seconds {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{:02}", a % 60));
                }
            }
            Chunk::Frac { sep, digits, trim } => {
                let all = format!("{:09}", w.nanosecond() % 1_000_000_000);
                let mut d = all[..digits.min(9)].to_owned();
                if trim {
                    while d.ends_with('0') {
                        d.pop();
                    }
                    if d.is_empty() {
                        continue;
                    }
                }
                out.push(sep);
                out.push_str(&d);
            }
        }
    }
    out
}

/// Go's `strconv.Quote` for error messages.
fn q(s: &str) -> String {
    tether_gotemplate::quote(s)
}

/// Go's `time.ParseInLocation`, for the layout elements above.
pub fn parse_in_location(
    layout: &str,
    value: &str,
    loc: &jiff::tz::TimeZone,
) -> Result<GoTime, String> {
    let err = |elem: &str, rest: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            q(value),
            q(layout),
            q(rest),
            q(elem)
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", q(value));
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (0i32, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut yday: Option<u32> = None;
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut rest = value;
    let num = |rest: &str, min_len: usize, max_len: usize| -> Option<(u32, usize)> {
        let n = rest
            .bytes()
            .take(max_len)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min_len {
            return None;
        }
        rest[..n].parse().ok().map(|v| (v, n))
    };
    let list = chunks(layout);
    for (idx, (chunk, text)) in list.iter().enumerate() {
        let before = rest;
        let fail = || err(if text.is_empty() { "" } else { text }, before);
        match chunk {
            Chunk::Literal(l) => {
                // Go compares literals ignoring leading spaces' count on both sides.
                let l_trim = l.trim_start_matches(' ');
                let r_trim = if l.len() != l_trim.len() {
                    rest.trim_start_matches(' ')
                } else {
                    rest
                };
                match r_trim.strip_prefix(l_trim) {
                    Some(r) => rest = r,
                    None => return Err(err(l, before)),
                }
                continue;
            }
            Chunk::LongYear => {
                let (v, n) = num(rest, 4, 4).ok_or_else(fail)?;
                year = v as i32;
                rest = &rest[n..];
            }
            Chunk::Year => {
                let (v, n) = num(rest, 2, 2).ok_or_else(fail)?;
                year = if v >= 69 {
                    1900 + v as i32
                } else {
                    2000 + v as i32
                };
                rest = &rest[n..];
            }
            Chunk::LongMonth | Chunk::Month => {
                let long = matches!(chunk, Chunk::LongMonth);
                let found = MONTHS.iter().position(|m| {
                    let name = if long { m } else { &m[..3] };
                    rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name)
                });
                let i = found.ok_or_else(fail)?;
                month = i as u32 + 1;
                rest = &rest[if long { MONTHS[i].len() } else { 3 }..];
            }
            Chunk::LongWeekDay | Chunk::WeekDay => {
                let long = matches!(chunk, Chunk::LongWeekDay);
                let found = DAYS.iter().position(|d| {
                    let name = if long { d } else { &d[..3] };
                    rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name)
                });
                let i = found.ok_or_else(fail)?;
                rest = &rest[if long { DAYS[i].len() } else { 3 }..];
            }
            Chunk::NumMonth | Chunk::ZeroMonth => {
                let min_len = if matches!(chunk, Chunk::ZeroMonth) {
                    2
                } else {
                    1
                };
                let (v, n) = num(rest, min_len, 2).ok_or_else(fail)?;
                if !(1..=12).contains(&v) {
                    return Err(range("month"));
                }
                month = v;
                rest = &rest[n..];
            }
            Chunk::Day | Chunk::UnderDay | Chunk::ZeroDay => {
                if matches!(chunk, Chunk::UnderDay) {
                    rest = rest.strip_prefix(' ').unwrap_or(rest);
                }
                let min_len = if matches!(chunk, Chunk::ZeroDay) {
                    2
                } else {
                    1
                };
                let (v, n) = num(rest, min_len, 2).ok_or_else(fail)?;
                day = v;
                rest = &rest[n..];
            }
            Chunk::UnderYearDay | Chunk::ZeroYearDay => {
                let trimmed = if matches!(chunk, Chunk::UnderYearDay) {
                    rest.trim_start_matches(' ')
                } else {
                    rest
                };
                let (v, n) = num(trimmed, 3, 3).ok_or_else(fail)?;
                yday = Some(v);
                rest = &trimmed[n..];
            }
            Chunk::Hour => {
                let (v, n) = num(rest, 1, 2).ok_or_else(fail)?;
                if v >= 24 {
                    return Err(range("hour"));
                }
                hour = v;
                rest = &rest[n..];
            }
            Chunk::Hour12 | Chunk::ZeroHour12 => {
                let min_len = if matches!(chunk, Chunk::ZeroHour12) {
                    2
                } else {
                    1
                };
                let (v, n) = num(rest, min_len, 2).ok_or_else(fail)?;
                if v > 12 {
                    return Err(range("hour"));
                }
                hour = v;
                rest = &rest[n..];
            }
            Chunk::Minute | Chunk::ZeroMinute => {
                let min_len = if matches!(chunk, Chunk::ZeroMinute) {
                    2
                } else {
                    1
                };
                let (v, n) = num(rest, min_len, 2).ok_or_else(fail)?;
                if v >= 60 {
                    return Err(range("minute"));
                }
                min = v;
                rest = &rest[n..];
            }
            Chunk::Second | Chunk::ZeroSecond => {
                let min_len = if matches!(chunk, Chunk::ZeroSecond) {
                    2
                } else {
                    1
                };
                let (v, n) = num(rest, min_len, 2).ok_or_else(fail)?;
                if v >= 60 {
                    return Err(range("second"));
                }
                sec = v;
                rest = &rest[n..];
                // A fractional second the layout does not name is accepted after seconds.
                let next_is_frac = matches!(list.get(idx + 1), Some((Chunk::Frac { .. }, _)));
                if !next_is_frac
                    && rest.len() >= 2
                    && (rest.starts_with('.') || rest.starts_with(','))
                    && rest.as_bytes()[1].is_ascii_digit()
                {
                    let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nanos = frac_nanos(&rest[1..1 + digits]);
                    rest = &rest[1 + digits..];
                }
            }
            Chunk::Frac { digits, trim, .. } => {
                if *trim {
                    if rest.len() < 2
                        || !(rest.starts_with('.') || rest.starts_with(','))
                        || !rest.as_bytes()[1].is_ascii_digit()
                    {
                        continue;
                    }
                    let n = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nanos = frac_nanos(&rest[1..1 + n]);
                    rest = &rest[1 + n..];
                } else {
                    let n = 1 + digits;
                    if rest.len() < n
                        || !(rest.starts_with('.') || rest.starts_with(','))
                        || !rest[1..n].bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(fail());
                    }
                    nanos = frac_nanos(&rest[1..n]);
                    rest = &rest[n..];
                }
            }
            Chunk::PM | Chunk::Pm => {
                let p = rest.get(..2).ok_or_else(fail)?;
                let upper = matches!(chunk, Chunk::PM);
                pm = Some(match p {
                    "PM" if upper => true,
                    "AM" if upper => false,
                    "pm" if !upper => true,
                    "am" if !upper => false,
                    _ => return Err(fail()),
                });
                rest = &rest[2..];
            }
            Chunk::TZ => {
                if rest.starts_with("UTC") {
                    zone_name = Some("UTC".into());
                    offset = Some(0);
                    rest = &rest[3..];
                    continue;
                }
                let n = rest.bytes().take_while(u8::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(fail());
                }
                zone_name = Some(rest[..n].to_owned());
                rest = &rest[n..];
            }
            Chunk::Offset {
                z,
                colon,
                seconds,
                hours_only,
            } => {
                if *z && rest.starts_with('Z') {
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    rest = &rest[1..];
                    continue;
                }
                let sign = match rest.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(fail()),
                };
                let mut r = &rest[1..];
                let two = |r: &str| -> Option<i32> {
                    let d = r.get(..2)?;
                    if d.bytes().all(|b| b.is_ascii_digit()) {
                        d.parse().ok()
                    } else {
                        None
                    }
                };
                let h = two(r).ok_or_else(fail)?;
                r = &r[2..];
                let mut m = 0;
                let mut s = 0;
                if !*hours_only {
                    if *colon {
                        r = r.strip_prefix(':').ok_or_else(fail)?;
                    }
                    m = two(r).ok_or_else(fail)?;
                    r = &r[2..];
                }
                if *seconds {
                    if *colon {
                        r = r.strip_prefix(':').ok_or_else(fail)?;
                    }
                    s = two(r).ok_or_else(fail)?;
                    r = &r[2..];
                }
                offset = Some(sign * (h * 3600 + m * 60 + s));
                rest = r;
            }
        }
    }
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            q(value),
            q(rest)
        ));
    }
    if let Some(p) = pm {
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    let date = match yday {
        Some(d) => NaiveDate::from_yo_opt(year, d).ok_or_else(|| range("day-of-year"))?,
        None => {
            if day < 1 || day > days_in(year, month) {
                return Err(range("day"));
            }
            NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| range("day"))?
        }
    };
    let wall = date
        .and_hms_nano_opt(hour, min, sec, nanos)
        .ok_or_else(|| range("time"))?;
    let wall_secs = wall.and_utc().timestamp();
    match offset {
        Some(off) => {
            let mut t = GoTime::at(wall_secs - i64::from(off), nanos);
            t.offset = off;
            t.zone = match &zone_name {
                Some(z) if off == 0 && z == "UTC" => "UTC".into(),
                // Go names the offset's zone after the location when they agree.
                _ => {
                    let local = t.clone().in_zone(loc);
                    if local.offset == off {
                        local.zone
                    } else {
                        String::new()
                    }
                }
            };
            if off == 0 && zone_name.as_deref() == Some("UTC") {
                t.zone = "UTC".into();
            }
            Ok(t)
        }
        None => {
            // A wall time in the location: find the offset in force then.
            let civil = jiff::civil::DateTime::new(
                year as i16,
                month as i8,
                date.day() as i8,
                hour as i8,
                min as i8,
                sec as i8,
                nanos as i32,
            )
            .map_err(|e| e.to_string())?;
            let zoned = civil.to_zoned(loc.clone()).map_err(|e| e.to_string())?;
            let ts = zoned.timestamp();
            let mut t = GoTime::at(ts.as_second(), nanos).in_zone(loc);
            // Go: an abbreviation the location does not use gets offset 0 and that name.
            if let Some(z) = zone_name
                && t.zone != z
            {
                t = GoTime::at(wall_secs, nanos);
                t.zone = z;
            }
            Ok(t)
        }
    }
}

fn frac_nanos(digits: &str) -> u32 {
    let mut d = digits.to_owned();
    d.truncate(9);
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

fn days_in(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Go's `time.Duration.String()`.
pub fn duration_string(d: i128) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Below a second: ns, µs or ms with a fraction.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let m = secs_total / 60 % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        let s_part = u % 60_000_000_000;
        out.push_str(&fraction(s_part, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / div` with the remainder as a decimal fraction, trailing zeros dropped.
fn fraction(v: u128, div: u128) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let mut frac = format!("{rem:0width$}");
    while frac.ends_with('0') {
        frac.pop();
    }
    format!("{whole}.{frac}")
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(text: &str) -> Result<i128, String> {
    let bad = || format!("time: invalid duration {}", q(text));
    let mut s = text;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(r) = s.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            s = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", q(text)));
        }
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    q(unit),
                    q(text)
                ));
            }
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad())?
        };
        let mut v = whole.checked_mul(scale).ok_or_else(bad)?;
        if !frac_part.is_empty() {
            let mut f: f64 = 0.0;
            let mut sc = 1.0;
            for d in frac_part.bytes().take(18) {
                sc /= 10.0;
                f += f64::from(d - b'0') * sc;
            }
            v += (f * scale as f64) as u128;
        }
        total = total.checked_add(v).ok_or_else(bad)?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(bad());
        }
    }
    let t = total as i128;
    Ok(if neg { -t } else { t })
}

/// A `time.Duration` value: prints as Go's `String()`.
pub fn duration_value(nanos: i128) -> Value {
    let n = i64::try_from(nanos).unwrap_or(i64::MAX);
    Value::Struct(
        Struct::new("time.Duration")
            .method("Nanoseconds", Value::Int64(n))
            .method("Microseconds", Value::Int64(n / 1_000))
            .method("Milliseconds", Value::Int64(n / 1_000_000))
            .method("Seconds", Value::Float(go_units(nanos, SECOND)))
            .method("Minutes", Value::Float(go_units(nanos, 60 * SECOND)))
            .method("Hours", Value::Float(go_units(nanos, 3600 * SECOND)))
            .method(DURATION_NANOS, Value::Int64(n))
            .method(JSON, Value::str(n.to_string()))
            .stringer(duration_string(nanos)),
    )
}

fn duration_of(v: &Value) -> Option<i128> {
    match v {
        Value::Struct(st) if st.type_name == "time.Duration" => st
            .methods
            .iter()
            .find(|(k, _)| k == DURATION_NANOS)
            .and_then(|(_, v)| v.as_int())
            .map(i128::from),
        _ => None,
    }
}

/// The instant sprig's `date` family reads from its argument: a time, or Unix seconds from an
/// `int`/`int64`; anything else is now.
fn date_arg(v: &Value) -> GoTime {
    match v {
        Value::Int(i) | Value::Int64(i) => GoTime::at(*i, 0),
        other => GoTime::from_value(other).unwrap_or_else(GoTime::now),
    }
}

fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let tz = load_zone(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    date_arg(date).in_zone(&tz).format(layout)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn time_arg(v: &Value) -> Result<GoTime, String> {
    GoTime::from_value(v).ok_or_else(|| {
        format!(
            "wrong type for value; expected time.Time; got {}",
            v.type_name()
        )
    })
}

/// sprig's `durationRound`: the largest whole unit (y, mo, d, h, m, s).
fn duration_round(v: &Value) -> String {
    let d: i128 = match v {
        Value::String(t) => parse_duration(t).unwrap_or(0),
        Value::Int64(n) => i128::from(*n),
        other => match GoTime::from_value(other) {
            Some(t) => GoTime::now().unix_nanos() - t.unix_nanos(),
            None => 0,
        },
    };
    let u = d.unsigned_abs();
    const SECOND: u128 = 1_000_000_000;
    let units: [(u128, &str); 6] = [
        (SECOND * 3600 * 24 * 365, "y"),
        (SECOND * 3600 * 24 * 30, "mo"),
        (SECOND * 3600 * 24, "d"),
        (SECOND * 3600, "h"),
        (SECOND * 60, "m"),
        (SECOND, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

/// Helm's `asDuration`: a duration, a duration string, a number of seconds.
fn as_duration(v: &Value) -> Result<i128, String> {
    const MAX_SECS: i64 = i64::MAX / 1_000_000_000;
    let from_float = |f: f64| -> Result<i128, String> {
        if f.is_nan() || f.is_infinite() {
            return Err(format!(
                "invalid duration seconds: {}",
                tether_gotemplate::sprint(&[Value::Float(f)])
            ));
        }
        let max = i64::MAX as f64 / 1e9;
        if f > max || f < -max {
            return Err(format!(
                "duration seconds overflow: {}",
                tether_gotemplate::sprint(&[Value::Float(f)])
            ));
        }
        Ok((f * 1e9) as i64 as i128)
    };
    if let Some(d) = duration_of(v) {
        return Ok(d);
    }
    match v {
        Value::String(t) => {
            let trimmed = t.trim();
            if trimmed.is_empty() {
                return Err("empty duration".into());
            }
            if let Ok(d) = parse_duration(trimmed) {
                return Ok(d);
            }
            if let Ok(f) = trimmed.parse::<f64>() {
                return from_float(f);
            }
            Err(format!("could not parse duration {}", q(t)))
        }
        Value::Nil | Value::Invalid => Err("invalid duration".into()),
        Value::Int(n) | Value::Int64(n) => {
            if *n > MAX_SECS || *n < -MAX_SECS {
                return Err(format!("duration seconds overflow: {n}"));
            }
            Ok(i128::from(*n) * 1_000_000_000)
        }
        Value::Float(f) => from_float(*f),
        other => Err(format!("unsupported duration type {}", other.type_name())),
    }
}

const SECOND: i128 = 1_000_000_000;

/// Go's `Duration.Seconds()`/`Minutes()`/`Hours()`: whole units plus the remainder's fraction.
fn go_units(d: i128, unit: i128) -> f64 {
    (d / unit) as f64 + (d % unit) as f64 / unit as f64
}

/// Go's `Duration.Round(m)`.
fn round_to(d: i128, m: i128) -> i128 {
    if m <= 0 {
        return d;
    }
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if r + r < m {
            return d + r;
        }
        return d - m + r;
    }
    if r + r < m {
        return d - r;
    }
    d + m - r
}

pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, String as Str};
    let mut add = |name: &str, f: Func| {
        m.insert(name.to_owned(), f);
    };
    add("now", Func::new(&[], |_| Ok(GoTime::now().to_value())));
    add(
        "date",
        Func::new(&[Str, Any], |a| {
            Ok(Value::String(date_in_zone(&s(&a[0]), &a[1], "Local")))
        }),
    );
    for name in ["dateInZone", "date_in_zone"] {
        add(
            name,
            Func::new(&[Str, Any, Str], |a| {
                Ok(Value::String(date_in_zone(&s(&a[0]), &a[1], &s(&a[2]))))
            }),
        );
    }
    add(
        "htmlDate",
        Func::new(&[Any], |a| {
            Ok(Value::String(date_in_zone("2006-01-02", &a[0], "Local")))
        }),
    );
    add(
        "htmlDateInZone",
        Func::new(&[Any, Str], |a| {
            Ok(Value::String(date_in_zone("2006-01-02", &a[0], &s(&a[1]))))
        }),
    );
    for name in ["dateModify", "date_modify"] {
        add(
            name,
            Func::new(&[Str, Any], |a| {
                let t = time_arg(&a[1])?;
                Ok(match parse_duration(&s(&a[0])) {
                    Ok(d) => t.add(d).to_value(),
                    Err(_) => t.to_value(),
                })
            }),
        );
    }
    for name in ["mustDateModify", "must_date_modify"] {
        add(
            name,
            Func::new(&[Str, Any], |a| {
                let t = time_arg(&a[1])?;
                parse_duration(&s(&a[0])).map(|d| t.add(d).to_value())
            }),
        );
    }
    add(
        "toDate",
        Func::new(&[Str, Str], |a| {
            Ok(parse_in_location(&s(&a[0]), &s(&a[1]), &local_zone())
                .unwrap_or_else(|_| GoTime::at(ZERO_SECS, 0))
                .to_value())
        }),
    );
    add(
        "mustToDate",
        Func::new(&[Str, Str], |a| {
            parse_in_location(&s(&a[0]), &s(&a[1]), &local_zone()).map(|t| t.to_value())
        }),
    );
    add(
        "unixEpoch",
        Func::new(&[Any], |a| {
            Ok(Value::String(time_arg(&a[0])?.secs.to_string()))
        }),
    );
    add(
        "ago",
        Func::new(&[Any], |a| {
            let t = match &a[0] {
                Value::Int(i) | Value::Int64(i) => GoTime::at(*i, 0),
                other => GoTime::from_value(other).unwrap_or_else(GoTime::now),
            };
            let since = GoTime::now().unix_nanos() - t.unix_nanos();
            Ok(Value::String(duration_string(round_to(
                since,
                1_000_000_000,
            ))))
        }),
    );
    add(
        "duration",
        Func::new(&[Any], |a| {
            let n: i64 = match &a[0] {
                Value::String(t) => t.parse().unwrap_or(0),
                Value::Int64(n) => *n,
                _ => 0,
            };
            // Go multiplies in int64 and wraps.
            Ok(Value::String(duration_string(i128::from(
                n.wrapping_mul(1_000_000_000),
            ))))
        }),
    );
    add(
        "durationRound",
        Func::new(&[Any], |a| Ok(Value::String(duration_round(&a[0])))),
    );
    // Helm v4's duration helpers.
    add(
        "mustToDuration",
        Func::new(&[Any], |a| as_duration(&a[0]).map(duration_value)),
    );
    add(
        "durationSeconds",
        Func::new(&[Any], |a| {
            Ok(Value::Float(
                as_duration(&a[0]).map_or(0.0, |d| go_units(d, SECOND)),
            ))
        }),
    );
    let ints: [(&str, i128); 3] = [
        ("durationMilliseconds", 1_000_000),
        ("durationMicroseconds", 1_000),
        ("durationNanoseconds", 1),
    ];
    for (name, unit) in ints {
        add(
            name,
            Func::new(&[Any], move |a| {
                Ok(Value::Int64(
                    (as_duration(&a[0]).unwrap_or(0) / unit) as i64,
                ))
            }),
        );
    }
    // Go's `Minutes()` and `Hours()`; days and weeks divide hours as Helm does.
    let floats: [(&str, i128, f64); 4] = [
        ("durationMinutes", 60 * SECOND, 1.0),
        ("durationHours", 3600 * SECOND, 1.0),
        ("durationDays", 3600 * SECOND, 24.0),
        ("durationWeeks", 3600 * SECOND, 24.0 * 7.0),
    ];
    for (name, unit, div) in floats {
        add(
            name,
            Func::new(&[Any], move |a| {
                Ok(Value::Float(match as_duration(&a[0]) {
                    Ok(d) if div == 24.0 * 7.0 => go_units(d, unit) / 24.0 / 7.0,
                    Ok(d) => go_units(d, unit) / div,
                    Err(_) => 0.0,
                }))
            }),
        );
    }
    add(
        "durationRoundTo",
        Func::new(&[Any, Any], |a| {
            let Ok(d) = as_duration(&a[0]) else {
                return Ok(duration_value(0));
            };
            Ok(duration_value(match as_duration(&a[1]) {
                Ok(m) => round_to(d, m),
                Err(_) => d,
            }))
        }),
    );
    add(
        "durationTruncateTo",
        Func::new(&[Any, Any], |a| {
            let Ok(d) = as_duration(&a[0]) else {
                return Ok(duration_value(0));
            };
            Ok(duration_value(match as_duration(&a[1]) {
                Ok(m) if m > 0 => d - d % m,
                _ => d,
            }))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_format_like_go() {
        let t = GoTime::at(1_700_000_000, 123_000_000);
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(t.format("Jan _2 3:04PM .000"), "Nov 14 10:13PM .123");
        assert_eq!(t.go_string(), "2023-11-14 22:13:20.123 +0000 UTC");
    }

    #[test]
    fn durations_print_and_parse_like_go() {
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(duration_string(-60_000_000_000), "-1m0s");
        assert_eq!(parse_duration("1h2m3.5s"), Ok(3_723_500_000_000));
        assert_eq!(parse_duration("-1.5h"), Ok(-5_400_000_000_000));
        assert!(parse_duration("1d").is_err_and(|e| e.contains("unknown unit")));
    }

    #[test]
    fn parsing_reads_what_formatting_writes() {
        let t = GoTime::at(1_700_000_000, 0);
        let layout = "2006-01-02 15:04:05 -0700";
        let back = parse_in_location(layout, &t.format(layout), &jiff::tz::TimeZone::UTC);
        assert_eq!(back.map(|b| b.secs), Ok(1_700_000_000));
        assert!(parse_in_location("2006-01-02", "2023-13-01", &jiff::tz::TimeZone::UTC).is_err());
    }
}
