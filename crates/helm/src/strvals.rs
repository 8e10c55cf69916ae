//! Helm's `--set` grammar (`strvals`): `a.b=c,list[0]=x,l={a,b}`, backslash escapes, typed
//! values (`true`, `null`, integers as int64) or strings (`--set-string`), JSON values
//! (`--set-json`) and file contents (`--set-file`).

use serde_json::{Map as JsonMap, Value as Json};

/// How a `--set*` flag reads its values.
pub enum Reader<'a> {
    /// `--set`: booleans, `null`, int64, else strings.
    Typed,
    /// `--set-string`: strings.
    Strings,
    /// `--set-json`: one JSON value after `=`.
    Json,
    /// `--set-file`: the value names a file whose contents are the string value.
    File(&'a dyn Fn(&str) -> Result<String, String>),
}

const MAX_INDEX: usize = 65536;
const MAX_NESTED: usize = 30;

/// Parses `text` into `data` as `helm --set` does.
pub fn parse_into(
    text: &str,
    data: &mut JsonMap<String, Json>,
    reader: Reader<'_>,
) -> Result<(), String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        reader,
    };
    loop {
        match p.key(data, 0) {
            Ok(()) => {}
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Error(e)) => return Err(e),
        }
    }
}

enum Stop {
    Eof,
    Error(String),
}

impl From<String> for Stop {
    fn from(e: String) -> Self {
        Stop::Error(e)
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    reader: Reader<'a>,
}

fn typed(value: &str) -> Json {
    if value.eq_ignore_ascii_case("true") {
        return Json::Bool(true);
    }
    if value.eq_ignore_ascii_case("false") {
        return Json::Bool(false);
    }
    if value.eq_ignore_ascii_case("null") {
        return Json::Null;
    }
    if value == "0" {
        return Json::from(0i64);
    }
    if !value.is_empty() && !value.starts_with('0') {
        let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = value.parse::<i64>()
        {
            return Json::from(i);
        }
    }
    Json::String(value.to_owned())
}

fn go_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "nil",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float64",
        Json::Number(_) => "int64",
        Json::String(_) => "string",
        Json::Array(_) => "[]interface {}",
        Json::Object(_) => "map[string]interface {}",
    }
}

