//! Chat providers: Slack, Discord and Rocket.Chat (Slack's attachment payload), Google Chat,
//! Webex, Telegram, Matrix, Lark and Zoom (Zulip is in `super::zulip`). Field names, order and `omitempty` follow
//! Flux's Go payload structs.

use serde::Serialize;
use sha1::{Digest, Sha1};
use tether_api::notification::v1beta3::ProviderType;

use super::{
    HttpRequest, PayloadError, ProviderSettings, hex, object_title, query_escape, require,
    require_url,
};
use crate::{event::Event, event::severity, gojson};

#[derive(Serialize)]
struct SlackPayload<'a> {
    channel: &'a str,
    username: &'a str,
    icon_url: &'a str,
    icon_emoji: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    text: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<SlackAttachment<'a>>,
}

#[derive(Serialize)]
struct SlackAttachment<'a> {
    fallback: String,
    color: &'a str,
    author_name: String,
    text: &'a str,
    mrkdwn_in: [&'a str; 1],
    fields: Vec<SlackField<'a>>,
}

#[derive(Serialize)]
struct SlackField<'a> {
    title: &'a str,
    value: &'a str,
    short: bool,
}

fn slack_fields(event: &Event) -> Vec<SlackField<'_>> {
    event
        .metadata
        .iter()
        .map(|(title, value)| SlackField {
            title,
            value,
            short: false,
        })
        .collect()
}

pub(super) fn is_error(event: &Event) -> bool {
    event.severity == severity::ERROR
}

/// Slack: `Authorization: Bearer <token>` when a token is set (the `chat.postMessage` API).
pub(super) fn slack(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Slack, &settings.address)?;
    let author = object_title(event);
    let first_line = event.message.split('\n').next().unwrap_or_default();
    let username = if settings.username.is_empty() {
        &event.reporting_controller
    } else {
        &settings.username
    };
    let payload = SlackPayload {
        channel: &settings.channel,
        username,
        icon_url: "",
        icon_emoji: "",
        text: "",
        attachments: vec![SlackAttachment {
            fallback: format!("{author}: {first_line}"),
            color: if is_error(event) { "danger" } else { "good" },
            author_name: author,
            text: &event.message,
            mrkdwn_in: ["text"],
            fields: slack_fields(event),
        }],
    };
    let mut request = HttpRequest::json_post(&settings.address, gojson::marshal(&payload)?);
    if !settings.token.is_empty() {
        request.set_header("Authorization", format!("Bearer {}", settings.token));
    }
    Ok(request)
}

/// Discord, through its Slack-compatible endpoint (`/slack` appended to the webhook path).
pub(super) fn discord(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Discord, &settings.address)?;
    let username = if settings.username.is_empty() {
        &event.reporting_controller
    } else {
        &settings.username
    };
    let payload = SlackPayload {
        channel: "",
        username,
        icon_url: "",
        icon_emoji: "",
        text: "",
        attachments: vec![SlackAttachment {
            fallback: String::new(),
            color: if is_error(event) { "danger" } else { "good" },
            author_name: object_title(event),
            text: &event.message,
            mrkdwn_in: ["text"],
            fields: slack_fields(event),
        }],
    };
    let url = discord_slack_url(&settings.address);
    Ok(HttpRequest::json_post(url, gojson::marshal(&payload)?))
}

/// The webhook URL with `/slack` joined to its path, unless it already ends so.
fn discord_slack_url(address: &str) -> String {
    if address.ends_with("/slack") {
        return address.to_owned();
    }
    let (base, query) = match address.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (address, None),
    };
    let joined = format!("{}/slack", base.trim_end_matches('/'));
    match query {
        Some(query) => format!("{joined}?{query}"),
        None => joined,
    }
}

/// Rocket.Chat: Slack's payload with its own colours and no username fallback.
pub(super) fn rocket(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Rocket, &settings.address)?;
    let payload = SlackPayload {
        channel: &settings.channel,
        username: &settings.username,
        icon_url: "",
        icon_emoji: "",
        text: "",
        attachments: vec![SlackAttachment {
            fallback: String::new(),
            color: if is_error(event) {
                "#FF0000"
            } else {
                "#0076D7"
            },
            author_name: object_title(event),
            text: &event.message,
            mrkdwn_in: ["text"],
            fields: slack_fields(event),
        }],
    };
    Ok(HttpRequest::json_post(
        &settings.address,
        gojson::marshal(&payload)?,
    ))
}

#[derive(Serialize)]
struct GoogleChatPayload<'a> {
    cards: [GoogleChatCard<'a>; 1],
}

#[derive(Serialize)]
struct GoogleChatCard<'a> {
    header: GoogleChatHeader<'a>,
    sections: Vec<GoogleChatSection<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleChatHeader<'a> {
    title: String,
    subtitle: &'a str,
    image_url: Option<&'a str>,
    image_style: Option<&'a str>,
}

