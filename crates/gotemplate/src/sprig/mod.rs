//! The sprig (v3.3) functions Flux adds with `sprig.HermeticTxtFuncMap()`, the ones commit
//! message templates use, with sprig's argument order and results:
//!
//! - strings: `trim upper lower title untitle substr repeat trimAll trimall trimSuffix
//!   trimPrefix nospace initials swapcase snakecase kebabcase camelcase trunc abbrev contains
//!   hasPrefix hasSuffix quote squote cat indent nindent replace plural toString wrap wrapWith`
//! - lists and dicts: `list tuple first last rest initial reverse compact uniq has without
//!   append push prepend concat slice sortAlpha until untilStep join splitList split splitn
//!   toStrings dict get hasKey keys values pluck`
//! - defaults and flow: `default empty coalesce all any ternary fail`
//! - integer math and conversions: `add1 add sub div mod mul max biggest min atoi int int64
//!   float64`
//! - encodings: `sha256sum sha512sum b64enc b64dec toJson toRawJson toPrettyJson mustToJson`,
//!   regular expressions `regexMatch regexFind regexFindAll regexReplaceAll
//!   regexReplaceAllLiteral regexSplit regexQuoteMeta`, paths `base dir clean ext isAbs`
//! - reflection: `kindOf typeOf kindIs typeIs deepEqual`
//! - nested maps: `merge mergeOverwrite set unset dig deepCopy pick omit`
//! - more: `chunk seq ceil floor round toDecimal b32enc b32dec adler32sum hello`, `os*`
//!   paths and `must*` forms of list and JSON functions
//! - floats (`floats`): `add1f addf subf mulf divf maxf minf` (shopspring decimal semantics),
//!   `abbrevboth`, `typeIsLike`, and the `mustRegex*` forms
//! - URLs (`url`): `urlParse urlJoin` on a port of Go's `net/url`
//!
//! Not provided: the functions sprig leaves out of the hermetic map (dates, random, env,
//! network), crypto/certificates and semver (Helm's crate adds those),
//! `fromJson`/`mustFromJson` (Helm's own); a template naming one fails to
//! parse with Go's "function not defined". `keys`/`values` return key order where sprig's is
//! Go's random map order. The case conversions split words like huandu/xstrings does for
//! ordinary identifiers, not for every mix of digits and acronyms.

mod collections;
mod dicts;
mod encoding;
mod floats;
pub use encoding::MARSHAL_JSON;
mod more;
mod strings;
mod url;

use crate::funcs::{Func, FuncMap, Param};
use crate::printf::{sprint, sprintf};
use crate::value::Value;

/// The hermetic sprig function map, as Flux registers it for `messageTemplate`.
pub fn hermetic_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    strings::register(&mut m);
    collections::register(&mut m);
    encoding::register(&mut m);
    dicts::register(&mut m);
    more::register(&mut m);
    floats::register(&mut m);
    url::register(&mut m);
    m
}

pub(crate) fn add(m: &mut FuncMap, name: &str, f: Func) {
    m.insert(name.to_owned(), f);
}

pub(crate) fn fixed(
    params: &[Param],
    f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
) -> Func {
    Func::new(params, f)
}

pub(crate) fn varargs(
    params: &[Param],
    rest: Param,
    f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
) -> Func {
    Func::variadic(params, rest, f)
}

/// The string inside a checked `string` argument.
pub(crate) fn s(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        _ => "",
    }
}

/// The integer inside a checked `int` argument.
pub(crate) fn i(v: &Value) -> i64 {
    v.as_int().unwrap_or(0)
}

pub(crate) fn string(v: impl Into<String>) -> Result<Value, String> {
    Ok(Value::String(v.into()))
}

/// sprig's `strval`: strings as they are, Stringers through `String()`, the rest with `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Struct(st) if st.stringer.is_some() => st.stringer.clone().unwrap_or_default(),
        v => sprintf("%v", std::slice::from_ref(v)),
    }
}

/// sprig's `empty`: zero numbers, empty strings and collections, false, nil; never a struct.
pub(crate) fn empty(v: &Value) -> bool {
    match v {
        Value::Struct(_) => false,
        v => !v.is_true(),
    }
}

/// spf13/cast's `ToInt64` as sprig uses it: numbers truncate, strings parse (any base, a
/// `.0` suffix dropped), booleans are 0/1, everything else is 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(s.strip_suffix(".0").unwrap_or(s)).unwrap_or(0),
        _ => 0,
    }
}

/// cast's `ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let value = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(&h.replace('_', ""), 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(&o.replace('_', ""), 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(&b.replace('_', ""), 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else if lower.chars().all(|c| c.is_ascii_digit()) && !lower.is_empty() {
        lower.parse().ok()
    } else {
        None
    }?;
    Some(if neg { -value } else { value })
}

/// The items of a slice argument, or the reflect kind name sprig's errors print.
pub(crate) fn items(v: &Value) -> Result<&[Value], &'static str> {
    match v {
        Value::Slice(s) => Ok(&s.items),
        v => Err(v.kind_name()),
    }
}

/// `fmt.Sprint` of the arguments with nils removed (sprig's `cat`).
pub(crate) fn cat(args: &[Value]) -> String {
    let kept: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
        .map(|v| sprint(std::slice::from_ref(v)))
        .collect();
    kept.join(" ")
}
