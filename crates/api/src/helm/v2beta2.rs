//! `helm.toolkit.fluxcd.io/v2beta2` HelmRelease: deprecated, still served so that older
//! manifests apply unchanged. Fields as in Flux's last release serving it (helm-controller
//! v1.4): v2's without the action strategies, server-side apply, wait and post-render
//! strategies, CEL health checks, common metadata and inventory, plus the deprecated single
//! values file, strategic-merge and JSON 6902 post-render patches and `lastAppliedRevision`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::shared::attempted_action_schema;
pub use super::shared::{
    ChartSourceKind, ChartVerificationProvider, CrdsPolicy, CrossNamespaceObjectReference,
    DeletionPropagation, DriftDetection, DriftDetectionMode, Filter, HelmChartTemplateObjectMeta,
    HelmChartTemplateVerification, IgnoreRule, InstallRemediation, ReleaseAction,
    RemediationStrategy, Selector, Test, TestHookStatus, Uninstall, UpgradeRemediation,
};
pub use super::v2::{TARGET_PATH_PATTERN, VALUES_KEY_PATTERN, ValuesKind};
pub use crate::{
    kustomize::v1beta2::{Image, Json6902Op, Json6902Operation, Json6902Patch, Patch},
    source::v1::ReconcileStrategy,
};
use crate::{
    meta::{
        DURATION_PATTERN, Duration, KubeConfigReference, NamespacedObjectReference,
        conditions::conditions_schema,
    },
    schema::{any_json_list_schema, any_json_schema, plain_integer_schema},
    string_enum::string_enum,
};

/// The desired state of a v2beta2 HelmRelease.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2beta2",
    kind = "HelmRelease",
    plural = "helmreleases",
    singular = "helmrelease",
    namespaced,
    status = "HelmReleaseStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v2beta2 HelmRelease is deprecated, upgrade to v2",
    shortname = "hr",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Helm release installed from a chart and kept in the desired state (deprecated v2beta2 form)."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "either chart or chartRef must be set",
    "rule": "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",
}]))]
pub struct HelmReleaseSpec {
    /// Template of the HelmChart the controller creates for this release; excludes chartRef.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,
    /// A source object holding the chart artifact; excludes chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    /// How often to reconcile the release (approximate, jittered).
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// Credentials of a remote cluster to release to.
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
    #[schemars(length(min = 1, max = 253))]
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
    #[schemars(length(min = 1, max = 2048))]
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
    /// Skips values files that do not exist instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// Signature verification of an OCI chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartTemplateVerification>,
}

string_enum! {
    /// The kinds of source object a v2beta2 chartRef can name.
    pub enum ChartRefKind {
        /// An OCIRepository holding the chart as an OCI artifact.
        OciRepository = "OCIRepository",
        /// A HelmChart.
        HelmChart = "HelmChart",
    }
}

/// A source object holding the chart artifact, possibly in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: ChartRefKind,
    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source; the HelmRelease's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Values from a key of a ConfigMap or Secret in the HelmRelease's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// Kind of the object.
    pub kind: ValuesKind,
    /// Name of the object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The data key holding the values; `values.yaml` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253), pattern(VALUES_KEY_PATTERN))]
    pub values_key: Option<String>,
    /// Where in the values the key's content goes, in Helm `--set` path syntax.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 250), pattern(TARGET_PATH_PATTERN))]
    pub target_path: Option<String>,
    /// Tolerates a missing object or key, skipping it instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// A post-renderer of the rendered manifests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderer {
    /// A kustomize overlay applied to the manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Kustomize>,
}

/// The kustomize overlay of a v2beta2 post-renderer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Kustomize {
    /// Strategic-merge and JSON 6902 patches, each with an optional target selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,
    /// Strategic-merge patches as inline objects; deprecated in favour of patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_list_schema")]
    pub patches_strategic_merge: Option<Vec<Value>>,
    /// JSON 6902 patches as structured operations; deprecated in favour of patches.
    #[serde(rename = "patchesJson6902", skip_serializing_if = "Option::is_none")]
    pub patches_json6902: Option<Vec<Json6902Patch>>,
    /// Image name, tag and digest overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,
}

