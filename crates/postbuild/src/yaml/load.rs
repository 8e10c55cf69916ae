//! Reads substituted YAML text back into JSON the way `sigs.k8s.io/yaml.YAMLToJSON` does: the
//! first document only, plain scalars typed by go-yaml v2's YAML 1.1 rules, quoted scalars as
//! strings, non-string keys turned into strings, and NaN or infinities refused (JSON has none).
//!
//! A float with an integral value becomes a JSON integer, as Flux's JSON round trip prints it.
//! Merge keys (`<<`) are kept as ordinary keys.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

use super::emit::format_go_float;
use super::resolve::{Resolved, resolve_plain};

/// Why text could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoadError {
    /// The text is not valid YAML.
    Syntax(String),
    /// The text is valid YAML that JSON cannot hold.
    Unsupported(String),
}

/// Parses the first document of `text`; an empty stream is `null`.
pub(crate) fn from_yaml(text: &str) -> Result<Value, LoadError> {
    let mut loader = Loader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    loop {
        match loader.next()? {
            None | Some(Event::StreamEnd) => return Ok(Value::Null),
            Some(Event::DocumentStart(..)) => break,
            Some(_) => {}
        }
    }
    match loader.next()? {
        Some(Event::DocumentEnd) | None => Ok(Value::Null),
        Some(event) => loader.node(event),
    }
}

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

struct Loader<'a> {
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    anchors: HashMap<usize, Value>,
}

impl<'a> Loader<'a> {
    /// The next event that carries data (comments and anchor metadata skipped).
    fn next(&mut self) -> Result<Option<Event<'a>>, LoadError> {
        loop {
            match self.parser.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(LoadError::Syntax(e.to_string())),
                Some(Ok((event, _))) if is_data(&event) => return Ok(Some(event)),
                Some(Ok(_)) => {}
            }
        }
    }

    fn node(&mut self, event: Event<'a>) -> Result<Value, LoadError> {
        let (value, anchor) =
            match event {
                Event::Scalar(text, style, anchor, tag) => {
                    (scalar(&text, style, tag.as_deref())?, anchor)
                }
                Event::SequenceStart(_, anchor, _) => (self.sequence()?, anchor),
                Event::MappingStart(_, anchor, _) => (self.mapping()?, anchor),
                Event::Alias(id) => {
                    return self.anchors.get(&id).cloned().ok_or_else(|| {
                        LoadError::Syntax(format!("unknown anchor {id} referenced"))
                    });
                }
                other => return Err(LoadError::Syntax(format!("unexpected event {other:?}"))),
            };
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        Ok(value)
    }

    fn expect_next(&mut self) -> Result<Event<'a>, LoadError> {
        self.next()?
            .ok_or_else(|| LoadError::Syntax("unexpected end of stream".into()))
    }

    fn sequence(&mut self) -> Result<Value, LoadError> {
        let mut items = Vec::new();
        loop {
            match self.expect_next()? {
                Event::SequenceEnd => return Ok(Value::Array(items)),
                event => items.push(self.node(event)?),
            }
        }
    }

    fn mapping(&mut self) -> Result<Value, LoadError> {
        let mut map = Map::new();
        loop {
            let key = match self.expect_next()? {
                Event::MappingEnd => return Ok(Value::Object(map)),
                event => key_string(self.node(event)?)?,
            };
            let event = self.expect_next()?;
            let value = self.node(event)?;
            map.insert(key, value);
        }
    }
}

fn is_data(event: &Event<'_>) -> bool {
    matches!(
        event,
        Event::StreamEnd
            | Event::DocumentStart(..)
            | Event::DocumentEnd
            | Event::Alias(_)
            | Event::Scalar(..)
            | Event::SequenceStart(..)
            | Event::SequenceEnd
            | Event::MappingStart(..)
            | Event::MappingEnd
    )
}

/// Types a scalar: quoted and block scalars are strings, plain ones resolve; an explicit
/// `!!str` forces a string, other core tags resolve like plain text, other tags are strings.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, LoadError> {
    let resolvable = match tag {
        Some(tag) => tag.handle() == CORE_TAG_PREFIX && tag.suffix() != "str",
        None => style == ScalarStyle::Plain,
    };
    if !resolvable {
        return Ok(Value::String(text.to_owned()));
    }
    Ok(match resolve_plain(text) {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::from(i),
        Resolved::Uint(u) => Value::from(u),
        Resolved::Float(f) => float(f, text)?,
        Resolved::Timestamp | Resolved::Str => Value::String(text.to_owned()),
    })
}

/// Largest integer a float holds exactly.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

fn float(f: f64, text: &str) -> Result<Value, LoadError> {
    if f.fract() == 0.0 && f.abs() <= MAX_EXACT_FLOAT {
        // Exact: integral and within the float's exact-integer range.
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| LoadError::Unsupported(format!("json: unsupported value: {text}")))
}

/// JSON keys are strings: numbers and booleans are printed, as `YAMLToJSON` does.
fn key_string(key: Value) -> Result<String, LoadError> {
    match key {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) if n.is_f64() => Ok(n
            .as_f64()
            .map(|f| format_go_float(f64::from(f as f32)))
            .unwrap_or_default()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(LoadError::Unsupported(format!(
            "unsupported map key: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_1_1_typing() {
        let text =
            "a: 3\nb: yes\nc: '3'\nd: \"on\"\ne:\nf: 1.5\ng: 2.0\nh: 0x10\ni: [x, 1]\nj: {k: v}\n";
        let want = json!({
            "a": 3, "b": true, "c": "3", "d": "on", "e": null, "f": 1.5, "g": 2,
            "h": 16, "i": ["x", 1], "j": {"k": "v"}
        });
        assert_eq!(from_yaml(text), Ok(want));
    }

    #[test]
    fn anchors_and_tags() {
        let text = "a: &x {b: 1}\nc: *x\nd: !!str 3\ne: !custom 4\n";
        let want = json!({"a": {"b": 1}, "c": {"b": 1}, "d": "3", "e": "4"});
        assert_eq!(from_yaml(text), Ok(want));
    }

    #[test]
    fn first_document_only_and_errors() {
        assert_eq!(from_yaml("a: 1\n---\nb: 2\n"), Ok(json!({"a": 1})));
        assert_eq!(from_yaml(""), Ok(Value::Null));
        assert!(matches!(from_yaml("a: b: c\n"), Err(LoadError::Syntax(_))));
        assert!(matches!(
            from_yaml("a: .nan\n"),
            Err(LoadError::Unsupported(_))
        ));
        assert_eq!(
            from_yaml("1.5: a\nyes: b\n"),
            Ok(json!({"1.5": "a", "true": "b"}))
        );
    }
}
