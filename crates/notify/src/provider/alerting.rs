//! Alerting and observability providers: Prometheus Alertmanager, Grafana annotations,
//! Opsgenie, PagerDuty (event and change event), Datadog events and incident.io alerts.
//!
//! PagerDuty and Datadog go through SDKs in Flux (go-pagerduty v1.8, datadog-api-client-go
//! v2); their bodies here follow those SDKs' structs: go-pagerduty's field order, Datadog's
//! request serialized from a map (keys sorted) by a JSON encoder (trailing newline). SDK
//! `User-Agent` headers are not reproduced.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde::Serialize;
use tether_api::notification::v1beta3::ProviderType;

use super::{
    HttpRequest, PayloadError, ProviderSettings, basic_auth, chat::is_error, name_and_description,
    object_title, require, require_url,
};
use crate::{
    event::{Event, metadata_keys, severity},
    gojson,
};

/// The reason PagerDuty and the commit-status providers ignore.
pub(super) const PROGRESSING_REASON: &str = "Progressing";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertmanagerAlert<'a> {
    status: &'a str,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<&'a str, String>,
    starts_at: String,
    ends_at: &'a str,
}

/// Alertmanager: one firing alert whose labels are the metadata (less `summary`, which
/// becomes an annotation) plus the event's identity.
pub(super) fn alertmanager(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Alertmanager, &settings.address)?;
    let mut labels = event.metadata.clone();
    let mut annotations = BTreeMap::from([("message", event.message.clone())]);
    if let Some(summary) = labels.remove(metadata_keys::SUMMARY) {
        annotations.insert("summary", summary);
    }
    let object = &event.involved_object;
    let alertname = format!("Flux{}{}", object.kind, title_case(&event.reason));
    for (key, value) in [
        ("alertname", alertname.as_str()),
        ("severity", &event.severity),
        ("reason", &event.reason),
        ("kind", &object.kind),
        ("name", &object.name),
        ("namespace", &object.namespace),
        ("reportingcontroller", &event.reporting_controller),
    ] {
        labels.insert(key.to_owned(), value.to_owned());
    }
    let alert = AlertmanagerAlert {
        status: "firing",
        labels,
        annotations,
        starts_at: event.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true),
        // Go writes the zero time of the unset field; `omitempty` has no effect on a struct.
        ends_at: "0001-01-01T00:00:00Z",
    };
    let mut request = HttpRequest::json_post(&settings.address, gojson::marshal(&[alert])?);
    // Flux keeps one request modifier: basic auth replaces the bearer token when both are set.
    if !settings.username.is_empty() && !settings.password.is_empty() {
        request.set_header(
            "Authorization",
            basic_auth(&settings.username, &settings.password),
        );
    } else if !settings.token.is_empty() {
        request.set_header("Authorization", format!("Bearer {}", settings.token));
    }
    Ok(request)
}

/// `cases.Title(language.Und)`: each word's first letter upper case, the rest lower case.
/// Words are runs of letters, digits, `_` and inner apostrophes (an approximation of Unicode
/// word breaking that agrees on Flux's reasons).
fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() || (in_word && (c == '_' || c == '\'')) {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

#[derive(Serialize)]
struct GraphitePayload<'a> {
    when: i64,
    text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
}

/// Grafana: an annotation tagged `flux`, the controller, the metadata (`:` replaced by `|`) and
/// the object's identity.
pub(super) fn grafana(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Grafana, &settings.address)?;
    let object = &event.involved_object;
    let mut tags: Vec<String> = vec!["flux".into(), event.reporting_controller.clone()];
    for (key, value) in &event.metadata {
        tags.push(format!(
            "{}: {}",
            key.replace(':', "|"),
            value.replace(':', "|")
        ));
    }
    tags.push(format!("kind: {}", object.kind));
    tags.push(format!("name: {}", object.name));
    tags.push(format!("namespace: {}", object.namespace));
    let payload = GraphitePayload {
        when: event.timestamp.timestamp(),
        text: object_title(event),
        tags: tags.iter().map(String::as_str).collect(),
    };
    let mut request = HttpRequest::json_post(&settings.address, gojson::marshal(&payload)?);
    if !settings.token.is_empty() {
        request.set_header("Authorization", format!("Bearer {}", settings.token));
    } else if !settings.username.is_empty() && !settings.password.is_empty() {
        request.set_header(
            "Authorization",
            basic_auth(&settings.username, &settings.password),
        );
    }
    Ok(request)
}

