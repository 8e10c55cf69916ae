//! The `nats` Provider, as notification-controller v1.9 publishes (`internal/notifier/nats.go`):
//! the event as Go's `json.Marshal` writes it (the generic provider's body) is published to the
//! subject `spec.channel` on the server `address`, over one connection made for the event and
//! closed after a flush. Authentication, in Flux's order of preference: the Secret's `creds`
//! (a NATS user credentials file: JWT and NKey seed), its `nkey` (an NKey seed), or `username`
//! and `password` (both needed).
//!
//! Not HTTP, so not a [`crate::HttpRequest`]: the caller publishes with [`publish`].

use std::time::Duration;

use crate::event::Event;
use crate::provider::ProviderSettings;
use crate::provider::settings::SecretData;

/// The connection name Flux gives its publisher.
const CLIENT_NAME: &str = "NATS Provider Publisher";

/// Why an event could not be published.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// No `address`.
    #[error("NATS server (address) cannot be empty")]
    NoServer,
    /// No `channel`.
    #[error("NATS subject (channel) cannot be empty")]
    NoSubject,
    /// The Secret's `creds` is not a user credentials file.
    #[error("error parsing NATS user credentials: {0}")]
    Credentials(String),
    /// The event does not serialize.
    #[error("error json-marshaling event: {0}")]
    Marshal(#[from] serde_json::Error),
    /// Connecting (or authenticating) failed.
    #[error("error connecting to server: {0}")]
    Connect(String),
    /// Publishing or flushing failed.
    #[error("error publishing event to subject {subject}: {cause}")]
    Publish {
        /// The subject.
        subject: String,
        /// What failed.
        cause: String,
    },
    /// The whole publication took longer than the Provider's timeout.
    #[error("publishing to NATS timed out after {0:?}")]
    Timeout(Duration),
}

impl NatsError {
    /// Whether publishing again with the same settings cannot succeed either.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::NoServer | Self::NoSubject | Self::Credentials(_)
        )
    }
}

/// How the publisher authenticates.
#[derive(Clone, PartialEq, Eq)]
enum Auth {
    Credentials(String),
    Nkey(String),
    UserPassword(String, String),
    None,
}

/// Flux's choice: `creds`, else `nkey`, else username and password when both are set.
fn auth(settings: &ProviderSettings, secret: Option<&SecretData>) -> Auth {
    let text = |key: &str| {
        secret
            .and_then(|data| data.get(key))
            .filter(|value| !value.is_empty())
            .map(|value| String::from_utf8_lossy(value).into_owned())
    };
    if let Some(creds) = text("creds") {
        Auth::Credentials(creds)
    } else if let Some(seed) = text("nkey") {
        Auth::Nkey(seed.trim().to_owned())
    } else if !settings.username.is_empty() && !settings.password.is_empty() {
        Auth::UserPassword(settings.username.clone(), settings.password.clone())
    } else {
        Auth::None
    }
}

/// Publishes `event` to `settings.channel` on `settings.address`, within `timeout`.
pub async fn publish(
    settings: &ProviderSettings,
    secret: Option<&SecretData>,
    event: &Event,
    timeout: Duration,
) -> Result<(), NatsError> {
    if settings.address.is_empty() {
        return Err(NatsError::NoServer);
    }
    if settings.channel.is_empty() {
        return Err(NatsError::NoSubject);
    }
    let payload = event.to_go_json()?;
    let options = connect_options(auth(settings, secret), timeout)?;
    let secrets = [settings.password.as_str(), settings.token.as_str()];
    let masked = |cause: String| crate::redact::mask(&cause, &secrets);
    match tokio::time::timeout(timeout, send(options, settings, payload)).await {
        Err(_) => Err(NatsError::Timeout(timeout)),
        Ok(Err(NatsError::Connect(cause))) => Err(NatsError::Connect(masked(cause))),
        Ok(Err(NatsError::Publish { subject, cause })) => Err(NatsError::Publish {
            subject,
            cause: masked(cause),
        }),
        Ok(result) => result,
    }
}

fn connect_options(auth: Auth, timeout: Duration) -> Result<async_nats::ConnectOptions, NatsError> {
    let options = match auth {
        Auth::Credentials(creds) => async_nats::ConnectOptions::with_credentials(&creds)
            .map_err(|e| NatsError::Credentials(e.to_string()))?,
        Auth::Nkey(seed) => async_nats::ConnectOptions::with_nkey(seed),
        Auth::UserPassword(user, password) => {
            async_nats::ConnectOptions::with_user_and_password(user, password)
        }
        Auth::None => async_nats::ConnectOptions::new(),
    };
    Ok(options
        .name(CLIENT_NAME)
        .connection_timeout(timeout)
        .max_reconnects(0))
}

async fn send(
    options: async_nats::ConnectOptions,
    settings: &ProviderSettings,
    payload: Vec<u8>,
) -> Result<(), NatsError> {
    let client = options
        .connect(settings.address.as_str())
        .await
        .map_err(|e| NatsError::Connect(e.to_string()))?;
    let subject = settings.channel.clone();
    let failed = |cause: String| NatsError::Publish {
        subject: subject.clone(),
        cause,
    };
    client
        .publish(subject.clone(), payload.into())
        .await
        .map_err(|e| failed(e.to_string()))?;
    client.flush().await.map_err(|e| failed(e.to_string()))?;
    client.drain().await.map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(username: &str, password: &str) -> ProviderSettings {
        ProviderSettings {
            address: "nats://127.0.0.1:4222".into(),
            channel: "flux".into(),
            username: username.into(),
            password: password.into(),
            ..ProviderSettings::default()
        }
    }

    #[test]
    fn credentials_win_over_nkey_and_nkey_over_username_and_password() {
        let mut secret = SecretData::new();
        secret.insert("creds".into(), b"jwt and seed".to_vec());
        secret.insert("nkey".into(), b"SUAseed\n".to_vec());
        let both = settings("u", "p");
        assert!(matches!(auth(&both, Some(&secret)), Auth::Credentials(_)));
        secret.remove("creds");
        assert!(auth(&both, Some(&secret)) == Auth::Nkey("SUAseed".into()));
        assert!(auth(&both, None) == Auth::UserPassword("u".into(), "p".into()));
        assert!(auth(&settings("u", ""), None) == Auth::None);
    }
}
