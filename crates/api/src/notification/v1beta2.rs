//! `notification.toolkit.fluxcd.io/v1beta2`: deprecated, still served so that older manifests
//! apply unchanged. Provider and Alert carry the fields of notification-controller v1.2 (the
//! last release storing them as v1beta2), Receiver those of the same release.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{
    BetaCrossNamespaceObjectReference, EventSeverity, NotificationStatus, V1BETA2_PROVIDER_TYPES,
    V1BETA2_RECEIVER_TYPES,
};
use crate::meta::{
    DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration, LocalObjectReference,
    conditions::conditions_schema,
};

/// The desired state of a v1beta2 Provider.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Provider",
    plural = "providers",
    singular = "provider",
    namespaced,
    status = "NotificationStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 Provider is deprecated, upgrade to v1beta3",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A destination for alerts (deprecated v1beta2 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSpec {
    /// Which Provider implementation to use.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = V1BETA2_PROVIDER_TYPES))]
    pub provider_type: String,
    /// How often the Provider is checked against its Secret references.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// The destination channel to post to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub channel: Option<String>,
    /// The name under which events are posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub username: Option<String>,
    /// The endpoint alerts go to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,
    /// Time limit for sending one alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_NO_HOURS_PATTERN))]
    pub timeout: Option<Duration>,
    /// The HTTP/S address of a proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^(http|https)://.*$"), length(max = 2048))]
    pub proxy: Option<String>,
    /// A Secret with the credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A Secret with a PEM-encoded CA certificate under `ca.crt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Stops sending alerts through this Provider while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The desired state of a v1beta2 Alert.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Alert",
    plural = "alerts",
    singular = "alert",
    namespaced,
    status = "NotificationStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 Alert is deprecated, upgrade to v1beta3",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A rule sending the events of some Flux objects to a Provider (deprecated v1beta2 form)."
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
    /// Go regular expressions; when set, only matching messages are sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusion_list: Option<Vec<String>>,
    /// Metadata added to every event sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_metadata: Option<BTreeMap<String, String>>,
    /// Go regular expressions; matching messages are not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,
    /// A short description of the impact, sent as the `summary` metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub summary: Option<String>,
    /// Stops sending events for this Alert while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The desired state of a v1beta2 Receiver.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Receiver",
    plural = "receivers",
    singular = "receiver",
    namespaced,
    status = "ReceiverStatus",
    schema = "disabled",
    storage = false,
    deprecated = "v1beta2 Receiver is deprecated, upgrade to v1",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A webhook that asks Flux objects to reconcile now (deprecated v1beta2 form)."
)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverSpec {
    /// The kind of webhook sender, which decides how the request is verified.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = V1BETA2_RECEIVER_TYPES))]
    pub receiver_type: String,
    /// How often the Receiver is checked against its Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub interval: Option<Duration>,
    /// The event types to handle, e.g. `push` for GitHub or `Push Hook` for GitLab.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// The objects asked to reconcile.
    pub resources: Vec<BetaCrossNamespaceObjectReference>,
    /// The Secret whose `token` verifies the requests.
    pub secret_ref: LocalObjectReference,
    /// Stops handling requests while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The observed state of a v1beta2 Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The conditions of the Receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// Deprecated: the webhook path; replaced by `webhookPath`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The webhook path, `/hook/<sha256 of token+name+namespace>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    /// The last generation of the Receiver the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
