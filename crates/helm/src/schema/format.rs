//! The `format` checks santhosh-tekuri/jsonschema v6 asserts for drafts before 2019-09 (later
//! drafts only annotate), with its messages: hostname, email, ipv4, ipv6, uuid, date, time,
//! date-time, duration, json-pointer, relative-json-pointer, uri/iri, uri-reference,
//! regex and semver. Unknown format names assert nothing, as there.

use serde_json::Value as Json;

/// A known format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    /// Its name.
    pub name: &'static str,
}

const NAMES: [&str; 18] = [
    "json-pointer",
    "relative-json-pointer",
    "uuid",
    "duration",
    "ipv4",
    "ipv6",
    "hostname",
    "email",
    "date",
    "time",
    "date-time",
    "uri",
    "iri",
    "uri-reference",
    "iri-reference",
    "regex",
    "semver",
    "period",
];

impl Format {
    /// The format of that name, if checked.
    pub(crate) fn named(name: &str) -> Option<Format> {
        NAMES
            .iter()
            .find(|n| **n == name)
            .map(|n| Format { name: n })
    }

    /// Checks `v` (only strings are checked).
    pub(crate) fn check(&self, v: &Json) -> Result<(), String> {
        let Json::String(s) = v else { return Ok(()) };
        match self.name {
            "json-pointer" => json_pointer(s),
            "relative-json-pointer" => relative_json_pointer(s),
            "uuid" => uuid(s),
            "duration" => duration(s),
            "ipv4" => ipv4(s),
            "ipv6" => ipv6(s),
            "hostname" => hostname(s),
            "email" => email(s),
            "date" => date(s),
            "time" => time(s),
            "date-time" => date_time(s),
            "uri" | "iri" => uri(s),
            "uri-reference" | "iri-reference" => {
                if s.contains('\\') {
                    return Err("contains \\".into());
                }
                parse_url(s).map(|_| ())
            }
            "regex" => super::compile::go_regex(s).map(|_| ()),
            "semver" => semver(s),
            "period" => period(s),
            _ => Ok(()),
        }
    }
}

/// Go's `%q` of a rune.
fn q(c: char) -> String {
    let s = tether_gotemplate::quote(&c.to_string());
    let inner = &s[1..s.len() - 1];
    let inner = if inner == "\\\"" { "\"" } else { inner };
    let inner = if inner == "'" { "\\'" } else { inner };
    format!("'{inner}'")
}

fn json_pointer(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if !s.starts_with('/') {
        return Err("not starting with /".into());
    }
    for tok in s.split('/').skip(1) {
        let mut escape = false;
        for ch in tok.chars() {
            if escape {
                escape = false;
                if ch != '0' && ch != '1' {
                    return Err("~ must be followed by 0 or 1".into());
                }
                continue;
            }
            if ch == '~' {
                escape = true;
                continue;
            }
            if !matches!(ch, '\x00'..='\x2E' | '\x30'..='\x7D' | '\x7F'..) {
                return Err(format!("invalid character {}", q(ch)));
            }
        }
        if escape {
            return Err("~ must be followed by 0 or 1".into());
        }
    }
    Ok(())
}

fn relative_json_pointer(s: &str) -> Result<(), String> {
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return Err("must start with non-negative integer".into());
    }
    if digits > 1 && s.starts_with('0') {
        return Err("starts with zero".into());
    }
    let rest = &s[digits..];
    if rest == "#" {
        return Ok(());
    }
    json_pointer(rest)
}

fn uuid(s: &str) -> Result<(), String> {
    let lens = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != lens.len() {
        return Err(format!("must have {} elements", lens.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() != lens[i] {
            return Err(format!(
                "element {} must be {} characters long",
                i + 1,
                lens[i]
            ));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("non-hex character {}", q(c)));
        }
    }
    Ok(())
}

fn duration(s: &str) -> Result<(), String> {
    let Some(s) = s.strip_prefix('P') else {
        return Err("must start with P".into());
    };
    if s.is_empty() {
        return Err("nothing after P".into());
    }
    if let Some(w) = s.strip_suffix('W') {
        if w.is_empty() {
            return Err("no number in week".into());
        }
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid week".into());
        }
        return Ok(());
    }
    let all_units = ["YMD", "HMS"];
    for (i, part) in s.split('T').enumerate() {
        if i != 0 && part.is_empty() {
            return Err("no time elements".into());
        }
        if i >= all_units.len() {
            return Err("more than one T".into());
        }
        let mut units = all_units[i];
        let mut rest = part;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err("missing number".into());
            }
            rest = &rest[digits..];
            let Some(unit) = rest.chars().next() else {
                return Err("missing unit".into());
            };
            match units.find(unit) {
                Some(j) => units = &units[j + 1..],
                None => {
                    return Err(if all_units[i].contains(unit) {
                        format!("unit {} out of order", q(unit))
                    } else {
                        format!("invalid unit {}", q(unit))
                    });
                }
            }
            rest = &rest[unit.len_utf8()..];
        }
    }
    Ok(())
}

