//! Receivers that check the shape of the body: Quay, Docker Hub and ACR (the payload must
//! decode), Nexus (signature, then payload), GCR (the Pub/Sub push envelope and its base64
//! message) and CDEvents (an event envelope and the `Ce-Type` events filter).
//!
//! Go's `json.Decoder.Decode` reads the first JSON value and ignores what follows, accepts
//! `null` and unknown fields, and fails on a value of the wrong type; the decoders here do the
//! same. Payload fields are declared (and go unread) so that a value of the wrong type fails
//! as it does in Go.

use base64::Engine as _;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use super::{Headers, Verdict, allowed_event, signature};

/// The first JSON value of `body` as `T` (`null` gives `T::default()`).
fn decode_first<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, String> {
    let first = serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .next()
        .ok_or_else(|| "EOF".to_owned())?
        .map_err(|e| e.to_string())?;
    if first.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(first).map_err(|e| e.to_string())
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct QuayPayload {
    #[serde(default)]
    docker_url: String,
    #[serde(default)]
    updated_tags: Option<Vec<String>>,
}

/// Quay: `{"docker_url": ..., "updated_tags": [...]}`.
pub(super) fn decode_quay(body: &[u8]) -> Verdict {
    match decode_first::<QuayPayload>(body) {
        Ok(_) => Verdict::accept(""),
        Err(e) => Verdict::refuse(format!("cannot decode Quay webhook payload: {e}")),
    }
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct DockerHubPayload {
    #[serde(default)]
    push_data: Option<DockerHubPush>,
    #[serde(default)]
    repository: Option<DockerHubRepository>,
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct DockerHubPush {
    #[serde(default)]
    tag: String,
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct DockerHubRepository {
    #[serde(default)]
    repo_url: String,
}

/// Docker Hub: `{"push_data": {"tag": ...}, "repository": {"repo_url": ...}}`.
pub(super) fn decode_dockerhub(body: &[u8]) -> Verdict {
    match decode_first::<DockerHubPayload>(body) {
        Ok(_) => Verdict::accept(""),
        Err(_) => Verdict::refuse("cannot decode DockerHub webhook payload"),
    }
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct AcrPayload {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: Option<AcrTarget>,
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct AcrTarget {
    #[serde(default)]
    repository: String,
    #[serde(default)]
    tag: String,
}

/// Azure Container Registry: `{"action": ..., "target": {"repository": ..., "tag": ...}}`.
pub(super) fn decode_acr(body: &[u8]) -> Verdict {
    match decode_first::<AcrPayload>(body) {
        Ok(_) => Verdict::accept(""),
        Err(e) => Verdict::refuse(format!("cannot decode ACR webhook payload: {e}")),
    }
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct NexusPayload {
    #[serde(default)]
    action: String,
    #[serde(default, rename = "repositoryName")]
    repository_name: String,
}

/// Nexus: `X-Nexus-Webhook-Signature` is the hex HMAC-SHA1 of the body, then the whole body
/// must be `{"action": ..., "repositoryName": ...}`.
pub(super) fn verify_nexus(headers: &Headers, body: &[u8], token: &str) -> Verdict {
    let signature = headers.get("X-Nexus-Webhook-Signature");
    if signature.is_empty() {
        return Verdict::refuse("the Nexus signature is missing from header");
    }
    if !signature::verify_hex_sha1(signature, body, token) {
        return Verdict::refuse("invalid Nexus signature");
    }
    match serde_json::from_slice::<Value>(body)
        .map_err(|e| e.to_string())
        .and_then(|v| match v {
            Value::Null => Ok(NexusPayload::default()),
            v => serde_json::from_value::<NexusPayload>(v).map_err(|e| e.to_string()),
        }) {
        Ok(_) => Verdict::accept(""),
        Err(e) => Verdict::refuse(format!("cannot decode Nexus webhook payload: {e}")),
    }
}

#[derive(Deserialize, Default)]
struct PubSubPush {
    #[serde(default)]
    message: PubSubMessage,
}

#[derive(Deserialize, Default)]
struct PubSubMessage {
    #[serde(default)]
    data: String,
}

#[derive(Deserialize, serde::Serialize, Default)]
struct GcrData {
    #[serde(default)]
    action: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    tag: String,
}

/// The body a `gcr` Receiver's filters read as `req`: Flux replaces the Pub/Sub envelope by
/// the GCR event it carries, re-encoded as `{"action","digest","tag"}`.
pub fn gcr_event(body: &[u8]) -> Option<Vec<u8>> {
    let push = decode_first::<PubSubPush>(body).ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(push.message.data.as_bytes())
        .ok()?;
    let data: GcrData = serde_json::from_slice(&raw).ok()?;
    serde_json::to_vec(&data).ok()
}

/// GCR: a Pub/Sub push whose `message.data` is base64 JSON `{"action","digest","tag"}`.
pub(super) fn decode_gcr(body: &[u8]) -> Verdict {
    let push = match decode_first::<PubSubPush>(body) {
        Ok(push) => push,
        Err(e) => return Verdict::refuse(format!("cannot decode GCR webhook payload: {e}")),
    };
    // Flux ignores a base64 error and then fails on the empty JSON.
    let raw = base64::engine::general_purpose::STANDARD
        .decode(push.message.data.as_bytes())
        .unwrap_or_default();
    match serde_json::from_slice::<Value>(&raw)
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json::from_value::<GcrData>(v).map_err(|e| e.to_string()))
    {
        Ok(_) => Verdict::accept(""),
        Err(e) => Verdict::refuse(format!("cannot decode GCR webhook body: {e}")),
    }
}

/// CDEvents (partial): the body must be a CDEvent envelope, a JSON object with a `context`
/// (string `id`, `source`, `type` under `dev.cdevents.`, `timestamp`, `specversion` or
/// `version`) and a `subject` object; then `Ce-Type` must pass the events filter.
pub(super) fn verify_cdevent(events: &[String], headers: &Headers, body: &[u8]) -> Verdict {
    let document: Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        Err(e) => return Verdict::refuse(format!("unable to validate CDEvent event: {e}")),
    };
    let context = &document["context"];
    let has = |key: &str| context[key].as_str().is_some_and(|v| !v.is_empty());
    let typed = context["type"]
        .as_str()
        .is_some_and(|t| t.starts_with("dev.cdevents."));
    let versioned = has("specversion") || has("version");
    if !(typed
        && versioned
        && has("id")
        && has("source")
        && has("timestamp")
        && document["subject"].is_object())
    {
        return Verdict::refuse("unable to validate CDEvent event: not a CDEvent envelope");
    }
    allowed_event(events, headers.get("Ce-Type"), "CDEvent")
}
