//! Parser for the `${...}` expression language of `github.com/fluxcd/pkg/envsubst` v1.7.0 (a fork
//! of `drone/envsubst`), the library kustomize-controller runs over each object's YAML.
//!
//! The grammar is defined by that library's scanner rather than by bash, so this module mirrors
//! the scanner's observable decisions, quirks included:
//! - Only the braced form is an expression: `$var` and a lone `$` are plain text.
//! - At the top level `$$` is an escape that yields a single `$` (so `$${var}` yields `${var}`),
//!   wherever it appears, not only before `{`.
//! - Inside the pattern and replacement of `${var/pattern/replacement}`, `$$`, `\/` and `\\`
//!   are escapes for `$`, `/` and `\`. Default values, offsets and trim patterns have no escapes.
//! - Expressions nest in arguments (`${a:=${b}}`), and a `}` always ends the innermost
//!   expression: a default value cannot contain `}`.
//! - `${var-default}`, `${var:?x}` and `${var:+x}` are not what bash means: the first is a
//!   "missing closing brace" error (the scanner has no `-` operator), the other two behave like
//!   `${var:-x}`.

use super::ExpandError;

/// One piece of a parsed template: literal text, or an expression to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// Text copied to the output as is (escapes already removed).
    Text(String),
    /// A `${...}` expression.
    Expr(Expr),
}

/// A `${param<op>args}` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expr {
    /// The variable name.
    pub(crate) param: String,
    /// The operator as written (`""` for `${var}`, `":="`, `"//"`, `"#"` for `${#var}`, ...).
    pub(crate) op: String,
    /// The operator's arguments, each a text or a nested expression.
    pub(crate) args: Vec<Node>,
}

/// Which token kinds a scan may return, and whether escapes are decoded in identifiers.
#[derive(Debug, Clone, Copy)]
struct Mode {
    ident: bool,
    open: bool,
    close: bool,
    escape: bool,
}

const IDENT: Mode = Mode {
    ident: true,
    open: false,
    close: false,
    escape: false,
};
const CLOSE: Mode = Mode {
    ident: false,
    open: false,
    close: true,
    escape: false,
};

impl Mode {
    fn with_open(self) -> Self {
        Self { open: true, ..self }
    }
    fn with_close(self) -> Self {
        Self {
            close: true,
            ..self
        }
    }
    fn with_escape(self) -> Self {
        Self {
            escape: true,
            ..self
        }
    }
}

/// A scanned token.
#[derive(Debug)]
enum Token {
    Eof,
    Open,
    Close,
    Ident(String),
    Illegal,
}

/// Decides whether character `c` may extend an identifier token that is `len` bytes long once
/// `c` is added.
type Accept = fn(c: char, len: usize) -> bool;

fn any_char(_: char, _: usize) -> bool {
    true
}
fn identifier(c: char, _: usize) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == '_'
}
fn not_closing(c: char, _: usize) -> bool {
    c != '}'
}
fn not_colon_or_closing(c: char, _: usize) -> bool {
    c != ':' && c != '}'
}
fn colon(c: char, _: usize) -> bool {
    c == ':'
}
fn one_colon(c: char, len: usize) -> bool {
    len == 1 && c == ':'
}
fn one_equal(c: char, len: usize) -> bool {
    len == 1 && c == '='
}
fn one_hash(c: char, len: usize) -> bool {
    len == 1 && c == '#'
}
fn hashes(c: char, len: usize) -> bool {
    c == '#' && len < 3
}
fn percents(c: char, len: usize) -> bool {
    c == '%' && len < 3
}
fn casing(c: char, len: usize) -> bool {
    (c == ',' || c == '^') && len < 3
}
fn slash(c: char, _: usize) -> bool {
    c == '/'
}
fn not_slash(c: char, _: usize) -> bool {
    c != '/'
}
fn default_operator(c: char, len: usize) -> bool {
    (len == 1 && c == ':') || (len == 2 && matches!(c, '=' | '-' | '?' | '+'))
}
fn replace_operator(c: char, len: usize) -> bool {
    (len == 1 && c == '/') || (len == 2 && matches!(c, '/' | '#' | '%'))
}

/// Character cursor with the envsubst scanner's token rules.
struct Scanner {
    chars: Vec<char>,
    pos: usize,
    /// Whether `\/` and `\\` are escapes (inside expressions) besides `$$` (everywhere).
    backslash_escapes: bool,
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn at_open(&self) -> bool {
        self.peek() == Some('$') && self.peek_at(1) == Some('{')
    }

