//! Go's `encoding/json` as Helm's release records use it: the compact writer (HTML-safe string
//! escaping, float64 formatting, map keys sorted), `time.Time` as RFC 3339 with nanoseconds,
//! and a field reader that decodes a JSON object into a struct the way Go does (keys matched
//! exactly or case-insensitively, `null` leaving the zero value, type mismatches refused) while
//! keeping the fields it does not know so a rewrite loses nothing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, FixedOffset, TimeZone as _, Utc};
use serde_json::{Map as JsonMap, Value as Json};
use tether_core::gojson::write_string;

use super::ReleaseError;

/// A Go `time.Time` as it travels through JSON: an instant with its UTC offset, or Go's
/// zero time (`0001-01-01T00:00:00Z`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct GoTime(Option<DateTime<FixedOffset>>);

impl GoTime {
    /// Go's zero time.
    pub const ZERO: GoTime = GoTime(None);

    /// Now, in UTC.
    pub fn now() -> GoTime {
        GoTime::from(Utc::now())
    }

    /// Whether this is Go's zero time.
    pub fn is_zero(&self) -> bool {
        self.0.is_none()
    }

    /// The instant, or `None` for the zero time.
    pub fn datetime(&self) -> Option<DateTime<FixedOffset>> {
        self.0
    }

    /// `time.RFC3339Nano`, the text Go's `MarshalJSON` writes.
    pub fn to_rfc3339_nano(&self) -> String {
        let Some(t) = self.0 else {
            return "0001-01-01T00:00:00Z".into();
        };
        let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let nanos = t.timestamp_subsec_nanos();
        if nanos > 0 {
            let frac = format!("{nanos:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        let offset = t.offset().local_minus_utc();
        if offset == 0 {
            out.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60));
        }
        out
    }

    /// Parses RFC 3339 text; the zero instant reads as the zero time.
    pub fn parse(text: &str) -> Result<GoTime, chrono::ParseError> {
        let t = DateTime::parse_from_rfc3339(text)?;
        Ok(GoTime::from(t))
    }
}

impl<Tz: chrono::TimeZone> From<DateTime<Tz>> for GoTime {
    fn from(t: DateTime<Tz>) -> GoTime {
        let fixed = t.fixed_offset();
        let zero = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single();
        if zero.is_some_and(|z| z == fixed) {
            return GoTime::ZERO;
        }
        GoTime(Some(fixed))
    }
}

/// Serialises `value` as Go's `json.Marshal` would: compact, `<`, `>`, `&`, U+2028 and
/// U+2029 escaped, float64 numbers in Go's format. Objects are written in their map order;
/// callers sort the ones Go stores as maps ([`sorted`]).
pub fn to_go_json(value: &Json) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) if !n.is_f64() => out.push_str(&i.to_string()),
            (_, Some(u), _) if !n.is_f64() => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&tether_core::yaml::go_json_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Json::String(s) => write_string(out, s, true),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k, true);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// `value` with every object's keys sorted, as Go writes a `map[string]any`.
pub fn sorted(value: &Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(sorted_map(map)),
        Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// [`sorted`] for a map.
pub fn sorted_map(map: &JsonMap<String, Json>) -> JsonMap<String, Json> {
    let mut entries: Vec<(&String, &Json)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .into_iter()
        .map(|(k, v)| (k.clone(), sorted(v)))
        .collect()
}

/// Builds a JSON object in Go's struct field order, applying `omitempty`.
#[derive(Default)]
pub struct ObjectBuilder(JsonMap<String, Json>);

impl ObjectBuilder {
    /// A field written always.
    pub fn field(mut self, key: &str, value: Json) -> Self {
        self.0.insert(key.into(), value);
        self
    }

    /// A string field with `omitempty`.
    pub fn string(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            return self;
        }
        self.field(key, Json::String(value.into()))
    }

    /// An integer field with `omitempty`.
    pub fn int(self, key: &str, value: i64) -> Self {
        if value == 0 {
            return self;
        }
        self.field(key, Json::from(value))
    }

    /// A bool field with `omitempty`.
    pub fn boolean(self, key: &str, value: bool) -> Self {
        if !value {
            return self;
        }
        self.field(key, Json::Bool(true))
    }

    /// A `[]string` field with `omitempty`.
    pub fn strings(self, key: &str, values: &[String]) -> Self {
        if values.is_empty() {
            return self;
        }
        self.field(key, Json::from(values.to_vec()))
    }

    /// A `time.Time` field with `omitzero` (or `omitempty` on a pointer).
    pub fn time_omitzero(self, key: &str, value: &GoTime) -> Self {
        if value.is_zero() {
            return self;
        }
        self.time(key, value)
    }

    /// A `time.Time` field written always.
    pub fn time(self, key: &str, value: &GoTime) -> Self {
        self.field(key, Json::String(value.to_rfc3339_nano()))
    }

    /// The unknown fields read with the object, after the known ones.
    pub fn unknown(mut self, unknown: &JsonMap<String, Json>) -> Self {
        for (k, v) in unknown {
            if !self.0.contains_key(k) {
                self.0.insert(k.clone(), v.clone());
            }
        }
        self
    }

    /// The object.
    pub fn build(self) -> Json {
        Json::Object(self.0)
    }
}

