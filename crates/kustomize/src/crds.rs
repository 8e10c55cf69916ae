//! The `crds:` field: files of OpenAPI definitions (a map from Go type name to
//! `{Schema, Dependencies}`, not CustomResourceDefinition objects) whose properties carry
//! kustomize's extensions, turned into transformer configuration for the custom kinds:
//! `x-kubernetes-annotation` (commonAnnotations go there), `x-kubernetes-label-selector`
//! (commonLabels), `x-kubernetes-identity` (namePrefix) and `x-kubernetes-object-ref-kind` with
//! `-api-version` and optional `-name-key` (a name reference to that kind).

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::{BackRef, TransformerConfig, add_spec};
use crate::error::{Error, Result};
use crate::fieldspec::FieldSpec;
use crate::resource::Gvk;

const ANNOTATION: &str = "x-kubernetes-annotation";
const LABEL_SELECTOR: &str = "x-kubernetes-label-selector";
const IDENTITY: &str = "x-kubernetes-identity";
const REF_VERSION: &str = "x-kubernetes-object-ref-api-version";
const REF_KIND: &str = "x-kubernetes-object-ref-kind";
const REF_NAME_KEY: &str = "x-kubernetes-object-ref-name-key";

/// Deepest chain of `$ref`s followed from a type (kustomize follows cycles until it crashes).
const MAX_DEPTH: usize = 64;

/// Reads one `crds:` file (`path` names it in errors) into transformer configuration.
pub fn config_from_definitions(path: &Path, bytes: &[u8]) -> Result<TransformerConfig> {
    let unparsable = |message: String| Error::Config {
        path: path.into(),
        message: format!("unable to parse open API definition: {message}"),
    };
    if bytes.is_empty() {
        return Err(unparsable("the file is empty".into()));
    }
    let text = String::from_utf8_lossy(bytes);
    let doc = if bytes.first() == Some(&b'{') {
        serde_json::from_str(&text).map_err(|e| unparsable(e.to_string()))?
    } else {
        crate::yaml::from_str_yaml11(&text).map_err(|e| unparsable(e.to_string()))?
    };
    let definitions = match doc {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            return Err(unparsable(format!(
                "cannot unmarshal {} into a map of type names to definitions",
                json_kind(&other)
            )));
        }
    };
    let mut schemas = Map::new();
    for (name, definition) in &definitions {
        let Value::Object(fields) = definition else {
            return Err(unparsable(format!(
                "cannot unmarshal {} into the definition of {name}",
                json_kind(definition)
            )));
        };
        // Go's JSON decoding matches the `Schema` field name case-insensitively.
        let schema = fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("schema"))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null);
        schemas.insert(name.clone(), schema);
    }
    let mut config = TransformerConfig::default();
    for (name, schema) in &schemas {
        if !looks_like_a_kubernetes_type(schema) {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name);
        let gvk = Gvk {
            kind: kind.to_string(),
            ..Gvk::default()
        };
        let walk = Walk {
            schemas: &schemas,
            gvk: &gvk,
        };
        walk.type_into(&mut config, name, &mut Vec::new())
            .map_err(|message| Error::Config {
                path: path.into(),
                message,
            })?;
    }
    config.sort();
    Ok(config)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn looks_like_a_kubernetes_type(schema: &Value) -> bool {
    properties(schema).is_some_and(|p| {
        ["kind", "apiVersion", "metadata"]
            .iter()
            .all(|k| p.contains_key(*k))
    })
}

/// A string-valued extension (kustomize ignores extensions of other types).
fn extension<'a>(property: &'a Value, name: &str) -> Option<&'a str> {
    property
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

struct Walk<'a> {
    schemas: &'a Map<String, Value>,
    gvk: &'a Gvk,
}

impl Walk<'_> {
    fn spec(&self, path: &[String]) -> FieldSpec {
        FieldSpec::new(
            &self.gvk.group,
            &self.gvk.version,
            &self.gvk.kind,
            &path.join("/"),
            false,
        )
    }

    fn type_into(
        &self,
        config: &mut TransformerConfig,
        type_name: &str,
        path: &mut Vec<String>,
    ) -> std::result::Result<(), String> {
        let Some(schema) = self.schemas.get(type_name) else {
            return Ok(());
        };
        if path.len() > MAX_DEPTH {
            return Err(format!("$ref chain through {type_name} is too deep"));
        }
        for (name, property) in properties(schema).into_iter().flatten() {
            path.push(name.clone());
            self.property_into(config, property, path)?;
            path.pop();
        }
        Ok(())
    }

    fn property_into(
        &self,
        config: &mut TransformerConfig,
        property: &Value,
        path: &mut Vec<String>,
    ) -> std::result::Result<(), String> {
        if extension(property, ANNOTATION).is_some() {
            add_spec(&mut config.common_annotations, &self.spec(path))?;
        }
        if extension(property, LABEL_SELECTOR).is_some() {
            add_spec(&mut config.common_labels, &self.spec(path))?;
        }
        if extension(property, IDENTITY).is_some() {
            add_spec(&mut config.name_prefix, &self.spec(path))?;
        }
        if let (Some(version), Some(kind)) = (
            extension(property, REF_VERSION),
            extension(property, REF_KIND),
        ) {
            let key = extension(property, REF_NAME_KEY).unwrap_or("name");
            path.push(key.to_string());
            let referrer = self.spec(path);
            path.pop();
            config.add_back_ref(&BackRef {
                target: Gvk {
                    group: String::new(),
                    version: version.to_string(),
                    kind: kind.to_string(),
                },
                referrers: vec![referrer],
            })?;
        }
        if let Some(reference) = property.get("$ref").and_then(Value::as_str) {
            self.type_into(config, reference, path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_become_field_specs() {
        let doc = r#"{
          "x.v1.Bee": {"Schema": {"properties": {
            "apiVersion": {}, "kind": {}, "metadata": {},
            "spec": {"$ref": "x.v1.BeeSpec"}}}},
          "x.v1.BeeSpec": {"Schema": {"properties": {
            "secretRef": {"x-kubernetes-object-ref-api-version": "v1",
                          "x-kubernetes-object-ref-kind": "Secret"},
            "notes": {"x-kubernetes-annotation": ""},
            "ignored": {"x-kubernetes-annotation": true}}}}
        }"#;
        let config = config_from_definitions(Path::new("k.json"), doc.as_bytes());
        let config = config.ok().unwrap_or_default();
        assert_eq!(
            config.common_annotations,
            vec![FieldSpec::new("", "", "Bee", "spec/notes", false)]
        );
        assert_eq!(config.name_reference.len(), 1);
        assert_eq!(
            config.name_reference[0].referrers,
            vec![FieldSpec::new("", "", "Bee", "spec/secretRef/name", false)]
        );
    }

    #[test]
    fn a_custom_resource_definition_object_is_refused() {
        let doc = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
        let err = config_from_definitions(Path::new("crd.yaml"), doc.as_bytes()).err();
        assert!(err.is_some_and(|e| {
            e.to_string()
                .contains("unable to parse open API definition")
        }));
    }
}
