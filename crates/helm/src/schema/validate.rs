//! Validation of a values tree against a compiled schema, keyword by keyword in the order
//! santhosh-tekuri/jsonschema v6 checks them, building the same error tree (groups, `$ref`
//! wrappers, `allOf`/`anyOf`/`oneOf` causes) so that it prints the same.
//!
//! Go iterates a map in random order, so where the library walks the instance's properties
//! (or the schema's `dependencies`, `patternProperties`), the order of sibling errors in
//! Helm's message varies from run to run; here it is the sorted order.
//!
//! Bounded: a `$ref` cycle on the same value is an error (as there), and the number of
//! subschema evaluations is capped, so a schema that makes the evaluation exponential fails
//! instead of hanging.

use serde_json::Value as Json;

use super::compile::{Additional, Compiled, Dependency, Items, Node, TYPE_NAMES, escape};
use super::json::Doc;
use super::number::{Dec, print_float, print_int};

/// Subschema evaluations allowed for one chart's values.
pub(crate) const MAX_STEPS: usize = 2_000_000;

/// Nested evaluations allowed (a value nested this deep, or a chain of references this
/// long, is refused rather than risking the stack).
pub(crate) const MAX_DEPTH: usize = 10_000;

/// Emulated location arrays kept at most (past this, locations are exact copies).
const MAX_ARRAYS: usize = 100_000;

/// What failed.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Schema,
    Group,
    Not,
    AllOf,
    AnyOf,
    OneOf(Option<(usize, usize)>),
    FalseSchema,
    RefCycle {
        url: String,
        kw1: String,
        kw2: String,
    },
    Type {
        got: &'static str,
        want: Vec<&'static str>,
    },
    Enum(Vec<Doc>),
    Const(Doc),
    Format {
        got: String,
        want: &'static str,
        err: String,
    },
    Reference,
    MinProperties(usize, usize),
    MaxProperties(usize, usize),
    MinItems(usize, usize),
    MaxItems(usize, usize),
    AdditionalItems(usize),
    Required(Vec<String>),
    Dependency {
        prop: String,
        missing: Vec<String>,
    },
    AdditionalProperties(Vec<String>),
    PropertyNames(String),
    UniqueItems(usize, usize),
    Contains,
    MinContains {
        got: Vec<usize>,
        want: usize,
    },
    MaxContains {
        got: Vec<usize>,
        want: usize,
    },
    MinLength(usize, usize),
    MaxLength(usize, usize),
    Pattern {
        got: String,
        want: String,
    },
    Minimum(f64, f64),
    Maximum(f64, f64),
    ExclusiveMinimum(f64, f64),
    ExclusiveMaximum(f64, f64),
    MultipleOf(f64, f64),
}

/// A validation error with its causes.
#[derive(Debug, Clone)]
pub(crate) struct VErr {
    pub inst: Vec<String>,
    pub kind: Box<Kind>,
    pub causes: Vec<VErr>,
    /// For `propertyNames`: the library keeps the validator's location slice itself, not a
    /// copy, so what it prints is what that slice's backing array holds once validation is
    /// over (later siblings overwrite it). The array and length, resolved at the end.
    alias: Option<(usize, usize)>,
}

/// Go's `quote` of the library: `%q` with single quotes.
pub(crate) fn quote(s: &str) -> String {
    let q = tether_gotemplate::quote(s);
    let inner = q[1..q.len() - 1].replace("\\\"", "\"").replace('\'', "\\'");
    format!("'{inner}'")
}

