//! `fluxctl release`: named (or all) workloads move to one image (`--update-image`) or to the
//! newest tags their patterns allow (`--update-all-images`), in one `Release ...` commit.

use std::path::Path;

use tether_imagepolicy::TagPattern;
use tether_registry::ImageName;
use tether_workloads::release::{
    ContainersSpec, ImageSelector, ReleasePlan, ReleaseSpec, WorkloadSelector, message,
    plan_containers, plan_release,
};
use tether_workloads::{ImageRef, Workload};

use crate::choose::{Choices, MissingTimes};
use crate::error::Error;
use crate::repo::{
    CommitSettings, Committed, Repository, edit_commit_push, edit_preview, workloads_in,
};
use crate::scan::{Catalog, ImageScanner};
use tether_source::{Edit, Edited};

/// Plans `spec` against the repository's workloads and pushes the result as one commit (no
/// commit when nothing changes). The message is `cause` when given, else fluxd's
/// `Release <image> to <workloads>`. Fails when the released image is not in its registry or
/// a registry cannot be scanned; the plan reports every workload's outcome.
pub async fn release(
    repo: &Repository,
    scanner: &ImageScanner,
    spec: &ReleaseSpec,
    cause: Option<&str>,
    settings: &CommitSettings,
) -> Result<Committed<ReleasePlan>, Error> {
    let mut edit = ReleaseEdit::new(repo, scanner, spec, cause);
    edit_commit_push(repo, settings, &mut edit).await
}

/// What [`release`] would do, without committing anything (`fluxctl release --dry-run`).
pub async fn preview_release(
    repo: &Repository,
    scanner: &ImageScanner,
    spec: &ReleaseSpec,
) -> Result<ReleasePlan, Error> {
    let mut edit = ReleaseEdit::new(repo, scanner, spec, None);
    edit_preview(repo, &mut edit).await
}

/// Applies an interactive release (`fluxctl release --interactive`): the chosen containers move
/// to their chosen images in one `Update image refs in ...` commit, or nothing happens when any
/// chosen container is gone or its image moved on (unless mismatches are to be skipped).
pub async fn release_containers(
    repo: &Repository,
    spec: &ContainersSpec,
    cause: Option<&str>,
    settings: &CommitSettings,
) -> Result<Committed<ReleasePlan>, Error> {
    let mut edit = ContainersEdit { repo, spec, cause };
    edit_commit_push(repo, settings, &mut edit).await
}

/// What [`release_containers`] would do, without committing anything.
pub async fn preview_release_containers(
    repo: &Repository,
    spec: &ContainersSpec,
) -> Result<ReleasePlan, Error> {
    let mut edit = ContainersEdit {
        repo,
        spec,
        cause: None,
    };
    edit_preview(repo, &mut edit).await
}

struct ContainersEdit<'a> {
    repo: &'a Repository,
    spec: &'a ContainersSpec,
    cause: Option<&'a str>,
}

impl Edit for ContainersEdit<'_> {
    type Report = ReleasePlan;
    type Error = Error;

    async fn apply(&mut self, root: &Path) -> Result<Edited<ReleasePlan>, Error> {
        let found = workloads_in(self.repo, root)?;
        let (plan, verdict) = plan_containers(&found.workloads, self.spec);
        verdict?;
        found.write_images(root, &plan.updates)?;
        let message = self
            .cause
            .filter(|c| !c.is_empty())
            .map_or_else(|| message::containers(&plan), str::to_owned);
        Ok(Edited {
            message: Some(message),
            report: plan,
        })
    }
}

struct ReleaseEdit<'a> {
    repo: &'a Repository,
    scanner: &'a ImageScanner,
    spec: &'a ReleaseSpec,
    cause: Option<&'a str>,
    catalog: Catalog,
}

impl Edit for ReleaseEdit<'_> {
    type Report = ReleasePlan;
    type Error = Error;

    async fn apply(&mut self, root: &Path) -> Result<Edited<ReleasePlan>, Error> {
        let found = workloads_in(self.repo, root)?;
        let choices = self.choices(&found.workloads).await?;
        let plan = plan_release(
            &found.workloads,
            self.spec,
            |repo, current, pattern| choices.choose(repo, current, pattern),
            |pattern, tag| TagPattern::parse(pattern).is_ok_and(|p| p.matches(tag)),
        )?;
        let message = if plan.updates.is_empty() {
            None
        } else {
            found.write_images(root, &plan.updates)?;
            let message = self
                .cause
                .filter(|c| !c.is_empty())
                .map_or_else(|| message::release(self.spec), str::to_owned);
            Some(message)
        };
        Ok(Edited {
            message,
            report: plan,
        })
    }
}

impl<'a> ReleaseEdit<'a> {
    fn new(
        repo: &'a Repository,
        scanner: &'a ImageScanner,
        spec: &'a ReleaseSpec,
        cause: Option<&'a str>,
    ) -> Self {
        Self {
            repo,
            scanner,
            spec,
            cause,
            catalog: Catalog::default(),
        }
    }

    /// The newest tags for `--update-all-images`; for `--update-image`, none, once the image
    /// is known to exist.
    async fn choices(&mut self, workloads: &[Workload]) -> Result<Choices, Error> {
        match &self.spec.image {
            ImageSelector::Specific(image) => {
                require_image(image, self.scanner, &mut self.catalog).await?;
                Ok(Choices::default())
            }
            ImageSelector::AllLatest => {
                let selected: Vec<&Workload> = workloads
                    .iter()
                    .filter(|w| is_selected(self.spec, w))
                    .collect();
                let mut choices = Choices::look_up(
                    &selected,
                    self.scanner,
                    &mut self.catalog,
                    MissingTimes::Allow,
                )
                .await;
                if choices.skipped.is_empty() {
                    Ok(choices)
                } else {
                    Err(choices.skipped.swap_remove(0).error)
                }
            }
        }
    }
}

fn is_selected(spec: &ReleaseSpec, workload: &Workload) -> bool {
    let named = match &spec.workloads {
        WorkloadSelector::All => true,
        WorkloadSelector::Ids(ids) => ids.contains(&workload.id),
    };
    named && !spec.excludes.contains(&workload.id)
}

/// Fails unless the registry of `image` has its tag (fluxd's `exactImageRepos`).
async fn require_image(
    image: &str,
    scanner: &ImageScanner,
    catalog: &mut Catalog,
) -> Result<(), Error> {
    let reference =
        ImageRef::parse(image).map_err(tether_workloads::release::ReleaseError::from)?;
    let Some(tag) = reference.tag() else {
        return Err(tether_workloads::release::ReleaseError::BlankTag {
            image: image.to_owned(),
        }
        .into());
    };
    let name = ImageName::parse(&reference.name()).map_err(|e| Error::ReleasedImage {
        source: Box::new(e.into()),
    })?;
    let tags = catalog
        .tags(scanner, &name)
        .await
        .map_err(|source| Error::ReleasedImage {
            source: Box::new(source),
        })?;
    if tags.iter().any(|t| t == tag) {
        Ok(())
    } else {
        Err(Error::ImageNotFound {
            image: image.to_owned(),
        })
    }
}
