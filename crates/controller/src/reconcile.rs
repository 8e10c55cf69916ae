//! The one reconcile loop every kind runs through. A kind implements [`Reconcile`]: whether it
//! is suspended, its interval, the fingerprint of its inputs, its steps, its next status and
//! its success event. The driver does the rest, once: the finalizer (for kinds that clean up),
//! suspend, the schedule (a reconcile whose inputs did not change waits for its interval), the
//! status write when something changed, events (a failure is reported once, not on every
//! retry), metrics, requeue and the error policy.

use crate::context::{Context, ReconcilerOptions};
use crate::events::{Origin, revision_in_status};
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::status::write_status_if_changed;
use crate::triggers::with_jitter;
use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tether_api::meta::FINALIZER;
use tether_api::meta::conditions::{READY, find};
use tokio_util::sync::CancellationToken;

/// When a kind's object runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// After this long (unless a watched change comes first).
    After(Duration),
    /// Only when something it watches changes.
    AwaitChange,
}

/// What a kind tells the driver. Steps never write status; the driver writes what
/// [`Reconcile::next_status`] returns.
pub trait Reconcile:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The status the kind writes.
    type Status: Serialize + PartialEq + HasConditions + Send + Sync;
    /// What one run of the steps produced.
    type Outcome: RunOutcome + Send + Sync;
    /// The Flux controller whose name its events carry.
    const ORIGIN: Origin;
    /// Whether the kind holds `finalizers.fluxcd.io` and cleans up on delete.
    const FINALIZES: bool = false;

    fn suspended(&self) -> bool;

    /// The spec's interval.
    fn interval(&self) -> Duration;

    /// A fingerprint of what makes a run necessary before the interval is up (generation,
    /// `requestedAt`, a source's revision...); `None` runs on every trigger. By default the
    /// generation and the `reconcile.fluxcd.io/requestedAt` annotation.
    fn inputs(&self, _ctx: &Context) -> Option<u64> {
        let requested = crate::status::requested_at(self);
        Some(crate::triggers::fingerprint(&[
            &self.meta().generation,
            &requested,
        ]))
    }

    /// The kind's steps.
    fn run(&self, ctx: &Context) -> impl Future<Output = Self::Outcome> + Send;

    /// The status the object carries.
    fn current_status(&self) -> Option<&Self::Status>;

    /// The conditions the object carries.
    fn conditions(&self) -> Option<&[Condition]> {
        self.current_status()?.conditions()
    }

    /// The status the next status is compared with: the object's, unless the steps wrote one.
    fn status_before<'a>(&'a self, _outcome: &'a Self::Outcome) -> Option<&'a Self::Status> {
        self.current_status()
    }

    /// The status after `outcome`.
    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status;

    /// The Normal event a successful run reports, if it did something worth telling:
    /// `(reason, message)`.
    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)>;

    /// When to run again. By default: the interval (with jitter) after a success, never
    /// (until a change) after a terminal failure, else the failure's own delay or the
    /// controller's retry delay, never later than the interval.
    fn next_run(&self, ctx: &Context, outcome: &Self::Outcome) -> Next {
        usual_next_run(self, &ctx.options, outcome.failure())
    }

    /// Whether to say nothing about this outcome yet (no status, no event, no metric) and look
    /// again after the dependency requeue: the run only found that its source has not finished
    /// its first fetch ([`Failure::awaits_first_fetch`]) while the object has reported nothing
    /// yet. The source's first status wakes it (kinds watch their sources), so at start-up
    /// this spares a status write, a watch event and a log line per object; a source that
    /// fails its fetch is still reported, at its first report.
    fn waits_silently(&self, outcome: &Self::Outcome) -> bool {
        let pending = outcome
            .failure()
            .is_some_and(|failure| failure.awaits_first_fetch);
        pending && self.conditions().is_none_or(|c| find(c, READY).is_none())
    }

    /// What to do once the status of `outcome` is written.
    fn after_status_written(&self, _ctx: &Context, _outcome: &Self::Outcome) {}

    /// Deletes what the object owns; only called for kinds that [`Self::FINALIZES`]. The
    /// finalizer stays until it succeeds.
    fn clean_up(&self, _ctx: &Context) -> impl Future<Output = Result<(), CleanUpError>> + Send {
        async { Ok(()) }
    }

    /// Adds the watches that wake the kind's objects when something else changes.
    fn watches(controller: Controller<Self>, _ctx: &Arc<Context>) -> Controller<Self> {
        controller
    }
}

/// A status that carries conditions.
pub trait HasConditions {
    fn conditions(&self) -> Option<&[Condition]>;
}

/// What one run produced, as far as the driver needs to know: whether it failed.
pub trait RunOutcome {
    fn failure(&self) -> Option<&Failure>;
}

impl<T> RunOutcome for Result<T, Failure> {
    fn failure(&self) -> Option<&Failure> {
        self.as_ref().err()
    }
}

