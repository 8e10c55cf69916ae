//! `source.toolkit.fluxcd.io/v1` GitRepository, OCIRepository, Bucket, HelmRepository, HelmChart
//! and ExternalArtifact:
//! the storage version, as Flux v2.9 (source-controller v1.9) defines it.

use std::time::Duration as StdDuration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::bucket::{BucketProvider, BucketSTSProvider, BucketSTSSpec};
pub use super::helm::{
    DEFAULT_CHART_VERSION, HELM_REPOSITORY_URL_PATTERN, HelmChartSourceKind, HelmChartVerification,
    HelmChartVerificationProvider, HelmRepositoryProvider, HelmRepositoryType,
    LocalHelmChartSourceReference, ReconcileStrategy,
};
pub use super::oci::{
    OCI_URL_PATTERN, OCILayerOperation, OCILayerSelector, OCIProvider, OCIRepositoryRef,
    OCIRepositoryVerification, OCIVerificationProvider, OIDCIdentityMatch,
};
pub use super::shared::{GitRepositoryInclude, GitRepositoryRef};
use crate::{
    meta::{
        AccessFrom, Artifact, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, DurationError,
        LocalObjectReference, NamespacedObjectKindReference, conditions::conditions_schema,
    },
    schema::plain_string_schema,
    string_enum::string_enum,
};

/// The pattern a GitRepository URL must match.
pub const GIT_URL_PATTERN: &str = "^(http|https|ssh)://.*$";

/// The desired state of a GitRepository: what to fetch, how often, and how to package it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    namespaced,
    status = "GitRepositoryStatus",
    schema = "disabled",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Git repository that source-controller fetches on an interval and packages as an artifact."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "serviceAccountName can only be set when provider is 'azure' or 'aws'",
    "rule": "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))",
}]))]
pub struct GitRepositorySpec {
    /// The repository address, over HTTP(S) or SSH.
    #[schemars(pattern(GIT_URL_PATTERN))]
    pub url: String,
    /// A Secret with credentials: `username` and `password`, or `bearerToken`, for HTTPS;
    /// `identity` and `known_hosts` for SSH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// How to authenticate: `generic` (the secretRef, the default), or the workload identity of
    /// `aws`, `azure` or `github` (GitHub App).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<GitProvider>,
    /// The ServiceAccount whose identity authenticates to the repository; only with the
    /// `azure` and `aws` providers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// How often to check the repository for changes (approximate, jittered).
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// Time limit for Git operations such as cloning; 60s by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<Duration>,
    /// The reference to check out and watch; the `master` branch when absent.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Verification of commit or tag signatures.
    #[serde(rename = "verify", skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,
    /// A Secret with the proxy (`address`, and optionally `username` and `password`) to reach
    /// the Git server through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Exclusion patterns in .sourceignore (.gitignore) format, replacing the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stops reconciliation of this GitRepository while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Initializes every submodule after cloning, with their default settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurse_submodules: Option<bool>,
    /// Other GitRepositories whose artifacts are copied into this one's artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<GitRepositoryInclude>>,
    /// Directories to check out; when set, the artifact holds only these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sparse_checkout: Option<Vec<String>>,
}

impl GitRepositorySpec {
    /// The authentication provider, `generic` when unset.
    pub fn provider_or_default(&self) -> GitProvider {
        self.provider.unwrap_or_default()
    }
}

string_enum! {
    /// How a GitRepository authenticates to its server.
    #[derive(Default)]
    pub enum GitProvider {
        /// Credentials from `spec.secretRef`.
        #[default]
        Generic = "generic",
        /// AWS CodeCommit with IAM credentials.
        Aws = "aws",
        /// Azure DevOps with a managed identity.
        Azure = "azure",
        /// GitHub App installation credentials.
        Github = "github",
    }
}

string_enum! {
    /// Which Git objects must carry a trusted signature.
    #[derive(Default)]
    pub enum GitVerificationMode {
        /// The commit HEAD points to, spelled the old way (kept for compatibility).
        LegacyHead = "head",
        /// The commit HEAD points to after checkout.
        #[default]
        Head = "HEAD",
        /// The tag object of `spec.ref.tag` or `spec.ref.semver`.
        Tag = "Tag",
        /// Both the tag object and the commit it points to.
        TagAndHead = "TagAndHEAD",
    }
}

