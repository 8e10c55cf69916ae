//! Reading YAML streams into JSON-shaped values with the typing of a Go YAML library.
//!
//! The scanner is `granit-parser` (a maintained YAML 1.2 event parser); this module builds the
//! values itself so that scalar resolution follows the chosen [`Typing`] exactly: quoted and
//! block scalars are always strings, plain scalars are resolved, `!!str`-tagged scalars stay
//! strings, anchors and aliases are expanded, and `<<` merge keys are applied.
//!
//! Hostile input is bounded: aliases may not expand into more of the document than go-yaml v3
//! allows ("billion laughs"), and the scanner refuses collections nested more than 255 deep
//! (per flow and block kind: "recursion limit exceeded").

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use super::{Typing, YamlError, YamlErrorKind, scalar, yaml11};

/// go-yaml v3's bound on alias expansion: once more than 100 nodes came from aliases among more
/// than 1000 decoded, their share may not pass this ratio (0.99 up to 400k nodes, falling to
/// 0.10 at 4M).
fn allowed_alias_ratio(decoded: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    match decoded {
        d if d <= LOW => 0.99,
        d if d >= HIGH => 0.10,
        d => 0.99 - 0.89 * ((d - LOW) as f64 / (HIGH - LOW) as f64),
    }
}

/// Parses every document of a YAML stream. Empty documents come back as `Value::Null`.
pub(super) fn parse_stream(text: &str, typing: Typing) -> Result<Vec<Value>, YamlError> {
    let tab = tab_refusal(text, typing, false);
    parse_all(text, typing)
        .map_err(|e| earlier(e, tab.clone()))
        .and_then(|docs| match tab {
            Some(tab) => Err(tab),
            None => Ok(docs),
        })
}

/// libyaml's refusal of a tab (see [`super::tabs`]), for the typings that read as go-yaml.
fn tab_refusal(text: &str, typing: Typing, first_document_only: bool) -> Option<YamlError> {
    match typing {
        Typing::Yaml11 => super::tabs::libyaml_tab_error(text, first_document_only),
        Typing::GoYamlV3 | Typing::SourceText => None,
    }
}

/// Of an error and a tab refusal, the one libyaml meets first; granit's own complaint about a
/// tab is the same refusal, placed where libyaml places it.
fn earlier(error: YamlError, tab: Option<YamlError>) -> YamlError {
    match tab {
        Some(tab)
            if (tab.line, tab.column) <= (error.line, error.column)
                || error.message.contains("tab") =>
        {
            tab
        }
        _ => error,
    }
}

fn parse_all(text: &str, typing: Typing) -> Result<Vec<Value>, YamlError> {
    let mut builder = Builder::new(text, typing);
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| syntax_error(&e))?;
        builder.event(event, span)?;
    }
    Ok(builder.documents)
}

/// Parses the first document of a stream as go-yaml v2's `Unmarshal` (behind
/// `sigs.k8s.io/yaml`) does: it stops once that document is read, so what follows it is never
/// parsed, except the one token libyaml scans after the root node to see that the document
/// ended. An empty stream is `Null`.
pub(super) fn parse_first_document(text: &str, typing: Typing) -> Result<Value, YamlError> {
    let tab = tab_refusal(text, typing, true);
    read_first_document(text, typing)
        .map_err(|e| earlier(e, tab.clone()))
        .and_then(|doc| match tab {
            Some(tab) => Err(tab),
            None => Ok(doc),
        })
}

fn read_first_document(text: &str, typing: Typing) -> Result<Value, YamlError> {
    let mut builder = Builder::new(text, typing);
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(ok) => ok,
            Err(e) => return first_document_before_error(text, typing, &e),
        };
        let ended = matches!(event, Event::DocumentEnd);
        builder.event(event, span)?;
        if ended {
            break;
        }
    }
    Ok(builder.documents.into_iter().next().unwrap_or(Value::Null))
}

