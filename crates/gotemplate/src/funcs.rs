//! Template functions: the typed signature a function declares (Go checks and converts
//! arguments against it), the function map, and text/template's builtins (`and`, `or`, `not`,
//! `len`, `index`, `slice`, `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`,
//! `html`, `js`, `urlquery`, `call`). `and` and `or` short-circuit in the executor.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::printf::{sprint, sprintf, sprintln};
use crate::value::{Value, go_equal, is_comparable};

/// A parameter's Go type; arguments are checked against it as text/template does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `interface {}` (or `reflect.Value`): anything; a missing value becomes nil.
    Any,
    /// `string`.
    String,
    /// `int`.
    Int,
    /// `float64`.
    Float,
    /// `bool`.
    Bool,
    /// `map[string]interface {}`.
    StringMap,
}

impl Param {
    /// The Go type name, as errors print it.
    pub fn go_type(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::String => "string",
            Param::Int => "int",
            Param::Float => "float64",
            Param::Bool => "bool",
            Param::StringMap => "map[string]interface {}",
        }
    }
}

/// A function's implementation: receives the checked arguments, returns a value or the error
/// text Go would wrap as `error calling NAME: TEXT`.
pub type FuncImpl = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// A function that runs templates of the set it is called from (Helm's `include` and `tpl`):
/// it receives the [`Runtime`](crate::Runtime) of the running execution.
pub type RuntimeFuncImpl =
    Arc<dyn Fn(&crate::Runtime<'_>, &[Value]) -> Result<Value, String> + Send + Sync>;

/// A template function with its signature.
#[derive(Clone)]
pub struct Func {
    /// Fixed parameters.
    pub params: Vec<Param>,
    /// The element type of a trailing `...` parameter.
    pub variadic: Option<Param>,
    /// The implementation.
    pub call: FuncImpl,
    /// When set, called instead of `call`, with the running execution's template set.
    pub runtime: Option<RuntimeFuncImpl>,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Func")
            .field("params", &self.params)
            .field("variadic", &self.variadic)
            .finish()
    }
}

impl Func {
    /// A function of fixed parameters.
    pub fn new(
        params: &[Param],
        call: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        Func {
            params: params.to_vec(),
            variadic: None,
            call: Arc::new(call),
            runtime: None,
        }
    }

    /// A function of fixed parameters that executes templates of the running set.
    pub fn with_runtime(
        params: &[Param],
        call: impl Fn(&crate::Runtime<'_>, &[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        Func {
            params: params.to_vec(),
            variadic: None,
            call: Arc::new(|_| Err("called without a template runtime".to_owned())),
            runtime: Some(Arc::new(call)),
        }
    }

    /// A function whose last parameter is `...variadic`.
    pub fn variadic(
        params: &[Param],
        variadic: Param,
        call: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        Func {
            params: params.to_vec(),
            variadic: Some(variadic),
            call: Arc::new(call),
            runtime: None,
        }
    }
}

/// Functions by name (a template's `Funcs`, which take precedence over the builtins).
pub type FuncMap = BTreeMap<String, Func>;

/// Names the executor handles itself (`and`/`or` evaluate their arguments lazily).
pub(crate) const SHORT_CIRCUIT: [&str; 2] = ["and", "or"];

/// text/template's builtin functions.
pub fn builtins() -> FuncMap {
    use Param::Any;
    let mut m = FuncMap::new();
    let mut add = |name: &str, f: Func| {
        m.insert(name.to_owned(), f);
    };
    add(
        "and",
        Func::variadic(&[Any], Any, |a| {
            Ok(a.last().cloned().unwrap_or(Value::Invalid))
        }),
    );
    add(
        "or",
        Func::variadic(&[Any], Any, |a| {
            Ok(a.last().cloned().unwrap_or(Value::Invalid))
        }),
    );
    add(
        "not",
        Func::new(&[Any], |a| Ok(Value::Bool(!a[0].is_true()))),
    );
    add(
        "len",
        Func::new(&[Any], |a| length(&a[0]).map(|n| Value::Int(n as i64))),
    );
    add(
        "index",
        Func::variadic(&[Any], Any, |a| index(&a[0], &a[1..])),
    );
    add(
        "slice",
        Func::variadic(&[Any], Any, |a| slice(&a[0], &a[1..])),
    );
    add(
        "print",
        Func::variadic(&[], Any, |a| Ok(Value::String(sprint(a)))),
    );
    add(
        "println",
        Func::variadic(&[], Any, |a| Ok(Value::String(sprintln(a)))),
    );
    add(
        "printf",
        Func::variadic(&[Param::String], Any, |a| {
            let format = match &a[0] {
                Value::String(s) => s.as_str(),
                _ => "",
            };
            Ok(Value::String(sprintf(format, &a[1..])))
        }),
    );
    add(
        "eq",
        Func::variadic(&[Any], Any, |a| eq(&a[0], &a[1..]).map(Value::Bool)),
    );
    add(
        "ne",
        Func::new(&[Any, Any], |a| {
            eq(&a[0], &a[1..2]).map(|b| Value::Bool(!b))
        }),
    );
    add(
        "lt",
        Func::new(&[Any, Any], |a| less(&a[0], &a[1]).map(Value::Bool)),
    );
    add(
        "le",
        Func::new(&[Any, Any], |a| {
            Ok(Value::Bool(less(&a[0], &a[1])? || eq(&a[0], &a[1..2])?))
        }),
    );
    add(
        "gt",
        Func::new(&[Any, Any], |a| {
            Ok(Value::Bool(!(less(&a[0], &a[1])? || eq(&a[0], &a[1..2])?)))
        }),
    );
    add(
        "ge",
        Func::new(&[Any, Any], |a| less(&a[0], &a[1]).map(|b| Value::Bool(!b))),
    );
    add(
        "html",
        Func::variadic(&[], Any, |a| Ok(Value::String(html_escape(&eval_args(a))))),
    );
    add(
        "js",
        Func::variadic(&[], Any, |a| Ok(Value::String(js_escape(&eval_args(a))))),
    );
    add(
        "urlquery",
        Func::variadic(&[], Any, |a| Ok(Value::String(query_escape(&eval_args(a))))),
    );
    add(
        "call",
        Func::variadic(&[Any], Any, |a| {
            let name = match &a[0] {
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            Err(match &a[1] {
                Value::Nil | Value::Invalid => "call of nil".to_owned(),
                v => format!("non-function {name} of type {}", v.type_name()),
            })
        }),
    );
    m
}

/// `html`, `js` and `urlquery` take one string as is, or print their arguments with Sprint.
fn eval_args(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.clone(),
        _ => sprint(args),
    }
}