impl GitVerificationMode {
    /// Whether the checked-out commit must be verified.
    pub fn verifies_head(self) -> bool {
        matches!(self, Self::LegacyHead | Self::Head | Self::TagAndHead)
    }

    /// Whether the tag object must be verified.
    pub fn verifies_tag(self) -> bool {
        matches!(self, Self::Tag | Self::TagAndHead)
    }
}

/// Signature verification of the fetched Git objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify; `HEAD` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "HEAD"))]
    pub mode: Option<GitVerificationMode>,
    /// A Secret with the trusted public keys: PGP keys under `*.asc` keys, SSH keys under
    /// `*.sshpub` keys.
    pub secret_ref: LocalObjectReference,
}

impl GitRepositoryVerification {
    /// The verification mode, `HEAD` when unset.
    pub fn mode_or_default(&self) -> GitVerificationMode {
        self.mode.unwrap_or_default()
    }
}

/// The observed state of a GitRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the GitRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The artifact of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The artifacts of `spec.include` as of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included_artifacts: Option<Vec<Artifact>>,
    /// The exclusion patterns used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// The submodule setting used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_recurse_submodules: Option<bool>,
    /// The includes used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_include: Option<Vec<GitRepositoryInclude>>,
    /// The sparse-checkout directories used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_sparse_checkout: Option<Vec<String>>,
    /// The verification mode last applied, naming the Git objects that were verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_string_schema")]
    pub source_verification_mode: Option<GitVerificationMode>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The desired state of an OCIRepository: which artifact of an OCI repository to pull, how
/// often, and which layer becomes the source.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "OCIRepository",
    plural = "ocirepositories",
    singular = "ocirepository",
    namespaced,
    status = "OCIRepositoryStatus",
    schema = "disabled",
    shortname = "ocirepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "An OCI repository whose artifact source-controller pulls on an interval and stores as an artifact."
)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositorySpec {
    /// The repository address, `oci://<host>[:<port>]/<path>`.
    #[schemars(pattern(OCI_URL_PATTERN))]
    pub url: String,
    /// Which artifact to pull; the `latest` tag when absent.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<OCIRepositoryRef>,
    /// Which layer to take and how; the first layer, extracted, when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_selector: Option<OCILayerSelector>,
    /// How to authenticate: `generic` (the default) or a cloud workload identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<OCIProvider>,
    /// A Secret of type `kubernetes.io/dockerconfigjson` with the registry credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Signature verification of the artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<OCIRepositoryVerification>,
    /// The ServiceAccount whose image pull secrets authenticate to the registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// A Secret with TLS settings: `ca.crt`, and `tls.crt` with `tls.key` for a client
    /// certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// A Secret with the proxy (`address`, and optionally `username` and `password`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// How often to check the repository for a new artifact.
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// Time limit for registry operations such as pulling; 60s by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<Duration>,
    /// Exclusion patterns in .sourceignore (.gitignore) format, replacing the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Allow plain HTTP to the registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Stops reconciliation of this OCIRepository while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The observed state of an OCIRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the OCIRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The download link of the artifact; prefer `artifact.url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The artifact of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The exclusion patterns used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// The layer selector used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_layer_selector: Option<OCILayerSelector>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The desired state of a HelmRepository: the chart repository (HTTP(S) with an index, or an
/// OCI registry) and how to authenticate to it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmRepository",
    plural = "helmrepositories",
    singular = "helmrepository",
    namespaced,
    status = "HelmRepositoryStatus",
    schema = "disabled",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Helm chart repository whose index source-controller fetches on an interval and stores as an artifact."
)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// The repository address: `http(s)://` for an index-based repository, `oci://` for an OCI
    /// registry (with `type: oci`).
    #[schemars(pattern(HELM_REPOSITORY_URL_PATTERN))]
    pub url: String,
    /// A Secret with credentials: `username` and `password` for basic auth (HTTP(S) and OCI),
    /// or a `kubernetes.io/dockerconfigjson` Secret for OCI. The TLS keys `certFile`, `keyFile`
    /// and `caFile` are deprecated in favour of certSecretRef.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A Secret with TLS settings: `ca.crt`, and `tls.crt` with `tls.key` for a client
    /// certificate; wins over the TLS keys of secretRef.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Sends the secretRef credentials to hosts other than the URL's (charts the index
    /// serves from elsewhere); exposes them to those hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_credentials: Option<bool>,
    /// How often to fetch the index (approximate, jittered); unused for OCI repositories.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// Allow plain HTTP to an OCI registry (only with `type: oci`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Time limit for fetching the index, and for the registry operations of the HelmCharts
    /// that use an OCI repository; 60s when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN))]
    pub timeout: Option<Duration>,
    /// Stops reconciliation of this HelmRepository while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespaces allowed to refer to this object (provisional, not enforced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// `default` (an index-based repository, when unset) or `oci` (an OCI registry).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub repository_type: Option<HelmRepositoryType>,
    /// How to authenticate to an OCI registry: `generic` (the default) or a cloud identity;
    /// only with `type: oci`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<HelmRepositoryProvider>,
}

