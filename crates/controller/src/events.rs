//! Kubernetes Events about reconciled objects, reported under Flux's controller names so that
//! `kubectl describe` and Flux's notification tooling read them as they read Flux's.

use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// One recorder per Flux controller name.
#[derive(Clone)]
pub struct Events {
    source: Recorder,
    kustomize: Recorder,
    image_reflector: Recorder,
    image_automation: Recorder,
}

/// Which Flux controller an event is reported as.
#[derive(Clone, Copy, Debug)]
pub enum Origin {
    Source,
    Kustomize,
    ImageReflector,
    ImageAutomation,
}

impl Events {
    pub fn new(client: kube::Client) -> Self {
        let instance = std::env::var("POD_NAME").ok();
        let reporter = |name: &str| Reporter {
            controller: name.to_owned(),
            instance: instance.clone(),
        };
        Self {
            source: Recorder::new(client.clone(), reporter("source-controller")),
            kustomize: Recorder::new(client.clone(), reporter("kustomize-controller")),
            image_reflector: Recorder::new(client.clone(), reporter("image-reflector-controller")),
            image_automation: Recorder::new(client, reporter("image-automation-controller")),
        }
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
        let recorder = match origin {
            Origin::Source => &self.source,
            Origin::Kustomize => &self.kustomize,
            Origin::ImageReflector => &self.image_reflector,
            Origin::ImageAutomation => &self.image_automation,
        };
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
