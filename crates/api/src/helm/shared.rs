//! HelmRelease parts identical in more than one served version (v2, v2beta2 and in part
//! v2beta1): the chart template's metadata and source reference, drift detection, the test and
//! uninstall settings, the remediation settings and the closed sets of values; each version
//! module re-exports the ones it uses.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub use crate::kustomize::v1::Selector;
use crate::{
    meta::{DURATION_PATTERN, Duration, LocalObjectReference},
    schema::plain_integer_schema,
    string_enum::string_enum,
};

/// Labels and annotations of the HelmChart generated from a chart template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateObjectMeta {
    /// Labels of the HelmChart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations of the HelmChart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

string_enum! {
    /// The kinds of source a chart template can name.
    pub enum ChartSourceKind {
        /// A Helm repository (HTTP(S) or OCI).
        HelmRepository = "HelmRepository",
        /// A Git repository holding the chart directory.
        GitRepository = "GitRepository",
        /// An S3-compatible bucket holding the chart directory.
        Bucket = "Bucket",
    }
}

/// The source of a chart template, possibly in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: ChartSourceKind,
    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source; the HelmRelease's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

string_enum! {
    /// The signature scheme of an OCI chart named by a chart template.
    #[derive(Default)]
    pub enum ChartVerificationProvider {
        /// Sigstore cosign signatures.
        #[default]
        Cosign = "cosign",
        /// Notary Project (notation) signatures.
        Notation = "notation",
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

string_enum! {
    /// What the controller does about differences between the release manifest and the
    /// cluster.
    #[derive(Default)]
    pub enum DriftDetectionMode {
        /// Detect drift and correct it with an upgrade.
        Enabled = "enabled",
        /// Detect drift and only warn about it.
        Warn = "warn",
        /// Do not look for drift (the default).
        #[default]
        Disabled = "disabled",
    }
}

impl DriftDetectionMode {
    /// Whether the cluster must be compared with the release manifest.
    pub fn detects_changes(self) -> bool {
        matches!(self, Self::Enabled | Self::Warn)
    }
}

/// Drift detection: comparing the objects of the release manifest with the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftDetection {
    /// What to do about drift; `disabled` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<DriftDetectionMode>,
    /// Changes to disregard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<IgnoreRule>>,
}

impl DriftDetection {
    /// The mode, `disabled` when unset.
    pub fn mode_or_default(&self) -> DriftDetectionMode {
        self.mode.unwrap_or_default()
    }
}

/// Paths that drift detection disregards, in the selected objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901) into the objects.
    pub paths: Vec<String>,
    /// The objects the rule applies to; every object of the release when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

string_enum! {
    /// What happens to the CRDs in a chart's `crds/` directory on install or upgrade.
    pub enum CrdsPolicy {
        /// Neither create nor update them.
        Skip = "Skip",
        /// Create the missing ones, leave existing ones unchanged.
        Create = "Create",
        /// Create the missing ones and replace (update) existing ones.
        CreateReplace = "CreateReplace",
    }
}

/// Helm install remediation: retries, and an uninstall between attempts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallRemediation {
    /// How many times a failed install is retried (uninstalling in between); 0 by default,
    /// a negative number for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_integer_schema")]
    pub retries: Option<i64>,
    /// Skips remediation when the tests after an install fail; `test.ignoreFailures` when
    /// unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    /// Remediates the last failure too, once no retries remain; false when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
}

impl InstallRemediation {
    /// The retry count, 0 when unset.
    pub fn retries_or_default(&self) -> i64 {
        self.retries.unwrap_or(0)
    }

    /// Whether failed tests are ignored, falling back to `test_ignore_failures`.
    pub fn ignores_test_failures(&self, test_ignore_failures: bool) -> bool {
        self.ignore_test_failures.unwrap_or(test_ignore_failures)
    }

    /// Whether the last failure is remediated, false when unset.
    pub fn remediates_last_failure(&self) -> bool {
        self.remediate_last_failure.unwrap_or(false)
    }

    /// Whether `failures` install failures exhaust the retries (never with a negative count).
    pub fn retries_exhausted(&self, failures: i64) -> bool {
        let retries = self.retries_or_default();
        retries >= 0 && failures > retries
    }
}

string_enum! {
    /// How a failed upgrade is remediated.
    #[derive(Default)]
    pub enum RemediationStrategy {
        /// Roll back to the last successful release (the default).
        #[default]
        Rollback = "rollback",
        /// Uninstall the release.
        Uninstall = "uninstall",
    }
}

