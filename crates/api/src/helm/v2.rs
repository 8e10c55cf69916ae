//! `helm.toolkit.fluxcd.io/v2` HelmRelease: the storage version, as Flux v2.9
//! (helm-controller v1.6) defines it.

use std::time::Duration as StdDuration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::shared::attempted_action_schema;
pub use super::shared::{
    ChartSourceKind, ChartVerificationProvider, CrdsPolicy, CrossNamespaceObjectReference,
    DeletionPropagation, DriftDetection, DriftDetectionMode, Filter, HelmChartTemplateObjectMeta,
    HelmChartTemplateVerification, IgnoreRule, InstallRemediation, RELEASE_STATUS_DEPLOYED,
    RELEASE_STATUS_SUPERSEDED, ReleaseAction, RemediationStrategy, Selector, TEST_PHASE_FAILED,
    TEST_PHASE_SUCCEEDED, Test, TestHookStatus, Uninstall, UpgradeRemediation,
};
pub use crate::{
    kustomize::v1::{
        CommonMetadata, CustomHealthCheck, Image, Patch, ResourceInventory, ResourceRef,
    },
    source::v1::ReconcileStrategy,
};
use crate::{
    meta::{
        DURATION_PATTERN, DependencyReference, Duration, DurationError, KubeConfigReference,
        conditions::conditions_schema,
    },
    schema::{any_json_schema, plain_integer_schema, plain_string_schema},
    string_enum::string_enum,
};

/// The number of releases Helm keeps when `spec.maxHistory` is unset.
pub const DEFAULT_MAX_HISTORY: i64 = 5;
/// The time limit of Helm operations when `spec.timeout` is unset.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(300);
/// How long to wait before retrying a failed action under `RetryOnFailure` when
/// `retryInterval` is unset.
pub const DEFAULT_RETRY_INTERVAL: StdDuration = StdDuration::from_secs(300);
/// The snapshot API version helm-controller writes (Helm 4 digests).
pub const SNAPSHOT_API_VERSION: &str = "v2";

/// The desired state of a HelmRelease: the chart, the values, and how to install, upgrade,
/// test, roll back and uninstall the release.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2",
    kind = "HelmRelease",
    plural = "helmreleases",
    singular = "helmrelease",
    namespaced,
    status = "HelmReleaseStatus",
    schema = "disabled",
    shortname = "hr",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Helm release that helm-controller installs from a chart and keeps in the desired state."
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
    /// Credentials of a remote cluster to release to; with serviceAccountName, that account is
    /// impersonated on the remote cluster.
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
    /// Namespace of the Helm release storage (its Secrets); the HelmRelease's namespace when
    /// unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,
    /// HelmReleases (or other objects, with readyExpr) that must be ready before this one is
    /// reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<DependencyReference>>,
    /// Time limit of each Kubernetes operation (such as hook Jobs) of a Helm action; 5m0s
    /// when unset.
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
    /// Reuses one Kubernetes client for a whole reconciliation instead of one per Helm
    /// action; true when unset.
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
    /// Labels and annotations set on every object of the release, overriding existing keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Post-renderers applied, in order, to the rendered manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_renderers: Option<Vec<PostRenderer>>,
    /// Whether hooks go through the post-renderers: `combined` (with the templates, the
    /// Helm 4 default), `separate` (in their own stream) or `nohooks` (Helm 3 behaviour).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_render_strategy: Option<PostRenderStrategy>,
    /// How Helm waits for the applied objects to become ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_strategy: Option<WaitStrategy>,
    /// CEL expressions assessing the health of custom resources, used when an action waits
    /// with the `poller` strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_exprs: Option<Vec<CustomHealthCheck>>,
}

impl HelmReleaseSpec {
    /// The time limit of Helm operations: the timeout, or 5m0s when unset.
    pub fn effective_timeout(&self) -> Result<StdDuration, DurationError> {
        self.timeout
            .as_ref()
            .map_or(Ok(DEFAULT_TIMEOUT), Duration::to_std)
    }

