//! The document model sops works on: ordered mappings whose keys are names or comments,
//! sequences that may hold comments, and typed scalars. Every format loads into it and is
//! written from it; decryption walks it.

/// A node of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An ordered mapping.
    Map(Vec<Item>),
    /// A sequence; comments are items of their own.
    List(Vec<Node>),
    /// A string (also an encrypted value, `ENC[...]`, before decryption).
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes (the `bytes` type of an encrypted value).
    Bytes(Vec<u8>),
    /// A null value: never encrypted, never part of the MAC.
    Null,
    /// A comment (only inside sequences; comments of mappings are keys).
    Comment(Comment),
}

/// A comment line: its text after `#`, and whether it stood after a value on that value's line
/// (sops' `Comment.Inline`; decryption drops the flag, as sops does).
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The text after `#`.
    pub text: String,
    /// Written after the value on the same line.
    pub inline: bool,
}

impl Comment {
    /// A comment on a line of its own.
    pub fn own_line(text: impl Into<String>) -> Self {
        Comment {
            text: text.into(),
            inline: false,
        }
    }
}

/// One entry of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The key.
    pub key: Key,
    /// The value (`Null` for a comment key).
    pub value: Node,
}

/// The key of a mapping entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A named entry.
    Name(String),
    /// A comment line.
    Comment(Comment),
}

impl Item {
    /// A named entry.
    pub fn named(name: impl Into<String>, value: Node) -> Self {
        Item {
            key: Key::Name(name.into()),
            value,
        }
    }

    /// A comment line of a mapping.
    pub fn comment(text: impl Into<String>) -> Self {
        Item {
            key: Key::Comment(Comment::own_line(text)),
            value: Node::Null,
        }
    }

    /// An entry holding `comment`.
    pub fn from_comment(comment: &Comment) -> Self {
        Item {
            key: Key::Comment(comment.clone()),
            value: Node::Null,
        }
    }

    /// The key's name, unless the entry is a comment.
    pub fn name(&self) -> Option<&str> {
        match &self.key {
            Key::Name(name) => Some(name),
            Key::Comment(_) => None,
        }
    }
}

/// The bytes sops hashes into the MAC for a scalar, as Go's `sops.ToBytes` writes them.
pub fn mac_bytes(node: &Node) -> Option<Vec<u8>> {
    Some(match node {
        Node::Str(s) => s.as_bytes().to_vec(),
        Node::Int(i) => i.to_string().into_bytes(),
        Node::Float(f) => go_float_f(*f).into_bytes(),
        Node::Bool(true) => b"True".to_vec(),
        Node::Bool(false) => b"False".to_vec(),
        Node::Bytes(b) => b.clone(),
        Node::Map(_) | Node::List(_) | Node::Null | Node::Comment(_) => return None,
    })
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits, never an exponent.
pub fn go_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}

/// Go's `strconv.FormatFloat(f, 'G', -1, 64)` with at least one decimal digit when it would
/// read as an integer: how sops writes a float into a dotenv or INI value.
pub fn go_float_for_text(f: f64) -> String {
    if !f.is_finite() {
        return go_float_f(f);
    }
    let text = format!("{f:E}");
    let (mantissa, exponent) = text.split_once('E').unwrap_or((text.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let shown = if (-4..6).contains(&exponent) {
        format!("{f}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}E{sign}{:02}", exponent.abs())
    };
    if shown.contains('.') || shown.contains('E') {
        shown
    } else {
        format!("{f:.1}")
    }
}
