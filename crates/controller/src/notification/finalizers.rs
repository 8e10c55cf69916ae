//! What notification-controller v1.9 still reconciles on the static kinds: a Provider carries
//! `finalizers.fluxcd.io` while it exists (Flux clears its token cache on delete; tether has
//! none, so the finalizer is simply released), and an Alert left with that finalizer by an
//! older Flux has it removed ("Migration" event). Without this, deleting a Provider or Alert
//! Flux once handled would hang on its finalizer. Neither kind has a status.

use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tether_api::meta::FINALIZER;
use tether_api::notification::v1beta3::{Alert, Provider};
use tokio_util::sync::CancellationToken;

/// Why a finalizer could not be handled; retried.
#[derive(Debug, thiserror::Error)]
pub enum FinalizerError {
    #[error("Provider '{key}': finalizer: {message}")]
    Provider { key: String, message: String },
    #[error("Alert '{key}': cannot remove the finalizer: {source}")]
    Alert { key: String, source: kube::Error },
}

/// Shared by both loops.
struct Finalizers {
    client: kube::Client,
    recorder: Recorder,
}

/// Runs the Provider and Alert finalizer loops until `shutdown` fires.
pub async fn run(client: kube::Client, namespace: Option<String>, shutdown: CancellationToken) {
    let reporter = Reporter {
        controller: "notification-controller".to_owned(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let ctx = Arc::new(Finalizers {
        recorder: Recorder::new(client.clone(), reporter),
        client: client.clone(),
    });
    let namespace = namespace.as_deref();
    let watch = || watcher::Config::default().any_semantic();
    let providers = Controller::new(
        crate::reconcile::api_in::<Provider>(&client, namespace),
        watch(),
    )
    .graceful_shutdown_on(shutdown.clone().cancelled_owned())
    .run(keep_provider_finalizer, retry, ctx.clone())
    .for_each(|_| futures::future::ready(()));
    let alerts = Controller::new(
        crate::reconcile::api_in::<Alert>(&client, namespace),
        watch(),
    )
    .graceful_shutdown_on(shutdown.cancelled_owned())
    .run(migrate_alert, retry, ctx)
    .for_each(|_| futures::future::ready(()));
    futures::join!(providers, alerts);
}

fn retry<K>(_object: Arc<K>, error: &FinalizerError, _ctx: Arc<Finalizers>) -> Action {
    tracing::warn!(%error, "finalizer handling failed");
    Action::requeue(Duration::from_secs(10))
}

/// Adds the finalizer to a live Provider, releases it on delete.
async fn keep_provider_finalizer(
    provider: Arc<Provider>,
    ctx: Arc<Finalizers>,
) -> Result<Action, FinalizerError> {
    let key = format!(
        "{}/{}",
        provider.namespace().unwrap_or_default(),
        provider.name_any()
    );
    let api: Api<Provider> = Api::namespaced(
        ctx.client.clone(),
        &provider.namespace().unwrap_or_default(),
    );
    let done = finalizer(&api, FINALIZER, provider, |event| async move {
        match event {
            Finalizer::Apply(_) | Finalizer::Cleanup(_) => {
                Ok::<_, std::convert::Infallible>(Action::await_change())
            }
        }
    })
    .await;
    crate::finalizers::absorb_stale_cache(done).map_err(|error| FinalizerError::Provider {
        key,
        message: error.to_string(),
    })
}

/// Removes the finalizer an older Flux put on an Alert.
async fn migrate_alert(alert: Arc<Alert>, ctx: Arc<Finalizers>) -> Result<Action, FinalizerError> {
    let finalizers = alert.finalizers();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let namespace = alert.namespace().unwrap_or_default();
    let kept: Vec<&String> = finalizers.iter().filter(|f| *f != FINALIZER).collect();
    let patch = serde_json::json!({
        "metadata": {"finalizers": kept, "resourceVersion": alert.resource_version()}
    });
    let api: Api<Alert> = Api::namespaced(ctx.client.clone(), &namespace);
    api.patch(
        &alert.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|source| FinalizerError::Alert {
        key: format!("{namespace}/{}", alert.name_any()),
        source,
    })?;
    let note = "removed finalizer from Alert to migrate to static Alert";
    tracing::info!(alert = %alert.name_any(), namespace, "{note}");
    let event = Event {
        type_: EventType::Normal,
        reason: "Migration".to_owned(),
        note: Some(note.to_owned()),
        action: "Migrate".to_owned(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &alert.object_ref(&())).await {
        tracing::warn!(%error, "cannot publish event");
    }
    Ok(Action::await_change())
}
