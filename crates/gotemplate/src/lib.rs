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
pub mod sprig;
mod value;

pub use funcs::{Func, FuncImpl, FuncMap, Param, builtins, html_escape, js_escape, query_escape};
pub use printf::{format_float_g, quote, sprint, sprintf, sprintln};
pub use value::{Field, Map, Slice, Struct, Value, compare_keys};

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
    name: String,
    text: String,
    trees: parse::Trees,
    funcs: FuncMap,
    builtins: FuncMap,
}

impl Template {
    /// Parses `text` as template `name` with only the builtin functions.
    pub fn parse(name: &str, text: &str) -> Result<Self, TemplateError> {
        Self::parse_with_funcs(name, text, FuncMap::new())
    }

    /// Parses `text` with `funcs` added (they take precedence over builtins of the same name,
    /// as Go's `Funcs` do).
    pub fn parse_with_funcs(name: &str, text: &str, funcs: FuncMap) -> Result<Self, TemplateError> {
        let builtins = builtins();
        let has_function = |f: &str| funcs.contains_key(f) || builtins.contains_key(f);
        let trees =
            parse::parse(name, text, &has_function).map_err(|e| TemplateError::Parse(e.0))?;
        Ok(Template {
            name: name.to_owned(),
            text: text.to_owned(),
            trees,
            funcs,
            builtins,
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes the template with `data` as dot (and `$`).
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        self.execute_template(&self.name, data)
    }

    /// Executes the associated template `name` (a `define`d one or the main one).
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        let Some(tree) = self.trees.get(name) else {
            return Err(TemplateError::Exec(format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(&self.name)
            )));
        };
        let mut state = exec::State {
            parse_name: &self.name,
            text: &self.text,
            trees: &self.trees,
            funcs: &self.funcs,
            builtins: &self.builtins,
            name: name.to_owned(),
            vars: vec![("$".into(), data.clone())],
            out: String::new(),
            depth: 0,
            at: None,
        };
        match state.walk_list(data, tree) {
            Ok(()) | Err(exec::Flow::Break | exec::Flow::Continue) => Ok(state.out),
            Err(exec::Flow::Error(e)) => Err(TemplateError::Exec(e)),
        }
    }
}
