//! Substituting one built object, as kustomize-controller's post-build step does: skip objects
//! that opt out, skip everything when there are no variables (unless the strategy is `Always`),
//! otherwise write the object as YAML, expand `${...}` over the whole text and read it back.
//!
//! Working on the text rather than the value tree is what makes the result equal Flux's: a
//! substituted value is re-typed by YAML (`replicas: ${N}` becomes a number, `"${N}"` in the
//! source too, since quotes do not survive the build), a value containing `: ` in a plain
//! scalar is a YAML error, expressions may sit in keys, and a default split by line wrapping
//! at column 80 is folded back to a space. See [`tether_core::yaml`] for the fidelity of each half.

use serde_json::Value;
use tether_core::object::ObjectId;

use crate::envsubst::expand;
use crate::error::SubstituteError;
use crate::variables::Variables;
use tether_core::yaml::{self, YamlErrorKind};

/// The label and annotation that turn substitution off for an object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The value of [`SUBSTITUTE_KEY`] that turns substitution off.
pub const DISABLED_VALUE: &str = "disabled";

/// `spec.postBuild.substituteStrategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubstituteStrategy {
    /// Substitute only when at least one variable is set (Flux's default).
    #[default]
    WithVariables,
    /// Substitute even without variables, so that `${var:=default}` expressions apply.
    Always,
}

/// How to substitute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubstituteOptions {
    /// Fail on a variable that is not set and has no default. Defaults to `true`: the
    /// `StrictPostBuildSubstitutions` feature gate is on by default since kustomize-controller
    /// v1.9 (Flux v2.9); `--feature-gates=StrictPostBuildSubstitutions=false` turns it off.
    pub strict: bool,
    /// When to substitute at all.
    pub strategy: SubstituteStrategy,
}

impl Default for SubstituteOptions {
    fn default() -> Self {
        Self {
            strict: true,
            strategy: SubstituteStrategy::WithVariables,
        }
    }
}

/// Returns `object` with its variables substituted, or unchanged when it opts out or there is
/// nothing to do.
pub fn substitute_object(
    object: &Value,
    vars: &Variables,
    options: &SubstituteOptions,
) -> Result<Value, SubstituteError> {
    if is_disabled(object)
        || (vars.is_empty() && options.strategy == SubstituteStrategy::WithVariables)
    {
        return Ok(object.clone());
    }
    let text = yaml::to_string(object);
    let substituted = expand(&text, |name| vars.get(name), options.strict).map_err(|source| {
        SubstituteError::Expand {
            object: object_id(object),
            source,
        }
    })?;
    let value = yaml::from_str_yaml11(&substituted).map_err(|e| match e.kind {
        YamlErrorKind::Syntax => SubstituteError::Yaml {
            object: object_id(object),
            message: e.to_string(),
        },
        YamlErrorKind::NotJson => SubstituteError::NotJson {
            object: object_id(object),
            message: e.message,
        },
    })?;
    if !value.is_object() {
        return Err(SubstituteError::NotJson {
            object: object_id(object),
            message: "substituted document is not a mapping".into(),
        });
    }
    Ok(value)
}

/// Whether the object carries `kustomize.toolkit.fluxcd.io/substitute: disabled` as a label or
/// an annotation.
pub fn is_disabled(object: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some(DISABLED_VALUE)
    })
}

