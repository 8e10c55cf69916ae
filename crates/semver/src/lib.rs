//! Semantic versions and version constraints exactly as `github.com/Masterminds/semver/v3` reads
//! them, the one implementation in the workspace: ImagePolicy ranges and Flux v1 tag patterns
//! (`tether-imagepolicy`), GitRepository `ref.semver`, OCIRepository `ref.semver` and Helm chart
//! versions (`tether-source`), and `semverCompare` and dependency ranges in templates
//! (`tether-helm`). [`select`] holds the "newest version satisfying a constraint" choices Flux
//! makes on top of it.
//!
//! ```
//! use tether_semver::{Constraints, Version, select_chart_version};
//!
//! let range = Constraints::parse(">=1.2 <2").unwrap();
//! assert!(range.matches(&Version::parse_lenient("1.4.0").unwrap()));
//! let versions = ["2.0.0", "1.4.0", "1.5.0-rc.1", "1.2.0"];
//! let chosen = select_chart_version(&versions, "~1.4", |v| v, |_| 0).unwrap();
//! assert_eq!(chosen, Some(&"1.4.0"));
//! ```
#![forbid(unsafe_code)]

mod constraint;
pub mod select;
mod version;

pub use constraint::{ConstraintError, Constraints, Dialect};
pub use select::{latest_matching_tag, select_chart_version};
pub use version::{Version, VersionError};
