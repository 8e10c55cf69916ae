//! Running a release's hooks for one event as Helm's `execHook` does: the hooks of the event in
//! weight order (then by name), each one's old object deleted first when its delete policy says
//! `before-hook-creation` (the policy a hook without one gets), created, and waited for — a Job
//! until it completes, a Pod until it succeeds, anything else not at all. The first hook that
//! fails stops the run: it is deleted if it asks for `hook-failed`, the hooks that succeeded
//! before it are deleted if they ask for `hook-succeeded`. When every hook succeeded, those
//! asking for `hook-succeeded` are deleted, last first. Each hook's last run (start, end, phase)
//! is recorded for the release record.

use std::time::Duration;

use serde_json::Value;
use tether_core::object::ObjectRef;
use tether_helm::release::hooks::{DeletePolicy, HookEvent, PlannedHook, hooks_for};
use tether_helm::release::json::GoTime;
use tether_helm::release::{Hook, HookExecution};
use tether_ssa::{ApplyOptions, ResourceManager, WaitError, WaitOptions};
use tokio_util::sync::CancellationToken;

use crate::error::ActionError;
use crate::objects;

/// Where and how hooks run.
pub struct HookRunner<'a> {
    /// Applies and deletes the hooks' objects.
    pub manager: &'a ResourceManager,
    /// The release namespace (given to hook objects that name none).
    pub namespace: &'a str,
    /// How long one hook may take.
    pub timeout: Duration,
    /// Stops waiting.
    pub cancel: CancellationToken,
}

impl HookRunner<'_> {
    /// Runs the hooks of `event` among `hooks` (see the module documentation), recording each
    /// one's last run in it.
    pub async fn run(&self, hooks: &mut [Hook], event: HookEvent) -> Result<(), ActionError> {
        let plan: Vec<(usize, Vec<DeletePolicy>)> = hooks_for(hooks, event)
            .iter()
            .map(|planned| (index_of(hooks, planned), deletions(planned)))
            .collect();
        for (position, (index, policies)) in plan.iter().enumerate() {
            if let Err(error) = self.run_one(&mut hooks[*index], policies, event).await {
                if policies.contains(&DeletePolicy::HookFailed)
                    && let Err(delete) = self.delete(&hooks[*index]).await
                {
                    tracing::warn!(hook = %hooks[*index].name, %delete, "cannot delete the failed hook");
                }
                for (earlier, policies) in &plan[..position] {
                    if policies.contains(&DeletePolicy::HookSucceeded) {
                        self.delete(&hooks[*earlier]).await?;
                    }
                }
                return Err(error);
            }
        }
        for (index, policies) in plan.iter().rev() {
            if policies.contains(&DeletePolicy::HookSucceeded) {
                self.delete(&hooks[*index]).await?;
            }
        }
        Ok(())
    }

    async fn run_one(
        &self,
        hook: &mut Hook,
        policies: &[DeletePolicy],
        event: HookEvent,
    ) -> Result<(), ActionError> {
        if policies.contains(&DeletePolicy::BeforeHookCreation) {
            self.delete(hook).await?;
        }
        let objects = self.objects_of(hook).await?;
        let started_at = GoTime::now();
        hook.last_run = HookExecution {
            started_at,
            phase: "Unknown".into(),
            ..HookExecution::default()
        };
        let outcome = match self
            .manager
            .apply_all(objects.clone(), &ApplyOptions::default())
            .await
        {
            Ok(_) => self.wait_until_done(&objects).await,
            Err(error) => Err(error.to_string()),
        };
        hook.last_run.completed_at = GoTime::now();
        hook.last_run.phase = if outcome.is_ok() {
            "Succeeded"
        } else {
            "Failed"
        }
        .into();
        outcome.map_err(|message| ActionError::Hook {
            event: event.as_str().to_owned(),
            path: hook.path.clone(),
            message,
        })
    }

    async fn objects_of(&self, hook: &Hook) -> Result<Vec<Value>, ActionError> {
        let mut objects = objects::parse_documents(&hook.path, &hook.manifest)?;
        objects::default_namespaces(self.manager, &mut objects, self.namespace).await?;
        Ok(objects)
    }

    /// Waits until the Jobs among `objects` completed and the Pods succeeded.
    async fn wait_until_done(&self, objects: &[Value]) -> Result<(), String> {
        let targets: Vec<ObjectRef> = objects
            .iter()
            .filter_map(|o| ObjectRef::from_object(o).ok())
            .filter(|o| {
                o.group.is_empty() && o.kind == "Pod" || o.group == "batch" && o.kind == "Job"
            })
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let options = WaitOptions {
            interval: Duration::from_millis(500),
            timeout: self.timeout,
            fail_fast: true,
            cancel: self.cancel.clone(),
        };
        for target in &targets {
            if target.kind == "Pod" {
                self.wait_for_pod(target, &options).await?;
            }
        }
        let jobs: Vec<ObjectRef> = targets.into_iter().filter(|t| t.kind == "Job").collect();
        match self.manager.wait_for_set(&jobs, &options).await {
            Ok(()) => Ok(()),
            Err(WaitError::Timeout { .. }) => Err("timed out waiting for the condition".into()),
            Err(error) => Err(error.to_string()),
        }
    }

    /// A hook Pod is done when its phase is Succeeded; Failed fails the hook.
    async fn wait_for_pod(&self, pod: &ObjectRef, options: &WaitOptions) -> Result<(), String> {
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(self.manager.client().clone(), &pod.namespace);
        let deadline = tokio::time::Instant::now() + options.timeout;
        loop {
            let phase = api
                .get_opt(&pod.name)
                .await
                .map_err(|e| format!("{pod}: {e}"))?
                .and_then(|p| p.status?.phase);
            match phase.as_deref() {
                Some("Succeeded") => return Ok(()),
                Some("Failed") => return Err(format!("pod {} failed", pod.name)),
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err("timed out waiting for the condition".into());
            }
            tokio::select! {
                () = options.cancel.cancelled() => return Err("wait cancelled".into()),
                () = tokio::time::sleep(options.interval) => {}
            }
        }
    }

    /// Deletes the hook's objects (never a CustomResourceDefinition) and waits until they are
    /// gone.
    async fn delete(&self, hook: &Hook) -> Result<(), ActionError> {
        if hook.kind == "CustomResourceDefinition" {
            return Ok(());
        }
        let objects = self.objects_of(hook).await?;
        let refs: Vec<ObjectRef> = objects
            .iter()
            .filter_map(|o| ObjectRef::from_object(o).ok())
            .collect();
        crate::delete::delete_and_wait(self.manager, &refs, self.timeout).await
    }
}

/// The position of the planned hook in `hooks`.
fn index_of(hooks: &[Hook], planned: &PlannedHook<'_>) -> usize {
    hooks
        .iter()
        .position(|h| std::ptr::eq(h, planned.hook))
        .unwrap_or_default()
}

/// The delete policies Helm acts on for `planned` (none for CustomResourceDefinitions).
fn deletions(planned: &PlannedHook<'_>) -> Vec<DeletePolicy> {
    [
        DeletePolicy::BeforeHookCreation,
        DeletePolicy::HookSucceeded,
        DeletePolicy::HookFailed,
    ]
    .into_iter()
    .filter(|p| planned.deletes_on(p))
    .collect()
}
