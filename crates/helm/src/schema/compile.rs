//! The schema compiled as santhosh-tekuri/jsonschema v6 compiles it: the draft from `$schema`
//! (2020-12 when absent), resources from `$id`, anchors, every subschema a node keyed by its
//! JSON pointer, `$ref` resolved against the enclosing resource, keywords read per draft
//! (before 2019-09 a `$ref` hides its siblings; `format` asserted before 2019-09 only).
//!
//! Remote references are not followed: Helm v4 fetches `http(s)` and reads `file` URLs (a
//! relative `$ref` resolves under `file:///`), which a controller rendering untrusted charts
//! must not do, so such a schema fails with a message saying so. `urn:` references resolve to
//! the permissive `true` schema, as Helm's default URN resolver does.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;

use super::format::Format;
use super::json::Doc;
use super::number::Dec;

/// The URL Helm gives the chart's schema.
pub(crate) const ROOT_URL: &str = "file:///values.schema.json";

/// Nodes compiled at most (a schema has at most one per subschema).
const MAX_NODES: usize = 200_000;

/// A compiled subschema.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// `file:///values.schema.json#/properties/a`.
    pub loc: String,
    pub draft: u32,
    pub boolean: Option<bool>,
    pub reference: Option<usize>,
    pub types: Option<u8>,
    pub constant: Option<Doc>,
    pub enumeration: Option<Vec<Doc>>,
    pub format: Option<Format>,
    pub all_of: Vec<usize>,
    pub any_of: Vec<usize>,
    pub one_of: Vec<usize>,
    pub not: Option<usize>,
    pub items: Items,
    pub additional_items: Additional,
    pub prefix_items: Vec<usize>,
    pub items2020: Option<usize>,
    pub properties: BTreeMap<String, usize>,
    pub pattern_properties: Vec<(Regex, usize)>,
    pub additional_properties: Additional,
    pub dependencies: BTreeMap<String, Dependency>,
    pub min_properties: Option<usize>,
    pub max_properties: Option<usize>,
    pub required: Vec<String>,
    pub multiple_of: Option<Dec>,
    pub maximum: Option<Dec>,
    pub exclusive_maximum: Option<Dec>,
    pub minimum: Option<Dec>,
    pub exclusive_minimum: Option<Dec>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<(Regex, String)>,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub unique_items: bool,
    pub contains: Option<usize>,
    pub min_contains: Option<usize>,
    pub max_contains: Option<usize>,
    pub property_names: Option<usize>,
    pub if_: Option<usize>,
    pub then: Option<usize>,
    pub else_: Option<usize>,
    pub dependent_required: BTreeMap<String, Vec<String>>,
    pub dependent_schemas: BTreeMap<String, usize>,
    pub unevaluated_properties: Option<usize>,
    pub unevaluated_items: Option<usize>,
    /// `additionalProperties` present: no property is left unevaluated.
    pub all_props_evaluated: bool,
    /// Every item is evaluated (`items` as one schema, `additionalItems`).
    pub all_items_evaluated: bool,
    /// Leading items evaluated (`items` as a tuple, `prefixItems`).
    pub num_items_evaluated: usize,
}

/// `items` before 2020-12.
#[derive(Debug, Default)]
pub(crate) enum Items {
    #[default]
    None,
    One(usize),
    Many(Vec<usize>),
}

/// `additionalItems` / `additionalProperties`.
#[derive(Debug, Default)]
pub(crate) enum Additional {
    #[default]
    None,
    Bool(bool),
    Schema(usize),
}

/// An entry of `dependencies`.
#[derive(Debug)]
pub(crate) enum Dependency {
    Props(Vec<String>),
    Schema(usize),
}

/// The compiled schema; node 0 is the root.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub nodes: Vec<Node>,
}

/// A schema resource: the root or a subschema with an id.
struct Resource {
    ptr: String,
    id: String,
    draft: u32,
    anchors: HashMap<String, String>,
}

/// The draft a `$schema` URL names.
fn draft_from_url(url: &str) -> Option<u32> {
    let (u, frag) = url.split_once('#').unwrap_or((url, ""));
    if !frag.is_empty() {
        return None;
    }
    let u = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))
        .unwrap_or(u);
    match u {
        "json-schema.org/schema" | "json-schema.org/draft/2020-12/schema" => Some(2020),
        "json-schema.org/draft/2019-09/schema" => Some(2019),
        "json-schema.org/draft-07/schema" => Some(7),
        "json-schema.org/draft-06/schema" => Some(6),
        "json-schema.org/draft-04/schema" => Some(4),
        _ => None,
    }
}