/// Helm upgrade remediation: retries, and a rollback or uninstall between attempts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRemediation {
    /// How many times a failed upgrade is retried (remediating in between); 0 by default,
    /// a negative number for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_integer_schema")]
    pub retries: Option<i64>,
    /// Skips remediation when the tests after an upgrade fail; `test.ignoreFailures` when
    /// unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    /// Remediates the last failure too, once no retries remain; true when unset and retries
    /// is above 0, false otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
    /// How to remediate; `rollback` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RemediationStrategy>,
}

impl UpgradeRemediation {
    /// The retry count, 0 when unset.
    pub fn retries_or_default(&self) -> i64 {
        self.retries.unwrap_or(0)
    }

    /// Whether failed tests are ignored, falling back to `test_ignore_failures`.
    pub fn ignores_test_failures(&self, test_ignore_failures: bool) -> bool {
        self.ignore_test_failures.unwrap_or(test_ignore_failures)
    }

    /// Whether the last failure is remediated: as set, else whether retries is above 0.
    pub fn remediates_last_failure(&self) -> bool {
        self.remediate_last_failure
            .unwrap_or(self.retries_or_default() > 0)
    }

    /// The remediation strategy, `rollback` when unset.
    pub fn strategy_or_default(&self) -> RemediationStrategy {
        self.strategy.unwrap_or_default()
    }

    /// Whether `failures` upgrade failures exhaust the retries (never with a negative count).
    pub fn retries_exhausted(&self, failures: i64) -> bool {
        let retries = self.retries_or_default();
        retries >= 0 && failures > retries
    }
}

/// Helm test settings.
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
    /// Skips remediation when tests fail; the install and upgrade remediation settings can
    /// override it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_failures: Option<bool>,
    /// Tests to run, or to exclude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
}

/// Selects one test by name, to run or to exclude.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Name of the test.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Excludes the test instead of selecting it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

string_enum! {
    /// The deletion propagation policy of an uninstall.
    #[derive(Default)]
    pub enum DeletionPropagation {
        /// Delete the owners now and their dependents in the background (the default).
        #[default]
        Background = "background",
        /// Delete the dependents before their owners.
        Foreground = "foreground",
        /// Leave the dependents in place.
        Orphan = "orphan",
    }
}

/// Helm uninstall settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Uninstall {
    /// Time limit of each Kubernetes operation (hooks included); `spec.timeout` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: Option<Duration>,
    /// Skips the chart's hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Deletes the release's objects but keeps its history, marking it deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_history: Option<bool>,
    /// Does not wait for the objects to be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// The deletion propagation policy; `background` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "background"))]
    pub deletion_propagation: Option<DeletionPropagation>,
}

impl Uninstall {
    /// The deletion propagation policy, `background` when unset.
    pub fn deletion_propagation_or_default(&self) -> DeletionPropagation {
        self.deletion_propagation.unwrap_or_default()
    }
}

string_enum! {
    /// A Helm action the controller performed on a release.
    pub enum ReleaseAction {
        /// A first install.
        Install = "install",
        /// An upgrade of an existing release.
        Upgrade = "upgrade",
        /// A rollback to an earlier release.
        Rollback = "rollback",
        /// An uninstall.
        Uninstall = "uninstall",
        /// An uninstall to remediate a failed install or upgrade.
        UninstallRemediation = "uninstall-remediation",
    }
}

/// Schema of `status.lastAttemptedReleaseAction`: only ever an install or an upgrade, although
/// the Rust type is the full [`ReleaseAction`].
pub(super) fn attempted_action_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": ["install", "upgrade"] })
}

/// A test hook of a release, as the controller observed it run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestHookStatus {
    /// When the hook last started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_started: Option<Time>,
    /// When the hook last completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_completed: Option<Time>,
    /// The phase the hook was observed in: `Succeeded`, `Failed`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// The phase of a test hook that failed.
pub const TEST_PHASE_FAILED: &str = "Failed";
/// The phase of a test hook that succeeded.
pub const TEST_PHASE_SUCCEEDED: &str = "Succeeded";
/// The release status of a deployed release.
pub const RELEASE_STATUS_DEPLOYED: &str = "deployed";
/// The release status of a release replaced by a newer one.
pub const RELEASE_STATUS_SUPERSEDED: &str = "superseded";
