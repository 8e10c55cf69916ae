//! The data a template runs over: a model of the Go values text/template reflects on —
//! scalars, slices, maps (keys in Go's `fmtsort` order), structs (named fields, embedded fields
//! whose fields are promoted, zero-argument methods, an optional `String()` result) — with Go's
//! truth, comparison, key ordering and `%v` printing.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::funcs::Func;

/// How deeply printing or encoding may descend into nested maps: a map can hold itself
/// (`set $m "self" $m`), which Go follows until its stack overflows.
pub const MAX_NESTING: usize = 1000;

thread_local! {
    static NESTING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of descent into a map; `None` past [`MAX_NESTING`].
pub struct Nesting(());

impl Nesting {
    /// Enters one more level, unless the limit is reached.
    pub fn enter() -> Option<Nesting> {
        NESTING.with(|n| {
            if n.get() >= MAX_NESTING {
                return None;
            }
            n.set(n.get() + 1);
            Some(Nesting(()))
        })
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        NESTING.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// A Go value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// The invalid value (a missing map key, an unset variable): prints `<no value>`.
    Invalid,
    /// A nil interface (`<nil>`).
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int`.
    Int(i64),
    /// `int64` (what sprig's arithmetic returns; Go does not assign it to an `int` parameter).
    Int64(i64),
    /// `float64`.
    Float(f64),
    /// `string`.
    String(String),
    /// A slice; `nil` is an empty slice that prints `[]`.
    Slice(Slice),
    /// A map.
    Map(Map),
    /// A struct.
    Struct(Struct),
}

/// A Go slice with its type name (e.g. `[]string`, `[]update.Change`).
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// The Go type, used in error messages.
    pub type_name: String,
    /// The elements.
    pub items: Vec<Value>,
    /// Methods of the named slice type (e.g. Helm's `VersionSet.Has`).
    pub methods: Methods,
}

/// A Go map: entries kept in Go's `fmtsort` key order (the order `range` and `%v` use).
///
/// A Go map is a reference: clones share their entries, so cloning is cheap and what a
/// template changes in place (sprig's `set`, `unset`, `merge`) shows through every copy, as in
/// Go. [`Map::insert`] and [`Map::remove_str`], which build values, copy on write instead.
#[derive(Debug, Clone)]
pub struct Map {
    /// The Go type, e.g. `map[string]string` or `update.ObjectChanges`.
    pub type_name: String,
    entries: Arc<RwLock<Vec<(Value, Value)>>>,
    /// The element type's zero value, which `index` returns for a missing key.
    pub zero: Box<Value>,
    /// Methods of the named map type (e.g. Helm's `Files.Get`); they shadow keys, as in Go.
    pub methods: Methods,
    /// Whether a named map type (e.g. Helm's `common.Values`) has string keys.
    pub string_keyed: bool,
}

/// Methods a named Go type declares, called with arguments like functions. Two method sets
/// compare equal when they name the same methods (functions have no equality).
#[derive(Debug, Clone, Default)]
pub struct Methods(pub Vec<(String, Func)>);

impl Methods {
    /// The method called `name`.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// Adds a method.
    pub fn add(&mut self, name: impl Into<String>, func: Func) {
        self.0.push((name.into(), func));
    }
}

impl PartialEq for Methods {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| a.0 == b.0)
    }
}

/// A Go struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// The Go type, e.g. `update.Change`.
    pub type_name: String,
    /// Fields in declaration order.
    pub fields: Vec<Field>,
    /// Zero-argument methods with their results (e.g. `Result.Changes`), not printed by `%v`.
    pub methods: Vec<(String, Value)>,
    /// The `String()` result when the type is a `fmt.Stringer` (fmt prints it instead).
    pub stringer: Option<String>,
    /// The `String()` result of a pointer-receiver method: a template prints it for an
    /// addressable value (a field reached through a pointer), while a copy passed to a
    /// function prints its fields.
    pub pointer_stringer: Option<String>,
}

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field name (the type name for an embedded field).
    pub name: String,
    /// The value.
    pub value: Value,
    /// Whether the field is embedded, so its fields and methods are promoted.
    pub embedded: bool,
}

impl Value {
    /// A `string`.
    pub fn str(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// A slice of `type_name` (e.g. `[]string`).
    pub fn slice(type_name: impl Into<String>, items: Vec<Value>) -> Self {
        Value::Slice(Slice {
            type_name: type_name.into(),
            items,
            methods: Methods::default(),
        })
    }

    /// A `[]interface {}`.
    pub fn list(items: Vec<Value>) -> Self {
        Value::slice("[]interface {}", items)
    }

    /// The Go type name, as errors print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Invalid => "<invalid reflect.Value>".into(),
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Slice(s) => s.type_name.clone(),
            Value::Map(m) => m.type_name.clone(),
            Value::Struct(s) => s.type_name.clone(),
        }
    }

    /// Go's reflect kind name (`int`, `slice`, `map`, `struct`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Invalid => "invalid",
            Value::Nil => "interface",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Slice(_) => "slice",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
        }
    }

    /// text/template's truth: false for zero values, empty collections, nil and invalid.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Slice(s) => !s.items.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Struct(_) => true,
        }
    }

    /// The integer inside an `int` or `int64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// Go's `%v` rendering (`fmt.Sprint` of one operand).
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, true);
        out
    }

    /// Writes the `%v` form; `top` distinguishes `<nil>` at the top from nested nils.
    pub(crate) fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Value::Invalid => out.push_str(if top {
                "<invalid reflect.Value>"
            } else {
                "<nil>"
            }),
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&crate::printf::format_float_g(*f, None)),
            Value::String(s) => out.push_str(s),
            Value::Slice(s) => write_joined(out, "[", s.items.iter(), "]"),
            Value::Map(m) => {
                let Some(_level) = Nesting::enter() else {
                    out.push_str("map[...]");
                    return;
                };
                out.push_str("map[");
                for (i, (k, v)) in m.entries().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    k.write_go(out, false);
                    out.push(':');
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Struct(s) => match &s.stringer {
                Some(text) => out.push_str(text),
                None => write_joined(out, "{", s.fields.iter().map(|f| &f.value), "}"),
            },
        }
    }
}

