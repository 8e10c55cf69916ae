//! The `image.toolkit.fluxcd.io` group: Flux's image automation kinds in their three served
//! versions. ImageRepository and ImagePolicy come from image-reflector-controller (which scans
//! registries and elects the latest image), ImageUpdateAutomation from
//! image-automation-controller (which writes the elected images into a Git repository).
//!
//! [`v1`] is the storage version, as in image-reflector-controller v1.2 and
//! image-automation-controller v1.2 (Flux v2.9). [`v1beta2`] and [`v1beta1`] are served,
//! deprecated, and carry the fields of the last release that served them (image-reflector-
//! controller v1.1 and v0.35, image-automation-controller v1.1 and v0.41). The API server stores
//! every version as v1 without conversion (strategy `None`, as Flux does), so fields that only a
//! beta version has (v1beta1 ImagePolicy `status.latestImage`) are pruned from stored objects.

pub mod conditions;
mod shared;
pub mod v1;
pub mod v1beta1;
pub mod v1beta2;

use std::time::Duration as StdDuration;

/// The API group.
pub const GROUP: &str = "image.toolkit.fluxcd.io";
/// The kind that scans an image repository for tags.
pub const IMAGE_REPOSITORY_KIND: &str = "ImageRepository";
/// The kind that elects the latest image of an ImageRepository.
pub const IMAGE_POLICY_KIND: &str = "ImagePolicy";
/// The kind that writes the images elected by ImagePolicies into a Git repository.
pub const IMAGE_UPDATE_AUTOMATION_KIND: &str = "ImageUpdateAutomation";

/// The tag exclusion list of an ImageRepository that sets none: cosign signature tags.
pub const DEFAULT_EXCLUSION_LIST: &[&str] = &[r"^.*\.sig$"];
/// The most entries `spec.exclusionList` may hold.
pub const MAX_EXCLUSION_LIST_LENGTH: usize = 25;
/// The shortest scan timeout image-reflector-controller uses, whatever the spec says.
pub const MIN_SCAN_TIMEOUT: StdDuration = StdDuration::from_secs(1);
/// How often an ImagePolicy with `digestReflectionPolicy: Always` and no interval refreshes the
/// digest of its latest image.
pub const DEFAULT_DIGEST_REFRESH_INTERVAL: StdDuration = StdDuration::from_secs(600);
/// How many tags `status.lastScanResult.latestTags` samples (the first ones in descending
/// alphabetical order).
pub const LATEST_TAGS_SAMPLE_SIZE: usize = 10;