#[derive(Serialize)]
struct GoogleChatSection<'a> {
    header: &'a str,
    widgets: Vec<GoogleChatWidget<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleChatWidget<'a> {
    text_paragraph: Option<GoogleChatText>,
    key_value: Option<GoogleChatKeyValue<'a>>,
}

#[derive(Serialize)]
struct GoogleChatText {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleChatKeyValue<'a> {
    top_label: &'a str,
    content: &'a str,
    content_multiline: bool,
    bottom_label: Option<&'a str>,
    icon: Option<&'a str>,
}

/// Google Chat: a card with the message (red for errors) and the metadata as key/values.
pub(super) fn google_chat(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::GoogleChat, &settings.address)?;
    let text = if is_error(event) {
        format!("<font color=\"#ff0000\">{}</font>", event.message)
    } else {
        event.message.clone()
    };
    let mut sections = vec![GoogleChatSection {
        header: "",
        widgets: vec![GoogleChatWidget {
            text_paragraph: Some(GoogleChatText { text }),
            key_value: None,
        }],
    }];
    if !event.metadata.is_empty() {
        let widgets = event
            .metadata
            .iter()
            .map(|(label, content)| GoogleChatWidget {
                text_paragraph: None,
                key_value: Some(GoogleChatKeyValue {
                    top_label: label,
                    content,
                    content_multiline: false,
                    bottom_label: None,
                    icon: None,
                }),
            })
            .collect();
        sections.push(GoogleChatSection {
            header: "",
            widgets,
        });
    }
    let payload = GoogleChatPayload {
        cards: [GoogleChatCard {
            header: GoogleChatHeader {
                title: object_title(event),
                subtitle: &event.reporting_controller,
                image_url: None,
                image_style: None,
            },
            sections,
        }],
    };
    Ok(HttpRequest::json_post(
        &settings.address,
        gojson::marshal(&payload)?,
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebexPayload<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    room_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    markdown: &'a str,
}

/// Webex: markdown into the room named by `channel`, `Authorization: Bearer <token>`.
pub(super) fn webex(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Webex, &settings.address)?;
    let emoji = if is_error(event) { "💣" } else { "✅" };
    let mut markdown = format!("{emoji} **{}**\n{}\n", object_title(event), event.message);
    for (key, value) in &event.metadata {
        markdown.push_str(&format!(">**{key}**: {value}\n"));
    }
    let payload = WebexPayload {
        room_id: &settings.channel,
        markdown: &markdown,
    };
    let mut request = HttpRequest::json_post(&settings.address, gojson::marshal(&payload)?);
    request.set_header("Authorization", format!("Bearer {}", settings.token));
    Ok(request)
}

#[derive(Serialize)]
struct TelegramPayload<'a> {
    chat_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message_thread_id: &'a str,
    text: &'a str,
    parse_mode: &'a str,
}

/// Telegram's Bot API (the address is not used): `channel` is `<chat id>[:<thread id>]`, the
/// message is MarkdownV2 with every special character escaped.
pub(super) fn telegram(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require(ProviderType::Telegram, &settings.channel, "channel")?;
    require(ProviderType::Telegram, &settings.token, "token")?;
    let emoji = if is_error(event) { "🚨" } else { "💫" };
    let object = &event.involved_object;
    let heading = format!(
        "{emoji} {}/{}/{}",
        object.kind.to_lowercase(),
        object.name,
        object.namespace
    );
    let mut metadata = String::new();
    for (key, value) in &event.metadata {
        metadata.push_str(&format!(
            "\\- *{}*: {}\n",
            telegram_escape(key),
            telegram_escape(value)
        ));
    }
    let text = format!(
        "*{}*\n{}\n{metadata}",
        telegram_escape(&heading),
        telegram_escape(&event.message)
    );
    let (chat_id, thread) = settings
        .channel
        .split_once(':')
        .unwrap_or((&settings.channel, ""));
    let payload = TelegramPayload {
        chat_id,
        message_thread_id: thread,
        text: &text,
        parse_mode: "MarkdownV2",
    };
    let url = format!("https://api.telegram.org/bot{}/sendMessage", settings.token);
    Ok(HttpRequest::json_post(url, gojson::marshal(&payload)?))
}

/// A backslash before each MarkdownV2 special character.
fn telegram_escape(text: &str) -> String {
    const SPECIAL: &str = "\\.-_[]()~>`#+=|{}!*";
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if SPECIAL.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[derive(Serialize)]
struct MatrixPayload<'a> {
    body: &'a str,
    msgtype: &'a str,
}

