//! OpenTelemetry (`otel`), as notification-controller v1.9's `otel.go` exports through
//! otlptracehttp v1.44: one span per event, POSTed as a protobuf `ExportTraceServiceRequest`
//! (`Content-Type: application/x-protobuf`) to the address's host and path (`http` unless the
//! scheme is `https`; the query is dropped).
//!
//! The span: named `<Kind>: <namespace>/<name>`, internal, starting at the event's time and
//! ending when sent; attributes `object.uid`, `object.kind`, `object.name`,
//! `object.namespace`, then the metadata (Go iterates a map there: here by key); status `Ok`
//! for info events, `Error` with the message otherwise. The trace id is the first 16 bytes of
//! SHA-256 of `<Alert UID>:<revision>` (the OCI `app-version@oci-digest`, else `revision`,
//! else `unknown`), the parent a remote span context of that trace without a span (flags
//! `0x301`). The resource: `service.instance.id` (the Alert's UID), `service.name`
//! (`<namespace>/<name>` of the Alert) and `service.namespace`, schema semconv 1.34; the scope
//! `flux:notification-controller`. `HelmRepository` events send nothing. As in Flux, the
//! Secret's `headers` are sent, with `Authorization` added (bearer token, or basic auth with
//! a username) only when there are headers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tether_api::notification::v1beta3::ProviderType;

use super::{HttpRequest, PayloadError, ProviderSettings, basic_auth};
use crate::event::{Event, severity};

/// The exporter release Flux v2.9 is built with.
const EXPORTER_VERSION: &str = "1.44.0";
/// `semconv.SchemaURL` of semconv v1.34.0.
const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.34.0";

/// The random span id and end time of one export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtelRun {
    /// The span's id.
    pub span_id: [u8; 8],
    /// When the span ends.
    pub end_time: DateTime<Utc>,
}

impl OtelRun {
    /// A random span id, ending now.
    pub fn generate() -> Self {
        use ring::rand::SecureRandom as _;
        let mut span_id = [0u8; 8];
        // The system random source does not fail on supported platforms; zeros otherwise.
        let _ = ring::rand::SystemRandom::new().fill(&mut span_id);
        Self {
            span_id,
            end_time: Utc::now(),
        }
    }
}