fn join_quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| quote(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The library's `display` of a schema value (`%v`; strings quoted).
fn display(d: &Doc) -> String {
    match d {
        Doc::Null => "<nil>".into(),
        Doc::Bool(b) => b.to_string(),
        Doc::Num(n) => n.clone(),
        Doc::Str(s) => quote(s),
        Doc::Arr(_) | Doc::Obj(_) => "value".into(),
    }
}

/// `%v` of an instance value as Go holds it (float64 from YAML, int64 from `--set`).
fn go_number_text(n: &serde_json::Number) -> String {
    if n.is_f64() {
        tether_gotemplate::format_float_g(n.as_f64().unwrap_or(0.0), None)
    } else {
        n.to_string()
    }
}

fn display_value(v: &Json) -> String {
    match v {
        Json::Null => "<nil>".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => go_number_text(n),
        Json::String(s) => quote(s),
        Json::Array(_) | Json::Object(_) => "value".into(),
    }
}

impl Kind {
    fn message(&self) -> String {
        match self {
            Kind::Schema => {
                "jsonschema validation failed with 'file:///values.schema.json#'".into()
            }
            Kind::Group | Kind::Reference => "validation failed".into(),
            Kind::Not => "'not' failed".into(),
            Kind::AllOf => "'allOf' failed".into(),
            Kind::AnyOf => "'anyOf' failed".into(),
            Kind::OneOf(None) => "'oneOf' failed, none matched".into(),
            Kind::OneOf(Some((a, b))) => format!(
                "'oneOf' failed, subschemas {}, {} matched",
                print_int(*a as i64),
                print_int(*b as i64)
            ),
            Kind::FalseSchema => "false schema".into(),
            Kind::RefCycle { url, kw1, kw2 } => format!(
                "both {kw1} and {kw2} resolve to {} causing reference cycle",
                tether_gotemplate::quote(url)
            ),
            Kind::Type { got, want } => format!("got {got}, want {}", want.join(" or ")),
            Kind::Enum(want) => {
                if want.iter().any(|w| matches!(w, Doc::Arr(_) | Doc::Obj(_))) {
                    "'enum' failed".into()
                } else if want.len() == 1 {
                    format!("value must be {}", display(&want[0]))
                } else {
                    let list: Vec<String> = want.iter().map(display).collect();
                    format!("value must be one of {}", list.join(", "))
                }
            }
            Kind::Const(want) => match want {
                Doc::Arr(_) | Doc::Obj(_) => "'const' failed".into(),
                w => format!("value must be {}", display(w)),
            },
            Kind::Format { got, want, err } => format!("{got} is not valid {want}: {err}"),
            Kind::MinProperties(g, w) => format!(
                "minProperties: got {}, want {}",
                print_int(*g as i64),
                print_int(*w as i64)
            ),
            Kind::MaxProperties(g, w) => format!(
                "maxProperties: got {}, want {}",
                print_int(*g as i64),
                print_int(*w as i64)
            ),
            Kind::MinItems(g, w) => format!(
                "minItems: got {}, want {}",
                print_int(*g as i64),
                print_int(*w as i64)
            ),
            Kind::MaxItems(g, w) => format!(
                "maxItems: got {}, want {}",
                print_int(*g as i64),
                print_int(*w as i64)
            ),
            Kind::AdditionalItems(n) => format!(
                "last {} additionalItem(s) not allowed",
                print_int(*n as i64)
            ),
            Kind::Required(missing) => {
                if missing.len() == 1 {
                    format!("missing property {}", quote(&missing[0]))
                } else {
                    format!("missing properties {}", join_quoted(missing))
                }
            }
            Kind::Dependency { prop, missing } => format!(
                "properties {} required, if {} exists",
                join_quoted(missing),
                quote(prop)
            ),
            Kind::AdditionalProperties(props) => {
                format!("additional properties {} not allowed", join_quoted(props))
            }
            Kind::PropertyNames(p) => format!("invalid propertyName {}", quote(p)),
            Kind::UniqueItems(a, b) => format!(
                "items at {} and {} are equal",
                print_int(*a as i64),
                print_int(*b as i64)
            ),
            Kind::Contains => "no items match contains schema".into(),
            Kind::MinContains { got, want } => {
                if got.is_empty() {
                    format!(
                        "min {} items required to match contains schema, but none matched",
                        print_int(*want as i64)
                    )
                } else {
                    let at: Vec<String> = got.iter().map(ToString::to_string).collect();
                    format!(
                        "min {} items required to match contains schema, but matched {} items at {}",
                        print_int(*want as i64),
                        print_int(got.len() as i64),
                        at.join(" ")
                    )
                }
            }
            Kind::MaxContains { got, want } => {
                let at: Vec<String> = got.iter().map(ToString::to_string).collect();
                format!(
                    "max {} items required to match contains schema, but matched {} items at {}",
                    print_int(*want as i64),
                    print_int(got.len() as i64),
                    at.join(" ")
                )
            }
            Kind::MinLength(g, w) => format!(
                "minLength: got {}, want {}",
                print_int(*g as i64),
                print_int(*w as i64)
            ),
            Kind::MaxLength(g, w) => format!(
                "maxLength: got {}, want {}",
                print_int(*g as i64),
                print_int(*w as i64)
            ),
            Kind::Pattern { got, want } => {
                format!("{} does not match pattern {}", quote(got), quote(want))
            }
            Kind::Minimum(g, w) => {
                format!("minimum: got {}, want {}", print_float(*g), print_float(*w))
            }
            Kind::Maximum(g, w) => {
                format!("maximum: got {}, want {}", print_float(*g), print_float(*w))
            }
            Kind::ExclusiveMinimum(g, w) => format!(
                "exclusiveMinimum: got {}, want {}",
                print_float(*g),
                print_float(*w)
            ),
            Kind::ExclusiveMaximum(g, w) => format!(
                "exclusiveMaximum: got {}, want {}",
                print_float(*g),
                print_float(*w)
            ),
            Kind::MultipleOf(g, w) => format!(
                "multipleOf: got {}, want {}",
                print_float(*g),
                print_float(*w)
            ),
        }
    }
}

impl VErr {
    fn skip(&self) -> bool {
        self.causes.len() == 1 && matches!(*self.kind, Kind::Reference)
    }

    /// The library's `display`.
    pub(crate) fn display(&self, out: &mut String, indent: usize) {
        let mut indent = indent;
        if !self.skip() {
            if indent > 0 {
                out.push('\n');
                for _ in 0..indent - 1 {
                    out.push_str("  ");
                }
                out.push_str("- ");
            }
            indent += 1;
            if matches!(*self.kind, Kind::Schema) {
                out.push_str(&self.kind.message());
            } else {
                let ptr: String = self
                    .inst
                    .iter()
                    .map(|t| format!("/{}", escape(t)))
                    .collect();
                out.push_str(&format!("at {}: {}", quote(&ptr), self.kind.message()));
            }
        }
        for c in &self.causes {
            c.display(out, indent);
        }
    }
}

/// A link of the evaluation path: which node runs on which value.
struct Scope<'s> {
    node: usize,
    ref_kw: &'static str,
    vid: usize,
    parent: Option<&'s Scope<'s>>,
}

