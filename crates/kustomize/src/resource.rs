//! Resources, their identities, and the ordered resource map a build produces.
//!
//! A [`Resource`] is one Kubernetes object as a JSON value plus the bookkeeping kustomize keeps in
//! build annotations while it works (previous ids for name-reference fixing, applied prefixes and
//! suffixes, generator behaviour, whether a hash suffix is due). Keeping that bookkeeping in typed
//! fields instead of annotations means nothing has to be stripped before output.

use serde_json::{Map, Value};

use crate::untyped::UntypedScalar;
use crate::yaml;

/// Group, version and kind of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Gvk {
    /// API group; empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` and pairs it with a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// The `apiVersion` string.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether every non-empty field of `selector` equals this gvk's.
    pub fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    /// Whether kustomize's built-in schema knows this type as cluster-scoped.
    pub fn is_cluster_scoped(&self) -> bool {
        (!self.group.is_empty() || !self.version.is_empty())
            && crate::fieldspec::is_cluster_scoped_group_kind(&self.group, &self.kind)
    }

    /// kustomize's `Kind.version.group` rendering used in messages and sorting.
    pub fn sort_string(&self) -> String {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }
}

/// Identity of an object: gvk, name and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResId {
    /// Type of the object.
    pub gvk: Gvk,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (may be empty).
    pub namespace: String,
    /// Whether the id was computed from a live object (so cluster scope is known).
    pub scoped: bool,
}

/// Namespace string kustomize uses for cluster-scoped objects.
pub const NOT_NAMESPACEABLE: &str = "_non_namespaceable_";

impl ResId {
    /// Namespace with kustomize's defaulting: cluster-scoped objects have none, and an empty
    /// namespace means `default`.
    pub fn effective_namespace(&self) -> String {
        if self.scoped && self.gvk.is_cluster_scoped() {
            return NOT_NAMESPACEABLE.to_string();
        }
        if self.namespace.is_empty() || self.namespace == "default" {
            return "default".to_string();
        }
        self.namespace.clone()
    }

    /// A hashable key with the equality of [`ResId::equals`].
    pub fn identity_key(&self) -> (Gvk, String, String) {
        (
            self.gvk.clone(),
            self.name.clone(),
            self.effective_namespace(),
        )
    }

    /// kustomize's id equality: same gvk, same name, same effective namespace.
    pub fn equals(&self, other: &ResId) -> bool {
        self.gvk == other.gvk
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }

    /// Whether this id is in cluster scope.
    pub fn is_cluster_scoped(&self) -> bool {
        self.scoped && self.gvk.is_cluster_scoped()
    }
}

impl std::fmt::Display for ResId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        let name = if self.name.is_empty() {
            "[noName]"
        } else {
            &self.name
        };
        write!(f, "{}/{}.{}", self.gvk.sort_string(), name, ns)
    }
}

/// What a generated object does when an object with its id already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Must not exist yet.
    #[default]
    Create,
    /// Not given (or not one kustomize knows): treated like `create`.
    Unspecified,
    /// Replaces the existing object's data.
    Replace,
    /// Merges its data into the existing object's.
    Merge,
}

/// One object and the build bookkeeping attached to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The object.
    pub obj: Value,
    /// Earlier (namespace, name, kind) triples, oldest first.
    pub prev: Vec<(String, String, String)>,
    /// Name prefixes applied, innermost first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// Generator merge behaviour.
    pub behavior: Behavior,
    /// Whether a content hash is still to be appended to the name.
    pub needs_hash: bool,
    /// Ids of objects whose fields refer to this one (filled by name-reference fixing).
    pub ref_by: Vec<ResId>,
    /// Where the object came from, as `buildMetadata: [originAnnotations]` prints it.
    pub origin: Option<String>,
    /// The transformers that ran over it, as `transformerAnnotations` prints them.
    pub transformations: String,
    /// Names of the legacy vars that read their value from this object.
    pub ref_vars: Vec<String>,
    /// Fields holding a scalar with no YAML type yet (see [`crate::untyped`]).
    pub(crate) untyped: Vec<UntypedScalar>,
}

impl Resource {
    /// Wraps an object with empty bookkeeping.
    pub fn new(obj: Value) -> Resource {
        Resource {
            obj,
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            behavior: Behavior::Create,
            needs_hash: false,
            ref_by: Vec::new(),
            origin: None,
            transformations: String::new(),
            ref_vars: Vec::new(),
            untyped: Vec::new(),
        }
    }