impl HelmRepositorySpec {
    /// The repository type, `default` when unset.
    pub fn type_or_default(&self) -> HelmRepositoryType {
        self.repository_type.unwrap_or_default()
    }

    /// The authentication provider, `generic` when unset.
    pub fn provider_or_default(&self) -> HelmRepositoryProvider {
        self.provider.unwrap_or_default()
    }

    /// How often to fetch the index: the interval, or one minute when unset or zero (Flux's rule).
    pub fn effective_interval(&self) -> Result<StdDuration, DurationError> {
        let interval = match &self.interval {
            Some(interval) => interval.to_std()?,
            None => StdDuration::ZERO,
        };
        Ok(if interval.is_zero() {
            DEFAULT_HELM_REPOSITORY_INTERVAL
        } else {
            interval
        })
    }

    /// The time limit of repository operations: the timeout, or 60s when unset.
    pub fn effective_timeout(&self) -> Result<StdDuration, DurationError> {
        self.timeout
            .as_ref()
            .map_or(Ok(DEFAULT_HELM_REPOSITORY_TIMEOUT), Duration::to_std)
    }
}

/// How often a HelmRepository whose interval is unset fetches its index.
pub const DEFAULT_HELM_REPOSITORY_INTERVAL: StdDuration = StdDuration::from_secs(60);
/// The time limit of a HelmRepository whose timeout is unset.
pub const DEFAULT_HELM_REPOSITORY_TIMEOUT: StdDuration = StdDuration::from_secs(60);

/// The observed state of a HelmRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositoryStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the HelmRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The download link of the artifact; prefer `artifact.url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The artifact (the repository index) of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The desired state of a HelmChart: which chart to take from which source, at which version,
/// with which values files.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmChart",
    plural = "helmcharts",
    singular = "helmchart",
    namespaced,
    status = "HelmChartStatus",
    schema = "disabled",
    shortname = "hc",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"Chart","type":"string","jsonPath":".spec.chart"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Source Kind","type":"string","jsonPath":".spec.sourceRef.kind"}"#,
    printcolumn = r#"{"name":"Source Name","type":"string","jsonPath":".spec.sourceRef.name"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Helm chart that source-controller fetches or packages from a source on an interval and stores as an artifact."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
    "rule": "!has(self.verify) || self.sourceRef.kind == 'HelmRepository'",
}]))]
pub struct HelmChartSpec {
    /// The chart's name in a HelmRepository, or its path in a GitRepository or Bucket.
    pub chart: String,
    /// SemVer constraint on the chart version (HelmRepository sources only); `*`, the latest,
    /// by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,
    /// The source holding the chart.
    pub source_ref: LocalHelmChartSourceReference,
    /// How often to check the source for a new chart (approximate, jittered).
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// What produces a new artifact: a new chart version (`ChartVersion`, the default) or a
    /// new source revision (`Revision`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ChartVersion"))]
    pub reconcile_strategy: Option<ReconcileStrategy>,
    /// Values files, relative to the chart's source, merged in order (later files win) into
    /// the packaged chart's default values; `values.yaml` is only included if listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// Skips values files that do not exist instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// Stops reconciliation of this HelmChart while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Signature verification of a chart from an OCI HelmRepository; dependencies not bundled
    /// in the chart are not verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartVerification>,
}

impl HelmChartSpec {
    /// The version constraint, `*` when unset or empty.
    pub fn version_or_default(&self) -> &str {
        match self.version.as_deref() {
            Some(version) if !version.is_empty() => version,
            _ => DEFAULT_CHART_VERSION,
        }
    }

