//! `helm.fluxcd.io/v1` HelmRelease: the Flux v1 Helm Operator's release, with its chart from a
//! Helm repository or a Git repository, values inline and from ConfigMaps, Secrets, URLs and
//! chart files, rollback and test settings, and the operator's phase-based status.

use std::time::Duration as StdDuration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    meta::LocalObjectReference,
    schema::{any_json_schema, plain_integer_schema},
    string_enum::string_enum,
};

/// Time limit of install, upgrade, rollback and test operations when unset (300s).
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(300);
/// Releases Helm keeps when `maxHistory` is unset.
pub const DEFAULT_MAX_HISTORY: i64 = 10;
/// Upgrade retries after rollbacks when `rollback.maxRetries` is unset.
pub const DEFAULT_MAX_RETRIES: i64 = 5;
/// The Git reference used when `chart.ref` is unset (unless the operator was configured with
/// another).
pub const DEFAULT_GIT_REF: &str = "master";

/// The desired state of a helm-operator HelmRelease.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.fluxcd.io",
    version = "v1",
    kind = "HelmRelease",
    plural = "helmreleases",
    singular = "helmrelease",
    namespaced,
    status = "HelmReleaseStatus",
    schema = "disabled",
    shortname = "hr",
    shortname = "hrs",
    printcolumn = r#"{"name":"Release","type":"string","jsonPath":".status.releaseName","description":"The name of the Helm release."}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase","description":"The release phase the operator is in."}"#,
    printcolumn = r#"{"name":"ReleaseStatus","type":"string","jsonPath":".status.releaseStatus","description":"The status of the Helm release, as Helm reports it."}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.conditions[?(@.type==\"Released\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "A Helm release of the Flux v1 Helm Operator."
)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// The Helm major version to release with; the operator's lowest enabled version when
    /// unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_version: Option<HelmVersion>,
    /// The chart: from a Helm repository (`repository`, `name`, `version`) or from a Git
    /// repository (`git`, `ref`, `path`).
    pub chart: ChartSource,
    /// Name of the Helm release; generated from the namespaces and the object's name when
    /// unset (see [`HelmRelease::release_name`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// How many releases Helm keeps; 10 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_integer_schema")]
    pub max_history: Option<i64>,
    /// Secrets in the HelmRelease's namespace whose `values.yaml` key holds values; deprecated,
    /// use `valuesFrom[].secretKeyRef`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_file_secrets: Option<Vec<LocalObjectReference>>,
    /// Sources of values, merged in order before `values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_from: Option<Vec<ValuesFromSource>>,
    /// Namespace the release is installed into; the HelmRelease's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Time limit, in seconds, of each Kubernetes operation (such as hook Jobs) of an install
    /// or upgrade; 300 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Resets the values to the chart's defaults on upgrade; unless explicitly false, values
    /// are not reused from the previous release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_values: Option<bool>,
    /// Does not create the chart's CRDs (Helm 3).
    #[serde(rename = "skipCRDs", skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    /// Waits for the release's Pods, PVCs, Services and workloads to be ready before the
    /// release counts as successful; when unset, true if rollbacks or tests are enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// Upgrades with `--force`, recreating objects where needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_upgrade: Option<bool>,
    /// Rollback settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    /// Test settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,
    /// Values of the release, merged last; any YAML object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_schema")]
    pub values: Option<Value>,
    /// Does not validate the rendered manifests against the Kubernetes OpenAPI schema.
    #[serde(
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_openapi_validation: Option<bool>,
}

string_enum! {
    /// A Helm major version.
    pub enum HelmVersion {
        /// Helm 2 (Tiller).
        V2 = "v2",
        /// Helm 3.
        V3 = "v3",
    }
}

/// Where the chart comes from: a Helm repository (`repository`, `name`, `version`, optionally
/// `chartPullSecret`) or a Git repository (`git`, `ref`, `path`, optionally `secretRef` and
/// `skipDepUpdate`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartSource {
    /// URL of the Git repository holding the chart, e.g. `ssh://git@example.com/org/repo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// Git branch or other reference; `master` (or the operator's default) when unset.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Path of the chart directory relative to the repository root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A Secret with HTTPS credentials for the Git repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<ObjectReference>,
    /// Skips `helm dep update` before installing or upgrading; the dependencies must then be
    /// in the chart directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_dep_update: Option<bool>,
    /// URL of the Helm repository, e.g. `https://charts.example.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Name of the chart in the repository, without repository alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version of the chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A Secret with HTTPS basic-auth credentials for the Helm repository (never implemented
    /// by helm-operator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_pull_secret: Option<LocalObjectReference>,
}

