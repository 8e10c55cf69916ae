//! `source.toolkit.fluxcd.io/v1beta2` GitRepository, OCIRepository, Bucket, HelmRepository and
//! HelmChart: deprecated, still served so that older manifests apply unchanged. Fields as in
//! Flux's last release serving them (source-controller v1.7); OCIRepository's and
//! HelmRepository's specs and Bucket's, HelmRepository's and HelmChart's statuses are v1's.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{
    BetaVerificationMode, GitImplementation, GitRepositoryInclude, GitRepositoryRef,
};
pub use super::v1::{
    BucketProvider, BucketSTSProvider, BucketSTSSpec, BucketStatus, GIT_URL_PATTERN,
    HelmChartSourceKind, HelmChartStatus, HelmChartVerification, HelmRepositoryProvider,
    HelmRepositoryStatus, HelmRepositoryType, LocalHelmChartSourceReference, ReconcileStrategy,
};
use crate::meta::{
    AccessFrom, Artifact, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration,
    LocalObjectReference, conditions::conditions_schema,
};

/// The desired state of a v1beta2 GitRepository.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    namespaced,
    status = "GitRepositoryStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 GitRepository is deprecated, upgrade to v1",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Git repository fetched on an interval and packaged as an artifact (deprecated v1beta2 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// The repository address, over HTTP(S) or SSH.
    #[schemars(pattern(GIT_URL_PATTERN))]
    pub url: String,
    /// A Secret with credentials: `username` and `password`, or `bearerToken`, for HTTPS;
    /// `identity` and `known_hosts` for SSH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// How often to check the repository for changes.
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// Time limit for Git operations such as cloning; 60s by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<Duration>,
    /// The reference to check out and watch; the `master` branch when absent.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Verification of the signature of the checked-out commit.
    #[serde(rename = "verify", skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,
    /// Exclusion patterns in .sourceignore (.gitignore) format, replacing the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stops reconciliation of this GitRepository while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// The Git library to use; deprecated, as only `go-git` remains. `go-git` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "go-git"))]
    pub git_implementation: Option<GitImplementation>,
    /// Initializes every submodule after cloning, with their default settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurse_submodules: Option<bool>,
    /// Other GitRepositories whose artifacts are copied into this one's artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<GitRepositoryInclude>>,
    /// Namespaces allowed to refer to this object (provisional, not enforced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
}

/// Signature verification of the checked-out commit.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify; only `head` exists in this version.
    pub mode: BetaVerificationMode,
    /// A Secret with the trusted public keys of the commit authors.
    pub secret_ref: LocalObjectReference,
}

/// The observed state of a v1beta2 GitRepository.
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
    /// A best-effort download link for the latest artifact; prefer `artifact`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The artifact of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The artifacts of `spec.include` as of the last successful reconciliation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included_artifacts: Option<Vec<Artifact>>,
    /// Deprecated checksum of the content-related settings; replaced by the observed* fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_config_checksum: Option<String>,
    /// The exclusion patterns used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// The submodule setting used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_recurse_submodules: Option<bool>,
    /// The includes used to build the current artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_include: Option<Vec<GitRepositoryInclude>>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The desired state of a v1beta2 OCIRepository: the same fields as v1.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "OCIRepository",
    plural = "ocirepositories",
    singular = "ocirepository",
    namespaced,
    status = "OCIRepositoryStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 OCIRepository is deprecated, upgrade to v1",
    shortname = "ocirepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "An OCI repository pulled on an interval and stored as an artifact (deprecated v1beta2 form)."
)]
pub struct OCIRepositorySpec {
    /// Every field of the v1 spec, unchanged.
    #[serde(flatten)]
    pub fields: super::v1::OCIRepositorySpec,
}

/// The observed state of a v1beta2 OCIRepository: v1's, plus the deprecated checksum.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryStatus {
    /// Every field of the v1 status.
    #[serde(flatten)]
    pub fields: super::v1::OCIRepositoryStatus,
    /// Deprecated checksum of the content-related settings; replaced by the observed* fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_config_checksum: Option<String>,
}

/// The desired state of a v1beta2 HelmRepository: the same fields as v1.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "HelmRepository",
    plural = "helmrepositories",
    singular = "helmrepository",
    namespaced,
    status = "HelmRepositoryStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 HelmRepository is deprecated, upgrade to v1",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A Helm chart repository whose index is fetched on an interval (deprecated v1beta2 form)."
)]
pub struct HelmRepositorySpec {
    /// Every field of the v1 spec, unchanged.
    #[serde(flatten)]
    pub fields: super::v1::HelmRepositorySpec,
}

/// The desired state of a v1beta2 HelmChart: v1's fields, plus the deprecated single values
/// file and the cross-namespace ACL, without v1's rule restricting verify to HelmRepository
/// sources.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "HelmChart",
    plural = "helmcharts",
    singular = "helmchart",
    namespaced,
    status = "HelmChartStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 HelmChart is deprecated, upgrade to v1",
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
    doc = "A Helm chart fetched or packaged from a source on an interval (deprecated v1beta2 form)."
)]
#[serde(rename_all = "camelCase")]
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
    /// the packaged chart's default values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// A single values file, merged before valuesFiles; deprecated in favour of valuesFiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Skips values files that do not exist instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// Stops reconciliation of this HelmChart while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespaces allowed to refer to this object (provisional, not enforced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Signature verification of a chart from an OCI HelmRepository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartVerification>,
}

impl HelmChartSpec {
    /// The values files to merge: the deprecated valuesFile first, then valuesFiles.
    pub fn merged_values_files(&self) -> Vec<String> {
        let single = self.values_file.iter().filter(|f| !f.is_empty()).cloned();
        single
            .chain(self.values_files.iter().flatten().cloned())
            .collect()
    }
}

/// The desired state of a v1beta2 Bucket: v1's fields less `serviceAccountName`, plus
/// `accessFrom`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Bucket",
    plural = "buckets",
    singular = "bucket",
    namespaced,
    status = "BucketStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 Bucket is deprecated, upgrade to v1",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".spec.endpoint"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "An object storage bucket downloaded on an interval and stored as an artifact (deprecated v1beta2 form)."
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
    /// A Secret with TLS settings: `ca.crt`, and `tls.crt` with `tls.key`.
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
    /// Namespaces allowed to refer to this object (provisional, not enforced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
}
