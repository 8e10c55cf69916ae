//! Flux OCI artifacts for tests: a gzipped tarball of files (made by the system's `tar`, as a
//! user's directory would be) pushed with Flux's media types and annotations.

use crate::registry::{Manifest, RegistryServer};
use serde_json::json;

/// The config media type of a Flux artifact.
pub const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
/// The content layer media type of a Flux artifact.
pub const FLUX_CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

/// A gzipped tarball of `files` (`(path, content)`).
pub fn tarball(files: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("content");
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(&root))?;
        std::fs::write(path, content)?;
    }
    let out = dir.path().join("out.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-czf")
        .arg(&out)
        .arg(".")
        .status()?;
    anyhow::ensure!(status.success(), "tar failed");
    Ok(std::fs::read(out)?)
}

/// Pushes `layer` as a Flux artifact `repo:tag` with source and revision annotations; returns
/// the manifest digest.
pub async fn push_flux_artifact(
    registry: &RegistryServer,
    repo: &str,
    tag: &str,
    layer: &[u8],
) -> anyhow::Result<String> {
    let mut annotations = serde_json::Map::new();
    annotations.insert(
        "org.opencontainers.image.source".into(),
        json!("https://example.invalid/app"),
    );
    annotations.insert(
        "org.opencontainers.image.revision".into(),
        json!(format!("{tag}@sha1:0123")),
    );
    let manifest = Manifest {
        config: (FLUX_CONFIG, b"{}"),
        layers: &[(FLUX_CONTENT, layer)],
        annotations,
    };
    registry.push_manifest(repo, tag, manifest).await
}
