//! `image.toolkit.fluxcd.io/v1`: the storage version of ImageRepository and ImagePolicy (as
//! image-reflector-controller v1.2 defines them) and ImageUpdateAutomation (as
//! image-automation-controller v1.2 defines it), Flux v2.9.

use std::{collections::BTreeMap, time::Duration as StdDuration};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{
    AlphabeticalPolicy, CommitUser, CrossNamespaceSourceReference, GitCheckoutSpec,
    ImagePolicyChoice, ImagePolicyStatus, ImageProvider, ImageRef, ImageRepositoryStatus,
    ImageUpdateAutomationStatus, NumericalPolicy, ObservedPolicies, PushSpec, ReflectionPolicy,
    ScanResult, SemVerPolicy, SortOrder, SourceKind, TagFilter, UpdateStrategy, UpdateStrategyName,
};
use super::{DEFAULT_DIGEST_REFRESH_INTERVAL, DEFAULT_EXCLUSION_LIST, MIN_SCAN_TIMEOUT};
use crate::{
    meta::{
        AccessFrom, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, DurationError,
        LocalObjectReference, NamespacedObjectReference,
    },
    schema::label_selector_schema,
    string_enum::string_enum,
};

/// The desired state of an ImageRepository: which image repository to scan for tags, and how.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageRepository",
    plural = "imagerepositories",
    singular = "imagerepository",
    namespaced,
    status = "ImageRepositoryStatus",
    schema = "disabled",
    shortname = "imgrepo",
    shortname = "imagerepo",
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".spec.image"}"#,
    printcolumn = r#"{"name":"Tags","type":"string","jsonPath":".status.lastScanResult.tagCount"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Last scan","type":"string","jsonPath":".status.lastScanResult.scanTime","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "An image repository that image-reflector-controller scans for tags on an interval."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// The image repository to scan, e.g. `ghcr.io/stefanprodan/podinfo`.
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
    /// A Secret with the proxy (`address`, and optionally `username` and `password`) to reach
    /// the registry through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// A ServiceAccount whose image pull secrets authenticate the scan (or, with a cloud
    /// provider, whose workload identity does).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub service_account_name: Option<String>,
    /// A Secret with a client certificate and key (`tls.crt`, `tls.key`) and/or a CA
    /// certificate (`ca.crt`) for the registry connection; of type `Opaque` or
    /// `kubernetes.io/tls`. The `certFile`, `keyFile` and `caFile` keys are deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stops subsequent scans while true (one in progress completes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespaces whose ImagePolicies may refer to this ImageRepository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Regular expressions of tags to leave out of the scan result; `^.*\.sig$` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 25), extend("default" = DEFAULT_EXCLUSION_LIST))]
    pub exclusion_list: Option<Vec<String>>,
    /// How to authenticate: `generic` (secretRef and ServiceAccount pull secrets, the default),
    /// or the workload identity of `aws`, `azure` or `gcp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<ImageProvider>,
    /// Allows a plain-HTTP (non-TLS) registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
}

impl ImageRepositorySpec {
    /// The scan time limit: the timeout if set, else the interval; never below one second
    /// (Flux's `GetTimeout`).
    pub fn effective_timeout(&self) -> Result<StdDuration, DurationError> {
        let timeout = self.timeout.as_ref().unwrap_or(&self.interval).to_std()?;
        Ok(timeout.max(MIN_SCAN_TIMEOUT))
    }

    /// The exclusion list, `^.*\.sig$` when unset or empty (Flux's `GetExclusionList`).
    pub fn exclusion_list_or_default(&self) -> Vec<&str> {
        match self.exclusion_list.as_deref() {
            Some(list) if !list.is_empty() => list.iter().map(String::as_str).collect(),
            _ => DEFAULT_EXCLUSION_LIST.to_vec(),
        }
    }

    /// The authentication provider, `generic` when unset.
    pub fn provider_or_default(&self) -> ImageProvider {
        self.provider.unwrap_or_default()
    }
}

