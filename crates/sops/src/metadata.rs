//! The `sops` metadata of a document: its key groups, the encryption rules and the MAC, read
//! from the metadata mapping as sops v3 writes it (nested in YAML and JSON, flattened with
//! `__map_`/`__list_` separators in dotenv and INI). Values are read weakly typed, as sops
//! reads them (`"true"` is a boolean and `"2"` a number in a flat file).

use crate::error::Error;
use crate::tree::{Item, Key, Node};
use regex::Regex;
use std::collections::BTreeMap;

/// The key of the metadata entry.
pub const METADATA_KEY: &str = "sops";

/// What the metadata says about how the document was encrypted.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// Key groups; the data key is split across them (Shamir) when there are several.
    pub key_groups: Vec<KeyGroup>,
    /// How many groups must be opened when there are several.
    pub shamir_threshold: usize,
    /// `lastmodified`, as written: the additional data of the encrypted MAC.
    pub last_modified: String,
    /// The encrypted MAC (`mac`).
    pub mac: String,
    /// Whether the MAC covers only the encrypted values.
    pub mac_only_encrypted: bool,
    /// Which values are encrypted.
    pub rules: Rules,
}

/// The rules deciding which values are encrypted.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `unencrypted_suffix`.
    pub unencrypted_suffix: Option<String>,
    /// `encrypted_suffix`.
    pub encrypted_suffix: Option<String>,
    /// `unencrypted_regex`.
    pub unencrypted_regex: Option<Regex>,
    /// `encrypted_regex`.
    pub encrypted_regex: Option<Regex>,
    /// `unencrypted_comment_regex`.
    pub unencrypted_comment_regex: Option<Regex>,
    /// `encrypted_comment_regex`.
    pub encrypted_comment_regex: Option<Regex>,
}

/// One group of master keys, each holding the same part of the data key.
#[derive(Debug, Clone, Default)]
pub struct KeyGroup {
    /// The master keys, in the order sops tries them (age first, then OpenPGP).
    pub keys: Vec<MasterKey>,
}

