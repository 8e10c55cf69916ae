//! The apply of a stage none of whose objects was applied before (on a first sync, every stage):
//! each object is looked up (in the index of known objects, or by a cheap read, usually a 404
//! while the index does not answer for its kind) and applied at once, in order, without
//! the dry-run that would only show that it does not exist yet. An object that exists after all
//! (outside the previous inventory: a Kustomization recreated over live objects, a cluster moved
//! from fluxd) hands the stage to the validated apply, so its live annotations
//! (`reconcile: disabled`, `fluxcd.io/ignore`) and drift are honoured as usual.
//!
//! A bad object must still change nothing: when an apply is refused, the stage is handed to the
//! validated apply, which reports the failure exactly as usual (and recreates on immutable fields
//! when forced); if that fails too, the objects created here are deleted again.

use kube::api::PropagationPolicy;
use serde_json::Value;
use tether_core::changeset::{Action, ChangeSet, ChangeSetEntry};

use crate::apply::{ApplyError, ApplyOptions, Desired, digest_of};
use crate::known::Presence;
use crate::manager::ResourceManager;
use crate::request::{self, Target};

/// An object located for applying: where it is served, and the body to send.
pub(crate) type Located = (Target, Value);

impl ResourceManager {
    /// The stage's objects, located, when they may be applied directly: the previous inventory
    /// is known, no object is in it, and none is create-only (that needs a look at the cluster
    /// first). `None` otherwise, and when an object cannot be located: the validated apply
    /// reports that as usual.
    pub(crate) async fn located_if_all_new(
        &self,
        desired: &[Desired],
        opts: &ApplyOptions,
    ) -> Option<Vec<Located>> {
        let applied_before = opts.previously_applied.as_ref()?;
        let mut located = Vec::with_capacity(desired.len());
        for d in desired {
            let (target, body) = self.locate(d).await.ok()?;
            if applied_before.contains(&target.object.id())
                || opts.if_not_present_selector.matches(&body)
            {
                return None;
            }
            located.push((target, body));
        }
        Some(located)
    }

    /// Applies `located` (the stage `desired`, located) one by one in order; see the module
    /// documentation for what happens when one is refused.
    pub(crate) async fn apply_new(
        &self,
        desired: &[Desired],
        located: Vec<Located>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        let mut written = Written::default();
        for (target, body) in located {
            if opts.exclusion_selector.matches(&body) {
                let entry = ChangeSetEntry::new(target.object, Action::Skipped);
                written.change_set.add(entry);
                continue;
            }
            let exists = match self.known_objects().presence_of(&target) {
                Presence::Absent => false,
                Presence::Present => true,
                Presence::Unknown => {
                    !matches!(request::get(self.client(), &target).await, Ok(None))
                }
            };
            if exists {
                tracing::debug!(object = %target.object,
                    "exists outside the previous inventory; validating the stage");
                return self.validate_after_refusal(desired, opts, written).await;
            }
            let applied = request::server_side_apply_created(
                self.client(),
                &target,
                &body,
                self.field_manager(),
                opts.keep_applied,
            )
            .await;
            match applied {
                Ok(applied) => {
                    let digest = digest_of(&body);
                    let known = self.known_objects();
                    known.note_written(&target, &applied.resource_version, digest);
                    if let Some(object) = applied.object {
                        known.keep_applied(&target, object);
                    }
                    written.record(target, applied.created);
                }
                Err(refused) => {
                    tracing::debug!(object = %target.object, error = %refused,
                        "apply refused; validating the stage");
                    return self.validate_after_refusal(desired, opts, written).await;
                }
            }
        }
        Ok(written.change_set)
    }

    /// The validated apply of the stage after a refused direct apply. Objects the direct
    /// applies wrote are reported as written; when the stage fails, those created are deleted.
    async fn validate_after_refusal(
        &self,
        desired: &[Desired],
        opts: &ApplyOptions,
        written: Written,
    ) -> Result<ChangeSet, ApplyError> {
        match self.apply_validated(desired, opts).await {
            Ok(mut change_set) => {
                for entry in &mut change_set.entries {
                    if entry.action != Action::Unchanged {
                        continue;
                    }
                    if let Some(earlier) = written.action_of(&entry.object) {
                        entry.action = earlier;
                    }
                }
                Ok(change_set)
            }
            Err(error) => {
                self.delete_created(&written.created).await;
                Err(error)
            }
        }
    }

    /// Deletes objects this apply created, newest first; failures are logged: the apply's own
    /// error is the one reported.
    async fn delete_created(&self, created: &[Target]) {
        for target in created.iter().rev() {
            let deleted =
                request::delete(self.client(), target, PropagationPolicy::Background).await;
            if let Err(error) = deleted {
                tracing::warn!(object = %target.object, %error,
                    "cannot delete an object created by a failed apply");
            }
        }
    }
}

/// What the direct applies of a stage wrote so far.
#[derive(Default)]
struct Written {
    change_set: ChangeSet,
    created: Vec<Target>,
}

impl Written {
    fn record(&mut self, target: Target, created: bool) {
        let action = if created {
            Action::Created
        } else {
            Action::Configured
        };
        self.change_set
            .add(ChangeSetEntry::new(target.object.clone(), action));
        if created {
            self.created.push(target);
        }
    }

    /// The action of a written (not skipped) object.
    fn action_of(&self, object: &tether_core::object::ObjectRef) -> Option<Action> {
        self.change_set
            .entries
            .iter()
            .find(|e| &e.object == object && e.action != Action::Skipped)
            .map(|e| e.action)
    }
}
