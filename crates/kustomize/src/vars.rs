//! Legacy `vars`: a var names a field of one object (`objref` by its raw name, `fieldref`
//! defaulting to `metadata.name`); after name references are fixed, `$(NAME)` in the
//! `varReference` fields of every object is replaced by that field's value. Names must be
//! unique across a build, and a var that matches no object fails the build.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fieldspec::{self, Create, FieldSpec};
use crate::replacement::{get_path, split_dotted};
use crate::resource::{Gvk, ResId, Resource};

/// One entry of `vars`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Var {
    /// The name used as `$(NAME)`.
    #[serde(default)]
    pub name: String,
    /// The object the value is read from.
    #[serde(default)]
    pub objref: ObjRef,
    /// The field the value is read from.
    #[serde(default)]
    pub fieldref: FieldRef,
}

/// `vars[].objref`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ObjRef {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

/// `vars[].fieldref`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct FieldRef {
    #[serde(default)]
    pub field_path: String,
}

impl Var {
    /// The referenced type: `apiVersion`, when given, overrides group and version.
    fn gvk(&self) -> Gvk {
        let o = &self.objref;
        if o.api_version.is_empty() {
            return Gvk {
                group: o.group.clone(),
                version: o.version.clone(),
                kind: o.kind.clone(),
            };
        }
        let mut gvk = Gvk::from_api_version(&o.api_version, &o.kind);
        if !o.api_version.contains('/') {
            gvk.group = o.group.clone();
        }
        gvk
    }

    fn field_path(&self) -> &str {
        match self.fieldref.field_path.as_str() {
            "" => "metadata.name",
            p => p,
        }
    }
}

/// The vars of a build so far, by name.
#[derive(Debug, Clone, Default)]
pub struct VarSet {
    vars: BTreeMap<String, Var>,
}

impl VarSet {
    /// kustomize's `VarSet.MergeSet`: a name already present is an error.
    pub fn absorb(&mut self, other: VarSet) -> Result<()> {
        for (name, var) in other.vars {
            self.add(name, var)?;
        }
        Ok(())
    }

    fn add(&mut self, name: String, var: Var) -> Result<()> {
        if self.vars.contains_key(&name) {
            return Err(Error::transform(format!(
                "var '{name}' already encountered"
            )));
        }
        self.vars.insert(name, var);
        Ok(())
    }

    /// kustomize's `MergeVars`: each var marks the one object it refers to (by any name the
    /// object has had) and joins the set.
    pub fn merge_declared(&mut self, declared: &[Var], acc: &mut [Resource]) -> Result<()> {
        for var in declared {
            let gvk = var.gvk();
            let target = ResId {
                gvk: gvk.clone(),
                name: var.objref.name.clone(),
                namespace: var.objref.namespace.clone(),
                scoped: true,
            };
            let exact = !target.namespace.is_empty() || target.gvk.is_cluster_scoped();
            let matches = |id: &ResId| {
                id.gvk == gvk && id.name == target.name && (!exact || id.equals(&target))
            };
            let matched: Vec<usize> = acc
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.is_empty())
                .filter(|(_, r)| {
                    r.prev_ids()
                        .iter()
                        .chain(std::iter::once(&r.cur_id()))
                        .any(matches)
                })
                .map(|(i, _)| i)
                .collect();
            if matched.len() > 1 {
                return Err(Error::transform(format!(
                    "found {} resId matches for var {} (unable to disambiguate)",
                    matched.len(),
                    var.name
                )));
            }
            if let Some(&i) = matched.first() {
                acc[i].ref_vars.push(var.name.clone());
            }
            self.add(var.name.clone(), var.clone())?;
        }
        Ok(())
    }

    /// kustomize's `ResolveVars`: replaces `$(NAME)` in the var-reference fields.
    pub fn resolve(&self, acc: &mut [Resource], fields: &[FieldSpec]) -> Result<()> {
        if self.vars.is_empty() {
            return Ok(());
        }
        let mut values = BTreeMap::new();
        for (name, var) in &self.vars {
            values.insert(name.as_str(), value_of(var, acc)?);
        }
        for r in acc.iter_mut() {
            let gvk = r.gvk();
            for spec in fields {
                fieldspec::apply(&mut r.obj, &gvk, spec, Create::Nothing, &mut |node| {
                    substitute_node(node, &values)
                })?;
            }
        }
        Ok(())
    }
}

