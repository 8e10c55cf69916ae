//! sprig's `urlParse` and `urlJoin`, on a port of the parts of Go's `net/url` (Go 1.26) they
//! reach: `url.Parse` (scheme, authority with userinfo and IP-literal hosts, path, query,
//! fragment, percent-decoding with Go's errors), `URL.Hostname`, `Userinfo.String` and
//! `URL.String` for a URL built from plain fields.
//!
//! Go strings may hold any bytes; a decoded `%FF` that is not UTF-8 is replaced here.

use super::{add, fixed, s, string};
use crate::funcs::{FuncMap, Param};
use crate::printf::quote;
use crate::value::{Map, Value};

pub(super) fn register(m: &mut FuncMap) {
    add(
        m,
        "urlParse",
        fixed(&[Param::String], |a| url_parse(s(&a[0]))),
    );
    add(
        m,
        "urlJoin",
        fixed(&[Param::StringMap], |a| url_join(&a[0])),
    );
}

/// The dictionary sprig builds from a parsed URL (every value a string).
fn url_parse(raw: &str) -> Result<Value, String> {
    let url = parse(raw).map_err(|e| format!("unable to parse url: {e}"))?;
    let mut dict = Map::new(Param::StringMap.go_type(), Value::Nil);
    let userinfo = url.user.as_ref().map(Userinfo::to_go_string);
    for (key, value) in [
        ("scheme", url.scheme.clone()),
        ("host", url.host.clone()),
        ("hostname", hostname(&url.host).to_owned()),
        ("path", url.path.clone()),
        ("query", url.raw_query.clone()),
        ("opaque", url.opaque.clone()),
        ("fragment", url.fragment.clone()),
        ("userinfo", userinfo.unwrap_or_default()),
    ] {
        dict.insert(Value::str(key), Value::String(value));
    }
    Ok(Value::Map(dict))
}

/// sprig's inverse of `urlParse`: a `url.URL` from the dictionary's string fields, printed.
fn url_join(dict: &Value) -> Result<Value, String> {
    let field = |key: &str| -> Result<String, String> {
        let Value::Map(m) = dict else {
            return Ok(String::new());
        };
        match m.get_str(key) {
            None => Ok(String::new()),
            Some(Value::String(v)) => Ok(v),
            Some(other) => Err(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                other.kind_name()
            )),
        }
    };
    let mut url = Url {
        scheme: field("scheme")?,
        host: field("host")?,
        path: field("path")?,
        raw_query: field("query")?,
        opaque: field("opaque")?,
        fragment: field("fragment")?,
        ..Url::default()
    };
    let userinfo = field("userinfo")?;
    if !userinfo.is_empty() {
        let probe = parse(&format!("proto://{userinfo}@host"))
            .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        url.user = probe.user;
    }
    string(url.to_go_string())
}

/// The fields of Go's `url.URL` that `Parse` fills and `String` reads.
#[derive(Debug, Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<Userinfo>,
    host: String,
    path: String,
    raw_path: String,
    raw_query: String,
    fragment: String,
    raw_fragment: String,
    force_query: bool,
    omit_host: bool,
}

#[derive(Debug)]
struct Userinfo {
    username: String,
    password: Option<String>,
}

impl Userinfo {
    fn to_go_string(&self) -> String {
        let mut out = escape(&self.username, Mode::UserPassword);
        if let Some(p) = &self.password {
            out.push(':');
            out.push_str(&escape(p, Mode::UserPassword));
        }
        out
    }
}

