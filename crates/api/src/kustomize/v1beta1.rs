//! `kustomize.toolkit.fluxcd.io/v1beta1` Kustomization: deprecated, still served so that older
//! manifests apply unchanged. Fields as in Flux's last release serving it
//! (kustomize-controller v1.6), including the pre-inventory `snapshot` status.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::shared::{
    BetaDecryption as Decryption, DecryptionProvider, Image, Json6902Op, Json6902Operation,
    Json6902Patch, Patch, Selector, SubstituteKind, Validation,
};
use crate::{
    meta::{
        Duration, LocalObjectReference, NamespacedObjectKindReference, NamespacedObjectReference,
        conditions::conditions_schema,
    },
    schema::any_json_list_schema,
    string_enum::string_enum,
};

/// The desired state of a v1beta1 Kustomization.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Kustomization",
    plural = "kustomizations",
    singular = "kustomization",
    namespaced,
    status = "KustomizationStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta1 Kustomization is deprecated, upgrade to v1",
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "Builds and applies the manifests at a path of a source artifact (deprecated v1beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Kustomizations that must be ready before this one is reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<NamespacedObjectReference>>,
    /// Decryption of secrets in the build before they are applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// How often to reconcile.
    pub interval: Duration,
    /// How soon to retry after a failed reconciliation; the interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
    /// A Secret with the kubeconfig of a remote cluster to apply to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfig>,
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
    /// Strategic-merge patches as inline objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_list_schema")]
    pub patches_strategic_merge: Option<Vec<Value>>,
    /// JSON 6902 patches as structured operations.
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
    /// Time limit for applying and health-checking; the interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Validation mode, ignored as server-side apply always validates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// Recreates objects whose update fails on an immutable field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub force: Option<bool>,
}

string_enum! {
    /// The kinds a v1beta1 Kustomization can take manifests from.
    pub enum SourceKind {
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

/// The remote cluster of a v1beta1 Kustomization.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeConfig {
    /// A Secret with a self-contained kubeconfig under the key `value` or `value.yaml`.
    pub secret_ref: LocalObjectReference,
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

/// A ConfigMap or Secret holding post-build variables (v1beta1 has no `optional`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubstituteReference {
    /// Secret or ConfigMap.
    pub kind: SubstituteKind,
    /// Name of the object, in the Kustomization's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// The observed state of a v1beta1 Kustomization.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
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
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The kinds applied per namespace, used for garbage collection before inventories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
}

/// The applied kinds of a v1beta1 Kustomization.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Checksum of the applied manifests.
    pub checksum: String,
    /// The applied kinds, grouped by namespace.
    pub entries: Vec<SnapshotEntry>,
}

/// The kinds applied in one namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotEntry {
    /// The namespace; empty for cluster-scoped objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kinds keyed by their group/version/kind string.
    pub kinds: BTreeMap<String, String>,
}