fn ipv4(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Err("expected four decimals".into());
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return Err("leading zeros".into());
        }
        let n = atoi(g)?;
        if !(0..=255).contains(&n) {
            return Err("decimal must be between 0 and 255".into());
        }
    }
    Ok(())
}

/// Go's `strconv.Atoi` and its error text.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            tether_gotemplate::quote(s)
        ));
    }
    s.parse::<i64>().map_err(|_| {
        format!(
            "strconv.Atoi: parsing {}: value out of range",
            tether_gotemplate::quote(s)
        )
    })
}

fn ipv6(s: &str) -> Result<(), String> {
    if !s.contains(':') {
        return Err("missing colon".into());
    }
    if s.contains('%') {
        let addr = s.split('%').next().unwrap_or("");
        if addr.parse::<std::net::Ipv6Addr>().is_ok() {
            return Err("zone id is not a part of ipv6 address".into());
        }
    }
    s.parse::<std::net::Ipv6Addr>().map(|_| ()).map_err(|_| {
        format!(
            "ParseAddr({}): invalid IPv6 address",
            tether_gotemplate::quote(s)
        )
    })
}

fn hostname(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Err("more than 253 characters long".into());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("label must be 1 to 63 characters long".into());
        }
        if label.starts_with('-') {
            return Err("label starts with hyphen".into());
        }
        if label.ends_with('-') {
            return Err("label ends with hyphen".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("invalid character {}", q(c)));
        }
    }
    Ok(())
}

fn email(s: &str) -> Result<(), String> {
    if s.len() > 254 {
        return Err("more than 255 characters long".into());
    }
    let Some(at) = s.rfind('@') else {
        return Err("missing @".into());
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Err("local part more than 64 characters long".into());
    }
    if local.len() > 1 && local.starts_with('"') && local.ends_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains('\\') || inner.contains('"') {
            return Err("backslash and quote are not allowed within quoted local part".into());
        }
    } else {
        if local.starts_with('.') {
            return Err("starts with dot".into());
        }
        if local.ends_with('.') {
            return Err("ends with dot".into());
        }
        if local.contains("..") {
            return Err("consecutive dots".into());
        }
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(*c)))
        {
            return Err(format!("invalid character {}", q(c)));
        }
    }
    if domain.starts_with('[') && domain.ends_with(']') && domain.len() >= 2 {
        let inner = &domain[1..domain.len() - 1];
        if let Some(rem) = inner.strip_prefix("IPv6:") {
            return ipv6(rem).map_err(|e| format!("invalid ipv6 address: {e}"));
        }
        return ipv4(inner).map_err(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname(domain).map_err(|e| format!("invalid domain: {e}"))
}

/// The `time` package's `quote`: non-ASCII and control bytes as `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        if !c.is_ascii() || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Go's `time.Parse("2006-01-02", s)`.
fn date(s: &str) -> Result<(), String> {
    let quoted = time_quote(s);
    let cannot = |rest: &str, elem: &str| {
        Err(format!(
            "parsing time {quoted} as \"2006-01-02\": cannot parse {} as {}",
            time_quote(rest),
            time_quote(elem)
        ))
    };
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| {
        b.get(from..from + n)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|d| d.iter().fold(0u32, |a, x| a * 10 + u32::from(x - b'0')))
    };
    let Some(year) = digits(0, 4) else {
        return cannot(s, "2006");
    };
    if b.get(4) != Some(&b'-') {
        return cannot(&s[4..], "-");
    }
    let Some(month) = digits(5, 2) else {
        return cannot(&s[5..], "01");
    };
    if !(1..=12).contains(&month) {
        return Err(format!("parsing time {quoted}: month out of range"));
    }
    if b.get(7) != Some(&b'-') {
        return cannot(&s[7..], "-");
    }
    let Some(day) = digits(8, 2) else {
        return cannot(&s[8..], "02");
    };
    if !(1..=31).contains(&day) {
        return Err(format!("parsing time {quoted}: day out of range"));
    }
    if s.len() > 10 {
        return Err(format!(
            "parsing time {quoted}: extra text: {}",
            time_quote(&s[10..])
        ));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let max = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > max {
        return Err(format!("parsing time {quoted}: day out of range"));
    }
    Ok(())
}

fn time(str: &str) -> Result<(), String> {
    if str.len() < 9 {
        return Err("less than 9 characters long".into());
    }
    let b = str.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return Err("missing colon in correct place".into());
    }
    let Some(head) = str.get(..8) else {
        return Err("invalid hour/min/sec".into());
    };
    let mut hms = Vec::new();
    for tok in head.splitn(3, ':') {
        let i = atoi(tok).map_err(|_| "invalid hour/min/sec".to_owned())?;
        if i < 0 {
            return Err("non-positive hour/min/sec".into());
        }
        hms.push(i);
    }
    let (mut h, mut m, s) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || s > 60 {
        return Err("hour/min/sec out of range".into());
    }
    let mut rest = &str[8..];
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err("no digits in second fraction".into());
        }
        rest = &r[n..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() != 6 {
            return Err("offset must be 6 characters long".into());
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return Err("offset must begin with plus/minus".into()),
        };
        let off = &rest[1..];
        if off.as_bytes()[2] != b':' {
            return Err("missing colon in offset in correct place".into());
        }
        let mut zhm = Vec::new();
        for tok in off.splitn(2, ':') {
            let i = atoi(tok).map_err(|_| "invalid hour/min in offset".to_owned())?;
            if i < 0 {
                return Err("non-positive hour/min in offset".into());
            }
            zhm.push(i);
        }
        let (zh, zm) = (zhm[0], zhm[1]);
        if zh > 23 || zm > 59 {
            return Err("hour/min in offset out of range".into());
        }
        let mut hm = (h * 60 + m) + sign * (zh * 60 + zm);
        if hm < 0 {
            hm += 24 * 60;
        }
        h = hm / 60;
        m = hm % 60;
    }
    if s >= 60 && (h != 23 || m != 59) {
        return Err("invalid leap second".into());
    }
    Ok(())
}

