//! What `fluxctl list-images` shows: per workload and container, the image in the manifest and
//! the tags its pattern allows, newest first, with the current one and the newest marked.

use chrono::{DateTime, Utc};
use tether_imagepolicy::TagPattern;
use tether_workloads::{ImageRef, ResourceId, Workload};

use crate::choose::tag_infos;
use crate::error::Error;
use crate::scan::{Catalog, ImageScanner};

/// A tag the container's pattern allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableTag {
    /// The tag.
    pub tag: String,
    /// When its image was created, when the pattern orders by it (glob, regexp).
    pub created: Option<DateTime<Utc>>,
    /// The manifest uses this tag.
    pub current: bool,
    /// The newest tag the pattern allows (the first of the list).
    pub newest: bool,
}

/// One container's image and its available tags.
#[derive(Debug)]
pub struct ContainerImages {
    /// The container name.
    pub container: String,
    /// The image as written in the manifest.
    pub image: String,
    /// The image repository as written (without tag).
    pub repository: String,
    /// The tag in the manifest, if any.
    pub current_tag: Option<String>,
    /// The container's tag pattern (`glob:*` without annotation).
    pub pattern: String,
    /// The allowed tags newest first, or why they could not be listed.
    pub available: Result<Vec<AvailableTag>, Error>,
}

/// A workload's containers and their images.
#[derive(Debug)]
pub struct WorkloadImages {
    /// The workload.
    pub workload: ResourceId,
    /// Its containers, in manifest order.
    pub containers: Vec<ContainerImages>,
}

/// The images of `workloads`' containers and the tags available for them, scanned through
/// `scanner` (each repository listed once). A registry failure is reported on the containers
/// it concerns.
pub async fn list_images(workloads: &[Workload], scanner: &ImageScanner) -> Vec<WorkloadImages> {
    let mut catalog = Catalog::default();
    let mut listed = Vec::new();
    for workload in workloads {
        let mut containers = Vec::new();
        for container in &workload.containers {
            let pattern = workload.policy.tag_pattern(&container.name).to_owned();
            let reference = ImageRef::parse(&container.image).ok();
            let available = match &reference {
                Some(reference) => {
                    available_tags(
                        workload,
                        &container.name,
                        reference,
                        &pattern,
                        scanner,
                        &mut catalog,
                    )
                    .await
                }
                None => Ok(Vec::new()),
            };
            containers.push(ContainerImages {
                container: container.name.clone(),
                image: container.image.clone(),
                repository: reference
                    .as_ref()
                    .map_or_else(|| container.image.clone(), ImageRef::name),
                current_tag: reference.as_ref().and_then(|r| r.tag().map(str::to_owned)),
                pattern,
                available,
            });
        }
        listed.push(WorkloadImages {
            workload: workload.id.clone(),
            containers,
        });
    }
    listed
}

async fn available_tags(
    workload: &Workload,
    container: &str,
    reference: &ImageRef,
    pattern: &str,
    scanner: &ImageScanner,
    catalog: &mut Catalog,
) -> Result<Vec<AvailableTag>, Error> {
    let parsed = TagPattern::parse(pattern).map_err(|e| Error::Pattern {
        workload: workload.id.clone(),
        container: container.to_owned(),
        reason: e.to_string(),
    })?;
    let current = reference.tag();
    let infos = tag_infos(&reference.name(), current, &parsed, scanner, catalog)
        .await
        .map_err(|e| e.into_error(&workload.id, container))?;
    Ok(parsed
        .sorted_newest_first(&infos)
        .into_iter()
        .enumerate()
        .map(|(i, info)| AvailableTag {
            tag: info.tag.clone(),
            created: info.created,
            current: Some(info.tag.as_str()) == current,
            newest: i == 0,
        })
        .collect())
}
