//! Flux's event (`fluxcd/pkg/apis/event/v1beta1.Event`): what every Flux controller posts to
//! notification-controller and what generic providers forward. The serde form is Go's: field
//! names and order, `omitempty` fields skipped, the timestamp as `metav1.Time` writes it
//! (RFC 3339 in UTC, whole seconds). As Go's decoder, a missing string field reads as empty;
//! only the timestamp is required. Serialize with [`Event::to_go_json`] for Go's escaping.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::gojson;

/// The API group of the event API; metadata keys prefixed with it come from annotations
/// (`event.toolkit.fluxcd.io/<key>`) on the involved object.
pub const EVENT_GROUP: &str = "event.toolkit.fluxcd.io";

/// Event severities.
pub mod severity {
    /// Actions taken during reconciliation; never sent to providers.
    pub const TRACE: &str = "trace";
    /// A change, e.g. a new revision applied.
    pub const INFO: &str = "info";
    /// Something went wrong.
    pub const ERROR: &str = "error";
}

/// Metadata keys Flux controllers set (each prefixed with the involved object's API group).
pub mod metadata_keys {
    /// The source artifact revision.
    pub const REVISION: &str = "revision";
    /// The source artifact origin revision.
    pub const ORIGIN_REVISION: &str = "originRevision";
    /// Deprecated: the source artifact checksum.
    pub const CHECKSUM: &str = "checksum";
    /// The source artifact digest.
    pub const DIGEST: &str = "digest";
    /// A token identifying the content of the event, used for rate limiting.
    pub const TOKEN: &str = "token";
    /// The Git commit hash.
    pub const COMMIT: &str = "commit";
    /// Marks a commit status event (value [`COMMIT_STATUS_UPDATE`]).
    pub const COMMIT_STATUS: &str = "commit_status";
    /// The value of [`COMMIT_STATUS`] marking a commit status update.
    pub const COMMIT_STATUS_UPDATE: &str = "update";
    /// The identifier of a change request.
    pub const CHANGE_REQUEST: &str = "change_request";
    /// The key of the Alert summary.
    pub const SUMMARY: &str = "summary";
}

/// The object an event is about (`corev1.ObjectReference`), fields in Go's order.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// Kind of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// UID of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// API version of the object, `<group>/<version>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Resource version of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// A field of the object the event is about.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

impl ObjectReference {
    /// The API group of the object, empty for the core group (`GroupVersionKind().Group`).
    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }
}

/// A report of something a Flux controller did, as Flux serializes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The object the event is about.
    #[serde(default)]
    pub involved_object: ObjectReference,
    /// `trace`, `info` or `error` (see [`severity`]).
    #[serde(default)]
    pub severity: String,
    /// When the event was recorded.
    #[serde(with = "metav1_time")]
    pub timestamp: DateTime<Utc>,
    /// A human-readable description.
    #[serde(default)]
    pub message: String,
    /// A machine-readable reason, e.g. `ReconciliationSucceeded`.
    #[serde(default)]
    pub reason: String,
    /// Metadata such as `<group>/revision`; sorted by key, as Go writes maps.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The controller that emitted the event, e.g. `kustomize-controller`.
    #[serde(default)]
    pub reporting_controller: String,
    /// The controller instance that emitted the event.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
}

impl Event {
    /// The event as `json.Marshal` writes it: the generic provider's body, the generic-hmac
    /// signed bytes, the Matrix transaction id input, the githubdispatch client payload.
    pub fn to_go_json(&self) -> serde_json::Result<Vec<u8>> {
        gojson::marshal(self)
    }

    /// Whether the reason is `reason`.
    pub fn has_reason(&self, reason: &str) -> bool {
        self.reason == reason
    }

    /// The revision the event is about, from the first of the `commit`, `originRevision`
    /// and `revision` metadata keys present (Flux's `GetRevision`, read after metadata keys
    /// lost their group prefix).
    pub fn revision(&self) -> Option<&str> {
        [
            metadata_keys::COMMIT,
            metadata_keys::ORIGIN_REVISION,
            metadata_keys::REVISION,
        ]
        .iter()
        .find_map(|key| self.metadata.get(*key))
        .map(String::as_str)
    }

    /// The value of metadata key `<involved object group>/<key>`.
    pub fn object_metadata(&self, key: &str) -> Option<&str> {
        let full = format!("{}/{key}", self.involved_object.group());
        self.metadata.get(&full).map(String::as_str)
    }
}

/// `metav1.Time`'s JSON form: RFC 3339 in UTC with whole seconds; read with any offset and
/// fraction.
mod metav1_time {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Result<Event, serde_json::Error> {
        serde_json::from_str(
            r#"{"involvedObject":{"kind":"Kustomization","namespace":"flux-system","name":"apps",
                "apiVersion":"kustomize.toolkit.fluxcd.io/v1"},"severity":"info",
                "timestamp":"2026-01-02T03:04:05.678+01:00","message":"a <b> & c",
                "reason":"ReconciliationSucceeded",
                "metadata":{"z":"1","kustomize.toolkit.fluxcd.io/revision":"main@sha1:abc"},
                "reportingController":"kustomize-controller"}"#,
        )
    }

    #[test]
    fn an_event_serializes_in_flux_field_order_with_go_escaping() -> Result<(), serde_json::Error> {
        let json = String::from_utf8_lossy(&sample()?.to_go_json()?).into_owned();
        assert_eq!(
            json,
            concat!(
                r#"{"involvedObject":{"kind":"Kustomization","namespace":"flux-system","name":"apps","#,
                r#""apiVersion":"kustomize.toolkit.fluxcd.io/v1"},"severity":"info","#,
                r#""timestamp":"2026-01-02T02:04:05Z","message":"a \u003cb\u003e \u0026 c","#,
                r#""reason":"ReconciliationSucceeded","metadata":{"#,
                r#""kustomize.toolkit.fluxcd.io/revision":"main@sha1:abc","z":"1"},"#,
                r#""reportingController":"kustomize-controller"}"#
            )
        );
        Ok(())
    }

    #[test]
    fn object_metadata_is_read_under_the_involved_object_group() -> Result<(), serde_json::Error> {
        let event = sample()?;
        assert_eq!(event.involved_object.group(), "kustomize.toolkit.fluxcd.io");
        assert_eq!(event.object_metadata("revision"), Some("main@sha1:abc"));
        Ok(())
    }
}
