//! OpenAPI v3 schemas for CRD versions: a schemars generator tuned to produce the structural,
//! `$ref`-free, `nullable`-free schemas controller-gen writes for Flux, and the root object
//! schema (apiVersion, kind, metadata, spec, status with its `observedGeneration: -1` default).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use schemars::{
    JsonSchema, Schema, SchemaGenerator,
    generate::SchemaSettings,
    transform::{
        RemoveRefSiblings, ReplaceBoolSchemas, ReplaceConstValue, ReplacePrefixItems,
        ReplaceUnevaluatedProperties, Transform, transform_subschemas,
    },
};
use serde_json::{Map, Value, json};

/// Keys dropped from every schema node: controller-gen writes none of them.
const DROPPED_KEYS: &[&str] = &[
    "$schema",
    "title",
    "nullable",
    "examples",
    "$defs",
    "definitions",
];

/// Builds the `openAPIV3Schema` of one CRD version whose object has `Spec` and `Status`.
///
/// # Panics
///
/// Panics when the schemas generated from the Rust types do not form a `JSONSchemaProps`;
/// that is a bug in this crate's type definitions, caught by its unit tests.
pub fn root_schema<Spec: JsonSchema, Status: JsonSchema>(description: &str) -> JSONSchemaProps {
    let mut generator = generator();
    let spec = generator.root_schema_for::<Spec>().to_value();
    let mut status = generator.root_schema_for::<Status>().to_value();
    if let Some(status) = status.as_object_mut() {
        status.insert("default".into(), json!({ "observedGeneration": -1 }));
    }
    object_schema(description, spec, Some(status))
}

/// Builds the `openAPIV3Schema` of one CRD version whose object has a `Spec` and no status
/// (notification-controller's v1beta3 Provider and Alert).
///
/// # Panics
///
/// As [`root_schema`].
pub fn spec_only_root_schema<Spec: JsonSchema>(description: &str) -> JSONSchemaProps {
    let spec = generator().root_schema_for::<Spec>().to_value();
    object_schema(description, spec, None)
}

/// The object schema: apiVersion, kind, metadata, spec and, if any, status.
fn object_schema(description: &str, spec: Value, status: Option<Value>) -> JSONSchemaProps {
    let mut root = json!({
        "description": description,
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "The versioned schema of this representation of an object; \
                    servers convert recognized schemas to the latest internal value and may \
                    reject unrecognized values.",
                "type": "string",
            },
            "kind": {
                "description": "The REST resource this object represents, in CamelCase; \
                    servers infer it from the endpoint the client submits requests to.",
                "type": "string",
            },
            "metadata": { "type": "object" },
            "spec": strip_root_keys(spec),
        },
    });
    if let (Some(status), Some(properties)) = (status, root["properties"].as_object_mut()) {
        properties.insert("status".into(), strip_root_keys(status));
    }
    // The value above is built from schemas this crate generates; failing to read it back is a
    // programming error that the crate's schema tests catch.
    serde_json::from_value(root).expect("generated CRD schema must be a valid JSONSchemaProps")
}

/// A generator that inlines every subschema and leaves optional values non-nullable, as
/// controller-gen does for `omitempty` fields.
fn generator() -> SchemaGenerator {
    SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
            s.transforms = vec![
                Box::new(ReplaceUnevaluatedProperties::default()),
                Box::new(replace_bool_schemas()),
                Box::new(RemoveRefSiblings::default()),
                Box::new(ReplaceConstValue::default()),
                Box::new(ReplacePrefixItems::default()),
                Box::new(ControllerGenStyle),
            ];
        })
        .into_generator()
}

fn replace_bool_schemas() -> ReplaceBoolSchemas {
    let mut transform = ReplaceBoolSchemas::default();
    transform.skip_additional_properties = true;
    transform
}

/// A root schema's own keys that have no place once it is nested under `properties`.
fn strip_root_keys(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        for key in DROPPED_KEYS {
            object.remove(*key);
        }
    }
    schema
}

/// Rewrites schemars output into controller-gen's shape, bottom-up:
/// `Option<T>` (a `null` type, a `null` enum value or an `anyOf` with a null branch) becomes
/// plain `T`, and titles, `nullable` and null defaults are dropped.
#[derive(Debug, Clone, Copy)]
struct ControllerGenStyle;