#[derive(Serialize)]
struct OpsgenieAlert<'a> {
    message: String,
    description: &'a str,
    details: BTreeMap<String, String>,
}

/// Opsgenie: an alert with the metadata and severity as details, `Authorization: GenieKey`.
pub(super) fn opsgenie(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Opsgenie, &settings.address)?;
    require(ProviderType::Opsgenie, &settings.token, "token")?;
    let mut details = event.metadata.clone();
    details.insert("severity".into(), event.severity.clone());
    let object = &event.involved_object;
    let alert = OpsgenieAlert {
        message: format!("{}/{}", object.kind, object.name),
        description: &event.message,
        details,
    };
    let mut request = HttpRequest::json_post(&settings.address, gojson::marshal(&alert)?);
    request.set_header("Authorization", format!("GenieKey {}", settings.token));
    Ok(request)
}

#[derive(Serialize)]
struct PagerDutyEvent<'a> {
    routing_key: &'a str,
    event_action: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    dedup_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<PagerDutyPayload<'a>>,
}

#[derive(Serialize)]
struct PagerDutyPayload<'a> {
    summary: String,
    source: String,
    severity: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    timestamp: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    component: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    group: &'a str,
    custom_details: Details<'a>,
}

#[derive(Serialize)]
struct PagerDutyChange<'a> {
    routing_key: &'a str,
    payload: PagerDutyChangePayload<'a>,
    links: Option<()>,
}

#[derive(Serialize)]
struct PagerDutyChangePayload<'a> {
    source: String,
    summary: String,
    timestamp: String,
    custom_details: Details<'a>,
}

/// `{"message": ..., "metadata": ...}`; Go writes absent metadata (a nil map) as `null`.
#[derive(Serialize)]
struct Details<'a> {
    message: &'a str,
    metadata: Option<&'a BTreeMap<String, String>>,
}

/// PagerDuty: an event (`trigger` for errors, `resolve` otherwise) to `/v2/enqueue` of the
/// address's host, then for info events a change event to `/v2/change/enqueue`. `channel` is
/// the routing key; `Progressing` events send nothing.
pub(super) fn pagerduty(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Vec<HttpRequest>, PayloadError> {
    let endpoint =
        url::Url::parse(&settings.address).map_err(|_| PayloadError::InvalidAddress {
            provider: ProviderType::PagerDuty,
            address: crate::redact::url_for_display(&settings.address),
        })?;
    if event.has_reason(PROGRESSING_REASON) {
        return Ok(Vec::new());
    }
    let base = format!("{}://{}", endpoint.scheme(), authority(&endpoint));
    let (name, description) = name_and_description(event);
    let summary = format!("{description}: {name}");
    let source = format!("Flux {}", event.reporting_controller);
    let timestamp = event.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true);
    let details = || Details {
        message: &event.message,
        metadata: (!event.metadata.is_empty()).then_some(&event.metadata),
    };
    let error = is_error(event);
    let object = &event.involved_object;
    let alert = PagerDutyEvent {
        routing_key: &settings.channel,
        event_action: if error { "trigger" } else { "resolve" },
        dedup_key: &object.uid,
        payload: error.then(|| PagerDutyPayload {
            summary: summary.clone(),
            source: source.clone(),
            severity: severity::ERROR,
            timestamp: timestamp.clone(),
            component: &object.name,
            group: &object.kind,
            custom_details: details(),
        }),
    };
    let mut requests = vec![HttpRequest::json_post(
        format!("{base}/v2/enqueue"),
        gojson::marshal(&alert)?,
    )];
    if event.severity == severity::INFO {
        let change = PagerDutyChange {
            routing_key: &settings.channel,
            payload: PagerDutyChangePayload {
                source,
                summary,
                timestamp,
                custom_details: details(),
            },
            links: None,
        };
        requests.push(HttpRequest::json_post(
            format!("{base}/v2/change/enqueue"),
            gojson::marshal(&change)?,
        ));
    }
    Ok(requests)
}