/// net/url's encoding modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    UserPassword,
    Fragment,
    Host,
    Zone,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    !(mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*'))
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Go's `unescape`, with its `EscapeError` and `InvalidHostError` texts.
fn unescape(text: &str, mode: Mode) -> Result<String, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut escapes = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                escapes += 1;
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    let end = (i + 3).min(b.len());
                    return Err(escape_error(&b[i..end]));
                }
                let triple = &b[i..i + 3];
                if mode == Mode::Host && unhex(b[i + 1]) < 8 && triple != b"%25" {
                    return Err(escape_error(triple));
                }
                if mode == Mode::Zone {
                    let v = (unhex(b[i + 1]) << 4) | unhex(b[i + 2]);
                    if triple != b"%25" && v != b' ' && should_escape(v, Mode::Host) {
                        return Err(escape_error(triple));
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&(c as char).to_string())
                    ));
                }
                i += 1;
            }
        }
    }
    if escapes == 0 {
        return Ok(text.to_owned());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push((unhex(b[i + 1]) << 4) | unhex(b[i + 2]));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn escape_error(bytes: &[u8]) -> String {
    format!(
        "invalid URL escape {}",
        quote(&String::from_utf8_lossy(bytes))
    )
}

/// Go's `escape` for the modes other than query components.
fn escape(text: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(text.len());
    for &c in text.as_bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(c as char);
        }
    }
    out
}

/// `url.Parse`: the error text is Go's `*url.Error` (`parse "<url>": <cause>`).
fn parse(raw: &str) -> Result<Url, String> {
    let (before, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    let mut url =
        parse_without_fragment(before).map_err(|e| format!("parse {}: {e}", quote(before)))?;
    if let Some(f) = frag.filter(|f| !f.is_empty()) {
        url.fragment =
            unescape(f, Mode::Fragment).map_err(|e| format!("parse {}: {e}", quote(raw)))?;
        url.raw_fragment = if escape(&url.fragment, Mode::Fragment) == f {
            String::new()
        } else {
            f.to_owned()
        };
    }
    Ok(url)
}

fn parse_without_fragment(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = "*".into();
        return Ok(url);
    }
    let (scheme, rest) = scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = rest;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        rest = r;
        url.raw_query = q.to_owned();
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_owned();
            return Ok(url);
        }
        let segment = rest.split('/').next().unwrap_or("");
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, path) = match authority_and_path.find('/') {
            Some(i) => authority_and_path.split_at(i),
            None => (authority_and_path, ""),
        };
        let (user, host) = parse_authority(&url.scheme, authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    url.path = unescape(rest, Mode::Path)?;
    url.raw_path = if escape(&url.path, Mode::Path) == rest {
        String::new()
    } else {
        rest.to_owned()
    };
    Ok(url)
}

/// Go's `getScheme`.
fn scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i == 0 => return Ok(("", raw)),
            b'0'..=b'9' | b'+' | b'-' | b'.' => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_authority(scheme: &str, authority: &str) -> Result<(Option<Userinfo>, String), String> {
    let at = authority.rfind('@');
    let host = parse_host(scheme, at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(at) = at else {
        return Ok((None, host));
    };
    let userinfo = &authority[..at];
    if !userinfo.chars().all(|r| {
        r.is_ascii_alphanumeric()
            || matches!(
                r,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    }) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match userinfo.split_once(':') {
        None => Userinfo {
            username: unescape(userinfo, Mode::UserPassword)?,
            password: None,
        },
        Some((name, password)) => Userinfo {
            username: unescape(name, Mode::UserPassword)?,
            password: Some(unescape(password, Mode::UserPassword)?),
        },
    };
    Ok((Some(user), host))
}

/// Go 1.26's `parseHost`.
fn parse_host(scheme: &str, host: &str) -> Result<String, String> {
    match host.rfind('[') {
        Some(i) if i > 0 => return Err("invalid IP-literal".into()),
        Some(_) => {
            let close = host.rfind(']').ok_or("missing ']' in host")?;
            let colon_port = &host[close + 1..];
            if !valid_optional_port(colon_port) {
                return Err(format!("invalid port {} after host", quote(colon_port)));
            }
            let colon_port = unescape(colon_port, Mode::Host)?;
            let inside = &host[1..close];
            let unescaped = match inside.find("%25") {
                Some(zone) => {
                    unescape(&inside[..zone], Mode::Host)? + &unescape(&inside[zone..], Mode::Zone)?
                }
                None => unescape(inside, Mode::Host)?,
            };
            check_ip_literal(&unescaped)?;
            return Ok(format!("[{unescaped}]{colon_port}"));
        }
        None => {
            // A colon list of hosts (PostgreSQL, MongoDB) stays allowed except in http(s),
            // where the port follows the first colon (Go 1.26's `urlstrictcolons=1`).
            let colon = if scheme == "http" || scheme == "https" {
                host.find(':')
            } else {
                host.rfind(':')
            };
            if let Some(i) = colon {
                let colon_port = &host[i..];
                if !valid_optional_port(colon_port) {
                    return Err(format!("invalid port {} after host", quote(colon_port)));
                }
            }
        }
    }
    unescape(host, Mode::Host)
}

/// What `netip.ParseAddr` accepts inside brackets: an IPv6 address with an optional
/// non-empty zone; an IPv4 address is refused.
fn check_ip_literal(text: &str) -> Result<(), String> {
    match parse_addr(text) {
        Ok(AddrKind::V4) => Err("invalid IP-literal".into()),
        Ok(AddrKind::V6) => Ok(()),
        Err(e) => Err(format!("invalid host: {}", e.text())),
    }
}

enum AddrKind {
    V4,
    V6,
}

/// `netip.ParseAddr`'s error: the input, the reason, and the unparsed rest it stopped at.
struct AddrError<'a> {
    input: &'a str,
    msg: &'static str,
    at: Option<&'a [u8]>,
}

impl AddrError<'_> {
    fn text(&self) -> String {
        let head = format!("ParseAddr({}): {}", quote(self.input), self.msg);
        match self.at {
            Some(at) if !at.is_empty() => {
                format!("{head} (at {})", quote(&String::from_utf8_lossy(at)))
            }
            _ => head,
        }
    }
}

