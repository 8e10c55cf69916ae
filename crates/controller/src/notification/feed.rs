//! The way into the alert pipeline: one bounded channel that both the controller's own events
//! (built here in Flux's event shape from the object, its annotations and the revision) and
//! events POSTed to the events endpoint go through, after the same admission
//! (`tether_notify::intake`: metadata cleanup, rate limit). A full channel drops the event with
//! a warning: reconciles never wait for alerts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tether_notify::event::{EVENT_GROUP, metadata_keys, severity};
use tether_notify::intake::{EventIntake, Refusal};
use tether_notify::ratelimit::SystemClock;
use tether_notify::{Event, ObjectReference};
use tokio::sync::mpsc;

/// How many admitted events may wait for the dispatcher.
pub const CAPACITY: usize = 1024;

/// The sending side of the alert pipeline; cheap to clone.
#[derive(Clone)]
pub struct AlertFeed {
    intake: Arc<Mutex<EventIntake<SystemClock>>>,
    queue: mpsc::Sender<Event>,
}

/// The receiving side, handed to the dispatcher.
pub type AlertQueue = mpsc::Receiver<Event>;

impl AlertFeed {
    /// A feed rate limiting identical events to one per `rate_limit`, and its queue.
    pub fn new(rate_limit: Duration, capacity: usize) -> (Self, AlertQueue) {
        let (queue, receiver) = mpsc::channel(capacity);
        let intake = Arc::new(Mutex::new(EventIntake::new(SystemClock, rate_limit)));
        (Self { intake, queue }, receiver)
    }

    /// Admits a POSTed body and queues the event; the refusal says which status to answer.
    pub fn submit_body(&self, body: &[u8]) -> Result<(), Refusal> {
        let event = match self.intake.lock() {
            Ok(mut intake) => intake.admit(body)?,
            Err(_) => return Err(Refusal::Malformed("event intake unavailable".to_owned())),
        };
        self.enqueue(event);
        Ok(())
    }

    /// Admits one of the controller's own events and queues it; refusals (duplicates) are
    /// only logged.
    pub fn submit(&self, event: &Event) {
        let body = match event.to_go_json() {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "cannot encode event for alerts");
                return;
            }
        };
        if let Err(refusal) = self.submit_body(&body) {
            tracing::debug!(reason = %event.reason, %refusal, "event not sent to alerts");
        }
    }

    fn enqueue(&self, event: Event) {
        if let Err(error) = self.queue.try_send(event) {
            let event = match &error {
                mpsc::error::TrySendError::Full(e) | mpsc::error::TrySendError::Closed(e) => e,
            };
            tracing::warn!(
                object = %format!("{}/{}/{}", event.involved_object.kind,
                    event.involved_object.namespace, event.involved_object.name),
                reason = %event.reason,
                "alert queue full or closed, dropping event"
            );
        }
    }
}

/// What a reconciler reports, for [`flux_event`].
pub struct Report<'a> {
    /// The Flux controller name (`kustomize-controller`).
    pub controller: &'a str,
    /// The controller instance (the pod name), if known.
    pub instance: Option<&'a str>,
    /// A Warning (severity `error`) or Normal (`info`) event.
    pub warning: bool,
    pub reason: &'a str,
    pub message: &'a str,
    /// The revision the event is about.
    pub revision: Option<&'a str>,
}

/// The event Flux's recorder posts for a Kubernetes event about `object`: severity from the
/// type, `<group>/revision` metadata, and the object's `event.toolkit.fluxcd.io/` annotations.
pub fn flux_event(
    object: ObjectReference,
    annotations: &BTreeMap<String, String>,
    report: &Report<'_>,
) -> Event {
    let annotation_prefix = format!("{EVENT_GROUP}/");
    let mut metadata: BTreeMap<String, String> = annotations
        .iter()
        .filter(|(key, _)| key.starts_with(&annotation_prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(revision) = report.revision.filter(|r| !r.is_empty()) {
        let key = format!("{}/{}", object.group(), metadata_keys::REVISION);
        metadata.insert(key, revision.to_owned());
    }
    Event {
        involved_object: object,
        severity: if report.warning {
            severity::ERROR
        } else {
            severity::INFO
        }
        .to_owned(),
        timestamp: chrono::Utc::now(),
        message: report.message.to_owned(),
        reason: report.reason.to_owned(),
        metadata,
        reporting_controller: report.controller.to_owned(),
        reporting_instance: report.instance.unwrap_or_default().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kustomization() -> ObjectReference {
        ObjectReference {
            kind: "Kustomization".into(),
            namespace: "flux-system".into(),
            name: "apps".into(),
            api_version: "kustomize.toolkit.fluxcd.io/v1".into(),
            ..ObjectReference::default()
        }
    }

    fn report(revision: Option<&str>) -> Report<'_> {
        Report {
            controller: "kustomize-controller",
            instance: None,
            warning: true,
            reason: "BuildFailed",
            message: "kustomize build failed",
            revision,
        }
    }

    #[test]
    fn a_warning_becomes_an_error_event_with_revision_and_annotation_metadata() {
        let annotations = BTreeMap::from([
            ("event.toolkit.fluxcd.io/env".to_owned(), "prod".to_owned()),
            ("other.io/x".to_owned(), "y".to_owned()),
        ]);
        let event = flux_event(
            kustomization(),
            &annotations,
            &report(Some("main@sha1:abc")),
        );
        assert_eq!(event.severity, "error");
        assert_eq!(event.reporting_controller, "kustomize-controller");
        assert_eq!(
            event.metadata,
            BTreeMap::from([
                ("event.toolkit.fluxcd.io/env".to_owned(), "prod".to_owned()),
                (
                    "kustomize.toolkit.fluxcd.io/revision".to_owned(),
                    "main@sha1:abc".to_owned()
                ),
            ])
        );
    }

    #[tokio::test]
    async fn an_identical_event_is_queued_once_and_a_full_queue_drops_without_blocking() {
        let (feed, mut queue) = AlertFeed::new(Duration::from_secs(60), 1);
        let event = flux_event(kustomization(), &BTreeMap::new(), &report(None));
        feed.submit(&event);
        feed.submit(&event);
        let other = flux_event(
            kustomization(),
            &BTreeMap::new(),
            &report(Some("main@sha1:def")),
        );
        feed.submit(&other);
        assert_eq!(queue.recv().await.map(|e| e.metadata.len()), Some(0));
        assert!(queue.try_recv().is_err());
    }

    #[test]
    fn a_body_that_is_not_an_event_is_refused_with_400() {
        let (feed, _queue) = AlertFeed::new(Duration::from_secs(60), 4);
        assert_eq!(feed.submit_body(b"{}").map_err(|r| r.status()), Err(400));
    }
}
