//! The order Helm runs a release's hooks in: for one event, the hooks that declare it, in
//! the stored (install-by-kind) order, stably sorted by weight then name, with their delete
//! and output-log policies parsed and Helm's default delete policy (`before-hook-creation`
//! when none is given) applied.

use super::Hook;

/// A hook event (`release/v1.HookEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookEvent {
    /// `pre-install`.
    PreInstall,
    /// `post-install`.
    PostInstall,
    /// `pre-delete`.
    PreDelete,
    /// `post-delete`.
    PostDelete,
    /// `pre-upgrade`.
    PreUpgrade,
    /// `post-upgrade`.
    PostUpgrade,
    /// `pre-rollback`.
    PreRollback,
    /// `post-rollback`.
    PostRollback,
    /// `test` (also `test-success`, Helm 2's name).
    Test,
}

impl HookEvent {
    /// Every event.
    pub const ALL: [HookEvent; 9] = [
        HookEvent::PreInstall,
        HookEvent::PostInstall,
        HookEvent::PreDelete,
        HookEvent::PostDelete,
        HookEvent::PreUpgrade,
        HookEvent::PostUpgrade,
        HookEvent::PreRollback,
        HookEvent::PostRollback,
        HookEvent::Test,
    ];

    /// The annotation text.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
        }
    }

    /// Reads an event name (lowercase, as Helm stores it).
    pub fn parse(text: &str) -> Option<HookEvent> {
        if text == "test-success" {
            return Some(HookEvent::Test);
        }
        HookEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// When a hook's resources are deleted (`helm.sh/hook-delete-policy`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeletePolicy {
    /// `before-hook-creation`: delete the previous one before creating the hook.
    BeforeHookCreation,
    /// `hook-succeeded`: delete after the hook succeeded.
    HookSucceeded,
    /// `hook-failed`: delete after the hook failed.
    HookFailed,
    /// A value Helm does not act on, kept as written.
    Other(String),
}

impl DeletePolicy {
    /// Reads a stored policy.
    pub fn parse(text: &str) -> DeletePolicy {
        match text {
            "before-hook-creation" => DeletePolicy::BeforeHookCreation,
            "hook-succeeded" => DeletePolicy::HookSucceeded,
            "hook-failed" => DeletePolicy::HookFailed,
            other => DeletePolicy::Other(other.into()),
        }
    }
}

/// When a hook's pod logs are copied to the caller (`helm.sh/hook-output-log-policy`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OutputLogPolicy {
    /// `hook-succeeded`.
    HookSucceeded,
    /// `hook-failed`.
    HookFailed,
    /// A value Helm does not act on.
    Other(String),
}

/// One hook to run, with its policies parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedHook<'a> {
    /// The stored hook.
    pub hook: &'a Hook,
    /// Delete policies; `[BeforeHookCreation]` when the hook declares none.
    pub delete_policies: Vec<DeletePolicy>,
    /// Output-log policies.
    pub output_log_policies: Vec<OutputLogPolicy>,
}

impl PlannedHook<'_> {
    /// Whether the hook is deleted under `policy`. Helm never deletes a hook that is a
    /// CustomResourceDefinition.
    pub fn deletes_on(&self, policy: &DeletePolicy) -> bool {
        self.hook.kind != "CustomResourceDefinition" && self.delete_policies.contains(policy)
    }
}

fn plan(hook: &Hook) -> PlannedHook<'_> {
    let mut delete_policies: Vec<DeletePolicy> = hook
        .delete_policies
        .iter()
        .map(|p| DeletePolicy::parse(p))
        .collect();
    if delete_policies.is_empty() {
        delete_policies.push(DeletePolicy::BeforeHookCreation);
    }
    let output_log_policies = hook
        .output_log_policies
        .iter()
        .map(|p| match p.as_str() {
            "hook-succeeded" => OutputLogPolicy::HookSucceeded,
            "hook-failed" => OutputLogPolicy::HookFailed,
            other => OutputLogPolicy::Other(other.into()),
        })
        .collect();
    PlannedHook {
        hook,
        delete_policies,
        output_log_policies,
    }
}

/// Helm's `execHook` selection: the hooks of `event`, in the order they run (weight, then
/// name; stored order kept for ties). A hook listing the event twice runs twice, as in Helm.
pub fn hooks_for(hooks: &[Hook], event: HookEvent) -> Vec<PlannedHook<'_>> {
    let mut selected: Vec<&Hook> = Vec::new();
    for h in hooks {
        for e in &h.events {
            if e == event.as_str() {
                selected.push(h);
            }
        }
    }
    selected.sort_by(|a, b| a.weight.cmp(&b.weight).then_with(|| a.name.cmp(&b.name)));
    selected.into_iter().map(plan).collect()
}

/// [`hooks_for`] every event, in [`HookEvent::ALL`] order; events without hooks left out.
pub fn hooks_by_event(hooks: &[Hook]) -> Vec<(HookEvent, Vec<PlannedHook<'_>>)> {
    HookEvent::ALL
        .into_iter()
        .map(|e| (e, hooks_for(hooks, e)))
        .filter(|(_, planned)| !planned.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str, kind: &str, events: &[&str], weight: i64, policies: &[&str]) -> Hook {
        Hook {
            name: name.into(),
            kind: kind.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            weight,
            delete_policies: policies.iter().map(|p| (*p).to_owned()).collect(),
            ..Hook::default()
        }
    }

    #[test]
    fn hooks_run_by_weight_then_name_for_their_event() {
        let hooks = vec![
            hook("b", "Job", &["pre-install", "pre-upgrade"], 0, &[]),
            hook("a", "Job", &["pre-install"], 0, &["hook-succeeded"]),
            hook("z", "ConfigMap", &["pre-install"], -5, &[]),
            hook("t", "Pod", &["test"], 0, &[]),
        ];
        let names = |event| {
            hooks_for(&hooks, event)
                .iter()
                .map(|p| p.hook.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(HookEvent::PreInstall), ["z", "a", "b"]);
        assert_eq!(names(HookEvent::PreUpgrade), ["b"]);
        assert_eq!(names(HookEvent::Test), ["t"]);
        assert!(names(HookEvent::PostDelete).is_empty());
        let grouped: Vec<HookEvent> = hooks_by_event(&hooks).iter().map(|(e, _)| *e).collect();
        assert_eq!(
            grouped,
            [
                HookEvent::PreInstall,
                HookEvent::PreUpgrade,
                HookEvent::Test
            ]
        );
    }

    #[test]
    fn a_hook_without_delete_policy_is_deleted_before_its_next_creation() {
        let hooks = vec![
            hook("a", "Job", &["post-install"], 0, &[]),
            hook(
                "b",
                "Job",
                &["post-install"],
                1,
                &["hook-succeeded", "hook-failed"],
            ),
            hook(
                "c",
                "CustomResourceDefinition",
                &["post-install"],
                2,
                &["hook-succeeded"],
            ),
        ];
        let plan = hooks_for(&hooks, HookEvent::PostInstall);
        assert_eq!(plan[0].delete_policies, [DeletePolicy::BeforeHookCreation]);
        assert!(plan[1].deletes_on(&DeletePolicy::HookFailed));
        assert!(!plan[1].deletes_on(&DeletePolicy::BeforeHookCreation));
        assert!(!plan[2].deletes_on(&DeletePolicy::HookSucceeded));
    }
}
