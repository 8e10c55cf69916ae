//! YAML output byte-identical to `kustomize build`.
//!
//! kustomize prints every resource by marshalling it to JSON and converting that JSON to YAML with
//! `sigs.k8s.io/yaml`, which decodes the JSON with go-yaml v2 and encodes it again with go-yaml
//! v2's libyaml-derived emitter. No Rust YAML crate reproduces that emitter's choices (map keys
//! sorted with digit runs compared as numbers, sequences not indented inside mappings, plain
//! scalars folded past column 80, YAML 1.1 words such as `yes` double-quoted, tabs forcing double
//! quotes, `|`/`|-`/`|+` block scalars), so this module implements them directly. It works on a
//! JSON value because that is exactly what go-yaml v2 sees.
//!
//! The same emitter, with another [`Layout`], writes what go-yaml v3 writes with `SetIndent(4)`
//! (sops' decrypted YAML): keys in document order, sequences indented inside mappings, nested
//! indentation rounded to the step (v3's "more regular" indentation).

use serde_json::{Map, Value};

use super::scalar;

/// How a Go YAML library lays a document out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The indentation step.
    pub indent: usize,
    /// The column past which long scalars are folded onto a continuation line.
    pub width: usize,
    /// Map keys sorted as go-yaml v2 sorts them (else kept in document order).
    pub sort_keys: bool,
    /// Sequences inside mappings indented one step (go-yaml v3) rather than not at all (v2).
    pub indent_sequences: bool,
    /// Floats written as Go's shortest `%g` (go-yaml v3 encoding Go values) rather than as
    /// JSON numbers.
    pub go_floats: bool,
}

impl Layout {
    /// `sigs.k8s.io/yaml` (go-yaml v2): what `kustomize build` prints.
    pub const GO_YAML_V2: Layout = Layout {
        indent: 2,
        width: 80,
        sort_keys: true,
        indent_sequences: false,
        go_floats: false,
    };
    /// go-yaml v3 with `SetIndent(4)` on an ordered node tree: what sops prints.
    pub const GO_YAML_V3_INDENT_4: Layout = Layout {
        indent: 4,
        // go-yaml v3 sets no line width: nothing is folded.
        width: usize::MAX,
        sort_keys: false,
        indent_sequences: true,
        go_floats: false,
    };
    /// go-yaml v3's `Encoder` with `SetIndent(2)` on Go values (Helm's `toYamlPretty`): map keys
    /// sorted, sequences indented under their key, nothing folded, floats in Go's `%g`.
    pub const GO_YAML_V3_PRETTY: Layout = Layout {
        indent: 2,
        width: usize::MAX,
        sort_keys: true,
        indent_sequences: true,
        go_floats: true,
    };

    /// The indentation of a node nested under one at `indent`: v3 rounds it up to a multiple of
    /// the step (for v2's step of 2 on even indents that is the same as adding the step).
    fn nested(&self, indent: usize) -> usize {
        self.indent * ((indent + self.indent) / self.indent)
    }
}

/// Renders one document (no leading `---`) exactly as go-yaml v2 would.
pub(super) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(&mut out, value);
    out
}

/// Appends one document to `out`, which is empty or ends with a line break.
pub(super) fn write_yaml(out: &mut String, value: &Value) {
    write_yaml_with(out, value, &Layout::GO_YAML_V2);
}

/// Comment lines to write around the entries of one mapping or sequence, placed as go-yaml v3
/// writes a node tree's head, line and foot comments. Each line is written as given (`#`
/// included); entries are counted in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comments {
    /// Per entry: lines on their own before it (a mapping's or sequence's own head comment is
    /// the `before` of its first entry).
    pub before: Vec<Vec<String>>,
    /// Per entry: the line comment after its scalar value.
    pub line: Vec<Vec<String>>,
    /// Per entry: the comments inside its value, when that is a mapping or a sequence.
    pub nested: Vec<Option<Comments>>,
    /// Lines after the last entry (the last entry's foot comment).
    pub after: Vec<String>,
}

impl Comments {
    fn before(this: Option<&Self>, entry: usize) -> &[String] {
        this.and_then(|c| c.before.get(entry))
            .map_or(&[], Vec::as_slice)
    }

