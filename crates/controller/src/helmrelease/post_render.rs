//! A HelmRelease's post-rendering, as helm-controller builds it: each `spec.postRenderers[]`
//! kustomize overlay (patches, images) in order, then `spec.commonMetadata` with the origin
//! labels (`helm.toolkit.fluxcd.io/name|namespace`), each a build of the native kustomize over
//! the rendered stream. `spec.postRenderStrategy` says whether hooks take part. A release
//! without post-renderers or common metadata is not post-rendered at all: its objects get the
//! origin labels from the apply (owner labels), without a kustomize pass over the chart.
//!
//! The digests of both fields are what helm-controller records as
//! `status.observedPostRenderersDigest` / `observedCommonMetadataDigest`: a change to either
//! makes the release out of sync.

use std::sync::Arc;

use sha2::Digest as _;
use tether_api::helm::v2::{HelmRelease, HelmReleaseStatus, PostRenderStrategy};
use tether_helm::{PostRenderStrategy as Strategy, PostRenderer};
use tether_kustomize::flux::Overrides;
use tether_kustomize::{MemFs, Options};

use crate::failure::Failure;
use crate::kustomization::build::overlay;

/// The rendered stream's file inside the in-memory kustomization.
const INPUT: &str = "helm-output.yaml";

/// A post-renderer and the documents it sees.
pub type PostRendering = (Arc<dyn PostRenderer>, Strategy);

/// The post-renderer of `hr`, or none when it asks for no post-rendering.
pub fn of(hr: &HelmRelease) -> Result<Option<PostRendering>, Failure> {
    let renderers = hr.spec.post_renderers.as_deref().unwrap_or_default();
    let common = hr.spec.common_metadata.as_ref();
    if renderers.is_empty() && common.is_none() {
        return Ok(None);
    }
    let invalid = |e: Failure| {
        Failure::terminal(
            tether_api::helm::conditions::reasons::INIT_FAILED,
            format!("invalid post-renderer: {}", e.message),
        )
    };
    let mut overlays = Vec::new();
    for renderer in renderers {
        let Some(kustomize) = &renderer.kustomize else {
            continue;
        };
        overlays.push(
            overlay(
                kustomize.patches.as_deref().unwrap_or_default(),
                kustomize.images.as_deref().unwrap_or_default(),
                None,
            )
            .map_err(invalid)?,
        );
    }
    let mut metadata = overlay(&[], &[], common).map_err(invalid)?;
    metadata.common_labels.insert(
        tether_api::helm::NAME_LABEL.to_owned(),
        hr.metadata.name.clone().unwrap_or_default(),
    );
    metadata.common_labels.insert(
        tether_api::helm::NAMESPACE_LABEL.to_owned(),
        hr.metadata.namespace.clone().unwrap_or_default(),
    );
    overlays.push(metadata);
    let strategy = match hr.spec.post_render_strategy {
        Some(PostRenderStrategy::NoHooks) => Strategy::NoHooks,
        Some(PostRenderStrategy::Separate) => Strategy::Separate,
        Some(PostRenderStrategy::Combined) | None => Strategy::Combined,
    };
    Ok(Some((Arc::new(Kustomizations { overlays }), strategy)))
}

/// Records the digests of the post-rendering a release action used.
pub fn observe(hr: &HelmRelease, status: &mut HelmReleaseStatus) {
    status.observed_post_renderers_digest = post_renderers_digest(hr);
    status.observed_common_metadata_digest = common_metadata_digest(hr);
}

/// Whether the post-rendering changed since the last release action.
pub fn changed(hr: &HelmRelease, status: &HelmReleaseStatus) -> bool {
    status.observed_post_renderers_digest != post_renderers_digest(hr)
        || status.observed_common_metadata_digest != common_metadata_digest(hr)
}

/// The digest helm-controller records for `spec.postRenderers` (none when unset).
fn post_renderers_digest(hr: &HelmRelease) -> Option<String> {
    hr.spec.post_renderers.as_ref().map(digest_of)
}

/// The digest helm-controller records for `spec.commonMetadata` (none when unset).
fn common_metadata_digest(hr: &HelmRelease) -> Option<String> {
    hr.spec.common_metadata.as_ref().map(digest_of)
}

/// The sha256 of the value as Go's `json.Encoder` writes it: fields in declaration order (the
/// API structs declare Flux's order), HTML characters escaped, a closing newline.
fn digest_of(value: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    let mut go = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        match c {
            '<' => go.push_str("\\u003c"),
            '>' => go.push_str("\\u003e"),
            '&' => go.push_str("\\u0026"),
            '\u{2028}' => go.push_str("\\u2028"),
            '\u{2029}' => go.push_str("\\u2029"),
            other => go.push(other),
        }
    }
    go.push('\n');
    format!("sha256:{:x}", sha2::Sha256::digest(go.as_bytes()))
}

/// Kustomize overlays run one after the other over the stream.
struct Kustomizations {
    overlays: Vec<Overrides>,
}

impl PostRenderer for Kustomizations {
    fn run(&self, manifests: &str) -> Result<String, String> {
        let mut stream = manifests.to_owned();
        for overlay in &self.overlays {
            let mut fs = MemFs::new();
            fs.add(INPUT, stream.into_bytes());
            let built = tether_kustomize::build_flux(&fs, "", overlay.clone(), Options::default())
                .map_err(|e| format!("kustomize build failed: {e}"))?;
            stream = built.to_yaml();
        }
        Ok(stream)
    }
}
