//! Pushing an OCI artifact (what `flux push artifact` does): each blob the repository lacks is
//! uploaded in one request (`POST` an upload, `PUT` the bytes with their digest), then the
//! manifest naming them is put under a tag; and tagging (`flux tag artifact`): a manifest put
//! again, byte for byte, under another tag. Bearer tokens are asked for `pull,push`.

use crate::client::{RegistryClient, ScanOptions};
use crate::error::ScanError;
use crate::name::ImageName;
use crate::session::Session;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// What to push: the config blob, the layers, and the manifest's annotations.
pub struct ArtifactUpload<'a> {
    /// `(media type, content)` of the config blob.
    pub config: (&'a str, &'a [u8]),
    /// `(media type, content)` of each layer, in order.
    pub layers: Vec<(&'a str, &'a [u8])>,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl RegistryClient {
    /// Pushes `upload` as `image:tag`; returns the manifest's digest (`sha256:<hex>`).
    pub async fn push_artifact(
        &self,
        image: &ImageName,
        tag: &str,
        upload: &ArtifactUpload<'_>,
        options: &ScanOptions,
    ) -> Result<String, ScanError> {
        crate::with_timeout(image, options, async {
            let mut session = self.session_for(image, options, "pull,push").await?;
            let (config_type, config) = upload.config;
            let mut layers = Vec::new();
            for (media_type, content) in &upload.layers {
                let digest = upload_blob(&mut session, content).await?;
                layers.push(serde_json::json!({
                    "mediaType": media_type, "digest": digest, "size": content.len(),
                }));
            }
            let config_digest = upload_blob(&mut session, config).await?;
            let mut manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
                "layers": layers,
            });
            if !upload.annotations.is_empty() {
                manifest["annotations"] = serde_json::json!(upload.annotations);
            }
            let body = serde_json::to_vec(&manifest)
                .map_err(|e| session.invalid_response("manifest", e))?;
            let url = format!(
                "{}/v2/{}/manifests/{tag}",
                session.base,
                session.image.repository()
            );
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(OCI_MANIFEST));
            session
                .request_with_body(Method::PUT, &url, headers, Some(&body))
                .await?;
            Ok(digest_of(&body))
        })
        .await
    }
}

impl RegistryClient {
    /// Puts the manifest `reference` (a tag or digest) names under `tag` too, unchanged.
    pub async fn tag_manifest(
        &self,
        image: &ImageName,
        reference: &str,
        tag: &str,
        options: &ScanOptions,
    ) -> Result<(), ScanError> {
        crate::with_timeout(image, options, async {
            let mut session = self.session_for(image, options, "pull,push").await?;
            let manifests = format!(
                "{}/v2/{}/manifests",
                session.base,
                session.image.repository()
            );
            let mut accept = HeaderMap::new();
            accept.insert(header::ACCEPT, HeaderValue::from_static(OCI_MANIFEST));
            let url = format!("{manifests}/{reference}");
            let response = session.request(Method::GET, &url, accept).await?;
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .cloned()
                .unwrap_or(HeaderValue::from_static(OCI_MANIFEST));
            let body = response
                .bytes()
                .await
                .map_err(|e| session.transport_error(&url, &e))?;
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, content_type);
            let target = format!("{manifests}/{tag}");
            session
                .request_with_body(Method::PUT, &target, headers, Some(&body))
                .await?;
            Ok(())
        })
        .await
    }
}

/// The digest OCI names `content` by (`sha256:<hex>`).
pub fn digest_of(content: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(content))
}

/// Uploads `content` unless the repository has it; returns its digest.
async fn upload_blob(session: &mut Session<'_>, content: &[u8]) -> Result<String, ScanError> {
    let digest = digest_of(content);
    let repository = session.image.repository().to_owned();
    let blob = format!("{}/v2/{repository}/blobs/{digest}", session.base);
    match session.request(Method::HEAD, &blob, HeaderMap::new()).await {
        Ok(_) => return Ok(digest),
        Err(ScanError::NotFound { .. }) => {}
        Err(error) => return Err(error),
    }
    let start = format!("{}/v2/{repository}/blobs/uploads/", session.base);
    let started = session
        .request(Method::POST, &start, HeaderMap::new())
        .await?;
    let location = started
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| session.invalid_response(&start, "upload started without a Location"))?;
    let mut upload = url::Url::parse(&start)
        .and_then(|base| base.join(location))
        .map_err(|e| session.invalid_response(&start, format!("bad upload Location: {e}")))?;
    upload.query_pairs_mut().append_pair("digest", &digest);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    session
        .request_with_body(Method::PUT, upload.as_str(), headers, Some(content))
        .await?;
    Ok(digest)
}
