//! Zulip: a stream message posted as a form to `<address host>/api/v1/messages` with basic
//! auth (the bot's e-mail and API key), as notification-controller v1.9's `zulip.go` sends it.
//! `channel` is `<stream>/<topic>`; the content is Flux's Markdown post (`markdown.go`).

use tether_api::notification::v1beta3::ProviderType;

use super::{HttpRequest, PayloadError, ProviderSettings, basic_auth, markdown_post, query_escape};
use crate::event::Event;

/// The message request; fails on an address that is not a URL or a channel without a topic.
pub(super) fn zulip(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    let mut endpoint =
        url::Url::parse(&settings.address).map_err(|_| PayloadError::InvalidAddress {
            provider: ProviderType::Zulip,
            address: crate::redact::url_for_display(&settings.address),
        })?;
    endpoint.set_path("/api/v1/messages");
    let (stream, topic) = settings
        .channel
        .split_once('/')
        .filter(|(stream, topic)| !stream.is_empty() && !topic.is_empty())
        .ok_or_else(|| PayloadError::InvalidZulipChannel(settings.channel.clone()))?;
    // Go's `url.Values.Encode`: keys sorted.
    let fields = [
        ("content", markdown_post(event)),
        ("to", stream.to_owned()),
        ("topic", topic.to_owned()),
        ("type", "stream".to_owned()),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{key}={}", query_escape(value)))
        .collect();
    let mut request = HttpRequest::json_post(endpoint.to_string(), body.join("&").into_bytes());
    request.set_header("Content-Type", "application/x-www-form-urlencoded");
    if !settings.username.is_empty() || !settings.password.is_empty() {
        request.set_header(
            "Authorization",
            basic_auth(&settings.username, &settings.password),
        );
    }
    Ok(request)
}
