//! Image automation parts that are identical in more than one served version; each version
//! module re-exports the ones it uses.

use std::{collections::BTreeMap, fmt};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

use crate::{
    meta::{LocalObjectReference, conditions::conditions_schema},
    schema::{add_required, plain_integer_schema},
    string_enum::string_enum,
};

// ---------------------------------------------------------------------------------------------
// ImageRepository

string_enum! {
    /// How an ImageRepository authenticates to its registry.
    #[derive(Default)]
    pub enum ImageProvider {
        /// Credentials from `spec.secretRef` (or none), and the ServiceAccount's pull secrets.
        #[default]
        Generic = "generic",
        /// Amazon ECR with the controller's (or ServiceAccount's) AWS identity.
        Aws = "aws",
        /// Azure Container Registry with a managed identity.
        Azure = "azure",
        /// Google Artifact Registry / GCR with a GCP service account.
        Gcp = "gcp",
    }
}

/// The outcome of the last registry scan.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// A stable hash of the scanned tags; changes exactly when the set of tags changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// How many tags the scan found (after exclusions).
    #[schemars(schema_with = "plain_integer_schema")]
    pub tag_count: i64,
    /// When the scan was performed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_time: Option<Time>,
    /// A sample of the tags found: the first 10 in descending alphabetical order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_tags: Option<Vec<String>>,
}

/// The observed state of an ImageRepository (v1 and v1beta2).
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
    /// The image with every implied part made explicit, e.g. `docker.io/library/alpine` for
    /// `alpine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_image_name: Option<String>,
    /// The outcome of the last scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scan_result: Option<ScanResult>,
    /// The exclusion list the last scan result was computed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_exclusion_list: Option<Vec<String>>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// ImagePolicy

string_enum! {
    /// The direction in which tags are ordered; the latest image is the greatest one.
    #[derive(Default)]
    pub enum SortOrder {
        /// Ascending: the greatest tag (`Z`, `9`) is elected.
        #[default]
        Asc = "asc",
        /// Descending: the smallest tag (`A`, `0`) is elected.
        Desc = "desc",
    }
}

/// The policy electing the latest tag: exactly one of its fields should be set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyChoice {
    /// Elect the highest tag within a semver range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemVerPolicy>,
    /// Elect by alphabetical order of the tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<AlphabeticalPolicy>,
    /// Elect by numerical order of the tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numerical: Option<NumericalPolicy>,
}

/// A semantic version policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SemVerPolicy {
    /// The semver range; the highest version within it that is a tag is the latest image.
    pub range: String,
}

/// An alphabetical ordering policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlphabeticalPolicy {
    /// The sorting order; `asc` (elect `Z` among the letters) by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

impl AlphabeticalPolicy {
    /// The sorting order, `asc` when unset.
    pub fn order_or_default(&self) -> SortOrder {
        self.order.unwrap_or_default()
    }
}

/// A numerical ordering policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NumericalPolicy {
    /// The sorting order; `asc` (elect `9` among the digits) by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

impl NumericalPolicy {
    /// The sorting order, `asc` when unset.
    pub fn order_or_default(&self) -> SortOrder {
        self.order.unwrap_or_default()
    }
}

/// Filters the tags before the policy orders them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagFilter {
    /// A regular expression tags must match; every tag when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// A replacement (e.g. `$ts`) expanded from the pattern's capture groups; the policy orders
    /// the extracted values instead of the tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

string_enum! {
    /// When the digest of the latest image is written to `status.latestRef.digest`.
    #[derive(Default)]
    pub enum ReflectionPolicy {
        /// Always, refreshed every `spec.interval` even when the tag does not change.
        Always = "Always",
        /// When the field is empty and the image did not change.
        IfNotPresent = "IfNotPresent",
        /// Never: the digest stays empty.
        #[default]
        Never = "Never",
    }
}

