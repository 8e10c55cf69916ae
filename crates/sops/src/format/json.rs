//! JSON documents: loaded in key order with sops' number typing (integers that fit `int64`
//! stay integers, anything else is a float), written as sops writes them (Go's
//! `json.Marshal` for scalars, tab indentation, a final line break).

use crate::error::Error;
use crate::tree::{Item, Key, Node};
use base64::Engine;
use serde_json::Value;
use tether_core::gojson::write_string;

/// Loads a JSON document; the top level must be an object.
pub fn load(data: &[u8]) -> Result<Node, Error> {
    let value: Value =
        serde_json::from_slice(data).map_err(|e| Error::syntax("JSON", e.to_string()))?;
    match value {
        Value::Object(_) => Ok(from_value(value)),
        _ => Err(Error::syntax("JSON", "the top level is not an object")),
    }
}

/// A JSON value as a tree.
pub fn from_value(value: Value) -> Node {
    match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Node::Int(i),
            None => Node::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Node::Str(s),
        Value::Array(items) => Node::List(items.into_iter().map(from_value).collect()),
        Value::Object(map) => Node::Map(
            map.into_iter()
                .map(|(k, v)| Item::named(k, from_value(v)))
                .collect(),
        ),
    }
}

/// A tree as a JSON value (comments dropped, bytes as base64 as Go marshals them).
pub fn to_value(node: &Node) -> Value {
    match node {
        Node::Null | Node::Comment(_) => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s.clone()),
        Node::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Node::List(items) => Value::Array(
            items
                .iter()
                .filter(|n| !matches!(n, Node::Comment(_)))
                .map(to_value)
                .collect(),
        ),
        Node::Map(items) => Value::Object(
            items
                .iter()
                .filter_map(|item| item.name().map(|k| (k.to_string(), to_value(&item.value))))
                .collect(),
        ),
    }
}

/// Writes a tree as sops' JSON store does.
pub fn emit(node: &Node) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    write(&mut out, node, 0)?;
    out.push('\n');
    Ok(out.into_bytes())
}

fn write(out: &mut String, node: &Node, depth: usize) -> Result<(), Error> {
    match node {
        Node::Map(items) => {
            let named: Vec<_> = items
                .iter()
                .filter_map(|i| match &i.key {
                    Key::Name(k) => Some((k, &i.value)),
                    Key::Comment(_) => None,
                })
                .collect();
            if named.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (key, value)) in named.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_string(out, key, true);
                out.push_str(": ");
                write(out, value, depth + 1)?;
            }
            newline(out, depth);
            out.push('}');
        }
        Node::List(items) => {
            let items: Vec<_> = items
                .iter()
                .filter(|n| !matches!(n, Node::Comment(_)))
                .collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write(out, item, depth + 1)?;
            }
            newline(out, depth);
            out.push(']');
        }
        Node::Null | Node::Comment(_) => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Float(f) => {
            if !f.is_finite() {
                return Err(Error::Emit {
                    format: "JSON",
                    reason: "a float is not finite".into(),
                });
            }
            out.push_str(&tether_core::yaml::go_json_float(*f));
        }
        Node::Str(s) => write_string(out, s, true),
        Node::Bytes(b) => write_string(
            out,
            &base64::engine::general_purpose::STANDARD.encode(b),
            true,
        ),
    }
    Ok(())
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push('\t');
    }
}
