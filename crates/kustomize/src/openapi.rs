//! A custom OpenAPI schema named by the kustomization's `openapi: path:`. kustomize (kyaml's
//! openapi package) then takes strategic-merge list strategies from it: a definition carrying
//! `x-kubernetes-group-version-kind` is the schema of that resource type; a list field merges by
//! key when its `x-kubernetes-patch-strategy` includes `merge`, the keys being
//! `x-kubernetes-list-map-keys` if given, else `x-kubernetes-patch-merge-key`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::yaml;

/// The definitions of a custom schema, indexed by the resource types they describe.
#[derive(Debug, Default)]
pub struct CustomSchema {
    definitions: Map<String, Value>,
    by_type: HashMap<(String, String), String>,
}

/// What a schema says about one list field.
#[derive(Debug, PartialEq, Eq)]
pub enum ListSchema {
    /// The field is not in the schema: kustomize falls back to its default.
    Unknown,
    /// The schema asks to merge by these keys (empty: a set of scalars).
    Merge(Vec<String>),
    /// The field is in the schema without a merge strategy: the patch replaces it.
    Replace,
}

impl CustomSchema {
    /// Parses a JSON or YAML OpenAPI (swagger) document from `file`.
    pub fn parse(file: &str, text: &str) -> Result<CustomSchema> {
        let doc = yaml::from_str_multi(text)
            .map_err(|e| Error::transform(format!("invalid schema file {file}: {e}")))?;
        let definitions = doc
            .into_iter()
            .next()
            .and_then(|d| d.get("definitions").and_then(Value::as_object).cloned())
            .unwrap_or_default();
        let mut by_type = HashMap::new();
        for (name, def) in &definitions {
            let gvks = def.get("x-kubernetes-group-version-kind");
            for gvk in gvks.and_then(Value::as_array).into_iter().flatten() {
                let part = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or("");
                let api_version = match part("group") {
                    "" => part("version").to_string(),
                    g => format!("{g}/{}", part("version")),
                };
                by_type.insert((api_version, part("kind").to_string()), name.clone());
            }
        }
        Ok(CustomSchema {
            definitions,
            by_type,
        })
    }

    /// The schema of resources of this type, if the document describes it.
    pub fn resource(&self, api_version: &str, kind: &str) -> Option<&Value> {
        let key = (api_version.to_string(), kind.to_string());
        self.definitions.get(self.by_type.get(&key)?)
    }

    /// The list strategy of the field at `path` (field names; list levels are implicit).
    pub fn list_schema(&self, root: &Value, path: &[String]) -> ListSchema {
        let mut node = Some(self.resolve(root));
        for field in path {
            node = node.and_then(|n| self.field(self.elements_or_self(n), field));
        }
        match node {
            None => ListSchema::Unknown,
            Some(n) => merge_keys(n).map_or(ListSchema::Replace, ListSchema::Merge),
        }
    }

    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(r) = node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let name = r.strip_prefix("#/definitions/").unwrap_or(r);
            match self.definitions.get(name) {
                Some(d) => node = d,
                None => break,
            }
        }
        node
    }

    fn elements_or_self<'a>(&'a self, node: &'a Value) -> &'a Value {
        let is_array = node.get("type").and_then(Value::as_str) == Some("array");
        match node.get("items") {
            Some(items) if is_array => self.resolve(items),
            _ => node,
        }
    }

    fn field<'a>(&'a self, node: &'a Value, name: &str) -> Option<&'a Value> {
        let found = node.get("properties").and_then(|p| p.get(name));
        let found = found.or_else(|| node.get("additionalProperties").filter(|a| a.is_object()));
        found.map(|f| self.resolve(f))
    }
}

fn merge_keys(node: &Value) -> Option<Vec<String>> {
    let strategy = node.get("x-kubernetes-patch-strategy")?.as_str()?;
    if !strategy.split(',').any(|s| s == "merge") {
        return None;
    }
    if let Some(keys) = node
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
    {
        return Some(
            keys.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
        );
    }
    let key = node
        .get("x-kubernetes-patch-merge-key")
        .and_then(Value::as_str);
    Some(key.map(String::from).into_iter().collect())
}