impl Parser<'_> {
    /// Reads until one of `stop`, handling `\` escapes; `None` as the stop at end of input.
    fn runes_until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if stop.contains(&c) {
                return (out, Some(c));
            }
            if c == '\\' {
                match self.chars.get(self.pos) {
                    Some(&next) => {
                        self.pos += 1;
                        out.push(next);
                    }
                    None => return (out, None),
                }
                continue;
            }
            out.push(c);
        }
        (out, None)
    }

    fn read_value(&self, raw: &str) -> Result<Json, String> {
        match &self.reader {
            Reader::Typed => Ok(typed(raw)),
            Reader::Strings | Reader::Json => Ok(Json::String(raw.to_owned())),
            Reader::File(read) => read(raw).map(Json::String),
        }
    }

    fn key(&mut self, data: &mut JsonMap<String, Json>, nested: usize) -> Result<(), Stop> {
        let (k, last) = self.runes_until(&['=', '[', ',', '.']);
        match last {
            None if k.is_empty() => Err(Stop::Eof),
            None => Err(format!("key {k:?} has no value").into()),
            Some('[') => {
                let i = self.key_index()?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Json::Array(items)) => items.clone(),
                    Some(other) => {
                        return Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_kind(other)
                        )
                        .into());
                    }
                };
                let (list, result) = self.list_item(list, i, nested);
                set(data, &k, Json::Array(list));
                result
            }
            Some('=') => self.assign(data, &k),
            Some(',') => {
                set(data, &k, Json::String(String::new()));
                Err(format!("key {k:?} has no value (cannot end with ,)").into())
            }
            Some(_) => {
                let nested = nested + 1;
                if nested > MAX_NESTED {
                    return Err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED}"
                    )
                    .into());
                }
                let mut inner = match data.get(&k) {
                    None => JsonMap::new(),
                    Some(Json::Object(obj)) => obj.clone(),
                    Some(other) => {
                        return Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_kind(other)
                        )
                        .into());
                    }
                };
                let result = self.key(&mut inner, nested);
                if result.is_ok() && inner.is_empty() {
                    return Err(format!("key map {k:?} has no value").into());
                }
                if !inner.is_empty() {
                    set(data, &k, Json::Object(inner));
                }
                result
            }
        }
    }

    fn assign(&mut self, data: &mut JsonMap<String, Json>, k: &str) -> Result<(), Stop> {
        if matches!(self.reader, Reader::Json) {
            let value = self.json_value()?;
            set(data, k, value);
            return Ok(());
        }
        match self.val_list() {
            Ok(Some(list)) => {
                set(data, k, Json::Array(list));
                Ok(())
            }
            Ok(None) => {
                let (raw, _) = self.runes_until(&[',']);
                let value = self.read_value(&raw)?;
                set(data, k, value);
                Ok(())
            }
            Err(Stop::Eof) => {
                set(data, k, Json::String(String::new()));
                Err(Stop::Eof)
            }
            Err(e) => Err(e),
        }
    }

    /// A JSON value up to the next `,` (or a bare `,`/end: null).
    fn json_value(&mut self) -> Result<Json, Stop> {
        if self.empty_val() {
            return Ok(Json::Null);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Json>();
        let value = match stream.next() {
            Some(Ok(v)) => crate::values::floats(v),
            Some(Err(e)) => return Err(e.to_string().into()),
            None => return Err("unexpected end of JSON input".to_owned().into()),
        };
        let consumed = rest[..stream.byte_offset()].chars().count();
        self.pos += consumed;
        if !self.empty_val() {
            return Err("invalid character after JSON value".to_owned().into());
        }
        Ok(value)
    }

    /// Skips blanks; true at a `,` (consumed) or at the end.
    fn empty_val(&mut self) -> bool {
        while let Some(&c) = self.chars.get(self.pos) {
            if c == ',' {
                self.pos += 1;
                return true;
            }
            if !c.is_whitespace() {
                return false;
            }
            self.pos += 1;
        }
        true
    }

    fn key_index(&mut self) -> Result<usize, Stop> {
        let (v, last) = self.runes_until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        v.parse::<i64>()
            .map_err(|_| {
                Stop::Error(format!(
                    "error parsing index: strconv.Atoi: parsing {v:?}: invalid syntax"
                ))
            })
            .and_then(|i| {
                usize::try_from(i)
                    .map_err(|_| Stop::Error(format!("negative {i} index not allowed")))
            })
    }

    fn list_item(
        &mut self,
        mut list: Vec<Json>,
        i: usize,
        nested: usize,
    ) -> (Vec<Json>, Result<(), Stop>) {
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                Err(format!("unexpected data at end of array index: {k:?}").into()),
            );
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => {
                let value = if matches!(self.reader, Reader::Json) {
                    self.json_value()
                } else {
                    match self.val_list() {
                        Ok(Some(items)) => Ok(Json::Array(items)),
                        Ok(None) => {
                            let (raw, _) = self.runes_until(&[',']);
                            self.read_value(&raw).map_err(Stop::Error)
                        }
                        Err(Stop::Eof) => Ok(Json::String(String::new())),
                        Err(e) => Err(e),
                    }
                };
                match value {
                    Ok(v) => set_index(list, i, v),
                    Err(e) => (list, Err(e)),
                }
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let current = match list.get(i) {
                    Some(Json::Array(items)) => items.clone(),
                    _ => Vec::new(),
                };
                let (inner, result) = self.list_item(current, next, nested);
                if result.is_err() {
                    return (list, result);
                }
                set_index(list, i, Json::Array(inner))
            }
            Some(_) => {
                let mut inner = match list.get(i) {
                    Some(Json::Object(obj)) => obj.clone(),
                    _ => JsonMap::new(),
                };
                if let Err(e) = self.key(&mut inner, nested) {
                    return (list, Err(e));
                }
                if list.len() > i {
                    list[i] = Json::Null;
                }
                set_index(list, i, Json::Object(inner))
            }
        }
    }

    /// `{a,b}`: `Ok(None)` when the value is not a list.
    fn val_list(&mut self) -> Result<Option<Vec<Json>>, Stop> {
        match self.chars.get(self.pos) {
            None => return Err(Stop::Eof),
            Some('{') => self.pos += 1,
            Some(_) => return Ok(None),
        }
        let mut list = Vec::new();
        loop {
            let (raw, last) = self.runes_until(&[',', '}']);
            match last {
                None => return Err("list must terminate with '}'".to_owned().into()),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    list.push(self.read_value(&raw)?);
                    return Ok(Some(list));
                }
                Some(_) => list.push(self.read_value(&raw)?),
            }
        }
    }
}

fn set(data: &mut JsonMap<String, Json>, key: &str, value: Json) {
    if !key.is_empty() {
        data.insert(key.to_owned(), value);
    }
}

fn set_index(mut list: Vec<Json>, i: usize, value: Json) -> (Vec<Json>, Result<(), Stop>) {
    if i > MAX_INDEX {
        return (
            list,
            Err(
                format!("index of {i} is greater than maximum supported index of {MAX_INDEX}")
                    .into(),
            ),
        );
    }
    if list.len() <= i {
        list.resize(i + 1, Json::Null);
    }
    list[i] = value;
    (list, Ok(()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str, reader: Reader<'_>) -> Result<Json, String> {
        let mut data = JsonMap::new();
        parse_into(text, &mut data, reader).map(|()| Json::Object(data))
    }

    #[test]
    fn set_types_values_and_builds_nested_lists() {
        let got = parse(
            "a.b=1,c=true,d=null,e={x,2},f[1].g=0x1,h=007",
            Reader::Typed,
        );
        let want = json!({"a": {"b": 1}, "c": true, "d": null, "e": ["x", 2],
                          "f": [null, {"g": "0x1"}], "h": "007"});
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn set_string_keeps_strings_and_escapes() {
        let got = parse(r"a\.b=1,c=x\,y", Reader::Strings);
        assert_eq!(got, Ok(json!({"a.b": "1", "c": "x,y"})));
    }

    #[test]
    fn set_json_reads_one_json_value_per_key() {
        let got = parse(r#"a={"b":[1,2]},c=3"#, Reader::Json);
        assert_eq!(got, Ok(json!({"a": {"b": [1.0, 2.0]}, "c": 3.0})));
    }
}
