//! The wait verb: polls a set of objects until every one is Current by kstatus (computed by
//! `tether_core::health`, or by the manager's custom health rules for the kinds they cover), failing on timeout with every object that is not ready, or early
//! when objects reach Failed. An object whose kind the index of known objects watches is read
//! again as soon as the watch delivers a new version of it, rather than at the next poll: a
//! wait ends milliseconds after the object's controller reports it ready. Cancellable through a
//! [`CancellationToken`], so a new revision can stop a running wait.

use std::fmt;
use std::time::Duration;

use futures::{StreamExt, stream};
use tether_core::health::{self, Status};
use tether_core::object::ObjectRef;
use tether_core::time::Timestamp;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::discovery::DiscoveryError;
use crate::known::{self, Followed};
use crate::manager::ResourceManager;
use crate::request;

/// Options of [`ResourceManager::wait_for_set`].
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Time between two polls of the objects not yet Current (sooner when the watch of known
    /// objects delivers a new version of one).
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
    /// Fail as soon as one object is Failed. When off, the wait still ends early once every
    /// object that is not Current is Failed (nothing left can make progress), as Flux's does.
    pub fail_fast: bool,
    /// Cancels the wait from outside.
    pub cancel: CancellationToken,
}

impl Default for WaitOptions {
    /// Poll every 2 s for at most 60 s, failing fast, with a token nobody cancels.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(60),
            fail_fast: true,
            cancel: CancellationToken::new(),
        }
    }
}

/// The last status seen for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStatus {
    /// The object.
    pub object: ObjectRef,
    /// Its kstatus status.
    pub status: Status,
    /// kstatus's message, or why the status could not be read.
    pub message: String,
}

impl fmt::Display for ObjectStatus {
    /// `Deployment/apps/web status: 'InProgress': message` (message left out when empty).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} status: '{}'", self.object, self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Errors of the wait verb.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The timeout passed with these objects not Current.
    #[error("timeout waiting for: [{}]", join(.pending))]
    Timeout {
        /// Every object that was not Current, with its last status.
        pending: Vec<ObjectStatus>,
    },
    /// Objects reached Failed, so waiting longer would not help.
    #[error("failed early due to stalled resources: [{}]", join(.failed))]
    Failed {
        /// The Failed objects.
        failed: Vec<ObjectStatus>,
    },
    /// The cancellation token fired.
    #[error("wait cancelled")]
    Cancelled,
}