/// The two kinds of chart source, as [`ChartSource::kind`] tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartSourceKind {
    /// A chart directory in a Git repository.
    Git,
    /// A packaged chart in a Helm repository.
    Repository,
}

impl ChartSource {
    /// Which source the chart comes from: Git when `git` is set, a Helm repository when
    /// `repository` is set, none otherwise.
    pub fn kind(&self) -> Option<ChartSourceKind> {
        match (
            non_empty(self.git.as_deref()),
            non_empty(self.repository.as_deref()),
        ) {
            (Some(_), _) => Some(ChartSourceKind::Git),
            (None, Some(_)) => Some(ChartSourceKind::Repository),
            (None, None) => None,
        }
    }

    /// The Git reference, `default` when unset or empty.
    pub fn git_ref_or<'a>(&'a self, default: &'a str) -> &'a str {
        non_empty(self.git_ref.as_deref()).unwrap_or(default)
    }

    /// The repository URL without query string and with exactly one trailing slash.
    pub fn clean_repository_url(&self) -> Option<String> {
        let url = self.repository.as_deref()?;
        let without_query = url.split_once('?').map_or(url, |(base, _)| base);
        Some(format!("{}/", without_query.trim_end_matches('/')))
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Names an object, in the HelmRelease's namespace unless `namespace` is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// Name of the object.
    pub name: String,
    /// Namespace of the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// One source of values; exactly one field is expected to be set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesFromSource {
    /// A ConfigMap key holding values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeySelector>,
    /// A Secret key holding values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeySelector>,
    /// A URL serving values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_source_ref: Option<ExternalSourceSelector>,
    /// A values file in the chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_file_ref: Option<ChartFileSelector>,
}

/// The key of a ConfigMap or Secret holding values.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeySelector {
    /// Name of the object.
    pub name: String,
    /// Namespace of the object; the HelmRelease's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The key; `values.yaml` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Tolerates a missing object or key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// The key read from a ConfigMap or Secret when `key` is unset.
pub const DEFAULT_VALUES_KEY: &str = "values.yaml";

impl KeySelector {
    /// The key, `values.yaml` when unset or empty.
    pub fn key_or_default(&self) -> &str {
        non_empty(self.key.as_deref()).unwrap_or(DEFAULT_VALUES_KEY)
    }
}

/// Values served at a URL.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSourceSelector {
    /// The URL.
    pub url: String,
    /// Tolerates the URL being unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// A values file in the chart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartFileSelector {
    /// Path of the file relative to the chart root.
    pub path: String,
    /// Tolerates the file being missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// Rollback of a failed upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// Rolls back a failed upgrade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Retries the upgrade after a rollback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<bool>,
    /// Upgrade retries before giving up; 5 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i64>,
    /// Rolls back with `--force`, recreating objects where needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Restarts the workloads' pods (`--recreate-pods`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recreate: Option<bool>,
    /// Skips the chart's hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Time limit, in seconds, of each Kubernetes operation of the rollback; 300 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Waits for the rolled-back objects to be ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
}

impl Rollback {
    /// The time limit, 300s when unset.
    pub fn effective_timeout(&self) -> StdDuration {
        seconds_or_default(self.timeout)
    }

    /// The retry limit, 5 when unset.
    pub fn max_retries_or_default(&self) -> i64 {
        self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES)
    }
}

/// Helm tests after an install or upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    /// Runs the chart's tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Leaves a release whose tests failed released instead of rolling it back; false when
    /// unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_failures: Option<bool>,
    /// Time limit, in seconds, of each Kubernetes operation of the tests; 300 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Helm 2: deletes the test pods between runs; true when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<bool>,
}

impl Test {
    /// The time limit, 300s when unset.
    pub fn effective_timeout(&self) -> StdDuration {
        seconds_or_default(self.timeout)
    }

    /// Whether test pods are cleaned up, true when unset.
    pub fn cleans_up(&self) -> bool {
        self.cleanup.unwrap_or(true)
    }
}

/// A number of seconds as a duration; 300s when unset, zero when negative.
fn seconds_or_default(seconds: Option<i64>) -> StdDuration {
    seconds.map_or(DEFAULT_TIMEOUT, |s| {
        StdDuration::from_secs(u64::try_from(s).unwrap_or(0))
    })
}

impl HelmRelease {
    /// The namespace of the HelmRelease, `default` when unset.
    pub fn defaulted_namespace(&self) -> &str {
        non_empty(self.metadata.namespace.as_deref()).unwrap_or("default")
    }

    /// The namespace the release is installed into: the target namespace, else the
    /// HelmRelease's.
    pub fn target_namespace(&self) -> &str {
        non_empty(self.spec.target_namespace.as_deref())
            .unwrap_or_else(|| self.defaulted_namespace())
    }