fn date_time(s: &str) -> Result<(), String> {
    if s.len() < 20 {
        return Err("less than 20 characters long".into());
    }
    let b = s.as_bytes();
    if b[10] != b't' && b[10] != b'T' {
        return Err("11th character must be t or T".into());
    }
    let (Some(d), Some(t)) = (s.get(..10), s.get(11..)) else {
        return Err("11th character must be t or T".into());
    };
    date(d).map_err(|e| format!("invalid date element: {e}"))?;
    time(t).map_err(|e| format!("invalid time element: {e}"))
}

fn period(s: &str) -> Result<(), String> {
    let Some((start, end)) = s.split_once('/') else {
        return Err("missing slash".into());
    };
    if start.starts_with('P') {
        duration(start).map_err(|e| format!("invalid start duration: {e}"))?;
        date_time(end).map_err(|e| format!("invalid end date-time: {e}"))
    } else {
        date_time(start).map_err(|e| format!("invalid start date-time: {e}"))?;
        if end.starts_with('P') {
            duration(end).map_err(|e| format!("invalid end duration: {e}"))
        } else {
            date_time(end).map_err(|e| format!("invalid end date-time: {e}"))
        }
    }
}

/// The parts of Go's `url.Parse` the URI formats need: whether it has a scheme, and the
/// errors for a bad scheme, a bad escape or a bad port.
fn parse_url(s: &str) -> Result<bool, String> {
    let quoted = tether_gotemplate::quote(s);
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!(
            "parse {quoted}: net/url: invalid control character in URL"
        ));
    }
    let without_frag = s.split('#').next().unwrap_or("");
    // Escapes.
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                let esc: String = s[i..].chars().take(3).collect();
                return Err(format!(
                    "parse {quoted}: invalid URL escape {}",
                    tether_gotemplate::quote(&esc)
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    // Go's getScheme.
    let mut has_scheme = false;
    for (i, c) in without_frag.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err(format!("parse {quoted}: missing protocol scheme")),
            b':' => {
                has_scheme = true;
                break;
            }
            _ => break,
        }
    }
    if !has_scheme {
        let rest = without_frag.split('?').next().unwrap_or("");
        let first = rest.split('/').next().unwrap_or("");
        if !rest.starts_with('/') && first.contains(':') {
            return Err(format!(
                "parse {quoted}: first path segment in URL cannot contain colon"
            ));
        }
    }
    Ok(has_scheme)
}

fn uri(s: &str) -> Result<(), String> {
    if parse_url(s)? {
        Ok(())
    } else {
        Err("relative url".into())
    }
}

fn semver(s: &str) -> Result<(), String> {
    let mut s = s;
    if let Some(i) = s.find('+') {
        let build = &s[i + 1..];
        if build.is_empty() {
            return Err("build is empty".into());
        }
        for id in build.split('.') {
            if id.is_empty() {
                return Err("build identifier is empty".into());
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(format!("invalid character {} in build identifier", q(c)));
            }
        }
        s = &s[..i];
    }
    if let Some(i) = s.find('-') {
        for id in s[i + 1..].split('.') {
            if id.is_empty() {
                return Err("pre-release identifier is empty".into());
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(format!(
                    "invalid character {} in pre-release identifier",
                    q(c)
                ));
            }
            let all_digits = id.bytes().all(|b| b.is_ascii_digit());
            if all_digits && id.len() > 1 && id.starts_with('0') {
                return Err("pre-release numeric identifier starts with zero".into());
            }
        }
        s = &s[..i];
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 3 {
        return Err("versionCore must have 3 numbers separated by dot".into());
    }
    for (name, v) in ["major", "minor", "patch"].iter().zip(parts) {
        if v.is_empty() {
            return Err(format!("{name} is empty"));
        }
        if v.len() > 1 && v.starts_with('0') {
            return Err(format!("{name} starts with zero"));
        }
        if !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{name} contains non-digit"));
        }
    }
    Ok(())
}