fn id_keyword(draft: u32) -> &'static str {
    if draft == 4 { "id" } else { "$id" }
}

/// The id of a schema object (fragment removed), as the draft reads it.
fn get_id(draft: u32, obj: &BTreeMap<String, Doc>) -> String {
    if draft < 2019 && obj.contains_key("$ref") {
        return String::new();
    }
    let id = obj
        .get(id_keyword(draft))
        .and_then(Doc::as_str)
        .unwrap_or("");
    id.split('#').next().unwrap_or("").to_owned()
}

/// JSON-pointer token escaping.
pub(crate) fn escape(tok: &str) -> String {
    tok.replace('~', "~0").replace('/', "~1")
}

fn unescape(tok: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = tok.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Go's `url.PathEscape`, token by token (slashes kept).
fn encode(frag: &str) -> String {
    let mut out = String::new();
    for (i, tok) in frag.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in tok.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~$&+,:;=@".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Go's `url.PathUnescape`.
fn decode(frag: &str) -> Result<String, ()> {
    let bytes = frag.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = frag.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// Splits the scheme off an absolute URL.
fn scheme(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let s = &url[..colon];
    let mut chars = s.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(s)
}

/// RFC 3986 dot-segment removal.
fn remove_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// `base` joined with `reference` (no fragment), as Go's `URL.ResolveReference` joins them.
fn join_url(base: &str, reference: &str) -> String {
    if reference.is_empty() {
        return base.to_owned();
    }
    if scheme(reference).is_some() {
        return reference.to_owned();
    }
    let Some(bs) = scheme(base) else {
        return reference.to_owned();
    };
    let rest = &base[bs.len() + 1..];
    if let Some(r) = reference.strip_prefix("//") {
        return format!("{bs}://{r}");
    }
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => match after.find('/') {
            Some(i) => (format!("//{}", &after[..i]), &after[i..]),
            None => (format!("//{after}"), ""),
        },
        None => (String::new(), rest),
    };
    let path = path.split(['?']).next().unwrap_or("");
    if authority.is_empty() && !path.starts_with('/') {
        // An opaque base (`urn:x`): Go keeps the opaque part.
        return base.to_owned();
    }
    let merged = if reference.starts_with('/') {
        reference.to_owned()
    } else if reference.starts_with('?') {
        format!("{path}{reference}")
    } else {
        let dir = match path.rfind('/') {
            Some(i) => &path[..=i],
            None => "/",
        };
        format!("{dir}{reference}")
    };
    let (p, q) = match merged.split_once('?') {
        Some((p, q)) => (p.to_owned(), format!("?{q}")),
        None => (merged, String::new()),
    };
    format!("{bs}:{authority}{}{q}", remove_dots(&p))
}

struct Compiler<'a> {
    doc: &'a Doc,
    resources: Vec<Resource>,
    nodes: Vec<Node>,
    by_ptr: HashMap<String, usize>,
    queue: Vec<(usize, String)>,
    true_node: Option<usize>,
}

/// Compiles a decoded schema; the error is the message Helm prints for it.
pub(crate) fn compile(doc: &Doc) -> Result<Compiled, String> {
    let root_draft = match doc.get("$schema").and_then(Doc::as_str) {
        None => 2020,
        Some(url) => draft_of(url, "")?,
    };
    let mut c = Compiler {
        doc,
        resources: Vec::new(),
        nodes: Vec::new(),
        by_ptr: HashMap::new(),
        queue: Vec::new(),
        true_node: None,
    };
    c.collect(doc, ROOT_URL, "", root_draft, true)?;
    c.enqueue("");
    let mut next = 0;
    while next < c.queue.len() {
        let (index, ptr) = c.queue[next].clone();
        c.compile_node(index, &ptr)?;
        next += 1;
    }
    Ok(Compiled { nodes: c.nodes })
}

/// The draft of a `$schema` value; other metaschemas would be loaded from their URL.
fn draft_of(url: &str, ptr: &str) -> Result<u32, String> {
    if let Some(d) = draft_from_url(url) {
        return Ok(d);
    }
    let u = url.split('#').next().unwrap_or("");
    if u == ROOT_URL && ptr.is_empty() {
        return Err(format!("draft {u:?} is not supported"));
    }
    Err(refuse_load(u))
}

/// The message for a schema Helm would load from elsewhere.
fn refuse_load(url: &str) -> String {
    let why = match scheme(url) {
        Some("http" | "https") => "tether does not fetch remote schemas over the network",
        Some("file") => "tether does not read schemas from the local filesystem",
        _ => return format!("failing loading {url:?}: no URLLoader registered for {url:?}"),
    };
    format!("failing loading {url:?}: {why}")
}

/// Subschema positions: (keyword, shape) where shape is 's' schema, 'm' map of schemas,
/// 'a' array of schemas, 'x' schema or array.
fn subschema_keywords(draft: u32) -> Vec<(&'static str, char)> {
    let mut k = vec![
        ("definitions", 'm'),
        ("not", 's'),
        ("allOf", 'a'),
        ("anyOf", 'a'),
        ("oneOf", 'a'),
        ("properties", 'm'),
        ("additionalProperties", 's'),
        ("patternProperties", 'm'),
        ("items", 'x'),
        ("additionalItems", 's'),
        ("dependencies", 'm'),
    ];
    if draft >= 6 {
        k.extend([("propertyNames", 's'), ("contains", 's')]);
    }
    if draft >= 7 {
        k.extend([("if", 's'), ("then", 's'), ("else", 's')]);
    }
    if draft >= 2019 {
        k.extend([
            ("$defs", 'm'),
            ("dependentSchemas", 'm'),
            ("unevaluatedProperties", 's'),
            ("unevaluatedItems", 's'),
            ("contentSchema", 's'),
        ]);
    }
    if draft >= 2020 {
        k.push(("prefixItems", 'a'));
    }
    k
}

impl Compiler<'_> {
    fn resource_of(&self, ptr: &str) -> &Resource {
        let mut p = ptr;
        loop {
            if let Some(r) = self.resources.iter().find(|r| r.ptr == p) {
                return r;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => break,
            }
        }
        &self.resources[0]
    }

    /// Finds resources and anchors below `ptr`.
    fn collect(
        &mut self,
        sch: &Doc,
        base: &str,
        ptr: &str,
        fallback: u32,
        is_root: bool,
    ) -> Result<(), String> {
        let Doc::Obj(obj) = sch else {
            if is_root {
                self.resources.push(Resource {
                    ptr: String::new(),
                    id: base.to_owned(),
                    draft: fallback,
                    anchors: HashMap::new(),
                });
            }
            return Ok(());
        };
        let mut draft = match obj.get("$schema").and_then(Doc::as_str) {
            Some(url) if !is_root => draft_of(url, ptr)?,
            _ => fallback,
        };
        let mut id = get_id(draft, obj);
        if id.is_empty() && !is_root {
            draft = fallback;
            id = get_id(draft, obj);
        }
        let mut base = base.to_owned();
        if !id.is_empty() || is_root {
            if !id.is_empty() {
                base = join_url(&base, &id);
            }
            if let Some(other) = self.resources.iter().find(|r| r.id == base) {
                if other.ptr != ptr {
                    return Err(format!(
                        "duplicate id {base:?} in {ROOT_URL:?} at {ptr:?} and {:?}",
                        other.ptr
                    ));
                }
            } else {
                self.resources.push(Resource {
                    ptr: ptr.to_owned(),
                    id: base.clone(),
                    draft,
                    anchors: HashMap::new(),
                });
            }
        }
        // Anchors.
        let res_index = self
            .resources
            .iter()
            .position(|r| r.id == base)
            .unwrap_or(0);
        let res_draft = self.resources[res_index].draft;
        let mut anchors_here: Vec<String> = Vec::new();
        let mut anchor = None;
        if res_draft < 2019 {
            if !obj.contains_key("$ref")
                && let Some(id) = obj.get(id_keyword(res_draft)).and_then(Doc::as_str)
                && let Some((_, frag)) = id.split_once('#')
            {
                let frag = decode(frag).map_err(|_| {
                    format!("error in parsing anchor at \"{ROOT_URL}#{}\"", encode(ptr))
                })?;
                if !frag.is_empty() && !frag.starts_with('/') {
                    anchor = Some(frag);
                }
            }
        } else if let Some(a) = obj.get("$anchor").and_then(Doc::as_str) {
            anchor = Some(a.to_owned());
        }
        anchors_here.extend(anchor);
        if res_draft >= 2020
            && let Some(a) = obj.get("$dynamicAnchor").and_then(Doc::as_str)
        {
            anchors_here.push(a.to_owned());
        }
        for a in anchors_here {
            let anchors = &mut self.resources[res_index].anchors;
            match anchors.get(&a) {
                Some(p) if p != ptr => {
                    return Err(format!(
                        "duplicate anchor {a:?} in {ROOT_URL:?} at {p:?} and {ptr:?}"
                    ));
                }
                _ => {
                    anchors.insert(a, ptr.to_owned());
                }
            }
        }
        let dialect = self.resources[res_index].draft;
        for (kw, shape) in subschema_keywords(draft) {
            let Some(v) = obj.get(kw) else { continue };
            let kp = format!("{ptr}/{}", escape(kw));
            match (shape, v) {
                ('m', Doc::Obj(m)) => {
                    for (k, sub) in m {
                        let p = format!("{kp}/{}", escape(k));
                        self.collect(sub, &base, &p, dialect, false)?;
                    }
                }
                ('a' | 'x', Doc::Arr(items)) => {
                    for (i, sub) in items.iter().enumerate() {
                        self.collect(sub, &base, &format!("{kp}/{i}"), dialect, false)?;
                    }
                }
                ('s' | 'x', sub) => self.collect(sub, &base, &kp, dialect, false)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn enqueue(&mut self, ptr: &str) -> usize {
        if let Some(i) = self.by_ptr.get(ptr) {
            return *i;
        }
        let index = self.nodes.len();
        self.nodes.push(Node {
            loc: format!("{ROOT_URL}#{}", encode(ptr)),
            ..Node::default()
        });
        self.by_ptr.insert(ptr.to_owned(), index);
        self.queue.push((index, ptr.to_owned()));
        index
    }

    fn permissive(&mut self) -> usize {
        if let Some(i) = self.true_node {
            return i;
        }
        let index = self.nodes.len();
        self.nodes.push(Node {
            loc: "urn:tether:true#".into(),
            boolean: Some(true),
            ..Node::default()
        });
        self.true_node = Some(index);
        index
    }

    /// Resolves a `$ref` written in the schema at `ptr`.
    fn enqueue_ref(&mut self, ptr: &str, reference: &str) -> Result<usize, String> {
        let base = self.resource_of(ptr).id.clone();
        let (url_part, frag) = reference.split_once('#').unwrap_or((reference, ""));
        let frag = decode(frag).map_err(|_| {
            format!(
                "error in parsing {reference:?}: invalid URL escape {:?}",
                frag
            )
        })?;
        let url = join_url(&base, url_part);
        let res = if url == ROOT_URL {
            Some(0)
        } else {
            self.resources.iter().position(|r| r.id == url)
        };
        let Some(res) = res else {
            if scheme(&url) == Some("urn") {
                return Ok(self.permissive());
            }
            return Err(refuse_load(&url));
        };
        let target = if frag.is_empty() || frag.starts_with('/') {
            format!("{}{frag}", self.resources[res].ptr)
        } else {
            match self.resources[res].anchors.get(&frag) {
                Some(p) => p.clone(),
                None => {
                    return Err(format!(
                        "anchor in \"{}#{}\" not found in schema {ROOT_URL:?}",
                        self.resources[res].id,
                        encode(&frag)
                    ));
                }
            }
        };
        Ok(self.enqueue(&target))
    }

    fn compile_node(&mut self, index: usize, ptr: &str) -> Result<(), String> {
        if self.nodes.len() > MAX_NODES {
            return Err(format!(
                "values.schema.json has more than {MAX_NODES} subschemas"
            ));
        }
        let v = lookup(self.doc, ptr)?;
        let draft = self.resource_of(ptr).draft;
        self.nodes[index].draft = draft;
        let obj = match v {
            Doc::Bool(b) => {
                self.nodes[index].boolean = Some(*b);
                return Ok(());
            }
            Doc::Obj(m) if m.is_empty() => {
                self.nodes[index].boolean = Some(true);
                return Ok(());
            }
            Doc::Obj(m) => m,
            _ => return Ok(()),
        };
        self.compile_object(index, ptr, draft, obj)
    }

    fn sub(&mut self, ptr: &str, kw: &str) -> String {
        format!("{ptr}/{}", escape(kw))
    }

    fn prop(&mut self, obj: &BTreeMap<String, Doc>, ptr: &str, kw: &str) -> Option<usize> {
        obj.get(kw)?;
        let p = self.sub(ptr, kw);
        Some(self.enqueue(&p))
    }

    fn arr(&mut self, obj: &BTreeMap<String, Doc>, ptr: &str, kw: &str) -> Vec<usize> {
        let Some(Doc::Arr(items)) = obj.get(kw) else {
            return Vec::new();
        };
        (0..items.len())
            .map(|i| self.enqueue(&format!("{ptr}/{}/{i}", escape(kw))))
            .collect()
    }

    fn map(&mut self, obj: &BTreeMap<String, Doc>, ptr: &str, kw: &str) -> BTreeMap<String, usize> {
        let Some(Doc::Obj(m)) = obj.get(kw) else {
            return BTreeMap::new();
        };
        m.keys()
            .map(|k| {
                let i = self.enqueue(&format!("{ptr}/{}/{}", escape(kw), escape(k)));
                (k.clone(), i)
            })
            .collect()
    }

    fn additional(&mut self, obj: &BTreeMap<String, Doc>, ptr: &str, kw: &str) -> Additional {
        match obj.get(kw) {
            Some(Doc::Bool(b)) => Additional::Bool(*b),
            Some(_) => Additional::Schema(self.prop(obj, ptr, kw).unwrap_or(0)),
            None => Additional::None,
        }
    }

    fn compile_object(
        &mut self,
        index: usize,
        ptr: &str,
        draft: u32,
        obj: &BTreeMap<String, Doc>,
    ) -> Result<(), String> {
        let unsupported: &[&str] = match draft {
            2019 => &["$recursiveRef"],
            d if d >= 2020 => &["$dynamicRef"],
            _ => &[],
        };
        if let Some(kw) = unsupported.iter().find(|k| obj.contains_key(**k)) {
            return Err(format!(
                "tether does not support the {kw:?} keyword (at \"{ROOT_URL}#{}\")",
                encode(ptr)
            ));
        }
        let mut n = Node {
            loc: std::mem::take(&mut self.nodes[index].loc),
            draft,
            ..Node::default()
        };
        if let Some(r) = obj.get("$ref").and_then(Doc::as_str) {
            n.reference = Some(self.enqueue_ref(ptr, r)?);
            if draft < 2019 {
                self.nodes[index] = n;
                return Ok(());
            }
        }
        n.all_of = self.arr(obj, ptr, "allOf");
        n.any_of = self.arr(obj, ptr, "anyOf");
        n.one_of = self.arr(obj, ptr, "oneOf");
        n.not = self.prop(obj, ptr, "not");
        if draft < 2020 {
            match obj.get("items") {
                Some(Doc::Arr(_)) => {
                    n.items = Items::Many(self.arr(obj, ptr, "items"));
                    n.additional_items = self.additional(obj, ptr, "additionalItems");
                }
                Some(_) => n.items = Items::One(self.prop(obj, ptr, "items").unwrap_or(0)),
                None => {}
            }
        }
        n.properties = self.map(obj, ptr, "properties");
        if let Some(Doc::Obj(m)) = obj.get("patternProperties") {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let re = go_regex(&k).map_err(|e| {
                    format!(
                        "invalid regex {k:?} at \"{ROOT_URL}#{}/patternProperties\": {e}",
                        encode(ptr)
                    )
                })?;
                let i = self.enqueue(&format!("{ptr}/patternProperties/{}", escape(&k)));
                n.pattern_properties.push((re, i));
            }
        }
        n.additional_properties = self.additional(obj, ptr, "additionalProperties");
        if let Some(Doc::Obj(m)) = obj.get("dependencies") {
            for (k, v) in m {
                let dep = match v {
                    Doc::Arr(items) => Dependency::Props(strings(items)),
                    _ => Dependency::Schema(
                        self.enqueue(&format!("{ptr}/dependencies/{}", escape(k))),
                    ),
                };
                n.dependencies.insert(k.clone(), dep);
            }
        }
        n.types = obj.get("type").and_then(types_of);
        if let Some(Doc::Arr(items)) = obj.get("enum") {
            n.enumeration = Some(items.clone());
        }
        n.multiple_of = num(obj, "multipleOf");
        n.maximum = num(obj, "maximum");
        if obj.get("exclusiveMaximum") == Some(&Doc::Bool(true)) {
            n.exclusive_maximum = n.maximum.take();
        } else {
            n.exclusive_maximum = num(obj, "exclusiveMaximum");
        }
        n.minimum = num(obj, "minimum");
        if obj.get("exclusiveMinimum") == Some(&Doc::Bool(true)) {
            n.exclusive_minimum = n.minimum.take();
        } else {
            n.exclusive_minimum = num(obj, "exclusiveMinimum");
        }
        n.min_length = int(obj, "minLength");
        n.max_length = int(obj, "maxLength");
        if let Some(p) = obj.get("pattern").and_then(Doc::as_str) {
            let re = go_regex(p).map_err(|e| {
                format!(
                    "invalid regex {p:?} at \"{ROOT_URL}#{}/pattern\": {e}",
                    encode(ptr)
                )
            })?;
            n.pattern = Some((re, p.to_owned()));
        }
        n.min_items = int(obj, "minItems");
        n.max_items = int(obj, "maxItems");
        n.unique_items = obj.get("uniqueItems") == Some(&Doc::Bool(true));
        n.max_properties = int(obj, "maxProperties");
        n.min_properties = int(obj, "minProperties");
        if let Some(Doc::Arr(items)) = obj.get("required") {
            n.required = strings(items);
        }
        if draft < 2019
            && let Some(f) = obj.get("format").and_then(Doc::as_str)
        {
            n.format = Format::named(f);
        }
        if draft >= 6 {
            n.contains = self.prop(obj, ptr, "contains");
            n.property_names = self.prop(obj, ptr, "propertyNames");
            n.constant = obj.get("const").cloned();
        }
        if draft >= 7 {
            n.if_ = self.prop(obj, ptr, "if");
            if n.if_.is_some() {
                let b = match obj.get("if") {
                    Some(Doc::Bool(b)) => Some(*b),
                    _ => None,
                };
                if b != Some(false) {
                    n.then = self.prop(obj, ptr, "then");
                }
                if b != Some(true) {
                    n.else_ = self.prop(obj, ptr, "else");
                }
            }
        }
        if draft >= 2019 {
            if n.contains.is_some() {
                n.min_contains = int(obj, "minContains");
                n.max_contains = int(obj, "maxContains");
            }
            if let Some(Doc::Obj(m)) = obj.get("dependentRequired") {
                for (k, v) in m {
                    if let Doc::Arr(items) = v {
                        n.dependent_required.insert(k.clone(), strings(items));
                    }
                }
            }
            n.dependent_schemas = self.map(obj, ptr, "dependentSchemas");
        }
        if draft >= 2019 {
            n.unevaluated_items = self.prop(obj, ptr, "unevaluatedItems");
            n.unevaluated_properties = self.prop(obj, ptr, "unevaluatedProperties");
        }
        if draft >= 2020 {
            n.prefix_items = self.arr(obj, ptr, "prefixItems");
            n.items2020 = self.prop(obj, ptr, "items");
        }
        n.all_props_evaluated = !matches!(n.additional_properties, Additional::None);
        if draft < 2020 {
            n.all_items_evaluated = !matches!(n.additional_items, Additional::None);
            match &n.items {
                Items::One(_) => n.all_items_evaluated = true,
                Items::Many(items) => n.num_items_evaluated = items.len(),
                Items::None => {}
            }
        } else {
            n.all_items_evaluated = n.items2020.is_some();
            n.num_items_evaluated = n.prefix_items.len();
        }
        self.nodes[index] = n;
        Ok(())
    }
}

fn lookup<'d>(doc: &'d Doc, ptr: &str) -> Result<&'d Doc, String> {
    let mut v = doc;
    let not_found = || format!("json-pointer in \"{ROOT_URL}#{}\" not found", encode(ptr));
    for tok in ptr.split('/').skip(1) {
        let tok = unescape(tok)
            .ok_or_else(|| format!("invalid json-pointer \"{ROOT_URL}#{}\"", encode(ptr)))?;
        v = match v {
            Doc::Obj(m) => m.get(&tok).ok_or_else(not_found)?,
            Doc::Arr(a) => tok
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .ok_or_else(not_found)?,
            _ => return Err(not_found()),
        };
    }
    Ok(v)
}

