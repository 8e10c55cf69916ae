//! Setting marked scalars in one YAML file's text, changing nothing but the bytes of each marked
//! scalar.
//!
//! kyaml parses a file into nodes, sets values, and re-encodes every node, which reflows the whole
//! file. Here a YAML parser (granit-parser, which reports byte spans for every event) only
//! locates the scalars; the update is a splice of the scalar's source span, so comments, quoting,
//! indentation, key order, blank lines, line endings and the other documents stay as they were.
//! The marker is the line comment on the scalar's last line (kyaml reads the node's line comment),
//! found as the text after the span: blanks, then `#` to the end of the line.

use granit_parser::{Event, Parser, ScalarStyle};

use crate::marker::setter_name;
use crate::policy::Setters;
use crate::result::{Change, ObjectIdentifier};
use crate::scalar::render;

/// Why a file's text cannot be updated (Flux skips such files as "problem files").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The text is not YAML.
    #[error("invalid YAML: {0}")]
    Parse(String),
    /// A document is a sequence or a scalar, which kyaml cannot annotate as an object.
    #[error("document {index} is not a mapping")]
    NotAMapping {
        /// Zero-based document index.
        index: usize,
    },
}

/// The updated text and the changes made, per object, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextUpdate {
    /// The new text (equal to the input when nothing changed).
    pub text: String,
    /// `(object, change)` for every scalar whose value changed.
    pub changes: Vec<(ObjectIdentifier, Change)>,
}

/// A scalar to replace: its byte range, the replacement text, and the change it records.
struct Edit {
    range: std::ops::Range<usize>,
    replacement: String,
    document: usize,
    /// The item index when the scalar is inside `items[i]` of the document.
    item: Option<usize>,
    change: Change,
}

/// Where the parser is: one frame per open collection.
enum Frame {
    Mapping {
        expecting_key: bool,
        key: Option<String>,
    },
    Sequence {
        index: usize,
    },
}

/// What a document's walk found: its identity and, for a `List`, its items' identities.
#[derive(Default)]
struct Document {
    id: ObjectIdentifier,
    has_items: bool,
    items: Vec<ObjectIdentifier>,
}

/// A step of the path from the document root to the current node.
enum Step<'a> {
    Key(Option<&'a str>),
    Index(usize),
}

/// Applies `setters` to every marked scalar of `text`.
pub fn update_text(text: &str, setters: &Setters) -> Result<TextUpdate, DocumentError> {
    let mut walker = Walker {
        text,
        setters,
        stack: Vec::new(),
        documents: Vec::new(),
        edits: Vec::new(),
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| DocumentError::Parse(e.to_string()))?;
        walker.on_event(event, span.byte_range())?;
    }
    let list = unwrapped_list(&walker.documents);
    // kyaml unwraps a lone `List` document: only its items are objects, and the fields outside
    // them are not visited.
    let edits: Vec<(Edit, ObjectIdentifier)> = walker
        .edits
        .into_iter()
        .filter_map(|e| {
            let doc = walker.documents.get(e.document)?;
            let id = match (list, e.item) {
                (false, _) => doc.id.clone(),
                (true, Some(i)) => doc.items.get(i).cloned().unwrap_or_default(),
                (true, None) => return None,
            };
            Some((e, id))
        })
        .collect();
    let mut out = text.to_owned();
    for (edit, _) in edits.iter().rev() {
        out.replace_range(edit.range.clone(), &edit.replacement);
    }
    let changes = edits.into_iter().map(|(e, id)| (id, e.change)).collect();
    Ok(TextUpdate { text: out, changes })
}

/// Whether the file is one `List` (or `ResourceList`) document with `items`.
fn unwrapped_list(documents: &[Document]) -> bool {
    match documents {
        [doc] => doc.has_items && matches!(doc.id.kind.as_str(), "List" | "ResourceList"),
        _ => false,
    }
}

struct Walker<'a> {
    text: &'a str,
    setters: &'a Setters,
    stack: Vec<Frame>,
    documents: Vec<Document>,
    edits: Vec<Edit>,
}

