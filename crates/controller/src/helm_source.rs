//! What the HelmRepository and HelmChart reconcilers share: how a repository is reached (Basic
//! auth from `secretRef`, TLS from `certSecretRef` or the deprecated keys of `secretRef`, the
//! timeout), the parsed index of each repository's current artifact held once in memory (so a
//! thousand HelmCharts of one repository parse its index once, and the repository's next fetch
//! can ask the server whether it changed), and the garbage collection of their stored files.

use crate::context::Context;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::secrets::secret_data;
use kube::ResourceExt;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tether_api::meta::Artifact;
use tether_api::source::conditions::reasons;
use tether_api::source::v1::HelmRepository;
use tether_source::artifact::ArtifactOwner;
use tether_source::helm_repo::{BasicAuth, CacheValidator, HelmRepoOptions, TlsConfig};
use tether_source::{HelmIndex, IndexLimits};

/// The parsed index of every HelmRepository's current artifact, with what the server said
/// about it (its ETag / Last-Modified), one entry per repository.
#[derive(Default)]
pub struct IndexCache {
    by_repository: Mutex<HashMap<ObjectKey, CachedIndex>>,
    /// Serializes loads from storage, so charts woken together parse an index once.
    loading: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct CachedIndex {
    /// The artifact's revision (`sha256:` of the index as served).
    revision: String,
    validator: Option<CacheValidator>,
    index: Arc<HelmIndex>,
}

impl IndexCache {
    /// The validator of the index at `revision` of `repository`, when known.
    pub fn validator(&self, repository: &ObjectKey, revision: &str) -> Option<CacheValidator> {
        let held = self.by_repository.lock().ok()?;
        let cached = held.get(repository)?;
        (cached.revision == revision)
            .then(|| cached.validator.clone())
            .flatten()
    }

    /// Remembers the index at `revision` of `repository` (replacing the previous one).
    pub fn remember(
        &self,
        repository: ObjectKey,
        revision: &str,
        validator: Option<CacheValidator>,
        index: Arc<HelmIndex>,
    ) {
        if let Ok(mut held) = self.by_repository.lock() {
            held.insert(
                repository,
                CachedIndex {
                    revision: revision.to_owned(),
                    validator,
                    index,
                },
            );
        }
    }

    fn get(&self, repository: &ObjectKey, revision: &str) -> Option<Arc<HelmIndex>> {
        let held = self.by_repository.lock().ok()?;
        let cached = held.get(repository)?;
        (cached.revision == revision).then(|| cached.index.clone())
    }

    /// Forgets a deleted repository.
    pub fn forget(&self, repository: &ObjectKey) {
        if let Ok(mut held) = self.by_repository.lock() {
            held.remove(repository);
        }
    }
}

/// The parsed index of `repo`'s stored `artifact`: from memory, else read from storage once.
pub async fn index_of(
    ctx: &Context,
    repo: &HelmRepository,
    artifact: &Artifact,
) -> Result<Arc<HelmIndex>, Failure> {
    let path = ctx.workspace.store().root().join(&artifact.path);
    ctx.helm_indexes
        .load(&ObjectKey::of(repo), &artifact.revision, path)
        .await
}

impl IndexCache {
    /// The index at `revision` of `repository`: from memory, else parsed from `path` once
    /// however many callers ask at the same time.
    pub async fn load(
        &self,
        repository: &ObjectKey,
        revision: &str,
        path: std::path::PathBuf,
    ) -> Result<Arc<HelmIndex>, Failure> {
        if let Some(index) = self.get(repository, revision) {
            return Ok(index);
        }
        let _loading = self.loading.lock().await;
        if let Some(index) = self.get(repository, revision) {
            return Ok(index);
        }
        let limits = IndexLimits::default();
        let index = tokio::task::spawn_blocking(move || HelmIndex::from_path(&path, limits))
            .await
            .map_err(crate::artifacts::storage_failure)?
            .map_err(|e| {
                Failure::new(
                    reasons::INDEXATION_FAILED,
                    format!("failed to load Helm repository index from storage: {e}"),
                )
            })?;
        let index = Arc::new(index);
        self.remember(repository.clone(), revision, None, index.clone());
        Ok(index)
    }
}

/// How to reach `repo`: its `secretRef` Basic credentials (and deprecated TLS keys), its
/// `certSecretRef` TLS material, `passCredentials` and the timeout. Errors are Flux's
/// `AuthenticationFailed`.
pub async fn repo_options(
    ctx: &Context,
    repo: &HelmRepository,
) -> Result<HelmRepoOptions, Failure> {
    let namespace = repo.namespace().unwrap_or_default();
    let auth_failure = |message: String| Failure::new(reasons::AUTHENTICATION_FAILED, message);
    let mut options = HelmRepoOptions {
        pass_credentials: repo.spec.pass_credentials == Some(true),
        timeout: repo
            .spec
            .effective_timeout()
            .unwrap_or(tether_api::source::v1::DEFAULT_HELM_REPOSITORY_TIMEOUT),
        ..HelmRepoOptions::default()
    };
    if let Some(secret) = &repo.spec.secret_ref {
        let data = secret_data(&ctx.client, &namespace, &secret.name)
            .await
            .map_err(|e| auth_failure(format!("failed to get authentication secret: {e}")))?;
        options.basic_auth = basic_auth(&data).map_err(|missing| {
            auth_failure(format!(
                "invalid '{namespace}/{}' secret data: required fields 'username' and 'password' ({missing} is missing)",
                secret.name
            ))
        })?;
        options.tls = tls_of(&data);
    }
    if let Some(secret) = &repo.spec.cert_secret_ref {
        let data = secret_data(&ctx.client, &namespace, &secret.name)
            .await
            .map_err(|e| auth_failure(format!("failed to get TLS secret: {e}")))?;
        options.tls = tls_of(&data);
    }
    Ok(options)
}

/// `username` and `password`, both or neither; `Err` names the one missing.
fn basic_auth(
    data: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<Option<BasicAuth>, &'static str> {
    let text = |key: &str| {
        data.get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .filter(|v| !v.is_empty())
    };
    match (text("username"), text("password")) {
        (Some(username), Some(password)) => Ok(Some(BasicAuth { username, password })),
        (None, None) => Ok(None),
        (Some(_), None) => Err("password"),
        (None, Some(_)) => Err("username"),
    }
}

fn tls_of(data: &std::collections::BTreeMap<String, Vec<u8>>) -> Option<TlsConfig> {
    TlsConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
}

/// Deletes all but the `keep` newest files of `owner` (by modification time), never
/// `current`; temp files being written (dot files) are left alone.
pub fn collect_garbage(root: &Path, owner: &ArtifactOwner, current: &str, keep: usize) {
    let dir = root.join(owner.dir());
    let current = root.join(current);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut others: Vec<_> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter(|e| e.path() != current)
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_file().then(|| (meta.modified().ok(), e.path()))
        })
        .collect();
    others.sort();
    let remove = others.len().saturating_sub(keep.saturating_sub(1));
    for (_, path) in others.into_iter().take(remove) {
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(%error, path = %path.display(), "cannot remove old artifact");
        }
    }
}