    /// The Helm release name: `spec.releaseName`, else `<target namespace>-<name>`, prefixed
    /// with the HelmRelease's namespace when it differs from the target namespace.
    pub fn release_name(&self) -> String {
        if let Some(name) = non_empty(self.spec.release_name.as_deref()) {
            return name.to_owned();
        }
        let name = self.metadata.name.as_deref().unwrap_or_default();
        let (namespace, target) = (self.defaulted_namespace(), self.target_namespace());
        if namespace == target {
            format!("{target}-{name}")
        } else {
            format!("{namespace}-{target}-{name}")
        }
    }

    /// The install and upgrade time limit, 300s when unset.
    pub fn effective_timeout(&self) -> StdDuration {
        seconds_or_default(self.spec.timeout)
    }

    /// How many releases Helm keeps, 10 when unset.
    pub fn max_history_or_default(&self) -> i64 {
        self.spec.max_history.unwrap_or(DEFAULT_MAX_HISTORY)
    }

    /// Whether an upgrade reuses the previous release's values: only when resetValues is
    /// explicitly false.
    pub fn reuses_values(&self) -> bool {
        self.spec.reset_values == Some(false)
    }

    /// Whether Helm waits for readiness: as set, else whether rollbacks or tests are enabled.
    pub fn waits(&self) -> bool {
        let rollback = self.spec.rollback.as_ref().and_then(|r| r.enable);
        let test = self.spec.test.as_ref().and_then(|t| t.enable);
        self.spec
            .wait
            .unwrap_or(rollback == Some(true) || test == Some(true))
    }

    /// The values sources in merge order: the deprecated valueFileSecrets first (as
    /// secretKeyRefs), then valuesFrom.
    pub fn values_from_sources(&self) -> Vec<ValuesFromSource> {
        let secrets = self.spec.value_file_secrets.iter().flatten();
        let secrets = secrets.map(|secret| ValuesFromSource {
            secret_key_ref: Some(KeySelector {
                name: secret.name.clone(),
                ..KeySelector::default()
            }),
            ..ValuesFromSource::default()
        });
        secrets
            .chain(self.spec.values_from.iter().flatten().cloned())
            .collect()
    }
}

string_enum! {
    /// The release phase the operator is in.
    pub enum HelmReleasePhase {
        /// The chart was fetched.
        ChartFetched = "ChartFetched",
        /// The chart could not be fetched.
        ChartFetchFailed = "ChartFetchFailed",
        /// An install is running.
        Installing = "Installing",
        /// An upgrade is running.
        Upgrading = "Upgrading",
        /// The dry-run, install or upgrade succeeded.
        Deployed = "Deployed",
        /// The dry-run, install or upgrade failed.
        DeployFailed = "DeployFailed",
        /// Tests are running.
        Testing = "Testing",
        /// The tests failed.
        TestFailed = "TestFailed",
        /// The tests succeeded.
        Tested = "Tested",
        /// The release as specified was processed by Helm.
        Succeeded = "Succeeded",
        /// The install or upgrade failed.
        Failed = "Failed",
        /// A rollback is running.
        RollingBack = "RollingBack",
        /// The release was rolled back.
        RolledBack = "RolledBack",
        /// The rollback failed.
        RollbackFailed = "RollbackFailed",
    }
}

string_enum! {
    /// The condition types of a helm-operator HelmRelease.
    pub enum HelmReleaseConditionType {
        /// The chart was fetched.
        ChartFetched = "ChartFetched",
        /// The chart was installed or upgraded.
        Deployed = "Deployed",
        /// The release as specified was processed by Helm.
        Released = "Released",
        /// The release was rolled back.
        RolledBack = "RolledBack",
        /// The release was tested.
        Tested = "Tested",
    }
}

string_enum! {
    /// The status of a condition.
    pub enum ConditionStatus {
        /// The condition holds.
        True = "True",
        /// The condition does not hold.
        False = "False",
        /// The operator cannot tell.
        Unknown = "Unknown",
    }
}

/// An observation of a helm-operator HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseCondition {
    /// The condition type.
    #[serde(rename = "type")]
    pub condition_type: HelmReleaseConditionType,
    /// Whether the condition holds.
    pub status: ConditionStatus,
    /// When the condition was last updated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// When the condition's status last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason: the phase that set the condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The observed state of a helm-operator HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// The last generation the operator observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The release phase the operator is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<HelmReleasePhase>,
    /// The Helm release name, as given or generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// The status of the Helm release, as Helm reports it (`deployed`, `failed`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_status: Option<String>,
    /// The Git commit or chart version currently deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The Git commit or chart version of the last attempt, successful or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// Rollbacks made since the last successful upgrade or revision change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_count: Option<i64>,
    /// Observations of the release, one per condition type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<HelmReleaseCondition>>,
}
