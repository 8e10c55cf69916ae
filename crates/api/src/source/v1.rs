//! `source.toolkit.fluxcd.io/v1` GitRepository and OCIRepository: the storage version, as Flux
//! v2.9 defines it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub use super::oci::{
    OCI_URL_PATTERN, OCILayerOperation, OCILayerSelector, OCIProvider, OCIRepositoryRef,
    OCIRepositoryVerification, OCIVerificationProvider, OIDCIdentityMatch,
};
pub use super::shared::{GitRepositoryInclude, GitRepositoryRef};
use crate::{
    meta::{
        Artifact, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, LocalObjectReference,
        conditions::conditions_schema,
    },
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

/// Flux types the status verification mode as a free string, without the spec's enum.
fn plain_string_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string" })
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