fn strings(items: &[Doc]) -> Vec<String> {
    items
        .iter()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect()
}

fn num(obj: &BTreeMap<String, Doc>, kw: &str) -> Option<Dec> {
    match obj.get(kw) {
        Some(Doc::Num(text)) => Dec::parse(text),
        _ => None,
    }
}

fn int(obj: &BTreeMap<String, Doc>, kw: &str) -> Option<usize> {
    let d = num(obj, kw)?;
    if !d.is_int() {
        return None;
    }
    let f = d.to_f64();
    // Go converts with int(Int64()); negative limits never pass the metaschema.
    (0.0..9.2e18).contains(&f).then_some(f as usize)
}

/// Type bits in the order santhosh-tekuri lists them.
pub(crate) const TYPE_NAMES: [&str; 7] = [
    "null", "boolean", "number", "integer", "string", "array", "object",
];

fn type_bit(name: &str) -> u8 {
    TYPE_NAMES
        .iter()
        .position(|n| *n == name)
        .map_or(0, |i| 1 << i)
}

fn types_of(v: &Doc) -> Option<u8> {
    let bits = match v {
        Doc::Str(s) => type_bit(s),
        Doc::Arr(items) => items
            .iter()
            .filter_map(Doc::as_str)
            .fold(0, |acc, s| acc | type_bit(s)),
        _ => 0,
    };
    (bits != 0).then_some(bits)
}

