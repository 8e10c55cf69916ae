//! Source artifacts unpacked once and shared: every Kustomization that builds from the same
//! artifact reads the same extracted directory, keyed by the artifact's digest, instead of
//! downloading and unpacking a tarball per reconcile as Flux's controllers do. Artifacts of
//! the controller's own sources are read from its store; an ExternalArtifact's tarball is
//! downloaded over HTTP from wherever its producer serves it, checked against its digest and
//! unpacked within limits, since a third party wrote it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tether_source::{ArtifactStore, ExtractLimits};
use tether_source::{HelmRepoClient, HelmRepoOptions};

/// The largest ExternalArtifact tarball downloaded (compressed), as for OCI layers.
const MAX_EXTERNAL_BYTES: u64 = 256 * 1024 * 1024;
/// What an ExternalArtifact tarball may hold once extracted, as for OCI layers.
const EXTERNAL_EXTRACT_LIMITS: ExtractLimits = ExtractLimits {
    max_bytes: 1024 * 1024 * 1024,
    max_entries: 100_000,
};

/// Why an artifact could not be made available on disk.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The digest is not `<algorithm>:<hex>`.
    #[error("invalid artifact digest '{0}'")]
    InvalidDigest(String),
    /// The tarball is not in the store (garbage-collected or never written).
    #[error("artifact '{0}' is not in storage")]
    Missing(String),
    /// Only `sha256` digests can be checked.
    #[error("unsupported digest algorithm in '{0}', only sha256 is supported")]
    UnsupportedDigest(String),
    /// The tarball could not be downloaded.
    #[error("failed to download artifact from '{url}': {message}")]
    Download { url: String, message: String },
    /// The downloaded tarball is not the one the digest names.
    #[error(
        "failed to verify artifact from '{url}': computed digest '{actual}' doesn't match '{expected}'"
    )]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    /// The tarball could not be unpacked.
    #[error("cannot extract artifact '{path}': {message}")]
    Extract { path: String, message: String },
}

/// Extracted artifacts under one root directory.
pub struct Workspace {
    root: PathBuf,
    store: ArtifactStore,
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>, store: ArtifactStore) -> Self {
        Self {
            root: root.into(),
            store,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

    /// The directory holding the contents of the artifact stored at `path` with `digest`,
    /// extracting it on first use.
    pub async fn extracted(&self, path: &str, digest: &str) -> Result<PathBuf, WorkspaceError> {
        let key = digest_key(digest)?;
        let dir = self.root.join(&key);
        if dir.is_dir() {
            return Ok(dir);
        }
        let lock = self.lock_for(&key);
        let _guard = lock.lock().await;
        if dir.is_dir() {
            return Ok(dir);
        }
        let tarball = self.store.root().join(path);
        if !tarball.is_file() {
            return Err(WorkspaceError::Missing(path.to_owned()));
        }
        let (root, target, shown) = (self.root.clone(), dir.clone(), path.to_owned());
        tokio::task::spawn_blocking(move || {
            extract_into(&root, &tarball, &target, ExtractLimits::NONE)
        })
        .await
        .map_err(|e| WorkspaceError::Extract {
            path: shown.clone(),
            message: e.to_string(),
        })?
        .map_err(|message| WorkspaceError::Extract {
            path: shown,
            message,
        })?;
        self.in_flight.lock().map(|mut m| m.remove(&key)).ok();
        Ok(dir)
    }

    /// The directory holding the contents of the tarball at `url` (an ExternalArtifact's),
    /// downloading it (plain HTTP(S), no credentials, 60s per request), checking it has `digest` and extracting it on first use.
    /// Nothing is kept of a download that fails any check.
    pub async fn fetched(&self, url: &str, digest: &str) -> Result<PathBuf, WorkspaceError> {
        let key = digest_key(digest)?;
        if !digest.starts_with("sha256:") {
            return Err(WorkspaceError::UnsupportedDigest(digest.to_owned()));
        }
        let dir = self.root.join(&key);
        if dir.is_dir() {
            return Ok(dir);
        }
        let lock = self.lock_for(&key);
        let _guard = lock.lock().await;
        if dir.is_dir() {
            return Ok(dir);
        }
        let download = |message: String| WorkspaceError::Download {
            url: url.to_owned(),
            message,
        };
        let http =
            HelmRepoClient::new(HelmRepoOptions::default()).map_err(|e| download(e.to_string()))?;
        std::fs::create_dir_all(&self.root).map_err(|e| download(e.to_string()))?;
        let tarball = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&self.root)
            .map_err(|e| download(e.to_string()))?
            .into_temp_path();
        let (actual, _) = http
            .download_digested(url, MAX_EXTERNAL_BYTES, &tarball)
            .await
            .map_err(|e| download(e.to_string()))?;
        if !actual.eq_ignore_ascii_case(digest) {
            return Err(WorkspaceError::DigestMismatch {
                url: url.to_owned(),
                expected: digest.to_owned(),
                actual,
            });
        }
        let (root, target, shown) = (self.root.clone(), dir.clone(), url.to_owned());
        let tarball_path = tarball.to_path_buf();
        tokio::task::spawn_blocking(move || {
            extract_into(&root, &tarball_path, &target, EXTERNAL_EXTRACT_LIMITS)
        })
        .await
        .map_err(|e| WorkspaceError::Extract {
            path: shown.clone(),
            message: e.to_string(),
        })?
        .map_err(|message| WorkspaceError::Extract {
            path: shown,
            message,
        })?;
        drop(tarball);
        self.in_flight.lock().map(|mut m| m.remove(&key)).ok();
        Ok(dir)
    }

    /// Removes extracted directories whose digest is not in `keep`.
    pub fn retain(&self, keep: &HashSet<String>) {
        let keep: HashSet<String> = keep.iter().filter_map(|d| digest_key(d).ok()).collect();
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && !keep.contains(&name) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.in_flight.lock() {
            Ok(mut map) => map.entry(key.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }
}

/// `sha256:<hex>` → `sha256-<hex>`, refusing anything that is not a plain file name.
fn digest_key(digest: &str) -> Result<String, WorkspaceError> {
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| WorkspaceError::InvalidDigest(digest.to_owned()))?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !plain(algorithm) || !plain(hex) {
        return Err(WorkspaceError::InvalidDigest(digest.to_owned()));
    }
    Ok(format!("{algorithm}-{hex}"))
}

/// Unpacks into a temporary sibling and renames it into place, so readers never see a
/// half-extracted tree.
fn extract_into(
    root: &Path,
    tarball: &Path,
    target: &Path,
    limits: ExtractLimits,
) -> Result<(), String> {
    std::fs::create_dir_all(root).map_err(|e| e.to_string())?;
    let temp = tempfile::Builder::new()
        .prefix(".extract-")
        .tempdir_in(root)
        .map_err(|e| e.to_string())?;
    tether_source::extract_tarball_within(tarball, temp.path(), limits)
        .map_err(|e| e.to_string())?;
    let staged = temp.keep();
    std::fs::rename(&staged, target).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        e.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keys_are_plain_file_names() {
        assert_eq!(
            digest_key("sha256:abc123").ok(),
            Some("sha256-abc123".into())
        );
        assert!(digest_key("sha256:../../etc").is_err());
        assert!(digest_key("nodigest").is_err());
    }
}
