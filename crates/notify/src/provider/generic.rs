//! The `generic` and `generic-hmac` providers (Flux's `Forwarder`): the event itself as JSON,
//! with the `Gotk-Component` header naming the reporting controller, the Secret's headers, and
//! for generic-hmac an `X-Signature: sha256=<hex HMAC-SHA256 of the body keyed by the token>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tether_api::notification::v1beta3::ProviderType;

use super::{HttpRequest, PayloadError, ProviderSettings, hex, require_url};
use crate::event::Event;

/// The header naming the controller that reported the event.
pub const NOTIFICATION_HEADER: &str = "gotk-component";

/// The request of a generic provider, signed when `signed`.
pub(super) fn forward(
    event: &Event,
    settings: &ProviderSettings,
    signed: bool,
) -> Result<HttpRequest, PayloadError> {
    let provider = if signed {
        ProviderType::GenericHmac
    } else {
        ProviderType::Generic
    };
    require_url(provider, &settings.address)?;
    if signed && settings.token.is_empty() {
        return Err(PayloadError::MissingSetting {
            provider,
            setting: "token (the HMAC key)",
        });
    }
    let body = event.to_go_json()?;
    let mut request = HttpRequest::json_post(&settings.address, body);
    request.set_header(NOTIFICATION_HEADER, &event.reporting_controller);
    for (name, value) in &settings.headers {
        request.set_header(name, value);
    }
    if signed {
        request.set_header(
            "X-Signature",
            format!("sha256={}", sign(&request.body, &settings.token)),
        );
    }
    Ok(request)
}

/// Hex HMAC-SHA256 of `payload` keyed by `key`.
pub fn sign(payload: &[u8], key: &str) -> String {
    // HMAC accepts keys of any length, so creating the MAC cannot fail.
    match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(payload);
            hex(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}