/// A Go (RE2) regular expression on Rust's `regex`, whose syntax is nearly RE2's: a `{` that
/// starts no repetition is a literal in Go (escaped here), Go refuses nested repetitions
/// and counts above 1000, and Rust's errors are reworded as Go's `regexp/syntax` words them
/// (`error parsing regexp: missing closing ): `a(b``).
pub(crate) fn go_regex(pattern: &str) -> Result<Regex, String> {
    let translated = go_prepass(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    regex::RegexBuilder::new(&translated)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| {
            format!(
                "error parsing regexp: {}",
                go_error(pattern, &e.to_string())
            )
        })
}

/// Length of a Go repetition `{n}`, `{n,}`, `{n,m}` at the start of `rest`, with its bounds.
fn repeat_at(rest: &[char]) -> Option<(usize, u64, Option<u64>)> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while rest.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        (start != *i).then(|| {
            rest[start..*i]
                .iter()
                .collect::<String>()
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        })
    };
    let min = digits(&mut i)?;
    let max = if rest.get(i) == Some(&',') {
        i += 1;
        digits(&mut i)
    } else {
        Some(min)
    };
    let open_max = rest.get(i - 1) == Some(&',');
    (rest.get(i) == Some(&'}')).then_some((i + 1, min, if open_max { None } else { max }))
}

