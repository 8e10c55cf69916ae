//! Execution: text/template's `exec.go` semantics over [`Value`] — pipelines feeding the
//! previous command's result as the last argument, variables scoped to their control
//! structure, `range` over slices, maps (sorted keys) and integers with `break`/`continue`,
//! `with`, `template` calls, typed argument checks, and Go's error messages with their
//! `template: NAME:LINE:COL: executing "NAME" at <NODE>: ...` context.

use std::sync::Arc;

use crate::funcs::{Func, FuncMap, Param, SHORT_CIRCUIT};
use crate::parse::{Command, Control, List, Node, Number, Operand, Pipe};
use crate::set::{Defs, MissingKey, Runtime};
use crate::value::Value;

/// Go's `maxExecDepth` is 100000; Rust recursion gets there only with a large stack, so the
/// limit here is lower.
const MAX_EXEC_DEPTH: usize = 1000;

/// Why a walk stopped early.
pub(crate) enum Flow {
    Break,
    Continue,
    Error(String),
}

impl From<String> for Flow {
    fn from(e: String) -> Self {
        Flow::Error(e)
    }
}

type EResult<T> = Result<T, String>;

pub(crate) struct State<'a> {
    /// Name and text of the source the running template was parsed from.
    pub parse_name: Arc<str>,
    pub text: Arc<str>,
    pub set_name: &'a str,
    pub trees: &'a Defs,
    pub funcs: &'a FuncMap,
    pub builtins: &'a FuncMap,
    pub missing_key: MissingKey,
    /// Bytes of output after which execution stops with an error.
    pub max_output: usize,
    pub name: String,
    pub vars: Vec<(String, Value)>,
    pub out: String,
    pub depth: usize,
    /// Position and `String()` of the node being evaluated, for error context.
    pub at: Option<(usize, String)>,
}

