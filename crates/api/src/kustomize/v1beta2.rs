//! `kustomize.toolkit.fluxcd.io/v1beta2` Kustomization: deprecated, still served so that older
//! manifests apply unchanged. Fields as in Flux's last release serving it
//! (kustomize-controller v1.7).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::shared::{
    BetaDecryption as Decryption, CommonMetadata, DecryptionProvider, Image, Json6902Op,
    Json6902Operation, Json6902Patch, Patch, ResourceInventory, ResourceRef, Selector,
    SubstituteKind, SubstituteReference, Validation,
};
use crate::{
    meta::{
        DURATION_PATTERN, Duration, KubeConfigReference, NamespacedObjectKindReference,
        NamespacedObjectReference, conditions::conditions_schema,
    },
    schema::any_json_list_schema,
    string_enum::string_enum,
};

/// The desired state of a v1beta2 Kustomization.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Kustomization",
    plural = "kustomizations",
    singular = "kustomization",
    namespaced,
    status = "KustomizationStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 Kustomization is deprecated, upgrade to v1",
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "Builds and applies the manifests at a path of a source artifact (deprecated v1beta2 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Labels and annotations set on every applied object, overriding existing keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Kustomizations that must be ready before this one is reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<NamespacedObjectReference>>,
    /// Decryption of secrets in the build before they are applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// How often to reconcile.
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// How soon to retry after a failed reconciliation; the interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub retry_interval: Option<Duration>,
    /// Credentials of a remote cluster to apply to instead of the local one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// Directory in the artifact to build; the artifact root when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Variable substitution applied to the built manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Deletes objects that were applied before and are no longer in the build.
    pub prune: bool,
    /// Objects whose health is assessed after applying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<NamespacedObjectKindReference>>,
    /// Strategic-merge and JSON 6902 patches, each with an optional target selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,
    /// Deprecated: strategic-merge patches as inline objects; use patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_list_schema")]
    pub patches_strategic_merge: Option<Vec<Value>>,
    /// Deprecated: JSON 6902 patches as structured operations; use patches.
    #[serde(rename = "patchesJson6902", skip_serializing_if = "Option::is_none")]
    pub patches_json6902: Option<Vec<Json6902Patch>>,
    /// Image name, tag and digest overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,
    /// The ServiceAccount impersonated to apply the objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The source whose artifact holds the manifests.
    pub source_ref: CrossNamespaceSourceReference,
    /// Stops further reconciliations while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespace set on every namespaced object of the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,
    /// Time limit for applying and health-checking; derived from the interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// Recreates objects whose update fails on an immutable field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub force: Option<bool>,
    /// Waits for every applied object to become ready; healthChecks are then ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// Paths of kustomize Components, relative to path, added to the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Deprecated: validation mode, ignored as server-side apply always validates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
}

string_enum! {
    /// The kinds a v1beta2 Kustomization can take manifests from.
    pub enum SourceKind {
        /// An OCI artifact.
        OciRepository = "OCIRepository",
        /// A Git repository.
        GitRepository = "GitRepository",
        /// An S3-compatible bucket.
        Bucket = "Bucket",
    }
}

/// A source object, possibly in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: SourceKind,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the Kustomization's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Post-build variable substitution.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables and their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substitute: Option<BTreeMap<String, String>>,
    /// ConfigMaps and Secrets whose data keys are further variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substitute_from: Option<Vec<SubstituteReference>>,
}

/// The observed state of a v1beta2 Kustomization.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the Kustomization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The source revision last applied successfully.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The source revision of the last attempt, successful or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The objects applied successfully.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
}
