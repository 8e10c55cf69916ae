//! The `helm.fluxcd.io` group of the Flux v1 Helm Operator: HelmRelease v1, its only (and
//! storage) version, field for field as helm-operator 1.4 defines it, so that Flux v1
//! repositories still holding these objects apply unchanged.
//!
//! Like helm-operator's CRD, this one has the short names `hr` and `hrs`; `hr` is also the
//! short name of `helm.toolkit.fluxcd.io` HelmRelease, and kubectl resolves it to one of the
//! two groups, so scripts should name the group (`helmreleases.helm.fluxcd.io`).

pub mod conditions;
pub mod v1;

/// The API group.
pub const GROUP: &str = "helm.fluxcd.io";
/// The HelmRelease kind.
pub const HELM_RELEASE_KIND: &str = "HelmRelease";
/// Annotation helm-operator put on the objects of a release, naming the HelmRelease that
/// caused them as `<namespace>:helmrelease/<name>`.
pub const ANTECEDENT_ANNOTATION: &str = "helm.fluxcd.io/antecedent";
