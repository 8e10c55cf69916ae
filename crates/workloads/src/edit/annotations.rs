//! Setting and removing a workload's annotations in place (what `fluxctl automate`, `lock`,
//! `policy` wrote), in each shape `metadata.annotations` can have: a block mapping (entries
//! updated, removed, or appended in its indentation), a flow mapping (`{}` becomes a block
//! under the key; a non-empty one is rewritten in flow style from its entries' own text), an
//! empty value, or no key at all (a block inserted at the end of `metadata`, indented as the
//! document is). Removing the last annotation removes the `annotations` key, as kubeyaml did.
//! New and changed values are written as quoted YAML strings (`"true"`).

use granit_parser::ScalarStyle;
use serde_json::{Map, Value};

use super::text::{
    Splice, apply_splices, double_quoted, key_text, line_end_after, line_start, scalar_like,
};
use super::{EditError, find_workload, unsupported, verify};
use crate::id::ResourceId;
use crate::manifest::{container_nodes, pod_spec};
use crate::policy::{AnnotationChange, PolicyUpdate};
use crate::yaml_tree::{Node, NodeKind, parse_documents};

/// Applies a policy update (`fluxctl automate`, `lock`, `policy --tag-all ...`) to workload
/// `id` in `file_text`: the update becomes annotation changes against the workload's current
/// containers and annotations (see [`PolicyUpdate::annotation_changes`]), then
/// [`set_annotations`] writes them.
pub fn update_policies(
    file_text: &str,
    id: &ResourceId,
    update: &PolicyUpdate,
) -> Result<String, EditError> {
    let documents = parse_documents(file_text)?;
    let object = find_workload(&documents, id)?.node;
    let containers: Vec<&str> = pod_spec(object)
        .map(container_nodes)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(c, _)| c.get("name")?.as_str())
        .collect();
    let current = current_annotations(id, object)?;
    let changes = update.annotation_changes(
        &containers,
        current.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    set_annotations(file_text, id, &changes)
}

/// Sets (`Some`) or removes (`None`) annotations on workload `id` in `file_text`, changing only
/// the affected lines. Changes that would not alter anything are skipped; when none is left
/// the text comes back unchanged.
pub fn set_annotations(
    file_text: &str,
    id: &ResourceId,
    changes: &[AnnotationChange],
) -> Result<String, EditError> {
    let documents = parse_documents(file_text)?;
    let located = find_workload(&documents, id)?;
    let (meta_key, metadata) = located
        .node
        .entry("metadata")
        .ok_or_else(|| unsupported(id, "no metadata"))?;
    let current = current_annotations(id, located.node)?;
    let effective = effective_changes(&current, changes);
    if effective.is_empty() {
        return Ok(file_text.to_string());
    }
    let remaining = apply_to_list(&current, &effective);
    let target = Target {
        text: file_text,
        id,
        meta_key,
        metadata,
        changes: &effective,
        remaining: &remaining,
    };
    let splices = target.splices()?;
    let edited =
        apply_splices(file_text, splices).ok_or_else(|| unsupported(id, "overlapping edits"))?;
    verify(
        id,
        file_text,
        &edited,
        (located.document, located.item),
        |object| expected_annotations(object, &effective),
    )?;
    Ok(edited)
}

/// `metadata.annotations` as (key, value) pairs in manifest order.
fn current_annotations(id: &ResourceId, object: &Node) -> Result<Vec<(String, String)>, EditError> {
    let Some(annotations) = object.get("metadata").and_then(|m| m.get("annotations")) else {
        return Ok(Vec::new());
    };
    if annotations.is_null() {
        return Ok(Vec::new());
    }
    let entries = annotations
        .entries()
        .ok_or_else(|| unsupported(id, "metadata.annotations is not a mapping"))?;
    entries
        .iter()
        .map(|(k, v)| match (k.as_str(), v.as_str()) {
            (Some(k), Some(v)) => Ok((k.to_string(), v.to_string())),
            _ => Err(unsupported(id, "an annotation is not a string")),
        })
        .collect()
}

/// The changes that alter something, the last one per key winning.
fn effective_changes(
    current: &[(String, String)],
    changes: &[AnnotationChange],
) -> Vec<AnnotationChange> {
    let mut out: Vec<AnnotationChange> = Vec::new();
    for change in changes {
        out.retain(|c| c.key != change.key);
        let now = current
            .iter()
            .find(|(k, _)| *k == change.key)
            .map(|(_, v)| v);
        if now != change.value.as_ref() {
            out.push(change.clone());
        }
    }
    out
}

