//! Kubernetes Events about reconciled objects, reported under Flux's controller names so that
//! `kubectl describe` and Flux's notification tooling read them as they read Flux's. Each event
//! also goes, in Flux's event shape, to the alert pipeline (`crate::notification::feed`).

use crate::event_recorder::Recorder;
use crate::notification::feed::{AlertFeed, Report, flux_event};
use kube::Resource;
use kube::runtime::events::{Event, EventType, Reporter};
use tether_notify::event::metadata_keys;

/// One recorder per Flux controller name.
#[derive(Clone)]
pub struct Events {
    source: Recorder,
    kustomize: Recorder,
    helm: Recorder,
    image_reflector: Recorder,
    image_automation: Recorder,
    notification: Recorder,
    instance: Option<String>,
    alerts: Option<AlertFeed>,
}

/// Which Flux controller an event is reported as.
#[derive(Clone, Copy, Debug)]
pub enum Origin {
    Source,
    Kustomize,
    Helm,
    ImageReflector,
    ImageAutomation,
    Notification,
}

impl Origin {
    /// Whether events reported as this controller reach Alerts.
    fn feeds_alerts(self) -> bool {
        !matches!(self, Self::Notification)
    }

    /// The Flux controller name events carry.
    pub fn controller(self) -> &'static str {
        match self {
            Self::Source => "source-controller",
            Self::Kustomize => "kustomize-controller",
            Self::Helm => "helm-controller",
            Self::ImageReflector => "image-reflector-controller",
            Self::ImageAutomation => "image-automation-controller",
            Self::Notification => "notification-controller",
        }
    }
}

impl Events {
    pub fn new(client: kube::Client) -> Self {
        let instance = std::env::var("POD_NAME").ok();
        let reporter = |name: &str| Reporter {
            controller: name.to_owned(),
            instance: instance.clone(),
        };
        let recorder =
            |origin: Origin| Recorder::new(client.clone(), reporter(origin.controller()));
        Self {
            source: recorder(Origin::Source),
            kustomize: recorder(Origin::Kustomize),
            helm: recorder(Origin::Helm),
            image_reflector: recorder(Origin::ImageReflector),
            image_automation: recorder(Origin::ImageAutomation),
            notification: recorder(Origin::Notification),
            instance,
            alerts: None,
        }
    }

    /// These events, also sent to the alert pipeline through `feed`.
    pub fn with_alerts(mut self, feed: AlertFeed) -> Self {
        self.alerts = Some(feed);
        self
    }

    /// Publishes an event; a failure to publish is logged, never propagated.
    pub async fn publish<K>(
        &self,
        origin: Origin,
        object: &K,
        warning: bool,
        reason: &str,
        note: String,
    ) where
        K: Resource<DynamicType = ()>,
    {
        self.publish_about(origin, object, warning, (reason, note), None)
            .await;
    }

    /// Sends to the alert pipeline only what kustomize-controller posts after every reconcile
    /// that ends Ready: an info event `(reason, note)` about `revision`, marked
    /// `<group>/commit_status: update`, which commit-status Providers turn into a status on the
    /// revision's commit and every other Provider drops (notification-controller's gate). Flux
    /// also records it as a Kubernetes Event; tether does not, so `kubectl events` is not
    /// filled with one line per interval.
    pub fn alert_commit_status<K>(
        &self,
        origin: Origin,
        object: &K,
        (reason, note): (&str, String),
        revision: Option<&str>,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let Some(feed) = self.alerts.as_ref().filter(|_| origin.feeds_alerts()) else {
            return;
        };
        let report = Report {
            controller: origin.controller(),
            instance: self.instance.as_deref(),
            warning: false,
            reason,
            message: &note,
            revision,
        };
        let annotations = object.meta().annotations.clone().unwrap_or_default();
        let mut event = flux_event(involved_object(object), &annotations, &report);
        let key = format!(
            "{}/{}",
            event.involved_object.group(),
            metadata_keys::COMMIT_STATUS
        );
        let update = metadata_keys::COMMIT_STATUS_UPDATE.to_owned();
        event.metadata.insert(key, update);
        feed.submit(&event);
    }

    /// Publishes an event `(reason, note)` about `revision` of `object`, and sends it to the
    /// alert pipeline; a failure to publish is logged, never propagated.
    pub async fn publish_about<K>(
        &self,
        origin: Origin,
        object: &K,
        warning: bool,
        (reason, note): (&str, String),
        revision: Option<&str>,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let recorder = match origin {
            Origin::Source => &self.source,
            Origin::Kustomize => &self.kustomize,
            Origin::Helm => &self.helm,
            Origin::ImageReflector => &self.image_reflector,
            Origin::ImageAutomation => &self.image_automation,
            Origin::Notification => &self.notification,
        };
        // notification-controller's own events are only Kubernetes Events, as in Flux.
        if let Some(feed) = self.alerts.as_ref().filter(|_| origin.feeds_alerts()) {
            let report = Report {
                controller: origin.controller(),
                instance: self.instance.as_deref(),
                warning,
                reason,
                message: &note,
                revision,
            };
            feed.submit(&flux_event(
                involved_object(object),
                object
                    .meta()
                    .annotations
                    .as_ref()
                    .unwrap_or(&Default::default()),
                &report,
            ));
        }
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(truncate(note, 1024)),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        if let Err(error) = recorder.publish(&event, &object.object_ref(&())).await {
            tracing::warn!(%error, reason, "cannot publish event");
        }
    }
}

/// The object reference of an event, in the notify crate's form.
fn involved_object<K: Resource<DynamicType = ()>>(object: &K) -> tether_notify::ObjectReference {
    let reference = object.object_ref(&());
    tether_notify::ObjectReference {
        kind: reference.kind.unwrap_or_default(),
        namespace: reference.namespace.unwrap_or_default(),
        name: reference.name.unwrap_or_default(),
        uid: reference.uid.unwrap_or_default(),
        api_version: reference.api_version.unwrap_or_default(),
        resource_version: reference.resource_version.unwrap_or_default(),
        field_path: reference.field_path.unwrap_or_default(),
    }
}

/// The revision a status reports: the last attempted one (Kustomization), or its artifact's.
pub fn revision_in_status(status: &impl serde::Serialize) -> Option<String> {
    let status = serde_json::to_value(status).ok()?;
    ["/lastAttemptedRevision", "/artifact/revision"]
        .iter()
        .find_map(|pointer| status.pointer(pointer)?.as_str().map(str::to_owned))
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub(3);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}