impl Scope<'_> {
    fn kw_loc(&self, nodes: &[Node]) -> String {
        let mut loc = String::new();
        let mut sc = self;
        while let Some(parent) = sc.parent {
            if !sc.ref_kw.is_empty() {
                loc = format!("/{}{loc}", escape(sc.ref_kw));
            } else {
                let cur = &nodes[sc.node].loc;
                let p = &nodes[parent.node].loc;
                loc = format!("{}{loc}", cur.get(p.len()..).unwrap_or(""));
            }
            sc = parent;
        }
        loc
    }
}

/// What the current schema has not evaluated yet (for `unevaluatedProperties`/`Items`);
/// empty when nobody asks.
#[derive(Debug, Default)]
struct Uneval {
    props: std::collections::BTreeSet<String>,
    items: std::collections::BTreeSet<usize>,
}

impl Uneval {
    fn is_empty(&self) -> bool {
        self.props.is_empty() && self.items.is_empty()
    }

    /// Keeps what the other also left unevaluated.
    fn merge(&mut self, other: &Uneval) {
        self.props.retain(|p| other.props.contains(p));
        self.items.retain(|i| other.items.contains(i));
    }
}

/// Validates values against schemas.
pub(crate) struct Validator<'c> {
    c: &'c Compiled,
    steps: usize,
    /// The unevaluated sets of the schemas being evaluated, innermost last.
    frames: Vec<Uneval>,
    /// Go's backing arrays of the instance-location slices, and the current slice.
    arrays: Vec<Vec<String>>,
    cur: (usize, usize),
    /// Set when the step budget ran out.
    pub exhausted: bool,
    /// Set when the evaluation nested deeper than [`MAX_DEPTH`].
    pub too_deep: bool,
}

fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn number_of(v: &Json) -> Option<Dec> {
    match v {
        Json::Number(n) => Dec::parse(&go_number_text(n)),
        _ => None,
    }
}

/// The library's `equals` of an instance value and a schema value.
fn equals_doc(v: &Json, d: &Doc) -> bool {
    match (v, d) {
        (Json::Null, Doc::Null) => true,
        (Json::Bool(a), Doc::Bool(b)) => a == b,
        (Json::String(a), Doc::Str(b)) => a == b,
        (Json::Number(_), Doc::Num(b)) => match (number_of(v), Dec::parse(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Json::Array(a), Doc::Arr(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equals_doc(x, y))
        }
        (Json::Object(a), Doc::Obj(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| equals_doc(x, y)))
        }
        _ => false,
    }
}

/// `equals` of two instance values.
fn equals(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(_), Json::Number(_)) => number_of(a) == number_of(b),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equals(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| equals(p, q)))
        }
        _ => a == b,
    }
}

