//! Types Flux shares between its API groups (`fluxcd/pkg/apis/meta` and `.../acl`): object
//! references, the source `Artifact`, reconciliation history snapshots, the cross-namespace
//! ACL of the beta source APIs, annotations, durations and conditions.

pub mod conditions;
mod duration;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use duration::{DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, DurationError};

/// Annotation whose change in value asks for a reconciliation outside the interval; the handled
/// value is mirrored to `status.lastHandledReconcileAt`.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
/// Annotation asking for a one-off forced reconciliation; honoured when its value equals
/// the value of [`RECONCILE_REQUEST_ANNOTATION`].
pub const FORCE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/forceAt";
/// Finalizer Flux sets on every object it reconciles.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// The pattern of an artifact digest, `<algorithm>:<checksum>`.
pub const ARTIFACT_DIGEST_PATTERN: &str = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";

/// A string that is not one of the values of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {type_name}")]
pub struct UnknownEnumValue {
    /// The Rust type that was asked for.
    pub type_name: &'static str,
    /// The offending value.
    pub value: String,
}

/// Names an object in the namespace of the object that refers to it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// Name of the referent.
    pub name: String,
}

/// Names an object in any namespace; without a namespace it means the referrer's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectReference {
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; defaults to the namespace of the referring object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A dependency on another object, optionally judged ready by a CEL expression.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; defaults to the namespace of the referring object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A CEL expression evaluated against the dependency; when set it replaces the built-in
    /// readiness check (or adds to it under the `AdditiveCELDependencyCheck` feature gate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

/// Names an object of a given kind in any namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectKindReference {
    /// API version of the referent; the server's preferred version when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; defaults to the namespace of the referring object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Names a Secret in the referrer's namespace and, optionally, one of its keys.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    /// Name of the Secret.
    pub name: String,
    /// Key in the Secret; an implementation-specific default key when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Where to find the credentials for a remote cluster: exactly one of a ConfigMap describing a
/// cloud provider's cluster, or a Secret holding a kubeconfig.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified",
        "rule": "has(self.configMapRef) || has(self.secretRef)",
    },
    {
        "message": "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified",
        "rule": "!has(self.configMapRef) || !has(self.secretRef)",
    },
]))]
pub struct KubeConfigReference {
    /// A ConfigMap with the keys `provider` (aws, azure, gcp or generic), and optionally
    /// `cluster`, `address`, `ca.crt`, `audiences` and `serviceAccountName`, from which the
    /// controller builds a kubeconfig using workload identity. Excludes secretRef.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<LocalObjectReference>,
    /// A Secret holding a self-contained kubeconfig under `key` (default `value`).
    /// Excludes configMapRef.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyReference>,
}

/// Keys of the ConfigMap a [`KubeConfigReference::config_map_ref`] points at.
pub mod kubeconfig_keys {
    /// The cloud provider: `aws`, `azure`, `gcp` or `generic`.
    pub const PROVIDER: &str = "provider";
    /// The cluster's resource name in the provider's API.
    pub const CLUSTER: &str = "cluster";
    /// The address of the remote API server.
    pub const ADDRESS: &str = "address";
    /// The PEM CA certificate of the remote API server.
    pub const CA_CERT: &str = "ca.crt";
    /// Line-separated audiences for the ServiceAccount token.
    pub const AUDIENCES: &str = "audiences";
    /// The ServiceAccount whose token authenticates to the remote cluster.
    pub const SERVICE_ACCOUNT_NAME: &str = "serviceAccountName";
}

/// The output of a source reconciliation: a tarball in the controller's storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Digest of the file, as `<algorithm>:<checksum>`.
    #[schemars(pattern(ARTIFACT_DIGEST_PATTERN))]
    pub digest: String,
    /// Path of the file relative to the root of the artifact storage.
    pub path: String,
    /// HTTP address from which the file can be downloaded.
    pub url: String,
    /// Human-readable revision in the origin system, e.g. `main@sha1:<commit>`.
    pub revision: String,
    /// When the artifact was last updated.
    pub last_update_time: Time,
    /// Size of the file in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Upstream metadata such as OCI annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Artifact {
    /// Whether this artifact is at `revision`.
    pub fn has_revision(&self, revision: &str) -> bool {
        self.revision == revision
    }

    /// Whether this artifact has `digest`.
    pub fn has_digest(&self, digest: &str) -> bool {
        self.digest == digest
    }
}

/// The most snapshots `status.history` keeps.
pub const HISTORY_MAX_SIZE: usize = 5;

/// One entry of `status.history`: the outcome of reconciling one set of objects (one digest),
/// most recent entry first in the list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Checksum of the reconciled objects, as `<algorithm>:<hex>`.
    pub digest: String,
    /// When this digest was first reconciled.
    pub first_reconciled: Time,
    /// When this digest was last reconciled.
    pub last_reconciled: Time,
    /// How long the last reconciliation of this digest took.
    pub last_reconciled_duration: Duration,
    /// Outcome of the last reconciliation, e.g. `ReconciliationSucceeded`.
    pub last_reconciled_status: String,
    /// How many times this digest has been reconciled.
    pub total_reconciliations: i64,
    /// Extra facts about the snapshot, such as the source revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Who may refer to a source across namespaces (provisional in Flux, never enforced).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    /// Namespace selectors, any one of which grants access.
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// Selects namespaces by label; an empty selector matches every namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels a namespace must all carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}