/// Escapes literal braces and applies Go's repetition rules Rust does not have.
fn go_prepass(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    let mut in_class = false;
    // Where the last repetition operator started, if the previous token was one, and
    // whether a lazy `?` followed it.
    let mut last_rep: Option<(usize, bool)> = None;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(n) = chars.get(i + 1) {
                out.push(*n);
            }
            i += 2;
            last_rep = None;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        let rep_len = match c {
            '*' | '+' | '?' => Some(1),
            '{' => match repeat_at(&chars[i..]) {
                Some((len, min, max)) => {
                    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                        let text: String = chars[i..i + len].iter().collect();
                        return Err(format!("invalid repeat count: `{text}`"));
                    }
                    Some(len)
                }
                None => {
                    out.push_str("\\{");
                    i += 1;
                    last_rep = None;
                    continue;
                }
            },
            _ => None,
        };
        match rep_len {
            Some(len) => {
                match last_rep {
                    Some((start, false)) if c == '?' => {
                        last_rep = Some((start, true));
                    }
                    Some((start, _)) => {
                        let text: String = chars[start..i + len].iter().collect();
                        return Err(format!("invalid nested repetition operator: `{text}`"));
                    }
                    None => last_rep = Some((i, false)),
                }
                out.extend(&chars[i..i + len]);
                i += len;
            }
            None => {
                if c == '[' {
                    in_class = true;
                    out.push(c);
                    i += 1;
                    // A leading `]` (or `^]`) is a literal.
                    if chars.get(i) == Some(&'^') {
                        out.push('^');
                        i += 1;
                    }
                    if chars.get(i) == Some(&']') {
                        out.push(']');
                        i += 1;
                    }
                    last_rep = None;
                    continue;
                }
                last_rep = None;
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Rust's regex error reworded as Go's, using the span Rust marks under the pattern.
fn go_error(pattern: &str, rust: &str) -> String {
    let lines: Vec<&str> = rust.lines().collect();
    let reason = lines
        .last()
        .map(|l| l.trim().trim_start_matches("error: "))
        .unwrap_or("");
    let chars: Vec<char> = pattern.chars().collect();
    let (start, len) = match (lines.len() == 4, lines.get(2)) {
        (true, Some(carets)) => {
            let col = carets
                .chars()
                .take_while(|c| *c == ' ')
                .count()
                .saturating_sub(4);
            (col.min(chars.len()), carets.trim().chars().count())
        }
        _ => (0, chars.len()),
    };
    let span: String = chars[start..(start + len).min(chars.len())]
        .iter()
        .collect();
    let to_end: String = chars[start..].iter().collect();
    match reason {
        "unclosed group" => format!("missing closing ): `{pattern}`"),
        "unopened group" => format!("unexpected ): `{pattern}`"),
        "unclosed character class" => format!("missing closing ]: `{to_end}`"),
        "repetition operator missing expression" => {
            format!("missing argument to repetition operator: `{span}`")
        }
        r if r.starts_with("look-around") => {
            if span.starts_with("(?<") {
                let end = to_end.find(')').map_or(to_end.len(), |i| i + 1);
                format!("invalid named capture: `{}`", &to_end[..end])
            } else {
                format!("invalid or unsupported Perl syntax: `{span}`")
            }
        }
        "unrecognized escape sequence" | "backreferences are not supported" => {
            format!("invalid escape sequence: `{span}`")
        }
        r if r.starts_with("invalid character class range")
            || r == "Unicode property not found" =>
        {
            format!("invalid character class range: `{span}`")
        }
        r if r.starts_with("invalid repetition count range") => {
            format!("invalid repeat count: `{span}`")
        }
        "incomplete escape sequence, reached end of pattern prematurely" => {
            "trailing backslash at end of expression: ``".into()
        }
        r if r.starts_with("expected flag") => {
            let from = pattern.rfind("(?").unwrap_or(0);
            format!("invalid or unsupported Perl syntax: `{}`", &pattern[from..])
        }
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_as_go_joins_them() {
        assert_eq!(join_url(ROOT_URL, "defs.json"), "file:///defs.json");
        assert_eq!(
            join_url("https://example.com/a/b.json", "../c.json"),
            "https://example.com/c.json"
        );
        assert_eq!(join_url(ROOT_URL, "https://x/y"), "https://x/y");
        assert_eq!(join_url(ROOT_URL, ""), ROOT_URL);
    }

    #[test]
    fn fragments_are_path_escaped() {
        assert_eq!(encode("/properties/a b"), "/properties/a%20b");
        assert_eq!(encode("/$defs/x"), "/$defs/x");
    }
}

#[cfg(test)]
mod regex_tests {
    use super::go_regex;

    #[test]
    fn errors_read_as_go_s() {
        let cases = [
            ("a(b", "missing closing ): `a(b`"),
            ("a)b", "unexpected ): `a)b`"),
            ("[ab", "missing closing ]: `[ab`"),
            ("x[a-", "missing closing ]: `[a-`"),
            ("*a", "missing argument to repetition operator: `*`"),
            ("a**", "invalid nested repetition operator: `**`"),
            ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
            ("(?!x)", "invalid or unsupported Perl syntax: `(?!`"),
            ("(?<=x)", "invalid named capture: `(?<=x)`"),
            ("\\q", "invalid escape sequence: `\\q`"),
            ("[z-a]", "invalid character class range: `z-a`"),
            ("a{2,1}", "invalid repeat count: `{2,1}`"),
            ("a{1001}", "invalid repeat count: `{1001}`"),
            ("\\1", "invalid escape sequence: `\\1`"),
            ("(?i", "invalid or unsupported Perl syntax: `(?i`"),
            ("\\pX", "invalid character class range: `\\pX`"),
            ("x{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
            ("ab\\", "trailing backslash at end of expression: ``"),
        ];
        for (p, want) in cases {
            assert_eq!(
                go_regex(p).err(),
                Some(format!("error parsing regexp: {want}")),
                "{p}"
            );
        }
        for ok in [
            "a{",
            "a{1",
            "a*?",
            "a{2}?",
            "^v[0-9]+\\.[0-9]+$",
            "[]a]",
            "x{2,}",
        ] {
            assert!(go_regex(ok).is_ok(), "{ok}");
        }
        assert!(go_regex("a{").is_ok_and(|r| r.is_match("xa{")));
    }
}
