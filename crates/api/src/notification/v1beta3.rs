//! `notification.toolkit.fluxcd.io/v1beta3`: the storage version of Provider and Alert, as
//! notification-controller v1.9 (Flux v2.9) defines them. Neither kind has a status: both are
//! static configuration read when an event arrives.

use std::{collections::BTreeMap, time::Duration as StdDuration};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DEFAULT_PROVIDER_TIMEOUT;
pub use super::shared::{CrossNamespaceObjectReference, EventSeverity, ProviderType};
use crate::meta::{
    DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, DurationError, LocalObjectReference,
};

/// The desired state of a Provider: where and how alerts are sent.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Provider",
    plural = "providers",
    singular = "provider",
    namespaced,
    schema = "disabled",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "A destination for alerts: a chat, an incident tool, a forge's commit statuses."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types",
        "rule": "self.type == 'github' || self.type == 'gitlab' || self.type == 'gitea' || self.type == 'bitbucketserver' || self.type == 'bitbucket' || self.type == 'azuredevops' || !has(self.commitStatusExpr)",
    },
]))]
pub struct ProviderSpec {
    /// Which Provider implementation to use.
    #[serde(rename = "type")]
    pub provider_type: ProviderType,
    /// Deprecated and not used in v1beta3.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// The destination channel (room, chat id, stream) to post to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub channel: Option<String>,
    /// The name under which events are posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub username: Option<String>,
    /// The endpoint alerts go to; a URL for most types, a repository URL for commit-status
    /// types. `address` in the Secret overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,
    /// Time limit for sending one alert; 15 seconds when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN))]
    pub timeout: Option<Duration>,
    /// Deprecated: the HTTP/S address of a proxy; use `proxySecretRef`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^(http|https)://.*$"), length(max = 2048))]
    pub proxy: Option<String>,
    /// A Secret with the proxy `address` and optionally `username` and `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// A Secret with the credentials: `address`, `token`, `username`/`password`, `headers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A ServiceAccount whose workload identity authenticates to cloud services
    /// (azureeventhub, azuredevops, googlepubsub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// A Secret with `ca.crt` and/or `tls.crt` and `tls.key` for the TLS connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stops sending alerts through this Provider while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// A CEL expression (variables `event`, `provider`, `alert`) giving the commit status
    /// id, for commit-status types only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_status_expr: Option<String>,
}

impl ProviderSpec {
    /// The time limit for sending one alert, 15 seconds when unset (Flux's `GetTimeout`).
    pub fn effective_timeout(&self) -> Result<StdDuration, DurationError> {
        match &self.timeout {
            Some(timeout) => timeout.to_std(),
            None => Ok(DEFAULT_PROVIDER_TIMEOUT),
        }
    }

    /// Whether sending through this Provider is suspended.
    pub fn is_suspended(&self) -> bool {
        self.suspend.unwrap_or(false)
    }
}

/// The desired state of an Alert: which events go to which Provider.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Alert",
    plural = "alerts",
    singular = "alert",
    namespaced,
    schema = "disabled",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "A rule sending the events of some Flux objects to a Provider."
)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// The Provider, in the Alert's namespace, to send through.
    pub provider_ref: LocalObjectReference,
    /// `info` lets every event through, `error` only errors; `info` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "info"))]
    pub event_severity: Option<EventSeverity>,
    /// The objects whose events are sent, by kind, name (or `*`) and namespace.
    pub event_sources: Vec<CrossNamespaceObjectReference>,
    /// Go regular expressions; when set, only messages matching one of them are sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusion_list: Option<Vec<String>>,
    /// Metadata added to every event sent; an event's own metadata wins over it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_metadata: Option<BTreeMap<String, String>>,
    /// Go regular expressions; messages matching one of them are not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,
    /// Deprecated: a short description of the impact, sent as the `summary` metadata; use
    /// `eventMetadata.summary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub summary: Option<String>,
    /// Stops sending events for this Alert while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl AlertSpec {
    /// The severity filter, `info` when unset.
    pub fn event_severity_or_default(&self) -> EventSeverity {
        self.event_severity.unwrap_or_default()
    }

    /// Whether this Alert is suspended.
    pub fn is_suspended(&self) -> bool {
        self.suspend.unwrap_or(false)
    }
}
