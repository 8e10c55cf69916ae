//! YAML documents: every document of a stream is a branch (sops puts its metadata in each and
//! reads it from the first), scalars typed as go-yaml v3 types them. Written with go-yaml v3's
//! layout as sops configures it (four-space indentation, sequences indented inside mappings,
//! keys in document order).
//!
//! Comments are carried as sops carries them: each comment line is an entry of the mapping or
//! sequence go-yaml v3 attaches it to (sops' `Comment`, inline when it followed a scalar on its
//! line), so the plaintext keeps them where `sops -d` prints them and the comment rules of the
//! metadata see them. Where go-yaml attaches an own-line comment is decided as its scanner
//! decides it: a comment at or left of the column of the entry that follows it is that entry's
//! head comment; one indented deeper is a foot comment of what came before, and stays in the
//! innermost block still open at that point (blocks end before the first such comment at their
//! own column). The differential suite against the Go-built sops pins these rules.

use crate::error::Error;
use crate::tree::{Comment, Item, Key, Node};
use granit_parser::{Event, Parser, Placement, StructureStyle};
use serde_json::Value;
use tether_core::yaml::{Comments, Layout};

/// sops' YAML layout (`IndentDefault = 4`).
const SOPS_LAYOUT: Layout = Layout::GO_YAML_V3_INDENT_4;

/// Loads every document of a YAML stream as a branch.
pub fn load(data: &[u8]) -> Result<Vec<Node>, Error> {
    let text = std::str::from_utf8(data).map_err(|_| Error::syntax("YAML", "not UTF-8"))?;
    let documents = tether_core::yaml::from_str_multi(text)
        .map_err(|e| Error::syntax("YAML", e.to_string()))?;
    let shapes = shapes(text);
    documents
        .into_iter()
        .enumerate()
        .map(|(i, document)| {
            let shape = shapes.get(i);
            match document {
                Value::Object(_) => Ok(with_comments(document, shape)),
                Value::Null => Ok(Node::Map(shape.map_or_else(Vec::new, |s| {
                    s.comments().map(Item::from_comment).collect()
                }))),
                Value::Array(_) => Err(Error::syntax(
                    "YAML",
                    "YAML documents that are sequences are not supported",
                )),
                _ => Err(Error::syntax(
                    "YAML",
                    "YAML documents that are values are not supported",
                )),
            }
        })
        .collect()
}

/// Where the comments of one node stand among its entries.
#[derive(Debug, Default)]
struct Shape {
    entries: Vec<Entry>,
    /// The shapes of its values (mapping values or sequence items), in order.
    children: Vec<Shape>,
    /// A block mapping or sequence (else a scalar, an alias or a flow collection).
    is_collection: bool,
    /// The column of its entries: a mapping's keys, a sequence's `-`.
    column: usize,
}

#[derive(Debug)]
enum Entry {
    Comment(Comment),
    /// The next of its children.
    Child,
}

impl Shape {
    fn comments(&self) -> impl Iterator<Item = &Comment> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Comment(c) => Some(c),
            Entry::Child => None,
        })
    }

    fn push_comment(&mut self, comment: Comment) {
        self.entries.push(Entry::Comment(comment));
    }

    /// Places the foot comments of the last node read under this one, as go-yaml's scanner
    /// ends blocks among them: each block still open along the last entries ends before the
    /// first of these comments standing at its column (never before an inner block ends), and
    /// a comment belongs to the innermost block ending last before it, else to the innermost.
    fn push_feet(&mut self, feet: Vec<(Comment, usize)>) {
        let columns = self.open_columns();
        let mut ends = vec![feet.len(); columns.len()];
        let mut inner_end: Option<usize> = None;
        for (depth, column) in columns.iter().enumerate().rev() {
            let at = feet.iter().position(|(_, c)| c == column);
            let end = match (at, inner_end) {
                (Some(at), Some(inner)) => at.max(inner),
                (Some(at), None) => at,
                (None, Some(inner)) => inner,
                (None, None) => feet.len(),
            };
            ends[depth] = end;
            inner_end = Some(end);
        }
        for (i, (comment, _)) in feet.into_iter().enumerate() {
            let ended = (0..columns.len())
                .filter(|d| ends[*d] <= i)
                .max_by_key(|d| (ends[*d], *d));
            let steps = ended.map_or(columns.len(), |d| d + 1);
            self.descend(steps).push_comment(comment);
        }
    }

    /// Columns of the block collections along the last entries, outermost first.
    fn open_columns(&self) -> Vec<usize> {
        let mut columns = Vec::new();
        let mut node = self;
        while let Some(child) = node.children.last().filter(|c| c.is_collection) {
            columns.push(child.column);
            node = child;
        }
        columns
    }

    /// The collection `steps` down the last entries.
    fn descend(&mut self, steps: usize) -> &mut Shape {
        match (steps, self.children.len().checked_sub(1)) {
            (0, _) | (_, None) => self,
            (_, Some(last)) => self.children[last].descend(steps - 1),
        }
    }
}

