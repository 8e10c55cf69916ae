//! `helm.toolkit.fluxcd.io/v2beta1` HelmRelease: deprecated, still served so that older
//! manifests apply unchanged. Fields as in Flux's last release serving it (helm-controller
//! v1.3): v2beta2's, except that a chart template is required, the kubeConfig is a Secret only,
//! tests cannot be filtered, OCI charts verify with cosign only, and the status has no
//! `lastAttemptedRevisionDigest`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::v2beta2::{
    ChartRefKind, ChartSourceKind, CrdsPolicy, CrossNamespaceObjectReference,
    CrossNamespaceSourceReference, DeletionPropagation, DriftDetection, DriftDetectionMode,
    HelmChartTemplateObjectMeta, IgnoreRule, Image, Install, InstallRemediation, Json6902Op,
    Json6902Operation, Json6902Patch, Kustomize, Patch, PostRenderer, ReconcileStrategy,
    ReleaseAction, RemediationStrategy, Rollback, Selector, Snapshot, TestHookStatus, Uninstall,
    Upgrade, UpgradeRemediation, ValuesKind, ValuesReference,
};
use crate::{
    meta::{
        DURATION_PATTERN, Duration, LocalObjectReference, NamespacedObjectReference,
        SecretKeyReference, conditions::conditions_schema,
    },
    schema::{any_json_schema, plain_integer_schema, plain_string_schema},
    string_enum::string_enum,
};

/// The desired state of a v2beta1 HelmRelease.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2beta1",
    kind = "HelmRelease",
    plural = "helmreleases",
    singular = "helmrelease",
    namespaced,
    status = "HelmReleaseStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v2beta1 HelmRelease is deprecated, upgrade to v2",
    shortname = "hr",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Helm release installed from a chart and kept in the desired state (deprecated v2beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// Template of the HelmChart the controller creates for this release.
    pub chart: HelmChartTemplate,
    /// A source object holding the chart artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    /// How often to reconcile the release (approximate, jittered).
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// A Secret holding the kubeconfig of a remote cluster to release to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// Stops further reconciliations while true (one in progress completes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Name of the Helm release; `[targetNamespace-]name` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 53))]
    pub release_name: Option<String>,
    /// Namespace the release is installed into; the HelmRelease's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,
    /// Namespace of the Helm release storage; the HelmRelease's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,
    /// HelmReleases that must be ready before this one is reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<NamespacedObjectReference>>,
    /// Time limit of each Kubernetes operation of a Helm action; 5m0s when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// How many releases Helm keeps; 0 for no limit, 5 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_integer_schema")]
    pub max_history: Option<i64>,
    /// The ServiceAccount impersonated to perform the Helm actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Reuses one Kubernetes client for a whole reconciliation; true when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_client: Option<bool>,
    /// Detection and correction of differences between the release manifest and the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,
    /// Helm install settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<Install>,
    /// Helm upgrade settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,
    /// Helm test settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,
    /// Helm rollback settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    /// Helm uninstall settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<Uninstall>,
    /// ConfigMaps and Secrets holding values, merged in order before `values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_from: Option<Vec<ValuesReference>>,
    /// Values of the release, merged last; any YAML object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_schema")]
    pub values: Option<Value>,
    /// Post-renderers applied, in order, to the rendered manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_renderers: Option<Vec<PostRenderer>>,
}

/// A Secret holding the kubeconfig of a remote cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeConfigReference {
    /// The Secret and the key holding the kubeconfig (`value` or `value.yaml` by default).
    pub secret_ref: SecretKeyReference,
}

/// Template of the HelmChart the controller creates for a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplate {
    /// Labels and annotations of the HelmChart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<HelmChartTemplateObjectMeta>,
    /// Spec of the HelmChart.
    pub spec: HelmChartTemplateSpec,
}

/// The spec of the HelmChart generated from a chart template.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// The chart's name in a HelmRepository, or its path in a GitRepository or Bucket.
    pub chart: String,
    /// SemVer constraint on the chart version; `*`, the latest, by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,
    /// The source holding the chart.
    pub source_ref: CrossNamespaceObjectReference,
    /// How often the HelmChart checks its source; the HelmRelease's interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// What produces a new chart artifact; `ChartVersion` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ChartVersion"))]
    pub reconcile_strategy: Option<ReconcileStrategy>,
    /// Values files, relative to the chart's source, merged in order into the chart's default
    /// values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// A single values file merged before valuesFiles; deprecated in favour of valuesFiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Signature verification of an OCI chart with cosign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartTemplateVerification>,
}

string_enum! {
    /// The signature scheme of an OCI chart: only cosign in this version.
    #[derive(Default)]
    pub enum ChartVerificationProvider {
        /// Sigstore cosign signatures.
        #[default]
        Cosign = "cosign",
    }
}

/// Signature verification of an OCI chart named by a chart template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateVerification {
    /// The verification scheme; `cosign` by default.
    #[schemars(extend("default" = "cosign"))]
    pub provider: ChartVerificationProvider,
    /// A Secret with the trusted public keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Helm test settings (no filters in this version).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    /// Runs the chart's tests after every install and upgrade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Time limit of each Kubernetes operation of the tests; `spec.timeout` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// Skips remediation when tests fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_failures: Option<bool>,
}

/// The observed state of a v2beta1 HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Digest of the post-renderers of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_post_renderers_digest: Option<String>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The conditions of the HelmRelease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The chart revision last applied successfully; deprecated, see history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The chart revision of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// SHA1 checksum of the values of the last attempt; deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_values_checksum: Option<String>,
    /// Revision of the last successful Helm release; deprecated, see history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_integer_schema")]
    pub last_release_revision: Option<i64>,
    /// `<namespace>/<name>` of the HelmChart the controller created from `spec.chart`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,
    /// Failed reconciliations against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,
    /// Failed installs against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_failures: Option<i64>,
    /// Failed upgrades against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_failures: Option<i64>,
    /// The namespace of the Helm storage of the current release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_namespace: Option<String>,
    /// The releases performed for this HelmRelease, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Snapshot>>,
    /// The last generation the controller attempted to reconcile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_generation: Option<i64>,
    /// Digest of the values of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_config_digest: Option<String>,
    /// The last release action (install or upgrade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_string_schema")]
    pub last_attempted_release_action: Option<ReleaseAction>,
    /// The value of the `reconcile.fluxcd.io/forceAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,
    /// The value of the `reconcile.fluxcd.io/resetAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reset_at: Option<String>,
}