    fn str_at(&self, path: &[&str]) -> String {
        let mut cur = &self.obj;
        for p in path {
            match cur.get(p) {
                Some(v) => cur = v,
                None => return String::new(),
            }
        }
        match cur {
            Value::Null => String::new(),
            other => yaml::to_compact_string(other),
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> String {
        self.str_at(&["metadata", "name"])
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> String {
        self.str_at(&["metadata", "namespace"])
    }

    /// `kind`.
    pub fn kind(&self) -> String {
        self.str_at(&["kind"])
    }

    /// Group, version and kind.
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(&self.str_at(&["apiVersion"]), &self.kind())
    }

    /// The current id.
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name(),
            namespace: self.namespace(),
            scoped: true,
        }
    }

    /// Ids this object had before renames, oldest first.
    pub fn prev_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.prev
            .iter()
            .map(|(ns, name, kind)| ResId {
                gvk: Gvk {
                    kind: kind.clone(),
                    ..gvk.clone()
                },
                name: name.clone(),
                namespace: ns.clone(),
                scoped: false,
            })
            .collect()
    }

    /// The id the object had when it was first read.
    pub fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Records the current id as a previous one, before a rename.
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev
            .push((id.effective_namespace(), id.name, id.gvk.kind));
    }

    /// The `metadata` map, created if absent.
    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = ensure_object(&mut self.obj);
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        ensure_object(meta)
    }

    /// Sets `metadata.name`.
    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    /// Sets `metadata.namespace`.
    pub fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_string()));
    }

    /// Sets `kind`.
    pub fn set_kind(&mut self, kind: &str) {
        ensure_object(&mut self.obj).insert("kind".into(), Value::String(kind.to_string()));
    }

    /// A string map under `metadata` (labels or annotations).
    pub fn string_map(&self, field: &str) -> Vec<(String, String)> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), yaml::to_compact_string(v)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the object is empty (a patch may delete it entirely).
    pub fn is_empty(&self) -> bool {
        self.obj.as_object().is_none_or(Map::is_empty)
    }

    /// Whether the prefixes and suffixes of `self` and `other` are compatible, as kustomize
    /// decides between several possible reference targets.
    pub fn prefixes_suffixes_equal(&self, other: &Resource, allow_empty: bool) -> bool {
        let pre = same_ending(&self.prefixes, &other.prefixes);
        let suf = same_ending(&self.suffixes, &other.suffixes);
        if allow_empty {
            let pre_ok = self.prefixes.is_empty() || other.prefixes.is_empty() || pre;
            let suf_ok = self.suffixes.is_empty() || other.suffixes.is_empty() || suf;
            pre_ok && suf_ok
        } else {
            pre && suf
        }
    }
}

fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long[long.len() - short.len()..] == *short
}

/// Makes `v` an object (replacing any other value) and returns its map.
pub fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable_object(),
    }
}

fn unreachable_object() -> ! {
    unreachable!("value was just made an object")
}

/// The ordered list of objects a build produces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResMap {
    /// Objects in output order.
    pub resources: Vec<Resource>,
}

impl ResMap {
    /// Renders all objects as a YAML stream identical to `kustomize build`'s.
    pub fn to_yaml(&self) -> String {
        let mut out = String::with_capacity(self.resources.len() * 512);
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            yaml::write_document(&mut out, &r.obj);
        }
        out
    }

    /// The objects as JSON values.
    pub fn objects(&self) -> impl Iterator<Item = &Value> {
        self.resources.iter().map(|r| &r.obj)
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether there are no objects.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Index of the object whose current id equals `id`.
    pub fn find_current(&self, id: &ResId) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|i| self.resources[*i].cur_id().equals(id))
            .collect()
    }

    /// Indexes of objects whose current or any previous id equals `id`.
    pub fn find_any(&self, id: &ResId) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|i| {
                let r = &self.resources[*i];
                !r.is_empty()
                    && (r.prev_ids().iter().any(|p| p.equals(id)) || r.cur_id().equals(id))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_default_the_namespace() {
        let a = Resource::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        );
        let b = Resource::new(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "default"}}));
        assert!(a.cur_id().equals(&b.cur_id()));
    }

    #[test]
    fn ending_subslices() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a", "b"]), &s(&["b"])));
        assert!(!same_ending(&s(&["a", "b"]), &s(&["a"])));
    }
}