/// Base64 as Go encodes `[]byte`.
pub fn bytes_json(data: &[u8]) -> Json {
    Json::String(BASE64.encode(data))
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Reads a JSON object into a Go struct's fields; what is left are the unknown fields.
pub struct Fields {
    obj: JsonMap<String, Json>,
    owner: &'static str,
}

impl Fields {
    /// The fields of `value`, which must be an object, for Go type `owner`.
    pub fn of(value: Json, owner: &'static str) -> Result<Fields, ReleaseError> {
        match value {
            Json::Object(obj) => Ok(Fields { obj, owner }),
            other => Err(ReleaseError::Json(format!(
                "json: cannot unmarshal {} into Go value of type {owner}",
                kind(&other)
            ))),
        }
    }

    fn mismatch(&self, key: &str, value: &Json, go_type: &str) -> ReleaseError {
        ReleaseError::Json(format!(
            "json: cannot unmarshal {} into Go struct field {}.{key} of type {go_type}",
            kind(value),
            self.owner
        ))
    }

    /// Removes the field named `key` (exactly, else case-insensitively, as Go matches).
    pub fn take(&mut self, key: &str) -> Option<Json> {
        if let Some(v) = self.obj.shift_remove(key) {
            self.obj.retain(|k, _| !k.eq_ignore_ascii_case(key));
            return Some(v);
        }
        let found = self
            .obj
            .keys()
            .find(|k| k.eq_ignore_ascii_case(key))?
            .clone();
        let value = self.obj.shift_remove(&found);
        self.obj.retain(|k, _| !k.eq_ignore_ascii_case(key));
        value
    }

    /// A `string` field.
    pub fn string(&mut self, key: &str) -> Result<String, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(String::new()),
            Some(Json::String(s)) => Ok(s),
            Some(other) => Err(self.mismatch(key, &other, "string")),
        }
    }

    /// An `int` field.
    pub fn int(&mut self, key: &str) -> Result<i64, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(0),
            Some(Json::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or(0)),
            Some(other) => Err(self.mismatch(key, &other, "int")),
        }
    }

    /// A `bool` field.
    pub fn boolean(&mut self, key: &str) -> Result<bool, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(false),
            Some(Json::Bool(b)) => Ok(b),
            Some(other) => Err(self.mismatch(key, &other, "bool")),
        }
    }

    /// A `[]string` field (also `[]HookEvent` and the like).
    pub fn strings(&mut self, key: &str) -> Result<Vec<String>, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Json::String(s) => Ok(s),
                    Json::Null => Ok(String::new()),
                    other => Err(self.mismatch(key, &other, "string")),
                })
                .collect(),
            Some(other) => Err(self.mismatch(key, &other, "[]string")),
        }
    }

    /// A `map[string]string` field.
    pub fn string_map(
        &mut self,
        key: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(Default::default()),
            Some(Json::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Json::String(s) => Ok((k, s)),
                    Json::Null => Ok((k, String::new())),
                    other => Err(self.mismatch(key, &other, "string")),
                })
                .collect(),
            Some(other) => Err(self.mismatch(key, &other, "map[string]string")),
        }
    }

    /// A `map[string]any` field; `None` when absent or `null`. Numbers become float64.
    pub fn any_map(&mut self, key: &str) -> Result<Option<JsonMap<String, Json>>, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Object(map)) => match crate::values::floats(Json::Object(map)) {
                Json::Object(map) => Ok(Some(map)),
                _ => Ok(None),
            },
            Some(other) => Err(self.mismatch(key, &other, "map[string]interface {}")),
        }
    }

    /// A `[]any` field; numbers become float64.
    pub fn any_list(&mut self, key: &str) -> Result<Vec<Json>, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => Ok(items.into_iter().map(crate::values::floats).collect()),
            Some(other) => Err(self.mismatch(key, &other, "[]interface {}")),
        }
    }

    /// A `[]byte` field (base64); `None` when absent or `null`.
    pub fn bytes(&mut self, key: &str) -> Result<Option<Vec<u8>>, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => {
                let clean: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
                BASE64.decode(clean).map(Some).map_err(|e| {
                    ReleaseError::Json(format!(
                        "illegal base64 data in Go struct field {}.{key}: {e}",
                        self.owner
                    ))
                })
            }
            Some(other) => Err(self.mismatch(key, &other, "[]uint8")),
        }
    }

    /// A `time.Time` field; `null` and `""` read as the zero time.
    pub fn time(&mut self, key: &str) -> Result<GoTime, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(GoTime::ZERO),
            Some(Json::String(s)) if s.is_empty() => Ok(GoTime::ZERO),
            Some(Json::String(s)) => GoTime::parse(&s).map_err(|e| {
                ReleaseError::Json(format!(
                    "parsing time {s:?} in Go struct field {}.{key}: {e}",
                    self.owner
                ))
            }),
            Some(other) => Err(self.mismatch(key, &other, "time.Time")),
        }
    }

    /// An object field decoded by `decode`; `None` when absent or `null`.
    pub fn object<T>(
        &mut self,
        key: &str,
        decode: impl FnOnce(Json) -> Result<T, ReleaseError>,
    ) -> Result<Option<T>, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => decode(v).map(Some),
        }
    }

    /// A slice of objects decoded by `decode`; `None` when absent or `null`. A `null`
    /// element is refused: Helm would dereference it.
    pub fn objects<T>(
        &mut self,
        key: &str,
        decode: impl Fn(Json) -> Result<T, ReleaseError>,
    ) -> Result<Option<Vec<T>>, ReleaseError> {
        match self.take(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Json::Null => Err(ReleaseError::Json(format!(
                        "null element in Go struct field {}.{key}",
                        self.owner
                    ))),
                    item => decode(item),
                })
                .collect::<Result<Vec<T>, _>>()
                .map(Some),
            Some(other) => Err(self.mismatch(key, &other, "slice")),
        }
    }

    /// A raw field kept as JSON; `None` when absent or `null`.
    pub fn raw(&mut self, key: &str) -> Option<Json> {
        self.take(key).filter(|v| !v.is_null())
    }

    /// The fields not taken.
    pub fn unknown(self) -> JsonMap<String, Json> {
        self.obj
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_print_as_go_rfc3339_nano() -> Result<(), chrono::ParseError> {
        let cases = [
            (
                "2026-12-06T22:20:05.123456789Z",
                "2026-12-06T22:20:05.123456789Z",
            ),
            ("2026-12-06T22:20:05.120000000Z", "2026-12-06T22:20:05.12Z"),
            ("2026-12-06T22:20:05Z", "2026-12-06T22:20:05Z"),
            ("2026-12-06T23:20:05.5+01:00", "2026-12-06T23:20:05.5+01:00"),
            ("2026-12-06T17:50:05-04:30", "2026-12-06T17:50:05-04:30"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ];
        for (input, want) in cases {
            assert_eq!(GoTime::parse(input)?.to_rfc3339_nano(), want, "{input}");
        }
        assert!(GoTime::parse("0001-01-01T00:00:00Z")?.is_zero());
        assert!(!GoTime::parse("0001-01-01T00:00:00+01:00")?.is_zero());
        Ok(())
    }

    #[test]
    fn the_writer_escapes_and_formats_numbers_as_go() {
        let value = json!({"a": "<b> & \u{2028}\u{1}", "f": 3.0, "g": 0.5, "h": 1e21, "i": -7});
        assert_eq!(
            to_go_json(&value),
            r#"{"a":"\u003cb\u003e \u0026 \u2028\u0001","f":3,"g":0.5,"h":1e+21,"i":-7}"#
        );
    }

    #[test]
    fn fields_match_keys_case_insensitively_and_keep_the_rest() -> Result<(), ReleaseError> {
        let mut f = Fields::of(json!({"Name": "x", "future": [1], "version": 3}), "Release")?;
        assert_eq!(f.string("name")?, "x");
        assert_eq!(f.int("version")?, 3);
        assert_eq!(Json::Object(f.unknown()), json!({"future": [1]}));
        Ok(())
    }

    #[test]
    fn fields_refuse_a_mismatched_type_as_go_does() -> Result<(), ReleaseError> {
        let mut f = Fields::of(json!({"version": "3"}), "Release")?;
        let err = f.int("version").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("json: cannot unmarshal string into Go struct field Release.version of type int")
        );
        Ok(())
    }
}
