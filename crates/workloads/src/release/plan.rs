//! Deciding which containers get which image: fluxd's automation run and `fluxctl release`
//! (`--workload`/`--all`, `--exclude`, `--update-image`/`--update-all-images`, `--force`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::id::ResourceId;
use crate::image_ref::{ImageRef, InvalidImageRef};
use crate::manifest::Workload;
use crate::policy::PATTERN_ALL;

/// One container to move to a new image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUpdate {
    /// The workload.
    pub workload: ResourceId,
    /// Its file, relative to the repository root.
    pub file: PathBuf,
    /// The container name.
    pub container: String,
    /// The image as written now.
    pub old_image: String,
    /// The image to write.
    pub new_image: String,
}

/// Tries a container: parses its image and asks `choose` for the tag to move to, returning
/// the update when the tag differs from the current one.
fn container_update(
    workload: &Workload,
    container: &str,
    image: &str,
    new_tag: impl FnOnce(&ImageRef) -> Option<String>,
) -> Option<ContainerUpdate> {
    let current = ImageRef::parse(image).ok()?;
    let tag = new_tag(&current)?;
    if current.tag() == Some(tag.as_str()) {
        return None;
    }
    Some(ContainerUpdate {
        workload: workload.id.clone(),
        file: workload.file.clone(),
        container: container.to_string(),
        old_image: image.to_string(),
        new_image: current.with_tag(&tag).to_string(),
    })
}

/// fluxd's automation run: for every automated, unlocked, not ignored workload and each of its
/// containers, `choose(image_repo, current_tag, pattern)` names the newest tag the container's
/// pattern (`tag.<container>`, default `glob:*`) allows; a different tag becomes an update.
/// Containers whose image cannot be parsed are passed over.
pub fn plan_automated(
    workloads: &[Workload],
    mut choose: impl FnMut(&str, &str, &str) -> Option<String>,
) -> Vec<ContainerUpdate> {
    let mut updates = Vec::new();
    for workload in workloads
        .iter()
        .filter(|w| w.policy.is_automation_candidate())
    {
        for container in &workload.containers {
            let pattern = workload.policy.tag_pattern(&container.name);
            let update = container_update(workload, &container.name, &container.image, |c| {
                choose(&c.name(), c.tag().unwrap_or(""), pattern)
            });
            updates.extend(update);
        }
    }
    updates
}

/// Which workloads a release covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadSelector {
    /// `--all`.
    All,
    /// `--workload` (repeatable).
    Ids(Vec<ResourceId>),
}

/// Which image a release moves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSelector {
    /// `--update-image <repo>:<tag>`.
    Specific(String),
    /// `--update-all-images`.
    AllLatest,
}

/// A `fluxctl release` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSpec {
    /// The workloads.
    pub workloads: WorkloadSelector,
    /// `--exclude`.
    pub excludes: Vec<ResourceId>,
    /// The image.
    pub image: ImageSelector,
    /// `--force`: with named workloads, release locked and ignored ones too; with a specific
    /// image, disregard the containers' tag patterns.
    pub force: bool,
}

/// How a workload fared in a release (fluxd's `ReleaseStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReleaseStatus {
    /// At least one container is updated.
    Success,
    /// Considered but not updated (locked, up to date, ...).
    Skipped,
    /// Not part of the release (not selected, a different image).
    Ignored,
    /// Asked for but impossible (an interactive release whose container is gone or moved on).
    Failed,
}

impl ReleaseStatus {
    /// fluxd's name of the status, as fluxctl prints it and its API carries it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Skipped => "skipped",
            Self::Ignored => "ignored",
            Self::Failed => "failed",
        }
    }
}

/// A workload's outcome with fluxd's reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadResult {
    /// The outcome.
    pub status: ReleaseStatus,
    /// Why it was skipped, ignored or failed (see [`reason`]); `None` on success.
    pub reason: Option<std::borrow::Cow<'static, str>>,
}

