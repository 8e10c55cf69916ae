//! The parser: text/template/parse's grammar over the lexer's items — actions, pipelines with
//! declarations, commands, operands with field chains, `if`/`else if`/`range`/`with`/`else with`,
//! `break`/`continue`, `template`, `block` and `define` — with Go's parse-time checks (unknown
//! functions, undefined variables, `break` outside `range`) and messages
//! (`template: NAME:LINE: ...`). Nodes keep Go's positions for execution errors.

use std::collections::BTreeMap;

use crate::lex::{Item, ItemKind, Keyword, lex};
use crate::literal::{parse_number, unquote};

/// A list of nodes.
pub(crate) type List = Vec<Node>;

// Trees are most of a template set's memory; these keep a node and an operand small.
const _: () = assert!(std::mem::size_of::<Node>() <= 24);
const _: () = assert!(std::mem::size_of::<Operand>() <= 48);

/// A node of a parsed list. The large variants are boxed: most nodes of a chart's templates
/// are text, and an unboxed `if` would make every text node as big as itself.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(Box<str>),
    Action(Box<Pipe>),
    If(Box<Control>),
    Range(Box<Control>),
    With(Box<Control>),
    Template(Box<TemplateCall>),
    Break,
    Continue,
}

/// `{{template "name" pipeline}}`, or the call a `{{block}}` leaves in place.
#[derive(Debug, Clone)]
pub(crate) struct TemplateCall {
    pub pos: usize,
    pub name: String,
    pub pipe: Option<Pipe>,
}

#[derive(Debug, Clone)]
pub(crate) struct Control {
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// A rune literal or hex integer, which Go keeps as an integer constant.
    pub integer_literal: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Chain {
        pos: usize,
        node: Box<Operand>,
        fields: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Box<Number>),
    String {
        pos: usize,
        quoted: Box<str>,
        text: Box<str>,
    },
    Pipe(Box<Pipe>),
}

impl Operand {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Operand::Field { pos, .. }
            | Operand::Variable { pos, .. }
            | Operand::Chain { pos, .. }
            | Operand::Identifier { pos, .. }
            | Operand::Dot(pos)
            | Operand::Nil(pos)
            | Operand::Bool(pos, _)
            | Operand::Number(pos, _)
            | Operand::String { pos, .. } => *pos,
            Operand::Pipe(p) => p.pos,
        }
    }
}

impl std::fmt::Display for Operand {
    /// Go's `Node.String()`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Field { idents, .. } => write!(f, ".{}", idents.join(".")),
            Operand::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Operand::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Operand::Pipe(p) => write!(f, "({p})")?,
                    n => write!(f, "{n}")?,
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
            Operand::Identifier { name, .. } => f.write_str(name),
            Operand::Dot(_) => f.write_str("."),
            Operand::Nil(_) => f.write_str("nil"),
            Operand::Bool(_, b) => write!(f, "{b}"),
            Operand::Number(_, n) => f.write_str(&n.text),
            Operand::String { quoted, .. } => f.write_str(quoted),
            Operand::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match arg {
                Operand::Pipe(p) => write!(f, "({p})")?,
                a => write!(f, "{a}")?,
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(" := ")?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{cmd}")?;
        }
        Ok(())
    }
}

/// A parse failure, already formatted as Go formats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError(pub String);

/// The trees of one parse: the main template and every `define`/`block`.
pub(crate) type Trees = BTreeMap<String, List>;

/// Parses `text` as the template `name`; `has_function` tells which identifiers are functions.
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<Trees, ParseError> {
    let items = lex(text);
    let mut p = Parser {
        name,
        items,
        index: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        has_function,
        trees: Trees::new(),
        action_line: 0,
    };
    let root = shrunk(p.parse_root()?);
    let mut trees = std::mem::take(&mut p.trees);
    if trees.get(name).is_none_or(|t| !is_empty_tree(t)) || !is_empty_tree(&root) {
        trees.insert(name.to_owned(), root);
    }
    Ok(trees)
}