    fn at_escape(&self, mode: Mode) -> bool {
        if !mode.escape {
            return false;
        }
        match (self.peek(), self.peek_at(1)) {
            (Some('$'), Some('$')) => true,
            (Some('\\'), Some('/' | '\\')) => self.backslash_escapes,
            _ => false,
        }
    }

    /// Drops the escape character and takes the one after it literally.
    fn take_escaped(&mut self, token: &mut String) {
        if let Some(c) = self.peek_at(1) {
            token.push(c);
        }
        self.pos += 2;
    }

    fn scan(&mut self, accept: Accept, mode: Mode) -> Token {
        let Some(first) = self.peek() else {
            return Token::Eof;
        };
        if mode.open && self.at_open() {
            self.pos += 2;
            return Token::Open;
        }
        if mode.close && first == '}' {
            self.pos += 1;
            return Token::Close;
        }
        if !mode.ident {
            return Token::Illegal;
        }
        let mut token = String::new();
        if self.at_escape(mode) {
            self.take_escaped(&mut token);
        } else if accept(first, first.len_utf8()) {
            token.push(first);
            self.pos += 1;
        } else {
            return Token::Illegal;
        }
        self.scan_ident_rest(accept, mode, &mut token);
        Token::Ident(token)
    }

    fn scan_ident_rest(&mut self, accept: Accept, mode: Mode, token: &mut String) {
        while let Some(c) = self.peek() {
            if mode.open && self.at_open() {
                break;
            }
            if self.at_escape(mode) {
                self.take_escaped(token);
                continue;
            }
            if !accept(c, token.len() + c.len_utf8()) {
                break;
            }
            token.push(c);
            self.pos += 1;
        }
    }
}

/// Parses `text` into template nodes.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, ExpandError> {
    let mut parser = Parser {
        scanner: Scanner {
            chars: text.chars().collect(),
            pos: 0,
            backslash_escapes: false,
        },
    };
    parser.parse_top_level()
}

struct Parser {
    scanner: Scanner,
}

impl Parser {
    fn parse_top_level(&mut self) -> Result<Vec<Node>, ExpandError> {
        let mut nodes = Vec::new();
        loop {
            self.scanner.backslash_escapes = false;
            match self.scanner.scan(any_char, IDENT.with_open().with_escape()) {
                Token::Ident(text) => nodes.push(Node::Text(text)),
                Token::Open => nodes.push(self.parse_expr()?),
                Token::Eof => return Ok(nodes),
                Token::Close | Token::Illegal => return Err(ExpandError::BadSubstitution),
            }
        }
    }

    /// Parses what follows `${`, up to and including the closing `}`.
    fn parse_expr(&mut self) -> Result<Node, ExpandError> {
        self.scanner.backslash_escapes = true;
        if self.scanner.peek() == Some('#') {
            return self.parse_length();
        }
        let Token::Ident(param) = self.scanner.scan(identifier, IDENT) else {
            return Err(ExpandError::VariableName);
        };
        match self.scanner.peek() {
            Some(':') => self.parse_default_or_substring(param),
            Some('=') => self.parse_default(param),
            Some(',' | '^') => self.parse_casing(param),
            Some('/') => self.parse_replace(param),
            Some('#') => self.parse_trim(param, hashes),
            Some('%') => self.parse_trim(param, percents),
            _ => match self.scanner.scan(identifier, CLOSE) {
                Token::Close => Ok(expr(param, String::new(), Vec::new())),
                _ => Err(ExpandError::MissingClosingBrace),
            },
        }
    }

    /// Scans an operator with `accept`; anything else is `error`.
    fn operator(&mut self, accept: Accept, error: ExpandError) -> Result<String, ExpandError> {
        match self.scanner.scan(accept, IDENT) {
            Token::Ident(op) => Ok(op),
            _ => Err(error),
        }
    }

    /// Parses one argument: a nested expression or a run of text accepted by `accept`.
    fn parse_argument(&mut self, accept: Accept, mode: Mode) -> Result<Node, ExpandError> {
        match self.scanner.scan(accept, mode.with_open()) {
            Token::Open => self.parse_expr(),
            Token::Ident(text) => Ok(Node::Text(text)),
            _ => Err(ExpandError::FunctionSubstitution),
        }
    }