    /// How many releases Helm keeps, 5 when unset.
    pub fn max_history_or_default(&self) -> i64 {
        self.max_history.unwrap_or(DEFAULT_MAX_HISTORY)
    }

    /// Whether one client serves the whole reconciliation, true when unset.
    pub fn uses_persistent_client(&self) -> bool {
        self.persistent_client.unwrap_or(true)
    }

    /// The drift detection mode, `disabled` when unset.
    pub fn drift_detection_mode(&self) -> DriftDetectionMode {
        self.drift_detection
            .as_ref()
            .map(DriftDetection::mode_or_default)
            .unwrap_or_default()
    }
}

/// Helm's limit on release names.
const MAX_RELEASE_NAME: usize = 53;

/// helm-controller's `ShortenName`: a name over 53 characters becomes its first 40, `-`, and
/// 12 hex digits of its SHA-256 (release names are ASCII: Kubernetes names).
fn shorten_release_name(name: String) -> String {
    use sha2::Digest as _;
    if name.len() <= MAX_RELEASE_NAME || !name.is_ascii() {
        return name;
    }
    let sum = format!("{:x}", sha2::Sha256::digest(name.as_bytes()));
    format!("{}-{}", &name[..MAX_RELEASE_NAME - 13], &sum[..12])
}

impl HelmRelease {
    /// The Helm release name: `spec.releaseName`, else `<targetNamespace>-<name>` with a target
    /// namespace, else the object's name. helm-controller uses a name longer than 53
    /// characters shortened: its first 40 characters, `-`, and the first 12 hex digits of its
    /// SHA-256.
    pub fn release_name(&self) -> String {
        let name = self.metadata.name.as_deref().unwrap_or_default();
        let full = match (
            self.spec.release_name.as_deref(),
            self.spec.target_namespace.as_deref(),
        ) {
            (Some(release), _) if !release.is_empty() => release.to_owned(),
            (_, Some(target)) if !target.is_empty() => format!("{target}-{name}"),
            _ => name.to_owned(),
        };
        shorten_release_name(full)
    }

    /// The namespace the release is installed into: the target namespace, else the object's.
    pub fn release_namespace(&self) -> String {
        non_empty(self.spec.target_namespace.as_deref())
            .or(self.metadata.namespace.as_deref())
            .unwrap_or_default()
            .to_owned()
    }

    /// The namespace of the Helm storage: the storage namespace, else the object's.
    pub fn storage_namespace(&self) -> String {
        non_empty(self.spec.storage_namespace.as_deref())
            .or(self.metadata.namespace.as_deref())
            .unwrap_or_default()
            .to_owned()
    }