/// A collection being read.
struct Frame {
    shape: Shape,
    is_map: bool,
    is_flow: bool,
    /// A mapping key was read and its value is still to come.
    key_read: bool,
    /// Column of the entries: a mapping's keys, a block sequence's `-`.
    entry_column: Option<usize>,
}

impl Frame {
    fn expects_entry(&self) -> bool {
        !self.is_map || !self.key_read
    }
}

/// Reads the comment placement of every document. The text already parsed, so any error here
/// only ends the reading (the documents then keep fewer comments).
fn shapes(text: &str) -> Vec<Shape> {
    let mut reader = ShapeReader::default();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        reader.event(event, span.start.col());
    }
    reader.documents
}

#[derive(Default)]
struct ShapeReader {
    documents: Vec<Shape>,
    stack: Vec<Frame>,
    root: Option<Shape>,
    /// Own-line comments not yet placed, with their column.
    pending: Vec<(Comment, usize)>,
}

impl ShapeReader {
    fn event(&mut self, event: Event<'_>, column: usize) {
        match event {
            Event::DocumentStart(..) => self.root = None,
            Event::DocumentEnd => {
                let mut root = self.root.take().unwrap_or_default();
                root.push_feet(std::mem::take(&mut self.pending));
                self.documents.push(root);
            }
            Event::Comment(text, Placement::Right) => self.line_comment(text.into_owned()),
            Event::Comment(text, _) => self.pending.push((Comment::own_line(text), column)),
            Event::Scalar(..) | Event::Alias(_) => {
                self.entry_starts(column);
                self.finish(Shape::default());
            }
            Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                self.entry_starts(column);
                let is_flow = style == StructureStyle::Flow;
                self.stack.push(Frame {
                    shape: Shape {
                        is_collection: !is_flow,
                        column,
                        ..Shape::default()
                    },
                    is_map,
                    is_flow,
                    key_read: false,
                    entry_column: (!is_map).then_some(column),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(frame) = self.stack.pop() {
                    self.finish(frame.shape);
                }
            }
            _ => {}
        }
    }

    /// A node starts at `column`: when it is a key or an item, the comments waiting are placed.
    /// Those indented deeper than the entry are feet of what came before; the others are its
    /// head comment.
    fn entry_starts(&mut self, column: usize) {
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        if !frame.expects_entry() {
            return;
        }
        let entry = *frame.entry_column.get_or_insert(column);
        if frame.is_map && frame.shape.children.is_empty() {
            frame.shape.column = entry;
        }
        let waiting = std::mem::take(&mut self.pending);
        let (feet, heads): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .partition(|(_, at)| !frame.is_flow && *at > entry);
        frame.shape.push_feet(feet);
        for (comment, _) in heads {
            frame.shape.push_comment(comment);
        }
    }

    /// A node is complete: it is a key (nothing to keep), a value or an item.
    fn finish(&mut self, shape: Shape) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(shape);
            return;
        };
        if frame.is_map && !frame.key_read {
            frame.key_read = true;
            return;
        }
        frame.key_read = false;
        frame.shape.entries.push(Entry::Child);
        frame.shape.children.push(shape);
    }

    /// A comment after content on its line: go-yaml gives it to a scalar value (sops keeps it
    /// inline, before the entry) or, after a key whose value starts below, to the key (sops
    /// puts it before the entry, on its own line).
    fn line_comment(&mut self, text: String) {
        let Some(frame) = self.stack.last_mut() else {
            if let Some(root) = self.root.as_mut() {
                root.entries.push(Entry::Comment(Comment::own_line(text)));
            }
            return;
        };
        if frame.is_map && frame.key_read {
            frame
                .shape
                .entries
                .push(Entry::Comment(Comment::own_line(text)));
            return;
        }
        let comment = Entry::Comment(Comment { text, inline: true });
        let at = frame
            .shape
            .entries
            .iter()
            .rposition(|e| matches!(e, Entry::Child))
            .unwrap_or(frame.shape.entries.len());
        frame.shape.entries.insert(at, comment);
    }
}

