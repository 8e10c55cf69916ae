//! Chooses the latest image tag under a policy, exactly as Flux does: the ImagePolicy of
//! image-reflector-controller v2.9 ([`Policy`]: semver range, alphabetical or numerical order,
//! `filterTags` with `extract`) and the `fluxcd.io/tag.<container>` annotation of Flux v1
//! ([`TagPattern`]: `glob:`, `semver:`, `regexp:`). A pure library: tags in, a decision out.
//!
//! ```
//! use tether_imagepolicy::{FilterTagsSpec, OrderSpec, Policy, PolicySpec, SemverSpec};
//!
//! let semver = Policy::new(&PolicySpec {
//!     semver: Some(SemverSpec { range: ">=1.0.0 <2.0.0".into() }),
//!     ..PolicySpec::default()
//! })
//! .unwrap();
//! assert_eq!(semver.select(["1.2.3", "v1.4.0", "2.0.0", "latest"]).unwrap().tag, "v1.4.0");
//!
//! let by_timestamp = Policy::new(&PolicySpec {
//!     numerical: Some(OrderSpec { order: "asc".into() }),
//!     filter_tags: Some(FilterTagsSpec {
//!         pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)".into(),
//!         extract: "$ts".into(),
//!     }),
//!     ..PolicySpec::default()
//! })
//! .unwrap();
//! let latest = by_timestamp.select(["main-abc1234-1700000000", "main-def5678-1700000100"]);
//! assert_eq!(latest.unwrap().tag, "main-def5678-1700000100");
//! ```
#![forbid(unsafe_code)]

mod filter;
mod gofloat;
mod pattern;
mod policy;

pub use filter::{TagFilter, expand_go_template};
pub use gofloat::parse_go_float;
pub use pattern::{PatternError, TagInfo, TagPattern, glob_matches};
pub use policy::{
    FilterTagsSpec, Order, OrderSpec, Policy, PolicyError, PolicySpec, Rule, Selection, SemverSpec,
};
pub use tether_semver::{ConstraintError, Constraints, Dialect, Version, VersionError};