    /// The reconcile strategy, `ChartVersion` when unset.
    pub fn reconcile_strategy_or_default(&self) -> ReconcileStrategy {
        self.reconcile_strategy.unwrap_or_default()
    }
}

/// The observed state of a HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The source artifact revision the current artifact was built from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_source_artifact_revision: Option<String>,
    /// The chart name resolved from the chart reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_chart_name: Option<String>,
    /// The values files merged into the current artifact's chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_values_files: Option<Vec<String>>,
    /// The conditions of the HelmChart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The download link of the artifact; prefer `artifact.url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The artifact (the packaged chart) of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The desired state of a Bucket: which object storage bucket (and prefix) to download, how
/// to authenticate, how often, and which objects to leave out.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "Bucket",
    plural = "buckets",
    singular = "bucket",
    namespaced,
    status = "BucketStatus",
    schema = "disabled",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".spec.endpoint"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "An object storage bucket whose objects source-controller downloads on an interval and stores as an artifact."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "STS configuration is only supported for the 'aws' and 'generic' Bucket providers",
        "rule": "self.provider == 'aws' || self.provider == 'generic' || !has(self.sts)",
    },
    {
        "message": "'aws' is the only supported STS provider for the 'aws' Bucket provider",
        "rule": "self.provider != 'aws' || !has(self.sts) || self.sts.provider == 'aws'",
    },
    {
        "message": "'ldap' is the only supported STS provider for the 'generic' Bucket provider",
        "rule": "self.provider != 'generic' || !has(self.sts) || self.sts.provider == 'ldap'",
    },
    {
        "message": "spec.sts.secretRef is not required for the 'aws' STS provider",
        "rule": "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.secretRef)",
    },
    {
        "message": "spec.sts.certSecretRef is not required for the 'aws' STS provider",
        "rule": "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.certSecretRef)",
    },
    {
        "message": "ServiceAccountName is not supported for the 'generic' Bucket provider",
        "rule": "self.provider != 'generic' || !has(self.serviceAccountName)",
    },
    {
        "message": "cannot set both .spec.secretRef and .spec.serviceAccountName",
        "rule": "!has(self.secretRef) || !has(self.serviceAccountName)",
    },
]))]
pub struct BucketSpec {
    /// The storage: `generic` (any S3-compatible server, the default), `aws`, `gcp` or `azure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<BucketProvider>,
    /// The bucket's name.
    pub bucket_name: String,
    /// The storage address (`host[:port]`) the bucket is on.
    pub endpoint: String,
    /// A Security Token Service for temporary credentials (`aws` and `generic` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts: Option<BucketSTSSpec>,
    /// Connect over plain HTTP instead of HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// The region the bucket is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only objects whose keys start with this are listed (server-side filtering).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// A Secret with the credentials (`accesskey` and `secretkey` for `generic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// The ServiceAccount whose workload identity authenticates (`gcp` and `aws` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// A Secret with TLS settings: `ca.crt`, and `tls.crt` with `tls.key` for a client
    /// certificate (`generic` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// A Secret with the proxy (`address`, and optionally `username` and `password`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// How often to check the bucket for changes.
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// Time limit for listing and downloading; 60s by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<Duration>,
    /// Exclusion patterns in .sourceignore (.gitignore) format, replacing the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stops reconciliation of this Bucket while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The observed state of a Bucket.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the Bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The download link of the artifact; prefer `artifact.url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The artifact of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The exclusion patterns used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The desired state of an ExternalArtifact: only which object (if any) it was generated from.
/// A third-party controller writes the artifact into the status; Flux's controllers never
/// reconcile the object itself.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "ExternalArtifact",
    plural = "externalartifacts",
    singular = "externalartifact",
    shortname = "ea",
    namespaced,
    status = "ExternalArtifactStatus",
    schema = "disabled",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.sourceRef.name"}"#,
    derive = "PartialEq",
    doc = "An artifact produced by a third-party controller, which writes it into the status for Flux's controllers to consume."
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactSpec {
    /// The object the artifact is generated for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<NamespacedObjectKindReference>,
}

/// The observed state of an ExternalArtifact, written by its producer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactStatus {
    /// The artifact produced for the referent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The conditions of the ExternalArtifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
}