/// fluxd's reason texts for skipped and ignored workloads.
pub mod reason {
    /// The workload is locked.
    pub const LOCKED: &str = "locked";
    /// The workload has `ignore: "true"`.
    pub const IGNORE: &str = "ignore";
    /// Not among the named workloads.
    pub const NOT_INCLUDED: &str = "not included";
    /// Named in `--exclude`.
    pub const EXCLUDED: &str = "excluded";
    /// Uses none of the released image's repository.
    pub const DIFFERENT_IMAGE: &str = "a different image";
    /// A named workload that no manifest defines.
    pub const NOT_IN_REPO: &str = "not found in repository";
    /// The released image (or a newer one) is not available under the container's pattern.
    pub const IMAGE_NOT_FOUND: &str = "cannot find one or more images";
    /// Every container already runs the chosen image.
    pub const IMAGE_UP_TO_DATE: &str = "image(s) up to date";
    /// No container has an image to update.
    pub const DOES_NOT_USE_IMAGE: &str = "does not use image(s)";
}

/// The outcome of planning a release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleasePlan {
    /// The container updates to apply, in workload then container order.
    pub updates: Vec<ContainerUpdate>,
    /// Every workload's outcome.
    pub results: BTreeMap<ResourceId, WorkloadResult>,
}

/// A release request that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// `--update-image` is not an image reference.
    #[error(transparent)]
    InvalidImage(#[from] InvalidImageRef),
    /// `--update-image` has no tag.
    #[error(
        "image {image:?} has a blank tag (if you want latest, explicitly state the tag :latest)"
    )]
    BlankTag {
        /// The image as given.
        image: String,
    },
}

pub(crate) fn result(status: ReleaseStatus, reason: &'static str) -> WorkloadResult {
    WorkloadResult {
        status,
        reason: Some(reason.into()),
    }
}

/// Why a container is not updated. For a workload without updates the most telling one
/// decides (`Unknown` over `Skipped` over `Ignored`); fluxd let the last container decide,
/// which made the reason depend on container order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Miss {
    Ignored,
    Skipped,
    Unknown,
}

struct Planner<'s, C, A> {
    spec: &'s ReleaseSpec,
    target: Option<ImageRef>,
    choose: C,
    allows: A,
}