/// Sorted keys of an object (Go's map order is random; this one is fixed).
fn keys(obj: &serde_json::Map<String, Json>) -> Vec<&String> {
    let mut k: Vec<&String> = obj.keys().collect();
    k.sort();
    k
}

impl<'c> Validator<'c> {
    pub(crate) fn new(c: &'c Compiled) -> Self {
        Validator {
            c,
            steps: 0,
            frames: Vec::new(),
            arrays: vec![vec![String::new(); 8]],
            cur: (0, 0),
            exhausted: false,
            too_deep: false,
        }
    }

    /// Validates `v` against the root schema: the library's `Schema.Validate`.
    pub(crate) fn validate_root(&mut self, v: &Json) -> Option<VErr> {
        let scope = Scope {
            node: 0,
            ref_kw: "",
            vid: 0,
            parent: None,
        };
        let mut vloc = Vec::new();
        let ue = self.uneval_from(0, v, false);
        let err = self.validate(0, v, &mut vloc, &scope, false, ue).err()?;
        let causes = if matches!(*err.kind, Kind::Group) {
            err.causes
        } else {
            vec![err]
        };
        let mut top = VErr {
            inst: Vec::new(),
            kind: Box::new(Kind::Schema),
            causes,
            alias: None,
        };
        self.resolve_aliases(&mut top);
        Some(top)
    }

    fn resolve_aliases(&self, err: &mut VErr) {
        if let Some((array, len)) = err.alias
            && let Some(items) = self.arrays.get(array)
        {
            err.inst = items[..len.min(items.len())].to_vec();
        }
        for c in &mut err.causes {
            self.resolve_aliases(c);
        }
    }

    /// Go's `append(vloc, tok)` on the emulated backing arrays: in place while the array has
    /// room, else into a new array of twice the capacity.
    fn go_append(&mut self, (array, len): (usize, usize), tok: &str) -> (usize, usize) {
        if self.arrays.len() > MAX_ARRAYS {
            return (usize::MAX, 0);
        }
        match self.arrays.get_mut(array) {
            Some(items) if len < items.len() => {
                items[len] = tok.to_owned();
                (array, len + 1)
            }
            Some(items) => {
                let cap = (items.len() * 2).max(len + 1);
                let mut fresh = items[..len].to_vec();
                fresh.push(tok.to_owned());
                fresh.resize(cap, String::new());
                self.arrays.push(fresh);
                (self.arrays.len() - 1, len + 1)
            }
            None => (usize::MAX, 0),
        }
    }

    fn error(vloc: &[String], kind: Kind) -> VErr {
        VErr {
            inst: vloc.to_vec(),
            alias: None,
            kind: Box::new(kind),
            causes: Vec::new(),
        }
    }

    fn with_causes(vloc: &[String], kind: Kind, causes: Vec<VErr>) -> VErr {
        VErr {
            inst: vloc.to_vec(),
            kind: Box::new(kind),
            causes,
            alias: None,
        }
    }

    /// The library's `unevalFrom`.
    fn uneval_from(&self, node: usize, v: &Json, caller_needs: bool) -> Uneval {
        let n = &self.c.nodes[node];
        let mut ue = Uneval::default();
        match v {
            Json::Object(obj)
                if !n.all_props_evaluated
                    && (caller_needs || n.unevaluated_properties.is_some()) =>
            {
                ue.props = obj.keys().cloned().collect();
            }
            Json::Array(arr)
                if !n.all_items_evaluated
                    && (caller_needs || n.unevaluated_items.is_some())
                    && n.num_items_evaluated < arr.len() =>
            {
                ue.items = (n.num_items_evaluated..arr.len()).collect();
            }
            _ => {}
        }
        ue
    }

