//! Kustomization parts identical in more than one served version (most from
//! `fluxcd/pkg/apis/kustomize`); each version module re-exports the ones it uses.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{meta::LocalObjectReference, schema::any_json_schema, string_enum::string_enum};

/// An image override: a new name, tag or digest for every use of a tag-less image name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// The image name to match, without tag.
    pub name: String,
    /// Replacement for the image name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// Replacement for the tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// Replacement digest; when set, newTag is ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Selects objects: an object matches when it matches every field that is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// API group of the objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version of the objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind of the objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace of the objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the objects (a regular expression in kustomize).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A label-selector expression evaluated against the objects' annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// A label-selector expression evaluated against the objects' labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// An inline strategic-merge patch or JSON 6902 patch, and the objects it applies to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Patch {
    /// The patch document: a strategic-merge patch, or a JSON 6902 list of operations.
    pub patch: String,
    /// The objects to patch; for a strategic-merge patch, by default the object it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

string_enum! {
    /// A JSON 6902 (JSON Patch) operation.
    pub enum Json6902Op {
        /// Fails the patch unless the value at path equals value.
        Test = "test",
        /// Removes the value at path.
        Remove = "remove",
        /// Adds value at path.
        Add = "add",
        /// Replaces the value at path.
        Replace = "replace",
        /// Moves the value at from to path.
        Move = "move",
        /// Copies the value at from to path.
        Copy = "copy",
    }
}

/// One JSON 6902 operation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Json6902Operation {
    /// The operation.
    pub op: Json6902Op,
    /// JSON pointer to the location the operation acts on.
    pub path: String,
    /// JSON pointer to the source location, for move and copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value to add, replace or test against; any JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_schema")]
    pub value: Option<Value>,
}

/// A JSON 6902 patch given as structured operations, and the objects it applies to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Json6902Patch {
    /// The operations, applied in order.
    pub patch: Vec<Json6902Operation>,
    /// The objects to patch.
    pub target: Selector,
}

/// Labels and annotations set on every applied object, overriding existing keys.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonMetadata {
    /// Annotations to add.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels to add.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

string_enum! {
    /// The kind of object post-build variables are read from.
    pub enum SubstituteKind {
        /// A Secret; its decoded data keys are the variable names.
        Secret = "Secret",
        /// A ConfigMap; its data keys are the variable names.
        ConfigMap = "ConfigMap",
    }
}

/// A ConfigMap or Secret, in the Kustomization's namespace, holding post-build variables.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubstituteReference {
    /// Secret or ConfigMap.
    pub kind: SubstituteKind,
    /// Name of the object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// When true, a missing object counts as one with no variables instead of an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub optional: Option<bool>,
}

string_enum! {
    /// The engine that decrypts secrets before they are applied.
    #[derive(Default)]
    pub enum DecryptionProvider {
        /// Mozilla SOPS.
        #[default]
        Sops = "sops",
    }
}

/// How the beta versions decrypt manifests before applying them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BetaDecryption {
    /// The decryption engine.
    pub provider: DecryptionProvider,
    /// A Secret with the private keys used for decryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

string_enum! {
    /// How the beta versions validate manifests before applying (ignored since server-side
    /// apply does the validation).
    pub enum Validation {
        /// No validation.
        None = "none",
        /// Client-side validation.
        Client = "client",
        /// Server-side dry-run validation.
        Server = "server",
    }
}

/// The objects a Kustomization applied, which it prunes when they leave the build.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInventory {
    /// The applied objects.
    pub entries: Vec<ResourceRef>,
}

/// One applied object.
#[derive(
    Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// The object's identity, `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// The API version of the object's kind.
    pub v: String,
}