fn value_of(var: &Var, acc: &[Resource]) -> Result<Value> {
    let Some(r) = acc.iter().find(|r| r.ref_vars.contains(&var.name)) else {
        return Err(Error::transform(format!(
            "var '{}' cannot be mapped to a field in the set of known resources",
            var.name
        )));
    };
    get_path(&r.obj, &field_path_parts(var.field_path())).ok_or_else(|| {
        Error::transform(format!(
            "field specified in var '{}' ({}) not found in corresponding resource {}",
            var.name,
            var.field_path(),
            r.cur_id()
        ))
    })
}

/// kyaml's field-path split for `GetFieldValue`: dots, with `list[2]` meaning index 2.
fn field_path_parts(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in split_dotted(path) {
        let indexed = part
            .strip_suffix(']')
            .and_then(|p| p.rsplit_once('['))
            .filter(|(_, i)| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
        match indexed {
            Some((field, index)) => {
                if !field.is_empty() {
                    out.push(field.to_string());
                }
                out.push(index.to_string());
            }
            None => out.push(part),
        }
    }
    out
}

fn substitute_node(node: &mut Value, values: &BTreeMap<&str, Value>) -> Result<()> {
    match node {
        Value::Null => Ok(()),
        Value::String(text) => {
            *node = substitute(text, values);
            Ok(())
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                if let Value::String(text) = v {
                    *v = substitute(text, values);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                let Value::String(text) = item else {
                    return Err(Error::transform("invalid value type expect a string"));
                };
                *item = substitute(text, values);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether a var's value can be substituted (kustomize leaves maps and lists alone).
fn primitive(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// kustomize's `DoReplacements`: `$$` is a literal `$`, `$(NAME)` is replaced when the var is
/// known; a string that is exactly one reference takes the value's type.
fn substitute(input: &str, values: &BTreeMap<&str, Value>) -> Value {
    let lookup = |name: &str| values.get(name).filter(|v| primitive(v));
    if let Some(name) = input.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
        && !name.contains(')')
        && let Some(v) = lookup(name)
    {
        return v.clone();
    }
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] != b'$' || cursor + 1 >= bytes.len() {
            cursor += 1;
            continue;
        }
        out.push_str(&input[checkpoint..cursor]);
        let rest = &input[cursor + 1..];
        let advance = match rest.as_bytes()[0] {
            b'$' => {
                out.push('$');
                1
            }
            b'(' => match rest.find(')') {
                Some(close) => {
                    let name = &rest[1..close];
                    match lookup(name) {
                        Some(v) => out.push_str(&tether_core::yaml::to_compact_string(v)),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    close + 1
                }
                None => {
                    out.push_str("$(");
                    1
                }
            },
            _ => {
                let c = rest.chars().next().map_or(0, char::len_utf8);
                out.push('$');
                out.push_str(&rest[..c]);
                c
            }
        };
        cursor += advance + 1;
        checkpoint = cursor;
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values() -> BTreeMap<&'static str, Value> {
        BTreeMap::from([("A", json!("x")), ("N", json!(8080))])
    }

    #[test]
    fn substitutes_like_kustomize() {
        let v = values();
        assert_eq!(substitute("$(A)", &v), json!("x"));
        assert_eq!(substitute("$(N)", &v), json!(8080));
        assert_eq!(substitute("p=$(N)/$(A)", &v), json!("p=8080/x"));
        assert_eq!(substitute("$$(A) $(B) $x $(", &v), json!("$(A) $(B) $x $("));
        assert_eq!(substitute("end$", &v), json!("end$"));
    }
}