/// The scanner (granit) refused text after the first document's root node, where libyaml
/// would have stopped: the document as read up to the error, when its root was complete there
/// (a flow collection, quoted scalar or alias, or anything else closed by a directive or
/// document marker), unless libyaml also refuses the very next token (an invalid character, an
/// unclosed quote).
fn first_document_before_error(
    text: &str,
    typing: Typing,
    error: &granit_parser::ScanError,
) -> Result<Value, YamlError> {
    let refused = syntax_error(error);
    let marker = error.marker();
    let at = byte_offset(text, *marker);
    let Some(prefix) = text.get(..at) else {
        return Err(refused);
    };
    let mut builder = Builder::new(prefix, typing);
    let mut depth = 0usize;
    let mut root: Option<(usize, bool)> = None;
    for item in Parser::new_from_str(prefix) {
        let Ok((event, span)) = item else {
            return Err(refused);
        };
        match &event {
            Event::SequenceStart(..) | Event::MappingStart(..) if depth == 0 && root.is_none() => {
                let block = matches!(
                    event,
                    Event::SequenceStart(granit_parser::StructureStyle::Block, ..)
                        | Event::MappingStart(granit_parser::StructureStyle::Block, ..)
                );
                root = Some((usize::MAX, block));
                depth = 1;
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => depth += 1,
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some((end, _)) = root.as_mut()
                {
                    *end = byte_offset(prefix, span.end);
                }
            }
            // A plain or block scalar may go on over the next lines, so like a block
            // collection it is closed only by a marker; quoted ones and aliases end where
            // their token does.
            Event::Scalar(_, style, ..) if depth == 0 && root.is_none() => {
                let open_ended =
                    !matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
                root = Some((byte_offset(prefix, span.end), open_ended));
            }
            Event::Alias(_) if depth == 0 && root.is_none() => {
                root = Some((byte_offset(prefix, span.end), false));
            }
            _ => {}
        }
        let ended = matches!(event, Event::DocumentEnd);
        builder.event(event, span)?;
        if ended {
            break;
        }
    }
    let Some((end, block)) = root.filter(|(end, _)| *end <= at) else {
        return Err(refused);
    };
    if block && !starts_document_marker(&text[at..], marker.col()) {
        return Err(refused);
    }
    if refused_by_libyaml_scanner(&refused.message) && only_blanks_and_comments(&text[end..at]) {
        return Err(refused);
    }
    Ok(builder.documents.into_iter().next().unwrap_or(Value::Null))
}

/// Where a marker of `text` stands, in bytes.
pub(super) fn byte_offset(text: &str, marker: granit_parser::Marker) -> usize {
    marker.byte_offset().unwrap_or_else(|| {
        text.char_indices()
            .nth(marker.index())
            .map_or(text.len(), |(i, _)| i)
    })
}

/// A directive or a document start or end marker at the start of a line: what closes a block
/// collection at the root.
fn starts_document_marker(rest: &str, column: usize) -> bool {
    column == 0
        && (rest.starts_with('%')
            || ["---", "..."].iter().any(|m| {
                rest.strip_prefix(m).is_some_and(|after| {
                    after.is_empty() || after.starts_with([' ', '\t', '\n', '\r'])
                })
            }))
}

/// Problems libyaml's scanner meets in the token itself (so also in the one token it reads
/// after a document's root), as opposed to the parser's complaints about where a token stands.
fn refused_by_libyaml_scanner(message: &str) -> bool {
    [
        "unexpected character",
        "unclosed quote",
        "invalid indentation in multiline quoted scalar",
        "while parsing a quoted scalar, found unknown escape character",
    ]
    .iter()
    .any(|p| message.starts_with(p))
}

fn only_blanks_and_comments(gap: &str) -> bool {
    gap.lines()
        .all(|line| matches!(line.trim_start().chars().next(), None | Some('#')))
}

fn syntax_error(e: &granit_parser::ScanError) -> YamlError {
    YamlError {
        kind: YamlErrorKind::Syntax,
        file: None,
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info(),
    }
}

#[allow(clippy::large_enum_variant)]
enum Frame {
    Seq(Vec<Value>, usize, u64),
    Map(MapFrame),
}

struct MapFrame {
    map: Map<String, Value>,
    anchor: usize,
    /// The decoded-node count when the mapping started (its size is the difference).
    decoded_before: u64,
    pending_key: Option<(String, bool, Span)>,
    merges: Vec<Value>,
}

#[derive(Default)]
struct Builder {
    typing: Typing,
    documents: Vec<Value>,
    stack: Vec<Frame>,
    /// Anchored values and how many nodes each holds.
    anchors: HashMap<usize, (Value, u64)>,
    root: Option<Value>,
    /// Nodes decoded so far, counting every node an alias expands to.
    decoded: u64,
    /// Of those, the nodes that came from aliases.
    aliased: u64,
    /// Where the text ends when its last line holds content and no line break: a block
    /// scalar ending there has no final break to keep (granit adds one, libyaml does not).
    unterminated_end: Option<usize>,
}