impl Walker<'_> {
    fn on_event(
        &mut self,
        event: Event<'_>,
        range: Option<std::ops::Range<usize>>,
    ) -> Result<(), DocumentError> {
        match event {
            Event::DocumentStart(..) => self.documents.push(Document::default()),
            Event::MappingStart(..) => {
                self.check_document_root(true)?;
                self.stack.push(Frame::Mapping {
                    expecting_key: true,
                    key: None,
                });
            }
            Event::SequenceStart(..) => {
                self.check_document_root(false)?;
                if matches!(self.path().as_slice(), [Step::Key(Some("items"))])
                    && let Some(doc) = self.documents.last_mut()
                {
                    doc.has_items = true;
                }
                self.stack.push(Frame::Sequence { index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.node_done(None);
            }
            Event::Scalar(value, style, ..) => self.on_scalar(&value, style, range)?,
            Event::Alias(_) | Event::UnresolvedAlias(_) => self.node_done(None),
            _ => {}
        }
        Ok(())
    }

    /// A document's root must be a mapping; an empty document (a null scalar) is skipped.
    fn check_document_root(&self, is_mapping: bool) -> Result<(), DocumentError> {
        if self.stack.is_empty() && !is_mapping {
            return Err(DocumentError::NotAMapping {
                index: self.documents.len().saturating_sub(1),
            });
        }
        Ok(())
    }

    fn on_scalar(
        &mut self,
        value: &str,
        style: ScalarStyle,
        range: Option<std::ops::Range<usize>>,
    ) -> Result<(), DocumentError> {
        let is_key = matches!(
            self.stack.last(),
            Some(Frame::Mapping {
                expecting_key: true,
                ..
            })
        );
        if self.stack.is_empty() {
            let empty = range.as_ref().is_none_or(|r| r.is_empty());
            if !empty {
                return Err(DocumentError::NotAMapping {
                    index: self.documents.len().saturating_sub(1),
                });
            }
        } else if !is_key {
            self.record_identity(value);
            if let Some(range) = range {
                self.consider(value, style, range);
            }
        }
        self.node_done(is_key.then(|| value.to_owned()));
        Ok(())
    }

    /// After a complete node: a key moves its mapping to the value; a value back to the next key.
    fn node_done(&mut self, key: Option<String>) {
        match self.stack.last_mut() {
            Some(Frame::Mapping {
                expecting_key,
                key: current,
            }) => {
                if *expecting_key {
                    *current = key;
                }
                *expecting_key = !*expecting_key;
            }
            Some(Frame::Sequence { index }) => *index += 1,
            None => {}
        }
    }

    /// Captures `apiVersion`, `kind`, `metadata.name` and `metadata.namespace` of the document.
    fn path(&self) -> Vec<Step<'_>> {
        self.stack
            .iter()
            .map(|f| match f {
                Frame::Mapping { key, .. } => Step::Key(key.as_deref()),
                Frame::Sequence { index } => Step::Index(*index),
            })
            .collect()
    }

    /// The `items[i]` index of the current node, if it is inside a top-level `items` list.
    fn item_index(&self) -> Option<usize> {
        match self.path().as_slice() {
            [Step::Key(Some("items")), Step::Index(i), _, ..] => Some(*i),
            _ => None,
        }
    }

    /// Captures `apiVersion`, `kind`, `metadata.name` and `metadata.namespace` of the document
    /// and of each `items[i]` (kyaml unwraps the items of a single `List` document).
    fn record_identity(&mut self, value: &str) {
        let path = self.path();
        let (item, rest) = match path.as_slice() {
            [Step::Key(Some("items")), Step::Index(i), rest @ ..] => (Some(*i), rest),
            rest => (None, rest),
        };
        let field: fn(&mut ObjectIdentifier) -> &mut String = match rest {
            [Step::Key(Some("apiVersion"))] => |id| &mut id.api_version,
            [Step::Key(Some("kind"))] => |id| &mut id.kind,
            [Step::Key(Some("metadata")), Step::Key(Some("name"))] => |id| &mut id.name,
            [Step::Key(Some("metadata")), Step::Key(Some("namespace"))] => |id| &mut id.namespace,
            _ => return,
        };
        let Some(doc) = self.documents.last_mut() else {
            return;
        };
        let id = match item {
            None => &mut doc.id,
            Some(i) => {
                if doc.items.len() <= i {
                    doc.items.resize(i + 1, ObjectIdentifier::default());
                }
                &mut doc.items[i]
            }
        };
        *field(id) = value.to_owned();
    }

    /// Queues an edit when the scalar carries a marker for a known setter with a new value.
    fn consider(&mut self, value: &str, style: ScalarStyle, range: std::ops::Range<usize>) {
        if range.is_empty() || matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
            return;
        }
        let Some(comment) = line_comment_after(self.text, range.end) else {
            return;
        };
        let Some(setter) = setter_name(comment) else {
            return;
        };
        let Some(new_value) = self.setters.get(&setter) else {
            return;
        };
        if new_value == value {
            return;
        }
        self.edits.push(Edit {
            range,
            replacement: render(new_value, style),
            document: self.documents.len().saturating_sub(1),
            item: self.item_index(),
            change: Change {
                old_value: value.to_owned(),
                new_value: new_value.to_owned(),
                setter,
            },
        });
    }
}

/// The comment that follows `end` on the same line (after blanks only), without the line break.
fn line_comment_after(text: &str, end: usize) -> Option<&str> {
    let rest = text.get(end..)?;
    let line = rest.split('\n').next().unwrap_or(rest);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let trimmed = line.trim_start_matches([' ', '\t']);
    (trimmed.starts_with('#') && trimmed.len() < line.len()).then_some(trimmed)
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
