//! sprig's hashing, base64, regular expression, path and JSON functions.

use base64::Engine as _;
use sha2::Digest as _;
use tether_core::gojson::write_string;

use super::{add, fixed, i, s, string};
use crate::funcs::{FuncMap, Param};
use crate::value::Value;

use Param::{Any, Int, String as Str};

pub(super) fn register(m: &mut FuncMap) {
    add(
        m,
        "sha256sum",
        fixed(&[Str], |a| {
            string(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes())))
        }),
    );
    add(
        m,
        "sha512sum",
        fixed(&[Str], |a| {
            string(hex(&sha2::Sha512::digest(s(&a[0]).as_bytes())))
        }),
    );
    add(
        m,
        "b64enc",
        fixed(&[Str], |a| {
            string(base64::engine::general_purpose::STANDARD.encode(s(&a[0])))
        }),
    );
    add(m, "b64dec", fixed(&[Str], |a| string(b64dec(s(&a[0])))));
    register_regex(m);
    add(m, "base", fixed(&[Str], |a| string(base(s(&a[0])))));
    add(m, "dir", fixed(&[Str], |a| string(dir(s(&a[0])))));
    add(m, "clean", fixed(&[Str], |a| string(clean(s(&a[0])))));
    add(m, "ext", fixed(&[Str], |a| string(ext(s(&a[0])))));
    add(
        m,
        "isAbs",
        fixed(&[Str], |a| Ok(Value::Bool(s(&a[0]).starts_with('/')))),
    );
    add(
        m,
        "toJson",
        fixed(&[Any], |a| string(to_json(&a[0], true, None))),
    );
    add(
        m,
        "toRawJson",
        fixed(&[Any], |a| string(to_json(&a[0], false, None))),
    );
    add(
        m,
        "toPrettyJson",
        fixed(&[Any], |a| string(to_json(&a[0], true, Some(0)))),
    );
    add(m, "mustToJson", fixed(&[Any], |a| json_or_error(&a[0])));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sprig returns the decoding error's text instead of failing.
fn b64dec(text: &str) -> String {
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(
            base64::DecodeError::InvalidByte(offset, _)
            | base64::DecodeError::InvalidLastSymbol(offset, _),
        ) => {
            format!("illegal base64 data at input byte {offset}")
        }
        Err(_) => format!("illegal base64 data at input byte {}", text.len()),
    }
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern)
        .map_err(|e| format!("regexp: Compile({}): {e}", crate::printf::quote(pattern)))
}

fn register_regex(m: &mut FuncMap) {
    add(
        m,
        "regexMatch",
        fixed(&[Str, Str], |a| {
            Ok(Value::Bool(
                regex::Regex::new(s(&a[0])).is_ok_and(|r| r.is_match(s(&a[1]))),
            ))
        }),
    );
    add(
        m,
        "regexFind",
        fixed(&[Str, Str], |a| {
            string(compile(s(&a[0]))?.find(s(&a[1])).map_or("", |m| m.as_str()))
        }),
    );
    add(
        m,
        "regexFindAll",
        fixed(&[Str, Str, Int], |a| {
            let r = compile(s(&a[0]))?;
            let n = i(&a[2]);
            let found = r
                .find_iter(s(&a[1]))
                .take(if n < 0 { usize::MAX } else { n as usize });
            Ok(Value::slice(
                "[]string",
                found.map(|m| Value::str(m.as_str())).collect(),
            ))
        }),
    );
    add(
        m,
        "regexReplaceAll",
        fixed(&[Str, Str, Str], |a| {
            string(
                compile(s(&a[0]))?
                    .replace_all(s(&a[1]), s(&a[2]))
                    .into_owned(),
            )
        }),
    );
    add(
        m,
        "regexReplaceAllLiteral",
        fixed(&[Str, Str, Str], |a| {
            string(
                compile(s(&a[0]))?
                    .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                    .into_owned(),
            )
        }),
    );
    add(
        m,
        "regexSplit",
        fixed(&[Str, Str, Int], |a| {
            let r = compile(s(&a[0]))?;
            let n = i(&a[2]);
            let parts: Vec<Value> = if n < 0 {
                r.split(s(&a[1])).map(Value::str).collect()
            } else {
                r.splitn(s(&a[1]), n as usize).map(Value::str).collect()
            };
            Ok(Value::slice("[]string", parts))
        }),
    );
    add(
        m,
        "regexQuoteMeta",
        fixed(&[Str], |a| {
            string(s(&a[0]).chars().fold(String::new(), |mut out, c| {
                if "\\.+*?()|[]{}^$".contains(c) {
                    out.push('\\');
                }
                out.push(c);
                out
            }))
        }),
    );
    // The `must*` forms fail on a bad pattern as the plain ones already do here (sprig's
    // plain forms panic through MustCompile); `mustRegexMatch` fails where `regexMatch` is false.
    for name in [
        "regexFind",
        "regexFindAll",
        "regexReplaceAll",
        "regexReplaceAllLiteral",
        "regexSplit",
    ] {
        if let Some(f) = m.get(name).cloned() {
            let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
            m.insert(must, f);
        }
    }
    add(
        m,
        "mustRegexMatch",
        fixed(&[Str, Str], |a| {
            Ok(Value::Bool(compile(s(&a[0]))?.is_match(s(&a[1]))))
        }),
    );
}

