//! YAML in and out with the exact semantics of kustomize's Go YAML stack.

mod emit;
mod parse;
mod scalar;

pub use emit::{go_yaml_key_order, to_yaml};
pub use parse::{SyntaxError, parse_one, parse_stream};
pub use scalar::{format_number, resolve_plain};

/// A scalar rendered the way it appears in a YAML document, for messages and key strings.
pub fn to_compact_string(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => format_number(n),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
