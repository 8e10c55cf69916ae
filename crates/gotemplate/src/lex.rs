//! The lexer: text/template/parse's `lex.go` states as a loop — text, `{{`/`}}` with trim
//! markers (`{{- ` and ` -}}` trim the adjacent white space), comments, and the tokens inside an
//! action. Items carry their byte offset and line, as Go's do, for error positions.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    Error,
    Eof,
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Assign,
    Declare,
    Pipe,
    String,
    RawString,
    Char,
    CharConstant,
    Number,
    Bool,
    Nil,
    Dot,
    Field,
    Variable,
    Identifier,
    LeftParen,
    RightParen,
    Keyword(Keyword),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub kind: ItemKind,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl std::fmt::Display for Item {
    /// Go's `item.String()`, used in "unexpected ..." messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ItemKind::Eof => f.write_str("EOF"),
            ItemKind::Error => f.write_str(&self.val),
            ItemKind::Keyword(_) => write!(f, "<{}>", self.val),
            _ if self.val.len() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", crate::printf::quote(&head))
            }
            _ => f.write_str(&crate::printf::quote(&self.val)),
        }
    }
}

const SPACE_CHARS: &[char] = &[' ', '\t', '\r', '\n'];

fn has_left_trim(s: &str) -> bool {
    s.starts_with('-') && s[1..].starts_with(SPACE_CHARS)
}

fn has_right_trim(s: &str) -> bool {
    s.starts_with(SPACE_CHARS) && s[1..].starts_with("-}}")
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

pub(crate) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    items: Vec<Item>,
    paren_depth: i32,
}