/// The object's identity, read leniently: error messages must not fail on a malformed object.
fn object_id(object: &Value) -> ObjectId {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let api_version = text("/apiVersion");
    let group = api_version
        .rsplit_once('/')
        .map(|(group, _)| group.to_owned())
        .unwrap_or_default();
    ObjectId {
        namespace: text("/metadata/namespace"),
        name: text("/metadata/name"),
        group,
        kind: text("/kind"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::envsubst::ExpandError;
    use crate::variables::Origin;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        let mut vars = Variables::new();
        for (name, value) in pairs {
            vars.insert(name, value, &Origin::Inline)
                .expect("valid name");
        }
        vars
    }

    fn config_map(data: Value, metadata: Value) -> Value {
        let mut object = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app", "namespace": "apps"}, "data": data
        });
        if let (Some(meta), Some(extra)) =
            (object["metadata"].as_object_mut(), metadata.as_object())
        {
            meta.extend(extra.clone());
        }
        object
    }

    const STRICT: SubstituteOptions = SubstituteOptions {
        strict: true,
        strategy: SubstituteStrategy::WithVariables,
    };

    #[test]
    fn disabled_by_label_or_annotation_is_left_alone() {
        for field in ["labels", "annotations"] {
            let object = config_map(
                json!({"a": "${MISSING}"}),
                json!({field: {SUBSTITUTE_KEY: DISABLED_VALUE}}),
            );
            let out = substitute_object(&object, &vars(&[("x", "1")]), &STRICT);
            assert_eq!(out, Ok(object), "{field}");
        }
    }

    #[test]
    fn other_values_of_the_opt_out_key_do_not_disable() {
        let object = config_map(
            json!({"a": "${x}"}),
            json!({"annotations": {SUBSTITUTE_KEY: "enabled"}}),
        );
        let out = substitute_object(&object, &vars(&[("x", "1")]), &STRICT).expect("ok");
        assert_eq!(out["data"]["a"], json!(1));
    }

    #[test]
    fn without_variables_only_always_substitutes() {
        let object = config_map(json!({"a": "${x:=dflt}"}), json!({}));
        let none = Variables::new();
        assert_eq!(
            substitute_object(&object, &none, &STRICT),
            Ok(object.clone())
        );
        let always = SubstituteOptions {
            strategy: SubstituteStrategy::Always,
            ..STRICT
        };
        let out = substitute_object(&object, &none, &always).expect("ok");
        assert_eq!(out["data"]["a"], json!("dflt"));
    }

    #[test]
    fn strict_error_names_the_object_and_variable() {
        let object = config_map(json!({"a": "${MISSING}"}), json!({}));
        let err = substitute_object(&object, &vars(&[("x", "1")]), &STRICT).expect_err("strict");
        assert_eq!(
            err.to_string(),
            "ConfigMap/apps/app post build failed: variable substitution failed: \
             variable not set (strict mode): \"MISSING\""
        );
        assert!(matches!(
            err,
            SubstituteError::Expand {
                source: ExpandError::VariableNotSet { .. },
                ..
            }
        ));
    }

    #[test]
    fn non_strict_unset_is_empty_and_empty_is_null() {
        let object = config_map(json!({"a": "${MISSING}", "b": "x-${MISSING}"}), json!({}));
        let lax = SubstituteOptions {
            strict: false,
            ..STRICT
        };
        let out = substitute_object(&object, &vars(&[("x", "1")]), &lax).expect("ok");
        assert_eq!(out["data"], json!({"a": null, "b": "x-"}));
    }

    #[test]
    fn cluster_scoped_objects_are_named_kind_slash_name() {
        let object = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team", "labels": {"a": "${"}}});
        let err = substitute_object(&object, &vars(&[("x", "1")]), &STRICT).expect_err("parse");
        assert!(
            err.to_string()
                .starts_with("Namespace/team post build failed: ")
        );
        assert_eq!(err.object().kind, "Namespace");
    }

    #[test]
    fn a_value_with_a_colon_and_space_breaks_the_yaml() {
        let object = config_map(json!({"a": "${v}"}), json!({}));
        let err = substitute_object(&object, &vars(&[("v", "k: v")]), &STRICT).expect_err("yaml");
        assert!(matches!(err, SubstituteError::Yaml { .. }), "{err}");
    }

    #[test]
    fn a_document_separator_in_a_value_cannot_split_the_object() {
        let object = config_map(json!({"a": "${v}"}), json!({}));
        let sep = vars(&[("v", "x\n---\nkind: Secret")]);
        let err = substitute_object(&object, &sep, &STRICT).expect_err("one line");
        assert!(matches!(err, SubstituteError::Yaml { .. }), "{err}");
        let out = substitute_object(&object, &vars(&[("v", "x\n---\ny")]), &STRICT).expect("ok");
        assert_eq!(out["data"]["a"], json!("x---y"));
        assert_eq!(out["kind"], json!("ConfigMap"));
    }

    #[test]
    fn objects_are_substituted_independently() {
        let good = config_map(json!({"a": "${x}"}), json!({}));
        let bad = config_map(json!({"a": "${MISSING}"}), json!({}));
        let vars = vars(&[("x", "v")]);
        let results: Vec<_> = [&good, &bad, &good]
            .into_iter()
            .map(|o| substitute_object(o, &vars, &STRICT))
            .collect();
        assert!(results[1].is_err());
        assert_eq!(results[0], results[2]);
        assert_eq!(
            results[0].as_ref().map(|o| o["data"]["a"].clone()),
            Ok(json!("v"))
        );
    }

    #[test]
    fn nested_default_and_escape_in_an_object() {
        let object = config_map(
            json!({"a": "${a:=${b}}", "b": "$${x}", "c": "$x"}),
            json!({}),
        );
        let out = substitute_object(&object, &vars(&[("b", "inner")]), &STRICT).expect("ok");
        assert_eq!(out["data"], json!({"a": "inner", "b": "${x}", "c": "$x"}));
    }

    #[test]
    fn default_options_are_strict_with_variables() {
        assert_eq!(SubstituteOptions::default(), STRICT);
    }
}