/// Go's `netip.ParseAddr`, keeping only which family parsed and the errors.
fn parse_addr(input: &str) -> Result<AddrKind, AddrError<'_>> {
    let fail = |msg, at| AddrError { input, msg, at };
    for &c in input.as_bytes() {
        match c {
            b'.' => return parse_ipv4_fields(input, input.as_bytes()).map(|()| AddrKind::V4),
            b':' => return parse_ipv6(input).map(|()| AddrKind::V6),
            b'%' => return Err(fail("missing IPv6 address", None)),
            _ => {}
        }
    }
    Err(fail("unable to parse IP", None))
}

/// netip's dotted-quad reader over `s` (a tail of `input`, which errors name).
fn parse_ipv4_fields<'a>(input: &'a str, s: &'a [u8]) -> Result<(), AddrError<'a>> {
    let fail = |msg, at| Err(AddrError { input, msg, at });
    let (mut value, mut fields, mut digits) = (0u32, 0, 0);
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return fail("IPv4 field has octet with leading zero", None);
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return fail("IPv4 field has value >255", None);
                }
            }
            b'.' => {
                if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' {
                    return fail("IPv4 field must have at least one digit", Some(&s[i..]));
                }
                if fields == 3 {
                    return fail("IPv4 address too long", None);
                }
                fields += 1;
                value = 0;
                digits = 0;
            }
            _ => return fail("unexpected character", Some(&s[i..])),
        }
    }
    if fields < 3 {
        return fail("IPv4 address too short", None);
    }
    Ok(())
}

