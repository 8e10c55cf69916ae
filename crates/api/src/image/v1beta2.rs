//! `image.toolkit.fluxcd.io/v1beta2`: deprecated, still served so that older manifests apply
//! unchanged. Fields as in the last releases serving it: image-reflector-controller v1.1
//! (ImageRepository and ImagePolicy, field for field the same as v1, `status.latestImage`
//! already removed) and image-automation-controller v1.1 (ImageUpdateAutomation, whose signing
//! key has no `type`).

use std::{collections::BTreeMap, time::Duration as StdDuration};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{
    AlphabeticalPolicy, BetaSigningKey as SigningKey, CommitUser, CrossNamespaceSourceReference,
    GitCheckoutSpec, ImagePolicyChoice, ImagePolicyStatus, ImageProvider, ImageRef,
    ImageRepositoryStatus, ImageUpdateAutomationStatus, NumericalPolicy, ObservedPolicies,
    PushSpec, ReflectionPolicy, ScanResult, SemVerPolicy, SortOrder, SourceKind, TagFilter,
    UpdateStrategy, UpdateStrategyName,
};
use super::{DEFAULT_DIGEST_REFRESH_INTERVAL, DEFAULT_EXCLUSION_LIST, MIN_SCAN_TIMEOUT};
use crate::{
    meta::{
        AccessFrom, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, DurationError,
        LocalObjectReference, NamespacedObjectReference,
    },
    schema::label_selector_schema,
};

/// The desired state of a v1beta2 ImageRepository.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "ImageRepository",
    plural = "imagerepositories",
    singular = "imagerepository",
    namespaced,
    status = "ImageRepositoryStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 ImageRepository is deprecated, upgrade to v1",
    shortname = "imgrepo",
    shortname = "imagerepo",
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".spec.image"}"#,
    printcolumn = r#"{"name":"Tags","type":"string","jsonPath":".status.lastScanResult.tagCount"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Last scan","type":"string","jsonPath":".status.lastScanResult.scanTime","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "An image repository scanned for tags on an interval (deprecated v1beta2 form)."
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
    /// A Secret with the proxy to reach the registry through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// A ServiceAccount whose image pull secrets authenticate the scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub service_account_name: Option<String>,
    /// A Secret with a client certificate and key and/or a CA certificate for the registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stops subsequent scans while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Namespaces whose ImagePolicies may refer to this ImageRepository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Regular expressions of tags to leave out of the scan result; `^.*\.sig$` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 25), extend("default" = DEFAULT_EXCLUSION_LIST))]
    pub exclusion_list: Option<Vec<String>>,
    /// How to authenticate: `generic` (the default), `aws`, `azure` or `gcp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<ImageProvider>,
    /// Allows a plain-HTTP (non-TLS) registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
}

impl ImageRepositorySpec {
    /// The scan time limit: the timeout if set, else the interval; never below one second.
    pub fn effective_timeout(&self) -> Result<StdDuration, DurationError> {
        let timeout = self.timeout.as_ref().unwrap_or(&self.interval).to_std()?;
        Ok(timeout.max(MIN_SCAN_TIMEOUT))
    }

    /// The exclusion list, `^.*\.sig$` when unset or empty.
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

/// The desired state of a v1beta2 ImagePolicy.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "ImagePolicy",
    plural = "imagepolicies",
    singular = "imagepolicy",
    namespaced,
    status = "ImagePolicyStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 ImagePolicy is deprecated, upgrade to v1",
    shortname = "imgpol",
    shortname = "imagepol",
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".status.latestRef.name"}"#,
    printcolumn = r#"{"name":"Tag","type":"string","jsonPath":".status.latestRef.tag"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "A policy electing the latest image of an ImageRepository (deprecated v1beta2 form)."
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
    /// The ImageRepository whose tags are considered.
    pub image_repository_ref: NamespacedObjectReference,
    /// How to elect the latest tag.
    pub policy: ImagePolicyChoice,
    /// Filters the tags before the policy orders them; every tag when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    /// When to write the latest image's digest to `status.latestRef.digest`; `Never` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub digest_reflection_policy: Option<ReflectionPolicy>,
    /// How often to refresh the latest tag's digest; only with `digestReflectionPolicy: Always`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// Stops subsequent policy reconciliations while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl ImagePolicySpec {
    /// The digest reflection policy, `Never` when unset.
    pub fn digest_reflection_policy_or_default(&self) -> ReflectionPolicy {
        self.digest_reflection_policy.unwrap_or_default()
    }

    /// How often to reconcile on a timer: only with `digestReflectionPolicy: Always`, the
    /// interval or 10 minutes.
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

/// The desired state of a v1beta2 ImageUpdateAutomation.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "ImageUpdateAutomation",
    plural = "imageupdateautomations",
    singular = "imageupdateautomation",
    namespaced,
    status = "ImageUpdateAutomationStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 ImageUpdateAutomation is deprecated, upgrade to v1",
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
    doc = "An automation writing elected images into a Git repository (deprecated v1beta2 form)."
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
    /// Selects the ImagePolicies, in the automation's namespace, to apply; all when unset.
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

/// The Git settings of a v1beta2 ImageUpdateAutomation.
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

/// How a v1beta2 automation commits its changes.
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
    /// Extra values available to the message template as `.Values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_values: Option<BTreeMap<String, String>>,
}