/// `host[:port]` of a URL, as Go's `URL.Host`.
fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[derive(Serialize)]
struct DatadogEvent<'a> {
    alert_type: &'a str,
    date_happened: i64,
    source_type_name: &'a str,
    tags: Vec<String>,
    text: &'a str,
    title: String,
}

/// Datadog: an event to `/api/v1/events` of the address's host, `DD-API-KEY: <token>`.
pub(super) fn datadog(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require(ProviderType::DataDog, &settings.token, "token")?;
    let endpoint =
        url::Url::parse(&settings.address).map_err(|_| PayloadError::InvalidAddress {
            provider: ProviderType::DataDog,
            address: crate::redact::url_for_display(&settings.address),
        })?;
    let object = &event.involved_object;
    let mut tags = vec![
        format!("flux_reporting_controller:{}", event.reporting_controller),
        format!("flux_reason:{}", event.reason),
        format!("kube_kind:{}", object.kind),
        format!("kube_name:{}", object.name),
        format!("kube_namespace:{}", object.namespace),
    ];
    tags.extend(event.metadata.iter().map(|(k, v)| format!("{k}:{v}")));
    let payload = DatadogEvent {
        alert_type: if is_error(event) { "error" } else { "info" },
        date_happened: event.timestamp.timestamp(),
        source_type_name: "fluxcd",
        tags: tags.into_iter().map(|t| t.to_lowercase()).collect(),
        text: &event.message,
        title: format!(
            "Events from the {} {}/{}",
            object.kind, object.name, object.namespace
        ),
    };
    let url = format!(
        "{}://{}/api/v1/events",
        endpoint.scheme(),
        authority(&endpoint)
    );
    // The SDK encodes bodies with a JSON Encoder: HTML escaping and a trailing newline.
    let mut body = gojson::marshal(&payload)?;
    body.push(b'\n');
    let mut request = HttpRequest::json_post(url, body);
    request.set_header("Accept", "application/json");
    request.set_header("DD-API-KEY", settings.token.clone());
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_lowers_all_but_the_first_letter_of_each_word() {
        assert_eq!(title_case("ReconciliationFailed"), "Reconciliationfailed");
        assert_eq!(title_case("health check failed"), "Health Check Failed");
        assert_eq!(title_case("BuildFailed2x"), "Buildfailed2x");
    }
}

#[derive(Serialize)]
struct IncidentIoAlert<'a> {
    title: String,
    status: &'a str,
    deduplication_key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
}

/// incident.io HTTP alert source (`incidentio.go`): `firing` for errors, `resolved` otherwise,
/// deduplicated by the object's UID, the metadata plus severity, reason and reporting
/// controller; `Authorization: Bearer <token>`. `Progressing` events send nothing.
pub(super) fn incident_io(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Option<HttpRequest>, PayloadError> {
    let provider = ProviderType::IncidentIo;
    require_url(provider, &settings.address)?;
    require(provider, &settings.token, "token")?;
    if event.has_reason(PROGRESSING_REASON) {
        return Ok(None);
    }
    let mut metadata = event.metadata.clone();
    metadata.insert("severity".into(), event.severity.clone());
    metadata.insert("reason".into(), event.reason.clone());
    if !event.reporting_controller.is_empty() {
        metadata.insert(
            "reportingController".into(),
            event.reporting_controller.clone(),
        );
    }
    let alert = IncidentIoAlert {
        title: format!("{}: {}", object_title(event), event.reason),
        status: if is_error(event) {
            "firing"
        } else {
            "resolved"
        },
        deduplication_key: &event.involved_object.uid,
        description: &event.message,
        metadata,
    };
    let mut request = HttpRequest::json_post(&settings.address, gojson::marshal(&alert)?);
    request.set_header("Authorization", format!("Bearer {}", settings.token));
    Ok(Some(request))
}
