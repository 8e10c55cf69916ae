//! Where libyaml (the scanner of go-yaml v2 and v3) refuses a tab and granit does not.
//!
//! libyaml skips a tab between tokens only inside a flow collection or where a simple key
//! cannot start; at the start of a line of a block collection, and after `-`, `?` or the `:`
//! of a complex key, a tab is "found character that cannot start any token". A tab in the
//! indentation of a plain scalar's continuation line left of the enclosing collection's
//! content "violates indentation", and one in a block scalar's indentation is "where an
//! indentation space is expected". granit accepts some of these texts and words the others its
//! own way, so this pass walks granit's tokens and the text between them with libyaml's rules,
//! and runs only on texts holding a tab.

use granit_parser::{ScalarStyle, Scanner, StrInput, TokenType};

use super::parse::byte_offset;
use super::{YamlError, YamlErrorKind};

/// libyaml's message for a tab where a token could start.
pub const TAB_STARTS_TOKEN: &str = "found character that cannot start any token";
/// libyaml's message for a tab left of a plain scalar's indentation.
pub const TAB_IN_PLAIN_INDENT: &str = "found a tab character that violates indentation";
/// libyaml's message for a tab in a block scalar's indentation.
pub const TAB_IN_BLOCK_INDENT: &str =
    "found a tab character where an indentation space is expected";

/// The first tab libyaml would refuse in `text`, if any. With `first_document_only`, the walk
/// stops where go-yaml's `Unmarshal` stops reading: at the marker after the first document.
pub(super) fn libyaml_tab_error(text: &str, first_document_only: bool) -> Option<YamlError> {
    if !text.contains('\t') {
        return None;
    }
    let mut walk = Walk {
        text: text.as_bytes(),
        pos: 0,
        flow: 0,
        simple_key_allowed: true,
        indents: Vec::new(),
        simple_keys: vec![false],
    };
    let mut seen_content = false;
    let outcome = (|| -> Result<(), (usize, &'static str)> {
        for token in Scanner::new(StrInput::new(text)) {
            let token = match token {
                Ok(token) => token,
                Err(e) => {
                    // A tab libyaml refused before the place granit stopped at, or granit's
                    // own tab complaint in libyaml's words; any other error stands.
                    walk.gap(text.len())?;
                    return granit_tab_refusal(text, &e);
                }
            };
            let span = token.span();
            let (start, end) = (byte_offset(text, span.start), byte_offset(text, span.end));
            match token.token_type() {
                TokenType::StreamStart | TokenType::Value | TokenType::BlockEntry => {}
                TokenType::BlockMappingStart | TokenType::BlockSequenceStart => {
                    let mapping = matches!(token.token_type(), TokenType::BlockMappingStart);
                    walk.indents.push((span.start.col(), mapping));
                    walk.simple_keys.push(false);
                }
                TokenType::BlockEnd => {
                    walk.indents.pop();
                    walk.simple_keys.pop();
                }
                TokenType::Key if start == end => walk.set_simple_key(true),
                TokenType::Key => {
                    walk.gap(start)?;
                    walk.set_simple_key(false);
                    walk.simple_key_allowed = walk.flow == 0;
                    walk.pos = end;
                }
                TokenType::StreamEnd => return walk.gap(text.len()),
                TokenType::DocumentStart | TokenType::DocumentEnd => {
                    walk.gap(start)?;
                    if first_document_only && seen_content {
                        return Ok(());
                    }
                    walk.simple_key_allowed = false;
                    walk.pos = end;
                }
                TokenType::Scalar(style, _) => {
                    seen_content = true;
                    match style {
                        ScalarStyle::Plain => {
                            walk.gap(start)?;
                            walk.plain(start, end)?;
                        }
                        ScalarStyle::Literal | ScalarStyle::Folded => walk.block(start, end)?,
                        _ => {
                            walk.gap(start)?;
                            walk.simple_key_allowed = false;
                            walk.pos = end;
                        }
                    }
                }
                TokenType::FlowSequenceStart | TokenType::FlowMappingStart => {
                    walk.gap(start)?;
                    walk.flow += 1;
                    walk.simple_key_allowed = true;
                    walk.simple_keys.push(false);
                    walk.pos = end;
                }
                TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                    walk.gap(start)?;
                    walk.flow = walk.flow.saturating_sub(1);
                    walk.simple_key_allowed = false;
                    walk.simple_keys.pop();
                    walk.pos = end;
                }
                TokenType::FlowEntry => {
                    walk.gap(start)?;
                    walk.simple_key_allowed = true;
                    walk.pos = end;
                }
                _ => {
                    seen_content = true;
                    walk.gap(start)?;
                    walk.simple_key_allowed = false;
                    walk.pos = end;
                }
            }
        }
        Ok(())
    })();
    let (at, message) = outcome.err().filter(|(_, m)| !m.is_empty())?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some(YamlError {
        kind: YamlErrorKind::Syntax,
        file: None,
        line,
        column,
        message: message.to_owned(),
    })
}