    fn expect_close(&mut self) -> Result<(), ExpandError> {
        match self.scanner.scan(any_char, CLOSE) {
            Token::Close => Ok(()),
            _ => Err(ExpandError::BadSubstitution),
        }
    }

    fn parse_default_or_substring(&mut self, param: String) -> Result<Node, ExpandError> {
        match self.scanner.peek_at(1) {
            Some('=' | '-' | '?' | '+') => self.parse_default(param),
            _ => self.parse_substring(param),
        }
    }

    /// `${param:offset}` and `${param:offset:length}`.
    fn parse_substring(&mut self, param: String) -> Result<Node, ExpandError> {
        let op = self.operator(one_colon, ExpandError::BadSubstitution)?;
        let mut args = vec![self.parse_argument(not_colon_or_closing, IDENT)?];
        match self.scanner.scan(colon, IDENT.with_close()) {
            Token::Close => return Ok(expr(param, op, args)),
            Token::Ident(_) => {}
            _ => return Err(ExpandError::BadSubstitution),
        }
        args.push(self.parse_argument(not_closing, IDENT)?);
        self.expect_close()?;
        Ok(expr(param, op, args))
    }

    /// `${param#word}`, `${param##word}`, `${param%word}` and `${param%%word}`.
    fn parse_trim(&mut self, param: String, accept: Accept) -> Result<Node, ExpandError> {
        let op = self.operator(accept, ExpandError::BadSubstitution)?;
        let args = vec![self.parse_argument(not_closing, IDENT)?];
        self.expect_close()?;
        Ok(expr(param, op, args))
    }

    /// `${param/pattern/string}` and its `//`, `/#` and `/%` forms.
    fn parse_replace(&mut self, param: String) -> Result<Node, ExpandError> {
        let op = self.operator(replace_operator, ExpandError::BadSubstitution)?;
        let mut args = vec![self.parse_argument(not_slash, IDENT.with_escape())?];
        self.operator(slash, ExpandError::BadSubstitution)?;
        if self.scanner.peek() == Some('}') {
            self.expect_close()?;
            return Ok(expr(param, op, args));
        }
        args.push(self.parse_argument(not_closing, IDENT.with_escape())?);
        self.expect_close()?;
        Ok(expr(param, op, args))
    }

    /// `${param=word}`, `${param:=word}`, `${param:-word}`, `${param:?word}`, `${param:+word}`.
    fn parse_default(&mut self, param: String) -> Result<Node, ExpandError> {
        let accept: Accept = if self.scanner.peek() == Some('=') {
            one_equal
        } else {
            default_operator
        };
        let op = self.operator(accept, ExpandError::DefaultFunction)?;
        let mut args = Vec::new();
        while self.scanner.peek() != Some('}') {
            args.push(self.parse_argument(not_closing, IDENT)?);
        }
        self.expect_close()?;
        Ok(expr(param, op, args))
    }

    /// `${param,}`, `${param,,}`, `${param^}` and `${param^^}`.
    fn parse_casing(&mut self, param: String) -> Result<Node, ExpandError> {
        let op = self.operator(casing, ExpandError::BadSubstitution)?;
        self.expect_close()?;
        Ok(expr(param, op, Vec::new()))
    }

    /// `${#param}`.
    fn parse_length(&mut self) -> Result<Node, ExpandError> {
        let op = self.operator(one_hash, ExpandError::BadSubstitution)?;
        let Token::Ident(param) = self.scanner.scan(identifier, IDENT) else {
            return Err(ExpandError::BadSubstitution);
        };
        self.expect_close()?;
        Ok(expr(param, op, Vec::new()))
    }
}

fn expr(param: String, op: String, args: Vec<Node>) -> Node {
    Node::Expr(Expr { param, op, args })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Node {
        Node::Text(s.to_owned())
    }

    #[test]
    fn plain_dollar_forms_are_text() {
        assert_eq!(parse("a $b $").expect("test input"), vec![text("a $b $")]);
    }

    #[test]
    fn nested_default_is_an_argument() {
        let nodes = parse("${a:=x${b}}").expect("test input");
        let Node::Expr(e) = &nodes[0] else {
            panic!("not an expression: {nodes:?}")
        };
        assert_eq!((e.param.as_str(), e.op.as_str()), ("a", ":="));
        assert_eq!(e.args.len(), 2);
        assert_eq!(e.args[0], text("x"));
    }

    #[test]
    fn escaped_dollar_before_brace_is_text() {
        assert_eq!(parse("$${a}").expect("test input"), vec![text("${a}")]);
    }
}
