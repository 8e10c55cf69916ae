//! The newest allowed tag of each container, looked up before planning: the workloads engine
//! plans with a synchronous `choose(image_repo, current_tag, pattern)`, so every question it
//! will ask is answered here first (tags listed once per repository, creation times only for
//! patterns that order by them). Containers whose image, pattern or registry fails are
//! reported, not chosen for.

use std::collections::HashMap;

use tether_imagepolicy::{TagInfo, TagPattern};
use tether_registry::ImageName;
use tether_workloads::{ImageRef, ResourceId, Workload};

use crate::error::Error;
use crate::scan::{Catalog, ImageScanner};

/// `(image repository as written, pattern, current tag)`, the arguments of `choose`.
type Question = (String, String, String);

/// A container passed over, and why.
#[derive(Debug)]
pub struct Skipped {
    /// The workload.
    pub workload: ResourceId,
    /// The container.
    pub container: String,
    /// Why no tag was chosen for it.
    pub error: Error,
}

/// Whether a pattern that orders by creation time may choose when a time is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingTimes {
    /// fluxd's automation: skip the container when the current or the newest image has no
    /// creation time.
    Skip,
    /// fluxd's `release --update-all-images`: take the newest as ordered.
    Allow,
}

/// The answers to every `choose` question about `workloads`' containers.
#[derive(Debug, Default)]
pub(crate) struct Choices {
    answers: HashMap<Question, Option<String>>,
    /// Containers no answer could be found for.
    pub(crate) skipped: Vec<Skipped>,
}

impl Choices {
    /// Looks up the newest allowed tag of every container of `workloads`.
    pub(crate) async fn look_up(
        workloads: &[&Workload],
        scanner: &ImageScanner,
        catalog: &mut Catalog,
        missing_times: MissingTimes,
    ) -> Self {
        let mut choices = Self::default();
        for workload in workloads {
            for container in &workload.containers {
                let pattern = workload.policy.tag_pattern(&container.name);
                let Ok(current) = ImageRef::parse(&container.image) else {
                    // The planner passes unparseable images over too.
                    continue;
                };
                let current_tag = current.tag().unwrap_or("").to_owned();
                let question = (current.name(), pattern.to_owned(), current_tag);
                if choices.answers.contains_key(&question) {
                    continue;
                }
                match newest_tag(&question, scanner, catalog, missing_times).await {
                    Ok(answer) => {
                        choices.answers.insert(question, answer);
                    }
                    Err(error) => choices.skipped.push(Skipped {
                        workload: workload.id.clone(),
                        container: container.name.clone(),
                        error: error.into_error(&workload.id, &container.name),
                    }),
                }
            }
        }
        choices
    }

    /// The planner's `choose`.
    pub(crate) fn choose(&self, repo: &str, current: &str, pattern: &str) -> Option<String> {
        let question = (repo.to_owned(), pattern.to_owned(), current.to_owned());
        self.answers.get(&question).cloned().flatten()
    }
}

/// Why a question got no answer, before it is tied to a workload.
pub(crate) enum LookupError {
    Pattern(String),
    Name(tether_registry::NameError),
    Scan(tether_registry::ScanError),
}

impl LookupError {
    pub(crate) fn into_error(self, workload: &ResourceId, container: &str) -> Error {
        match self {
            Self::Pattern(reason) => Error::Pattern {
                workload: workload.clone(),
                container: container.to_owned(),
                reason,
            },
            Self::Name(error) => Error::Scan {
                workload: workload.clone(),
                source: Box::new(error.into()),
            },
            Self::Scan(source) => Error::Scan {
                workload: workload.clone(),
                source: Box::new(source),
            },
        }
    }
}

/// The tags of the image repository `repo` (as written in a manifest), each with its creation
/// time when `pattern` orders by it.
pub(crate) async fn tag_infos(
    repo: &str,
    current: Option<&str>,
    pattern: &TagPattern,
    scanner: &ImageScanner,
    catalog: &mut Catalog,
) -> Result<Vec<TagInfo>, LookupError> {
    let image = ImageName::parse(repo).map_err(LookupError::Name)?;
    let tags = catalog
        .tags(scanner, &image)
        .await
        .map_err(LookupError::Scan)?;
    scanner
        .tag_infos(&image, &tags, current, pattern)
        .await
        .map_err(LookupError::Scan)
}

async fn newest_tag(
    (repo, pattern, current): &Question,
    scanner: &ImageScanner,
    catalog: &mut Catalog,
    missing_times: MissingTimes,
) -> Result<Option<String>, LookupError> {
    let pattern = TagPattern::parse(pattern).map_err(|e| LookupError::Pattern(e.to_string()))?;
    let infos = tag_infos(repo, Some(current), &pattern, scanner, catalog).await?;
    Ok(pick_newest(&pattern, &infos, current, missing_times))
}

/// The newest tag `pattern` admits among `infos`; under [`MissingTimes::Skip`], `None` when
/// the pattern orders by creation time and the newest or the current image has none.
pub(crate) fn pick_newest(
    pattern: &TagPattern,
    infos: &[TagInfo],
    current: &str,
    missing_times: MissingTimes,
) -> Option<String> {
    let newest = pattern.newest(infos)?;
    if newest.tag == current {
        return Some(newest.tag.clone());
    }
    if missing_times == MissingTimes::Skip && pattern.requires_timestamp() {
        let current_created = infos
            .iter()
            .find(|i| i.tag == current)
            .and_then(|i| i.created);
        if newest.created.is_none() || current_created.is_none() {
            tracing::warn!(
                newest = %newest.tag, current, "image without creation time, skipping container"
            );
            return None;
        }
    }
    Some(newest.tag.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::Utc
            .with_ymd_and_hms(2024, 1, 1, hour, 0, 0)
            .single()
    }

    #[test]
    fn globs_pick_the_newest_created_and_skip_missing_times() {
        let glob = TagPattern::parse("glob:1.*").expect("valid");
        let infos = vec![
            TagInfo::new("1.0", at(1)),
            TagInfo::new("1.2", at(3)),
            TagInfo::new("1.10", at(2)),
            TagInfo::new("2.0", at(4)),
        ];
        let newest = pick_newest(&glob, &infos, "1.0", MissingTimes::Skip);
        assert_eq!(newest.as_deref(), Some("1.2"));
        let untimed = vec![TagInfo::new("1.0", None), TagInfo::new("1.2", at(3))];
        assert_eq!(
            pick_newest(&glob, &untimed, "1.0", MissingTimes::Skip),
            None
        );
        assert_eq!(
            pick_newest(&glob, &untimed, "1.0", MissingTimes::Allow).as_deref(),
            Some("1.2")
        );
    }

    #[test]
    fn semver_needs_no_times() {
        let semver = TagPattern::parse("semver:~1").expect("valid");
        let infos = vec![TagInfo::new("1.0.0", None), TagInfo::new("1.4.0", None)];
        let newest = pick_newest(&semver, &infos, "1.0.0", MissingTimes::Skip);
        assert_eq!(newest.as_deref(), Some("1.4.0"));
    }
}