impl Builder {
    fn new(text: &str, typing: Typing) -> Self {
        Builder {
            typing,
            unterminated_end: text
                .rsplit('\n')
                .next()
                .is_some_and(|last| !last.trim().is_empty() && !last.trim().starts_with('#'))
                .then_some(text.len()),
            ..Builder::default()
        }
    }
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(..) => {
                self.root = None;
                self.anchors.clear();
            }
            Event::DocumentEnd => self.documents.push(self.root.take().unwrap_or(Value::Null)),
            Event::Scalar(text, style, anchor, tag) => {
                let is_merge_key = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                let text = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded
                        if self.unterminated_end.is_some()
                            && span.end.byte_offset() == self.unterminated_end =>
                    {
                        text.strip_suffix('\n').unwrap_or(&text).into()
                    }
                    _ => text,
                };
                let value = scalar_value(&text, style, tag.as_deref(), span, self.typing)?;
                self.decoded += 1;
                self.remember(anchor, &value, 1);
                self.push_value(value, is_merge_key, span)?;
            }
            Event::Alias(id) => {
                let (value, nodes) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| err(span, "unknown anchor"))?;
                self.count_alias(nodes, span)?;
                self.push_value(value, false, span)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                self.decoded += 1;
                self.stack
                    .push(Frame::Seq(Vec::new(), anchor, self.decoded));
            }
            Event::MappingStart(_, anchor, _) => {
                self.decoded += 1;
                self.stack.push(Frame::Map(MapFrame {
                    map: Map::new(),
                    anchor,
                    decoded_before: self.decoded,
                    pending_key: None,
                    merges: Vec::new(),
                }));
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(span)?,
            _ => {}
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, value: &Value, nodes: u64) {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
    }

    /// An alias expands to `nodes` more nodes; refused past go-yaml's aliasing ratio.
    fn count_alias(&mut self, nodes: u64, span: Span) -> Result<(), YamlError> {
        self.decoded = self.decoded.saturating_add(nodes);
        self.aliased = self.aliased.saturating_add(nodes);
        let ratio = self.aliased as f64 / self.decoded as f64;
        if self.aliased > 100 && self.decoded > 1000 && ratio > allowed_alias_ratio(self.decoded) {
            return Err(err(span, "document contains excessive aliasing"));
        }
        Ok(())
    }

    fn close(&mut self, span: Span) -> Result<(), YamlError> {
        let (value, anchor, before) = match self.stack.pop() {
            Some(Frame::Seq(items, anchor, before)) => (Value::Array(items), anchor, before),
            Some(Frame::Map(frame)) => (
                apply_merges(frame.map, frame.merges),
                frame.anchor,
                frame.decoded_before,
            ),
            None => return Err(err(span, "unbalanced collection end")),
        };
        self.remember(anchor, &value, self.decoded - before + 1);
        self.push_value(value, false, span)
    }

    fn push_value(
        &mut self,
        value: Value,
        is_merge_key: bool,
        span: Span,
    ) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq(items, _, _)) => items.push(value),
            Some(Frame::Map(frame)) => match frame.pending_key.take() {
                None => {
                    let key = key_string(value, self.typing).map_err(|m| not_json(span, &m))?;
                    frame.pending_key = Some((key, is_merge_key, span));
                }
                Some((_, true, _)) => frame.merges.push(value),
                Some((key, false, key_span)) => {
                    if self.typing == Typing::GoYamlV3 && frame.map.contains_key(&key) {
                        return Err(err(
                            key_span,
                            &format!("mapping key \"{key}\" already defined"),
                        ));
                    }
                    frame.map.insert(key, value);
                }
            },
        }
        Ok(())
    }
}

/// `<<: *base` and `<<: [*a, *b]`: keys written in the mapping win over merged ones, and
/// earlier merge sources win over later ones.
fn apply_merges(map: Map<String, Value>, merges: Vec<Value>) -> Value {
    if merges.is_empty() {
        return Value::Object(map);
    }
    let mut sources = Vec::new();
    for m in merges {
        match m {
            Value::Array(items) => sources.extend(items),
            other => sources.push(other),
        }
    }
    let mut merged = Map::new();
    for source in sources.into_iter().rev() {
        if let Value::Object(src) = source {
            for (k, v) in src {
                merged.insert(k, v);
            }
        }
    }
    for (k, v) in map {
        merged.insert(k, v);
    }
    Value::Object(merged)
}

/// JSON keys are strings: other scalars are printed (go-yaml v2 prints float keys as 32-bit
/// floats, as `sigs.k8s.io/yaml` does).
fn key_string(value: Value, typing: Typing) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Ok("null".to_string()),
        Value::Number(n) if typing == Typing::Yaml11 && n.is_f64() => Ok(n
            .as_f64()
            .map(|f| scalar::format_go_float(f64::from(f as f32)))
            .unwrap_or_default()),
        Value::Array(_) | Value::Object(_) if typing == Typing::Yaml11 => {
            Err(format!("unsupported map key: {value}"))
        }
        other => Ok(super::to_compact_string(&other)),
    }
}

fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: Span,
    typing: Typing,
) -> Result<Value, YamlError> {
    match typing {
        Typing::Yaml11 => {
            return yaml11::scalar(text, style, tag).map_err(|m| {
                if m.starts_with(yaml11::DECODE_ERROR_PREFIX) || m == yaml11::BINARY_ERROR {
                    err(span, &m)
                } else {
                    not_json(span, &m)
                }
            });
        }
        // The parser reports an empty plain value (`a:`) as `~`; its span is empty.
        Typing::SourceText if span.start.index() == span.end.index() => {
            return Ok(Value::String(String::new()));
        }
        Typing::SourceText => return Ok(Value::String(text.to_string())),
        Typing::GoYamlV3 => {}
    }
    if let Some(tag) = tag {
        return tagged_scalar(text, style, tag, span);
    }
    if style == ScalarStyle::Plain {
        Ok(scalar::resolve_plain(text))
    } else {
        Ok(Value::String(text.to_string()))
    }
}

fn tagged_scalar(
    text: &str,
    style: ScalarStyle,
    tag: &Tag,
    span: Span,
) -> Result<Value, YamlError> {
    if tag.handle() != "tag:yaml.org,2002:" {
        return Ok(Value::String(text.to_string()));
    }
    let resolved = scalar::resolve_plain(text);
    let ok = match tag.suffix() {
        "str" | "binary" | "timestamp" => return Ok(Value::String(text.to_string())),
        "int" => resolved.is_i64() || resolved.is_u64(),
        "float" => resolved.is_number(),
        "bool" => resolved.is_boolean(),
        "null" => resolved.is_null(),
        _ => return Ok(Value::String(text.to_string())),
    };
    if ok {
        let _ = style;
        Ok(resolved)
    } else {
        Err(err(
            span,
            &format!("cannot decode `{text}` as a !!{}", tag.suffix()),
        ))
    }
}

fn not_json(span: Span, message: &str) -> YamlError {
    YamlError {
        kind: YamlErrorKind::NotJson,
        ..err(span, message)
    }
}

fn err(span: Span, message: &str) -> YamlError {
    YamlError {
        kind: YamlErrorKind::Syntax,
        file: None,
        line: span.start.line(),
        column: span.start.col() + 1,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_one(text: &str) -> Result<Value, YamlError> {
        super::super::from_str(text)
    }

    fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
        super::parse_stream(text, Typing::GoYamlV3)
    }

    #[test]
    fn resolves_like_go_yaml_v3() {
        let v =
            parse_one("a: 0644\nb: '0644'\nc: yes\nd: !!str 12\ne: |\n  x\nf: [1, 1.5, null]\n");
        assert_eq!(
            v,
            Ok(
                json!({"a": 420, "b": "0644", "c": "yes", "d": "12", "e": "x\n", "f": [1, 1.5, null]})
            )
        );
    }

    #[test]
    fn a_billion_laughs_document_is_refused_as_excessive_aliasing() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let letters = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in letters.windows(2) {
            let aliases = vec![format!("*{}", pair[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{aliases}]\n", pair[1], pair[1]));
        }
        let error = parse_one(&text).expect_err("a billion laughs");
        assert_eq!(error.message, "document contains excessive aliasing");
    }

    #[test]
    fn moderate_aliasing_is_expanded() {
        let text = "base: &b {x: 1}\n".to_owned()
            + &(0..300).map(|i| format!("k{i}: *b\n")).collect::<String>();
        let value = parse_one(&text).expect("300 aliases of a small mapping");
        assert_eq!(value["k299"], json!({"x": 1}));
    }

    #[test]
    fn nesting_deeper_than_the_scanner_limit_is_refused() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let error = parse_one(&deep).expect_err("too deep");
        assert_eq!(error.message, "recursion limit exceeded");
        let block: String = (0..300)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        let error = parse_one(&block).expect_err("too deep");
        assert_eq!(error.message, "recursion limit exceeded");
        let fine = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_one(&fine).is_ok());
    }

    #[test]
    fn expands_anchors_and_merges() {
        let v = parse_one("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n");
        assert_eq!(
            v,
            Ok(json!({"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}}))
        );
    }

    #[test]
    fn reports_duplicate_keys_with_line() {
        let e = parse_one("a: 1\nb: 2\na: 3\n");
        assert!(matches!(e, Err(YamlError { line: 3, .. })));
    }

    #[test]
    fn source_text_keeps_every_scalar_as_written() {
        let docs = super::parse_stream("a: 1.50\nb: [0x10, ~, 'q']\nc:\n", Typing::SourceText)
            .expect("parses");
        assert_eq!(
            docs,
            vec![json!({"a": "1.50", "b": ["0x10", "~", "q"], "c": ""})]
        );
    }

    #[test]
    fn splits_documents() {
        let docs = parse_stream("a: 1\n---\n---\nb: 2\n");
        assert_eq!(docs.map(|d| d.len()), Ok(3));
    }
}