impl<C, A> Planner<'_, C, A>
where
    C: FnMut(&str, &str, &str) -> Option<String>,
    A: FnMut(&str, &str) -> bool,
{
    /// fluxd's pre- and post-filters; `None` lets the workload through.
    fn filter(&self, workload: &Workload) -> Option<WorkloadResult> {
        let named = match &self.spec.workloads {
            WorkloadSelector::All => None,
            WorkloadSelector::Ids(ids) => Some(ids),
        };
        if named.is_some_and(|ids| !ids.contains(&workload.id)) {
            return Some(result(ReleaseStatus::Ignored, reason::NOT_INCLUDED));
        }
        if self.spec.excludes.contains(&workload.id) {
            return Some(result(ReleaseStatus::Ignored, reason::EXCLUDED));
        }
        if let Some(target) = &self.target {
            let uses = workload.containers.iter().any(|c| {
                ImageRef::parse(&c.image)
                    .is_ok_and(|i| i.canonical_name() == target.canonical_name())
            });
            if !uses {
                return Some(result(ReleaseStatus::Ignored, reason::DIFFERENT_IMAGE));
            }
        }
        let forced = named.is_some_and(|ids| !ids.is_empty()) && self.spec.force;
        if !forced && workload.policy.locked {
            return Some(result(ReleaseStatus::Skipped, reason::LOCKED));
        }
        if !forced && workload.policy.ignore {
            return Some(result(ReleaseStatus::Skipped, reason::IGNORE));
        }
        None
    }

    /// The tag a container moves to, or why it does not.
    fn new_tag(&mut self, current: &ImageRef, pattern: &str) -> Result<String, Miss> {
        let current_tag = current.tag().unwrap_or("");
        let chosen = match &self.target {
            None => (self.choose)(&current.name(), current_tag, pattern),
            Some(target) if target.canonical_name() != current.canonical_name() => {
                return Err(Miss::Ignored);
            }
            Some(target) => target
                .tag()
                .filter(|tag| pattern == PATTERN_ALL || (self.allows)(pattern, tag))
                .map(str::to_string),
        };
        match chosen {
            None if self.target.is_some() => Err(Miss::Unknown),
            None => Err(Miss::Ignored),
            Some(tag) if tag == current_tag => Err(Miss::Skipped),
            Some(tag) => Ok(tag),
        }
    }

    fn plan_workload(&mut self, workload: &Workload) -> (Vec<ContainerUpdate>, WorkloadResult) {
        let mut updates = Vec::new();
        let mut miss = Miss::Ignored;
        for container in &workload.containers {
            let pattern = if self.spec.force && self.target.is_some() {
                PATTERN_ALL
            } else {
                workload.policy.tag_pattern(&container.name)
            };
            let Ok(current) = ImageRef::parse(&container.image) else {
                miss = miss.max(Miss::Unknown);
                continue;
            };
            match self.new_tag(&current, pattern) {
                Ok(tag) => updates.push(ContainerUpdate {
                    workload: workload.id.clone(),
                    file: workload.file.clone(),
                    container: container.name.clone(),
                    old_image: container.image.clone(),
                    new_image: current.with_tag(&tag).to_string(),
                }),
                Err(m) => miss = miss.max(m),
            }
        }
        let outcome = match miss {
            _ if !updates.is_empty() => WorkloadResult {
                status: ReleaseStatus::Success,
                reason: None,
            },
            Miss::Skipped => result(ReleaseStatus::Skipped, reason::IMAGE_UP_TO_DATE),
            Miss::Ignored => result(ReleaseStatus::Ignored, reason::DOES_NOT_USE_IMAGE),
            Miss::Unknown => result(ReleaseStatus::Skipped, reason::IMAGE_NOT_FOUND),
        };
        (updates, outcome)
    }
}

/// Plans `fluxctl release`. The `automated` policy plays no part; locked and ignored workloads
/// are skipped unless `force` is set with named workloads. `--update-all-images` asks
/// `choose(image_repo, current_tag, pattern)` per container (the container's pattern always
/// applies); `--update-image` updates containers of the same repository (Docker Hub names
/// compared canonically) when `allows(pattern, tag)` accepts the tag (not asked for `glob:*`,
/// which allows every tag, nor under `force`, which disregards patterns).
pub fn plan_release(
    workloads: &[Workload],
    spec: &ReleaseSpec,
    choose: impl FnMut(&str, &str, &str) -> Option<String>,
    allows: impl FnMut(&str, &str) -> bool,
) -> Result<ReleasePlan, ReleaseError> {
    let target = match &spec.image {
        ImageSelector::AllLatest => None,
        ImageSelector::Specific(image) => {
            let parsed = ImageRef::parse(image)?;
            if parsed.tag().is_none() {
                return Err(ReleaseError::BlankTag {
                    image: image.clone(),
                });
            }
            Some(parsed)
        }
    };
    let mut planner = Planner {
        spec,
        target,
        choose,
        allows,
    };
    let mut plan = ReleasePlan::default();
    for workload in workloads {
        if let Some(filtered) = planner.filter(workload) {
            plan.results.insert(workload.id.clone(), filtered);
            continue;
        }
        let (updates, outcome) = planner.plan_workload(workload);
        plan.updates.extend(updates);
        plan.results.insert(workload.id.clone(), outcome);
    }
    if let WorkloadSelector::Ids(ids) = &spec.workloads {
        for id in ids {
            plan.results
                .entry(id.clone())
                .or_insert(result(ReleaseStatus::Skipped, reason::NOT_IN_REPO));
        }
    }
    Ok(plan)
}