/// Go's `path.Clean`.
fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// Go's `path.Dir`.
fn dir(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    clean(&path[..cut])
}

/// Go's `path.Ext`.
fn ext(path: &str) -> String {
    for (idx, c) in path.char_indices().rev() {
        match c {
            '/' => return String::new(),
            '.' => return path[idx..].to_owned(),
            _ => {}
        }
    }
    String::new()
}

/// The method whose (string) result is a struct's JSON text, as Go's `json.Marshaler`.
pub const MARSHAL_JSON: &str = "MarshalJSON";

fn json_or_error(v: &Value) -> Result<Value, String> {
    let mut out = String::new();
    write_json(&mut out, v, true, None)?;
    Ok(Value::String(out))
}

/// `encoding/json` as sprig's `toJson` uses it; unsupported values (struct-keyed maps) give ""
/// as sprig does. `indent` is the current depth for pretty output.
fn to_json(v: &Value, escape_html: bool, indent: Option<usize>) -> String {
    let mut out = String::new();
    match write_json(&mut out, v, escape_html, indent) {
        Ok(()) => out,
        Err(_) => String::new(),
    }
}

fn write_json(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<usize>,
) -> Result<(), String> {
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&json_float(*f)?),
        Value::String(s) => write_string(out, s, html),
        Value::Slice(sl) => {
            let elems: Vec<&Value> = sl.items.iter().collect();
            write_composite(out, '[', ']', &elems, indent, |out, v, ind| {
                write_json(out, v, html, ind)
            })?;
        }
        Value::Map(m) => {
            let Some(_level) = crate::value::Nesting::enter() else {
                return Err(format!(
                    "json: unsupported value: encountered a cycle via {}",
                    m.type_name
                ));
            };
            let snapshot = m.entries();
            let mut entries: Vec<(String, &Value)> = Vec::new();
            for (k, v) in &snapshot {
                let key = match k {
                    Value::String(s) => s.clone(),
                    Value::Int(i) | Value::Int64(i) => i.to_string(),
                    k => return Err(format!("json: unsupported type: {}", k.type_name())),
                };
                entries.push((key, v));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            write_object(out, &entries, html, indent)?;
        }
        Value::Struct(st) => {
            // A `json.Marshaler` (`time.Time`, `time.Duration` as Helm's functions model
            // them) carries its JSON text as the `MarshalJSON` method's result.
            if let Some(Value::String(text)) = st
                .methods
                .iter()
                .find(|(n, _)| n == MARSHAL_JSON)
                .map(|(_, v)| v)
            {
                out.push_str(text);
                return Ok(());
            }
            let mut entries: Vec<(String, &Value)> = Vec::new();
            flatten_fields(st, &mut entries);
            write_object(out, &entries, html, indent)?;
        }
    }
    Ok(())
}

/// Exported fields, with embedded structs' fields inlined as encoding/json does.
fn flatten_fields<'a>(st: &'a crate::value::Struct, out: &mut Vec<(String, &'a Value)>) {
    for f in &st.fields {
        match (&f.value, f.embedded) {
            (Value::Struct(inner), true) => flatten_fields(inner, out),
            (v, _) => out.push((f.name.clone(), v)),
        }
    }
}

fn write_object(
    out: &mut String,
    entries: &[(String, &Value)],
    html: bool,
    indent: Option<usize>,
) -> Result<(), String> {
    write_composite(out, '{', '}', entries, indent, |out, (k, v), ind| {
        write_string(out, k, html);
        out.push(':');
        if ind.is_some() {
            out.push(' ');
        }
        write_json(out, v, html, ind)
    })
}

fn write_composite<T>(
    out: &mut String,
    open: char,
    close: char,
    elems: &[T],
    indent: Option<usize>,
    mut write: impl FnMut(&mut String, &T, Option<usize>) -> Result<(), String>,
) -> Result<(), String> {
    out.push(open);
    if elems.is_empty() {
        out.push(close);
        return Ok(());
    }
    for (n, e) in elems.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        if let Some(depth) = indent {
            out.push('\n');
            out.push_str(&"  ".repeat(depth + 1));
        }
        write(out, e, indent.map(|d| d + 1))?;
    }
    if let Some(depth) = indent {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push(close);
    Ok(())
}

/// encoding/json float format: plain decimal, exponent form below 1e-6 or from 1e21.
fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::printf::format_float_g(f, None)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let g = format!("{f:e}");
        let (mantissa, exp) = g.split_once('e').unwrap_or((&g, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return Ok(format!("{mantissa}e{sign}{:02}", exp.abs())
            .replace("e+0", "e+")
            .replace("e-0", "e-"));
    }
    Ok(format!("{f}"))
}
