//! `image.toolkit.fluxcd.io/v1beta1`: deprecated, still served so that older manifests apply
//! unchanged. Fields as in the last releases serving it: image-reflector-controller v0.35
//! (ImageRepository and ImagePolicy, whose status has the plain `latestImage` string) and
//! image-automation-controller v0.41 (ImageUpdateAutomation, without policy selector, message
//! template values or observed policies).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

pub use super::shared::{
    AlphabeticalPolicy, BetaSigningKey as SigningKey, CommitUser, CrossNamespaceSourceReference,
    GitCheckoutSpec, ImagePolicyChoice, NumericalPolicy, PushSpec, SemVerPolicy, SortOrder,
    SourceKind, TagFilter, UpdateStrategyName,
};
use super::{DEFAULT_EXCLUSION_LIST, MIN_SCAN_TIMEOUT};
use crate::{
    meta::{
        AccessFrom, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, DurationError,
        LocalObjectReference, NamespacedObjectReference, conditions::conditions_schema,
    },
    schema::{add_required, plain_integer_schema},
};

/// The desired state of a v1beta1 ImageRepository.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "ImageRepository",
    plural = "imagerepositories",
    singular = "imagerepository",
    namespaced,
    status = "ImageRepositoryStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta1 ImageRepository is deprecated, upgrade to v1",
    shortname = "imgrepo",
    shortname = "imagerepo",
    printcolumn = r#"{"name":"Last scan","type":"string","jsonPath":".status.lastScanResult.scanTime"}"#,
    printcolumn = r#"{"name":"Tags","type":"string","jsonPath":".status.lastScanResult.tagCount"}"#,
    derive = "PartialEq",
    doc = "An image repository scanned for tags on an interval (deprecated v1beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// The image repository to scan.
    pub image: String,
    /// How long to wait between scans.
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// Time limit for a scan; the interval when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN))]
    pub timeout: Option<Duration>,
    /// A Secret with registry credentials, of type `kubernetes.io/dockerconfigjson`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A ServiceAccount whose image pull secrets authenticate the scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub service_account_name: Option<String>,
    /// A Secret with a client certificate and key (`certFile`, `keyFile`) and/or a CA
    /// certificate (`caFile`) for the registry connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stops subsequent scans while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespaces whose ImagePolicies may refer to this ImageRepository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Regular expressions of tags to leave out of the scan result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,
}

impl ImageRepositorySpec {
    /// The scan time limit: the timeout if set, else the interval; never below one second.
    pub fn effective_timeout(&self) -> Result<std::time::Duration, DurationError> {
        let timeout = self.timeout.as_ref().unwrap_or(&self.interval).to_std()?;
        Ok(timeout.max(MIN_SCAN_TIMEOUT))
    }

    /// The exclusion list, `^.*\.sig$` when unset or empty (as the controller applies it to
    /// every version, the API server storing v1 objects).
    pub fn exclusion_list_or_default(&self) -> Vec<&str> {
        match self.exclusion_list.as_deref() {
            Some(list) if !list.is_empty() => list.iter().map(String::as_str).collect(),
            _ => DEFAULT_EXCLUSION_LIST.to_vec(),
        }
    }
}

/// The outcome of the last registry scan (v1beta1: no revision or tag sample).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// How many tags the scan found.
    #[schemars(schema_with = "plain_integer_schema")]
    pub tag_count: i64,
    /// When the scan was performed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_time: Option<Time>,
}

/// The observed state of a v1beta1 ImageRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositoryStatus {
    /// The conditions of the ImageRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The image with every implied part made explicit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_image_name: Option<String>,
    /// The outcome of the last scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scan_result: Option<ScanResult>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The desired state of a v1beta1 ImagePolicy.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "ImagePolicy",
    plural = "imagepolicies",
    singular = "imagepolicy",
    namespaced,
    status = "ImagePolicyStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta1 ImagePolicy is deprecated, upgrade to v1",
    shortname = "imgpol",
    shortname = "imagepol",
    printcolumn = r#"{"name":"LatestImage","type":"string","jsonPath":".status.latestImage"}"#,
    derive = "PartialEq",
    doc = "A policy electing the latest image of an ImageRepository (deprecated v1beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicySpec {
    /// The ImageRepository whose tags are considered.
    pub image_repository_ref: NamespacedObjectReference,
    /// How to elect the latest tag.
    pub policy: ImagePolicyChoice,
    /// Filters the tags before the policy orders them; every tag when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
}

/// The observed state of a v1beta1 ImagePolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyStatus {
    /// The latest image, as `name:tag`, among the ImageRepository's tags filtered and ordered
    /// by the policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_image: Option<String>,
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the ImagePolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
}

/// The desired state of a v1beta1 ImageUpdateAutomation.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "ImageUpdateAutomation",
    plural = "imageupdateautomations",
    singular = "imageupdateautomation",
    namespaced,
    status = "ImageUpdateAutomationStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta1 ImageUpdateAutomation is deprecated, upgrade to v1",
    shortname = "iua",
    shortname = "imgupd",
    shortname = "imgauto",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    printcolumn = r#"{"name":"Last run","type":"string","jsonPath":".status.lastAutomationRunTime"}"#,
    derive = "PartialEq",
    doc = "An automation writing elected images into a Git repository (deprecated v1beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// The GitRepository giving the repository's address and credentials.
    pub source_ref: CrossNamespaceSourceReference,
    /// The Git settings: checkout, commit and push.
    #[serde(rename = "git", skip_serializing_if = "Option::is_none")]
    pub git_spec: Option<GitSpec>,
    /// The least time between two automation runs.
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// How to update the files; the `Setters` strategy at the repository root by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = { "strategy": "Setters" }))]
    pub update: Option<UpdateStrategy>,
    /// Stops automation runs while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The Git settings of a v1beta1 ImageUpdateAutomation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitSpec {
    /// What to clone, overriding the GitRepository's `spec.ref`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout: Option<GitCheckoutSpec>,
    /// How to commit.
    pub commit: CommitSpec,
    /// Where to push; back to the checkout branch when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSpec>,
}

/// How a v1beta1 automation commits its changes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// The commit author: an email and optionally a name.
    pub author: CommitUser,
    /// A Secret with the OpenPGP key that signs the commits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKey>,
    /// A Go template for the commit message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
}

/// How to update the files in the repository (v1beta1: the strategy is required, defaulted).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = require_strategy)]
pub struct UpdateStrategy {
    /// The strategy; `Setters`, the only one, by default.
    #[serde(default)]
    #[schemars(extend("default" = "Setters"))]
    pub strategy: UpdateStrategyName,
    /// Directory of the manifests to update; the repository root when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `strategy` is required by the CRD (and defaulted by it), though serde defaults it too.
fn require_strategy(schema: &mut Schema) {
    add_required(schema, "strategy");
}

/// The observed state of a v1beta1 ImageUpdateAutomation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationStatus {
    /// When the automation last ran to completion, whether or not it changed anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_automation_run_time: Option<Time>,
    /// The SHA-1 of the last commit the automation pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_push_commit: Option<String>,
    /// When the automation last pushed a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_push_time: Option<Time>,
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the ImageUpdateAutomation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