/// Helm install settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    /// Time limit of each Kubernetes operation (hooks included); `spec.timeout` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// Retries and remediation of a failed install; none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<InstallRemediation>,
    /// Does not wait for the objects to become ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// Does not wait for Jobs to complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    /// Skips the chart's hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Does not validate the rendered manifests against the Kubernetes OpenAPI schema.
    #[serde(
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_openapi_validation: Option<bool>,
    /// Reuses the release name if it belongs to a deleted release kept in the history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    /// Does not install the chart's CRDs; deprecated, use `crds: Skip`.
    #[serde(rename = "skipCRDs", skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    /// What happens to the chart's CRDs; `Create` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crds: Option<CrdsPolicy>,
    /// Creates the target namespace if missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_namespace: Option<bool>,
}

/// Helm upgrade settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    /// Time limit of each Kubernetes operation (hooks included); `spec.timeout` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// Retries and remediation of a failed upgrade; none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<UpgradeRemediation>,
    /// Does not wait for the objects to become ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// Does not wait for Jobs to complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    /// Skips the chart's hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Does not validate the rendered manifests against the Kubernetes OpenAPI schema.
    #[serde(
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_openapi_validation: Option<bool>,
    /// Replaces objects instead of three-way merging them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Reuses the last release's values, merging `values` over them (not declarative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preserve_values: Option<bool>,
    /// Deletes the objects the failed upgrade created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    /// What happens to the chart's CRDs; `Skip` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crds: Option<CrdsPolicy>,
}

/// Helm rollback settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// Time limit of each Kubernetes operation (hooks included); `spec.timeout` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// Does not wait for the objects to become ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// Does not wait for Jobs to complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    /// Skips the chart's hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Restarts the pods of the workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recreate: Option<bool>,
    /// Replaces objects instead of three-way merging them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Deletes the objects the failed rollback created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
}

/// A point-in-time copy of the state of one Helm release version (without v2's action).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Version of the digest calculation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Checksum of the release object in storage, `<algorithm>:<checksum>`.
    pub digest: String,
    /// Name of the release.
    pub name: String,
    /// Namespace of the release.
    pub namespace: String,
    /// Version of the release.
    #[schemars(schema_with = "plain_integer_schema")]
    pub version: i64,
    /// Status of the release: `deployed`, `superseded`, `failed`, ...
    pub status: String,
    /// Chart name of the release.
    pub chart_name: String,
    /// Chart version of the release.
    pub chart_version: String,
    /// The chart's app version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Checksum of the release's values, `<algorithm>:<checksum>`.
    pub config_digest: String,
    /// When the release was first deployed.
    pub first_deployed: Time,
    /// When the release was last deployed.
    pub last_deployed: Time,
    /// When the release was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Time>,
    /// The release's test hooks as observed run, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_hooks: Option<std::collections::BTreeMap<String, TestHookStatus>>,
    /// Digest of the OCI artifact the chart came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_digest: Option<String>,
}

/// The observed state of a v2beta2 HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Digest of the post-renderers of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_post_renderers_digest: Option<String>,
    /// The last generation the controller attempted to reconcile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_generation: Option<i64>,
    /// The conditions of the HelmRelease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// `<namespace>/<name>` of the HelmChart the controller created from `spec.chart`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,
    /// The namespace of the Helm storage of the current release.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,
    /// The releases performed for this HelmRelease, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Snapshot>>,
    /// The last release action (install or upgrade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "attempted_action_schema")]
    pub last_attempted_release_action: Option<ReleaseAction>,
    /// Failed reconciliations against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,
    /// Failed installs against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_failures: Option<i64>,
    /// Failed upgrades against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_failures: Option<i64>,
    /// The chart revision last applied successfully; deprecated, see history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The chart revision of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The artifact digest of the last attempt (OCIRepository sources only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision_digest: Option<String>,
    /// SHA1 checksum of the values of the last attempt; deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_values_checksum: Option<String>,
    /// Revision of the last successful Helm release; deprecated, see history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_integer_schema")]
    pub last_release_revision: Option<i64>,
    /// Digest of the values of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_config_digest: Option<String>,
    /// The value of the `reconcile.fluxcd.io/forceAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,
    /// The value of the `reconcile.fluxcd.io/resetAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reset_at: Option<String>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
