//! YAML with Kubernetes semantics, shared by every engine: the exact text the Go tools print and
//! the exact values they read.
//!
//! Output ([`to_string`], [`to_multi_doc`]) is what `sigs.k8s.io/yaml` (go-yaml v2) prints for
//! a JSON value: `kustomize build` output and the text Flux runs post-build substitution over.
//! Input is typed by one of two Go libraries ([`Typing`]): go-yaml v3 for what kustomize reads
//! ([`from_str_multi`]), go-yaml v2's YAML 1.1 rules for what `sigs.k8s.io/yaml.YAMLToJSON`
//! reads back ([`from_str_yaml11`]). Errors carry a 1-based line and column, and the file once
//! the caller names it ([`YamlError::in_file`]).

mod emit;
mod parse;
mod scalar;
mod tabs;
mod yaml11;

use serde_json::Value;

pub use emit::{Comments, Layout, double_quoted, go_yaml_key_order, single_quoted};
pub use scalar::{format_go_float, format_number, go_json_float, resolve_plain};
pub use tabs::{TAB_IN_BLOCK_INDENT, TAB_IN_PLAIN_INDENT, TAB_STARTS_TOKEN};
pub use yaml11::{
    BINARY_ERROR, DECODE_ERROR_PREFIX, Resolved, reads_as_non_string as reads_as_non_string_yaml11,
    resolve_plain as resolve_plain_yaml11,
};

/// Which Go library's rules type plain scalars on input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Typing {
    /// go-yaml v3 (what kustomize reads with): `yes` stays a string, `0644` is octal, dates
    /// become RFC 3339 strings, duplicate keys are errors.
    #[default]
    GoYamlV3,
    /// go-yaml v2 with YAML 1.1 typing as `sigs.k8s.io/yaml.YAMLToJSON` applies it: `yes`/`on`
    /// are booleans, integral floats become integers, NaN and infinities are refused, a later
    /// duplicate key wins.
    Yaml11,
    /// Every scalar as the string of its source text (`1.50` stays `"1.50"`), for readers that
    /// need what a document wrote rather than what it means; a later duplicate key wins.
    SourceText,
}

/// What kind of problem a [`YamlError`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The text is not valid YAML (or breaks a rule of the chosen typing, such as a duplicate key).
    #[default]
    Syntax,
    /// The text is valid YAML that JSON cannot hold (NaN, infinities, a collection as key).
    NotJson,
}

/// A YAML syntax or structure error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Syntax error or unrepresentable value.
    pub kind: YamlErrorKind,
    /// File holding the text, when the caller named it.
    pub file: Option<String>,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl YamlError {
    /// The same error, attributed to `file`.
    pub fn in_file(self, file: impl Into<String>) -> Self {
        Self {
            file: Some(file.into()),
            ..self
        }
    }
}

impl std::error::Error for YamlError {}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Renders one document (no leading `---`) exactly as go-yaml v2 would.
pub fn to_string(value: &Value) -> String {
    emit::to_yaml(value)
}

/// Renders one document (no leading `---`) with another library's [`Layout`].
pub fn to_string_with(value: &Value, layout: &Layout) -> String {
    let mut out = String::new();
    emit::write_yaml_with(&mut out, value, layout);
    out
}

/// Renders one document with [`Layout`] and the comments go-yaml v3 would write around its
/// entries (sops' decrypted YAML).
pub fn to_string_commented(value: &Value, comments: &Comments, layout: &Layout) -> String {
    let mut out = String::new();
    emit::write_commented(&mut out, value, Some(comments), layout);
    out
}

/// Renders one document as go-yaml v3's encoder with an indent of 2 does (Helm's
/// `toYamlPretty`): sequences indented under their key, long scalars never folded, floats in
/// Go's shortest `%g`.
pub fn to_string_v3_pretty(value: &Value) -> String {
    to_string_with(value, &Layout::GO_YAML_V3_PRETTY)
}

/// Renders a stream of documents separated by `---` lines, as `kustomize build` prints them.
pub fn to_multi_doc(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit::write_yaml(&mut out, value);
    }
    out
}

/// Appends the rendering of one document to `out` (no allocation of an intermediate string).
pub fn write_document(out: &mut String, value: &Value) {
    emit::write_yaml(out, value);
}

/// Parses every document of a stream with go-yaml v3 typing; empty documents are `Null`.
pub fn from_str_multi(text: &str) -> Result<Vec<Value>, YamlError> {
    parse::parse_stream(text, Typing::GoYamlV3)
}

/// Parses every document of a stream with the given typing; empty documents are `Null`.
pub fn from_str_multi_typed(text: &str, typing: Typing) -> Result<Vec<Value>, YamlError> {
    parse::parse_stream(text, typing)
}

/// Parses a stream holding one document with go-yaml v3 typing: the first non-empty document,
/// or `Null` when there is none.
pub fn from_str(text: &str) -> Result<Value, YamlError> {
    let docs = from_str_multi(text)?;
    Ok(docs
        .into_iter()
        .find(|d| !d.is_null())
        .unwrap_or(Value::Null))
}

/// Reads text back as `sigs.k8s.io/yaml.YAMLToJSON` does: the first document only, with what
/// follows it unread (an empty stream is `Null`), YAML 1.1 typing.
pub fn from_str_yaml11(text: &str) -> Result<Value, YamlError> {
    parse::parse_first_document(text, Typing::Yaml11)
}

/// Reads a plain (unquoted, untagged) scalar as go-yaml v3 does: `5432` is a number, `true` a
/// bool, `yes` a string.
pub fn resolve_plain_scalar(text: &str) -> Value {
    scalar::resolve_plain(text)
}

