//! Writes a JSON object as the YAML text `sigs.k8s.io/yaml.JSONToYAML` (go-yaml v2.4) produces,
//! because Flux runs envsubst over exactly that text: which scalars are plain, single-quoted,
//! double-quoted or literal blocks, and where long lines wrap at column 80, decide how a
//! substituted value is read back.
//!
//! A port of the parts of libyaml's emitter that JSON data reaches (block mappings and
//! sequences, `{}`/`[]` for empty ones, the four scalar styles), not of go-yaml's code. One
//! deliberate difference: keys keep the object's order where go-yaml sorts them, which changes
//! nothing but key order in the result.

use serde_json::{Map, Value};

use super::resolve::{Resolved, resolve_plain};

const BEST_INDENT: i64 = 2;
const BEST_WIDTH: usize = 80;
/// Longer keys are written as `? key` complex keys.
const MAX_SIMPLE_KEY_LEN: usize = 128;

/// Renders `value` as go-yaml v2 would marshal it.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut emitter = Emitter {
        out: String::new(),
        column: 0,
        indent: -1,
        whitespace: true,
        indention: true,
    };
    emitter.node(value, Context::ROOT);
    emitter.write_indent();
    emitter.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Where a node is written: as a mapping key or value, or a sequence item.
#[derive(Clone, Copy)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

impl Context {
    const ROOT: Self = Self {
        mapping: false,
        simple_key: false,
    };
    const ITEM: Self = Self::ROOT;
    const VALUE: Self = Self {
        mapping: true,
        simple_key: false,
    };
    const KEY: Self = Self {
        mapping: true,
        simple_key: true,
    };
}

struct Emitter {
    out: String,
    /// Characters written on the current line.
    column: usize,
    indent: i64,
    /// Whether the last character written was whitespace (or nothing was written yet).
    whitespace: bool,
    /// Whether only indentation has been written on the current line.
    indention: bool,
}