fn write_joined<'a>(
    out: &mut String,
    open: &str,
    items: impl Iterator<Item = &'a Value>,
    close: &str,
) {
    out.push_str(open);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        item.write_go(out, false);
    }
    out.push_str(close);
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}

impl From<Struct> for Value {
    fn from(s: Struct) -> Self {
        Value::Struct(s)
    }
}

impl Map {
    /// An empty map of `type_name` whose missing keys index to `zero`.
    pub fn new(type_name: impl Into<String>, zero: Value) -> Self {
        Map {
            type_name: type_name.into(),
            entries: Arc::new(RwLock::new(Vec::new())),
            zero: Box::new(zero),
            methods: Methods::default(),
            string_keyed: false,
        }
    }

    /// A `map[string]string` (the type of `messageTemplateValues`).
    pub fn string_to_string<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut map = Map::new("map[string]string", Value::str(""));
        for (k, v) in pairs {
            map.insert(Value::String(k.into()), Value::String(v.into()));
        }
        map
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<(Value, Value)>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_shared(&self, change: impl FnOnce(&mut Vec<(Value, Value)>)) {
        let mut guard = self.entries.write().unwrap_or_else(|e| e.into_inner());
        change(&mut guard);
    }

    /// Makes this map's entries its own (copy on write) when a clone shares them.
    fn unshare(&mut self) {
        if Arc::strong_count(&self.entries) > 1 {
            let copy = self.read().clone();
            self.entries = Arc::new(RwLock::new(copy));
        }
    }

    /// Inserts or replaces `key`, keeping Go's key order; clones are not affected.
    pub fn insert(&mut self, key: Value, value: Value) {
        self.unshare();
        self.insert_shared(key, value);
    }

    /// Inserts or replaces `key` in place, visible through every clone (Go's `m[k] = v`).
    pub fn insert_shared(&self, key: Value, value: Value) {
        self.write_shared(|entries| {
            match entries.binary_search_by(|(k, _)| compare_keys(k, &key)) {
                Ok(i) => entries[i].1 = value,
                Err(i) => entries.insert(i, (key, value)),
            }
        });
    }

    /// Removes `key`, returning its value; clones are not affected.
    pub fn remove_str(&mut self, key: &str) -> Option<Value> {
        self.unshare();
        self.remove_str_shared(key)
    }

    /// Removes `key` in place, visible through every clone (Go's `delete(m, k)`).
    pub fn remove_str_shared(&self, key: &str) -> Option<Value> {
        let mut removed = None;
        self.write_shared(|entries| {
            if let Some(i) = entries
                .iter()
                .position(|(k, _)| matches!(k, Value::String(s) if s == key))
            {
                removed = Some(entries.remove(i).1);
            }
        });
        removed
    }

    /// Whether `other` is the same Go map (not merely equal).
    pub fn same_map(&self, other: &Map) -> bool {
        Arc::ptr_eq(&self.entries, &other.entries)
    }