fn apply_to_list(
    current: &[(String, String)],
    changes: &[AnnotationChange],
) -> Vec<(String, String)> {
    let mut list = current.to_vec();
    for change in changes {
        match (
            &change.value,
            list.iter_mut().find(|(k, _)| *k == change.key),
        ) {
            (Some(v), Some(entry)) => entry.1.clone_from(v),
            (Some(v), None) => list.push((change.key.clone(), v.clone())),
            (None, _) => list.retain(|(k, _)| *k != change.key),
        }
    }
    list
}

/// The intended result on the object's JSON value, for verification.
fn expected_annotations(object: &mut Value, changes: &[AnnotationChange]) -> Option<()> {
    let metadata = object.get_mut("metadata")?.as_object_mut()?;
    let mut annotations = match metadata.remove("annotations") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for change in changes {
        match &change.value {
            Some(v) => {
                annotations.insert(change.key.clone(), Value::String(v.clone()));
            }
            None => {
                annotations.remove(&change.key);
            }
        }
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".to_string(), Value::Object(annotations));
    }
    Some(())
}

struct Target<'a> {
    text: &'a str,
    id: &'a ResourceId,
    meta_key: &'a Node,
    metadata: &'a Node,
    changes: &'a [AnnotationChange],
    remaining: &'a [(String, String)],
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

fn entry_line(indent: usize, key: &str, value: &str) -> String {
    format!(
        "{}{}: {}",
        spaces(indent),
        key_text(key),
        double_quoted(value)
    )
}

