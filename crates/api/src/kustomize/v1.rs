//! `kustomize.toolkit.fluxcd.io/v1` Kustomization: the storage version, as Flux v2.9 defines it.

use std::{collections::BTreeMap, time::Duration as StdDuration};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{
    CommonMetadata, DecryptionProvider, Image, Json6902Op, Patch, ResourceInventory, ResourceRef,
    Selector, SubstituteKind, SubstituteReference,
};
use crate::{
    meta::{
        DURATION_PATTERN, DependencyReference, Duration, DurationError, KubeConfigReference,
        LocalObjectReference, NamespacedObjectKindReference, Snapshot,
        conditions::conditions_schema,
    },
    string_enum::string_enum,
};

/// The shortest timeout Flux derives from the interval.
const MIN_DERIVED_TIMEOUT: StdDuration = StdDuration::from_secs(30);

/// The desired state of a Kustomization: which source path to build, how to transform the
/// result, and how to apply, prune and health-check it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1",
    kind = "Kustomization",
    plural = "kustomizations",
    singular = "kustomization",
    namespaced,
    status = "KustomizationStatus",
    schema = "disabled",
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "Builds the manifests at a path of a source artifact and applies them to the cluster."
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Labels and annotations set on every applied object, overriding existing keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Kustomizations (or other objects, with readyExpr) that must be ready before this one
    /// is reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<DependencyReference>>,
    /// Decryption of secrets in the build before they are applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// How often to reconcile (approximate, jittered).
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// How soon to retry after a failed reconciliation; the interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub retry_interval: Option<Duration>,
    /// Credentials of a remote cluster to apply to instead of the local one; with
    /// serviceAccountName, that account is impersonated on the remote cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// Directory in the artifact with a kustomization.yaml, or plain manifests for which one is
    /// generated; the artifact root when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Variable substitution applied to the built manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Deletes objects that were applied before and are no longer in the build.
    pub prune: bool,
    /// What happens to applied objects when the Kustomization is deleted; `MirrorPrune`
    /// (delete if prune is true, orphan otherwise) when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Objects whose health is assessed after applying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<NamespacedObjectKindReference>>,
    /// Prefix added to the names of all applied objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_prefix: Option<String>,
    /// Suffix added to the names of all applied objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_suffix: Option<String>,
    /// Strategic-merge and JSON 6902 patches, each with an optional target selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,
    /// Image name, tag and digest overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,
    /// The ServiceAccount impersonated to apply the objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The source whose artifact holds the manifests.
    pub source_ref: CrossNamespaceSourceReference,
    /// Stops further reconciliations while true (one in progress completes).
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
    /// Kustomize build metadata to add to the objects as annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_metadata: Option<Vec<BuildMetadataOption>>,
    /// Paths of kustomize Components, relative to path, added to the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Drops components whose path does not exist in the source instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_missing_components: Option<bool>,
    /// CEL expressions assessing the health of custom resources, used when wait or
    /// healthChecks is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_exprs: Option<Vec<CustomHealthCheck>>,
    /// JSON pointer paths excluded from drift detection and apply, per selected objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<IgnoreRule>>,
}

impl KustomizationSpec {
    /// The apply and health-check time limit: the timeout if set, else the interval less 30s;
    /// never below 30s (Flux's rule).
    pub fn effective_timeout(&self) -> Result<StdDuration, DurationError> {
        let timeout = match &self.timeout {
            Some(timeout) => timeout.to_std()?,
            None => self.interval.to_std()?.saturating_sub(MIN_DERIVED_TIMEOUT),
        };
        Ok(timeout.max(MIN_DERIVED_TIMEOUT))
    }

    /// How soon to retry a failed reconciliation: retryInterval, else interval.
    pub fn effective_retry_interval(&self) -> Result<StdDuration, DurationError> {
        self.retry_interval
            .as_ref()
            .unwrap_or(&self.interval)
            .to_std()
    }

    /// The deletion policy, `MirrorPrune` when unset.
    pub fn deletion_policy_or_default(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }

    /// The substitution strategy, `WithVariables` when unset.
    pub fn substitute_strategy_or_default(&self) -> SubstituteStrategy {
        self.post_build
            .as_ref()
            .and_then(|p| p.substitute_strategy)
            .unwrap_or_default()
    }
}

string_enum! {
    /// What happens to applied objects when their Kustomization is deleted.
    #[derive(Default)]
    pub enum DeletionPolicy {
        /// Delete them if spec.prune is true, orphan them otherwise.
        #[default]
        MirrorPrune = "MirrorPrune",
        /// Delete them.
        Delete = "Delete",
        /// Delete them and wait until they are gone.
        WaitForTermination = "WaitForTermination",
        /// Leave them in the cluster.
        Orphan = "Orphan",
    }
}

string_enum! {
    /// Kustomize build metadata that can be added to the built objects.
    pub enum BuildMetadataOption {
        /// `config.kubernetes.io/origin`: the file each object came from.
        OriginAnnotations = "originAnnotations",
        /// Annotations naming the transformers that changed each object.
        TransformerAnnotations = "transformerAnnotations",
    }
}

string_enum! {
    /// When post-build substitution runs.
    #[derive(Default)]
    pub enum SubstituteStrategy {
        /// Only when at least one variable is defined.
        #[default]
        WithVariables = "WithVariables",
        /// Always, so that `${var:=default}` expressions resolve without any variable.
        Always = "Always",
    }
}

string_enum! {
    /// The kinds a v1 Kustomization can take manifests from.
    pub enum SourceKind {
        /// An OCI artifact.
        OciRepository = "OCIRepository",
        /// A Git repository.
        GitRepository = "GitRepository",
        /// An S3-compatible bucket.
        Bucket = "Bucket",
        /// An artifact produced by a third-party controller.
        ExternalArtifact = "ExternalArtifact",
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

/// How manifests are decrypted before they are applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine.
    pub provider: DecryptionProvider,
    /// The ServiceAccount whose workload identity authenticates to cloud KMS; static
    /// credentials in secretRef take priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// A Secret with private keys (OpenPGP, age) or cloud KMS credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Post-build variable substitution.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// When substitution runs; `WithVariables` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substitute_strategy: Option<SubstituteStrategy>,
    /// Variables and their values; bash-style `${var:=default}`, `${var:position}` and
    /// `${var/substring/replacement}` forms are supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substitute: Option<BTreeMap<String, String>>,
    /// ConfigMaps and Secrets whose data keys are further variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substitute_from: Option<Vec<SubstituteReference>>,
}

/// CEL expressions computing the health of objects of one kind.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomHealthCheck {
    /// API version of the objects.
    pub api_version: String,
    /// Kind of the objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// True when the object has reached its desired state.
    pub current: String,
    /// True while the object is still progressing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// True when the object has failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Paths to leave alone during drift detection and apply.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901) into the objects.
    pub paths: Vec<String>,
    /// The objects the rule applies to; all objects of the Kustomization when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// The observed state of a Kustomization.
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
    /// The origin revision (e.g. the Git commit an OCI artifact was built from) last applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_origin_revision: Option<String>,
    /// The source revision of the last attempt, successful or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The objects applied successfully.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The latest reconciliations, most recent first, one per digest and outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Snapshot>>,
}
