//! Template sets as `text/template` associates them: templates parsed from many texts, each
//! keeping its own source for error positions, `define`s shared by all of them, a later
//! definition replacing an earlier one unless it is empty, the `missingkey` option, and the
//! [`Runtime`] through which functions such as Helm's `include` and `tpl` run templates of the
//! set they are called from.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::TemplateError;
use crate::exec::{Flow, State};
use crate::funcs::{FuncMap, builtins};
use crate::parse::{self, List};
use crate::printf::quote;
use crate::value::Value;

/// One named template with the text it was parsed from.
#[derive(Debug)]
pub(crate) struct Def {
    pub list: List,
    pub parse_name: Arc<str>,
    pub text: Arc<str>,
}

pub(crate) type Defs = BTreeMap<String, Arc<Def>>;

/// What a field lookup of a missing map key yields (text/template's `missingkey` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// The invalid value, printed `<no value>` (`missingkey=default`).
    #[default]
    Invalid,
    /// The map element type's zero value (`missingkey=zero`); for `interface {}` elements
    /// a nil, through which a further field lookup fails.
    Zero,
}

/// A set of associated templates sharing functions and `define`s.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    name: String,
    defs: Defs,
    funcs: Arc<FuncMap>,
    builtins: Arc<FuncMap>,
    missing_key: MissingKey,
    max_output: usize,
}

impl TemplateSet {
    /// An empty set called `name` (the name `ExecuteTemplate` errors mention) with `funcs`
    /// added to the builtins.
    pub fn new(name: &str, funcs: FuncMap) -> Self {
        TemplateSet {
            name: name.to_owned(),
            defs: Defs::new(),
            funcs: Arc::new(funcs),
            builtins: Arc::new(builtins()),
            missing_key: MissingKey::Invalid,
            max_output: usize::MAX,
        }
    }

    /// The same set, stopping any execution whose output grows past `bytes`.
    pub fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// The same set with the `missingkey` option set.
    pub fn with_missing_key(mut self, missing_key: MissingKey) -> Self {
        self.missing_key = missing_key;
        self
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text` as template `name` (Go's `t.New(name).Parse(text)`), adding its
    /// `define`s to the set.
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), TemplateError> {
        add_to(&mut self.defs, &self.funcs, &self.builtins, name, text)
    }

    /// Whether a template called `name` is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.defs.contains_key(name)
    }

    /// Executes template `name` with `data` as dot.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        self.runtime()
            .execute_template(name, data)
            .map_err(TemplateError::Exec)
    }

    fn runtime(&self) -> Runtime<'_> {
        Runtime {
            set_name: &self.name,
            defs: &self.defs,
            funcs: &self.funcs,
            builtins: &self.builtins,
            missing_key: self.missing_key,
            max_output: self.max_output,
        }
    }
}

fn add_to(
    defs: &mut Defs,
    funcs: &FuncMap,
    builtins: &FuncMap,
    name: &str,
    text: &str,
) -> Result<(), TemplateError> {
    let has_function = |f: &str| funcs.contains_key(f) || builtins.contains_key(f);
    let trees = parse::parse(name, text, &has_function).map_err(|e| TemplateError::Parse(e.0))?;
    let parse_name: Arc<str> = Arc::from(name);
    let source: Arc<str> = Arc::from(text);
    let root_missing = !trees.contains_key(name);
    for (tree_name, list) in trees {
        let empty = parse::is_empty_tree(&list);
        if empty
            && defs
                .get(&tree_name)
                .is_some_and(|d| !parse::is_empty_tree(&d.list))
        {
            continue;
        }
        let def = Def {
            list,
            parse_name: parse_name.clone(),
            text: source.clone(),
        };
        defs.insert(tree_name, Arc::new(def));
    }
    if root_missing && !defs.contains_key(name) {
        let def = Def {
            list: List::new(),
            parse_name,
            text: source,
        };
        defs.insert(name.to_owned(), Arc::new(def));
    }
    Ok(())
}

/// The running execution, as a [`Func::with_runtime`](crate::Func::with_runtime) function
/// sees it.
pub struct Runtime<'a> {
    pub(crate) set_name: &'a str,
    pub(crate) defs: &'a Defs,
    pub(crate) funcs: &'a FuncMap,
    pub(crate) builtins: &'a FuncMap,
    pub(crate) missing_key: MissingKey,
    pub(crate) max_output: usize,
}

impl Runtime<'_> {
    /// Go's `ExecuteTemplate` on the running set: a fresh execution of template `name`; the
    /// error is Go's text.
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, String> {
        let Some(def) = self.defs.get(name) else {
            return Err(format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(self.set_name)
            ));
        };
        let mut state = State {
            parse_name: def.parse_name.clone(),
            text: def.text.clone(),
            set_name: self.set_name,
            trees: self.defs,
            funcs: self.funcs,
            builtins: self.builtins,
            missing_key: self.missing_key,
            max_output: self.max_output,
            name: name.to_owned(),
            vars: vec![("$".into(), data.clone())],
            out: String::new(),
            depth: 0,
            at: None,
        };
        match state.walk_list(data, &def.list) {
            Ok(()) | Err(Flow::Break | Flow::Continue) => Ok(state.out),
            Err(Flow::Error(e)) => Err(e),
        }
    }

    /// A copy of the running set with `text` parsed into it as template `name`, executed
    /// with `data` (what Helm's `tpl` does with `Clone`, `New(name).Parse` and `Execute`).
    pub fn parse_and_execute(
        &self,
        name: &str,
        text: &str,
        data: &Value,
    ) -> Result<String, TemplateError> {
        let mut defs = self.defs.clone();
        add_to(&mut defs, self.funcs, self.builtins, name, text)?;
        let runtime = Runtime {
            defs: &defs,
            ..*self
        };
        runtime
            .execute_template(name, data)
            .map_err(TemplateError::Exec)
    }
}