    fn line(this: Option<&Self>, entry: usize) -> &[String] {
        this.and_then(|c| c.line.get(entry))
            .map_or(&[], Vec::as_slice)
    }

    fn nested(this: Option<&Self>, entry: usize) -> Option<&Self> {
        this.and_then(|c| c.nested.get(entry))
            .and_then(Option::as_ref)
    }

    fn after(this: Option<&Self>) -> &[String] {
        this.map_or(&[], |c| c.after.as_slice())
    }
}

/// Appends one document laid out as `layout` says.
pub(super) fn write_yaml_with(out: &mut String, value: &Value, layout: &Layout) {
    write_commented(out, value, None, layout);
}

/// Appends one document with its comments.
pub(super) fn write_commented(
    out: &mut String,
    value: &Value,
    comments: Option<&Comments>,
    layout: &Layout,
) {
    let mut e = Emitter {
        out,
        column: 0,
        indent: 0,
        whitespace: true,
        indention: true,
        layout: *layout,
    };
    match value {
        Value::Object(m) if !m.is_empty() => e.block_map(m, 0, comments, false),
        Value::Array(a) if !a.is_empty() => e.block_seq(a, 0, comments, false),
        other => {
            e.comment_lines(Comments::after(comments));
            // A block scalar as the whole document is indented one step, as libyaml's
            // root indent of -1 grows to `best_indent` for it; other scalars start at 0.
            let literal = matches!(other, Value::String(s)
                if matches!(choose_string_style(s, false), Style::Literal));
            e.indent = if literal { layout.indent } else { 0 };
            e.whitespace = true;
            e.indention = true;
            e.scalar(other, false);
        }
    }
    if !e.out.ends_with('\n') {
        e.out.push('\n');
    }
}

/// `text` as a one-line double-quoted scalar, escaped exactly as go-yaml escapes it (`\t`, `\n`,
/// `\"`, `\\`, the named escapes, else `\xHH`, `\uHHHH` or `\UHHHHHHHH` in upper-case hex).
/// The one quoting rule of every crate that edits YAML text in place.
pub fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    let mut emitter = Emitter {
        out: &mut out,
        column: 0,
        indent: 0,
        whitespace: true,
        indention: true,
        layout: Layout::GO_YAML_V2,
    };
    emitter.write_double(text, false);
    out
}

/// `text` as a one-line single-quoted scalar (`'` doubled), or double-quoted when it holds a
/// character single quotes cannot carry on one line (a line break or a non-printable one).
pub fn single_quoted(text: &str) -> String {
    if text.chars().any(|c| is_break(c) || !is_printable(c)) {
        return double_quoted(text);
    }
    format!("'{}'", text.replace('\'', "''"))
}

struct Emitter<'a> {
    out: &'a mut String,
    column: usize,
    indent: usize,
    whitespace: bool,
    indention: bool,
    layout: Layout,
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

