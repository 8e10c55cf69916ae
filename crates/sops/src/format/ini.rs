//! INI documents as sops reads them through go-ini: sections (keys before the first one are in
//! `DEFAULT`), `key = value` or `key: value` lines, `#`/`;` comments attached to the entry
//! after them, and the metadata flattened into a `[sops]` section. Written as go-ini writes
//! (aligned `=`, a blank line between sections, `; ` comments).

use crate::error::Error;
use crate::metadata::{METADATA_KEY, unflatten};
use crate::tree::{Item, Key, Node};

const DEFAULT_SECTION: &str = "DEFAULT";

/// Loads an INI document: the branch and the metadata mapping, if there is one.
pub fn load(data: &[u8]) -> Result<(Node, Option<Node>), Error> {
    let text = std::str::from_utf8(data).map_err(|_| Error::syntax("INI", "not UTF-8"))?;
    let mut sections: Vec<(String, Vec<Item>)> = vec![(DEFAULT_SECTION.into(), Vec::new())];
    let mut pending: Vec<String> = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') || line.starts_with(';') {
            pending.push(line.to_string());
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let Some(name) = name.strip_suffix(']') else {
                return Err(Error::syntax(
                    "INI",
                    format!("line {} is not a section", number + 1),
                ));
            };
            let mut items = Vec::new();
            if !pending.is_empty() {
                items.push(Item::comment(strip_comment_char(&pending.join("\n"))));
                pending.clear();
            }
            sections.push((name.trim().to_string(), items));
            continue;
        }
        let Some(at) = line.find(['=', ':']) else {
            return Err(Error::syntax(
                "INI",
                format!("line {} has no delimiter", number + 1),
            ));
        };
        let key = line[..at].trim().to_string();
        let (value, inline_comment) = split_value(line[at + 1..].trim());
        let items = match sections.last_mut() {
            Some((_, items)) => items,
            None => continue,
        };
        items.push(Item::named(key, Node::Str(value)));
        let comment = match (pending.is_empty(), inline_comment) {
            (false, _) => Some(pending.join("\n")),
            (true, Some(inline)) => Some(inline),
            (true, None) => None,
        };
        pending.clear();
        if let Some(comment) = comment {
            items.push(Item::comment(strip_comment_char(&comment)));
        }
    }
    let mut branch = Vec::new();
    let mut metadata = None;
    for (name, items) in sections {
        if name == METADATA_KEY {
            let flat = items
                .into_iter()
                .filter_map(|item| match item.key {
                    Key::Name(k) => Some((k, item.value)),
                    Key::Comment(_) => None,
                })
                .collect();
            metadata = Some(unflatten(flat, true)?);
        } else {
            branch.push(Item::named(name, Node::Map(items)));
        }
    }
    Ok((Node::Map(branch), metadata))
}

/// A value without its quotes or inline comment (go-ini's defaults).
fn split_value(value: &str) -> (String, Option<String>) {
    for quote in ["\"\"\"", "\"", "'", "`"] {
        if value.len() >= 2 * quote.len()
            && value.starts_with(quote)
            && let Some(end) = value[quote.len()..].find(quote)
        {
            return (value[quote.len()..quote.len() + end].to_string(), None);
        }
    }
    let comment_at = [" #", " ;", "\t#", "\t;"]
        .iter()
        .filter_map(|marker| value.find(marker))
        .min();
    match comment_at {
        Some(at) => (
            value[..at].trim_end().to_string(),
            Some(value[at..].trim_start().to_string()),
        ),
        None => (value.to_string(), None),
    }
}

/// sops drops the comment character and the spaces after it.
fn strip_comment_char(comment: &str) -> String {
    if comment.starts_with(';') {
        comment.trim_start_matches([';', ' ']).to_string()
    } else if comment.starts_with('#') {
        comment.trim_start_matches(['#', ' ']).to_string()
    } else {
        comment.to_string()
    }
}

/// Writes a branch as sops' INI store does.
pub fn emit(node: &Node) -> Result<Vec<u8>, Error> {
    let Node::Map(sections) = node else {
        return Err(emit_error("the document is not a mapping"));
    };
    let mut out = String::new();
    let mut written = 0;
    for (index, item) in sections.iter().enumerate() {
        let Key::Name(name) = &item.key else { continue };
        let Node::Map(items) = &item.value else {
            return Err(emit_error("a section value is not a mapping"));
        };
        let (section_comment, entries) = section_entries(items)?;
        let named_keys = entries.iter().filter(|e| e.0.is_some()).count();
        let is_default = index == 0 && name.eq_ignore_ascii_case(DEFAULT_SECTION);
        if is_default && named_keys == 0 {
            continue;
        }
        // go-ini puts a blank line between sections, not after the last.
        if written > 0 {
            out.push('\n');
        }
        written += 1;
        if let Some(comment) = section_comment {
            write_comment(&mut out, &comment);
        }
        if !is_default {
            out.push_str(&format!("[{name}]\n"));
        }
        let width = entries
            .iter()
            .filter_map(|e| e.0.as_ref().map(|k| quoted_key(k).chars().count()))
            .max()
            .unwrap_or(0);
        for (key, value, comment) in &entries {
            let Some(key) = key else { continue };
            if let Some(comment) = comment {
                write_comment(&mut out, comment);
            }
            let key = quoted_key(key);
            let padding = " ".repeat(width - key.chars().count());
            out.push_str(&format!("{key}{padding} = {}\n", quoted_value(value)));
        }
    }
    Ok(out.into_bytes())
}

type Entry = (Option<String>, String, Option<String>);

/// The section's own comment, then its keys with the comment that follows each.
fn section_entries(items: &[Item]) -> Result<(Option<String>, Vec<Entry>), Error> {
    let mut section_comment = None;
    let mut entries: Vec<Entry> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match &item.key {
            Key::Comment(c) if i == 0 => section_comment = Some(c.text.clone()),
            Key::Comment(c) => {
                if let Some(last) = entries.last_mut() {
                    last.2 = Some(c.text.clone());
                }
            }
            Key::Name(k) => {
                let value = crate::format::dotenv::text_of(&item.value)
                    .ok_or_else(|| emit_error("a value is not a scalar"))?;
                entries.push((Some(k.clone()), value, None));
            }
        }
    }
    Ok((section_comment, entries))
}

fn write_comment(out: &mut String, comment: &str) {
    for line in comment.split('\n') {
        if !(line.starts_with('#') || line.starts_with(';')) {
            out.push_str("; ");
        }
        out.push_str(line);
        out.push('\n');
    }
}

fn quoted_key(key: &str) -> String {
    if key.contains('"') {
        format!("`{key}`")
    } else if key.contains(['=', ':']) {
        format!("\"{key}\"")
    } else {
        key.to_string()
    }
}

fn quoted_value(value: &str) -> String {
    if value.contains(['\n', '`']) {
        format!("\"\"\"{value}\"\"\"")
    } else if value.contains(['#', ';']) {
        format!("`{value}`")
    } else if value.trim() != value {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

fn emit_error(reason: &str) -> Error {
    Error::Emit {
        format: "INI",
        reason: reason.into(),
    }
}
