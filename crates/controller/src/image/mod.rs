//! The image automation reconcilers, as Flux's image-reflector-controller and
//! image-automation-controller: ImageRepository scans a registry for tags, ImagePolicy elects
//! the latest image among them, ImageUpdateAutomation writes the elected images into Git.
//! The work itself belongs to the engines (`tether-registry`, `tether-imagepolicy`,
//! `tether-setters`, `tether-source`); these modules are the kinds' steps. How a registry is
//! reached is `crate::registry_access`, shared with OCIRepository.

pub mod automation;
pub mod policy;
pub mod repository;

use crate::registry_access::RegistryAccess;
use tether_api::image::v1::ImageRepository;

/// How an ImageRepository reaches its registry.
pub fn access_of(repo: &ImageRepository) -> RegistryAccess<'_> {
    use kube::ResourceExt;
    RegistryAccess {
        namespace: repo.namespace().unwrap_or_default(),
        insecure: repo.spec.insecure == Some(true),
        timeout: repo.spec.effective_timeout().ok(),
        secret_ref: repo.spec.secret_ref.as_ref().map(|s| s.name.as_str()),
        service_account: repo.spec.service_account_name.as_deref(),
        cert_secret_ref: repo.spec.cert_secret_ref.as_ref().map(|s| s.name.as_str()),
    }
}
