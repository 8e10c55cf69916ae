//! A YAML stream read into a small tree whose every node knows the byte range of its source text.
//!
//! `granit-parser` gives events with spans; this module folds them into documents of
//! [`Node`]s so the editors can find `metadata.annotations` or a container's `image` and splice
//! bytes at exact offsets. No crate offers a YAML tree that can be edited and written back
//! byte-for-byte (comments, quoting, blank lines and order untouched), which is what fluxd's
//! kubeyaml (ruamel round-trip) provided; a span tree plus hand splicing is the smallest way.
//!
//! Scalars keep their raw decoded text, the way go-yaml v2 hands a scalar to a `string` field
//! (fluxd read annotations that way: `automated: yes` is the string `yes`, not `true`).
//! Aliases are expanded into copies marked [`Node::aliased`], so readers see through them while
//! editors refuse to splice text that belongs to the anchor.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span, StructureStyle};

/// A syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the scanner reported.
    pub message: String,
}

/// What a node holds.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar { value: String, style: ScalarStyle },
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
}

/// One node with its source range `start..end` (bytes). For block collections `end` is the end
/// of the last child's text, not the position of the next token.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub start: usize,
    pub end: usize,
    /// 0-based column of `start`.
    pub col: usize,
    pub flow: bool,
    /// Carries an anchor (`&name`): editing it would also change every alias.
    pub anchored: bool,
    /// A copy made for an alias: its range is the anchor's text, not editable here.
    pub aliased: bool,
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value nodes under `key` when this is a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The mapping's entries, if this is a mapping.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The sequence's items, if this is a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// A plain scalar that reads as null (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, style: ScalarStyle::Plain }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    fn mark_aliased(&mut self) {
        self.aliased = true;
        match &mut self.kind {
            NodeKind::Scalar { .. } => {}
            NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.mark_aliased();
                v.mark_aliased();
            }),
            NodeKind::Seq(items) => items.iter_mut().for_each(Node::mark_aliased),
        }
    }
}

/// Parses every document of `text`; an empty document is `None`.
pub(crate) fn parse_documents(text: &str) -> Result<Vec<Option<Node>>, SyntaxError> {
    let mut builder = Builder {
        text,
        documents: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        builder.event(event, span);
    }
    Ok(builder.documents)
}

enum Open {
    Map(Node, Option<Node>, usize),
    Seq(Node, usize),
}

struct Builder<'t> {
    text: &'t str,
    documents: Vec<Option<Node>>,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
}

fn offsets(span: Span) -> (usize, usize) {
    span.byte_range().map_or((0, 0), |r| (r.start, r.end))
}

fn collection(kind: NodeKind, span: Span, style: StructureStyle, anchor: usize) -> Node {
    let (start, end) = offsets(span);
    Node {
        kind,
        start,
        end,
        col: span.start.col(),
        flow: style == StructureStyle::Flow,
        anchored: anchor != 0,
        aliased: false,
    }
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: Span) {
        match event {
            Event::DocumentStart(..) => {
                self.root = None;
                self.anchors.clear();
            }
            Event::DocumentEnd => self.documents.push(self.root.take()),
            Event::Scalar(text, style, anchor, _) => {
                let (start, mut end) = offsets(span);
                // An absent value (`key:` then a line break) comes as an empty-span `~`: it is
                // the empty string to a go-yaml v2 `string` field.
                let value = if start == end && style == ScalarStyle::Plain {
                    String::new()
                } else {
                    text.into_owned()
                };
                // A block scalar's span runs on to the next token's indentation; end it at the
                // start of its last line so that "after this value" means a line boundary.
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    end = after_last_line_break(self.text, start, end);
                }
                let node = Node {
                    kind: NodeKind::Scalar { value, style },
                    start,
                    end,
                    col: span.start.col(),
                    flow: false,
                    anchored: anchor != 0,
                    aliased: false,
                };
                self.finish(node, anchor);
            }
            Event::Alias(id) => {
                if let Some(mut node) = self.anchors.get(&id).cloned() {
                    node.mark_aliased();
                    self.finish(node, 0);
                }
            }
            Event::MappingStart(style, anchor, _) => self.stack.push(Open::Map(
                collection(NodeKind::Map(Vec::new()), span, style, anchor),
                None,
                anchor,
            )),
            Event::SequenceStart(style, anchor, _) => self.stack.push(Open::Seq(
                collection(NodeKind::Seq(Vec::new()), span, style, anchor),
                anchor,
            )),
            Event::MappingEnd | Event::SequenceEnd => self.close(span),
            _ => {}
        }
    }

    fn close(&mut self, span: Span) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        let (mut node, anchor) = match open {
            Open::Map(node, _, anchor) | Open::Seq(node, anchor) => (node, anchor),
        };
        let (_, end) = offsets(span);
        node.end = if node.flow {
            end
        } else {
            last_child_end(&node).unwrap_or(node.start)
        };
        self.finish(node, anchor);
    }

    /// Places a completed node in its parent (or as the document root) and records anchors.
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq(seq, _)) => {
                if let NodeKind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Open::Map(map, pending, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let NodeKind::Map(entries) = &mut map.kind {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

/// For a block scalar spanning `start..end`: the byte just after its last line break.
fn after_last_line_break(text: &str, start: usize, end: usize) -> usize {
    text.get(start..end)
        .and_then(|s| s.rfind('\n'))
        .map_or(end, |i| start + i + 1)
}

fn last_child_end(node: &Node) -> Option<usize> {
    match &node.kind {
        NodeKind::Map(entries) => entries.last().map(|(k, v)| v.end.max(k.end)),
        NodeKind::Seq(items) => items.last().map(|i| i.end),
        NodeKind::Scalar { .. } => None,
    }
}