/// `size` as docker's `units.HumanSize` prints it (Flux's event messages): four significant
/// digits, decimal units.
pub fn human_size(size: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!(
        "{}{}",
        tether_core::yaml::format_go_float(round_to_4_significant(value)),
        UNITS[unit]
    )
}

fn round_to_4_significant(value: f64) -> f64 {
    if value == 0.0 {
        return 0.0;
    }
    let digits = 4 - (value.abs().log10().floor() as i32 + 1);
    let factor = 10f64.powi(digits);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_docker_prints_them() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1234), "1.234kB");
        assert_eq!(human_size(12_345_678), "12.35MB");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn charts_asking_together_share_one_parse_of_an_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("index.yaml");
        std::fs::write(
            &path,
            "apiVersion: v1\nentries:\n  app:\n  - name: app\n    version: 1.0.0\n    urls: [app-1.0.0.tgz]\n",
        )
        .expect("write");
        let cache = Arc::new(IndexCache::default());
        let key = ObjectKey::new(tether_api::source::GROUP, "HelmRepository", "ns", "charts");
        let loads = (0..20).map(|_| {
            let (cache, key, path) = (cache.clone(), key.clone(), path.clone());
            tokio::spawn(async move { cache.load(&key, "sha256:aa", path).await })
        });
        let mut indexes = Vec::new();
        for load in loads {
            let index = load
                .await
                .expect("joined")
                .map_err(|f| f.message)
                .expect("parsed");
            indexes.push(index);
        }
        assert!(
            indexes.iter().all(|i| Arc::ptr_eq(i, &indexes[0])),
            "parsed once"
        );
        assert_eq!(
            indexes[0]
                .get("app", "*")
                .map(|v| v.version.to_string())
                .ok(),
            Some("1.0.0".into())
        );
        // A new revision is parsed again; the old one is no longer held.
        let newer = cache
            .load(&key, "sha256:bb", path)
            .await
            .map_err(|f| f.message)
            .expect("parsed");
        assert!(!Arc::ptr_eq(&newer, &indexes[0]));
        assert!(cache.get(&key, "sha256:aa").is_none());
    }

    #[test]
    fn basic_auth_needs_both_fields() {
        let mut data = std::collections::BTreeMap::new();
        assert!(matches!(basic_auth(&data), Ok(None)));
        data.insert("username".to_owned(), b"u".to_vec());
        assert_eq!(basic_auth(&data).err(), Some("password"));
        data.insert("password".to_owned(), b"p".to_vec());
        let auth = basic_auth(&data).ok().flatten().expect("credentials");
        assert_eq!((auth.username.as_str(), auth.password.as_str()), ("u", "p"));
    }
}