/// A scalar rendered the way it appears in a YAML document, for messages and key strings.
pub fn to_compact_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => format_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml11_typing() {
        let text =
            "a: 3\nb: yes\nc: '3'\nd: \"on\"\ne:\nf: 1.5\ng: 2.0\nh: 0x10\ni: [x, 1]\nj: {k: v}\n";
        let want = json!({
            "a": 3, "b": true, "c": "3", "d": "on", "e": null, "f": 1.5, "g": 2,
            "h": 16, "i": ["x", 1], "j": {"k": "v"}
        });
        assert_eq!(from_str_yaml11(text), Ok(want));
    }

    #[test]
    fn yaml11_anchors_and_tags() {
        let text = "a: &x {b: 1}\nc: *x\nd: !!str 3\ne: !custom 4\n";
        let want = json!({"a": {"b": 1}, "c": {"b": 1}, "d": "3", "e": "4"});
        assert_eq!(from_str_yaml11(text), Ok(want));
    }

    #[test]
    fn yaml11_first_document_only_and_errors() {
        assert_eq!(from_str_yaml11("a: 1\n---\nb: 2\n"), Ok(json!({"a": 1})));
        assert_eq!(from_str_yaml11(""), Ok(Value::Null));
        let syntax = from_str_yaml11("a: b: c\n").map(|_| ()).map_err(|e| e.kind);
        assert_eq!(syntax, Err(YamlErrorKind::Syntax));
        let nan = from_str_yaml11("a: .nan\n").map(|_| ()).map_err(|e| e.kind);
        assert_eq!(nan, Err(YamlErrorKind::NotJson));
        assert_eq!(
            from_str_yaml11("1.5: a\nyes: b\n"),
            Ok(json!({"1.5": "a", "true": "b"}))
        );
    }

    #[test]
    fn yaml11_explicit_tags_must_match_the_text() {
        assert_eq!(
            from_str_yaml11("a: !!float 1\nb: !!int \"2\"\nc: !!binary aGVsbG8=\n"),
            Ok(json!({"a": 1, "b": 2, "c": "hello"}))
        );
        let refused = |text: &str| from_str_yaml11(text).map_err(|e| e.message).err();
        assert_eq!(
            refused("a: !!int x\n").as_deref(),
            Some("cannot decode !!str `x` as a !!int")
        );
        assert_eq!(
            refused("a: !!bool 1\n").as_deref(),
            Some("cannot decode !!int `1` as a !!bool")
        );
        assert_eq!(
            refused("a: !!binary aGVsbG8\n").as_deref(),
            Some(BINARY_ERROR)
        );
        assert_eq!(
            refused("a: .inf\n").as_deref(),
            Some("json: unsupported value: +Inf")
        );
    }

    #[test]
    fn yaml11_reads_nothing_after_the_first_document() {
        assert_eq!(from_str_yaml11("{a: 1}}\n"), Ok(json!({"a": 1})));
        assert_eq!(from_str_yaml11("\"x\" y\n"), Ok(json!("x")));
        assert_eq!(from_str_yaml11("a: 1\n---\nb: [\n"), Ok(json!({"a": 1})));
        assert_eq!(
            from_str_yaml11("a: 1\n%YAML 2.0\n---\n"),
            Ok(json!({"a": 1}))
        );
        // The token right after the root is still scanned, and a plain root may go on.
        assert!(from_str_yaml11("{a: 1} @\n").is_err());
        assert!(from_str_yaml11("x\ny: 1\n").is_err());
    }

    #[test]
    fn yaml11_refuses_tabs_where_libyaml_does() {
        let message = |text: &str| from_str_yaml11(text).map_err(|e| (e.line, e.message)).err();
        assert_eq!(message("\ta: 1\n"), Some((1, TAB_STARTS_TOKEN.to_owned())));
        assert_eq!(
            message("a: [1]\n\t\n"),
            Some((2, TAB_STARTS_TOKEN.to_owned()))
        );
        assert_eq!(
            message("- a\n\t- b\n"),
            Some((2, TAB_IN_PLAIN_INDENT.to_owned()))
        );
        assert_eq!(
            message("a: >\n  x\n\t\n"),
            Some((3, TAB_IN_BLOCK_INDENT.to_owned()))
        );
        // Tabs after a simple key's `:`, inside flow collections and deep enough are fine.
        assert_eq!(
            from_str_yaml11("a:\tb\nc: [\t1]\nd: e\n  \tf\n"),
            Ok(json!({"a": "b", "c": [1], "d": "e f"}))
        );
    }

    #[test]
    fn a_block_scalar_at_the_end_without_a_line_break_has_none() {
        assert_eq!(from_str_yaml11("a: |\n  x"), Ok(json!({"a": "x"})));
        assert_eq!(from_str_yaml11("a: |\n  x\n"), Ok(json!({"a": "x\n"})));
        assert_eq!(from_str_multi("a: >\n  x"), Ok(vec![json!({"a": "x"})]));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = from_str_multi("a: 1\nb: [\n").map_err(|e| e.in_file("dir/x.yaml").to_string());
        let msg = e.err().unwrap_or_default();
        assert!(msg.starts_with("dir/x.yaml:line "), "{msg}");
    }

    #[test]
    fn multi_doc_separates_with_dashes() {
        let docs = [json!({"a": 1}), json!({"b": [1, "yes"]})];
        assert_eq!(to_multi_doc(&docs), "a: 1\n---\nb:\n- 1\n- \"yes\"\n");
    }
}
