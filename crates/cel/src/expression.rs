//! One CEL expression: parsed in Flux's environment, checked against the variables it may use,
//! and evaluated over JSON values with the results Flux expects (a bool or a string). The
//! error messages are fluxcd/pkg `runtime/cel`'s.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use cel::objects::{Key, Value as CelValue};
use cel::{Context, Program};
use serde_json::Value;

use crate::bound::{self, MAX_SOURCE_BYTES, MAX_STEPS, Shape};
use crate::check::{self, StaticType};
use crate::env::flux_env;

/// Why an expression could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CelError {
    /// The environment could not be built (two function registrations clash).
    #[error("{0}")]
    Environment(String),
    /// The expression is not valid CEL, or is longer than tether accepts.
    #[error("failed to parse the CEL expression '{expression}': {message}")]
    Parse {
        /// The expression.
        expression: String,
        /// The parser's complaint.
        message: String,
    },
    /// The expression names a variable that is not declared for its use.
    #[error(
        "failed to parse the CEL expression '{expression}': undeclared reference to '{name}' (declared: {declared})"
    )]
    Undeclared {
        /// The expression.
        expression: String,
        /// The unknown name.
        name: String,
        /// The declared variables, comma-separated.
        declared: String,
    },
    /// The result type is known at compile time and is not the one the use needs.
    #[error("CEL expression output type mismatch: expected {expected}, got {got}")]
    OutputType {
        /// The type the use needs.
        expected: &'static str,
        /// The expression's type, as cel-go names it.
        got: &'static str,
    },
    /// Evaluation failed (a missing field, no such overload, ...).
    #[error("failed to evaluate the CEL expression '{expression}': {message}")]
    Evaluate {
        /// The expression.
        expression: String,
        /// The interpreter's complaint.
        message: String,
    },
    /// The expression would run longer than the bound for this input; it is not run.
    #[error(
        "failed to evaluate the CEL expression '{expression}': it may take up to {steps} steps over this input, more than the limit of {limit}"
    )]
    TooCostly {
        /// The expression.
        expression: String,
        /// Its bound over this input.
        steps: u128,
        /// The limit.
        limit: u128,
    },
    /// The result is not a bool where one is expected.
    #[error("failed to evaluate CEL expression as boolean: '{expression}'")]
    NotBool {
        /// The expression.
        expression: String,
    },
    /// The result is not a string where one is expected.
    #[error("failed to evaluate CEL expression as string: '{expression}'")]
    NotString {
        /// The expression.
        expression: String,
    },
}

/// A parsed expression.
#[derive(Debug)]
pub struct Expression {
    source: String,
    program: Program,
    shape: Shape,
    splits_strings: bool,
}

impl Expression {
    /// Parses `source` as Flux does for expressions evaluated over an object whose top-level
    /// fields are the variables (`healthCheckExprs`): any identifier may be used, and one the
    /// object lacks fails at evaluation.
    pub fn parse(source: &str) -> Result<Self, CelError> {
        let parse_error = |message: String| CelError::Parse {
            expression: source.to_owned(),
            message,
        };
        if source.len() > MAX_SOURCE_BYTES {
            return Err(parse_error(format!(
                "expression is {} bytes long, more than the limit of {MAX_SOURCE_BYTES}",
                source.len()
            )));
        }
        let env = flux_env().map_err(CelError::Environment)?;
        let program = catch_unwind(AssertUnwindSafe(|| env.compile(source)))
            .map_err(|_| parse_error("the parser failed".to_owned()))?
            .map_err(|e| parse_error(e.to_string()))?;
        let shape = Shape::of(program.expression());
        if shape.unspecified {
            return Err(parse_error("incomplete expression".to_owned()));
        }
        let splits_strings = program.references().has_function("split");
        Ok(Self {
            source: source.to_owned(),
            program,
            shape,
            splits_strings,
        })
    }

