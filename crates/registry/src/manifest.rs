//! Per-tag metadata: the manifest digest a tag points at (`HEAD /v2/<repo>/manifests/<tag>` →
//! `Docker-Content-Digest`, for Flux's digest reflection) and the image config's `created`
//! time (Flux v1 orders glob and regex matches by it), following an index to one platform.

use crate::client::{RegistryClient, ScanOptions};
use crate::error::ScanError;
use crate::name::ImageName;
use crate::session::Session;
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::Digest;

/// Every manifest type a tag may point at, as go-containerregistry accepts them.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.v1+prettyjws, \
    application/vnd.docker.distribution.manifest.v1+json";
const DIGEST_HEADER: &str = "docker-content-digest";
/// The platform picked from an index when asking for the created time.
const PREFERRED_OS: &str = "linux";
const PREFERRED_ARCH: &str = "amd64";

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    /// Schema 1 manifests keep the config JSON inline.
    #[serde(default)]
    history: Option<Vec<V1History>>,
}

#[derive(serde::Deserialize)]
struct Descriptor {
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(serde::Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1History {
    v1_compatibility: String,
}

#[derive(serde::Deserialize)]
struct ImageConfig {
    #[serde(default)]
    created: Option<DateTime<Utc>>,
}

impl RegistryClient {
    /// The digest (`sha256:...`) of the manifest `tag` points at, as the registry reports it;
    /// computed from the manifest body when the registry sends no digest header.
    pub async fn manifest_digest(
        &self,
        image: &ImageName,
        tag: &str,
        options: &ScanOptions,
    ) -> Result<String, ScanError> {
        crate::with_timeout(image, options, async {
            let mut session = self.session(image, options).await?;
            manifest_digest_in(&mut session, tag).await
        })
        .await
    }

    /// The `created` time in the image config of `tag` (for an index: the linux/amd64 image,
    /// else the first). `None` when the config has no `created`.
    pub async fn image_created(
        &self,
        image: &ImageName,
        tag: &str,
        options: &ScanOptions,
    ) -> Result<Option<DateTime<Utc>>, ScanError> {
        crate::with_timeout(image, options, async {
            let mut session = self.session(image, options).await?;
            let (body, url) = get_manifest(&mut session, tag).await?;
            let mut manifest = parse_manifest(&session, &url, &body)?;
            if let Some(children) = &manifest.manifests {
                let Some(child) = pick_platform(children) else {
                    return Ok(None);
                };
                let digest = child.digest.clone();
                let (body, url) = get_manifest(&mut session, &digest).await?;
                manifest = parse_manifest(&session, &url, &body)?;
            }
            config_created(&mut session, manifest).await
        })
        .await
    }
}

/// [`RegistryClient::manifest_digest`] over an open session.
pub(crate) async fn manifest_digest_in(
    session: &mut Session<'_>,
    tag: &str,
) -> Result<String, ScanError> {
    let url = manifest_url(session, tag);
    let response = session
        .request(Method::HEAD, &url, accept_manifests())
        .await?;
    if let Some(digest) = digest_header(response.headers()) {
        return Ok(digest);
    }
    let (body, _) = get_manifest(session, tag).await?;
    Ok(format!("sha256:{:x}", sha2::Sha256::digest(&body)))
}

fn manifest_url(session: &Session<'_>, reference: &str) -> String {
    format!(
        "{}/v2/{}/manifests/{reference}",
        session.base,
        session.image.repository()
    )
}

fn accept_manifests() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
    headers
}

fn digest_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(DIGEST_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|digest| digest.contains(':'))
        .map(str::to_owned)
}

async fn get_manifest(
    session: &mut Session<'_>,
    reference: &str,
) -> Result<(Vec<u8>, String), ScanError> {
    let url = manifest_url(session, reference);
    let response = session
        .request(Method::GET, &url, accept_manifests())
        .await?;
    let body = response
        .bytes()
        .await
        .map_err(|e| session.transport_error(&url, &e))?;
    Ok((body.to_vec(), url))
}

fn parse_manifest(session: &Session<'_>, url: &str, body: &[u8]) -> Result<Manifest, ScanError> {
    let manifest: Manifest = serde_json::from_slice(body)
        .map_err(|e| session.invalid_response(url, crate::error::json_error_text(&e)))?;
    let is_index = manifest.manifests.is_some()
        || manifest
            .media_type
            .as_deref()
            .is_some_and(|t| t.contains("index") || t.contains("manifest.list"));
    if is_index && manifest.manifests.is_none() {
        return Err(session.invalid_response(url, "index without manifests"));
    }
    Ok(manifest)
}

fn pick_platform(children: &[Descriptor]) -> Option<&Descriptor> {
    children
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == PREFERRED_OS && p.architecture == PREFERRED_ARCH)
        })
        .or_else(|| children.first())
}

async fn config_created(
    session: &mut Session<'_>,
    manifest: Manifest,
) -> Result<Option<DateTime<Utc>>, ScanError> {
    if let Some(config) = manifest.config {
        let url = format!(
            "{}/v2/{}/blobs/{}",
            session.base,
            session.image.repository(),
            config.digest
        );
        let response = session.request(Method::GET, &url, HeaderMap::new()).await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| session.transport_error(&url, &e))?;
        let config: ImageConfig = serde_json::from_slice(&body)
            .map_err(|e| session.invalid_response(&url, crate::error::json_error_text(&e)))?;
        return Ok(config.created);
    }
    // Schema 1: the newest history entry carries the image's config.
    let newest = manifest
        .history
        .and_then(|history| history.into_iter().next())
        .and_then(|entry| serde_json::from_str::<ImageConfig>(&entry.v1_compatibility).ok());
    Ok(newest.and_then(|config| config.created))
}
