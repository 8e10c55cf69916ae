//! Flux's post-build variable substitution (`spec.postBuild` of a Kustomization), as a pure
//! library: [`Variables`] merged from `substituteFrom` sources and `substitute`, and
//! [`substitute_object`] expanding them in each built object exactly as kustomize-controller
//! v1.9 (Flux v2.9) does, through the same YAML text round trip and the same envsubst dialect
//! ([`envsubst`]).
//!
//! ```
//! use serde_json::json;
//! use tether_postbuild::{SubstituteOptions, VariableSource, Variables, substitute_object};
//!
//! let sources = [VariableSource::config_map("cluster-vars", [("replicas", "3")])];
//! let vars = Variables::resolve(&sources, [("env", "prod")]).unwrap();
//! let object = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "labels": {"env": "${env}", "tier": "${tier:=web}"}},
//!     "spec": {"replicas": "${replicas}"}
//! });
//! let out = substitute_object(&object, &vars, &SubstituteOptions::default()).unwrap();
//! assert_eq!(out["spec"]["replicas"], json!(3));
//! assert_eq!(out["metadata"]["labels"], json!({"env": "prod", "tier": "web"}));
//! ```
#![forbid(unsafe_code)]

pub mod envsubst;
mod error;
mod substitute;
mod variables;

pub use error::SubstituteError;
pub use substitute::{
    DISABLED_VALUE, SUBSTITUTE_KEY, SubstituteOptions, SubstituteStrategy, is_disabled,
    substitute_object,
};
pub use variables::{
    InvalidName, NAME_PATTERN, Origin, SourceKind, VariableSource, Variables, is_valid_name,
};