impl Emitter {
    fn node(&mut self, value: &Value, ctx: Context) {
        match value {
            Value::Object(map) if map.is_empty() => self.empty_collection("{}"),
            Value::Array(items) if items.is_empty() => self.empty_collection("[]"),
            Value::Object(map) => self.block_mapping(map),
            Value::Array(items) => self.block_sequence(items, ctx),
            Value::String(s) => self.string(s, ctx),
            Value::Null => self.scalar("null", Style::Plain, ctx),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, ctx),
            Value::Number(n) => self.scalar(&format_number(n), Style::Plain, ctx),
        }
    }

    fn empty_collection(&mut self, brackets: &str) {
        let mut chars = brackets.chars();
        let (open, close) = (chars.next(), chars.next());
        self.indicator(open.into_iter(), true, true, false);
        self.indicator(close.into_iter(), false, false, false);
    }

    fn block_mapping(&mut self, map: &Map<String, Value>) {
        let saved = self.increase_indent(false, false);
        for (key, value) in map {
            self.write_indent();
            let analysis = Analysis::of(key);
            if !analysis.multiline && key.len() <= MAX_SIMPLE_KEY_LEN {
                self.string(key, Context::KEY);
                self.indicator(":".chars(), false, false, false);
            } else {
                self.indicator("?".chars(), true, false, true);
                self.string(key, Context::VALUE);
                self.write_indent();
                self.indicator(":".chars(), true, false, true);
            }
            self.node(value, Context::VALUE);
        }
        self.indent = saved;
    }

    fn block_sequence(&mut self, items: &[Value], ctx: Context) {
        let saved = self.increase_indent(false, ctx.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.indicator("-".chars(), true, false, true);
            self.node(item, Context::ITEM);
        }
        self.indent = saved;
    }

    /// go-yaml's choice for strings: a literal block when multi-line, plain when the text would
    /// read back as the same string, double-quoted otherwise; then libyaml's downgrades.
    fn string(&mut self, s: &str, ctx: Context) {
        let style = if s.contains('\n') {
            Style::Literal
        } else if matches!(resolve_plain(s), Resolved::Str) && !is_base60_float(s) {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        self.scalar(s, style, ctx);
    }

    fn scalar(&mut self, value: &str, requested: Style, ctx: Context) {
        let style = select_style(&Analysis::of(value), value, requested, ctx);
        let saved = self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.plain(value, allow_breaks),
            Style::SingleQuoted => self.single_quoted(value, allow_breaks),
            Style::DoubleQuoted => self.double_quoted(value, allow_breaks),
            Style::Literal => self.literal(value),
        }
        self.indent = saved;
    }

    /// Pushes a level of indentation and returns the previous one.
    fn increase_indent(&mut self, flow: bool, indentless: bool) -> i64 {
        let saved = self.indent;
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
        saved
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Writes a line-break character of the value.
    fn write_break(&mut self, c: char) {
        self.out.push(c);
        self.column = 0;
    }

    fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(
        &mut self,
        text: impl Iterator<Item = char>,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in text {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
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
                self.put(c);
                self.indention = false;
                (spaces, breaks) = (false, false);
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.indicator("'".chars(), true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < chars.len() - 1
                    && chars.get(i + 1) != Some(&' ')
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
                (spaces, breaks) = (false, false);
            }
        }
        self.indicator("'".chars(), false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.indicator("\"".chars(), true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                for e in escape(c).chars() {
                    self.put(e);
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < chars.len() - 1
                {
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
        self.indicator("\"".chars(), false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, value: &str) {
        self.indicator("|".chars(), true, false, false);
        if value.starts_with(' ') || value.starts_with(is_break) {
            self.indicator(
                char::from(b'0' + 2).to_string().chars(),
                false,
                false,
                false,
            );
        }
        if let Some(hint) = chomping_hint(value) {
            self.indicator(hint.to_string().chars(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
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

/// `-` strips a missing final break, `+` keeps several; none clips to one.
fn chomping_hint(value: &str) -> Option<char> {
    let mut rev = value.chars().rev();
    match (rev.next(), rev.next()) {
        (None, _) => Some('-'),
        (Some(last), _) if !is_break(last) => Some('-'),
        (Some(_), None) => Some('+'),
        (Some(_), Some(before)) if is_break(before) => Some('+'),
        _ => None,
    }
}

fn escape(c: char) -> String {
    match c {
        '\0' => "0".into(),
        '\u{07}' => "a".into(),
        '\u{08}' => "b".into(),
        '\t' => "t".into(),
        '\n' => "n".into(),
        '\u{0B}' => "v".into(),
        '\u{0C}' => "f".into(),
        '\r' => "r".into(),
        '\u{1B}' => "e".into(),
        '"' => "\"".into(),
        '\\' => "\\".into(),
        '\u{85}' => "N".into(),
        '\u{A0}' => "_".into(),
        '\u{2028}' => "L".into(),
        '\u{2029}' => "P".into(),
        c if u32::from(c) <= 0xFF => format!("x{:02X}", u32::from(c)),
        c if u32::from(c) <= 0xFFFF => format!("u{:04X}", u32::from(c)),
        c => format!("U{:08X}", u32::from(c)),
    }
}

/// libyaml's printable set; notably tabs and characters beyond the BMP are not in it.
fn is_printable(c: char) -> bool {
    matches!(u32::from(c), 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: Option<&char>) -> bool {
    matches!(c, Some(' ' | '\t'))
}

/// What libyaml's scalar analysis allows for a value.
struct Analysis {
    multiline: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

impl Analysis {
    fn of(value: &str) -> Self {
        let chars: Vec<char> = value.chars().collect();
        if chars.is_empty() {
            return Self {
                multiline: false,
                block_plain: true,
                single_quoted: true,
                block: false,
            };
        }
        let mut block_indicators = value.starts_with("---") || value.starts_with("...");
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break, mut line_breaks) = (false, false, false);
        let (mut previous_space, mut previous_break, mut special) = (false, false, false);
        let mut preceded_by_whitespace = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace = i + 1 >= chars.len() || is_blank(chars.get(i + 1));
            let last = i + 1 == chars.len();
            if i == 0 {
                block_indicators |= match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => true,
                    '?' | ':' | '-' => followed_by_whitespace,
                    _ => false,
                };
            } else {
                block_indicators |= match c {
                    ':' => followed_by_whitespace,
                    '#' => preceded_by_whitespace,
                    _ => false,
                };
            }
            special |= !is_printable(c);
            if c == ' ' {
                leading_space |= i == 0;
                trailing_space |= last;
                break_space |= previous_break;
                (previous_space, previous_break) = (true, false);
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= i == 0;
                trailing_break |= last;
                space_break |= previous_space;
                (previous_space, previous_break) = (false, true);
            } else {
                (previous_space, previous_break) = (false, false);
            }
            preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
        }
        let edge = leading_space || leading_break || trailing_space || trailing_break;
        Self {
            multiline: line_breaks,
            block_plain: !(edge
                || break_space
                || space_break
                || special
                || line_breaks
                || block_indicators),
            single_quoted: !(break_space || space_break || special),
            block: !(trailing_space || space_break || special),
        }
    }
}

fn select_style(analysis: &Analysis, value: &str, requested: Style, ctx: Context) -> Style {
    let mut style = requested;
    if ctx.simple_key && analysis.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!analysis.block_plain || (value.is_empty() && ctx.simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !analysis.single_quoted {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!analysis.block || ctx.simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// YAML 1.1 sexagesimal numbers (`1:20`), which go-yaml quotes for other parsers' sake.
fn is_base60_float(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let Some((head, rest)) = unsigned.split_once(':') else {
        return false;
    };
    let starts_with_digit = head.starts_with(|c: char| c.is_ascii_digit());
    if !starts_with_digit || !head.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return false;
    }
    let (groups, fraction) = match rest.split_once('.') {
        Some((groups, fraction)) => (groups, Some(fraction)),
        None => (rest, None),
    };
    let sexagesimal = |g: &str| match g.as_bytes() {
        [d] => d.is_ascii_digit(),
        [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
        _ => false,
    };
    groups.split(':').all(sexagesimal)
        && fraction.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit() || c == '_'))
}

/// Integers as decimal; floats as Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
fn format_number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => format_go_float(f),
        _ => n.to_string(),
    }
}

/// Go's shortest `%g`: exponent form below 1e-4 and from 1e6 (`1e+06`), plain decimal between.
pub(crate) fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        return f.to_string();
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_floats() {
        let cases = [
            (1234567.0, "1.234567e+06"),
            (123456.5, "123456.5"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5, "1.5"),
            (100.0, "100"),
            (0.0, "0"),
            (-2.5e-7, "-2.5e-07"),
        ];
        for (f, want) in cases {
            assert_eq!(format_go_float(f), want);
        }
    }

    #[test]
    fn base60() {
        for (s, want) in [
            ("1:20", true),
            ("190:20:30.15", true),
            ("1:60", false),
            ("a:1", false),
        ] {
            assert_eq!(is_base60_float(s), want, "{s}");
        }
    }
}
