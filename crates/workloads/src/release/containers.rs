//! Interactive releases (`fluxctl release --interactive`, fluxd's `containers` update): the
//! client names, per workload and container, the image it saw and the image it wants; each is
//! applied only if the manifest still holds the image the client saw.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::plan::{ContainerUpdate, ReleasePlan, ReleaseStatus, WorkloadResult, reason, result};
use crate::id::ResourceId;
use crate::manifest::Workload;

/// One container the client chose: its image as the client saw it (`current`, empty to skip
/// the check) and the image to write (`target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerTarget {
    pub container: String,
    pub current: String,
    pub target: String,
}

/// fluxd's `ReleaseContainersSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainersSpec {
    /// The chosen containers of each workload.
    pub targets: BTreeMap<ResourceId, Vec<ContainerTarget>>,
    /// Release what still matches instead of failing when a container's image moved on.
    pub skip_mismatches: bool,
    /// Release locked and ignored workloads too.
    pub force: bool,
}

/// Why a whole containers release does not go ahead (fluxd's texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContainersError {
    /// A workload failed (a container gone, or an image moved on without `skip_mismatches`).
    #[error("cannot satisfy specs")]
    CannotSatisfy,
    /// Nothing would change.
    #[error("no changes found")]
    NoChanges,
}

/// Plans `spec` against the repository's `workloads` as fluxd did: workloads not named are
/// ignored, named ones no manifest defines are reported, locked and ignored ones skipped
/// unless forced; a plan with a failure or without any change is an error, reported beside
/// the plan so the client can show each workload's outcome.
pub fn plan_containers(
    workloads: &[Workload],
    spec: &ContainersSpec,
) -> (ReleasePlan, Result<(), ContainersError>) {
    let mut plan = ReleasePlan::default();
    for id in spec.targets.keys() {
        if !workloads.iter().any(|w| &w.id == id) {
            let missing = result(ReleaseStatus::Ignored, reason::NOT_IN_REPO);
            plan.results.insert(id.clone(), missing);
        }
    }
    for workload in workloads {
        let Some(targets) = spec.targets.get(&workload.id) else {
            let outcome = result(ReleaseStatus::Ignored, reason::NOT_INCLUDED);
            plan.results.insert(workload.id.clone(), outcome);
            continue;
        };
        if !spec.force && workload.policy.locked {
            let outcome = result(ReleaseStatus::Skipped, reason::LOCKED);
            plan.results.insert(workload.id.clone(), outcome);
            continue;
        }
        if !spec.force && workload.policy.ignore {
            let outcome = result(ReleaseStatus::Skipped, reason::IGNORE);
            plan.results.insert(workload.id.clone(), outcome);
            continue;
        }
        let (updates, outcome) = plan_workload(workload, targets, spec.skip_mismatches);
        plan.updates.extend(updates);
        plan.results.insert(workload.id.clone(), outcome);
    }
    let statuses = || plan.results.values().map(|r| r.status);
    let verdict = if statuses().any(|s| s == ReleaseStatus::Failed) {
        Err(ContainersError::CannotSatisfy)
    } else if !statuses().any(|s| s == ReleaseStatus::Success) {
        Err(ContainersError::NoChanges)
    } else {
        Ok(())
    };
    (plan, verdict)
}

fn plan_workload(
    workload: &Workload,
    targets: &[ContainerTarget],
    skip_mismatches: bool,
) -> (Vec<ContainerUpdate>, WorkloadResult) {
    let (mut updates, mut mismatched, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for target in targets {
        let Some(container) = workload
            .containers
            .iter()
            .find(|c| c.name == target.container)
        else {
            missing.push(target.container.as_str());
            continue;
        };
        if !target.current.is_empty() && container.image != target.current {
            mismatched.push(target.container.as_str());
            continue;
        }
        if container.image == target.target {
            continue;
        }
        updates.push(ContainerUpdate {
            workload: workload.id.clone(),
            file: workload.file.clone(),
            container: container.name.clone(),
            old_image: container.image.clone(),
            new_image: target.target.clone(),
        });
    }
    let failed = |text: String| WorkloadResult {
        status: ReleaseStatus::Failed,
        reason: Some(Cow::Owned(text)),
    };
    let mismatch = format!("container(s) tag mismatch: {}", mismatched.join(", "));
    let skipped_mismatches = skip_mismatches && !mismatched.is_empty();
    let outcome = if !missing.is_empty() {
        updates.clear();
        failed(format!("container(s) not found: {}", missing.join(", ")))
    } else if !skip_mismatches && !mismatched.is_empty() {
        updates.clear();
        failed(mismatch)
    } else if updates.is_empty() {
        WorkloadResult {
            status: ReleaseStatus::Skipped,
            reason: Some(if skipped_mismatches {
                Cow::Owned(mismatch)
            } else {
                Cow::Borrowed(reason::IMAGE_UP_TO_DATE)
            }),
        }
    } else {
        WorkloadResult {
            status: ReleaseStatus::Success,
            reason: skipped_mismatches.then_some(Cow::Owned(mismatch)),
        }
    };
    (updates, outcome)
}
