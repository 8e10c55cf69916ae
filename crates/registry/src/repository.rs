//! One open connection to an image's repository for the several steps of an artifact pull
//! (resolve a tag, read the manifest, download a layer): the scheme, the `/v2/` ping and the
//! authorization are settled once for all of them, where separate [`RegistryClient`] calls
//! settle them again for each step (a failed HTTPS attempt, a ping and maybe a token request
//! before every request). Each step still runs under the options' timeout.

use crate::artifact::{ArtifactManifest, Descriptor};
use crate::client::{RegistryClient, ScanOptions};
use crate::error::ScanError;
use crate::name::ImageName;
use crate::session::Session;
use std::path::Path;

/// A repository of one registry, reached and authorized; see the module documentation.
pub struct RepositorySession<'a> {
    session: Session<'a>,
}

impl RegistryClient {
    /// Reaches `image`'s repository (scheme, `/v2/` ping, authorization) for several steps.
    pub async fn open_repository<'a>(
        &'a self,
        image: &'a ImageName,
        options: &'a ScanOptions,
    ) -> Result<RepositorySession<'a>, ScanError> {
        let session = crate::with_timeout(image, options, self.session(image, options)).await?;
        Ok(RepositorySession { session })
    }
}

impl RepositorySession<'_> {
    /// [`RegistryClient::list_tags`] in this session.
    pub async fn list_tags(&mut self) -> Result<Vec<String>, ScanError> {
        let (image, options) = (self.session.image, self.session.options);
        crate::with_timeout(
            image,
            options,
            crate::tags::collect_pages(&mut self.session),
        )
        .await
    }

    /// [`RegistryClient::manifest_digest`] in this session.
    pub async fn manifest_digest(&mut self, tag: &str) -> Result<String, ScanError> {
        let (image, options) = (self.session.image, self.session.options);
        crate::with_timeout(
            image,
            options,
            crate::manifest::manifest_digest_in(&mut self.session, tag),
        )
        .await
    }

    /// [`RegistryClient::artifact_manifest`] in this session.
    pub async fn artifact_manifest(&mut self, digest: &str) -> Result<ArtifactManifest, ScanError> {
        let (image, options) = (self.session.image, self.session.options);
        crate::with_timeout(
            image,
            options,
            crate::artifact::artifact_manifest_in(&mut self.session, digest),
        )
        .await
    }

    /// [`RegistryClient::download_blob`] in this session.
    pub async fn download_blob(
        &mut self,
        layer: &Descriptor,
        max_bytes: u64,
        dest: &Path,
    ) -> Result<(), ScanError> {
        let (image, options) = (self.session.image, self.session.options);
        crate::with_timeout(
            image,
            options,
            crate::artifact::download_blob_in(&mut self.session, layer, max_bytes, dest),
        )
        .await
    }
}
