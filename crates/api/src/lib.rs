//! Flux CD v2.9 custom resource types, field for field, for every version tether serves:
//! `source.toolkit.fluxcd.io` GitRepository, OCIRepository, HelmRepository and HelmChart,
//! `helm.toolkit.fluxcd.io` HelmRelease, `kustomize.toolkit.fluxcd.io` Kustomization and
//! `image.toolkit.fluxcd.io` ImageRepository, ImagePolicy and ImageUpdateAutomation (v1 stored;
//! v1beta2 and v1beta1 served and deprecated), `notification.toolkit.fluxcd.io` Provider and
//! Alert (v1beta3 stored) and Receiver (v1 stored), the Flux v1 Helm Operator's
//! `helm.fluxcd.io` HelmRelease (v1), the shared Flux `meta` types, condition types and
//! reasons, and generation of the CustomResourceDefinitions as YAML.
//!
//! This crate holds types, constants, defaults and CRD generation only; reconcilers interpret
//! the fields.
#![forbid(unsafe_code)]

mod string_enum;

pub mod crd;
pub mod helm;
pub mod helm_operator;
pub mod image;
pub mod kustomize;
pub mod meta;
pub mod notification;
mod schema;
pub mod source;

pub use crd::{crds, crds_yaml};
