//! Microsoft Teams: an adaptive card (v1.4) for workflow webhooks, or the legacy MessageCard
//! when the address is a deprecated `*.webhook.office.com` connector. The adaptive card lists
//! `summary` first, then the other metadata by key, as Flux does.

use serde::Serialize;
use tether_api::notification::v1beta3::ProviderType;

use super::{
    HttpRequest, PayloadError, ProviderSettings, chat::is_error, object_title, require_url,
};
use crate::{event::Event, event::metadata_keys, gojson};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageCard<'a> {
    #[serde(rename = "@type")]
    card_type: &'a str,
    #[serde(rename = "@context")]
    context: &'a str,
    theme_color: &'a str,
    summary: &'a str,
    sections: [MessageCardSection<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageCardSection<'a> {
    activity_title: &'a str,
    activity_subtitle: &'a str,
    facts: Vec<NameValue<'a>>,
}

#[derive(Serialize)]
struct NameValue<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct AdaptiveMessage<'a> {
    #[serde(rename = "type")]
    message_type: &'a str,
    attachments: [AdaptiveAttachment<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdaptiveAttachment<'a> {
    content_type: &'a str,
    content: AdaptiveContent<'a>,
}

#[derive(Serialize)]
struct AdaptiveContent<'a> {
    #[serde(rename = "$schema")]
    schema: &'a str,
    #[serde(rename = "type")]
    content_type: &'a str,
    version: &'a str,
    body: [Element<'a>; 1],
    msteams: Width<'a>,
}

#[derive(Serialize)]
struct Width<'a> {
    width: &'a str,
}

/// A card element: Go's struct embeds container, text block and fact set, so the fields of
/// whichever is set follow `type`, empty ones omitted.
#[derive(Serialize, Default)]
struct Element<'a> {
    #[serde(rename = "type")]
    element_type: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    items: Vec<Element<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    text: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    size: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    weight: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    color: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    wrap: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    facts: Vec<Fact<'a>>,
}

#[derive(Serialize)]
struct Fact<'a> {
    title: &'a str,
    value: &'a str,
}

/// The Teams request for `event`.
pub(super) fn msteams(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::MsTeams, &settings.address)?;
    let title = object_title(event);
    let body = if is_legacy_connector(&settings.address) {
        gojson::marshal(&message_card(event, &title))?
    } else {
        gojson::marshal(&adaptive_card(event, &title))?
    };
    Ok(HttpRequest::json_post(&settings.address, body))
}

/// Whether the host (without port) ends with `.webhook.office.com`.
fn is_legacy_connector(address: &str) -> bool {
    url::Url::parse(address)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|host| host.ends_with(".webhook.office.com"))
}

fn message_card<'a>(event: &'a Event, title: &'a str) -> MessageCard<'a> {
    let facts = event
        .metadata
        .iter()
        .map(|(name, value)| NameValue { name, value })
        .collect();
    MessageCard {
        card_type: "MessageCard",
        context: "http://schema.org/extensions",
        theme_color: if is_error(event) { "FF0000" } else { "0076D7" },
        summary: title,
        sections: [MessageCardSection {
            activity_title: &event.message,
            activity_subtitle: title,
            facts,
        }],
    }
}

fn adaptive_card<'a>(event: &'a Event, title: &'a str) -> AdaptiveMessage<'a> {
    let summary = event.metadata.get_key_value(metadata_keys::SUMMARY);
    let others = event
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != metadata_keys::SUMMARY);
    let facts = summary
        .into_iter()
        .chain(others)
        .map(|(title, value)| Fact { title, value })
        .collect();
    let heading = Element {
        element_type: "TextBlock",
        text: title,
        size: "large",
        weight: "bolder",
        wrap: true,
        ..Element::default()
    };
    let message = Element {
        element_type: "TextBlock",
        text: &event.message,
        color: if is_error(event) { "attention" } else { "" },
        wrap: true,
        ..Element::default()
    };
    let fact_set = Element {
        element_type: "FactSet",
        facts,
        ..Element::default()
    };
    AdaptiveMessage {
        message_type: "message",
        attachments: [AdaptiveAttachment {
            content_type: "application/vnd.microsoft.card.adaptive",
            content: AdaptiveContent {
                schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                content_type: "AdaptiveCard",
                version: "1.4",
                body: [Element {
                    element_type: "Container",
                    items: vec![heading, message, fact_set],
                    ..Element::default()
                }],
                msteams: Width { width: "Full" },
            },
        }],
    }
}
