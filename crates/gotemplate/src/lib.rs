//! Go's `text/template`, as Flux renders commit message templates with it: parse a template
//! (with Go's lexer, grammar and parse errors), execute it over a [`Value`] model of Go data
//! (structs, maps with Go's key order, slices, scalars), with the builtin functions, Go's `fmt`
//! verbs, and optionally the hermetic sprig functions Flux registers ([`sprig::hermetic_funcs`]).
//!
//! Written here because no maintained Rust crate follows Go's semantics closely enough: `gtmpl`
//! (last released 2021) lacks `break`/`continue`, `else with`, range over integers, Go's map key
//! ordering for struct keys, its error messages and the typed argument checks that decide
//! whether a Flux template renders or fails.
//!
//! ```
//! use tether_gotemplate::{Template, Value, Struct};
//!
//! let data = Value::Struct(Struct::new("main.Data").field("Name", "podinfo"));
//! let t = Template::parse("msg", "Update {{ .Name | printf \"%q\" }}").unwrap();
//! assert_eq!(t.execute(&data).unwrap(), "Update \"podinfo\"");
//! ```
#![forbid(unsafe_code)]

mod exec;
mod funcs;
mod lex;
mod literal;
mod parse;
mod printf;
mod set;
pub mod sprig;
mod value;

pub use funcs::{
    Func, FuncImpl, FuncMap, Param, RuntimeFuncImpl, builtins, html_escape, js_escape, query_escape,
};
pub use printf::{format_float_g, quote, sprint, sprintf, sprintln};
pub use set::{MissingKey, Runtime, TemplateSet};
pub use value::{Field, MAX_NESTING, Map, Methods, Nesting, Slice, Struct, Value, compare_keys};

/// A template failed to parse or to execute; the message is Go's, e.g.
/// `template: msg:1:3: executing "msg" at <.Updated>: can't evaluate field Updated in type ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not a valid template.
    #[error("{0}")]
    Parse(String),
    /// Execution failed.
    #[error("{0}")]
    Exec(String),
}

/// A parsed template with its associated (`define`d) templates and functions.
#[derive(Debug, Clone)]
pub struct Template {
    set: TemplateSet,
}

impl Template {
    /// Parses `text` as template `name` with only the builtin functions.
    pub fn parse(name: &str, text: &str) -> Result<Self, TemplateError> {
        Self::parse_with_funcs(name, text, FuncMap::new())
    }

    /// Parses `text` with `funcs` added (they take precedence over builtins of the same name,
    /// as Go's `Funcs` do).
    pub fn parse_with_funcs(name: &str, text: &str, funcs: FuncMap) -> Result<Self, TemplateError> {
        let mut set = TemplateSet::new(name, funcs);
        set.add(name, text)?;
        Ok(Template { set })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        self.set.name()
    }

    /// Executes the template with `data` as dot (and `$`).
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        self.execute_template(self.set.name(), data)
    }

    /// Executes the associated template `name` (a `define`d one or the main one).
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        self.set.execute(name, data)
    }
}
