//! Publishing `events.k8s.io/v1` Events keyed as client-go's correlator keys them (Flux's
//! controllers record through it): a repeat of the same type, reason *and note* about the same
//! object raises the count of the Event already posted; a new note is a new Event. kube-rs'
//! `Recorder` leaves the note out of its key, so a second revision's "stored artifact for
//! revision ..." only raised the count of the first and `flux events` showed the stale revision.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a posted Event is remembered for counting repeats (kube-rs' and client-go's span).
const CACHE_TTL: SignedDuration = SignedDuration::from_mins(6);

/// What makes two events the same one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct EventKey {
    warning: bool,
    reason: String,
    note: Option<String>,
    action: String,
    regarding: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
}

/// Posts Events for one reporting controller.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    reporter: Reporter,
    posted: Arc<Mutex<HashMap<EventKey, K8sEvent>>>,
}

impl Recorder {
    pub fn new(client: kube::Client, reporter: Reporter) -> Self {
        let posted = Arc::default();
        Self {
            client,
            reporter,
            posted,
        }
    }

    /// Posts `event` about `regarding`, or raises the count of the same Event posted within
    /// the last six minutes.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = event_key(event, regarding);
        let repeated = self.remembered(&key, now);
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let posted = match repeated {
            Some(mut posted) => {
                let count = posted.series.as_ref().map_or(2, |s| s.count + 1);
                let last_observed_time = MicroTime(now);
                posted.series = Some(EventSeries {
                    count,
                    last_observed_time,
                });
                let name = posted.metadata.name.clone().unwrap_or_default();
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&posted))
                    .await?;
                posted
            }
            None => {
                let fresh = self.new_event(event, regarding, now);
                api.create(&PostParams::default(), &fresh).await?
            }
        };
        if let Ok(mut cache) = self.posted.lock() {
            cache.insert(key, posted);
        }
        Ok(())
    }

    /// The Event posted for `key` that is still within [`CACHE_TTL`]; forgets older ones.
    fn remembered(&self, key: &EventKey, now: Timestamp) -> Option<K8sEvent> {
        let mut cache = self.posted.lock().ok()?;
        cache.retain(|_, posted| last_seen(posted).is_some_and(|t| t + CACHE_TTL > now));
        cache.get(key).cloned()
    }

    fn new_event(&self, event: &Event, regarding: &ObjectReference, now: Timestamp) -> K8sEvent {
        let controller = &self.reporter.controller;
        let owner = regarding.name.as_ref().unwrap_or(controller);
        K8sEvent {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: event.note.clone(),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!("{owner}.{:x}", now.as_nanosecond())),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(controller.clone()),
            reporting_instance: Some(self.reporter.instance.clone().unwrap_or(controller.clone())),
            type_: Some(type_name(event.type_).to_owned()),
            related: event.secondary.clone(),
            ..K8sEvent::default()
        }
    }
}

fn event_key(event: &Event, regarding: &ObjectReference) -> EventKey {
    EventKey {
        warning: matches!(event.type_, EventType::Warning),
        reason: event.reason.clone(),
        note: event.note.clone(),
        action: event.action.clone(),
        regarding: (
            regarding.kind.clone(),
            regarding.namespace.clone(),
            regarding.name.clone(),
            regarding.uid.clone(),
        ),
    }
}

fn type_name(type_: EventType) -> &'static str {
    match type_ {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

/// When the Event was last observed: its series' last time, else its own.
fn last_seen(event: &K8sEvent) -> Option<Timestamp> {
    let series = event.series.as_ref().map(|s| s.last_observed_time.0);
    series.or_else(|| event.event_time.as_ref().map(|t| t.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(note: &str) -> Event {
        Event {
            type_: EventType::Normal,
            reason: "NewArtifact".into(),
            note: Some(note.into()),
            action: "Reconcile".into(),
            secondary: None,
        }
    }

    #[test]
    fn a_new_note_about_the_same_object_is_another_event() {
        let regarding = ObjectReference {
            kind: Some("GitRepository".into()),
            name: Some("app".into()),
            namespace: Some("apps".into()),
            ..ObjectReference::default()
        };
        let first = event_key(&event("stored artifact for revision 'a'"), &regarding);
        let again = event_key(&event("stored artifact for revision 'a'"), &regarding);
        let second = event_key(&event("stored artifact for revision 'b'"), &regarding);
        assert_eq!(first, again);
        assert_ne!(first, second);
    }
}