impl Emitter<'_> {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self) {
        if !self.indention
            || self.column > self.indent
            || (self.column == self.indent && !self.whitespace)
        {
            self.put_break();
        }
        while self.column < self.indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(&mut self, text: &str, need_whitespace: bool, is_whitespace: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in text.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = false;
    }

    /// Comment lines on their own, at the current indentation.
    fn comment_lines(&mut self, lines: &[String]) {
        for line in lines {
            self.write_indent();
            self.out.push_str(line);
            self.put_break();
            self.indention = true;
            self.whitespace = true;
        }
    }

    /// The comment lines after the last entry of a collection at `indent` (none: nothing
    /// changes, so documents without comments are written exactly as before).
    fn foot_comment(&mut self, lines: &[String], indent: usize) {
        if !lines.is_empty() {
            self.indent = indent;
            self.comment_lines(lines);
        }
    }

    /// A line comment after a value: the first line on the value's line, the rest below it.
    fn line_comment(&mut self, lines: &[String]) {
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.write_indent();
            } else if !self.whitespace {
                self.put(' ');
            }
            self.out.push_str(line);
            self.put_break();
            self.indention = true;
            self.whitespace = true;
        }
    }

    /// A block mapping; `head_written` when its first entry's comments went before its `-`.
    fn block_map(
        &mut self,
        map: &Map<String, Value>,
        indent: usize,
        comments: Option<&Comments>,
        head_written: bool,
    ) {
        for (i, (key, value)) in entries(map, self.layout.sort_keys).into_iter().enumerate() {
            self.indent = indent;
            if i > 0 || !head_written {
                self.comment_lines(Comments::before(comments, i));
            }
            self.write_indent();
            self.key(key);
            self.indicator(":", false, false);
            let nested = Comments::nested(comments, i);
            self.value_after_indicator(value, indent, true, nested);
            self.line_comment(Comments::line(comments, i));
        }
        self.foot_comment(Comments::after(comments), indent);
    }

    fn block_seq(
        &mut self,
        items: &[Value],
        indent: usize,
        comments: Option<&Comments>,
        head_written: bool,
    ) {
        for (i, item) in items.iter().enumerate() {
            self.indent = indent;
            let nested = Comments::nested(comments, i);
            if i > 0 || !head_written {
                // A collection item's own head comment goes before the `-` that starts it; on
                // the first item it replaces the sequence's, which go-yaml v3 then drops.
                let inner = collection_head(item, nested);
                if i > 0 || inner.is_empty() {
                    self.comment_lines(Comments::before(comments, i));
                }
                self.comment_lines(inner);
            }
            self.write_indent();
            self.indicator("-", true, false);
            self.indention = true;
            self.value_after_indicator(item, indent, false, nested);
            self.line_comment(Comments::line(comments, i));
        }
        self.foot_comment(Comments::after(comments), indent);
    }

    /// Emits a node that follows `key:` or `-`; `in_map` tells which.
    fn value_after_indicator(
        &mut self,
        value: &Value,
        indent: usize,
        in_map: bool,
        comments: Option<&Comments>,
    ) {
        match value {
            Value::Object(m) if !m.is_empty() => {
                if in_map {
                    self.block_map(m, self.layout.nested(indent), comments, false);
                } else {
                    self.first_map_in_seq(m, indent + 2, comments);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                if !in_map {
                    self.first_seq_in_seq(a, indent + 2, comments);
                } else if self.layout.indent_sequences {
                    self.block_seq(a, self.layout.nested(indent), comments, false);
                } else {
                    self.block_seq(a, indent, comments, false);
                }
            }
            Value::Object(_) => self.indicator("{}", true, false),
            Value::Array(_) => self.indicator("[]", true, false),
            scalar => {
                self.indent = if in_map {
                    self.layout.nested(indent)
                } else {
                    indent + 2
                };
                self.scalar(scalar, false);
            }
        }
    }

    /// A mapping that is a sequence item starts on the `- ` line.
    fn first_map_in_seq(
        &mut self,
        map: &Map<String, Value>,
        indent: usize,
        comments: Option<&Comments>,
    ) {
        self.indent = indent;
        self.indention = true;
        self.whitespace = true;
        self.put_pending_space();
        self.block_map(map, indent, comments, true);
    }

    fn first_seq_in_seq(&mut self, items: &[Value], indent: usize, comments: Option<&Comments>) {
        self.indent = indent;
        self.indention = true;
        self.whitespace = true;
        self.put_pending_space();
        self.block_seq(items, indent, comments, true);
    }

    /// After `-` the emitter has written no space yet; libyaml writes it as part of the next
    /// indentation step, which lands on the same line because the column is below the indent.
    fn put_pending_space(&mut self) {
        while self.column < self.indent {
            self.put(' ');
        }
    }

    fn key(&mut self, key: &str) {
        let style = choose_string_style(key, true);
        self.write_scalar(key, style, false);
    }

    fn scalar(&mut self, value: &Value, simple_key: bool) {
        match value {
            Value::Null => self.write_scalar("null", Style::Plain, simple_key),
            Value::Bool(b) => {
                self.write_scalar(if *b { "true" } else { "false" }, Style::Plain, false)
            }
            Value::Number(n) => {
                let text = match n.as_f64() {
                    Some(f) if self.layout.go_floats && n.is_f64() => scalar::format_go_float(f),
                    _ => scalar::format_number(n),
                };
                self.write_scalar(&text, Style::Plain, false);
            }
            Value::String(s) => {
                let style = choose_string_style(s, simple_key);
                self.write_scalar(s, style, !simple_key);
            }
            Value::Array(_) => self.indicator("[]", true, false),
            Value::Object(_) => self.indicator("{}", true, false),
        }
    }

    fn write_scalar(&mut self, text: &str, style: Style, allow_breaks: bool) {
        match style {
            Style::Plain => self.write_plain(text, allow_breaks),
            Style::Single => self.write_single(text, allow_breaks),
            Style::Double => self.write_double(text, allow_breaks),
            Style::Literal => self.write_literal(text),
        }
    }

    fn write_plain(&mut self, text: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > self.layout.width && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single(&mut self, text: &str, allow_breaks: bool) {
        self.indicator("'", true, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                let inner = i > 0 && i + 1 < chars.len();
                if allow_breaks
                    && !spaces
                    && self.column > self.layout.width
                    && inner
                    && !next_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.indicator("'", false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, text: &str, allow_breaks: bool) {
        self.indicator("\"", true, false);
        let chars: Vec<char> = text.chars().collect();
        let starts_with_bom = chars.first() == Some(&'\u{FEFF}');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                self.write_escape(c);
                spaces = false;
            } else if c == ' ' {
                let inner = i > 0 && i + 1 < chars.len();
                if allow_breaks && !spaces && self.column > self.layout.width && inner {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_escape(&mut self, c: char) {
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{a0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(s) = short {
            self.put(s);
            return;
        }
        let v = c as u32;
        let (letter, width) = if v <= 0xFF {
            ('x', 2)
        } else if v <= 0xFFFF {
            ('u', 4)
        } else {
            ('U', 8)
        };
        self.put(letter);
        for k in (0..width).rev() {
            let digit = (v >> (k * 4)) & 0xF;
            let ch = std::char::from_digit(digit, 16)
                .unwrap_or('0')
                .to_ascii_uppercase();
            self.put(ch);
        }
    }

    fn write_literal(&mut self, text: &str) {
        self.indicator("|", true, false);
        let first = text.chars().next();
        if first == Some(' ') || first.is_some_and(is_break) {
            self.indicator(&self.layout.indent.to_string(), false, false);
        }
        if let Some(hint) = chomp_hint(text) {
            self.indicator(hint, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in text.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// The head comment go-yaml v3 writes before the `-` of a collection item: its own, unless the
/// first item of a sequence is itself a collection with a head, which replaces it.
fn collection_head<'c>(value: &Value, comments: Option<&'c Comments>) -> &'c [String] {
    match value {
        Value::Object(m) if !m.is_empty() => Comments::before(comments, 0),
        Value::Array(a) if !a.is_empty() => {
            let inner = collection_head(&a[0], Comments::nested(comments, 0));
            if inner.is_empty() {
                Comments::before(comments, 0)
            } else {
                inner
            }
        }
        _ => &[],
    }
}

fn chomp_hint(text: &str) -> Option<&'static str> {
    let chars: Vec<char> = text.chars().collect();
    let Some(&last) = chars.last() else {
        return Some("-");
    };
    if !is_break(last) {
        return Some("-");
    }
    if chars.len() == 1 {
        return Some("+");
    }
    if is_break(chars[chars.len() - 2]) {
        return Some("+");
    }
    None
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's printable set; note that it leaves out every character outside the BMP.
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
        || v == 0x85
}

/// What libyaml's scalar analysis allows for a given value.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = text.chars().collect();
    let mut block_indicators = text.starts_with("---") || text.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\t');
        block_indicators |= indicator_at(c, i == 0, followed_by_whitespace, preceded_by_whitespace);
        if !is_printable(c) {
            special = true;
        }
        let last = i + 1 == chars.len();
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Whether `c` is a block-context indicator that rules out a plain scalar.
fn indicator_at(c: char, first: bool, followed_by_ws: bool, preceded_by_ws: bool) -> bool {
    if first {
        return match c {
            '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
            | '@' | '`' => true,
            '?' | ':' | '-' => followed_by_ws,
            _ => false,
        };
    }
    match c {
        ':' => followed_by_ws,
        '#' => preceded_by_ws,
        _ => false,
    }
}

/// go-yaml v2's choice for a string: literal if it has a newline, plain if it would read back as
/// the same string, double-quoted otherwise; then libyaml downgrades what the content forbids.
fn choose_string_style(s: &str, simple_key: bool) -> Style {
    let requested = if s.contains('\n') {
        Style::Literal
    } else if scalar::plain_reads_as_string(s) && !scalar::is_base60_float(s) {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (s.is_empty() && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

/// Map entries in go-yaml v2's key order, or in document order.
fn entries(map: &Map<String, Value>, sorted: bool) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if sorted {
        entries.sort_by(|a, b| go_yaml_key_order(a.0, b.0));
    }
    entries
}

/// go-yaml v2 orders string keys rune by rune, letters before non-letters, and compares runs of
/// digits by their numeric value.
pub fn go_yaml_key_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let less = |x: &str, y: &str| key_less(x, y);
    if less(a, b) {
        Ordering::Less
    } else if less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        return digit_run_less(&ar, &br, i);
    }
    ar.len() < br.len()
}

fn digit_run_less(ar: &[char], br: &[char], i: usize) -> bool {
    let (mut an, mut bn): (i64, i64) = (0, 0);
    if ar[i] == '0' || br[i] == '0' {
        let mut j = i;
        while j > 0 && ar[j - 1].is_ascii_digit() {
            if ar[j - 1] != '0' {
                an = 1;
                bn = 1;
                break;
            }
            j -= 1;
        }
    }
    let mut ai = i;
    while ai < ar.len() && ar[ai].is_ascii_digit() {
        an = an
            .wrapping_mul(10)
            .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
        ai += 1;
    }
    let mut bi = i;
    while bi < br.len() && br[bi].is_ascii_digit() {
        bn = bn
            .wrapping_mul(10)
            .wrapping_add(i64::from(br[bi] as u8 - b'0'));
        bi += 1;
    }
    if an != bn {
        return an < bn;
    }
    if ai != bi {
        return ai < bi;
    }
    ar[i] < br[i]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoted_scalars_use_go_yaml_escapes_in_upper_case_hex() {
        assert_eq!(double_quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(double_quoted("tab\tnl\n"), r#""tab\tnl\n""#);
        assert_eq!(double_quoted("\u{1}\u{7f}\u{1b}"), r#""\x01\x7F\e""#);
        assert_eq!(double_quoted("x\u{feff}"), r#""x\uFEFF""#);
        assert_eq!(double_quoted("caf\u{e9}"), "\"caf\u{e9}\"");
        assert_eq!(single_quoted("it's"), "'it''s'");
        assert_eq!(single_quoted("a\u{1}"), r#""a\x01""#);
    }

    #[test]
    fn sequences_are_not_indented_inside_maps() {
        let v = json!({"b": [1, {"x": "z", "a": null}], "a": {}});
        assert_eq!(to_yaml(&v), "a: {}\nb:\n- 1\n- a: null\n  x: z\n");
    }

    #[test]
    fn yaml11_words_and_numbers_are_quoted() {
        let v = json!({"a": "yes", "b": "0644", "c": "", "d": "1.5", "e": "foo: bar", "f": "x\ty"});
        assert_eq!(
            to_yaml(&v),
            "a: \"yes\"\nb: \"0644\"\nc: \"\"\nd: \"1.5\"\ne: 'foo: bar'\nf: \"x\\ty\"\n"
        );
    }

    #[test]
    fn multiline_strings_use_literal_blocks() {
        let v = json!({"k": "a\nb\n", "l": "a\nb", "m": "a\n\n"});
        assert_eq!(
            to_yaml(&v),
            "k: |\n  a\n  b\nl: |-\n  a\n  b\nm: |+\n  a\n\n"
        );
    }

    #[test]
    fn keys_sort_digit_runs_numerically() {
        let v = json!({"a10": 1, "a9": 2, "B": 3, "_": 4});
        assert_eq!(to_yaml(&v), "_: 4\nB: 3\na9: 2\na10: 1\n");
    }

    #[test]
    fn nested_sequences_share_the_dash_line() {
        let v = json!({"a": [[1, 2], []]});
        assert_eq!(to_yaml(&v), "a:\n- - 1\n  - 2\n- []\n");
    }
}