/// [`HasConditions`] for status types with a `conditions: Option<Vec<Condition>>` field.
macro_rules! status_with_conditions {
    ($($status:ty),+ $(,)?) => {$(
        impl HasConditions for $status {
            fn conditions(&self) -> Option<&[Condition]> {
                self.conditions.as_deref()
            }
        }
    )+};
}

status_with_conditions!(
    tether_api::source::v1::GitRepositoryStatus,
    tether_api::source::v1::OCIRepositoryStatus,
    tether_api::source::v1::BucketStatus,
    tether_api::kustomize::v1::KustomizationStatus,
    tether_api::image::v1::ImageRepositoryStatus,
    tether_api::image::v1::ImagePolicyStatus,
    tether_api::image::v1::ImageUpdateAutomationStatus,
    tether_api::helm::v2::HelmReleaseStatus,
);

/// The usual next run after a run that ended with `failure` (see [`Reconcile::next_run`]).
pub fn usual_next_run<K: Reconcile>(
    object: &K,
    options: &ReconcilerOptions,
    failure: Option<&Failure>,
) -> Next {
    match failure {
        None => Next::After(with_jitter(object.interval(), &ObjectKey::of(object))),
        Some(failure) if failure.terminal => Next::AwaitChange,
        Some(failure) => Next::After(
            failure
                .retry_after
                .unwrap_or(options.default_retry)
                .min(object.interval()),
        ),
    }
}

/// Why a reconcile could not complete; the error policy retries it.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The status could not be written.
    #[error("{key}: cannot write status: {source}")]
    Status { key: ObjectKey, source: kube::Error },
    /// The finalizer could not be added or removed.
    #[error("{key}: finalizer: {message}")]
    Finalizer { key: ObjectKey, message: String },
    /// The clean-up before removing the finalizer failed.
    #[error("{key}: clean-up on delete: {source}")]
    CleanUp {
        key: ObjectKey,
        source: CleanUpError,
    },
}

/// Why a kind's clean-up on delete failed.
pub type CleanUpError = Box<dyn std::error::Error + Send + Sync>;