    /// The name of the HelmChart generated from `spec.chart`: `<namespace>-<name>`.
    pub fn helm_chart_name(&self) -> String {
        format!(
            "{}-{}",
            self.metadata.namespace.as_deref().unwrap_or_default(),
            self.metadata.name.as_deref().unwrap_or_default()
        )
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
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
    /// SemVer constraint on the chart version (HelmRepository sources only); `*`, the latest,
    /// by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,
    /// The source holding the chart; HelmCharts are created in its namespace.
    pub source_ref: CrossNamespaceObjectReference,
    /// How often the HelmChart checks its source; the HelmRelease's interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// What produces a new chart artifact: a new chart version (`ChartVersion`, the default)
    /// or a new source revision (`Revision`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ChartVersion"))]
    pub reconcile_strategy: Option<ReconcileStrategy>,
    /// Values files, relative to the chart's source, merged in order into the chart's default
    /// values; `values.yaml` is only included if listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// Skips values files that do not exist instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// Signature verification of an OCI chart; dependencies not bundled in the chart are not
    /// verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartTemplateVerification>,
}

string_enum! {
    /// The kinds of source object a chartRef can name.
    pub enum ChartRefKind {
        /// An OCIRepository holding the chart as an OCI artifact.
        OciRepository = "OCIRepository",
        /// A HelmChart.
        HelmChart = "HelmChart",
        /// An artifact produced by a third-party controller.
        ExternalArtifact = "ExternalArtifact",
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

string_enum! {
    /// The kinds of object values can come from.
    pub enum ValuesKind {
        /// A Secret.
        Secret = "Secret",
        /// A ConfigMap.
        ConfigMap = "ConfigMap",
    }
}

/// The pattern of a values key in a ConfigMap or Secret.
pub const VALUES_KEY_PATTERN: &str = r"^[\-._a-zA-Z0-9]+$";
/// The pattern of a values target path (Helm `--set` path syntax).
pub const TARGET_PATH_PATTERN: &str = r"^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$";

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
    /// Where in the values the key's content goes, in Helm `--set` path syntax; when unset,
    /// the content is a YAML document merged at the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 250), pattern(TARGET_PATH_PATTERN))]
    pub target_path: Option<String>,
    /// Tolerates a missing object or key, skipping it instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// With targetPath, sets the content as a literal string (like `helm --set-literal`)
    /// instead of parsing `--set` syntax; no effect without targetPath.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub literal: Option<bool>,
}

/// The data key read when a ValuesReference has no valuesKey.
pub const DEFAULT_VALUES_KEY: &str = "values.yaml";

impl ValuesReference {
    /// The data key holding the values, `values.yaml` when unset or empty.
    pub fn values_key_or_default(&self) -> &str {
        non_empty(self.values_key.as_deref()).unwrap_or(DEFAULT_VALUES_KEY)
    }
}

/// A post-renderer of the rendered manifests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderer {
    /// A kustomize overlay applied to the manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Kustomize>,
}

/// The kustomize overlay of a post-renderer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Kustomize {
    /// Strategic-merge and JSON 6902 patches, each with an optional target selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,
    /// Image name, tag and digest overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,
}

string_enum! {
    /// Whether hooks are sent to the post-renderers, and how.
    pub enum PostRenderStrategy {
        /// Hooks are not post-rendered (Helm 3 behaviour).
        NoHooks = "nohooks",
        /// Hooks and templates are post-rendered in one stream (the Helm 4 default).
        Combined = "combined",
        /// Hooks and templates are post-rendered in separate streams.
        Separate = "separate",
    }
}

string_enum! {
    /// How Helm waits for applied objects to become ready.
    pub enum WaitStrategyName {
        /// Polls the objects' status with kstatus.
        Poller = "poller",
        /// Helm 3's readiness checks.
        Legacy = "legacy",
    }
}

/// How Helm waits for applied objects to become ready.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitStrategy {
    /// The strategy; `poller` unless the controller defaults to Helm 3 behaviour.
    pub name: WaitStrategyName,
}

string_enum! {
    /// What happens when an install or upgrade fails.
    pub enum ActionStrategyName {
        /// Remediate as the remediation settings say (the default).
        RemediateOnFailure = "RemediateOnFailure",
        /// Retry the action after retryInterval, without remediation.
        RetryOnFailure = "RetryOnFailure",
    }
}

/// What happens when an install fails.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": ".retryInterval cannot be set when .name is 'RemediateOnFailure'",
    "rule": "!has(self.retryInterval) || self.name != 'RemediateOnFailure'",
}]))]
pub struct InstallStrategy {
    /// The strategy.
    pub name: ActionStrategyName,
    /// How long to wait before retrying, for `RetryOnFailure`; 5m when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub retry_interval: Option<Duration>,
}

/// What happens when an upgrade fails.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": ".retryInterval can only be set when .name is 'RetryOnFailure'",
    "rule": "!has(self.retryInterval) || self.name == 'RetryOnFailure'",
}]))]
pub struct UpgradeStrategy {
    /// The strategy.
    pub name: ActionStrategyName,
    /// How long to wait before retrying, for `RetryOnFailure`; 5m when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub retry_interval: Option<Duration>,
}

