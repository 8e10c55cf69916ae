//! The `helm.toolkit.fluxcd.io` group: HelmRelease, in its storage version v2 and the
//! deprecated v2beta2 and v2beta1 still served for older manifests.
//!
//! The API server stores every version as v2 without conversion (strategy `None`, as Flux
//! does), so fields only a beta version has are pruned from stored objects, exactly as with
//! Flux.

mod chart_template;
pub mod conditions;
mod shared;
pub mod v2;
pub mod v2beta1;
pub mod v2beta2;

/// The API group.
pub const GROUP: &str = "helm.toolkit.fluxcd.io";
/// The HelmRelease kind.
pub const HELM_RELEASE_KIND: &str = "HelmRelease";
/// The field manager of helm-controller's server-side applies (release objects and the
/// HelmCharts of chart templates).
pub const FIELD_MANAGER: &str = "helm-controller";
/// Label naming the HelmRelease that owns an object (such as a HelmChart from a chart
/// template).
pub const NAME_LABEL: &str = "helm.toolkit.fluxcd.io/name";
/// Label naming the namespace of the HelmRelease that owns an object.
pub const NAMESPACE_LABEL: &str = "helm.toolkit.fluxcd.io/namespace";
/// Annotation asking to reset the failure counters so that a release exhausted of retries is
/// tried again; honoured when its value equals the value of
/// [`crate::meta::RECONCILE_REQUEST_ANNOTATION`], mirrored to `status.lastHandledResetAt`.
pub const RESET_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/resetAt";
/// Label or annotation that, set to [`DRIFT_DETECTION_DISABLED_VALUE`] on an object of a
/// release, excludes that object from drift detection.
pub const DRIFT_DETECTION_METADATA_KEY: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// The value of [`DRIFT_DETECTION_METADATA_KEY`] that excludes an object.
pub const DRIFT_DETECTION_DISABLED_VALUE: &str = "disabled";