impl Transform for ControllerGenStyle {
    fn transform(&mut self, schema: &mut Schema) {
        transform_subschemas(self, schema);
        let Some(node) = schema.as_object_mut() else {
            return;
        };
        drop_null_type(node);
        drop_null_enum_value(node);
        for combinator in ["anyOf", "oneOf"] {
            hoist_single_non_null_branch(node, combinator);
        }
        for key in DROPPED_KEYS {
            node.remove(*key);
        }
        if node.get("default") == Some(&Value::Null) {
            node.remove("default");
        }
    }
}

/// `type: [T, "null"]` becomes `type: T`.
fn drop_null_type(node: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = node.get_mut("type") else {
        return;
    };
    types.retain(|t| t != "null");
    if let [single] = types.as_slice() {
        let single = single.clone();
        node.insert("type".into(), single);
    }
}

/// `enum: [a, b, null]` (an optional enum) becomes `enum: [a, b]`.
fn drop_null_enum_value(node: &mut Map<String, Value>) {
    if let Some(Value::Array(values)) = node.get_mut("enum")
        && values.iter().any(|v| !v.is_null())
    {
        values.retain(|v| !v.is_null());
    }
}

/// `anyOf: [S, null]` becomes `S`, merged under the node's own keys (its description wins).
fn hoist_single_non_null_branch(node: &mut Map<String, Value>, combinator: &str) {
    let Some(Value::Array(branches)) = node.get(combinator) else {
        return;
    };
    let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
    let [Value::Object(branch)] = non_null.as_slice() else {
        return;
    };
    let branch = branch.clone();
    node.remove(combinator);
    for (key, value) in branch {
        node.entry(key).or_insert(value);
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type") == Some(&json!("null"))
        || schema.get("enum") == Some(&json!([null]))
        || schema.get("const") == Some(&Value::Null)
}

/// Schema of an arbitrary JSON value (`apiextensionsv1.JSON` in Go): kept as is by the server.
pub fn any_json_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema of a list of arbitrary JSON values.
pub fn any_json_list_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true },
    })
}

/// Schema of a string field whose Rust type is a closed set but whose Go type is a plain
/// string without an enum marker (so the CRD accepts any string).
pub fn plain_string_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({ "type": "string" })
}

/// Schema of a Go `int` field: controller-gen writes a bare `type: integer`, without the
/// `format: int64` schemars gives an `i64`.
pub fn plain_integer_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({ "type": "integer" })
}

/// Schema of a `metav1.LabelSelector` as controller-gen writes it: the upstream type with its
/// atomic list and map markers (which the k8s-openapi schema lacks).
pub fn label_selector_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "object",
        "properties": {
            "matchExpressions": {
                "description": "Label selector requirements, ANDed.",
                "type": "array",
                "items": {
                    "description": "A key, an operator and values relating them.",
                    "type": "object",
                    "properties": {
                        "key": {
                            "description": "The label key the selector applies to.",
                            "type": "string",
                        },
                        "operator": {
                            "description": "The key's relationship to the values: In, NotIn, \
                                Exists or DoesNotExist.",
                            "type": "string",
                        },
                        "values": {
                            "description": "The values; non-empty for In and NotIn, empty for \
                                Exists and DoesNotExist.",
                            "type": "array",
                            "items": { "type": "string" },
                            "x-kubernetes-list-type": "atomic",
                        },
                    },
                    "required": ["key", "operator"],
                },
                "x-kubernetes-list-type": "atomic",
            },
            "matchLabels": {
                "description": "Labels an object must all carry; each is equivalent to an `In` \
                    expression with a single value.",
                "type": "object",
                "additionalProperties": { "type": "string" },
            },
        },
        "x-kubernetes-map-type": "atomic",
    })
}

/// Adds `field` to the `required` list of an object schema, keeping the list in the order of
/// `properties`. For fields that serde defaults (so that manifests written before the API
/// server applied the schema default still parse) but that the CRD requires, as controller-gen
/// writes `+required` fields with a default.
pub fn add_required(schema: &mut Schema, field: &str) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let order: Vec<String> = object
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let required = object
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(names) = required
        && !names.iter().any(|n| n == field)
    {
        names.push(Value::String(field.to_owned()));
        names.sort_by_key(|n| order.iter().position(|p| n == p.as_str()));
    }
}