/// Matrix: a `PUT` of an `m.text` message into room `channel`, the transaction id being the
/// SHA-1 of the event's JSON; `Authorization: Bearer <token>`.
pub(super) fn matrix(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Matrix, &settings.address)?;
    let transaction = hex(&Sha1::digest(event.to_go_json()?));
    let url = format!(
        "{}/_matrix/client/r0/rooms/{}/send/m.room.message/{transaction}",
        settings.address, settings.channel
    );
    let emoji = if is_error(event) { "🚨" } else { "💫" };
    let mut metadata = String::new();
    for (key, value) in &event.metadata {
        metadata.push_str(&format!("- {key}: {value}\n"));
    }
    let body = format!(
        "{emoji} {}\n{}\n{metadata}",
        object_title(event),
        event.message
    );
    let payload = MatrixPayload {
        body: &body,
        msgtype: "m.text",
    };
    let mut request = HttpRequest::json_post(url, gojson::marshal(&payload)?);
    request.method = "PUT";
    request.set_header("Authorization", format!("Bearer {}", settings.token));
    Ok(request)
}

#[derive(Serialize)]
struct LarkPayload<'a> {
    msg_type: &'a str,
    card: LarkCard<'a>,
}

#[derive(Serialize)]
struct LarkCard<'a> {
    config: LarkConfig,
    header: LarkHeader<'a>,
    elements: [LarkElement<'a>; 1],
}

#[derive(Serialize)]
struct LarkConfig {
    wide_screen_mode: bool,
}

#[derive(Serialize)]
struct LarkHeader<'a> {
    title: LarkText<'a>,
    template: &'a str,
}

#[derive(Serialize)]
struct LarkElement<'a> {
    tag: &'a str,
    text: LarkText<'a>,
}

#[derive(Serialize)]
struct LarkText<'a> {
    tag: &'a str,
    content: String,
}

/// Lark (Feishu): an interactive card, turquoise or red.
pub(super) fn lark(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    require_url(ProviderType::Lark, &settings.address)?;
    let (emoji, color) = if is_error(event) {
        ("🚨", "red")
    } else {
        ("💫", "turquoise")
    };
    let mut message = format!("**{}**\n\n", event.message);
    for (key, value) in &event.metadata {
        message.push_str(&format!("{key}: {value}\n"));
    }
    let payload = LarkPayload {
        msg_type: "interactive",
        card: LarkCard {
            config: LarkConfig {
                wide_screen_mode: true,
            },
            header: LarkHeader {
                title: LarkText {
                    tag: "plain_text",
                    content: format!("{emoji} {}", object_title(event)),
                },
                template: color,
            },
            elements: [LarkElement {
                tag: "div",
                text: LarkText {
                    tag: "lark_md",
                    content: message,
                },
            }],
        },
    };
    Ok(HttpRequest::json_post(
        &settings.address,
        gojson::marshal(&payload)?,
    ))
}

#[derive(Serialize)]
struct ZoomPayload<'a> {
    content: ZoomContent<'a>,
}

#[derive(Serialize)]
struct ZoomContent<'a> {
    head: ZoomHead<'a>,
    body: Vec<ZoomBodyItem<'a>>,
}

#[derive(Serialize)]
struct ZoomHead<'a> {
    text: String,
    sub_head: ZoomSubHead<'a>,
}

#[derive(Serialize)]
struct ZoomSubHead<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct ZoomBodyItem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    text: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    items: Vec<ZoomField<'a>>,
}

#[derive(Serialize)]
struct ZoomField<'a> {
    key: &'a str,
    value: &'a str,
}

/// Zoom incoming webhook (`zoom.go`): the object as the head, the severity as the sub-head, the
/// message and the metadata as fields; `format=full` added to the query unless it has a
/// `format`; the token (the webhook's verification token) as the raw `Authorization` value.
pub(super) fn zoom(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    let provider = ProviderType::Zoom;
    require_url(provider, &settings.address)?;
    require(provider, &settings.token, "token")?;
    let mut body = vec![ZoomBodyItem {
        kind: "message",
        text: &event.message,
        items: Vec::new(),
    }];
    if !event.metadata.is_empty() {
        let items = event
            .metadata
            .iter()
            .map(|(key, value)| ZoomField { key, value })
            .collect();
        body.push(ZoomBodyItem {
            kind: "fields",
            text: "",
            items,
        });
    }
    let payload = ZoomPayload {
        content: ZoomContent {
            head: ZoomHead {
                text: object_title(event),
                sub_head: ZoomSubHead {
                    text: &event.severity,
                },
            },
            body,
        },
    };
    let mut request =
        HttpRequest::json_post(zoom_url(&settings.address), gojson::marshal(&payload)?);
    request.set_header("Authorization", settings.token.as_str());
    Ok(request)
}

/// The webhook URL with `format=full` unless the query's first `format` is non-empty; Go's
/// `Set` replaces every `format` and `Values.Encode` rewrites the query with keys sorted (a
/// stable sort: values of one key keep their order).
fn zoom_url(address: &str) -> String {
    let (base, fragment) = match address.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (address, None),
    };
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    // `Get` reads the first value.
    let format_set = pairs
        .iter()
        .find(|(k, _)| k == "format")
        .is_some_and(|(_, v)| !v.is_empty());
    if format_set {
        return address.to_owned();
    }
    pairs.retain(|(k, _)| k != "format");
    pairs.push(("format".into(), "full".into()));
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect();
    let mut url = format!("{path}?{}", query.join("&"));
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}
