//! The `kustomize.toolkit.fluxcd.io` group: Kustomization in its three served versions, and
//! the labels, annotations and values Flux defines for the objects a Kustomization applies.
//!
//! [`v1`] is the storage version; [`v1beta2`] and [`v1beta1`] are served, deprecated, and carry the
//! fields of the last Flux release that served them. The API server stores every version as v1
//! without conversion (strategy `None`, as Flux does), so fields that only a beta version has
//! (`patchesStrategicMerge`, `patchesJson6902`, `validation`) are pruned from stored objects,
//! exactly as with Flux.

pub mod conditions;
mod shared;
pub mod v1;
pub mod v1beta1;
pub mod v1beta2;

/// The API group.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";
/// The kind this crate defines in the group.
pub const KUSTOMIZATION_KIND: &str = "Kustomization";
/// The field manager Flux applies objects with; tether keeps it so that ownership carries over.
pub const FIELD_MANAGER: &str = "kustomize-controller";
/// The longest condition message kustomize-controller writes before truncating.
pub const MAX_CONDITION_MESSAGE_LENGTH: usize = 20000;

/// Label on every applied object naming the Kustomization that owns it.
pub const NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// Label on every applied object naming the namespace of the Kustomization that owns it.
pub const NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// Annotation on an applied object: `disabled` keeps it out of pruning.
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Annotation on an applied object: `Merge`, `IfNotPresent` or `Ignore` changes how it is applied.
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// Annotation on an applied object: `enabled` recreates it when an immutable field changes.
pub const FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";
/// Annotation on a Kustomization or applied object: `disabled` stops reconciling it.
pub const RECONCILE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// Annotation (or label) on an applied object: `disabled` skips post-build substitution.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Value turning an annotation's behaviour on.
pub const ENABLED_VALUE: &str = "enabled";
/// Value turning an annotation's behaviour off.
pub const DISABLED_VALUE: &str = "disabled";
/// SSA annotation value: apply only the fields in the manifest, keeping others' fields.
pub const MERGE_VALUE: &str = "Merge";
/// SSA annotation value: create the object if missing, never update it.
pub const IF_NOT_PRESENT_VALUE: &str = "IfNotPresent";
/// SSA annotation value: never apply the object.
pub const IGNORE_VALUE: &str = "Ignore";