    /// Parses `source` for a use that declares its variables (Flux compiles these with
    /// `WithStructVariables`): a free identifier outside `variables` is an error now, not at
    /// evaluation.
    pub fn compile(source: &str, variables: &[&str]) -> Result<Self, CelError> {
        let expression = Self::parse(source)?;
        if let Some(name) = expression
            .shape
            .free
            .iter()
            .find(|name| !variables.contains(&name.as_str()))
        {
            return Err(CelError::Undeclared {
                expression: source.to_owned(),
                name: name.clone(),
                declared: variables.join(", "),
            });
        }
        Ok(expression)
    }

    /// Like [`Self::compile`], for a use that must yield a bool (cel-go's
    /// `WithOutputType(BoolType)`): an expression whose type is known not to be `bool`
    /// ([`crate::check`]) is refused now; one whose type depends on values is checked when
    /// evaluated.
    pub fn compile_bool(source: &str, variables: &[&str]) -> Result<Self, CelError> {
        let expression = Self::compile(source, variables)?;
        match check::result_type(expression.program.expression(), variables) {
            Some(found) if found != StaticType::Bool => Err(CelError::OutputType {
                expected: StaticType::Bool.name(),
                got: found.name(),
            }),
            _ => Ok(expression),
        }
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates to a bool, with `variables` bound.
    pub fn evaluate_bool<'a>(
        &self,
        variables: impl IntoIterator<Item = (&'a str, &'a Value)> + Clone,
    ) -> Result<bool, CelError> {
        match self.evaluate(variables)? {
            CelValue::Bool(result) => Ok(result),
            _ => Err(CelError::NotBool {
                expression: self.source.clone(),
            }),
        }
    }

    /// Evaluates to a string, with `variables` bound.
    pub fn evaluate_string<'a>(
        &self,
        variables: impl IntoIterator<Item = (&'a str, &'a Value)> + Clone,
    ) -> Result<String, CelError> {
        match self.evaluate(variables)? {
            CelValue::String(result) => Ok(result.as_str().to_owned()),
            _ => Err(CelError::NotString {
                expression: self.source.clone(),
            }),
        }
    }

    /// Evaluates to any value, as JSON (a value later expressions read, such as a generic-oidc
    /// Receiver's `vars`).
    pub fn evaluate_json<'a>(
        &self,
        variables: impl IntoIterator<Item = (&'a str, &'a Value)> + Clone,
    ) -> Result<Value, CelError> {
        let value = self.evaluate(variables)?;
        value.json().map_err(|e| CelError::Evaluate {
            expression: self.source.clone(),
            message: e.to_string(),
        })
    }

    fn evaluate<'a>(
        &self,
        variables: impl IntoIterator<Item = (&'a str, &'a Value)> + Clone,
    ) -> Result<CelValue, CelError> {
        let width = variables
            .clone()
            .into_iter()
            .map(|(_, value)| bound::width(value, self.splits_strings))
            .max()
            .unwrap_or(0);
        let steps = self.shape.steps(width);
        if steps > MAX_STEPS {
            return Err(CelError::TooCostly {
                expression: self.source.clone(),
                steps,
                limit: MAX_STEPS,
            });
        }
        let env = flux_env().map_err(CelError::Environment)?;
        let mut context = Context::with_env(env);
        for (name, value) in variables {
            context.add_variable_from_value(name, to_cel(value));
        }
        let evaluate_error = |message: String| CelError::Evaluate {
            expression: self.source.clone(),
            message,
        };
        // cel-rust reports errors as values; a panic inside it would be a bug there, and is
        // turned into an error here rather than taking the controller down.
        catch_unwind(AssertUnwindSafe(|| self.program.execute(&context)))
            .map_err(|_| evaluate_error("the interpreter failed".to_owned()))?
            .map_err(|e| evaluate_error(e.to_string()))
    }
}

/// `value` as CEL sees a Go `map[string]any` decoded from JSON: integers that fit are `int`
/// (Go decodes them as int64), larger ones `uint`, others `double`.
fn to_cel(value: &Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => CelValue::Int(i),
            (None, Some(u)) => CelValue::UInt(u),
            (None, None) => CelValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let entries: HashMap<Key, CelValue> = map
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            CelValue::Map(entries.into())
        }
    }
}

#[cfg(test)]
mod tests;
