//! The alert dispatcher: takes admitted events off the queue, finds the Alerts they go to
//! (`tether_notify::alert`, with the involved object's labels looked up only when a
//! `matchLabels` source needs them), and delivers each on its own task (`super::deliver`) so a
//! slow or failing Provider never holds up other alerts or any reconcile. A delivery that fails
//! is logged and recorded as a `NotificationDispatchFailed` Warning on the Alert, an invalid
//! inclusion or exclusion regex as `InvalidConfig` (the pattern is skipped), as Flux does.
//! At most [`Limits::max_concurrent_deliveries`] deliveries run at once: the dispatcher waits
//! for a free slot (the bounded queue before it absorbs bursts, and reconcilers never wait).

use super::deliver::{DeliveryError, deliver};
use super::feed::AlertQueue;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use tether_api::notification::conditions::event_reasons;
use tether_api::notification::v1beta3::{Alert, Provider};
use tether_notify::alert::AlertMatcher;
use tether_notify::{Event, ObjectReference};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How far dispatching may go.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Alerts only take events of objects in their own namespace.
    pub no_cross_namespace_refs: bool,
    /// Deliveries in flight at once (at least one).
    pub max_concurrent_deliveries: usize,
}

/// What deliveries share.
pub struct Dispatcher {
    pub client: kube::Client,
    pub alerts: Store<Alert>,
    pub providers: Store<Provider>,
    pub limits: Limits,
    slots: Arc<Semaphore>,
    recorder: Recorder,
}

impl Dispatcher {
    pub fn new(
        client: kube::Client,
        alerts: Store<Alert>,
        providers: Store<Provider>,
        limits: Limits,
    ) -> Self {
        let reporter = Reporter {
            controller: "notification-controller".to_owned(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            alerts,
            providers,
            limits,
            slots: Arc::new(Semaphore::new(limits.max_concurrent_deliveries.max(1))),
        }
    }

    /// Dispatches queued events until `shutdown` fires or every feed is gone.
    pub async fn run(self: Arc<Self>, mut queue: AlertQueue, shutdown: CancellationToken) {
        let ready = async {
            let _ = futures::join!(
                self.alerts.wait_until_ready(),
                self.providers.wait_until_ready()
            );
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = ready => {}
        }
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                event = queue.recv() => event,
            };
            match event {
                Some(event) => self.dispatch(event).await,
                None => return,
            }
        }
    }

    /// Starts a delivery for every Alert `event` goes to.
    async fn dispatch(self: &Arc<Self>, event: Event) {
        let event = Arc::new(event);
        let mut labels = None;
        for alert in self.alerts.state() {
            let namespace = alert.namespace().unwrap_or_default();
            let (matcher, invalid) = AlertMatcher::new(&alert.spec, &namespace);
            if matcher.needs_labels(&event) && labels.is_none() {
                labels = Some(self.labels_of(&event.involved_object).await);
            }
            if !matcher.matches(&event, labels.as_ref().and_then(Option::as_ref)) {
                continue;
            }
            // Told only for events the Alert selects, not for every event that goes by.
            for invalid in invalid {
                tracing::warn!(alert = %alert.name_any(), namespace, %invalid, "invalid Alert");
                let reason = event_reasons::INVALID_CONFIG;
                self.warn_alert(&alert, reason, invalid.to_string()).await;
            }
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let this = self.clone();
            let event = event.clone();
            tokio::spawn(async move {
                if let Err(error) = deliver(&this, &alert, &event).await {
                    this.report_failure(&alert, &event, &error).await;
                }
                drop(slot);
            });
        }
    }

    /// The labels of the involved object, `None` when it cannot be read.
    async fn labels_of(&self, object: &ObjectReference) -> Option<BTreeMap<String, String>> {
        let (group, version) = match object.api_version.split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", object.api_version.as_str()),
        };
        let gvk = GroupVersionKind::gvk(group, version, &object.kind);
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &object.namespace,
            &ApiResource::from_gvk(&gvk),
        );
        match api.get_metadata_opt(&object.name).await {
            Ok(found) => found.map(|meta| meta.labels().clone()),
            Err(error) => {
                tracing::warn!(%error, kind = %object.kind, name = %object.name,
                    "cannot read the involved object's labels");
                None
            }
        }
    }

    async fn report_failure(&self, alert: &Alert, event: &Event, error: &DeliveryError) {
        let object = &event.involved_object;
        let involved = format!("{}/{}/{}", object.kind, object.namespace, object.name);
        tracing::warn!(
            alert = %alert.name_any(),
            namespace = %alert.namespace().unwrap_or_default(),
            provider = %alert.spec.provider_ref.name,
            %error,
            "failed to dispatch notification"
        );
        let note = format!("failed to dispatch notification for {involved}: {error}");
        self.warn_alert(alert, event_reasons::NOTIFICATION_DISPATCH_FAILED, note)
            .await;
    }

    /// Records a Warning event on `alert`, as notification-controller does.
    pub async fn warn_alert(&self, alert: &Alert, reason: &str, note: String) {
        let warning = KubeEvent {
            type_: EventType::Warning,
            reason: reason.to_owned(),
            note: Some(note.chars().take(1024).collect()),
            action: "Dispatch".to_owned(),
            secondary: None,
        };
        if let Err(error) = self
            .recorder
            .publish(&warning, &alert.object_ref(&()))
            .await
        {
            tracing::warn!(%error, "cannot publish event");
        }
    }
}
