//! `toToml`: values as BurntSushi/toml encodes a `map[string]interface {}` — plain keys
//! first, then tables (`[a.b]`, indented two spaces per level) and arrays of tables, keys
//! sorted.

use serde_json::{Map, Value as Json};

/// Encodes a map as TOML (other values encode to the empty string).
pub fn to_toml(value: &Json) -> String {
    let mut out = String::new();
    if let Json::Object(obj) = value {
        write_table(&mut out, obj, &[]);
    }
    out
}

fn is_table(v: &Json) -> bool {
    matches!(v, Json::Object(_))
}

fn is_table_array(v: &Json) -> bool {
    matches!(v, Json::Array(items) if !items.is_empty() && items.iter().all(is_table))
}

fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { k.to_owned() } else { quote(k) }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => i.to_string(),
            _ => float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => quote(s),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().filter(|v| !v.is_null()).map(scalar).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Object(obj) => {
            let mut keys: Vec<&String> = obj.keys().filter(|k| !obj[*k].is_null()).collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{} = {}", key(k), scalar(&obj[*k])))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// BurntSushi's float: Go's shortest `%g`, with `.0` added to a bare integer.
fn float(f: f64) -> String {
    let text = tether_gotemplate::format_float_g(f, None);
    if text.contains(['.', 'e', 'n', 'N']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// BurntSushi's `eMap`: plain keys first, then tables, each group sorted; a key's line is
/// indented two spaces per level of its path below the top; a blank line comes before a
/// top-level table and before every array-of-tables entry (once anything was written).
fn write_table(out: &mut String, obj: &Map<String, Json>, path: &[String]) {
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    let indent = "  ".repeat(path.len());
    for k in &keys {
        let v = &obj[*k];
        if v.is_null() || is_table(v) || is_table_array(v) {
            continue;
        }
        out.push_str(&format!("{indent}{} = {}\n", key(k), scalar(v)));
    }
    for k in &keys {
        let v = &obj[*k];
        let mut sub_path = path.to_vec();
        sub_path.push(key(k));
        let header_indent = "  ".repeat(path.len());
        match v {
            Json::Object(sub) => {
                if sub_path.len() == 1 && !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{header_indent}[{}]\n", sub_path.join(".")));
                write_table(out, sub, &sub_path);
            }
            Json::Array(items) if is_table_array(v) => {
                for item in items {
                    if let Json::Object(sub) = item {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&format!("{header_indent}[[{}]]\n", sub_path.join(".")));
                        write_table(out, sub, &sub_path);
                    }
                }
            }
            _ => {}
        }
    }
}