/// granit's complaints about tabs, placed and worded as libyaml's: the tab of a continuation
/// line's or block scalar line's indentation (granit points at the scalar), or one where a
/// token would start.
fn granit_tab_refusal(text: &str, e: &granit_parser::ScanError) -> Result<(), Refusal> {
    let info = e.info();
    let at = byte_offset(text, *e.marker());
    let message = if info.starts_with("while scanning a plain scalar, found a tab") {
        TAB_IN_PLAIN_INDENT
    } else if info.starts_with("a block scalar content cannot start with a tab") {
        TAB_IN_BLOCK_INDENT
    } else if info.starts_with("tabs disallowed within this context") {
        return Err((at, TAB_STARTS_TOKEN));
    } else {
        return Ok(());
    };
    // The first tab in the indentation of a line after the scalar's start.
    let bytes = text.as_bytes();
    let mut line_start = bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| at + p + 1);
    while let Some(start) = line_start {
        let indentation = bytes[start..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if let Some(tab) = bytes[start..start + indentation]
            .iter()
            .position(|&b| b == b'\t')
        {
            return Err((start + tab, message));
        }
        line_start = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| start + p + 1);
    }
    Ok(())
}

/// libyaml's scanner state, as far as tabs need it.
struct Walk<'a> {
    text: &'a [u8],
    /// How far the text has been walked.
    pos: usize,
    flow: usize,
    simple_key_allowed: bool,
    /// Columns of the open block collections (libyaml's indentation stack), and whether each
    /// is a mapping.
    indents: Vec<(usize, bool)>,
    /// Per open collection: whether its last key was a simple (implicit) one.
    simple_keys: Vec<bool>,
}