fn length(v: &Value) -> Result<usize, String> {
    match v {
        Value::String(s) => Ok(s.len()),
        Value::Slice(s) => Ok(s.items.len()),
        Value::Map(m) => Ok(m.len()),
        Value::Nil | Value::Invalid => Err("len of nil pointer".into()),
        v => Err(format!("len of type {}", v.type_name())),
    }
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil | Value::Invalid => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Nil | Value::Invalid) {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for index in indexes {
        item = match &item {
            Value::Slice(s) => {
                let x = index_arg(index, s.items.len())?;
                s.items
                    .get(x)
                    .cloned()
                    .ok_or_else(|| "reflect: slice index out of range".to_owned())?
            }
            Value::String(s) => {
                let x = index_arg(index, s.len())?;
                let byte = s
                    .as_bytes()
                    .get(x)
                    .ok_or("reflect: string index out of range")?;
                Value::Int(i64::from(*byte))
            }
            Value::Map(m) => {
                if matches!(index, Value::Nil | Value::Invalid)
                    && !m.type_name.contains("interface {}]")
                {
                    return Err(format!(
                        "value is nil; should be of type {}",
                        map_key_type(&m.type_name)
                    ));
                }
                m.get(index).unwrap_or_else(|| (*m.zero).clone())
            }
            Value::Nil | Value::Invalid => return Err("index of nil pointer".into()),
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

fn map_key_type(type_name: &str) -> &str {
    type_name
        .strip_prefix("map[")
        .and_then(|t| t.split(']').next())
        .unwrap_or(type_name)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Nil | Value::Invalid) {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let cap = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::Slice(s) => s.items.len(),
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    let mut idx = [0, cap, cap];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, cap)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        // Go slices bytes; a cut inside a character prints as U+FFFD, as Go's invalid UTF-8 does.
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::Slice(s) => Value::slice(s.type_name.clone(), s.items[idx[0]..idx[1]].to_vec()),
        _ => Value::Invalid,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

fn valid(v: &Value) -> bool {
    !matches!(v, Value::Nil | Value::Invalid)
}

/// `eq arg1 arg2...`: true when arg1 equals any of the others.
fn eq(arg1: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(arg1);
    for arg in others {
        let k2 = basic_kind(arg);
        let truth = if k1 != k2 {
            if valid(arg1) && valid(arg) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    arg1.type_name(),
                    arg.type_name()
                ));
            }
            false
        } else if k1 == Kind::Other {
            if !valid(arg1) || !valid(arg) {
                valid(arg1) == valid(arg)
            } else if arg1.type_name() != arg.type_name() {
                return Err(format!(
                    "non-comparable types {}: {}, {}: {}",
                    sprintf("%s", std::slice::from_ref(arg1)),
                    arg1.type_name(),
                    arg.type_name(),
                    arg.to_go_string()
                ));
            } else if !is_comparable(arg) {
                return Err(format!(
                    "non-comparable type {}: {}",
                    sprintf("%s", std::slice::from_ref(arg)),
                    arg.type_name()
                ));
            } else {
                go_equal(arg1, arg)
            }
        } else {
            go_equal(arg1, arg)
                || matches!((arg1, arg), (Value::Float(a), Value::Float(b)) if a == b)
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn less(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 == Kind::Other || k2 == Kind::Other {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => match (a.as_int(), b.as_int()) {
            (Some(x), Some(y)) => x < y,
            _ => return Err("invalid type for comparison".into()),
        },
    })
}

/// `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