/// The span export for `event`, or nothing for `HelmRepository` events.
pub(super) fn otel(
    event: &Event,
    settings: &ProviderSettings,
    run: &OtelRun,
) -> Result<Option<HttpRequest>, PayloadError> {
    let url = endpoint(&settings.address)?;
    let object = &event.involved_object;
    if object.kind == "HelmRepository" {
        return Ok(None);
    }
    let alert = &settings.alert;
    let trace_id = trace_id(&alert.uid, &event.metadata);
    let mut attributes = vec![
        ("object.uid", object.uid.as_str()),
        ("object.kind", object.kind.as_str()),
        ("object.name", object.name.as_str()),
        ("object.namespace", object.namespace.as_str()),
    ];
    attributes.extend(event.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (code, message) = if event.severity == severity::ERROR {
        (2, event.message.as_str())
    } else {
        (1, "")
    };
    let mut status = Vec::new();
    put_string(&mut status, 2, message);
    put_varint_field(&mut status, 3, code);
    let mut span = Vec::new();
    put_bytes(&mut span, 1, &trace_id);
    put_bytes(&mut span, 2, &run.span_id);
    let name = format!("{}: {}/{}", object.kind, object.namespace, object.name);
    put_string(&mut span, 5, &name);
    put_varint_field(&mut span, 6, 1);
    put_fixed64(&mut span, 7, unix_nanos(&event.timestamp));
    put_fixed64(&mut span, 8, unix_nanos(&run.end_time));
    for (key, value) in attributes {
        put_bytes(&mut span, 9, &key_value(key, value));
    }
    put_bytes(&mut span, 15, &status);
    // Sampled, "has is-remote", "parent is remote".
    put_fixed32(&mut span, 16, 0x301);
    let mut scope = Vec::new();
    put_string(&mut scope, 1, "flux:notification-controller");
    let mut scope_spans = Vec::new();
    put_bytes(&mut scope_spans, 1, &scope);
    put_bytes(&mut scope_spans, 2, &span);
    let mut resource = Vec::new();
    let service_name = format!("{}/{}", alert.namespace, alert.name);
    for (key, value) in [
        ("service.instance.id", alert.uid.as_str()),
        ("service.name", service_name.as_str()),
        ("service.namespace", alert.namespace.as_str()),
    ] {
        put_bytes(&mut resource, 1, &key_value(key, value));
    }
    let mut resource_spans = Vec::new();
    put_bytes(&mut resource_spans, 1, &resource);
    put_bytes(&mut resource_spans, 2, &scope_spans);
    put_string(&mut resource_spans, 3, SCHEMA_URL);
    let mut body = Vec::new();
    put_bytes(&mut body, 1, &resource_spans);
    let mut request = HttpRequest::json_post(url, body);
    request.set_header(
        "User-Agent",
        format!("OTel OTLP Exporter Go/{EXPORTER_VERSION}"),
    );
    for (name, value) in export_headers(settings) {
        request.set_header(&name, value);
    }
    request.set_header("Content-Type", "application/x-protobuf");
    Ok(Some(request))
}

/// `http(s)://<host><path>` of the address, as Go's `url.Parse` splits it (the port kept as
/// written, no path when the address has none).
fn endpoint(address: &str) -> Result<String, PayloadError> {
    let url = url::Url::parse(address).map_err(|_| PayloadError::InvalidAddress {
        provider: ProviderType::Otel,
        address: crate::redact::url_for_display(address),
    })?;
    let scheme = if url.scheme() == "https" {
        "https"
    } else {
        "http"
    };
    let rest = address.split_once("://").map_or("", |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest[..end]
        .rsplit_once('@')
        .map_or(&rest[..end], |(_, h)| h);
    let path = if rest[end..].starts_with('/') {
        url.path()
    } else {
        ""
    };
    Ok(format!("{scheme}://{authority}{path}"))
}

/// The Secret's headers; with any, `Authorization` unless set: basic auth with a username and
/// password, else the token (or password) as a bearer token.
fn export_headers(settings: &ProviderSettings) -> BTreeMap<String, String> {
    let mut headers = settings.headers.clone();
    if headers.is_empty() || headers.get("Authorization").is_some_and(|v| !v.is_empty()) {
        return headers;
    }
    let password = if settings.token.is_empty() {
        &settings.password
    } else {
        &settings.token
    };
    if settings.username.is_empty() {
        headers.insert("Authorization".into(), format!("Bearer {password}"));
    } else if !password.is_empty() {
        headers.insert(
            "Authorization".into(),
            basic_auth(&settings.username, password),
        );
    }
    headers
}

/// SHA-256 of `<alert uid>:<revision>`, first 16 bytes.
fn trace_id(alert_uid: &str, metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let revision = match (metadata.get("oci-digest"), metadata.get("app-version")) {
        (Some(digest), Some(version)) => format!("{version}@{digest}"),
        _ => metadata
            .get("revision")
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
    };
    Sha256::digest(format!("{alert_uid}:{revision}").as_bytes())[..16].to_vec()
}

fn unix_nanos(time: &DateTime<Utc>) -> u64 {
    time.timestamp_nanos_opt()
        .map_or(0, |n| u64::try_from(n).unwrap_or(0))
}

/// A `KeyValue` with a string `AnyValue` (a oneof member: written even when empty).
fn key_value(key: &str, value: &str) -> Vec<u8> {
    let mut any = Vec::new();
    put_bytes(&mut any, 1, value.as_bytes());
    let mut out = Vec::new();
    put_string(&mut out, 1, key);
    put_bytes(&mut out, 2, &any);
    out
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field (wire type 2); empty strings are proto3 defaults and omitted by
/// the caller's choice of [`put_string`].
fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A string field, left out when empty (proto3).
fn put_string(out: &mut Vec<u8>, field: u64, text: &str) {
    if !text.is_empty() {
        put_bytes(out, field, text.as_bytes());
    }
}

/// A varint field, left out when zero (proto3).
fn put_varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    if value != 0 {
        put_varint(out, field << 3);
        put_varint(out, value);
    }
}

fn put_fixed64(out: &mut Vec<u8>, field: u64, value: u64) {
    if value != 0 {
        put_varint(out, field << 3 | 1);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn put_fixed32(out: &mut Vec<u8>, field: u64, value: u32) {
    if value != 0 {
        put_varint(out, field << 3 | 5);
        out.extend_from_slice(&value.to_le_bytes());
    }
}
