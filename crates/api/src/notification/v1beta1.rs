//! `notification.toolkit.fluxcd.io/v1beta1` Provider and Alert: deprecated, still served so
//! that manifests from older tutorials apply unchanged. Fields as notification-controller's
//! v1beta1 Go types define them.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{
    BetaCrossNamespaceObjectReference, BetaOneStatus, EventSeverity, V1BETA1_PROVIDER_TYPES,
};
use crate::meta::{DURATION_NO_HOURS_PATTERN, Duration, LocalObjectReference};

/// The desired state of a v1beta1 Provider.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Provider",
    plural = "providers",
    singular = "provider",
    namespaced,
    status = "BetaOneStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta1 Provider is deprecated, upgrade to v1beta3",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A destination for alerts (deprecated v1beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSpec {
    /// Which Provider implementation to use.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = V1BETA1_PROVIDER_TYPES))]
    pub provider_type: String,
    /// The alert channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The bot username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The HTTP/S webhook address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^(http|https)://"))]
    pub address: Option<String>,
    /// Time limit for sending one alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN))]
    pub timeout: Option<Duration>,
    /// The HTTP/S address of a proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^(http|https)://"))]
    pub proxy: Option<String>,
    /// A Secret with the webhook URL under `address`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A Secret with a PEM-encoded CA certificate under `caFile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stops sending alerts through this Provider while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The desired state of a v1beta1 Alert.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta1",
    kind = "Alert",
    plural = "alerts",
    singular = "alert",
    namespaced,
    status = "BetaOneStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta1 Alert is deprecated, upgrade to v1beta3",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A rule sending the events of some Flux objects to a Provider (deprecated v1beta1 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// The Provider to send through.
    pub provider_ref: LocalObjectReference,
    /// `info` lets every event through, `error` only errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "info"))]
    pub event_severity: Option<EventSeverity>,
    /// The objects whose events are sent.
    pub event_sources: Vec<BetaCrossNamespaceObjectReference>,
    /// Go regular expressions; matching messages are not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,
    /// A short description of the impact and affected cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Stops sending events for this Alert while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}
