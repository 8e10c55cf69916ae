//! One delivery: an event matched by an Alert, sent through the Alert's Provider as Flux's
//! `dispatchNotification` does. Read the Provider from the cache, apply the per-provider gate,
//! merge the Alert's metadata, read the Provider's Secrets (`secretRef`, `proxySecretRef`,
//! `certSecretRef`), resolve the settings (`tether_notify::provider::settings`), build the
//! requests and send them with retries (a NATS Provider publishes instead). Errors name objects and keys, never secret values.
//! Metadata keys set by more than one source are told on the Alert (`MetadataAppendFailed`).

use super::dispatch::Dispatcher;
use crate::secrets::{SecretError, secret_data};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use tether_api::notification::DEFAULT_PROVIDER_TIMEOUT;
use tether_api::notification::conditions::event_reasons;
use tether_api::notification::v1beta3::{Alert, Provider, ProviderType};
use tether_notify::alert::{default_commit_status, event_for_alert, provider_gate};
use tether_notify::provider::AlertIdentity;
use tether_notify::provider::comment::{ChangeRequestComment, CommentError, post_comment};
use tether_notify::provider::settings::{SecretData, SettingsError, resolve};
use tether_notify::{Event, PayloadError, SendError, SendOptions, Sender, requests_for};

/// Why an event matched by an Alert was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The event is of an object in another namespace and `--no-cross-namespace-refs` is set.
    #[error(
        "discarding event, access denied to cross-namespace sources: alert '{alert}' can't process event from '{involved}', cross-namespace references have been blocked"
    )]
    CrossNamespace { alert: String, involved: String },
    /// The Alert's `providerRef` names no Provider in its namespace.
    #[error("failed to read provider: Provider '{namespace}/{name}' not found")]
    ProviderNotFound { namespace: String, name: String },
    /// A Secret of the Provider cannot be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The Provider's `commitStatusExpr` does not compile or evaluate to a string.
    #[error(
        "failed to create commit status: failed to evaluate the spec.commitStatusExpr CEL expression for the event: {0}"
    )]
    CommitStatusExpr(String),
    /// The Secrets hold unusable settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// No request can be built for the Provider.
    #[error("failed to initialize notifier for provider '{provider}': {source}")]
    Payload {
        provider: String,
        source: PayloadError,
    },
    /// Sending failed after the retries.
    #[error("failed to send notification: {0}")]
    Send(#[from] SendError),
    /// A change request comment was not posted.
    #[error("failed to send notification: {0}")]
    Comment(#[from] CommentError),
    /// Publishing to NATS failed.
    #[error("failed to send notification: {0}")]
    Nats(#[from] tether_notify::nats::NatsError),
}

/// Sends `event` for `alert`; `Ok` also when Flux drops it (suspended Provider, gates).
pub async fn deliver(
    dispatcher: &Dispatcher,
    alert: &Alert,
    event: &Event,
) -> Result<(), DeliveryError> {
    let namespace = alert.namespace().unwrap_or_default();
    let object = &event.involved_object;
    if dispatcher.limits.no_cross_namespace_refs && object.namespace != namespace {
        return Err(DeliveryError::CrossNamespace {
            alert: format!("{namespace}/{}", alert.name_any()),
            involved: format!("{}/{}/{}", object.kind, object.namespace, object.name),
        });
    }
    let provider_name = &alert.spec.provider_ref.name;
    let provider = dispatcher
        .providers
        .get(&ObjectRef::<Provider>::new(provider_name).within(&namespace))
        .ok_or_else(|| DeliveryError::ProviderNotFound {
            namespace: namespace.clone(),
            name: provider_name.clone(),
        })?;
    let spec = &provider.spec;
    if let Err(skip) = provider_gate(event, spec.provider_type, spec.is_suspended()) {
        tracing::debug!(provider = %provider_name, ?skip, "event not sent to provider");
        return Ok(());
    }
    let (sent, conflicts) = event_for_alert(event, &alert.spec);
    if !conflicts.is_empty() {
        const CONFLICTS: &str = "metadata key conflicts detected (please refer to the Alert API docs and Flux RFC 0008 for more information)";
        tracing::info!(?conflicts, "warning: {CONFLICTS}");
        let reason = event_reasons::METADATA_APPEND_FAILED;
        dispatcher
            .warn_alert(alert, reason, CONFLICTS.to_owned())
            .await;
    }
    let commit_status = commit_status(&provider, alert, &sent)?;
    let secrets = ProviderSecrets::read(dispatcher, &provider, &namespace).await?;
    let mut resolved = resolve(
        spec,
        secrets.main.as_ref(),
        secrets.proxy.as_ref(),
        &commit_status,
    )?;
    resolved.settings.provider_uid = provider.metadata.uid.clone().unwrap_or_default();
    resolved.settings.alert = AlertIdentity {
        namespace: namespace.clone(),
        name: alert.name_any(),
        uid: alert.metadata.uid.clone().unwrap_or_default(),
    };
    let timeout = spec.effective_timeout().unwrap_or(DEFAULT_PROVIDER_TIMEOUT);
    if spec.provider_type == ProviderType::Nats {
        let settings = &resolved.settings;
        tether_notify::nats::publish(settings, secrets.main.as_ref(), &sent, timeout).await?;
        return Ok(());
    }
    let payload_error = |source| DeliveryError::Payload {
        provider: provider_name.clone(),
        source,
    };
    let comment = if spec.provider_type.is_change_request() {
        Some(
            ChangeRequestComment::new(spec.provider_type, &sent, &resolved.settings)
                .map_err(payload_error)?,
        )
    } else {
        None
    };
    let requests = match comment {
        Some(_) => Vec::new(),
        None => {
            requests_for(spec.provider_type, &sent, &resolved.settings).map_err(payload_error)?
        }
    };
    let sender = Sender::new(SendOptions {
        timeout,
        ca_pem: secrets.ca_pem,
        client_identity_pem: secrets.identity_pem,
        proxy: resolved.proxy.clone(),
        ..SendOptions::default()
    })?;
    let masked = resolved.secrets();
    if let Some(comment) = &comment {
        post_comment(&sender, comment, &masked).await?;
    }
    for request in &requests {
        sender.send(request, &masked).await?;
    }
    Ok(())
}

/// The commit status id for commit-status Providers, empty for the others: `commitStatusExpr`
/// evaluated over `event` (with the Alert's metadata merged), `alert` and `provider`, else
/// Flux's default.
fn commit_status(
    provider: &Provider,
    alert: &Alert,
    event: &Event,
) -> Result<String, DeliveryError> {
    if !provider.spec.provider_type.is_commit_status() {
        return Ok(String::new());
    }
    match provider.spec.commit_status_expr.as_deref() {
        Some(expression) if !expression.is_empty() => {
            evaluate_commit_status(expression, provider, alert, event)
                .map_err(DeliveryError::CommitStatusExpr)
        }
        _ => {
            let uid = provider.metadata.uid.as_deref().unwrap_or_default();
            Ok(default_commit_status(uid, event))
        }
    }
}

/// `expression` compiled with the variables `event`, `alert` and `provider` (Flux's
/// `WithStructVariables`) and evaluated to a string.
fn evaluate_commit_status(
    expression: &str,
    provider: &Provider,
    alert: &Alert,
    event: &Event,
) -> Result<String, String> {
    let compiled = tether_cel::Expression::compile(expression, &["event", "alert", "provider"])
        .map_err(|e| format!("failed to compile expression: {e}"))?;
    let as_map = |what: &str, value: serde_json::Result<serde_json::Value>| {
        value.map_err(|e| format!("failed to convert {what} to map: {e}"))
    };
    let event = as_map("event", serde_json::to_value(event))?;
    let provider = as_map("provider object", serde_json::to_value(provider))?;
    let alert = as_map("alert object", serde_json::to_value(alert))?;
    compiled
        .evaluate_string([
            ("event", &event),
            ("alert", &alert),
            ("provider", &provider),
        ])
        .map_err(|e| e.to_string())
}

/// The data of a Provider's Secrets.
struct ProviderSecrets {
    main: Option<SecretData>,
    proxy: Option<SecretData>,
    ca_pem: Option<Vec<u8>>,
    identity_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl ProviderSecrets {
    async fn read(
        dispatcher: &Dispatcher,
        provider: &Provider,
        namespace: &str,
    ) -> Result<Self, SecretError> {
        let client = &dispatcher.client;
        let read = |reference: Option<&tether_api::meta::LocalObjectReference>| {
            let name = reference.map(|r| r.name.clone());
            async move {
                match name {
                    Some(name) => secret_data(client, namespace, &name).await.map(Some),
                    None => Ok(None),
                }
            }
        };
        let spec = &provider.spec;
        let main = read(spec.secret_ref.as_ref()).await?;
        let proxy = read(spec.proxy_secret_ref.as_ref()).await?;
        let mut cert = read(spec.cert_secret_ref.as_ref())
            .await?
            .unwrap_or_default();
        let identity = match (cert.remove("tls.crt"), cert.remove("tls.key")) {
            (Some(crt), Some(key)) => Some((crt, key)),
            _ => None,
        };
        Ok(Self {
            main,
            proxy,
            ca_pem: cert.remove("ca.crt"),
            identity_pem: identity,
        })
    }
}
