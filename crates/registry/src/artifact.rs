//! Pulling an OCI artifact, as Flux's OCIRepository does: the manifest a digest names (the
//! body checked against the digest), and one layer blob streamed to a file with a size cap and
//! its digest verified. Resolving a tag to its digest is [`RegistryClient::manifest_digest`].

use crate::client::{RegistryClient, ScanOptions};
use crate::error::ScanError;
use crate::name::ImageName;
use crate::session::Session;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// The manifest types an artifact may have (an image index is not an artifact).
const ARTIFACT_MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";
/// Manifests larger than this are refused (the OCI distribution spec suggests 4 MiB).
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// An OCI image manifest, as far as pulling an artifact needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactManifest {
    /// The manifest's media type, when it states one.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The config blob (Flux: `application/vnd.cncf.flux.config.v1+json`).
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Annotations such as `org.opencontainers.image.source` and `.revision`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A content descriptor: what a blob is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl RegistryClient {
    /// The manifest `digest` names in `image`'s repository; its body must hash to `digest`.
    pub async fn artifact_manifest(
        &self,
        image: &ImageName,
        digest: &str,
        options: &ScanOptions,
    ) -> Result<ArtifactManifest, ScanError> {
        crate::with_timeout(image, options, async {
            let mut session = self.session(image, options).await?;
            artifact_manifest_in(&mut session, digest).await
        })
        .await
    }

    /// Streams the blob `layer` describes into `dest`, refusing a blob whose descriptor or
    /// body exceeds `max_bytes`, and checking the body against the descriptor's size and digest.
    pub async fn download_blob(
        &self,
        image: &ImageName,
        layer: &Descriptor,
        max_bytes: u64,
        dest: &Path,
        options: &ScanOptions,
    ) -> Result<(), ScanError> {
        crate::with_timeout(image, options, async {
            let mut session = self.session(image, options).await?;
            download_blob_in(&mut session, layer, max_bytes, dest).await
        })
        .await
    }
}

/// [`RegistryClient::artifact_manifest`] over an open session.
pub(crate) async fn artifact_manifest_in(
    session: &mut Session<'_>,
    digest: &str,
) -> Result<ArtifactManifest, ScanError> {
    let url = format!(
        "{}/v2/{}/manifests/{digest}",
        session.base,
        session.image.repository()
    );
    let mut accept = HeaderMap::new();
    accept.insert(
        header::ACCEPT,
        HeaderValue::from_static(ARTIFACT_MANIFEST_ACCEPT),
    );
    let response = session.request(Method::GET, &url, accept).await?;
    let body = read_bounded(session, &url, response, MAX_MANIFEST_BYTES).await?;
    check_digest(session, &url, digest, &body)?;
    serde_json::from_slice(&body)
        .map_err(|e| session.invalid_response(&url, crate::error::json_error_text(&e)))
}

/// [`RegistryClient::download_blob`] over an open session.
pub(crate) async fn download_blob_in(
    session: &mut Session<'_>,
    layer: &Descriptor,
    max_bytes: u64,
    dest: &Path,
) -> Result<(), ScanError> {
    let url = format!(
        "{}/v2/{}/blobs/{}",
        session.base,
        session.image.repository(),
        layer.digest
    );
    if layer.size > max_bytes {
        return Err(too_large(session, &url, max_bytes));
    }
    let mut response = session.request(Method::GET, &url, HeaderMap::new()).await?;
    let write_failed =
        |e: std::io::Error| session.invalid_response(&url, format!("cannot write blob: {e}"));
    let mut file = tokio::fs::File::create(dest).await.map_err(write_failed)?;
    let (mut hasher, mut written) = (Sha256::new(), 0u64);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| session.transport_error(&url, &e))?
    {
        written += chunk.len() as u64;
        if written > max_bytes.min(layer.size) {
            return Err(too_large(session, &url, max_bytes.min(layer.size)));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(write_failed)?;
    }
    file.flush().await.map_err(write_failed)?;
    if written != layer.size {
        let cause = format!(
            "blob has {written} bytes, its descriptor says {}",
            layer.size
        );
        return Err(session.invalid_response(&url, cause));
    }
    let actual = format!("sha256:{:x}", hasher.finalize());
    if actual != layer.digest {
        let cause = format!("blob digest is {actual}, expected {}", layer.digest);
        return Err(session.invalid_response(&url, cause));
    }
    Ok(())
}

/// The body of `response`, refusing more than `limit` bytes.
async fn read_bounded(
    session: &Session<'_>,
    url: &str,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ScanError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| session.transport_error(url, &e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large(session, url, limit as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Only sha256 digests are accepted, as Flux's artifacts use.
fn check_digest(
    session: &Session<'_>,
    url: &str,
    digest: &str,
    body: &[u8],
) -> Result<(), ScanError> {
    let actual = format!("sha256:{:x}", Sha256::digest(body));
    if actual == digest {
        return Ok(());
    }
    let cause = format!("manifest digest is {actual}, expected {digest}");
    Err(session.invalid_response(url, cause))
}

fn too_large(session: &Session<'_>, url: &str, limit: u64) -> ScanError {
    session.invalid_response(url, format!("larger than the limit of {limit} bytes"))
}