/// A master key entry of a group.
#[derive(Debug, Clone)]
pub enum MasterKey {
    /// An age recipient and the armored age file holding the data key.
    Age {
        /// The recipient (`age1...`).
        recipient: String,
        /// The armored age file.
        enc: String,
    },
    /// An OpenPGP key and the armored message holding the data key.
    Pgp {
        /// The key's fingerprint.
        fingerprint: String,
        /// The armored message.
        enc: String,
    },
    /// A key service this crate does not implement (cloud KMS, Vault).
    Unsupported(&'static str),
}

/// The sections of a key group, with the names sops gives the unsupported ones.
const UNSUPPORTED_SECTIONS: [(&str, &str); 5] = [
    ("kms", "AWS KMS"),
    ("gcp_kms", "GCP KMS"),
    ("azure_kv", "Azure Key Vault"),
    ("hc_vault", "HashiCorp Vault"),
    ("hckms", "HuaweiCloud KMS"),
];

impl Metadata {
    /// Reads the metadata mapping.
    pub fn from_node(node: &Node) -> Result<Self, Error> {
        let Node::Map(items) = node else {
            return Err(Error::Metadata("the sops entry is not a mapping".into()));
        };
        let fields = fields_of(items);
        let text = |name: &str| fields.get(name).and_then(|n| scalar_text(n));
        let regex = |name: &str| -> Result<Option<Regex>, Error> {
            text(name)
                .filter(|r| !r.is_empty())
                .map(|r| {
                    Regex::new(&r).map_err(|e| Error::Metadata(format!("invalid {name}: {e}")))
                })
                .transpose()
        };
        let non_empty = |name: &str| text(name).filter(|s| !s.is_empty());
        let mut key_groups = Vec::new();
        match fields.get("key_groups") {
            Some(Node::List(groups)) => {
                for group in groups {
                    let Node::Map(group) = group else {
                        return Err(Error::Metadata("a key group is not a mapping".into()));
                    };
                    key_groups.push(key_group(&fields_of(group))?);
                }
            }
            Some(Node::Null) | None => key_groups.push(key_group(&fields)?),
            Some(_) => return Err(Error::Metadata("key_groups is not a list".into())),
        }
        let shamir_threshold = match text("shamir_threshold") {
            Some(t) if !t.is_empty() => t
                .parse()
                .map_err(|_| Error::Metadata("shamir_threshold is not a number".into()))?,
            _ => 0,
        };
        Ok(Metadata {
            key_groups,
            shamir_threshold,
            last_modified: rfc3339(
                &text("lastmodified")
                    .ok_or_else(|| Error::Metadata("lastmodified is missing".into()))?,
            )?,
            mac: text("mac").unwrap_or_default(),
            mac_only_encrypted: text("mac_only_encrypted").is_some_and(|t| parse_go_bool(&t)),
            rules: Rules {
                unencrypted_suffix: non_empty("unencrypted_suffix"),
                encrypted_suffix: non_empty("encrypted_suffix"),
                unencrypted_regex: regex("unencrypted_regex")?,
                encrypted_regex: regex("encrypted_regex")?,
                unencrypted_comment_regex: regex("unencrypted_comment_regex")?,
                encrypted_comment_regex: regex("encrypted_comment_regex")?,
            },
        })
    }
}

/// `lastmodified` as Go formats it back after parsing (`time.RFC3339`: no fraction of a
/// second), which is the additional data the MAC was encrypted with.
fn rfc3339(text: &str) -> Result<String, Error> {
    let invalid = || Error::Metadata("lastmodified is not an RFC 3339 time".into());
    let (date_time, zone) = match text.strip_suffix(['Z', 'z']) {
        Some(rest) => (rest, "Z"),
        None => {
            let at = text
                .rfind(['+', '-'])
                .filter(|at| *at > 10)
                .ok_or_else(invalid)?;
            (&text[..at], &text[at..])
        }
    };
    let seconds = date_time.split('.').next().unwrap_or_default();
    let shape = seconds.len() == 19
        && seconds.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T' || b == b't',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return Err(invalid());
    }
    Ok(format!("{}T{}{zone}", &seconds[..10], &seconds[11..]))
}

fn fields_of(items: &[Item]) -> BTreeMap<&str, &Node> {
    items
        .iter()
        .filter_map(|item| item.name().map(|name| (name, &item.value)))
        .collect()
}

fn key_group(fields: &BTreeMap<&str, &Node>) -> Result<KeyGroup, Error> {
    let mut keys = Vec::new();
    for entry in entries(fields, "age")? {
        keys.push(MasterKey::Age {
            recipient: entry_text(&entry, "recipient"),
            enc: entry_text(&entry, "enc"),
        });
    }
    for entry in entries(fields, "pgp")? {
        keys.push(MasterKey::Pgp {
            fingerprint: entry_text(&entry, "fp"),
            enc: entry_text(&entry, "enc"),
        });
    }
    for (section, name) in UNSUPPORTED_SECTIONS {
        for _ in entries(fields, section)? {
            keys.push(MasterKey::Unsupported(name));
        }
    }
    Ok(KeyGroup { keys })
}

fn entries<'a>(
    fields: &BTreeMap<&str, &'a Node>,
    section: &str,
) -> Result<Vec<BTreeMap<&'a str, &'a Node>>, Error> {
    match fields.get(section) {
        None | Some(Node::Null) => Ok(Vec::new()),
        Some(Node::List(list)) => list
            .iter()
            .filter(|n| !matches!(n, Node::Comment(_)))
            .map(|n| match n {
                Node::Map(items) => Ok(fields_of(items)),
                _ => Err(Error::Metadata(format!(
                    "an entry of {section} is not a mapping"
                ))),
            })
            .collect(),
        // An empty flat section reads back as an empty mapping.
        Some(Node::Map(items)) if items.is_empty() => Ok(Vec::new()),
        Some(_) => Err(Error::Metadata(format!("{section} is not a list"))),
    }
}

