//! Image releases as fluxd planned them: the automation run over automated workloads
//! ([`plan_automated`]), `fluxctl release` ([`plan_release`]), applying a plan to the files
//! ([`apply_updates`]) and the commit messages fluxd wrote ([`message`]).
//!
//! Choosing the newest allowed tag needs a registry and the tag-policy engine; the caller
//! provides it as a closure `choose(image_repo, current_tag, pattern) -> Option<tag>` (and, for
//! `--update-image`, `allows(pattern, tag)`), so planning stays pure.

mod apply;
mod containers;
pub mod message;
mod plan;

pub use apply::{ApplyError, FileChange, apply_updates, render_updates};
pub use containers::{ContainerTarget, ContainersError, ContainersSpec, plan_containers};
pub use plan::{
    ContainerUpdate, ImageSelector, ReleaseError, ReleasePlan, ReleaseSpec, ReleaseStatus,
    WorkloadResult, WorkloadSelector, plan_automated, plan_release, reason,
};