/// The document's values with the comments of `shape` among them, where the two agree on the
/// number of entries (a mapping with merge keys keeps none).
fn with_comments(value: Value, shape: Option<&Shape>) -> Node {
    let shape = shape.filter(|s| {
        let entries = match &value {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => return false,
        };
        s.children.len() == entries
    });
    match value {
        Value::Object(map) => {
            let Some(shape) = shape else {
                let items = map.into_iter();
                return Node::Map(
                    items
                        .map(|(k, v)| Item::named(k, with_comments(v, None)))
                        .collect(),
                );
            };
            let mut values = map.into_iter().zip(&shape.children);
            let items = shape.entries.iter().filter_map(|entry| match entry {
                Entry::Comment(c) => Some(Item::from_comment(c)),
                Entry::Child => values
                    .next()
                    .map(|((k, v), child)| Item::named(k, with_comments(v, Some(child)))),
            });
            Node::Map(items.collect())
        }
        Value::Array(items) => {
            let Some(shape) = shape else {
                return Node::List(items.into_iter().map(|v| with_comments(v, None)).collect());
            };
            let mut values = items.into_iter().zip(&shape.children);
            let nodes = shape.entries.iter().filter_map(|entry| match entry {
                Entry::Comment(c) => Some(Node::Comment(c.clone())),
                Entry::Child => values
                    .next()
                    .map(|(v, child)| with_comments(v, Some(child))),
            });
            Node::List(nodes.collect())
        }
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
        let comments = comments_of(branch);
        match (&value, comments) {
            (Value::Object(map), None) if map.is_empty() => out.push_str("{}\n"),
            (_, None) => out.push_str(&tether_core::yaml::to_string_with(&value, &SOPS_LAYOUT)),
            (_, Some(comments)) => out.push_str(&tether_core::yaml::to_string_commented(
                &value,
                &comments,
                &SOPS_LAYOUT,
            )),
        }
    }
    Ok(out.into_bytes())
}

/// The comments of a mapping or sequence placed as sops' `appendTreeBranch` and
/// `appendSequence` hand them to go-yaml: comment lines before an entry are its head comment,
/// inline ones its value's line comment, those after the last entry its foot comment. `None`
/// when the node and everything under it has no comment.
fn comments_of(node: &Node) -> Option<Comments> {
    let mut comments = Comments::default();
    let mut head: Vec<String> = Vec::new();
    let mut line: Vec<String> = Vec::new();
    let mut any = false;
    let mut entry = |value: &Node, head: &mut Vec<String>, line: &mut Vec<String>| {
        let nested = comments_of(value);
        any |= nested.is_some() || !head.is_empty() || !line.is_empty();
        comments.before.push(std::mem::take(head));
        if matches!(value, Node::Map(_) | Node::List(_)) {
            // go-yaml writes a collection's line comment after its end; sops' inline comments
            // only ever precede scalars.
            if let Some(before) = comments.before.last_mut() {
                before.append(line);
            }
        }
        comments.line.push(std::mem::take(line));
        comments.nested.push(nested);
    };
    let note = |comment: &Comment, head: &mut Vec<String>, line: &mut Vec<String>| {
        let text = format!("#{}", comment.text);
        if comment.inline {
            line.push(text);
        } else {
            head.push(text);
        }
    };
    match node {
        Node::Map(items) => {
            for item in items {
                match &item.key {
                    Key::Comment(c) => note(c, &mut head, &mut line),
                    Key::Name(_) => entry(&item.value, &mut head, &mut line),
                }
            }
        }
        Node::List(items) => {
            for item in items {
                match item {
                    Node::Comment(c) => note(c, &mut head, &mut line),
                    value => entry(value, &mut head, &mut line),
                }
            }
        }
        _ => return None,
    }
    head.append(&mut line);
    any |= !head.is_empty();
    comments.after = head;
    any.then_some(comments)
}
