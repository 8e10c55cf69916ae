//! The part of cel-go's static type check that can be done soundly without cel-go's full
//! checker (cel-rust has none): the result type of an expression, where it is known for sure
//! from its shape. Flux compiles filters and validations with `WithOutputType(BoolType)` and
//! rejects at compile time an expression whose checked type is not `bool`, with
//! "CEL expression output type mismatch: expected bool, got <type>".
//!
//! Known here: literals; operators whose result type does not depend on their operands
//! (comparisons, `in`, `&&`, `||`, `!`, `has()`); arithmetic and `-x` on operands of one known
//! type; the conversion, size and string functions; and a field or index of a declared
//! variable, which Flux declares as `google.protobuf.Struct` (cel-go: `map(string, dyn)`), so
//! the field is `dyn`, not `bool`. Anything else (macros such as `map` or `exists`, extension
//! functions, mixed operands) is left to the check of the result at evaluation.

use cel::IdedExpr;
use cel::common::ast::{Expr, LiteralValue, operators};

/// A result type known for sure, named as cel-go names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticType {
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Null,
    Dyn,
    /// A declared (struct) variable.
    StructMap,
}

impl StaticType {
    /// cel-go's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Uint => "uint",
            Self::Double => "double",
            Self::String => "string",
            Self::Bytes => "bytes",
            Self::Null => "null_type",
            Self::Dyn => "dyn",
            Self::StructMap => "map(string, dyn)",
        }
    }
}

/// The result type of `expr`, when known for sure; `variables` are the declared ones.
pub fn result_type(expr: &IdedExpr, variables: &[&str]) -> Option<StaticType> {
    use StaticType as T;
    match &expr.expr {
        Expr::Literal(literal) => Some(match literal {
            LiteralValue::Boolean(_) => T::Bool,
            LiteralValue::Bytes(_) => T::Bytes,
            LiteralValue::Double(_) => T::Double,
            LiteralValue::Int(_) => T::Int,
            LiteralValue::Null => T::Null,
            LiteralValue::String(_) => T::String,
            LiteralValue::UInt(_) => T::Uint,
        }),
        Expr::Ident(name) => variables.contains(&name.as_str()).then_some(T::StructMap),
        Expr::Select(select) if select.test => Some(T::Bool),
        Expr::Select(select) => match result_type(&select.operand, variables) {
            Some(T::StructMap | T::Dyn) => Some(T::Dyn),
            _ => None,
        },
        Expr::Call(call) => call_type(call, variables),
        _ => None,
    }
}

fn call_type(call: &cel::common::ast::CallExpr, variables: &[&str]) -> Option<StaticType> {
    use StaticType as T;
    let name = call.func_name.as_str();
    let args: Vec<Option<StaticType>> = call
        .args
        .iter()
        .map(|a| result_type(a, variables))
        .collect();
    let same = |types: &[Option<StaticType>]| match types {
        [Some(a), Some(b)] if a == b => Some(*a),
        _ => None,
    };
    match name {
        operators::EQUALS
        | operators::NOT_EQUALS
        | operators::LESS
        | operators::LESS_EQUALS
        | operators::GREATER
        | operators::GREATER_EQUALS
        | operators::IN
        | operators::LOGICAL_AND
        | operators::LOGICAL_OR
        | operators::LOGICAL_NOT
        | operators::NOT_STRICTLY_FALSE => Some(T::Bool),
        operators::ADD => {
            same(&args).filter(|t| matches!(t, T::Int | T::Uint | T::Double | T::String | T::Bytes))
        }
        operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE => {
            same(&args).filter(|t| matches!(t, T::Int | T::Uint | T::Double))
        }
        operators::MODULO => same(&args).filter(|t| matches!(t, T::Int | T::Uint)),
        operators::NEGATE => args
            .first()
            .copied()
            .flatten()
            .filter(|t| matches!(t, T::Int | T::Double)),
        operators::CONDITIONAL => match args.as_slice() {
            [_, Some(a), Some(b)] if a == b && *a != T::StructMap => Some(*a),
            _ => None,
        },
        operators::INDEX => match args.first().copied().flatten() {
            Some(T::StructMap | T::Dyn) => Some(T::Dyn),
            _ => None,
        },
        "size" | "int" | "indexOf" | "lastIndexOf" => Some(T::Int),
        "uint" => Some(T::Uint),
        "double" => Some(T::Double),
        "string" | "lowerAscii" | "upperAscii" | "trim" | "replace" | "substring" | "charAt"
        | "format" | "join" | "quote" | "reverse" => Some(T::String),
        "bytes" => Some(T::Bytes),
        "contains" | "startsWith" | "endsWith" | "matches" => Some(T::Bool),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::flux_env;

    fn typed(source: &str) -> Option<StaticType> {
        let env = flux_env().ok()?;
        let program = env.compile(source).ok()?;
        result_type(program.expression(), &["res", "req"])
    }

    #[test]
    fn literals_arithmetic_and_string_functions_have_known_types() {
        use StaticType as T;
        assert_eq!(typed("'main'"), Some(T::String));
        assert_eq!(typed("1 + 2"), Some(T::Int));
        assert_eq!(typed("1.5 * 2.0"), Some(T::Double));
        assert_eq!(typed("'a' + 'b'"), Some(T::String));
        assert_eq!(typed("size(req.commits)"), Some(T::Int));
        assert_eq!(typed("req.ref.lowerAscii()"), Some(T::String));
        assert_eq!(typed("null"), Some(T::Null));
        assert_eq!(typed("res"), Some(T::StructMap));
        assert_eq!(typed("res.metadata.name"), Some(T::Dyn));
        assert_eq!(typed("req['ref']"), Some(T::Dyn));
    }

    #[test]
    fn comparisons_logic_and_has_are_bool() {
        use StaticType as T;
        assert_eq!(typed("req.ref == 'refs/heads/main'"), Some(T::Bool));
        assert_eq!(typed("!(1 < 2) || 'a' in ['a']"), Some(T::Bool));
        assert_eq!(typed("has(res.metadata.labels)"), Some(T::Bool));
        assert_eq!(typed("req.ref.startsWith('refs/')"), Some(T::Bool));
    }

    #[test]
    fn what_depends_on_values_is_left_to_evaluation() {
        assert_eq!(typed("req.n + 1"), None);
        assert_eq!(typed("req.items.exists(i, i == 1)"), None);
        assert_eq!(typed("true ? 1 : 'a'"), None);
        assert_eq!(typed("unknownFunction(1)"), None);
    }
}