impl State<'_> {
    fn at(&mut self, pos: usize, context: impl ToString) {
        self.at = Some((pos, context.to_string()));
    }

    /// An execution error in Go's format.
    pub(crate) fn error(&self, msg: impl std::fmt::Display) -> String {
        match &self.at {
            None => format!("template: {}: {msg}", self.name),
            Some((pos, context)) => {
                let before = &self.text[..(*pos).min(self.text.len())];
                let line = 1 + before.matches('\n').count();
                let col = match before.rfind('\n') {
                    Some(nl) => pos - (nl + 1),
                    None => *pos,
                };
                format!(
                    "template: {}:{line}:{col}: executing {} at <{context}>: {msg}",
                    self.parse_name,
                    crate::printf::quote(&self.name)
                )
            }
        }
    }

    fn fail<T>(&self, msg: impl std::fmt::Display) -> EResult<T> {
        Err(self.error(msg))
    }

    pub(crate) fn walk_list(&mut self, dot: &Value, list: &List) -> Result<(), Flow> {
        for node in list {
            self.walk(dot, node)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> Result<(), Flow> {
        if self.out.len() > self.max_output {
            return Err(Flow::Error(format!(
                "template: {}: output exceeds {} bytes",
                self.name, self.max_output
            )));
        }
        match node {
            Node::Text(text) => self.out.push_str(text),
            Node::Action(pipe) => {
                let value = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(&value);
                }
            }
            Node::If(control) => self.walk_if_or_with(false, dot, control)?,
            Node::With(control) => self.walk_if_or_with(true, dot, control)?,
            Node::Range(control) => self.walk_range(dot, control)?,
            Node::Template(call) => {
                self.walk_template(dot, call.pos, &call.name, call.pipe.as_ref())?
            }
            Node::Break => return Err(Flow::Break),
            Node::Continue => return Err(Flow::Continue),
        }
        Ok(())
    }

    fn print_value(&mut self, value: &Value) {
        match value {
            Value::Invalid => self.out.push_str("<no value>"),
            Value::Struct(s) if s.pointer_stringer.is_some() => self
                .out
                .push_str(s.pointer_stringer.as_deref().unwrap_or_default()),
            v => self.out.push_str(&v.to_go_string_nil()),
        }
    }

    fn walk_if_or_with(&mut self, is_with: bool, dot: &Value, c: &Control) -> Result<(), Flow> {
        let mark = self.vars.len();
        let result = (|| {
            let value = self.eval_pipeline(dot, &c.pipe)?;
            if value.is_true() {
                let inner_dot = if is_with { &value } else { dot };
                self.walk_list(inner_dot, &c.list)
            } else if let Some(else_list) = &c.else_list {
                self.walk_list(dot, else_list)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        result
    }

    fn walk_range(&mut self, dot: &Value, c: &Control) -> Result<(), Flow> {
        let mark = self.vars.len();
        let result = self.walk_range_inner(dot, c);
        self.vars.truncate(mark);
        result
    }

    fn walk_range_inner(&mut self, dot: &Value, c: &Control) -> Result<(), Flow> {
        let value = self.eval_pipeline(dot, &c.pipe)?;
        let pairs: Vec<(Value, Value)> = match &value {
            Value::Slice(s) => s
                .items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Map(m) => m.entries().to_vec(),
            Value::Int(n) | Value::Int64(n) => {
                if c.pipe.decl.len() > 1 {
                    return Err(self
                        .error(format!(
                            "can't use {} to iterate over more than one variable",
                            value.to_go_string()
                        ))
                        .into());
                }
                let make = |i: i64| {
                    if matches!(value, Value::Int(_)) {
                        Value::Int(i)
                    } else {
                        Value::Int64(i)
                    }
                };
                (0..*n).map(|i| (Value::Invalid, make(i))).collect()
            }
            Value::Invalid | Value::Nil => Vec::new(),
            v => {
                return Err(self
                    .error(format!("range can't iterate over {}", v.to_go_string()))
                    .into());
            }
        };
        if pairs.is_empty() {
            if let Some(else_list) = &c.else_list {
                return self.walk_list(dot, else_list);
            }
            return Ok(());
        }
        let mark = self.vars.len();
        for (index, elem) in pairs {
            self.set_range_vars(&c.pipe, index, elem.clone())?;
            let result = self.walk_list(&elem, &c.list);
            self.vars.truncate(mark);
            match result {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn set_range_vars(&mut self, pipe: &Pipe, index: Value, elem: Value) -> EResult<()> {
        match (pipe.decl.as_slice(), pipe.is_assign) {
            ([v], true) => self.set_var(v, elem)?,
            ([i, v], true) => {
                self.set_var(i, index)?;
                self.set_var(v, elem)?;
            }
            ([_], false) => self.set_top_var(1, elem),
            ([_, _], false) => {
                self.set_top_var(1, elem);
                self.set_top_var(2, index);
            }
            _ => {}
        }
        Ok(())
    }

    fn set_top_var(&mut self, n: usize, value: Value) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = value;
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> EResult<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => self.fail(format!("undefined variable: {name}")),
        }
    }

    fn var_value(&self, name: &str) -> EResult<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.fail(format!("undefined variable: {name}")),
        }
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &str,
        pipe: Option<&Pipe>,
    ) -> Result<(), Flow> {
        let quoted = crate::printf::quote(name);
        let node = match pipe {
            Some(p) => format!("{{{{template {quoted} {p}}}}}"),
            None => format!("{{{{template {quoted}}}}}"),
        };
        self.at(pos, &node);
        let Some(def) = self.trees.get(name).cloned() else {
            return Err(self.error(format!("template {quoted} not defined")).into());
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self
                .error(format!(
                    "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
                ))
                .into());
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Invalid,
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, name.to_owned());
        let saved_source = (
            std::mem::replace(&mut self.parse_name, def.parse_name.clone()),
            std::mem::replace(&mut self.text, def.text.clone()),
        );
        self.depth += 1;
        let result = self.walk_list(&new_dot, &def.list);
        self.depth -= 1;
        (self.parse_name, self.text) = saved_source;
        self.name = saved_name;
        self.vars = saved_vars;
        match result {
            Err(Flow::Error(e)) => Err(Flow::Error(e)),
            _ => Ok(()),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> EResult<Value> {
        self.at(pipe.pos, pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let mut v = self.eval_command(dot, cmd, value.take())?;
            if matches!(v, Value::Nil) {
                // An interface{} result is unwrapped; a nil one becomes the missing value.
                v = Value::Invalid;
            }
            value = Some(v);
        }
        let value = value.unwrap_or(Value::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Operand], final_value: &Option<Value>) -> EResult<()> {
        if args.len() > 1 || final_value.is_some() {
            return self.fail(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &Command,
        final_value: Option<Value>,
    ) -> EResult<Value> {
        let first = &cmd.args[0];
        match first {
            Operand::Field { pos, idents } => {
                self.at(*pos, first);
                return self.eval_field_chain(dot, dot.clone(), idents, &cmd.args, final_value);
            }
            Operand::Chain { node, fields, .. } => {
                return self.eval_chain(dot, first, node, fields, &cmd.args, final_value);
            }
            Operand::Identifier { pos, name } => {
                self.at(*pos, name);
                return self.eval_function(
                    dot,
                    name,
                    cmd.pos,
                    &cmd.to_string(),
                    &cmd.args,
                    final_value,
                );
            }
            Operand::Pipe(pipe) => {
                self.not_a_function(&cmd.args, &final_value)?;
                return self.eval_pipeline(dot, pipe);
            }
            Operand::Variable { pos, idents } => {
                self.at(*pos, first);
                let value = self.var_value(&idents[0])?;
                if idents.len() == 1 {
                    self.not_a_function(&cmd.args, &final_value)?;
                    return Ok(value);
                }
                return self.eval_field_chain(dot, value, &idents[1..], &cmd.args, final_value);
            }
            _ => {}
        }
        self.at(first.pos(), first);
        self.not_a_function(&cmd.args, &final_value)?;
        match first {
            Operand::Bool(_, b) => Ok(Value::Bool(*b)),
            Operand::Dot(_) => Ok(dot.clone()),
            Operand::Nil(_) => self.fail("nil is not a command"),
            Operand::Number(_, n) => self.ideal_constant(n),
            Operand::String { text, .. } => Ok(Value::String(text.to_string())),
            _ => self.fail(format!(
                "can't evaluate command {}",
                crate::printf::quote(&first.to_string())
            )),
        }
    }

    fn ideal_constant(&self, n: &Number) -> EResult<Value> {
        let has_float_syntax = n.text.contains(['.', 'e', 'E', 'p', 'P']);
        match (n.float, n.int) {
            (Some(f), _) if !n.integer_literal && has_float_syntax => Ok(Value::Float(f)),
            (_, Some(i)) => Ok(Value::Int(i)),
            _ => self.fail(format!("{} overflows int", n.text)),
        }
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &Operand,
        node: &Operand,
        fields: &[String],
        args: &[Operand],
        final_value: Option<Value>,
    ) -> EResult<Value> {
        self.at(chain.pos(), chain);
        if matches!(node, Operand::Nil(_)) {
            return self.fail(format!("indirection through explicit nil in {chain}"));
        }
        // Go leaves the error context at the last node the receiver evaluated.
        let receiver = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, receiver, fields, args, final_value)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        idents: &[String],
        args: &[Operand],
        final_value: Option<Value>,
    ) -> EResult<Value> {
        let Some((last, init)) = idents.split_last() else {
            return Ok(receiver);
        };
        // Whether the receiver's static Go type is `interface {}` (an element of a map of
        // interfaces), which is the type Go names in errors.
        let mut iface = false;
        for ident in init {
            if let Some(method) = method_of(&receiver, ident) {
                receiver = self.call_method(dot, &method, ident, &[], None)?;
                iface = false;
                continue;
            }
            (receiver, iface) = self.eval_field(ident, &receiver, false, iface)?;
        }
        if let Some(method) = method_of(&receiver, last) {
            let rest = args.get(1..).unwrap_or_default();
            return self.call_method(dot, &method, last, rest, final_value);
        }
        let has_args = args.len() > 1 || final_value.is_some();
        self.eval_field(last, &receiver, has_args, iface)
            .map(|(v, _)| v)
    }

    /// Calls a method of a named map or slice type with the command's remaining arguments.
    fn call_method(
        &mut self,
        dot: &Value,
        method: &Func,
        name: &str,
        args: &[Operand],
        final_value: Option<Value>,
    ) -> EResult<Value> {
        let (pos, context) = self.at.clone().unwrap_or_default();
        self.eval_call(dot, method, false, (pos, &context), name, args, final_value)
    }

    fn eval_field(
        &self,
        name: &str,
        receiver: &Value,
        has_args: bool,
        iface: bool,
    ) -> EResult<(Value, bool)> {
        let type_name = || {
            if iface {
                "interface {}".to_owned()
            } else {
                receiver.type_name()
            }
        };
        let value = match receiver {
            Value::Invalid => Value::Invalid,
            Value::Nil => {
                return self.fail(format!("nil pointer evaluating interface {{}}.{name}"));
            }
            Value::Struct(s) => {
                if let Some((_, result)) = s.methods.iter().find(|(n, _)| n == name) {
                    if has_args {
                        return self.fail(format!("wrong number of args for {name}: want 0 got 1"));
                    }
                    return Ok((result.clone(), false));
                }
                match s.lookup(name) {
                    Some(_) if has_args => {
                        return self.fail(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    Some(v) => v.clone(),
                    None => {
                        return self.fail(format!(
                            "can't evaluate field {name} in type {}",
                            type_name()
                        ));
                    }
                }
            }
            Value::Map(m) if m.has_string_keys() => {
                if has_args {
                    return self.fail(format!("{name} is not a method but has arguments"));
                }
                let elem_iface = m.type_name.ends_with("]interface {}")
                    || (m.string_keyed && *m.zero == Value::Nil);
                let missing = || match self.missing_key {
                    MissingKey::Invalid => Value::Invalid,
                    MissingKey::Zero => (*m.zero).clone(),
                };
                return Ok((m.get_str(name).unwrap_or_else(missing), elem_iface));
            }
            _ => {
                return self.fail(format!(
                    "can't evaluate field {name} in type {}",
                    type_name()
                ));
            }
        };
        Ok((value, false))
    }

    fn find_function(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name).or_else(|| self.builtins.get(name))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        cmd_pos: usize,
        cmd_text: &str,
        args: &[Operand],
        final_value: Option<Value>,
    ) -> EResult<Value> {
        let Some(func) = self.find_function(name).cloned() else {
            return self.fail(format!(
                "{} is not a defined function",
                crate::printf::quote(name)
            ));
        };
        let is_builtin = !self.funcs.contains_key(name);
        self.eval_call(
            dot,
            &func,
            is_builtin,
            (cmd_pos, cmd_text),
            name,
            &args[1..],
            final_value,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Value,
        func: &Func,
        is_builtin: bool,
        node: (usize, &str),
        name: &str,
        args: &[Operand],
        final_value: Option<Value>,
    ) -> EResult<Value> {
        let num_in = args.len() + usize::from(final_value.is_some());
        let fixed = func.params.len();
        if func.variadic.is_some() {
            if num_in < fixed {
                return self.fail(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                ));
            }
        } else if num_in != fixed {
            return self.fail(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            ));
        }
        let param_at = |i: usize| {
            func.params
                .get(i)
                .copied()
                .or(func.variadic)
                .unwrap_or(Param::Any)
        };
        if is_builtin && SHORT_CIRCUIT.contains(&name) {
            let mut value = Value::Invalid;
            for arg in args {
                value = self.eval_arg(dot, Some(Param::Any), arg)?;
                if value.is_true() == (name == "or") {
                    return Ok(value);
                }
            }
            if let Some(f) = final_value {
                value = self.validate_type(f, Param::Any)?;
            }
            return Ok(value);
        }
        let mut argv = Vec::with_capacity(num_in + 1);
        for (i, arg) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, Some(param_at(i)), arg)?);
        }
        if let Some(f) = final_value {
            argv.push(self.validate_type(f, param_at(args.len()))?);
        }
        if is_builtin && name == "call" {
            let callee = args
                .first()
                .map_or_else(|| argv[0].to_go_string(), ToString::to_string);
            argv.insert(0, Value::String(callee));
        }
        let result = match &func.runtime {
            Some(call) => {
                let runtime = Runtime {
                    set_name: self.set_name,
                    defs: self.trees,
                    funcs: self.funcs,
                    builtins: self.builtins,
                    missing_key: self.missing_key,
                    max_output: self.max_output,
                };
                call(&runtime, &argv)
            }
            None => (func.call)(&argv),
        };
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at = Some((node.0, node.1.to_owned()));
                self.fail(format!("error calling {name}: {e}"))
            }
        }
    }

    /// Go's `validateType`: a computed value against a parameter type.
    fn validate_type(&self, value: Value, param: Param) -> EResult<Value> {
        let ok = match (&value, param) {
            (Value::Invalid, Param::Any) => return Ok(Value::Nil),
            (Value::Invalid, Param::StringMap) => {
                return Ok(Value::Map(crate::value::Map::new(
                    param.go_type(),
                    Value::Nil,
                )));
            }
            (Value::Invalid, _) => {
                return self.fail(format!("invalid value; expected {}", param.go_type()));
            }
            (_, Param::Any) => true,
            (Value::String(_), Param::String)
            | (Value::Int(_), Param::Int)
            | (Value::Float(_), Param::Float) => true,
            (Value::Bool(_), Param::Bool) => true,
            // A named map type over `map[string]interface {}` (Helm's `common.Values`) is
            // assignable to it; such maps are string-keyed with nil elements and no methods.
            (Value::Map(m), Param::StringMap) => {
                m.type_name == param.go_type()
                    || (m.string_keyed && *m.zero == Value::Nil && m.methods.0.is_empty())
            }
            _ => false,
        };
        if !ok {
            return self.fail(format!(
                "wrong type for value; expected {}; got {}",
                param.go_type(),
                value.type_name()
            ));
        }
        Ok(value)
    }

    /// Go's `evalArg`: an operand evaluated for a parameter (`None`: untyped, as for a chain's
    /// receiver).
    fn eval_arg(&mut self, dot: &Value, param: Option<Param>, node: &Operand) -> EResult<Value> {
        self.at(node.pos(), node);
        let computed = match node {
            Operand::Dot(_) => Some(dot.clone()),
            Operand::Nil(_) => {
                return match param {
                    None | Some(Param::Any) => Ok(Value::Nil),
                    Some(Param::StringMap) => Ok(Value::Map(crate::value::Map::new(
                        Param::StringMap.go_type(),
                        Value::Nil,
                    ))),
                    Some(p) => self.fail(format!("cannot assign nil to {}", p.go_type())),
                };
            }
            Operand::Field { idents, .. } => Some(self.eval_field_chain(
                dot,
                dot.clone(),
                idents,
                std::slice::from_ref(node),
                None,
            )?),
            Operand::Variable { idents, .. } => {
                let value = self.var_value(&idents[0])?;
                Some(self.eval_field_chain(
                    dot,
                    value,
                    &idents[1..],
                    std::slice::from_ref(node),
                    None,
                )?)
            }
            Operand::Pipe(pipe) => Some(self.eval_pipeline(dot, pipe)?),
            Operand::Identifier { name, .. } => {
                let text = node.to_string();
                Some(self.eval_function(
                    dot,
                    name,
                    node.pos(),
                    &text,
                    std::slice::from_ref(node),
                    None,
                )?)
            }
            Operand::Chain {
                node: inner,
                fields,
                ..
            } => {
                Some(self.eval_chain(dot, node, inner, fields, std::slice::from_ref(node), None)?)
            }
            _ => None,
        };
        let Some(param) = param else {
            return match computed {
                Some(v) => Ok(v),
                None => self.constant_for_any(node),
            };
        };
        if let Some(value) = computed {
            return self.validate_type(value, param);
        }
        match param {
            Param::Bool => match node {
                Operand::Bool(_, b) => Ok(Value::Bool(*b)),
                n => self.fail(format!("expected bool; found {n}")),
            },
            Param::String => match node {
                Operand::String { text, .. } => Ok(Value::String(text.to_string())),
                n => self.fail(format!("expected string; found {n}")),
            },
            Param::Int => match node {
                Operand::Number(_, n) if let Some(i) = n.int => Ok(Value::Int(i)),
                n => self.fail(format!("expected integer; found {n}")),
            },
            Param::Float => match node {
                Operand::Number(_, n) if let Some(f) = n.float => Ok(Value::Float(f)),
                n => self.fail(format!("expected float; found {n}")),
            },
            Param::Any => self.constant_for_any(node),
            Param::StringMap => self.fail(format!(
                "can't handle {node} for arg of type {}",
                param.go_type()
            )),
        }
    }

    /// Go's `evalEmptyInterface` for literals.
    fn constant_for_any(&self, node: &Operand) -> EResult<Value> {
        match node {
            Operand::Bool(_, b) => Ok(Value::Bool(*b)),
            Operand::Number(_, n) => self.ideal_constant(n),
            Operand::String { text, .. } => Ok(Value::String(text.to_string())),
            n => self.fail(format!(
                "can't handle assignment of {n} to empty interface argument"
            )),
        }
    }
}

/// The method `name` of a named map or slice type.
fn method_of(receiver: &Value, name: &str) -> Option<Func> {
    match receiver {
        Value::Map(m) => m.methods.get(name).cloned(),
        Value::Slice(s) => s.methods.get(name).cloned(),
        _ => None,
    }
}