/// The desired state of an ImagePolicy: which ImageRepository's tags to consider, and how to
/// elect the latest one.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImagePolicy",
    plural = "imagepolicies",
    singular = "imagepolicy",
    namespaced,
    status = "ImagePolicyStatus",
    schema = "disabled",
    shortname = "imgpol",
    shortname = "imagepol",
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".status.latestRef.name"}"#,
    printcolumn = r#"{"name":"Tag","type":"string","jsonPath":".status.latestRef.tag"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "A policy electing the latest image among the tags an ImageRepository scanned."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
        "rule": "!has(self.interval) || (has(self.digestReflectionPolicy) && self.digestReflectionPolicy == 'Always')",
    },
    {
        "message": "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
        "rule": "has(self.interval) || !has(self.digestReflectionPolicy) || self.digestReflectionPolicy != 'Always'",
    },
]))]
pub struct ImagePolicySpec {
    /// The ImageRepository whose tags are considered; in another namespace only if its
    /// `accessFrom` allows.
    pub image_repository_ref: NamespacedObjectReference,
    /// How to elect the latest tag.
    pub policy: ImagePolicyChoice,
    /// Filters the tags before the policy orders them; every tag when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    /// When to write the latest image's digest to `status.latestRef.digest`: `Never` (the
    /// default), `IfNotPresent`, or `Always` (refreshed every interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub digest_reflection_policy: Option<ReflectionPolicy>,
    /// How often to refresh the latest tag's digest; only, and then necessarily, with
    /// `digestReflectionPolicy: Always`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// Stops subsequent policy reconciliations while true (one in progress completes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl ImagePolicySpec {
    /// The digest reflection policy, `Never` when unset.
    pub fn digest_reflection_policy_or_default(&self) -> ReflectionPolicy {
        self.digest_reflection_policy.unwrap_or_default()
    }

    /// How often to reconcile on a timer: with `digestReflectionPolicy: Always`, the interval
    /// (10 minutes when unset or zero); otherwise never, the policy being driven by its
    /// ImageRepository (Flux's `GetInterval`).
    pub fn requeue_interval(&self) -> Result<Option<StdDuration>, DurationError> {
        if self.digest_reflection_policy_or_default() != ReflectionPolicy::Always {
            return Ok(None);
        }
        let interval = match &self.interval {
            Some(interval) => interval.to_std()?,
            None => StdDuration::ZERO,
        };
        Ok(Some(if interval.is_zero() {
            DEFAULT_DIGEST_REFRESH_INTERVAL
        } else {
            interval
        }))
    }
}

/// The desired state of an ImageUpdateAutomation: which Git repository to check out, where to
/// update the images elected by ImagePolicies, and how to commit and push the change.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageUpdateAutomation",
    plural = "imageupdateautomations",
    singular = "imageupdateautomation",
    namespaced,
    status = "ImageUpdateAutomationStatus",
    schema = "disabled",
    shortname = "iua",
    shortname = "imgupd",
    shortname = "imgauto",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Last run","type":"string","jsonPath":".status.lastAutomationRunTime","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "An automation that writes the images elected by ImagePolicies into a Git repository."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// The GitRepository giving the repository's address and credentials.
    pub source_ref: CrossNamespaceSourceReference,
    /// The Git settings: checkout, commit and push. Optional in the schema, needed in practice.
    #[serde(rename = "git", skip_serializing_if = "Option::is_none")]
    pub git_spec: Option<GitSpec>,
    /// The least time between two automation runs.
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Duration,
    /// Selects the ImagePolicies, in the automation's namespace, to apply; all of them when
    /// unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_selector_schema")]
    pub policy_selector: Option<LabelSelector>,
    /// How to update the files; the `Setters` strategy at the repository root by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = { "strategy": "Setters" }))]
    pub update: Option<UpdateStrategy>,
    /// Stops automation runs while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl ImageUpdateAutomationSpec {
    /// The update strategy, `Setters` at the repository root when unset.
    pub fn update_or_default(&self) -> UpdateStrategy {
        self.update.clone().unwrap_or_default()
    }
}

/// The Git settings of an ImageUpdateAutomation.
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

impl GitSpec {
    /// Whether a push refspec is set.
    pub fn has_refspec(&self) -> bool {
        self.push
            .as_ref()
            .and_then(|p| p.refspec.as_deref())
            .is_some_and(|r| !r.is_empty())
    }
}

/// How the automation commits its changes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// The commit author: an email and optionally a name.
    pub author: CommitUser,
    /// A Secret with the key that signs the commits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKey>,
    /// A Go template for the commit message, given the details of the change (`.Changed`; the
    /// removed `.Updated` field is an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
    /// Extra values available to the message template as `.Values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_values: Option<BTreeMap<String, String>>,
}

string_enum! {
    /// The format of a commit signing key.
    #[derive(Default)]
    pub enum SigningKeyType {
        /// An ASCII-armored OpenPGP keypair under `git.asc`, with an optional `passphrase`.
        #[default]
        Gpg = "gpg",
        /// An SSH private key under `identity`, with an optional `password`.
        Ssh = "ssh",
    }
}

/// A Secret, in the automation's namespace, with the key that signs commits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// The Secret: `git.asc` (and optionally `passphrase`) for `gpg`; `identity` (and
    /// optionally `password`) for `ssh`, as in a GitRepository's SSH Secret. SSH key types:
    /// ed25519, ecdsa-sha2-nistp256/384/521, RSA of at least 2048 bits.
    pub secret_ref: LocalObjectReference,
    /// The key format; `gpg` when unset.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<SigningKeyType>,
}

impl SigningKey {
    /// The key format, `gpg` when unset.
    pub fn key_type_or_default(&self) -> SigningKeyType {
        self.key_type.unwrap_or_default()
    }
}