pub(crate) fn is_empty_tree(list: &List) -> bool {
    list.iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

/// What ended an item list.
enum ListEnd {
    End,
    Else,
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    index: usize,
    vars: Vec<String>,
    range_depth: usize,
    has_function: &'a dyn Fn(&str) -> bool,
    trees: Trees,
    action_line: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser<'_> {
    fn eof_item(&self) -> Item {
        self.items.last().cloned().unwrap_or(Item {
            kind: ItemKind::Eof,
            pos: 0,
            val: String::new(),
            line: 1,
        })
    }

    fn next(&mut self) -> Item {
        let item = self
            .items
            .get(self.index)
            .cloned()
            .unwrap_or_else(|| self.eof_item());
        if self.index < self.items.len() {
            self.index += 1;
        }
        item
    }

    fn backup(&mut self) {
        self.index = self.index.saturating_sub(1);
    }

    fn peek(&self) -> Item {
        self.items
            .get(self.index)
            .cloned()
            .unwrap_or_else(|| self.eof_item())
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let item = self.next();
            if item.kind != ItemKind::Space {
                return item;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let item = self.next_non_space();
        self.backup();
        item
    }

    /// The line of the token most recently consumed (Go reports errors there).
    fn line(&self) -> usize {
        let i = self.index.saturating_sub(1);
        self.items.get(i).map_or(1, |t| t.line)
    }

    fn error<T>(&self, msg: impl std::fmt::Display) -> PResult<T> {
        Err(ParseError(format!(
            "template: {}:{}: {msg}",
            self.name,
            self.line()
        )))
    }

    fn unexpected<T>(&self, item: &Item, context: &str) -> PResult<T> {
        if item.kind == ItemKind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != item.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if item.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_owned();
                }
            }
            return self.error(format!("{item}{extra}"));
        }
        self.error(format!("unexpected {item} in {context}"))
    }

    fn expect(&mut self, kind: ItemKind, context: &str) -> PResult<Item> {
        let item = self.next_non_space();
        if item.kind != kind {
            return self.unexpected(&item, context);
        }
        Ok(item)
    }

    fn parse_root(&mut self) -> PResult<List> {
        let mut root = List::new();
        while self.peek().kind != ItemKind::Eof {
            if self.peek().kind == ItemKind::LeftDelim {
                let mark = self.index;
                self.next();
                if self.next_non_space().kind == ItemKind::Keyword(Keyword::Define) {
                    self.parse_definition()?;
                    continue;
                }
                self.index = mark;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                Parsed::End => return self.error("unexpected {{end}}"),
                Parsed::Else => return self.error("unexpected {{else}}"),
            }
        }
        if let Some(err) = self
            .items
            .last()
            .filter(|i| i.kind == ItemKind::Error)
            .cloned()
        {
            return self.unexpected(&err, "input");
        }
        Ok(shrunk(root))
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let item = self.next_non_space();
        if !matches!(item.kind, ItemKind::String | ItemKind::RawString) {
            return self.unexpected(&item, context);
        }
        let name = unquote(&item.val).or_else(|e| self.error(e))?;
        self.expect(ItemKind::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let ListEnd::Else = end {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        if let Some(existing) = self.trees.get(&name) {
            if !is_empty_tree(existing) && !is_empty_tree(&list) {
                return self.error(format!(
                    "template: multiple definition of template {}",
                    crate::printf::quote(&name)
                ));
            }
            if is_empty_tree(&list) {
                return Ok(());
            }
        }
        self.trees.insert(name, list);
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(List, ListEnd)> {
        let mut list = List::new();
        while self.peek_non_space().kind != ItemKind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                Parsed::End => return Ok((shrunk(list), ListEnd::End)),
                Parsed::Else => return Ok((shrunk(list), ListEnd::Else)),
            }
        }
        if let Some(err) = self
            .items
            .last()
            .filter(|i| i.kind == ItemKind::Error)
            .cloned()
        {
            return self.unexpected(&err, "input");
        }
        self.error("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let item = self.next_non_space();
        match item.kind {
            ItemKind::Text => Ok(Parsed::Node(Node::Text(item.val.into_boxed_str()))),
            ItemKind::LeftDelim => {
                self.action_line = self.peek().line;
                let parsed = self.action();
                self.action_line = 0;
                parsed
            }
            _ => self.unexpected(&item, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let item = self.next_non_space();
        match item.kind {
            ItemKind::Keyword(Keyword::Block) => return self.block_control().map(Parsed::Node),
            ItemKind::Keyword(Keyword::Break) => {
                return self
                    .loop_control("{{break}}")
                    .map(|()| Parsed::Node(Node::Break));
            }
            ItemKind::Keyword(Keyword::Continue) => {
                return self
                    .loop_control("{{continue}}")
                    .map(|()| Parsed::Node(Node::Continue));
            }
            ItemKind::Keyword(Keyword::Else) => return self.else_control(),
            ItemKind::Keyword(Keyword::End) => {
                self.expect(ItemKind::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemKind::Keyword(Keyword::If) => {
                return self
                    .control("if")
                    .map(|c| Parsed::Node(Node::If(Box::new(c))));
            }
            ItemKind::Keyword(Keyword::Range) => {
                return self
                    .control("range")
                    .map(|c| Parsed::Node(Node::Range(Box::new(c))));
            }
            ItemKind::Keyword(Keyword::Template) => {
                return self.template_control().map(Parsed::Node);
            }
            ItemKind::Keyword(Keyword::With) => {
                return self
                    .control("with")
                    .map(|c| Parsed::Node(Node::With(Box::new(c))));
            }
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemKind::RightDelim)?;
        Ok(Parsed::Node(Node::Action(Box::new(pipe))))
    }

    fn loop_control(&mut self, what: &str) -> PResult<()> {
        let token = self.next_non_space();
        if token.kind != ItemKind::RightDelim {
            return self.unexpected(&token, what);
        }
        if self.range_depth == 0 {
            return self.error(format!("{what} outside {{{{range}}}}"));
        }
        Ok(())
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if matches!(peek.kind, ItemKind::Keyword(Keyword::If | Keyword::With)) {
            return Ok(Parsed::Else);
        }
        self.expect(ItemKind::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn control(&mut self, context: &str) -> PResult<Control> {
        let vars = self.vars.len();
        let result = self.control_inner(context);
        self.vars.truncate(vars);
        result
    }

    fn control_inner(&mut self, context: &str) -> PResult<Control> {
        let pipe = self.pipeline(context, ItemKind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, end) = listed?;
        let else_list = match end {
            ListEnd::End => None,
            ListEnd::Else => {
                let peek = self.peek_non_space().kind;
                if context == "if" && peek == ItemKind::Keyword(Keyword::If) {
                    self.next_non_space();
                    Some(vec![Node::If(Box::new(self.control("if")?))])
                } else if context == "with" && peek == ItemKind::Keyword(Keyword::With) {
                    self.next_non_space();
                    Some(vec![Node::With(Box::new(self.control("with")?))])
                } else {
                    let (else_list, end) = self.item_list()?;
                    if let ListEnd::Else = end {
                        return self.error("expected end; found {{else}}");
                    }
                    Some(else_list)
                }
            }
        };
        Ok(Control {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, context: &str) -> PResult<String> {
        let item = self.next_non_space();
        if !matches!(item.kind, ItemKind::String | ItemKind::RawString) {
            return self.unexpected(&item, context);
        }
        unquote(&item.val).or_else(|e| self.error(e))
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let pos = self.peek_non_space().pos;
        let name = self.template_name(context)?;
        let pipe = if self.next_non_space().kind != ItemKind::RightDelim {
            self.backup();
            Some(self.pipeline(context, ItemKind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template(Box::new(TemplateCall { pos, name, pipe })))
    }

    /// `{{block "name" pipeline}} T1 {{end}}` is `{{define "name"}} T1 {{end}}` plus
    /// `{{template "name" pipeline}}`.
    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let pos = self.peek_non_space().pos;
        let name = self.template_name(context)?;
        let pipe = self.pipeline(context, ItemKind::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let listed = self.item_list();
        self.vars = saved_vars;
        let (list, end) = listed?;
        if let ListEnd::Else = end {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        if self.trees.get(&name).is_none_or(is_empty_tree) {
            self.trees.insert(name.clone(), list);
        }
        Ok(Node::Template(Box::new(TemplateCall {
            pos,
            name,
            pipe: Some(pipe),
        })))
    }

    fn pipeline(&mut self, context: &str, end: ItemKind) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let token = self.next_non_space();
            match token.kind {
                k if k == end => {
                    pipe.cmds.shrink_to_fit();
                    pipe.decl.shrink_to_fit();
                    return self.check_pipeline(pipe, context);
                }
                ItemKind::Bool
                | ItemKind::CharConstant
                | ItemKind::Dot
                | ItemKind::Field
                | ItemKind::Identifier
                | ItemKind::Number
                | ItemKind::Nil
                | ItemKind::RawString
                | ItemKind::String
                | ItemKind::Variable
                | ItemKind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> PResult<()> {
        loop {
            let v = self.peek_non_space();
            if v.kind != ItemKind::Variable {
                return Ok(());
            }
            let mark = self.index;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.kind {
                ItemKind::Assign | ItemKind::Declare => {
                    pipe.is_assign = next.kind == ItemKind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    return Ok(());
                }
                ItemKind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            ItemKind::Variable | ItemKind::RightDelim | ItemKind::RightParen => {
                                continue;
                            }
                            _ => return self.error("range can only initialize variables"),
                        }
                    }
                    return self.error(format!("too many declarations in {context}"));
                }
                _ => {
                    self.index = mark;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: Pipe, context: &str) -> PResult<Pipe> {
        if pipe.cmds.is_empty() {
            return self.error(format!("missing value for {context}"));
        }
        for (i, cmd) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                cmd.args.first(),
                Some(
                    Operand::Bool(..)
                        | Operand::Dot(_)
                        | Operand::Nil(_)
                        | Operand::Number(..)
                        | Operand::String { .. }
                )
            ) {
                return self.error(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(pipe)
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                args.push(operand);
            }
            let token = self.next();
            match token.kind {
                ItemKind::Space => continue,
                ItemKind::RightDelim | ItemKind::RightParen => self.backup(),
                ItemKind::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.error("empty command");
        }
        Ok(Command {
            pos,
            args: shrunk(args),
        })
    }

    fn operand(&mut self) -> PResult<Option<Operand>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != ItemKind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == ItemKind::Field {
            fields.push(self.next().val[1..].to_owned());
        }
        Ok(Some(match node {
            Operand::Field { mut idents, .. } => {
                idents.extend(fields);
                Operand::Field { pos, idents }
            }
            Operand::Variable { mut idents, .. } => {
                idents.extend(fields);
                Operand::Variable { pos, idents }
            }
            n @ (Operand::Bool(..)
            | Operand::String { .. }
            | Operand::Number(..)
            | Operand::Nil(_)
            | Operand::Dot(_)) => {
                return self.error(format!(
                    "unexpected . after term {}",
                    crate::printf::quote(&n.to_string())
                ));
            }
            n => Operand::Chain {
                pos,
                node: Box::new(n),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Operand>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.kind {
            ItemKind::Identifier => {
                if !(self.has_function)(&token.val) {
                    return self.error(format!(
                        "function {} not defined",
                        crate::printf::quote(&token.val)
                    ));
                }
                Operand::Identifier {
                    pos,
                    name: token.val,
                }
            }
            ItemKind::Dot => Operand::Dot(pos),
            ItemKind::Nil => Operand::Nil(pos),
            ItemKind::Variable => {
                if !self.vars.contains(&token.val) {
                    return self.error(format!(
                        "undefined variable {}",
                        crate::printf::quote(&token.val)
                    ));
                }
                Operand::Variable {
                    pos,
                    idents: vec![token.val],
                }
            }
            ItemKind::Field => Operand::Field {
                pos,
                idents: vec![token.val[1..].to_owned()],
            },
            ItemKind::Bool => Operand::Bool(pos, token.val == "true"),
            ItemKind::CharConstant | ItemKind::Number => {
                let number = parse_number(&token).or_else(|e| self.error(e))?;
                Operand::Number(pos, Box::new(number))
            }
            ItemKind::LeftParen => {
                let pipe = self.pipeline("parenthesized pipeline", ItemKind::RightParen)?;
                Operand::Pipe(Box::new(pipe))
            }
            ItemKind::String | ItemKind::RawString => {
                let text = unquote(&token.val).or_else(|e| self.error(e))?;
                Operand::String {
                    pos,
                    quoted: token.val.into_boxed_str(),
                    text: text.into_boxed_str(),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Parsed {
    Node(Node),
    End,
    Else,
}

/// A parsed list without its spare capacity: trees live as long as the template set, and
/// most lists, commands and pipelines hold a node or two, so growth's spare room would be
/// most of the set's memory.
fn shrunk<T>(mut list: Vec<T>) -> Vec<T> {
    list.shrink_to_fit();
    list
}