fn join(statuses: &[ObjectStatus]) -> String {
    statuses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ResourceManager {
    /// Waits until every object in `objects` is Current.
    pub async fn wait_for_set(
        &self,
        objects: &[ObjectRef],
        opts: &WaitOptions,
    ) -> Result<(), WaitError> {
        let deadline = Instant::now() + opts.timeout;
        let mut pending: Vec<ObjectStatus> = objects.iter().map(unknown_yet).collect();
        loop {
            let (statuses, followed): (Vec<ObjectStatus>, Vec<Option<Followed>>) = self
                .poll(pending)
                .await
                .into_iter()
                .filter(|(s, _)| s.status != Status::Current)
                .unzip();
            pending = statuses;
            if pending.is_empty() {
                return Ok(());
            }
            let mut followed: Vec<Followed> = followed.into_iter().flatten().collect();
            if let Some(error) = failed_early(&pending, opts.fail_fast) {
                return Err(error);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(WaitError::Timeout { pending });
            }
            let pause = opts.interval.min(deadline - now);
            tokio::select! {
                () = opts.cancel.cancelled() => return Err(WaitError::Cancelled),
                () = tokio::time::sleep(pause) => {}
                () = known::any_moved(&mut followed) => {}
            }
        }
    }

    /// Each object's status, and the object followed from before it was read when its kind
    /// is watched.
    async fn poll(&self, statuses: Vec<ObjectStatus>) -> Vec<(ObjectStatus, Option<Followed>)> {
        stream::iter(statuses)
            .map(|s| self.status_followed(s.object))
            .buffered(self.concurrency())
            .collect()
            .await
    }

    /// The kstatus status of one object, as seen now.
    pub async fn status_of(&self, object: ObjectRef) -> ObjectStatus {
        self.status_followed(object).await.0
    }

    async fn status_followed(&self, object: ObjectRef) -> (ObjectStatus, Option<Followed>) {
        let (read, followed) = self.read_status(&object).await;
        let (status, message) = match read {
            Ok(result) => (result.status, result.message),
            Err(message) => (Status::Unknown, message),
        };
        let status = ObjectStatus {
            object,
            status,
            message,
        };
        (status, followed)
    }

    async fn read_status(
        &self,
        object: &ObjectRef,
    ) -> (Result<health::HealthResult, String>, Option<Followed>) {
        let (target, _) = match self.target(object).await {
            Ok(found) => found,
            Err(DiscoveryError::NoMatch { .. }) => {
                return (Ok(health::HealthResult::not_found()), None);
            }
            Err(e) => return (Err(e.to_string()), None),
        };
        let known = self.known_objects();
        // The first look after this process applied the object: what the apply answered,
        // while no other writer has come since (a read would return the same).
        if let Some((applied, version)) = known.take_applied(&target) {
            let followed = known.follow_from(&target, version);
            return (Ok(self.health_of(&applied)), followed);
        }
        let followed = known.follow(&target);
        (self.judge(&target).await, followed)
    }

    async fn judge(&self, target: &request::Target) -> Result<health::HealthResult, String> {
        match request::get(self.client(), target).await {
            Ok(Some(live)) => Ok(self.health_of(&live)),
            Ok(None) => Ok(health::HealthResult::not_found()),
            Err(e) => Err(e.message),
        }
    }

    fn health_of(&self, live: &serde_json::Value) -> health::HealthResult {
        self.custom_health()
            .and_then(|rules| rules.status_of(live))
            .unwrap_or_else(|| health::compute_or_unknown(live, Timestamp::now()))
    }
}

fn unknown_yet(object: &ObjectRef) -> ObjectStatus {
    ObjectStatus {
        object: object.clone(),
        status: Status::Unknown,
        message: String::new(),
    }
}

/// The early failure, if any: some objects Failed and either `fail_fast` is on or every object
/// still pending is Failed.
fn failed_early(pending: &[ObjectStatus], fail_fast: bool) -> Option<WaitError> {
    let failed: Vec<ObjectStatus> = pending
        .iter()
        .filter(|s| s.status == Status::Failed)
        .cloned()
        .collect();
    let stuck = !failed.is_empty() && (fail_fast || failed.len() == pending.len());
    stuck.then_some(WaitError::Failed { failed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(kind: &str, status: Status, message: &str) -> ObjectStatus {
        ObjectStatus {
            object: ObjectRef {
                group: "apps".into(),
                version: "v1".into(),
                kind: kind.into(),
                namespace: "ns".into(),
                name: "web".into(),
            },
            status,
            message: message.into(),
        }
    }

    #[test]
    fn messages_list_every_object_like_flux() {
        let error = WaitError::Timeout {
            pending: vec![
                status("Deployment", Status::InProgress, "Replicas: 0/1"),
                status("StatefulSet", Status::Unknown, ""),
            ],
        };
        assert_eq!(
            error.to_string(),
            "timeout waiting for: [Deployment/ns/web status: 'InProgress': Replicas: 0/1, \
             StatefulSet/ns/web status: 'Unknown']"
        );
    }

    #[test]
    fn fails_early_only_when_nothing_can_progress_unless_fail_fast() {
        let mixed = [
            status("A", Status::Failed, "bad"),
            status("B", Status::InProgress, ""),
        ];
        assert_eq!(failed_early(&mixed, false), None);
        let Some(WaitError::Failed { failed }) = failed_early(&mixed, true) else {
            panic!("expected an early failure");
        };
        assert_eq!(failed.len(), 1);
        assert!(failed_early(&mixed[..1], false).is_some());
        assert_eq!(failed_early(&mixed[1..], true), None);
    }
}