/// Lexes `input`; the last item is `Eof` or `Error`.
pub(crate) fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        items: Vec::new(),
        paren_depth: 0,
    };
    l.run();
    l.items
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn emit(&mut self, kind: ItemKind) {
        let val = self.input[self.start..self.pos].to_owned();
        self.items.push(Item {
            kind,
            pos: self.start,
            val,
            line: self.start_line,
        });
        self.ignore();
    }

    fn ignore(&mut self) {
        self.line +=
            self.input[self.start..self.pos].matches('\n').count() - self.newlines_counted();
        self.start = self.pos;
        self.start_line = self.line;
    }

    /// Newlines already counted by `next` since `start` (so `ignore` after a jump counts the rest).
    fn newlines_counted(&self) -> usize {
        self.line - self.start_line
    }

    /// Moves to `pos` without scanning (newlines are counted when the span is emitted or ignored).
    fn jump(&mut self, pos: usize) {
        self.pos = pos;
    }

    fn error(&mut self, msg: String) {
        self.items.push(Item {
            kind: ItemKind::Error,
            pos: self.start,
            val: msg,
            line: self.start_line,
        });
    }

    fn run(&mut self) {
        loop {
            if !self.lex_text() {
                return;
            }
            if !self.lex_action() {
                return;
            }
        }
    }

    /// Text up to the next `{{`; returns false at EOF.
    fn lex_text(&mut self) -> bool {
        let Some(x) = self.rest().find("{{") else {
            self.jump(self.input.len());
            if self.pos > self.start {
                self.emit_text(self.pos);
            }
            self.items.push(Item {
                kind: ItemKind::Eof,
                pos: self.pos,
                val: String::new(),
                line: self.line,
            });
            return false;
        };
        let delim = self.pos + x;
        let mut text_end = delim;
        if has_left_trim(&self.input[delim + 2..]) {
            text_end = self.start
                + self.input[self.start..delim]
                    .trim_end_matches(SPACE_CHARS)
                    .len();
        }
        if text_end > self.start {
            self.emit_text(text_end);
        }
        self.jump(delim);
        self.ignore();
        true
    }

    fn emit_text(&mut self, end: usize) {
        let val = self.input[self.start..end].to_owned();
        self.items.push(Item {
            kind: ItemKind::Text,
            pos: self.start,
            val,
            line: self.start_line,
        });
        self.jump(end);
        self.ignore();
    }

    /// Whether the input at `pos` is a right delimiter, and whether it has a trim marker.
    fn at_right_delim(&self) -> (bool, bool) {
        if has_right_trim(self.rest()) {
            return (true, true);
        }
        (self.rest().starts_with("}}"), false)
    }

    /// From `{{` to `}}` inclusive (or a comment); returns false after an error.
    fn lex_action(&mut self) -> bool {
        self.jump(self.pos + 2);
        let trim = has_left_trim(self.rest());
        let after_marker = if trim { 2 } else { 0 };
        if self.input[self.pos + after_marker..].starts_with("/*") {
            self.jump(self.pos + after_marker);
            return self.lex_comment();
        }
        let delim_end = self.pos;
        self.items.push(Item {
            kind: ItemKind::LeftDelim,
            pos: self.start,
            val: "{{".into(),
            line: self.start_line,
        });
        self.jump(delim_end + after_marker);
        self.ignore();
        self.paren_depth = 0;
        loop {
            let (delim, trim_right) = self.at_right_delim();
            if delim {
                if self.paren_depth != 0 {
                    self.error("unclosed left paren".into());
                    return false;
                }
                if trim_right {
                    self.jump(self.pos + 2);
                    self.ignore();
                }
                self.jump(self.pos + 2);
                self.emit(ItemKind::RightDelim);
                if trim_right {
                    let skip =
                        self.rest().len() - self.rest().trim_start_matches(SPACE_CHARS).len();
                    self.jump(self.pos + skip);
                    self.ignore();
                }
                return true;
            }
            if !self.lex_inside_action() {
                return false;
            }
        }
    }

    fn lex_comment(&mut self) -> bool {
        self.jump(self.pos + 2);
        let Some(x) = self.rest().find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.jump(self.pos + x + 2);
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        self.jump(self.pos + if trim { 4 } else { 2 });
        if trim {
            let skip = self.rest().len() - self.rest().trim_start_matches(SPACE_CHARS).len();
            self.jump(self.pos + skip);
        }
        self.ignore();
        true
    }

    /// One token inside an action; false after an error.
    fn lex_inside_action(&mut self) -> bool {
        let Some(c) = self.next() else {
            self.error("unclosed action".into());
            return false;
        };
        match c {
            c if SPACE_CHARS.contains(&c) => {
                while self.peek().is_some_and(|c| SPACE_CHARS.contains(&c))
                    && !has_right_trim(self.rest())
                {
                    self.next();
                }
                self.emit(ItemKind::Space);
            }
            '=' => self.emit(ItemKind::Assign),
            ':' => {
                if self.next() != Some('=') {
                    self.error("expected :=".into());
                    return false;
                }
                self.emit(ItemKind::Declare);
            }
            '|' => self.emit(ItemKind::Pipe),
            '"' => return self.lex_quote(),
            '`' => return self.lex_raw_quote(),
            '$' => return self.lex_word(ItemKind::Variable),
            '\'' => return self.lex_char(),
            '.' if self.peek().is_none_or(|c| !c.is_ascii_digit()) => {
                if self.peek().is_some_and(is_alphanumeric) {
                    return self.lex_word(ItemKind::Field);
                }
                return self.finish_word(ItemKind::Dot);
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.pos -= 1;
                return self.lex_number();
            }
            c if is_alphanumeric(c) => {
                self.pos -= c.len_utf8();
                return self.lex_identifier();
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(ItemKind::LeftParen);
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.error("unexpected right paren".into());
                    return false;
                }
                self.emit(ItemKind::RightParen);
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(ItemKind::Char),
            c => {
                self.error(format!(
                    "unrecognized character in action: U+{:04X} '{c}'",
                    c as u32
                ));
                return false;
            }
        }
        true
    }

    /// `$name` or `.Name` (the sigil is consumed); the word must end at a terminator.
    fn lex_word(&mut self, kind: ItemKind) -> bool {
        while self.peek().is_some_and(is_alphanumeric) {
            self.next();
        }
        self.finish_word(kind)
    }

    fn finish_word(&mut self, kind: ItemKind) -> bool {
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.error(format!("bad character U+{:04X} '{c}'", c as u32));
            return false;
        }
        self.emit(kind);
        true
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if SPACE_CHARS.contains(&c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(' | '=') => true,
            _ => self.rest().starts_with("}}"),
        }
    }

    fn lex_identifier(&mut self) -> bool {
        while self.peek().is_some_and(is_alphanumeric) {
            self.next();
        }
        let word = &self.input[self.start..self.pos];
        let kind = match word {
            "block" => ItemKind::Keyword(Keyword::Block),
            "break" => ItemKind::Keyword(Keyword::Break),
            "continue" => ItemKind::Keyword(Keyword::Continue),
            "define" => ItemKind::Keyword(Keyword::Define),
            "else" => ItemKind::Keyword(Keyword::Else),
            "end" => ItemKind::Keyword(Keyword::End),
            "if" => ItemKind::Keyword(Keyword::If),
            "range" => ItemKind::Keyword(Keyword::Range),
            "template" => ItemKind::Keyword(Keyword::Template),
            "with" => ItemKind::Keyword(Keyword::With),
            "nil" => ItemKind::Nil,
            "true" | "false" => ItemKind::Bool,
            _ => ItemKind::Identifier,
        };
        self.finish_word(kind)
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if self.next().is_none_or(|c| c == '\n') {
                        self.error("unterminated character constant".into());
                        return false;
                    }
                }
                None | Some('\n') => {
                    self.error("unterminated character constant".into());
                    return false;
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemKind::CharConstant);
        true
    }

    /// Go's `scanNumber`: sign, base prefix, digits with `_`, fraction, exponent, `i`.
    fn lex_number(&mut self) -> bool {
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        let mut digits = "0123456789_";
        let mut exponent = "eE";
        if self.rest().starts_with('0') {
            let prefix = self.rest().get(1..2).unwrap_or("");
            match prefix {
                "x" | "X" => {
                    self.pos += 2;
                    digits = "0123456789abcdefABCDEF_";
                    exponent = "pP";
                }
                "o" | "O" => {
                    self.pos += 2;
                    digits = "01234567_";
                    exponent = "";
                }
                "b" | "B" => {
                    self.pos += 2;
                    digits = "01_";
                    exponent = "";
                }
                _ => {}
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if !exponent.is_empty() && self.accept(exponent) {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            let text = self.input[self.start..self.pos].to_owned();
            self.error(format!(
                "bad number syntax: {}",
                crate::printf::quote(&text)
            ));
            return false;
        }
        self.emit(ItemKind::Number);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        if self.peek().is_some_and(|c| valid.contains(c)) {
            self.next();
            return true;
        }
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if self.next().is_none_or(|c| c == '\n') {
                        self.error("unterminated quoted string".into());
                        return false;
                    }
                }
                None | Some('\n') => {
                    self.error("unterminated quoted string".into());
                    return false;
                }
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemKind::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        match self.rest().find('`') {
            Some(x) => {
                let end = self.pos + x + 1;
                while self.pos < end {
                    self.next();
                }
                self.emit(ItemKind::RawString);
                true
            }
            None => {
                self.error("unterminated raw quoted string".into());
                false
            }
        }
    }
}
