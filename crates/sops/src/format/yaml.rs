//! YAML documents: every document of a stream is a branch (sops puts its metadata in each and
//! reads it from the first), scalars typed as go-yaml v3 types them. Written with go-yaml v3's
//! layout as sops configures it (four-space indentation, sequences indented inside mappings,
//! keys in document order). Comments are not carried: they are neither part of the MAC nor of
//! the values.

use crate::error::Error;
use crate::tree::{Item, Node};
use serde_json::Value;
use tether_core::yaml::Layout;

/// sops' YAML layout (`IndentDefault = 4`).
const SOPS_LAYOUT: Layout = Layout::GO_YAML_V3_INDENT_4;

/// Loads every document of a YAML stream as a branch.
pub fn load(data: &[u8]) -> Result<Vec<Node>, Error> {
    let text = std::str::from_utf8(data).map_err(|_| Error::syntax("YAML", "not UTF-8"))?;
    let documents = tether_core::yaml::from_str_multi(text)
        .map_err(|e| Error::syntax("YAML", e.to_string()))?;
    documents
        .into_iter()
        .map(|document| match document {
            Value::Object(_) => Ok(from_value(document)),
            Value::Null => Ok(Node::Map(Vec::new())),
            Value::Array(_) => Err(Error::syntax(
                "YAML",
                "YAML documents that are sequences are not supported",
            )),
            _ => Err(Error::syntax(
                "YAML",
                "YAML documents that are values are not supported",
            )),
        })
        .collect()
}

fn from_value(value: Value) -> Node {
    match value {
        Value::Object(map) => Node::Map(
            map.into_iter()
                .map(|(k, v)| Item::named(k, from_value(v)))
                .collect(),
        ),
        other => crate::format::json::from_value(other),
    }
}

/// Writes the branches as a YAML stream, documents separated by `---`.
pub fn emit(branches: &[Node]) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    for (i, branch) in branches.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let value = crate::format::json::to_value(branch);
        match &value {
            Value::Object(map) if map.is_empty() => out.push_str("{}\n"),
            _ => out.push_str(&tether_core::yaml::to_string_with(&value, &SOPS_LAYOUT)),
        }
    }
    Ok(out.into_bytes())
}