impl Target<'_> {
    /// The file's line break: inserted lines follow a CRLF file's convention.
    fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    fn splices(&self) -> Result<Vec<Splice>, EditError> {
        if self.metadata.flow {
            return self.rewrite_flow_metadata();
        }
        let Some((key, value)) = self.metadata.entry("annotations") else {
            return self.insert_annotations_block();
        };
        if value.aliased || value.anchored {
            return Err(unsupported(
                self.id,
                "annotations are shared through a YAML anchor",
            ));
        }
        if self.remaining.is_empty() {
            return Ok(vec![self.remove_entry(key, value)?]);
        }
        let empty = value.is_null() || value.entries().is_some_and(<[_]>::is_empty);
        match &value.kind {
            _ if empty => self.fill_empty(key, value),
            NodeKind::Map(_) if value.flow => Ok(vec![Splice {
                start: value.start,
                end: value.end,
                text: self.flow_annotations(Some(value)),
            }]),
            NodeKind::Map(entries) => self.edit_block(value, entries),
            _ => Err(unsupported(
                self.id,
                "metadata.annotations is not a mapping",
            )),
        }
    }

    /// The indentation step of the document, from `metadata:` to its keys (2 when unclear).
    fn step(&self) -> usize {
        match self.metadata.col.checked_sub(self.meta_key.col) {
            Some(step) if step > 0 => step,
            _ => 2,
        }
    }

    fn lines(&self, indent: usize) -> Vec<String> {
        self.changes
            .iter()
            .filter_map(|c| Some(entry_line(indent, &c.key, c.value.as_ref()?)))
            .collect()
    }

    /// No `annotations` key: a new block at the end of `metadata`.
    fn insert_annotations_block(&self) -> Result<Vec<Splice>, EditError> {
        let indent = self.metadata.col;
        let nl = self.newline();
        let mut block = format!("{}annotations:{nl}", spaces(indent));
        for line in self.lines(indent + self.step()) {
            block.push_str(&line);
            block.push_str(nl);
        }
        let (at, lead) = match line_end_after(self.text, self.metadata.end) {
            Some(at) => (at, ""),
            None => (self.text.len(), nl),
        };
        Ok(vec![Splice {
            start: at,
            end: at,
            text: format!("{lead}{block}"),
        }])
    }

    /// `annotations:` with no value, `~`, or `{}`: the entries become a block under the key.
    fn fill_empty(&self, key: &Node, value: &Node) -> Result<Vec<Splice>, EditError> {
        let after_key = self.text.get(key.end..).unwrap_or("");
        let colon = key.end
            + after_key
                .find(|c: char| c != ' ')
                .filter(|&i| after_key[i..].starts_with(':'))
                .ok_or_else(|| unsupported(self.id, "unexpected text after `annotations`"))?;
        let end = value.end.max(colon + 1);
        let indent = key.col + self.step();
        let nl = self.newline();
        let block = self.lines(indent).join(nl);
        // The entries go below the key's line, so a comment after `{}` stays on that line.
        let (at, text) = match line_end_after(self.text, end) {
            Some(at) => (at, format!("{block}{nl}")),
            None => (self.text.len(), format!("{nl}{block}")),
        };
        Ok(vec![
            Splice {
                start: key.end,
                end,
                text: ":".to_string(),
            },
            Splice {
                start: at,
                end: at,
                text,
            },
        ])
    }

    /// The lines of a block mapping entry, from its indentation to its line break.
    fn entry_range(&self, key: &Node, value: &Node) -> Result<(usize, usize), EditError> {
        let start = line_start(self.text, key.start);
        if !self.text[start..key.start].trim().is_empty() {
            return Err(unsupported(
                self.id,
                "an annotation shares its line with other content",
            ));
        }
        let end = line_end_after(self.text, value.end.max(key.end)).unwrap_or(self.text.len());
        Ok((start, end))
    }

    fn remove_entry(&self, key: &Node, value: &Node) -> Result<Splice, EditError> {
        let (start, end) = self.entry_range(key, value)?;
        Ok(Splice {
            start,
            end,
            text: String::new(),
        })
    }

    fn edit_block(&self, map: &Node, entries: &[(Node, Node)]) -> Result<Vec<Splice>, EditError> {
        let indent = entries.first().map_or(map.col, |(k, _)| k.col);
        let mut splices = Vec::new();
        let mut added = Vec::new();
        for change in self.changes {
            let existing = entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(&change.key));
            match (existing, &change.value) {
                (Some((key, value)), None) => splices.push(self.remove_entry(key, value)?),
                (Some((key, value)), Some(new)) => {
                    splices.push(self.replace_value(key, value, new)?)
                }
                (None, Some(new)) => added.push(entry_line(indent, &change.key, new)),
                (None, None) => {}
            }
        }
        if !added.is_empty() {
            let (at, lead) = match line_end_after(self.text, map.end) {
                Some(at) => (at, ""),
                None => (self.text.len(), self.newline()),
            };
            splices.push(Splice {
                start: at,
                end: at,
                text: format!("{lead}{}{}", added.join(self.newline()), self.newline()),
            });
        }
        Ok(splices)
    }

    fn replace_value(&self, key: &Node, value: &Node, new: &str) -> Result<Splice, EditError> {
        let NodeKind::Scalar { style, .. } = &value.kind else {
            return Err(unsupported(
                self.id,
                format!("annotation {:?} is not a string", key.as_str()),
            ));
        };
        if value.aliased || value.anchored {
            return Err(unsupported(
                self.id,
                "an annotation is shared through a YAML anchor",
            ));
        }
        let rendered = match style {
            ScalarStyle::SingleQuoted => scalar_like(new, *style),
            _ => double_quoted(new),
        };
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) || value.start == value.end {
            let (start, end) = self.entry_range(key, value)?;
            let key_src = &self.text[key.start..key.end];
            let line = format!("{}{key_src}: {rendered}{}", spaces(key.col), self.newline());
            return Ok(Splice {
                start,
                end,
                text: line,
            });
        }
        Ok(Splice {
            start: value.start,
            end: value.end,
            text: rendered,
        })
    }

    /// The annotations as a flow mapping: kept entries in their own text, changed and new
    /// ones rendered.
    fn flow_annotations(&self, existing: Option<&Node>) -> String {
        let entries = existing.and_then(Node::entries).unwrap_or_default();
        let parts: Vec<String> = self
            .remaining
            .iter()
            .map(|(k, v)| {
                let unchanged = !self.changes.iter().any(|c| c.key == *k);
                let source = entries
                    .iter()
                    .find(|(ek, _)| ek.as_str() == Some(k.as_str()))
                    .filter(|_| unchanged)
                    .map(|(ek, ev)| self.flow_entry_source(ek, ev));
                source.unwrap_or_else(|| format!("{}: {}", key_text(k), double_quoted(v)))
            })
            .collect();
        format!("{{{}}}", parts.join(", "))
    }

    fn flow_entry_source(&self, key: &Node, value: &Node) -> String {
        let value_src = &self.text[value.start..value.end];
        let value_src = if value_src.is_empty() {
            "null"
        } else {
            value_src
        };
        format!("{}: {value_src}", &self.text[key.start..key.end])
    }

    /// `metadata: {name: web, ...}`: rewritten with the annotations entry changed, added or
    /// dropped, every other entry in its own text.
    fn rewrite_flow_metadata(&self) -> Result<Vec<Splice>, EditError> {
        let entries = self
            .metadata
            .entries()
            .ok_or_else(|| unsupported(self.id, "metadata is not a mapping"))?;
        let annotations = self.metadata.get("annotations").filter(|a| !a.is_null());
        let new_annotations = (!self.remaining.is_empty())
            .then(|| format!("annotations: {}", self.flow_annotations(annotations)));
        let mut parts: Vec<String> = Vec::new();
        let mut placed = false;
        for (key, value) in entries {
            if key.as_str() == Some("annotations") {
                parts.extend(new_annotations.clone());
                placed = true;
            } else {
                parts.push(self.flow_entry_source(key, value));
            }
        }
        if !placed {
            parts.extend(new_annotations);
        }
        Ok(vec![Splice {
            start: self.metadata.start,
            end: self.metadata.end,
            text: format!("{{{}}}", parts.join(", ")),
        }])
    }
}