fn entry_text(entry: &BTreeMap<&str, &Node>, name: &str) -> String {
    entry
        .get(name)
        .and_then(|n| scalar_text(n))
        .unwrap_or_default()
}

/// A scalar as text, as mapstructure's weak typing reads it into a string field.
fn scalar_text(node: &Node) -> Option<String> {
    match node {
        Node::Str(s) => Some(s.clone()),
        Node::Int(i) => Some(i.to_string()),
        Node::Float(f) => Some(crate::tree::go_float_f(*f)),
        Node::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        Node::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// Go's `strconv.ParseBool` (what mapstructure's weak typing uses for a string), false when
/// it fails.
pub fn parse_go_bool(text: &str) -> bool {
    matches!(text, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// Rebuilds the metadata mapping from flattened entries (`age__list_0__map_enc`, ...), as
/// sops' `unflattenTreeBranch` does; `escaped_newlines` turns `\n` back into line breaks
/// (INI).
pub fn unflatten(entries: Vec<(String, Node)>, escaped_newlines: bool) -> Result<Node, Error> {
    let mut root = Flat::default();
    for (key, mut value) in entries {
        if escaped_newlines && let Node::Str(s) = &mut value {
            *s = s.replace("\\n", "\n");
        }
        root.place(&tokenize(&key), value)?;
    }
    root.convert()
}

enum Token {
    Map(String),
    List(usize),
}

fn tokenize(path: &str) -> Vec<Token> {
    const MAP: &str = "__map_";
    const LIST: &str = "__list_";
    let mut tokens = Vec::new();
    let (mut start, mut i, mut list) = (0, 0, false);
    let finish = |tokens: &mut Vec<Token>, text: &str, list: bool| {
        if list {
            tokens.push(Token::List(text.parse().unwrap_or(0)));
        } else {
            tokens.push(Token::Map(text.to_string()));
        }
    };
    while i < path.len() {
        let rest = &path[i..];
        if rest.starts_with(MAP) || rest.starts_with(LIST) {
            finish(&mut tokens, &path[start..i], list);
            list = rest.starts_with(LIST);
            i += if list { LIST.len() } else { MAP.len() };
            start = i;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    finish(&mut tokens, &path[start..], list);
    tokens
}

#[derive(Default)]
struct Flat {
    value: Option<Node>,
    keys: BTreeMap<String, Flat>,
    indices: BTreeMap<usize, Flat>,
}

impl Flat {
    fn place(&mut self, path: &[Token], value: Node) -> Result<(), Error> {
        let mut at = self;
        for token in path {
            at = match token {
                Token::Map(key) => at.keys.entry(key.clone()).or_default(),
                Token::List(index) => at.indices.entry(*index).or_default(),
            };
        }
        if at.value.is_some() {
            return Err(Error::Metadata("duplicate flattened metadata entry".into()));
        }
        at.value = Some(value);
        Ok(())
    }

    fn convert(self) -> Result<Node, Error> {
        let kinds = [
            self.value.is_some(),
            !self.keys.is_empty(),
            !self.indices.is_empty(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            return Err(Error::Metadata("flattened metadata type mismatch".into()));
        }
        if let Some(value) = self.value {
            return Ok(value);
        }
        if !self.indices.is_empty() {
            let complete = self.indices.keys().enumerate().all(|(i, k)| i == *k);
            if !complete {
                return Err(Error::Metadata("incomplete flattened metadata list".into()));
            }
            let list = self.indices.into_values().map(Flat::convert);
            return Ok(Node::List(list.collect::<Result<_, _>>()?));
        }
        let mut items = Vec::new();
        for (key, value) in self.keys {
            items.push(Item {
                key: Key::Name(key),
                value: value.convert()?,
            });
        }
        Ok(Node::Map(items))
    }
}