/// netip's IPv6 reader: hex groups, one `::`, an embedded IPv4 tail, a `%zone`.
fn parse_ipv6(input: &str) -> Result<(), AddrError<'_>> {
    let fail = |msg, at| Err(AddrError { input, msg, at });
    let mut s = input.as_bytes();
    let mut zone_len = 0;
    if let Some(i) = s.iter().position(|&c| c == b'%') {
        if i + 1 == s.len() {
            return fail("zone must be a non-empty string", None);
        }
        zone_len = s.len() - i - 1;
        s = &s[..i];
    }
    let mut ellipsis: Option<usize> = None;
    if s.starts_with(b"::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Ok(());
        }
    }
    let mut filled = 0;
    while filled < 16 {
        let mut off = 0;
        let mut acc = 0u32;
        while off < s.len() {
            let Some(d) = (s[off] as char).to_digit(16) else {
                break;
            };
            acc = (acc << 4) + d;
            if off > 3 {
                return fail("each group must have 4 or less digits", Some(s));
            }
            if acc > 0xffff {
                return fail("IPv6 field has value >=2^16", Some(s));
            }
            off += 1;
        }
        if off == 0 {
            return fail(
                "each colon-separated field must have at least one digit",
                Some(s),
            );
        }
        if off < s.len() && s[off] == b'.' {
            if ellipsis.is_none() && filled != 12 {
                return fail(
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    Some(s),
                );
            }
            if filled + 4 > 16 {
                return fail(
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    Some(s),
                );
            }
            let end = input.len() - if zone_len > 0 { zone_len + 1 } else { 0 };
            parse_ipv4_fields(input, &input.as_bytes()[end - s.len()..end])?;
            s = &[];
            filled += 4;
            break;
        }
        filled += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' {
            return fail("unexpected character, want colon", Some(s));
        }
        if s.len() == 1 {
            return fail("colon must be followed by more characters", Some(s));
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return fail("multiple :: in address", Some(s));
            }
            ellipsis = Some(filled);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return fail("trailing garbage after address", Some(s));
    }
    match (filled < 16, ellipsis) {
        (true, None) => fail("address string too short", None),
        (false, Some(_)) => fail("the :: must expand to at least one field of zeros", None),
        _ => Ok(()),
    }
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// `URL.Hostname`: the host without its port or IPv6 brackets.
fn hostname(host: &str) -> &str {
    let mut h = host;
    if let Some(colon) = h.rfind(':')
        && valid_optional_port(&h[colon..])
    {
        h = &h[..colon];
    }
    if h.starts_with('[') && h.ends_with(']') && h.len() >= 2 {
        h = &h[1..h.len() - 1];
    }
    h
}

impl Url {
    fn escaped_path(&self) -> String {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).is_ok_and(|p| p == self.path)
        {
            return self.raw_path.clone();
        }
        if self.path == "*" {
            return "*".into();
        }
        escape(&self.path, Mode::Path)
    }

    fn escaped_fragment(&self) -> String {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape(&self.raw_fragment, Mode::Fragment).is_ok_and(|f| f == self.fragment)
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }

    /// `URL.String`.
    fn to_go_string(&self) -> String {
        let mut buf = String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if !self.opaque.is_empty() {
            buf.push_str(&self.opaque);
        } else {
            let has_authority =
                !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some();
            if has_authority && !(self.omit_host && self.host.is_empty() && self.user.is_none()) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.push_str("//");
                }
                if let Some(user) = &self.user {
                    buf.push_str(&user.to_go_string());
                    buf.push('@');
                }
                buf.push_str(&escape(&self.host, Mode::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
                buf.push_str("./");
            }
            buf.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&self.escaped_fragment());
        }
        buf
    }
}

fn valid_encoded(text: &str, mode: Mode) -> bool {
    text.bytes().all(|c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, mode)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(raw: &str) -> Vec<(String, String)> {
        let Ok(Value::Map(m)) = url_parse(raw) else {
            panic!("{raw} did not parse");
        };
        m.entries()
            .into_iter()
            .map(|(k, v)| (s(&k).to_owned(), s(&v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_every_part() {
        let d = dict("HTTPS://us%40r:p%3Ass@[fe80::1%25en0]:8443/a%2Fb c?x=1&y#fr%20ag");
        let get = |k: &str| d.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("scheme"), Some("https"));
        assert_eq!(get("host"), Some("[fe80::1%en0]:8443"));
        assert_eq!(get("hostname"), Some("fe80::1%en0"));
        assert_eq!(get("path"), Some("/a/b c"));
        assert_eq!(get("query"), Some("x=1&y"));
        assert_eq!(get("fragment"), Some("fr ag"));
        assert_eq!(get("userinfo"), Some("us%40r:p%3Ass"));
    }

    #[test]
    fn errors_name_the_url_and_cause() {
        assert_eq!(
            url_parse("http://h/%zz").err().as_deref(),
            Some(r#"unable to parse url: parse "http://h/%zz": invalid URL escape "%zz""#)
        );
        assert_eq!(
            url_parse(":x").err().as_deref(),
            Some(r#"unable to parse url: parse ":x": missing protocol scheme"#)
        );
    }
}
