//! The evaluation bound. cel-go interrupts a running evaluation when its context ends (Flux
//! checks every 100 comprehension steps); cel-rust cannot be interrupted, so tether bounds an
//! evaluation before it starts instead. Only comprehensions (`all`, `exists`, `exists_one`,
//! `map`, `filter`) loop, over lists and maps that are either in the input or built by the
//! expression from it; nested in one another's bodies, their steps multiply. So the number of
//! steps is about `nodes × (width + literal)^nesting`, where `width` is the largest list or map
//! of the input (or string, when the expression can `split` one into a list) and `literal` the
//! largest list or map written in the expression.
//! Expressions whose bound passes [`MAX_STEPS`] for the input at hand are refused with an
//! error rather than run: Flux's own examples (a filter and an `all` over `status.conditions`)
//! sit many orders of magnitude below it.

use std::collections::BTreeSet;

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr};
use serde_json::Value;

/// Identifiers that name function namespaces or types, not variables.
const NOT_VARIABLES: &[&str] = &[
    "sets",
    "strings",
    "base64",
    "optional",
    "bool",
    "bytes",
    "double",
    "int",
    "uint",
    "string",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

/// The largest number of evaluation steps an expression may be bounded by. Measured on the
/// 2-core machine, release build: a triple loop over 100 elements (10^6 iterations, a bound of
/// about 4·10^7 steps) takes 2 s, so this limit keeps any evaluation around half a second.
pub const MAX_STEPS: u128 = 10_000_000;

/// The longest expression accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 16 * 1024;

/// What the bound needs to know of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Nodes of the expanded syntax tree.
    pub nodes: u64,
    /// Depth of comprehensions nested in the bodies of others (0: none).
    pub nesting: u32,
    /// Elements of the largest list or map literal.
    pub literal: u64,
    /// Whether the tree holds a node the interpreter cannot evaluate.
    pub unspecified: bool,
    /// Identifiers not bound by a comprehension: the variables the expression reads.
    pub free: BTreeSet<String>,
}

impl Shape {
    /// The shape of `expr`.
    pub fn of(expr: &IdedExpr) -> Self {
        let mut shape = Shape {
            nodes: 0,
            nesting: 0,
            literal: 0,
            unspecified: false,
            free: BTreeSet::new(),
        };
        shape.visit(expr, 0, &mut Vec::new());
        shape
    }

    /// Walks `expr` at comprehension `depth`, with the names comprehensions bind in `scope`.
    fn visit<'e>(&mut self, expr: &'e IdedExpr, depth: u32, scope: &mut Vec<&'e str>) {
        self.nodes += 1;
        match &expr.expr {
            Expr::Unspecified => self.unspecified = true,
            Expr::Literal(_) => {}
            Expr::Ident(name) => {
                if !scope.contains(&name.as_str()) && !NOT_VARIABLES.contains(&name.as_str()) {
                    self.free.insert(name.clone());
                }
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.visit(target, depth, scope);
                }
                call.args.iter().for_each(|a| self.visit(a, depth, scope));
            }
            Expr::Select(select) => self.visit(&select.operand, depth, scope),
            Expr::List(list) => {
                self.literal = self.literal.max(list.elements.len() as u64);
                list.elements
                    .iter()
                    .for_each(|e| self.visit(e, depth, scope));
            }
            Expr::Map(map) => {
                self.literal = self.literal.max(map.entries.len() as u64);
                map.entries
                    .iter()
                    .for_each(|e| self.visit_entry(&e.expr, depth, scope));
            }
            Expr::Struct(s) => s
                .entries
                .iter()
                .for_each(|e| self.visit_entry(&e.expr, depth, scope)),
            Expr::Comprehension(c) => {
                self.visit(&c.iter_range, depth, scope);
                self.visit(&c.accu_init, depth, scope);
                let bound = scope.len();
                scope.push(&c.accu_var);
                scope.push(&c.iter_var);
                scope.extend(c.iter_var2.as_deref());
                let inner = depth + 1;
                self.nesting = self.nesting.max(inner);
                self.visit(&c.loop_cond, inner, scope);
                self.visit(&c.loop_step, inner, scope);
                scope.truncate(bound + 1);
                self.visit(&c.result, depth, scope);
                scope.truncate(bound);
            }
        }
    }

    fn visit_entry<'e>(&mut self, entry: &'e EntryExpr, depth: u32, scope: &mut Vec<&'e str>) {
        match entry {
            EntryExpr::StructField(field) => self.visit(&field.value, depth, scope),
            EntryExpr::MapEntry(entry) => {
                self.visit(&entry.key, depth, scope);
                self.visit(&entry.value, depth, scope);
            }
        }
    }

    /// The bound on evaluation steps over an input whose widest collection is `width`.
    pub fn steps(&self, width: u64) -> u128 {
        let nodes = u128::from(self.nodes);
        let per_level = u128::from(width) + u128::from(self.literal);
        per_level
            .checked_pow(self.nesting)
            .and_then(|loops| loops.checked_mul(nodes))
            .unwrap_or(u128::MAX)
    }
}

/// The largest list or map in `value` (strings too when `with_strings`), by element count.
pub fn width(value: &Value, with_strings: bool) -> u64 {
    let own = match value {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        Value::String(s) if with_strings => s.chars().count(),
        _ => 0,
    } as u64;
    let inner = match value {
        Value::Array(items) => items.iter().map(|v| width(v, with_strings)).max(),
        Value::Object(map) => map.values().map(|v| width(v, with_strings)).max(),
        _ => None,
    };
    own.max(inner.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(source: &str) -> Shape {
        match cel::Program::compile(source) {
            Ok(program) => Shape::of(program.expression()),
            Err(e) => panic!("{source}: {e}"),
        }
    }

    #[test]
    fn comprehensions_chained_do_not_nest_but_inner_ones_do() {
        assert_eq!(shape("a == 1").nesting, 0);
        assert_eq!(
            shape("a.filter(e, e.type == 'Ready').all(e, e.status == 'True')").nesting,
            1
        );
        assert_eq!(shape("a.all(x, b.exists(y, y == x))").nesting, 2);
        assert_eq!(
            shape("a.all(x, b.exists(y, c.exists(z, z == y && y == x)))").nesting,
            3
        );
    }

    #[test]
    fn steps_grow_with_input_width_only_for_nested_loops() {
        let flat = shape("a.all(x, x > 0)");
        let nested = shape("a.all(x, a.all(y, a.all(z, x + y + z > 0)))");
        assert!(flat.steps(100_000) < MAX_STEPS);
        assert!(nested.steps(50) < MAX_STEPS);
        assert!(nested.steps(10_000) > MAX_STEPS);
        assert_eq!(shape("a").steps(u64::MAX), 1);
        assert!(shape("[1, 2, 3].all(x, [4, 5].all(y, x < y))").steps(0) < 1000);
    }

    #[test]
    fn free_identifiers_leave_out_comprehension_variables_and_namespaces() {
        let free =
            shape("res.metadata.labels.exists(k, k == req.ref) && sets.contains([1], [x])").free;
        assert_eq!(free.into_iter().collect::<Vec<_>>(), ["req", "res", "x"]);
    }

    #[test]
    fn width_is_the_largest_collection_anywhere() {
        let value =
            serde_json::json!({"a": [1, 2, 3], "b": {"c": [[1, 2, 3, 4, 5]]}, "s": "long string"});
        assert_eq!(width(&value, false), 5);
        assert_eq!(width(&value, true), 11);
    }
}
