//! `notification.toolkit.fluxcd.io/v1`: the storage version of Receiver, as
//! notification-controller v1.9 (Flux v2.9) defines it.

use std::{collections::BTreeMap, time::Duration as StdDuration};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::shared::{CrossNamespaceObjectReference, OBJECT_KINDS, ReceiverType};
use super::{DEFAULT_OIDC_AUDIENCE, DEFAULT_RECEIVER_INTERVAL};
use crate::meta::{
    DURATION_PATTERN, Duration, DurationError, LocalObjectReference, conditions::conditions_schema,
};

/// The desired state of a Receiver: which webhook calls to accept and which objects they
/// ask to reconcile.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1",
    kind = "Receiver",
    plural = "receivers",
    singular = "receiver",
    namespaced,
    status = "ReceiverStatus",
    schema = "disabled",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    derive = "PartialEq",
    doc = "A webhook that asks Flux objects to reconcile now."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "generic-oidc receivers must define at least one oidcProvider",
        "rule": "self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)",
    },
    {
        "message": "oidcProviders can only be set when type is generic-oidc",
        "rule": "self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0",
    },
    {
        "message": "secretRef cannot be set when type is generic-oidc",
        "rule": "self.type != 'generic-oidc' || !has(self.secretRef)",
    },
    {
        "message": "secretRef is required when type is not generic-oidc",
        "rule": "self.type == 'generic-oidc' || has(self.secretRef)",
    },
]))]
pub struct ReceiverSpec {
    /// The kind of webhook sender, which decides how the request is verified.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// How often the Receiver is checked against its Secret; 10 minutes when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN), extend("default" = "10m"))]
    pub interval: Option<Duration>,
    /// The event types to handle, e.g. `push` for GitHub or `Push Hook` for GitLab; every
    /// event when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// The objects asked to reconcile.
    pub resources: Vec<ReceiverResource>,
    /// A CEL expression over `res` (the object's metadata), `req` (the request body) and, for
    /// generic-oidc, `claims`; objects for which it is false are not asked to reconcile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_filter: Option<String>,
    /// The Secret whose `token` verifies requests (for gcr also `email` and `audience`);
    /// required except for generic-oidc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// The OIDC issuers that may authenticate requests to a generic-oidc Receiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-map-keys" = ["issuerURL"], "x-kubernetes-list-type" = "map"))]
    pub oidc_providers: Option<Vec<OidcProvider>>,
    /// Stops handling requests while true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl ReceiverSpec {
    /// How often the Receiver is checked, 10 minutes when unset (Flux's `GetInterval`).
    pub fn effective_interval(&self) -> Result<StdDuration, DurationError> {
        match &self.interval {
            Some(interval) => interval.to_std(),
            None => Ok(DEFAULT_RECEIVER_INTERVAL),
        }
    }

    /// Whether the Receiver is suspended.
    pub fn is_suspended(&self) -> bool {
        self.suspend.unwrap_or(false)
    }
}

/// An object (or, with `name: "*"`, objects) a Receiver asks to reconcile, with an optional
/// CEL filter of its own.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverResource {
    /// API version of the referent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    #[schemars(extend("enum" = OBJECT_KINDS))]
    pub kind: String,
    /// Name of the referent; `*` targets the objects carrying `matchLabels`.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the referent; the Receiver's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,
    /// Labels the referent must all carry (ANDed); requires `name: "*"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// A CEL expression evaluated for each matched object, in addition to `resourceFilter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

impl ReceiverResource {
    /// The object reference without the filter.
    pub fn reference(&self) -> CrossNamespaceObjectReference {
        CrossNamespaceObjectReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            match_labels: self.match_labels.clone(),
        }
    }
}

/// An OIDC issuer trusted by a generic-oidc Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcProvider {
    /// The issuer URL used for discovery; must equal the token's `iss` claim.
    #[serde(rename = "issuerURL")]
    #[schemars(pattern(r"^https?://"))]
    pub issuer_url: String,
    /// The expected `aud` claim; `notification-controller` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Named CEL expressions over `claims`, exposed as `vars.<name>` in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<OidcVariable>>,
    /// CEL expressions that must all be true for a request to be accepted.
    #[schemars(length(min = 1))]
    pub validations: Vec<OidcValidation>,
}

impl OidcProvider {
    /// The expected audience, `notification-controller` when unset (Flux's `GetAudience`).
    pub fn audience_or_default(&self) -> &str {
        self.audience
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or(DEFAULT_OIDC_AUDIENCE)
    }
}

/// A named CEL expression of a generic-oidc Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcVariable {
    /// The variable name, a CEL identifier.
    pub name: String,
    /// The expression giving its value.
    pub expression: String,
}

/// A CEL validation of a generic-oidc Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcValidation {
    /// The boolean expression.
    pub expression: String,
    /// Returned to the caller when the expression is false.
    pub message: String,
}

/// The observed state of a Receiver.
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
    /// The webhook path, `/hook/<sha256 of token+name+namespace>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    /// The last generation of the Receiver the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