    fn top(&mut self) -> &mut Uneval {
        if self.frames.is_empty() {
            self.frames.push(Uneval::default());
        }
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    /// Runs `node` on `v` with its unevaluated set `ue`; returns what it left unevaluated.
    fn validate(
        &mut self,
        node: usize,
        v: &Json,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
        ue: Uneval,
    ) -> Result<Uneval, VErr> {
        if self.frames.len() >= MAX_DEPTH {
            self.too_deep = true;
            self.exhausted = true;
            return Ok(ue);
        }
        self.frames.push(ue);
        let r = self.validate_inner(node, v, vloc, scope, bool_result);
        let ue = self.frames.pop().unwrap_or_default();
        r.map(|()| ue)
    }

    fn validate_inner(
        &mut self,
        node: usize,
        v: &Json,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
    ) -> Result<(), VErr> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.exhausted = true;
        }
        if self.exhausted {
            return Ok(());
        }
        let c = self.c;
        let s = &c.nodes[node];
        if let Some(b) = s.boolean {
            return if b {
                Ok(())
            } else {
                Err(Self::error(vloc, Kind::FalseSchema))
            };
        }
        // A schema reached again on the same value without consuming any of it.
        let mut p = scope.parent;
        while let Some(sc) = p {
            if sc.vid != scope.vid {
                break;
            }
            if sc.node == scope.node {
                return Err(Self::error(
                    vloc,
                    Kind::RefCycle {
                        url: s.loc.clone(),
                        kw1: scope.kw_loc(&c.nodes),
                        kw2: sc.kw_loc(&c.nodes),
                    },
                ));
            }
            p = sc.parent;
        }
        let t = type_name(v);
        if let Some(types) = s.types {
            let bit = |name: &str| {
                TYPE_NAMES
                    .iter()
                    .position(|n| *n == name)
                    .is_some_and(|i| types & (1 << i) != 0)
            };
            let matched = bit(t)
                || (bit("integer") && t == "number" && number_of(v).is_some_and(|d| d.is_int()));
            if !matched {
                let want = TYPE_NAMES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| types & (1 << i) != 0)
                    .map(|(_, n)| *n)
                    .collect();
                return Err(Self::error(vloc, Kind::Type { got: t, want }));
            }
        }
        if let Some(want) = &s.constant
            && !equals_doc(v, want)
        {
            return Err(Self::error(vloc, Kind::Const(want.clone())));
        }
        if let Some(items) = &s.enumeration
            && !items.iter().any(|d| equals_doc(v, d))
        {
            return Err(Self::error(vloc, Kind::Enum(items.clone())));
        }
        if let Some(f) = &s.format
            && let Err(err) = f.check(v)
        {
            return Err(Self::error(
                vloc,
                Kind::Format {
                    got: display_value(v),
                    want: f.name,
                    err,
                },
            ));
        }
        let mut errors: Vec<VErr> = Vec::new();
        if let Some(target) = s.reference {
            let r = self.validate_ref(target, "$ref", v, vloc, scope, bool_result);
            if s.draft < 2019 {
                return r;
            }
            if let Err(e) = r {
                errors.push(e);
            }
        }
        match v {
            Json::Object(obj) => {
                self.obj_validate(s, v, obj, vloc, scope, bool_result, &mut errors);
            }
            Json::Array(arr) => self.arr_validate(s, arr, vloc, scope, bool_result, &mut errors),
            Json::String(st) => Self::str_validate(s, st, vloc, &mut errors),
            Json::Number(_) => Self::num_validate(s, v, vloc, &mut errors),
            _ => {}
        }
        if errors.is_empty() || !bool_result {
            self.cond_validate(s, v, vloc, scope, bool_result, &mut errors);
            if s.draft >= 2019 {
                self.uneval_validate(s, v, vloc, scope, bool_result, &mut errors);
            }
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Self::with_causes(vloc, Kind::Group, errors)),
        }
    }

    /// The library's `validateSelf`: another schema on the same value.
    fn validate_self(
        &mut self,
        node: usize,
        ref_kw: &'static str,
        v: &Json,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
    ) -> Result<(), VErr> {
        let child = Scope {
            node,
            ref_kw,
            vid: scope.vid,
            parent: Some(scope),
        };
        let needs = !self.top().is_empty();
        let ue = self.uneval_from(node, v, needs);
        let done = self.validate(node, v, vloc, &child, bool_result, ue)?;
        self.top().merge(&done);
        Ok(())
    }

    /// The library's `unevalValidate`.
    fn uneval_validate(
        &mut self,
        s: &Node,
        v: &Json,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
        errors: &mut Vec<VErr>,
    ) {
        if let (Json::Object(obj), Some(sch)) = (v, s.unevaluated_properties) {
            let props = std::mem::take(&mut self.top().props);
            for p in props {
                if let Some(pv) = obj.get(&p)
                    && let Err(e) = self.validate_val(sch, pv, p.clone(), vloc, scope, bool_result)
                {
                    errors.push(e);
                }
            }
        }
        if let (Json::Array(arr), Some(sch)) = (v, s.unevaluated_items) {
            let items = std::mem::take(&mut self.top().items);
            for i in items {
                if let Some(item) = arr.get(i)
                    && let Err(e) =
                        self.validate_val(sch, item, i.to_string(), vloc, scope, bool_result)
                {
                    errors.push(e);
                }
            }
        }
    }

    /// The library's `validateVal`: a schema on a member of the value.
    fn validate_val(
        &mut self,
        node: usize,
        v: &Json,
        tok: String,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
    ) -> Result<(), VErr> {
        let child = Scope {
            node,
            ref_kw: "",
            vid: scope.vid + 1,
            parent: Some(scope),
        };
        let ue = self.uneval_from(node, v, false);
        let saved = self.cur;
        self.cur = self.go_append(saved, &tok);
        vloc.push(tok);
        let r = self.validate(node, v, vloc, &child, bool_result, ue);
        vloc.pop();
        self.cur = saved;
        r.map(|_| ())
    }

    fn validate_ref(
        &mut self,
        target: usize,
        kw: &'static str,
        v: &Json,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
    ) -> Result<(), VErr> {
        let err = match self.validate_self(target, kw, v, vloc, scope, bool_result) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let causes = if matches!(*err.kind, Kind::Group) {
            err.causes
        } else {
            vec![err]
        };
        Err(Self::with_causes(vloc, Kind::Reference, causes))
    }

    fn find_missing(obj: &serde_json::Map<String, Json>, reqd: &[String]) -> Vec<String> {
        reqd.iter()
            .filter(|p| !obj.contains_key(p.as_str()))
            .cloned()
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn obj_validate(
        &mut self,
        s: &Node,
        whole: &Json,
        obj: &serde_json::Map<String, Json>,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
        errors: &mut Vec<VErr>,
    ) {
        if let Some(min) = s.min_properties
            && obj.len() < min
        {
            errors.push(Self::error(vloc, Kind::MinProperties(obj.len(), min)));
        }
        if let Some(max) = s.max_properties
            && obj.len() > max
        {
            errors.push(Self::error(vloc, Kind::MaxProperties(obj.len(), max)));
        }
        if !s.required.is_empty() {
            let missing = Self::find_missing(obj, &s.required);
            if !missing.is_empty() {
                errors.push(Self::error(vloc, Kind::Required(missing)));
            }
        }
        if bool_result && !errors.is_empty() {
            return;
        }
        for (pname, dep) in &s.dependencies {
            if !obj.contains_key(pname) {
                continue;
            }
            match dep {
                Dependency::Props(props) => {
                    let missing = Self::find_missing(obj, props);
                    if !missing.is_empty() {
                        errors.push(Self::error(
                            vloc,
                            Kind::Dependency {
                                prop: pname.clone(),
                                missing,
                            },
                        ));
                    }
                }
                Dependency::Schema(sch) => {
                    if let Err(e) = self.validate_self(*sch, "", whole, vloc, scope, bool_result) {
                        errors.push(e);
                    }
                }
            }
        }
        let mut additional = Vec::new();
        for pname in keys(obj) {
            if bool_result && !errors.is_empty() {
                return;
            }
            let pvalue = &obj[pname];
            let mut evaluated = false;
            if let Some(sch) = s.properties.get(pname) {
                evaluated = true;
                if let Err(e) =
                    self.validate_val(*sch, pvalue, pname.clone(), vloc, scope, bool_result)
                {
                    errors.push(e);
                }
            }
            for (re, sch) in &s.pattern_properties {
                if re.is_match(pname) {
                    evaluated = true;
                    if let Err(e) =
                        self.validate_val(*sch, pvalue, pname.clone(), vloc, scope, bool_result)
                    {
                        errors.push(e);
                    }
                }
            }
            if !evaluated {
                evaluated = !matches!(s.additional_properties, Additional::None);
                match s.additional_properties {
                    Additional::Bool(false) => additional.push(pname.clone()),
                    Additional::Schema(sch) => {
                        if let Err(e) =
                            self.validate_val(sch, pvalue, pname.clone(), vloc, scope, bool_result)
                        {
                            errors.push(e);
                        }
                    }
                    _ => {}
                }
            }
            if evaluated {
                self.top().props.remove(pname.as_str());
            }
        }
        if !additional.is_empty() {
            errors.push(Self::error(vloc, Kind::AdditionalProperties(additional)));
        }
        if s.draft == 4 {
            return;
        }
        if let Some(names) = s.property_names {
            for pname in keys(obj) {
                let key = Json::String(pname.clone());
                let mut empty = Vec::new();
                let root = Scope {
                    node: names,
                    ref_kw: "",
                    vid: 0,
                    parent: None,
                };
                // The library validates each name as a document of its own (its causes have
                // no instance location), then places the error at the object.
                let ue = self.uneval_from(names, &key, false);
                let saved = self.cur;
                self.arrays.push(vec![String::new(); 8]);
                self.cur = (self.arrays.len() - 1, 0);
                let r = self.validate(names, &key, &mut empty, &root, false, ue);
                self.cur = saved;
                if let Err(e) = r {
                    let causes = if matches!(*e.kind, Kind::Group) {
                        e.causes
                    } else {
                        vec![e]
                    };
                    let mut err =
                        Self::with_causes(vloc, Kind::PropertyNames(pname.clone()), causes);
                    err.alias = Some(self.cur);
                    errors.push(err);
                }
            }
        }
        if s.draft == 6 {
            return;
        }
        for (pname, sch) in &s.dependent_schemas {
            if obj.contains_key(pname)
                && let Err(e) = self.validate_self(*sch, "", whole, vloc, scope, bool_result)
            {
                errors.push(e);
            }
        }
        for (pname, reqd) in &s.dependent_required {
            if obj.contains_key(pname) {
                let missing = Self::find_missing(obj, reqd);
                if !missing.is_empty() {
                    errors.push(Self::error(
                        vloc,
                        Kind::Dependency {
                            prop: pname.clone(),
                            missing,
                        },
                    ));
                }
            }
        }
    }

    fn arr_validate(
        &mut self,
        s: &Node,
        arr: &[Json],
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
        errors: &mut Vec<VErr>,
    ) {
        if let Some(min) = s.min_items
            && arr.len() < min
        {
            errors.push(Self::error(vloc, Kind::MinItems(arr.len(), min)));
        }
        if let Some(max) = s.max_items
            && arr.len() > max
        {
            errors.push(Self::error(vloc, Kind::MaxItems(arr.len(), max)));
        }
        if s.unique_items && arr.len() > 1 {
            'outer: for i in 1..arr.len() {
                for j in 0..i {
                    if equals(&arr[i], &arr[j]) {
                        errors.push(Self::error(vloc, Kind::UniqueItems(j, i)));
                        break 'outer;
                    }
                }
            }
        }
        let mut push = |r: Result<(), VErr>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        if s.draft < 2020 {
            let mut evaluated = 0;
            match &s.items {
                Items::One(sch) => {
                    for (i, item) in arr.iter().enumerate() {
                        push(self.validate_val(
                            *sch,
                            item,
                            i.to_string(),
                            vloc,
                            scope,
                            bool_result,
                        ));
                    }
                    evaluated = arr.len();
                }
                Items::Many(schs) => {
                    let n = arr.len().min(schs.len());
                    for (i, item) in arr[..n].iter().enumerate() {
                        push(self.validate_val(
                            schs[i],
                            item,
                            i.to_string(),
                            vloc,
                            scope,
                            bool_result,
                        ));
                    }
                    evaluated = n;
                }
                Items::None => {}
            }
            match s.additional_items {
                Additional::Bool(false) if evaluated != arr.len() => {
                    push(Err(Self::error(
                        vloc,
                        Kind::AdditionalItems(arr.len() - evaluated),
                    )));
                }
                Additional::Schema(sch) => {
                    for (i, item) in arr[evaluated..].iter().enumerate() {
                        let at = (evaluated + i).to_string();
                        push(self.validate_val(sch, item, at, vloc, scope, bool_result));
                    }
                }
                _ => {}
            }
        } else {
            let evaluated = s.prefix_items.len().min(arr.len());
            for (i, item) in arr[..evaluated].iter().enumerate() {
                push(self.validate_val(
                    s.prefix_items[i],
                    item,
                    i.to_string(),
                    vloc,
                    scope,
                    bool_result,
                ));
            }
            if let Some(sch) = s.items2020 {
                for (i, item) in arr[evaluated..].iter().enumerate() {
                    let at = (evaluated + i).to_string();
                    push(self.validate_val(sch, item, at, vloc, scope, bool_result));
                }
            }
        }
        if let Some(contains) = s.contains {
            let mut errs = Vec::new();
            let mut matched = Vec::new();
            for (i, item) in arr.iter().enumerate() {
                match self.validate_val(contains, item, i.to_string(), vloc, scope, bool_result) {
                    Err(e) => errs.push(e),
                    Ok(()) => {
                        matched.push(i);
                        if s.draft >= 2020 {
                            self.top().items.remove(&i);
                        }
                    }
                }
            }
            if let Some(min) = s.min_contains {
                if matched.len() < min {
                    errors.push(Self::with_causes(
                        vloc,
                        Kind::MinContains {
                            got: matched.clone(),
                            want: min,
                        },
                        errs,
                    ));
                }
            } else if matched.is_empty() {
                errors.push(Self::with_causes(vloc, Kind::Contains, errs));
            }
            if let Some(max) = s.max_contains
                && matched.len() > max
            {
                errors.push(Self::error(
                    vloc,
                    Kind::MaxContains {
                        got: matched,
                        want: max,
                    },
                ));
            }
        }
    }

    fn str_validate(s: &Node, st: &str, vloc: &[String], errors: &mut Vec<VErr>) {
        let len = st.chars().count();
        if let Some(min) = s.min_length
            && len < min
        {
            errors.push(Self::error(vloc, Kind::MinLength(len, min)));
        }
        if let Some(max) = s.max_length
            && len > max
        {
            errors.push(Self::error(vloc, Kind::MaxLength(len, max)));
        }
        if let Some((re, text)) = &s.pattern
            && !re.is_match(st)
        {
            errors.push(Self::error(
                vloc,
                Kind::Pattern {
                    got: st.to_owned(),
                    want: text.clone(),
                },
            ));
        }
    }

    fn num_validate(s: &Node, v: &Json, vloc: &[String], errors: &mut Vec<VErr>) {
        let Some(n) = number_of(v) else { return };
        let f = n.to_f64();
        if let Some(min) = &s.minimum
            && n < *min
        {
            errors.push(Self::error(vloc, Kind::Minimum(f, min.to_f64())));
        }
        if let Some(max) = &s.maximum
            && n > *max
        {
            errors.push(Self::error(vloc, Kind::Maximum(f, max.to_f64())));
        }
        if let Some(min) = &s.exclusive_minimum
            && n <= *min
        {
            errors.push(Self::error(vloc, Kind::ExclusiveMinimum(f, min.to_f64())));
        }
        if let Some(max) = &s.exclusive_maximum
            && n >= *max
        {
            errors.push(Self::error(vloc, Kind::ExclusiveMaximum(f, max.to_f64())));
        }
        if let Some(by) = &s.multiple_of
            && !n.is_multiple_of(by)
        {
            errors.push(Self::error(vloc, Kind::MultipleOf(f, by.to_f64())));
        }
    }

    fn cond_validate(
        &mut self,
        s: &Node,
        v: &Json,
        vloc: &mut Vec<String>,
        scope: &Scope<'_>,
        bool_result: bool,
        errors: &mut Vec<VErr>,
    ) {
        if let Some(not) = s.not
            && self.validate_self(not, "", v, vloc, scope, true).is_ok()
        {
            errors.push(Self::error(vloc, Kind::Not));
        }
        if !s.all_of.is_empty() {
            let mut errs = Vec::new();
            for sch in &s.all_of {
                if let Err(e) = self.validate_self(*sch, "", v, vloc, scope, bool_result) {
                    errs.push(e);
                    if bool_result {
                        break;
                    }
                }
            }
            if !errs.is_empty() {
                errors.push(Self::with_causes(vloc, Kind::AllOf, errs));
            }
        }
        if !s.any_of.is_empty() {
            let mut errs = Vec::new();
            let mut matched = false;
            for sch in &s.any_of {
                match self.validate_self(*sch, "", v, vloc, scope, bool_result) {
                    Err(e) => errs.push(e),
                    Ok(()) => {
                        matched = true;
                        // For unevaluated*, every subschema must be evaluated.
                        if self.top().is_empty() {
                            break;
                        }
                    }
                }
            }
            if !matched {
                errors.push(Self::with_causes(vloc, Kind::AnyOf, errs));
            }
        }
        if !s.one_of.is_empty() {
            let mut matched: Option<usize> = None;
            let mut errs = Vec::new();
            for (i, sch) in s.one_of.iter().enumerate() {
                let br = bool_result || matched.is_some();
                match self.validate_self(*sch, "", v, vloc, scope, br) {
                    Err(e) => {
                        if matched.is_none() {
                            errs.push(e);
                        }
                    }
                    Ok(()) => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            errors.push(Self::error(vloc, Kind::OneOf(Some((first, i)))));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                errors.push(Self::with_causes(vloc, Kind::OneOf(None), errs));
            }
        }
        if let Some(cond) = s.if_ {
            if self.validate_self(cond, "", v, vloc, scope, true).is_ok() {
                if let Some(then) = s.then
                    && let Err(e) = self.validate_self(then, "", v, vloc, scope, bool_result)
                {
                    errors.push(e);
                }
            } else if let Some(els) = s.else_
                && let Err(e) = self.validate_self(els, "", v, vloc, scope, bool_result)
            {
                errors.push(e);
            }
        }
    }
}
