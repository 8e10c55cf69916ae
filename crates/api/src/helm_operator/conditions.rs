//! Condition types of a `helm.fluxcd.io/v1` HelmRelease, as strings. helm-operator used the
//! phase that set a condition ([`super::v1::HelmReleasePhase`]) as its reason.

use super::v1::HelmReleaseConditionType;

/// The chart was fetched (from its Helm repository or Git repository).
pub const CHART_FETCHED: &str = HelmReleaseConditionType::ChartFetched.as_str();
/// The chart was installed or upgraded.
pub const DEPLOYED: &str = HelmReleaseConditionType::Deployed.as_str();
/// The release as specified was processed by Helm (the operator's overall outcome).
pub const RELEASED: &str = HelmReleaseConditionType::Released.as_str();
/// The release was rolled back.
pub const ROLLED_BACK: &str = HelmReleaseConditionType::RolledBack.as_str();
/// The release's tests ran.
pub const TESTED: &str = HelmReleaseConditionType::Tested.as_str();