/// The retry interval of a strategy, 5m when unset.
fn retry_interval_or_default(interval: Option<&Duration>) -> Result<StdDuration, DurationError> {
    interval.map_or(Ok(DEFAULT_RETRY_INTERVAL), Duration::to_std)
}

impl InstallStrategy {
    /// How long to wait before retrying, 5m when unset.
    pub fn effective_retry_interval(&self) -> Result<StdDuration, DurationError> {
        retry_interval_or_default(self.retry_interval.as_ref())
    }
}

impl UpgradeStrategy {
    /// How long to wait before retrying, 5m when unset.
    pub fn effective_retry_interval(&self) -> Result<StdDuration, DurationError> {
        retry_interval_or_default(self.retry_interval.as_ref())
    }
}

/// Helm install settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    /// Time limit of each Kubernetes operation (hooks included); `spec.timeout` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// What happens when the install fails; `RemediateOnFailure` unless the controller
    /// defaults to retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<InstallStrategy>,
    /// Retries and remediation of a failed install; none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<InstallRemediation>,
    /// Does not take ownership of existing objects the chart would create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,
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
    /// Does not validate the values against the chart's JSON schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    /// Reuses the release name if it belongs to a deleted release kept in the history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    /// Does not install the chart's CRDs; deprecated, use `crds: Skip`.
    #[serde(rename = "skipCRDs", skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    /// What happens to the chart's CRDs; `Create` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crds: Option<CrdsPolicy>,
    /// Creates the target namespace if missing (it is not deleted on uninstall).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_namespace: Option<bool>,
    /// Applies the objects with server-side apply; true unless the controller defaults to
    /// Helm 3 behaviour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<bool>,
}

impl Install {
    /// The CRD policy: `crds`, else `Skip` when the deprecated skipCRDs is true, else `Create`.
    pub fn crds_policy(&self) -> CrdsPolicy {
        match (self.crds, self.skip_crds) {
            (Some(policy), _) => policy,
            (None, Some(true)) => CrdsPolicy::Skip,
            (None, _) => CrdsPolicy::Create,
        }
    }
}

string_enum! {
    /// Whether an upgrade or rollback uses server-side apply.
    pub enum ServerSideApplyMode {
        /// Always.
        Enabled = "enabled",
        /// Never.
        Disabled = "disabled",
        /// As the release's previous action did (the default).
        Auto = "auto",
    }
}

string_enum! {
    /// What happens when the chart of a release changes name.
    #[derive(Default)]
    pub enum ChartNameChangeStrategy {
        /// Upgrade the release in place.
        InPlaceUpdate = "InPlaceUpdate",
        /// Uninstall the release and install it again (the default).
        #[default]
        Reinstall = "Reinstall",
    }
}

/// Helm upgrade settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    /// Time limit of each Kubernetes operation (hooks included); `spec.timeout` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// What happens when the upgrade fails; `RemediateOnFailure` unless the controller
    /// defaults to retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<UpgradeStrategy>,
    /// Retries and remediation of a failed upgrade; none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<UpgradeRemediation>,
    /// Does not take ownership of existing objects the chart would create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,
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
    /// Does not validate the values against the chart's JSON schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    /// Replaces objects instead of three-way merging them (client-side apply only).
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
    /// Whether to use server-side apply; `auto` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<ServerSideApplyMode>,
    /// What happens when the chart changes name; `Reinstall` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_name_change_strategy: Option<ChartNameChangeStrategy>,
}

impl Upgrade {
    /// The CRD policy, `Skip` when unset.
    pub fn crds_policy(&self) -> CrdsPolicy {
        self.crds.unwrap_or(CrdsPolicy::Skip)
    }

    /// The chart name change strategy, `Reinstall` when unset.
    pub fn chart_name_change_strategy_or_default(&self) -> ChartNameChangeStrategy {
        self.chart_name_change_strategy.unwrap_or_default()
    }
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
    /// Restarts the pods of the workloads; deprecated, no effect with Helm 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recreate: Option<bool>,
    /// Replaces objects instead of three-way merging them (client-side apply only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Deletes the objects the failed rollback created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    /// Whether to use server-side apply; `auto` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<ServerSideApplyMode>,
}

