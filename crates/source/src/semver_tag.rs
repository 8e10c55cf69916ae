//! Semver constraints over tags (GitRepository and OCIRepository `ref.semver`): the
//! Masterminds/semver v3 implementation of `tether-semver`, under the names this crate's users
//! import. Tags are read like Flux's `version.ParseVersion` (strict semver, optional `v`).

pub use tether_semver::{Constraints as Constraint, latest_matching_tag};
