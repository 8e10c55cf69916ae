//! What the reconcilers do when kube-runtime's finalizer helper finds the cached object behind
//! the cluster: its JSON patch tests the finalizer list it saw, so a reconcile that starts from
//! a cache entry older than its own previous finalizer patch is refused (422). That is not a
//! failure: the watch event carrying the newer object is on its way and triggers the reconcile
//! again; a short requeue covers a lost event.

use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::Error;

/// When a reconcile refused for a stale cache entry runs again if no watch event comes first.
const STALE_RETRY: Duration = Duration::from_secs(1);

/// `result`, with a finalizer patch refused because the cached object was stale turned into a
/// short requeue.
pub fn absorb_stale_cache<E>(result: Result<Action, Error<E>>) -> Result<Action, Error<E>>
where
    E: std::error::Error + 'static,
{
    match result {
        Err(Error::AddFinalizer(kube::Error::Api(status)))
        | Err(Error::RemoveFinalizer(kube::Error::Api(status)))
            if status.code == 422 =>
        {
            tracing::debug!(message = %status.message,
                "finalizer patch refused: the cached object is stale; waiting for the watch");
            Ok(Action::requeue(STALE_RETRY))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reconcile failed")]
    struct Failed;

    fn refused(code: u16) -> Error<Failed> {
        let status = kube::core::Status {
            code,
            ..Default::default()
        };
        Error::AddFinalizer(kube::Error::Api(Box::new(status)))
    }

    #[test]
    fn a_stale_cache_refusal_is_a_requeue_and_other_failures_stay() {
        let absorbed = absorb_stale_cache(Err(refused(422)));
        assert_eq!(absorbed.ok(), Some(Action::requeue(STALE_RETRY)));
        assert!(absorb_stale_cache(Err(refused(403))).is_err());
        assert!(absorb_stale_cache(Err(Error::ApplyFailed(Failed))).is_err());
        let done = absorb_stale_cache::<Failed>(Ok(Action::await_change()));
        assert_eq!(done.ok(), Some(Action::await_change()));
    }
}