/// A point-in-time copy of the state of one Helm release version, as the controller manages
/// it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Version of the digest calculation; `v2` for Helm 4 digests.
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
    /// The action that produced this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_string_schema")]
    pub action: Option<ReleaseAction>,
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
    /// The release's test hooks as observed run, by name; empty when the chart selected none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_hooks: Option<std::collections::BTreeMap<String, TestHookStatus>>,
    /// Digest of the OCI artifact the chart came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_digest: Option<String>,
}

impl Snapshot {
    /// `<namespace>/<name>.v<version>`.
    pub fn full_release_name(&self) -> String {
        format!("{}/{}.v{}", self.namespace, self.name, self.version)
    }

    /// `<chart name>@<chart version>`.
    pub fn versioned_chart_name(&self) -> String {
        format!("{}@{}", self.chart_name, self.chart_version)
    }

    /// Whether any test hook was observed in `phase` (e.g. [`TEST_PHASE_FAILED`]).
    pub fn has_test_in_phase(&self, phase: &str) -> bool {
        self.test_hooks
            .iter()
            .flatten()
            .any(|(_, hook)| hook.phase.as_deref() == Some(phase))
    }

    /// Whether the tests were observed run: an empty map (no tests selected), a failed hook,
    /// or every hook succeeded.
    pub fn has_been_tested(&self) -> bool {
        let Some(hooks) = &self.test_hooks else {
            return false;
        };
        self.has_test_in_phase(TEST_PHASE_FAILED)
            || hooks
                .values()
                .all(|hook| hook.phase.as_deref() == Some(TEST_PHASE_SUCCEEDED))
    }

    /// Whether the release is `deployed` or `superseded`, so a rollback target.
    pub fn is_deployed_or_superseded(&self) -> bool {
        self.status == RELEASE_STATUS_DEPLOYED || self.status == RELEASE_STATUS_SUPERSEDED
    }
}

/// The observed state of a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Digest of the post-renderers of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_post_renderers_digest: Option<String>,
    /// Digest of the common metadata of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_common_metadata_digest: Option<String>,
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
    /// The releases performed for this HelmRelease, newest first, back to the last successful
    /// one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Snapshot>>,
    /// The objects of the current release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The last release action (install or upgrade), which selects the active retry and
    /// remediation settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "attempted_action_schema")]
    pub last_attempted_release_action: Option<ReleaseAction>,
    /// How long the last release action took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_release_action_duration: Option<Duration>,
    /// Failed reconciliations against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,
    /// Failed installs against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_failures: Option<i64>,
    /// Failed upgrades against the latest desired state; reset on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_failures: Option<i64>,
    /// The chart revision of the last attempt; for OCIRepository sources the chart version
    /// with the first 12 characters of the digest appended, e.g. `1.2.3+1234567890ab`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The artifact digest of the last attempt (OCIRepository sources only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision_digest: Option<String>,
    /// SHA1 checksum of the values of the last attempt; deprecated, see
    /// lastAttemptedConfigDigest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_values_checksum: Option<String>,
    /// Revision of the last successful Helm release; deprecated, see history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_integer_schema")]
    pub last_release_revision: Option<i64>,
    /// Digest of the values of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_config_digest: Option<String>,
    /// The value of the `reconcile.fluxcd.io/resetAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reset_at: Option<String>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The value of the `reconcile.fluxcd.io/forceAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,
}

impl HelmReleaseStatus {
    /// The newest snapshot of the history (highest release version).
    pub fn latest_snapshot(&self) -> Option<&Snapshot> {
        self.history.as_deref()?.iter().max_by_key(|s| s.version)
    }

    /// The namespace and name of the HelmChart, split from `helmChart`.
    pub fn helm_chart_namespace_name(&self) -> Option<(&str, &str)> {
        self.helm_chart.as_deref()?.split_once('/')
    }
}
