//! `source.toolkit.fluxcd.io/v1beta1` GitRepository: deprecated, still served so that older
//! manifests apply unchanged. Fields as in Flux's last release serving it (source-controller
//! v1.6), including this version's own artifact shape.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{BetaVerificationMode, GitImplementation, GitRepositoryInclude};
pub use super::v1::GIT_URL_PATTERN;
use crate::meta::{AccessFrom, Duration, LocalObjectReference, conditions::conditions_schema};

/// The desired state of a v1beta1 GitRepository.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    namespaced,
    status = "GitRepositoryStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta1 GitRepository is deprecated, upgrade to v1",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "A Git repository fetched on an interval and packaged as an artifact (deprecated v1beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// The repository address, over HTTP(S) or SSH.
    #[schemars(pattern(GIT_URL_PATTERN))]
    pub url: String,
    /// A Secret with credentials: `username` and `password` for HTTPS, `identity` and
    /// `known_hosts` for SSH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// How often to check the repository for changes.
    pub interval: Duration,
    /// Time limit for Git operations such as cloning; 60s by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "60s"))]
    pub timeout: Option<Duration>,
    /// The reference to check out and watch; the `master` branch when absent.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Verification of the OpenPGP signature of the checked-out commit.
    #[serde(rename = "verify", skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,
    /// Exclusion patterns in .sourceignore (.gitignore) format, replacing the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stops reconciliation of this GitRepository while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// The Git library to use; `go-git` by default.
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

/// The Git reference to check out (v1beta1 has no full reference name).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryRef {
    /// Branch to check out; `master` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag to check out; wins over branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// SemVer range selecting the highest matching tag; wins over tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Commit SHA to check out; wins over every other field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Signature verification of the checked-out commit.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify; only `head` exists in this version.
    pub mode: BetaVerificationMode,
    /// A Secret with the trusted public keys of the commit authors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// The observed state of a v1beta1 GitRepository.
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
    /// Download link for the artifact of the last successful sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The artifact of the last successful sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The artifacts of `spec.include` as of the last successful sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included_artifacts: Option<Vec<Artifact>>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The v1beta1 artifact: a checksum instead of a digest, no size or metadata.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Path of the file relative to the root of the artifact storage.
    pub path: String,
    /// HTTP address from which the file can be downloaded.
    pub url: String,
    /// Human-readable revision in the origin system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// SHA-256 checksum of the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// When the artifact was last updated.
    pub last_update_time: Time,
}