    /// The value at `key`.
    pub fn get(&self, key: &Value) -> Option<Value> {
        self.read()
            .iter()
            .find(|(k, _)| go_equal(k, key))
            .map(|(_, v)| v.clone())
    }

    /// The value at a string key.
    pub fn get_str(&self, key: &str) -> Option<Value> {
        self.read()
            .iter()
            .find(|(k, _)| matches!(k, Value::String(s) if s == key))
            .map(|(_, v)| v.clone())
    }

    /// Whether a string key is present.
    pub fn contains_str(&self, key: &str) -> bool {
        self.read()
            .iter()
            .any(|(k, _)| matches!(k, Value::String(s) if s == key))
    }

    /// The entries in key order (a snapshot: later changes do not show in it).
    pub fn entries(&self) -> Vec<(Value, Value)> {
        self.read().clone()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Whether the keys are strings (so `.key` field syntax can reach them).
    pub(crate) fn has_string_keys(&self) -> bool {
        self.string_keyed
            || self.type_name.starts_with("map[string]")
            || self
                .read()
                .first()
                .is_some_and(|(k, _)| matches!(k, Value::String(_)))
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.type_name == other.type_name
            && (self.same_map(other) || *self.read() == *other.read())
            && self.zero == other.zero
            && self.methods == other.methods
            && self.string_keyed == other.string_keyed
    }
}

impl Struct {
    /// An empty struct of `type_name`.
    pub fn new(type_name: impl Into<String>) -> Self {
        Struct {
            type_name: type_name.into(),
            fields: Vec::new(),
            methods: Vec::new(),
            stringer: None,
            pointer_stringer: None,
        }
    }

    /// Adds a named field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
            embedded: false,
        });
        self
    }

    /// Adds an embedded struct, whose fields and methods are promoted.
    pub fn embed(mut self, inner: Struct) -> Self {
        let name = inner
            .type_name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        self.fields.push(Field {
            name,
            value: Value::Struct(inner),
            embedded: true,
        });
        self
    }

    /// Adds a zero-argument method with its result.
    pub fn method(mut self, name: impl Into<String>, result: impl Into<Value>) -> Self {
        self.methods.push((name.into(), result.into()));
        self
    }

    /// Makes the type a `fmt.Stringer` printing `text` (fmt prints it; `.String` calls it).
    pub fn stringer(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        self.methods
            .push(("String".to_owned(), Value::String(text.clone())));
        self.stringer = Some(text);
        self
    }

    /// Gives the type a pointer-receiver `String()` returning `text` (see
    /// [`Struct::pointer_stringer`]).
    pub fn pointer_stringer(mut self, text: impl Into<String>) -> Self {
        self.pointer_stringer = Some(text.into());
        self
    }

    /// A field or method by name, looking through embedded structs as Go promotes them
    /// (shallowest depth first).
    pub fn lookup(&self, name: &str) -> Option<&Value> {
        let direct = self
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value);
        let method = || self.methods.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        direct.or_else(method).or_else(|| {
            self.fields
                .iter()
                .filter(|f| f.embedded)
                .find_map(|f| match &f.value {
                    Value::Struct(inner) => inner.lookup(name),
                    _ => None,
                })
        })
    }
}

/// Rank of a value's kind when keys of different kinds share an interface-keyed map.
fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Invalid | Value::Nil => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Int64(_) => 2,
        Value::Float(_) => 3,
        Value::String(_) => 4,
        Value::Slice(_) => 5,
        Value::Map(_) => 6,
        Value::Struct(_) => 7,
    }
}

/// Go's `internal/fmtsort` key comparison: numbers numerically (NaN first), strings by bytes,
/// false before true, structs field by field.
pub fn compare_keys(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        },
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Struct(x), Value::Struct(y)) => x
            .fields
            .iter()
            .zip(&y.fields)
            .map(|(f, g)| compare_keys(&f.value, &g.value))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
        _ => kind_rank(a).cmp(&kind_rank(b)),
    }
}

/// Go's `==` on comparable values (integers of either int type compare by value).
pub fn go_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
        (Value::Struct(x), Value::Struct(y)) => {
            x.type_name == y.type_name
                && x.fields.len() == y.fields.len()
                && x.fields
                    .iter()
                    .zip(&y.fields)
                    .all(|(f, g)| go_equal(&f.value, &g.value))
        }
        _ => a == b,
    }
}

/// Whether Go can compare the value with `==` (slices and maps cannot, nor structs holding them).
pub fn is_comparable(v: &Value) -> bool {
    match v {
        Value::Slice(_) | Value::Map(_) => false,
        Value::Struct(s) => s.fields.iter().all(|f| is_comparable(&f.value)),
        _ => true,
    }
}
