//! `toToml`: values as BurntSushi/toml encodes a `map[string]interface {}` — plain keys
//! first, then tables (`[a.b]`, indented two spaces per level) and arrays of tables, keys
//! sorted. `fromToml`: a document (parsed by the `toml` crate) as the Go values BurntSushi
//! decodes into a `map[string]interface {}`: int64, float64, string, bool, `time.Time`,
//! `[]interface {}`, nested maps.

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

/// A TOML document as the map Helm's `fromToml` returns; `Err` with the parser's message.
pub fn from_toml(text: &str) -> Result<tether_gotemplate::Value, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let msg = e.message().to_owned();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("toml: line {line}: {msg}")
            }
            None => format!("toml: {msg}"),
        }
    })?;
    Ok(toml_table(&table))
}

fn toml_table(table: &toml::Table) -> tether_gotemplate::Value {
    let mut map =
        tether_gotemplate::Map::new("map[string]interface {}", tether_gotemplate::Value::Nil);
    map.string_keyed = true;
    for (k, v) in table {
        map.insert(tether_gotemplate::Value::String(k.clone()), toml_value(v));
    }
    tether_gotemplate::Value::Map(map)
}

fn toml_value(v: &toml::Value) -> tether_gotemplate::Value {
    use tether_gotemplate::Value as V;
    match v {
        toml::Value::String(s) => V::String(s.clone()),
        toml::Value::Integer(i) => V::Int64(*i),
        toml::Value::Float(f) => V::Float(*f),
        toml::Value::Boolean(b) => V::Bool(*b),
        toml::Value::Datetime(dt) => toml_datetime(dt),
        toml::Value::Array(items) => V::list(items.iter().map(toml_value).collect()),
        toml::Value::Table(t) => toml_table(t),
    }
}

/// A TOML date-time as BurntSushi's `time.Time`: an offset date-time at its offset; local
/// forms in Go's `time.Local`-less zones (printed without a name).
fn toml_datetime(dt: &toml::value::Datetime) -> tether_gotemplate::Value {
    let (y, mo, d) = dt.date.map_or((0, 1, 1), |d| {
        (i32::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    let (h, mi, s, n) = dt.time.map_or((0, 0, 0, 0), |t| {
        (
            u32::from(t.hour),
            u32::from(t.minute),
            u32::from(t.second.unwrap_or(0)),
            t.nanosecond.unwrap_or(0),
        )
    });
    let wall = chrono::NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_nano_opt(h, mi, s, n))
        .map_or(0, |w| w.and_utc().timestamp());
    let offset = match dt.offset {
        Some(toml::value::Offset::Z) | None => 0,
        Some(toml::value::Offset::Custom { minutes }) => i32::from(minutes) * 60,
    };
    let mut t = crate::dates::GoTime::at(wall - i64::from(offset), n);
    t.offset = offset;
    t.zone = match dt.offset {
        Some(toml::value::Offset::Z) => "UTC".into(),
        Some(_) => String::new(),
        // BurntSushi's local date-times live in zones named after their kind.
        None if dt.date.is_some() && dt.time.is_some() => "datetime-local".into(),
        None if dt.date.is_some() => "date-local".into(),
        None => "time-local".into(),
    };
    t.to_value()
}
