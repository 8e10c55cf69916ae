//! dotenv documents: `KEY=value` lines (`\n` in a value is a line break), `#` comment lines,
//! and the metadata flattened into `sops_*` entries.

use crate::error::Error;
use crate::metadata::{METADATA_KEY, unflatten};
use crate::tree::{Item, Key, Node, go_float_for_text};

/// Loads a dotenv document: the branch and the metadata mapping, if there is one.
pub fn load(data: &[u8]) -> Result<(Node, Option<Node>), Error> {
    let text = std::str::from_utf8(data).map_err(|_| Error::syntax("dotenv", "not UTF-8"))?;
    let mut items = Vec::new();
    let mut metadata = Vec::new();
    let prefix = format!("{METADATA_KEY}_");
    for (number, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            items.push(Item::comment(comment));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(Error::syntax(
                "dotenv",
                format!("line {} is not KEY=value", number + 1),
            ));
        };
        let value = Node::Str(value.replace("\\n", "\n"));
        match key.strip_prefix(&prefix) {
            Some(name) => metadata.push((name.to_string(), value)),
            None => items.push(Item::named(key, value)),
        }
    }
    let metadata = if metadata.is_empty() {
        None
    } else {
        Some(unflatten(metadata, false)?)
    };
    Ok((Node::Map(items), metadata))
}

/// Writes a branch as sops' dotenv store does.
pub fn emit(node: &Node) -> Result<Vec<u8>, Error> {
    let Node::Map(items) = node else {
        return Err(emit_error("the document is not a mapping".into()));
    };
    let mut out = String::new();
    for item in items {
        match &item.key {
            Key::Comment(comment) => {
                out.push('#');
                out.push_str(&comment.text);
                out.push('\n');
            }
            Key::Name(name) => {
                let value = match &item.value {
                    Node::Str(s) => s.replace('\n', "\\n"),
                    other => text_of(other)
                        .ok_or_else(|| emit_error(format!("complex value at key {name}")))?,
                };
                out.push_str(name);
                out.push('=');
                out.push_str(&value);
                out.push('\n');
            }
        }
    }
    Ok(out.into_bytes())
}

fn emit_error(reason: String) -> Error {
    Error::Emit {
        format: "dotenv",
        reason,
    }
}

/// A scalar as sops' `ValToString` writes it into a flat format.
pub fn text_of(node: &Node) -> Option<String> {
    Some(match node {
        Node::Str(s) => s.clone(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => go_float_for_text(*f),
        Node::Bool(b) => b.to_string(),
        Node::Bytes(b) => format!(
            "[{}]",
            b.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
        ),
        Node::Null => "<nil>".into(),
        Node::Map(_) | Node::List(_) | Node::Comment(_) => return None,
    })
}