/// The API of `K` in `namespace`, or in every namespace.
pub fn api_in<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// A controller of `K` over the namespaces the options select.
pub fn controller_of<K: Reconcile>(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Controller<K> {
    Controller::new(
        api_in::<K>(client, namespace),
        watcher::Config::default().any_semantic(),
    )
}

/// Runs `controller` until `shutdown` fires, reconciling each object with the driver.
pub async fn drive<K: Reconcile>(
    controller: Controller<K>,
    ctx: Arc<Context>,
    shutdown: CancellationToken,
) {
    let config = controller::Config::default().concurrency(ctx.options.concurrency);
    K::watches(controller, &ctx)
        .with_config(config)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// One reconcile of `object`.
pub async fn reconcile<K: Reconcile>(
    object: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, DriverError> {
    if !K::FINALIZES {
        if object.meta().deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        return reconcile_live(object.as_ref(), &ctx).await;
    }
    let key = ObjectKey::of(object.as_ref());
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    let inner = ctx.clone();
    let finalized = finalizer(&api, FINALIZER, object, |event| async move {
        match event {
            Finalizer::Apply(object) => reconcile_live(object.as_ref(), &inner).await,
            Finalizer::Cleanup(object) => {
                inner.schedule.forget(&ObjectKey::of(object.as_ref()));
                object
                    .clean_up(&inner)
                    .await
                    .map(|()| Action::await_change())
                    .map_err(|source| DriverError::CleanUp {
                        key: ObjectKey::of(object.as_ref()),
                        source,
                    })
            }
        }
    })
    .await;
    crate::finalizers::absorb_stale_cache(finalized).map_err(|error| match error {
        kube::runtime::finalizer::Error::ApplyFailed(error)
        | kube::runtime::finalizer::Error::CleanupFailed(error) => error,
        other => DriverError::Finalizer {
            key,
            message: other.to_string(),
        },
    })
}

/// The retry of a reconcile that returned an error.
pub fn error_policy<K: Reconcile>(
    object: Arc<K>,
    error: &DriverError,
    ctx: Arc<Context>,
) -> Action {
    tracing::warn!(object = %ObjectKey::of(object.as_ref()), %error, "reconcile failed");
    Action::requeue(ctx.options.default_retry)
}

async fn reconcile_live<K: Reconcile>(object: &K, ctx: &Context) -> Result<Action, DriverError> {
    if object.suspended() {
        return Ok(Action::await_change());
    }
    let key = ObjectKey::of(object);
    let inputs = object.inputs(ctx);
    if let Some(inputs) = inputs
        && let Some(wait) = ctx.schedule.wait_before_run(&key, inputs)
    {
        return Ok(Action::requeue(wait));
    }
    let started = Instant::now();
    tracing::debug!(object = %key, "reconcile started");
    let outcome = object.run(ctx).await;
    if object.waits_silently(&outcome) {
        return Ok(Action::requeue(ctx.options.dependency_requeue));
    }
    let status = object.next_status(&outcome);
    let api: Api<K> = Api::namespaced(ctx.client.clone(), key.namespace());
    // The status and the event are independent requests: sent together, they cost one round
    // trip of the reconcile's latency instead of two.
    let revision = revision_in_status(&status);
    let ready = status
        .conditions()
        .and_then(|c| find(c, READY))
        .is_some_and(|c| c.status == "True");
    if ready && matches!(K::ORIGIN, Origin::Kustomize) {
        let note = format!(
            "Reconciliation finished in {}, next run in {}",
            tether_api::meta::Duration::from_std(started.elapsed()),
            tether_api::meta::Duration::from_std(object.interval()),
        );
        let event = (
            tether_api::meta::conditions::reasons::RECONCILIATION_SUCCEEDED,
            note,
        );
        ctx.events
            .alert_commit_status(K::ORIGIN, object, event, revision.as_deref());
    }
    let (written, ()) = futures::join!(
        write_status_if_changed(&api, object, object.status_before(&outcome), &status),
        report(object, ctx, &outcome, revision.as_deref())
    );
    written.map_err(|source| DriverError::Status {
        key: key.clone(),
        source,
    })?;
    tracing::debug!(object = %key, took = ?started.elapsed(), "reconcile finished");
    object.after_status_written(ctx, &outcome);
    let result = if outcome.failure().is_some() {
        "error"
    } else {
        "success"
    };
    let kind = K::kind(&());
    ctx.metrics.observe(
        &kind,
        object,
        &kind.to_lowercase(),
        result,
        started.elapsed(),
    );
    Ok(match object.next_run(ctx, &outcome) {
        Next::After(wait) => {
            if let Some(inputs) = inputs {
                ctx.schedule.ran(&key, inputs, wait);
            }
            Action::requeue(wait)
        }
        Next::AwaitChange => {
            ctx.schedule.forget(&key);
            Action::await_change()
        }
    })
}

/// The event of a run: the kind's success event, or a Warning for a failure that the Ready
/// condition does not already report (a failure repeated on every retry is told once).
async fn report<K: Reconcile>(
    object: &K,
    ctx: &Context,
    outcome: &K::Outcome,
    revision: Option<&str>,
) {
    let Some(failure) = outcome.failure() else {
        if let Some(event) = object.success_event(outcome) {
            ctx.events
                .publish_about(K::ORIGIN, object, false, event, revision)
                .await;
        }
        return;
    };
    if !failure.emits_event {
        tracing::info!(object = %ObjectKey::of(object), "{}", failure.message);
        return;
    }
    let told = object
        .conditions()
        .and_then(|c| find(c, READY))
        .is_some_and(|ready| ready.message == failure.message);
    if !told {
        let event = (failure.reason, failure.message.clone());
        ctx.events
            .publish_about(K::ORIGIN, object, true, event, revision)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_api::meta::conditions::reasons;
    use tether_api::source::v1::GitRepository;

    fn repo(interval: &str) -> GitRepository {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "flux-system"},
            "spec": {"url": "https://example.invalid/app", "interval": interval}
        }))
        .expect("a valid GitRepository")
    }

    fn after(next: Next) -> Duration {
        match next {
            Next::After(wait) => wait,
            Next::AwaitChange => panic!("expected a requeue"),
        }
    }

    #[test]
    fn a_success_runs_again_after_about_one_interval() {
        let wait = after(usual_next_run(
            &repo("10m"),
            &ReconcilerOptions::default(),
            None,
        ));
        assert!(wait >= Duration::from_secs(570) && wait <= Duration::from_secs(630));
    }

    #[test]
    fn a_terminal_failure_waits_for_a_change() {
        let failure = Failure::terminal(reasons::RECONCILIATION_FAILED, "bad spec");
        let next = usual_next_run(&repo("10m"), &ReconcilerOptions::default(), Some(&failure));
        assert_eq!(next, Next::AwaitChange);
    }

    #[test]
    fn a_failure_is_retried_by_its_own_delay_or_the_default_never_later_than_the_interval() {
        let options = ReconcilerOptions::default();
        let failure = Failure::new(reasons::RECONCILIATION_FAILED, "timeout");
        let next = usual_next_run(&repo("10m"), &options, Some(&failure));
        assert_eq!(after(next), options.default_retry);
        let next = usual_next_run(&repo("5s"), &options, Some(&failure));
        assert_eq!(after(next), Duration::from_secs(5));
        let limited = failure.retry_after(Some(Duration::from_secs(7)));
        let next = usual_next_run(&repo("10m"), &options, Some(&limited));
        assert_eq!(after(next), Duration::from_secs(7));
    }
}
