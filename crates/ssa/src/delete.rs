//! The delete verb (prune): deletes objects in reverse apply order, but only those that carry
//! the owner labels, and never those annotated `kustomize.toolkit.fluxcd.io/prune: disabled`
//! (or `reconcile: disabled`). A failure on one object does not stop the others: the outcome
//! lists what was done and, separately, what failed, so the caller can keep failed objects in
//! its inventory.

use std::collections::BTreeMap;

use futures::{StreamExt, stream};
use kube::api::PropagationPolicy;
use tether_core::changeset::{Action, ChangeSet, ChangeSetEntry};
use tether_core::object::ObjectRef;
use tether_core::order::sort_for_delete;

use crate::discovery::DiscoveryError;
use crate::manager::ResourceManager;
use crate::metadata::{PRUNE_ANNOTATION, RECONCILE_ANNOTATION, Selector, has_labels};
use crate::request::{self, RequestError};

/// Options of [`ResourceManager::delete_all`].
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    /// How dependents are garbage collected.
    pub propagation: PropagationPolicy,
    /// Only live objects carrying all these labels are deleted (usually the owner labels);
    /// empty means every object.
    pub inclusions: BTreeMap<String, String>,
    /// Live objects matching this are kept.
    pub exclusions: Selector,
}

impl Default for DeleteOptions {
    /// kustomize-controller's prune: background propagation, no inclusions (set the owner
    /// labels!), `prune: disabled` and `reconcile: disabled` excluded.
    fn default() -> Self {
        Self {
            propagation: PropagationPolicy::Background,
            inclusions: BTreeMap::new(),
            exclusions: Selector::from_pairs(&[
                (PRUNE_ANNOTATION, "disabled"),
                (RECONCILE_ANNOTATION, "disabled"),
            ]),
        }
    }
}

/// Errors of the delete verb, one per object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    /// Reading the live object failed.
    #[error("{object} query failed: {source}")]
    Query {
        /// The object.
        object: ObjectRef,
        /// The failed request.
        source: RequestError,
    },
    /// Discovering the object's kind failed (other than the kind not being served).
    #[error("{object} query failed: {source}")]
    Discovery {
        /// The object.
        object: ObjectRef,
        /// The discovery failure.
        source: DiscoveryError,
    },
    /// The delete request failed.
    #[error("{object} delete failed: {source}")]
    Delete {
        /// The object.
        object: ObjectRef,
        /// The failed request.
        source: RequestError,
    },
}

impl DeleteError {
    /// The object the error is about.
    pub fn object(&self) -> &ObjectRef {
        match self {
            Self::Query { object, .. }
            | Self::Discovery { object, .. }
            | Self::Delete { object, .. } => object,
        }
    }
}

/// What a prune did: an entry per object (failed ones as `unknown`), and the failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// One entry per object, in deletion order.
    pub change_set: ChangeSet,
    /// The objects that could not be deleted, in deletion order.
    pub failures: Vec<DeleteError>,
}

impl DeleteOutcome {
    /// The objects to keep in the inventory because their deletion failed.
    pub fn failed_objects(&self) -> Vec<ObjectRef> {
        self.failures.iter().map(|f| f.object().clone()).collect()
    }

    /// Flux's summary error (`delete failed, errors: a;b;`), if anything failed.
    pub fn error_message(&self) -> Option<String> {
        if self.failures.is_empty() {
            return None;
        }
        let joined: String = self.failures.iter().map(|f| format!("{f};")).collect();
        Some(format!("delete failed, errors: {joined}"))
    }
}

impl ResourceManager {
    /// Deletes `objects` in reverse apply order, up to the manager's concurrency at a time.
    /// Objects already gone, or of a kind no longer served, count as `deleted`.
    pub async fn delete_all(&self, objects: &[ObjectRef], opts: &DeleteOptions) -> DeleteOutcome {
        let mut ordered = objects.to_vec();
        sort_for_delete(&mut ordered);
        let results: Vec<(ObjectRef, Result<Action, DeleteError>)> = stream::iter(ordered)
            .map(|object| async move {
                let result = self.delete_one(&object, opts).await;
                (object, result)
            })
            .buffered(self.concurrency())
            .collect()
            .await;
        let mut outcome = DeleteOutcome::default();
        for (object, result) in results {
            let action = result.unwrap_or_else(|e| {
                outcome.failures.push(e);
                Action::Unknown
            });
            outcome.change_set.add(ChangeSetEntry::new(object, action));
        }
        outcome
    }

    async fn delete_one(
        &self,
        object: &ObjectRef,
        opts: &DeleteOptions,
    ) -> Result<Action, DeleteError> {
        let target = match self.target(object).await {
            Ok((target, _)) => target,
            Err(DiscoveryError::NoMatch { .. }) => return Ok(Action::Deleted),
            Err(source) => {
                return Err(DeleteError::Discovery {
                    object: object.clone(),
                    source,
                });
            }
        };
        let live = request::get(self.client(), &target)
            .await
            .map_err(|source| DeleteError::Query {
                object: object.clone(),
                source,
            })?;
        let Some(live) = live else {
            return Ok(Action::Deleted);
        };
        if !has_labels(&live, &opts.inclusions) || opts.exclusions.matches(&live) {
            return Ok(Action::Skipped);
        }
        request::delete(self.client(), &target, opts.propagation.clone())
            .await
            .map_err(|source| DeleteError::Delete {
                object: object.clone(),
                source,
            })?;
        Ok(Action::Deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_summarises_failures_like_flux() {
        let object = ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "n".into(),
            name: "c".into(),
        };
        let mut outcome = DeleteOutcome::default();
        assert_eq!(outcome.error_message(), None);
        outcome.failures.push(DeleteError::Delete {
            object: object.clone(),
            source: RequestError {
                code: 403,
                reason: "Forbidden".into(),
                message: "forbidden".into(),
            },
        });
        assert_eq!(
            outcome.error_message().as_deref(),
            Some("delete failed, errors: ConfigMap/n/c delete failed: forbidden;")
        );
        assert_eq!(outcome.failed_objects(), vec![object]);
    }
}