/// Where and why libyaml refuses the text; an empty message means libyaml's parser fails
/// first, so no tab is refused.
type Refusal = (usize, &'static str);

/// libyaml's parser refuses the text before its scanner reaches any later tab.
const PARSER_FAILS_FIRST: Refusal = (0, "");

impl Walk<'_> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.text.get(i).copied()
    }

    fn column(&self, i: usize) -> usize {
        i - self.text[..i]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
    }

    fn blank_or_end(&self, i: usize) -> bool {
        matches!(self.byte(i), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
    }

    fn set_simple_key(&mut self, simple: bool) {
        if let Some(top) = self.simple_keys.last_mut() {
            *top = simple;
        }
    }

    /// libyaml's `scan_to_next_token` over the text before the next token (at most `until`),
    /// with the indicators (`-`, `?`, `:`, `,`) granit reports without a span of their own.
    fn gap(&mut self, until: usize) -> Result<(), Refusal> {
        let mut i = self.pos;
        while i < until {
            match self.byte(i) {
                Some(b' ') => i += 1,
                Some(b'\t') if self.flow > 0 || !self.simple_key_allowed => i += 1,
                Some(b'\t') => return Err((i, TAB_STARTS_TOKEN)),
                Some(b'#') => {
                    while !matches!(self.byte(i), None | Some(b'\n' | b'\r')) {
                        i += 1;
                    }
                }
                Some(b'\n' | b'\r') => {
                    i += 1;
                    if self.flow == 0 {
                        self.simple_key_allowed = true;
                    }
                }
                // An entry where a mapping's key must be: libyaml's parser stops there.
                Some(b'-')
                    if self.flow == 0
                        && self.blank_or_end(i + 1)
                        && self.indents.last() == Some(&(self.column(i), true)) =>
                {
                    return Err(PARSER_FAILS_FIRST);
                }
                Some(b'-' | b'?') if self.blank_or_end(i + 1) => {
                    i += 1;
                    self.simple_key_allowed = true;
                }
                Some(b':') if self.flow > 0 || self.blank_or_end(i + 1) => {
                    i += 1;
                    let simple = self.simple_keys.last().copied().unwrap_or(false);
                    self.simple_key_allowed = !simple && self.flow == 0;
                    self.set_simple_key(false);
                }
                Some(b',') if self.flow > 0 => {
                    i += 1;
                    self.simple_key_allowed = true;
                }
                _ => break,
            }
        }
        self.pos = i.max(self.pos);
        Ok(())
    }

    /// A plain scalar from `start` to `end`, and the blanks libyaml consumes after it to see
    /// whether it goes on: a tab in a continuation line's indentation left of the enclosing
    /// block collection's content is refused.
    fn plain(&mut self, start: usize, end: usize) -> Result<(), Refusal> {
        let indent = self.indents.last().map_or(0, |(c, _)| c + 1);
        let mut leading = false;
        let mut i = start;
        loop {
            match self.byte(i) {
                Some(b'\n' | b'\r') => {
                    leading = true;
                    i += 1;
                }
                Some(b'\t') if leading && self.column(i) < indent => {
                    return Err((i, TAB_IN_PLAIN_INDENT));
                }
                Some(b' ' | b'\t') => i += 1,
                Some(_) if i < end => {
                    leading = false;
                    i += 1;
                }
                _ => break,
            }
        }
        self.simple_key_allowed = leading;
        self.pos = i;
        Ok(())
    }

    /// A block scalar whose content starts at `start`; its header is in the gap before it.
    /// Each following line's indentation is read as libyaml does: spaces up to the scalar's
    /// indentation (unknown until the first non-empty line), where a tab is refused, until a
    /// line indented less than the content ends the scalar.
    fn block(&mut self, start: usize, end: usize) -> Result<(), Refusal> {
        self.gap(start)?;
        let parent = self.indents.last().map_or(-1, |&(c, _)| c as i64);
        let mut i = self.pos;
        let mut explicit = None;
        while !matches!(self.byte(i), None | Some(b'\n' | b'#')) {
            if let Some(d @ b'1'..=b'9') = self.byte(i) {
                explicit = Some(usize::from(d - b'0'));
            }
            i += 1;
        }
        while !matches!(self.byte(i), None | Some(b'\n')) {
            i += 1;
        }
        let mut indent = explicit.map(|n| (parent.max(0) as usize) + n);
        let mut widest_blank = 0;
        while self.byte(i) == Some(b'\n') {
            i += 1;
            let line_start = i;
            while self.byte(i) == Some(b' ') && indent.is_none_or(|n| i - line_start < n) {
                i += 1;
            }
            let column = i - line_start;
            if self.byte(i) == Some(b'\t') && indent.is_none_or(|n| column < n) {
                return Err((i, TAB_IN_BLOCK_INDENT));
            }
            match self.byte(i) {
                None => break,
                Some(b'\n') => {
                    widest_blank = widest_blank.max(column);
                    continue;
                }
                Some(b'\r') if self.byte(i + 1) == Some(b'\n') => {
                    widest_blank = widest_blank.max(column);
                    i += 1;
                    continue;
                }
                Some(_) => match indent {
                    None => {
                        let floor = (parent + 1).max(1) as usize;
                        indent = Some(column.max(widest_blank).max(floor));
                    }
                    Some(n) if column < n => break,
                    Some(_) => {}
                },
            }
            while !matches!(self.byte(i), None | Some(b'\n')) {
                i += 1;
            }
        }
        self.simple_key_allowed = true;
        self.pos = end;
        Ok(())
    }
}
