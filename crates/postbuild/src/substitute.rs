//! Substituting one built object, as kustomize-controller's post-build step does: skip objects
//! that opt out, skip everything when there are no variables (unless the strategy is `Always`),
//! otherwise write the object as YAML, expand `${...}` over the whole text and read it back.
//!
//! Working on the text rather than the value tree is what makes the result equal Flux's: a
//! substituted value is re-typed by YAML (`replicas: ${N}` becomes a number, `"${N}"` in the
//! source too, since quotes do not survive the build), a value containing `: ` in a plain
//! scalar is a YAML error, expressions may sit in keys, and a default split by line wrapping
//! at column 80 is folded back to a space. See [`crate::yaml`] for the fidelity of each half.

use serde_json::Value;
use tether_core::object::ObjectId;

use crate::envsubst::expand;
use crate::error::SubstituteError;
use crate::variables::Variables;
use crate::yaml::{LoadError, from_yaml, to_yaml};

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
    let text = to_yaml(object);
    let substituted = expand(&text, |name| vars.get(name), options.strict).map_err(|source| {
        SubstituteError::Expand {
            object: object_id(object),
            source,
        }
    })?;
    let value = from_yaml(&substituted).map_err(|e| match e {
        LoadError::Syntax(message) => SubstituteError::Yaml {
            object: object_id(object),
            message,
        },
        LoadError::Unsupported(message) => SubstituteError::NotJson {
            object: object_id(object),
            message,
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
