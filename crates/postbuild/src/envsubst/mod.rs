//! Variable expansion with the grammar and semantics of `github.com/fluxcd/pkg/envsubst` v1.7.0,
//! the library kustomize-controller v1.9 (Flux v2.9) runs over the YAML of every object.
//!
//! Hand-written because no crate implements this dialect: the `envsubst` and `shellexpand`
//! crates follow bash or GNU gettext, which differ from the Go library on escapes (`$$`),
//! unbraced `$var` (never expanded here), `${var-x}` (an error here), `${var:+x}` (a default
//! here), byte-based offsets and the strict-mode rules below.
//!
//! Strict mode: a variable the lookup does not know is an error
//! (`variable not set (strict mode): "NAME"`) unless its operator supplies a default
//! (`=`, `:=`, `:-`, and the parsed-but-undocumented `-`, `+`, `?`, `:+`, `:?`). Arguments are
//! evaluated before that check, so `${set:=${unset}}` fails in strict mode too. Outside strict
//! mode an unknown variable is the empty string.

mod functions;
mod parse;
mod pattern;

use parse::Node;

/// Why a text could not be expanded. Messages are the Go library's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `${` expression is malformed (e.g. a missing argument or delimiter).
    #[error("bad substitution")]
    BadSubstitution,
    /// `${name` is followed by something other than an operator or `}` (also `${var-x}`).
    #[error("missing closing brace")]
    MissingClosingBrace,
    /// `${` is not followed by a variable name (e.g. `${}` or `${ x}`).
    #[error("unable to parse variable name")]
    VariableName,
    /// An operator's argument is missing or the text ends inside an expression.
    #[error("unable to parse substitution within function")]
    FunctionSubstitution,
    /// A default operator (`=`, `:=`, `:-`, ...) could not be read.
    #[error("unable to parse default function")]
    DefaultFunction,
    /// Strict mode: the variable is not set and its expression has no default.
    #[error("variable not set (strict mode): {name:?}")]
    VariableNotSet {
        /// The variable's name.
        name: String,
    },
    /// `${var:pos:len}` with a negative length that ends before `pos`; the Go library panics
    /// on this slice.
    #[error("substring out of range: offset {pos}, length {length}")]
    SubstringRange {
        /// The offset, after counting a negative one from the end.
        pos: i64,
        /// The requested length.
        length: i64,
    },
}

/// Expands every `${...}` expression in `text`. `lookup` returns a variable's value, or `None`
/// when it is not set; in non-strict mode an unset variable reads as empty.
pub fn expand<'v>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'v str>,
    strict: bool,
) -> Result<String, ExpandError> {
    let nodes = parse::parse(text)?;
    let mut out = String::with_capacity(text.len());
    for node in &nodes {
        out.push_str(&evaluate(node, &lookup, strict)?);
    }
    Ok(out)
}

fn evaluate<'v>(
    node: &Node,
    lookup: &impl Fn(&str) -> Option<&'v str>,
    strict: bool,
) -> Result<String, ExpandError> {
    let expr = match node {
        Node::Text(text) => return Ok(text.clone()),
        Node::Expr(expr) => expr,
    };
    let args = expr
        .args
        .iter()
        .map(|arg| evaluate(arg, lookup, strict))
        .collect::<Result<Vec<_>, _>>()?;
    let value = match lookup(&expr.param) {
        Some(value) => value,
        None if strict && !functions::is_default_operator(&expr.op) => {
            return Err(ExpandError::VariableNotSet {
                name: expr.param.clone(),
            });
        }
        None => "",
    };
    functions::apply(&expr.op, value, &args)
}
