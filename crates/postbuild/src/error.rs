//! The error of substituting one object: which object, and why.

use tether_core::object::ObjectId;

use crate::envsubst::ExpandError;

/// Substitution failed for an object. Messages start with the object (`Kind/namespace/name`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    /// The object's YAML has a malformed `${` expression, or (strict mode) references a
    /// variable that is not set and has no default.
    #[error("{object} post build failed: variable substitution failed: {source}")]
    Expand {
        /// The object being substituted.
        object: ObjectId,
        /// The envsubst error, worded as Flux words it.
        source: ExpandError,
    },
    /// The substituted text is not valid YAML, e.g. a value containing `: ` landed in a plain
    /// scalar.
    #[error("{object} post build failed: YAMLToJSON: {message}")]
    Yaml {
        /// The object being substituted.
        object: ObjectId,
        /// The YAML parser's message.
        message: String,
    },
    /// The substituted text is valid YAML but not a JSON object (e.g. `.nan`, a null key, or a
    /// document that is no longer a mapping).
    #[error("{object} post build failed: {message}")]
    NotJson {
        /// The object being substituted.
        object: ObjectId,
        /// What could not be represented.
        message: String,
    },
}

impl SubstituteError {
    /// The object the error is about.
    pub fn object(&self) -> &ObjectId {
        match self {
            Self::Expand { object, .. }
            | Self::Yaml { object, .. }
            | Self::NotJson { object, .. } => object,
        }
    }
}
