//! Reading fields of an object's JSON the way kstatus's helpers do: missing or mistyped fields
//! fall back to a default, except where kstatus treats a mistyped field as an error.

use serde::Deserialize;
use serde_json::Value;

use super::HealthError;

/// A condition as kstatus reads it from any object: every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct BasicCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

impl BasicCondition {
    pub fn is(&self, type_: &str, status: &str) -> bool {
        self.type_ == type_ && self.status == status
    }
}

/// The value at a dotted path, if every step is a map holding the next key.
pub(super) fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(object, |value, key| value.as_object()?.get(key))
}

/// An integer field, or `default` when absent or not an integer.
pub(super) fn int_field(object: &Value, path: &str, default: i64) -> i64 {
    lookup(object, path)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

/// A string field, or `default` when absent or not a string.
pub(super) fn str_field<'a>(object: &'a Value, path: &str, default: &'a str) -> &'a str {
    lookup(object, path)
        .and_then(Value::as_str)
        .unwrap_or(default)
}

/// An integer field that must be an integer when present.
pub(super) fn strict_int(object: &Value, path: &'static str) -> Result<Option<i64>, HealthError> {
    match strict_lookup(object, path)? {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(HealthError::InvalidField {
            path,
            expected: "an integer",
        }),
    }
}

/// A string field that must be a string when present.
pub(super) fn strict_str<'a>(
    object: &'a Value,
    path: &'static str,
) -> Result<Option<&'a str>, HealthError> {
    match strict_lookup(object, path)? {
        None => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or(HealthError::InvalidField {
            path,
            expected: "a string",
        }),
    }
}

/// Like [`lookup`], but a step that is present and not a map is an error; `null` is absent.
fn strict_lookup<'a>(
    object: &'a Value,
    path: &'static str,
) -> Result<Option<&'a Value>, HealthError> {
    let mut current = object;
    for key in path.split('.') {
        let map = current.as_object().ok_or(HealthError::InvalidField {
            path,
            expected: "a map on the way",
        })?;
        match map.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(next) => current = next,
        }
    }
    Ok(Some(current))
}

/// `status.conditions`, which must be a list of condition maps when present.
pub(super) fn conditions(object: &Value) -> Result<Vec<BasicCondition>, HealthError> {
    let status = match object.get("status") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(status) => status,
    };
    let Some(status) = status.as_object() else {
        return Err(HealthError::MalformedConditions(
            "status is not a map".into(),
        ));
    };
    match status.get("conditions") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(list) => Vec::<BasicCondition>::deserialize(list)
            .map_err(|e| HealthError::MalformedConditions(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_fields_fall_back() {
        let obj = json!({"spec": {"replicas": 3, "name": "x", "float": 1.5}, "status": "odd"});
        assert_eq!(int_field(&obj, "spec.replicas", 1), 3);
        assert_eq!(int_field(&obj, "spec.float", 1), 1);
        assert_eq!(int_field(&obj, "status.replicas", 7), 7);
        assert_eq!(str_field(&obj, "spec.name", ""), "x");
        assert_eq!(str_field(&obj, "spec.replicas", "d"), "d");
    }

    #[test]
    fn strict_fields_reject_wrong_types() {
        let obj = json!({"metadata": {"generation": "two", "deletionTimestamp": null}});
        assert!(strict_int(&obj, "metadata.generation").is_err());
        assert_eq!(strict_str(&obj, "metadata.deletionTimestamp"), Ok(None));
        assert_eq!(strict_int(&obj, "status.observedGeneration"), Ok(None));
        let bad_meta = json!({"metadata": 5});
        assert!(strict_int(&bad_meta, "metadata.generation").is_err());
    }

    #[test]
    fn conditions_must_be_a_list_of_maps() {
        assert!(conditions(&json!({})).is_ok_and(|c| c.is_empty()));
        assert!(conditions(&json!({"status": {"conditions": "x"}})).is_err());
        assert!(conditions(&json!({"status": {"conditions": [{"type": 1}]}})).is_err());
        assert!(conditions(&json!({"status": 3})).is_err());
        let ok =
            conditions(&json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
        assert!(ok.is_ok_and(|c| c[0].is("Ready", "True")));
    }
}