/// An image reference: name, tag and optionally digest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    /// The bare image name.
    pub name: String,
    /// The tag.
    pub tag: String,
    /// The digest, as `<algorithm>:<hex>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl fmt::Display for ImageRef {
    /// `name:tag`, or `name:tag@digest` when the digest is known (Flux's `ImageRef.String`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)?;
        match self.digest.as_deref() {
            Some(digest) if !digest.is_empty() => write!(f, "@{digest}"),
            _ => Ok(()),
        }
    }
}

/// The observed state of an ImagePolicy (v1 and v1beta2).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyStatus {
    /// The latest image among the ImageRepository's tags, filtered and ordered by the policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_ref: Option<ImageRef>,
    /// The previous value of `latestRef`, to tell what changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_previous_ref: Option<ImageRef>,
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the ImagePolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// ImageUpdateAutomation

string_enum! {
    /// The kinds an ImageUpdateAutomation can push to.
    #[derive(Default)]
    pub enum SourceKind {
        /// A Flux GitRepository.
        #[default]
        GitRepository = "GitRepository",
    }
}

/// The Git source an ImageUpdateAutomation checks out and pushes to, possibly in another
/// namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = require_kind)]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source; `GitRepository`, the only one, by default.
    #[serde(default)]
    #[schemars(extend("default" = "GitRepository"))]
    pub kind: SourceKind,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the automation's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `kind` is required by the CRD (and defaulted by it), though serde defaults it too.
fn require_kind(schema: &mut Schema) {
    add_required(schema, "kind");
}

impl fmt::Display for CrossNamespaceSourceReference {
    /// `Kind/namespace/name`, or `Kind/name` without a namespace (Flux's `String`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => write!(f, "{}/{ns}/{}", self.kind, self.name),
            _ => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Where to clone from, overriding the GitRepository's own `spec.ref`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitCheckoutSpec {
    /// The branch, tag, semver range, reference name or commit to clone.
    #[serde(rename = "ref")]
    pub reference: crate::source::v1::GitRepositoryRef,
}

/// The author of the automation's commits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitUser {
    /// The author's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The author's email.
    pub email: String,
}

/// A Secret holding the OpenPGP key that signs commits (the beta versions).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BetaSigningKey {
    /// A Secret, in the automation's namespace, with the ASCII-armored keypair under `git.asc`
    /// (and optionally its `passphrase`).
    pub secret_ref: LocalObjectReference,
}

/// How and where to push the automation's commits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSpec {
    /// The branch to push to, created from the checkout branch if missing; the checkout branch
    /// when neither this nor refspec is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A Git refspec to push with; with a branch too, the commit is pushed to both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refspec: Option<String>,
    /// Push options sent to the Git server (`git push -o key=value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

string_enum! {
    /// How an automation finds the fields to update in the manifests.
    #[derive(Default)]
    pub enum UpdateStrategyName {
        /// kyaml setters: `# {"$imagepolicy": "<namespace>:<name>[:tag|:name|:digest]"}` markers.
        #[default]
        Setters = "Setters",
    }
}

/// How to update the files in the repository (v1 and v1beta2).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStrategy {
    /// The strategy; `Setters`, the only one, by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Setters"))]
    pub strategy: Option<UpdateStrategyName>,
    /// Directory of the manifests to update, relative to the repository root; the root when
    /// unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl UpdateStrategy {
    /// The strategy, `Setters` when unset.
    pub fn strategy_or_default(&self) -> UpdateStrategyName {
        self.strategy.unwrap_or_default()
    }
}

/// The latest image of each ImagePolicy an automation considered, keyed by policy name.
pub type ObservedPolicies = BTreeMap<String, ImageRef>;

/// The observed state of an ImageUpdateAutomation (v1 and v1beta2).
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
    /// The ImagePolicies the last update considered, by name, with their latest images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_policies: Option<ObservedPolicies>,
    /// The source revision last observed, to tell whether the source changed since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_source_revision: Option<String>,
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
