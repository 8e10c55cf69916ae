//! `values.schema.json` validation as Helm v4 does it (`ValidateAgainstSchema` in
//! `pkg/chart/common/util/jsonschema.go`): the coalesced values against the chart's schema,
//! then each enabled subchart's values (under its name or alias) against the subchart's
//! schema, recursively; failures are collected per chart into Helm's message
//! (`values don't meet the specifications of the schema(s) in the following chart(s):`).
//!
//! Helm v4.3.2 validates with santhosh-tekuri/jsonschema v6.0.3. Its messages, its error tree and its
//! number printing (through `golang.org/x/text/message`) are specific enough that no Rust
//! JSON Schema crate reproduces them, so this is a focused implementation of that library's
//! behaviour: `json` decodes the schema as Go does, `compile` resolves drafts, ids,
//! anchors and `$ref`s, `validate` checks the keywords in the library's order and builds
//! its error tree, `format` holds the format checks drafts before 2019-09 assert and
//! `number` the exact number comparisons and the printer's number format.
//!
//! Not reproduced: validating the schema against its metaschema (an invalid schema is
//! compiled as far as it reads; Helm reports the metaschema violation), remote and file
//! `$ref`s (refused, see `compile`), `$dynamicRef`/`$recursiveRef` (refused with a
//! message), and the exact wording of Go's `netip` and `url.Parse` errors beyond the common
//! ones (the `ipv6` and `uri` formats). Where Go walks a map (the instance's properties,
//! `dependencies`, `patternProperties`), Helm lists sibling errors in random order; here they
//! come sorted.

mod compile;
mod format;
pub(crate) mod json;
mod number;
mod validate;

use serde_json::Value as Json;

use crate::chart::Chart;
use crate::values::Values;

/// The line Helm puts before the failing charts.
pub const SCHEMA_ERROR_PREFIX: &str =
    "values don't meet the specifications of the schema(s) in the following chart(s):\n";

/// The library's first line, which Helm removes.
const VALIDATION_PREFIX: &str = "jsonschema validation failed with 'file:///values.schema.json#'\n";

/// Stack for validating on a thread of its own (evaluation recurses per value level and
/// per reference).
const VALIDATE_STACK_BYTES: usize = 512 << 20;

/// Validates `values` against one schema document: Helm's `ValidateAgainstSingleSchema`.
/// The error is what Helm prints for it (a validation failure ends with a newline).
pub fn validate_single(values: &Values, schema: &[u8]) -> Result<(), String> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("helm-schema".into())
            .stack_size(VALIDATE_STACK_BYTES)
            .spawn_scoped(scope, || validate_here(values, schema))
            .map_err(|e| format!("cannot start the schema validation thread: {e}"))?
            .join()
            .unwrap_or_else(|_| Err("unable to validate schema: validation panicked".into()))
    })
}

fn validate_here(values: &Values, schema: &[u8]) -> Result<(), String> {
    let doc = json::decode(schema)?;
    let compiled = compile::compile(&doc)?;
    let mut validator = validate::Validator::new(&compiled);
    let instance = Json::Object(values.clone());
    let err = validator.validate_root(&instance);
    if validator.too_deep {
        return Err(format!(
            "values.schema.json: validation nests deeper than {} levels",
            validate::MAX_DEPTH
        ));
    }
    if validator.exhausted {
        return Err(format!(
            "values.schema.json: validation needs more than {} steps",
            validate::MAX_STEPS
        ));
    }
    let Some(err) = err else { return Ok(()) };
    let mut text = String::new();
    err.display(&mut text, 0);
    let text = text.strip_prefix(VALIDATION_PREFIX).unwrap_or(&text);
    Err(format!("{text}\n"))
}

/// Helm's `ValidateAgainstSchema`: the messages of every failing chart, or `None`.
pub fn validate_chart(chart: &Chart, values: &Values) -> Option<String> {
    let mut out = String::new();
    if let Some(schema) = &chart.schema
        && let Err(e) = validate_single(values, schema)
    {
        out.push_str(&format!("{}:\n{e}", chart.name()));
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Json::Null) => {}
            Some(Json::Object(sub_values)) => {
                if let Some(e) = validate_chart(sub, sub_values) {
                    out.push_str(&e);
                }
            }
            Some(other) => out.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                go_type(other)
            )),
        }
    }
    (!out.is_empty()).then_some(out)
}

fn go_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "<nil>",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float64",
        Json::Number(_) => "int64",
        Json::String(_) => "string",
        Json::Array(_) => "[]interface {}",
        Json::Object(_) => "map[string]interface {}",
    }
}
