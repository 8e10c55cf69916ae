//! Flux v1 daemon mode (`tether fluxd`): fluxd's sync loop, automation loop and HTTP API over
//! one Git repository, on tether's engines — the source engine clones and pushes, the native
//! kustomize engine builds the `--git-path` directories, the staged server-side apply applies,
//! `tether-fluxv1` runs automation, releases and policy changes. fluxd's own conventions are
//! kept: the `flux-sync` tag moved after each successful sync, garbage collection by
//! `fluxcd.io/sync-gc-mark`, `--k8s-allow-namespace`, the deploy key Secret and the
//! fluxctl API under `/api/flux`.

pub mod api;
mod command;
pub mod gc;
pub mod generation;
mod jobs;
pub mod key;
mod store;
mod sync;
pub mod wire;
pub mod workloads;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tether_fluxv1::{CommitSettings, ImageScanner, Repository};
use tether_source::{CloneSpec, DeployKey, GitAuth, GitReference};
use tokio_util::sync::CancellationToken;

/// fluxd's garbage collection modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcMode {
    Off,
    On,
    /// `--sync-garbage-collection-dry`: only log what would be deleted.
    Dry,
}

/// Everything `tether fluxd` was told on its command line, in engine terms.
#[derive(Debug, Clone)]
pub struct FluxdOptions {
    pub git_url: String,
    pub git_branch: String,
    /// `--git-path`, as given (they are part of the gc marks).
    pub git_paths: Vec<String>,
    pub git_readonly: bool,
    /// `--manifest-generation`: `.flux.yaml` files are read.
    pub manifest_generation: bool,
    /// `--manifest-generation-allow-shell`: `.flux.yaml` may run shell commands.
    pub allow_shell_commands: bool,
    /// `--git-sync-tag` or `--git-label`.
    pub sync_tag: String,
    pub git_poll_interval: Duration,
    pub git_timeout: Duration,
    pub commit: CommitSettings,
    pub sync_interval: Duration,
    pub sync_timeout: Duration,
    pub gc: GcMode,
    /// `--k8s-allow-namespace`; empty allows all.
    pub allowed_namespaces: BTreeSet<String>,
    /// `--k8s-default-namespace`, else `default`.
    pub default_namespace: String,
    /// `--k8s-unsafe-exclude-resource`.
    pub excluded_resources: Vec<String>,
    /// Where the deploy key lives.
    pub key_secret: key::KeySecret,
    /// `known_hosts` lines for SSH remotes.
    pub known_hosts: Option<String>,
    pub registry_scanning: bool,
    /// `--registry-rps` and `--registry-burst`: requests per second and burst per registry host.
    pub registry_rps: f64,
    pub registry_burst: u32,
    /// `--registry-exclude-image` and `--registry-include-image`.
    pub image_filter: tether_fluxv1::ImageFilter,
    /// `--registry-insecure-host`.
    pub insecure_hosts: Vec<String>,
    /// `--docker-config`: registry credentials.
    pub docker_config: Option<PathBuf>,
    pub automation_interval: Duration,
    pub listen: SocketAddr,
    pub version: String,
}

impl FluxdOptions {
    /// How `.flux.yaml` commands run: shell only with `--manifest-generation-allow-shell`,
    /// within `--sync-timeout` unless a command gives its own `timeout`.
    pub fn generation_settings(&self) -> generation::Settings {
        generation::Settings {
            allow_shell: self.allow_shell_commands,
            default_timeout: self.sync_timeout,
        }
    }
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum FluxdError {
    #[error(transparent)]
    Key(#[from] key::KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read --docker-config {path}: {reason}")]
    DockerConfig { path: PathBuf, reason: String },
}

/// What the API reports about the repository (fluxd's `GitRepoStatus`).
#[derive(Debug, Clone, Default)]
pub(crate) struct RepoState {
    /// `new`, `ready` or `unreachable`.
    pub status: &'static str,
    pub error: String,
}

/// What was synced: the last synced commit.
#[derive(Debug, Default)]
pub(crate) struct SyncState {
    pub revision: Option<String>,
}

/// How many commits of the branch `SyncStatus` fetches and walks at most: a marker further
/// back than this reports this many commits as not applied yet.
const SYNC_STATUS_HISTORY: std::num::NonZeroU32 = std::num::NonZeroU32::new(500).expect("non-zero");

/// The running daemon, shared by its loops and API handlers.
pub(crate) struct Daemon {
    pub client: kube::Client,
    pub options: FluxdOptions,
    /// The deploy key and the Git credentials made of it; replaced by `identity --regenerate`.
    identity: std::sync::RwLock<(DeployKey, GitAuth)>,
    pub sync_set: String,
    pub manager: tether_ssa::ResourceManager,
    pub scanner: ImageScanner,
    pub repo_state: Mutex<RepoState>,
    pub sync_state: Mutex<SyncState>,
    pub sync_now: tokio::sync::Notify,
    pub jobs: jobs::Jobs,
}

impl Daemon {
    /// The current deploy key.
    pub fn key(&self) -> DeployKey {
        let identity = self.identity.read().unwrap_or_else(PoisonError::into_inner);
        identity.0.clone()
    }

    /// The Git credentials of the current deploy key.
    pub fn auth(&self) -> GitAuth {
        let identity = self.identity.read().unwrap_or_else(PoisonError::into_inner);
        identity.1.clone()
    }

    /// Replaces the deploy key with a new one stored in the Secret, as `fluxctl identity
    /// --regenerate` asks; the new public key is logged as fluxd logged it.
    pub async fn regenerate_key(&self) -> Result<DeployKey, key::KeyError> {
        let key = key::regenerate_deploy_key(&self.client, &self.options.key_secret).await?;
        tracing::info!(component = "cluster", "identity.pub" = %key.public_line.trim(), "deploy key regenerated");
        let auth = git_auth(&key, &self.options);
        *self
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner) = (key.clone(), auth);
        Ok(key)
    }

    /// The repository as the Flux v1 operations take it.
    pub fn repository(&self) -> Repository {
        Repository {
            clone: CloneSpec {
                url: self.options.git_url.clone(),
                checkout: GitReference::branch(&self.options.git_branch),
                push_branch: None,
                auth: self.auth(),
                timeout: self.options.git_timeout,
            },
            paths: self.options.git_paths.iter().map(PathBuf::from).collect(),
            target_namespace: None,
            store: self.options.manifest_generation.then(|| {
                let store = store::GenerationStore::new(self.options.generation_settings());
                Arc::new(store) as Arc<dyn tether_fluxv1::WorkloadStore>
            }),
        }
    }

    pub fn repo_state(&self) -> RepoState {
        self.repo_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_repo_state(&self, status: &'static str, error: String) {
        *self
            .repo_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = RepoState { status, error };
    }

    pub fn with_sync_state<T>(&self, f: impl FnOnce(&mut SyncState) -> T) -> T {
        f(&mut self
            .sync_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// A commit this daemon pushed: synced by the next sync, which is asked for now.
    pub fn pushed(&self, commit: &str) {
        tracing::debug!(component = "daemon", %commit, "pushed; syncing");
        self.sync_now.notify_one();
    }

    /// fluxd's `SyncStatus`: the commits of `reference` (an id or a prefix of one) that the sync
    /// marker does not contain yet, newest first, limited to the `--git-path`s; empty once
    /// `reference` is applied. The marker is the sync tag; with `--git-readonly` (no tag is
    /// pushed) it is the commit this daemon last synced.
    pub async fn unsynced_commits(
        &self,
        reference: &str,
    ) -> Result<Vec<String>, tether_source::GitError> {
        let options = &self.options;
        let since = if options.git_readonly {
            self.with_sync_state(|s| s.revision.clone())
                .map(tether_source::Since::Commit)
        } else {
            Some(tether_source::Since::Tag(options.sync_tag.clone()))
        };
        let query = tether_source::HistoryQuery {
            branch: options.git_branch.clone(),
            since,
            until: reference.to_owned(),
            paths: options.git_paths.clone(),
            max_commits: SYNC_STATUS_HISTORY,
        };
        tether_source::commits_between(&options.git_url, &self.auth(), options.git_timeout, query)
            .await
    }
}

/// Runs the daemon until `shutdown`: ensures the deploy key (logging its public key as fluxd
/// logged `identity.pub`), serves the API on `options.listen` and runs the sync and automation
/// loops.
pub async fn run(
    client: kube::Client,
    options: FluxdOptions,
    shutdown: CancellationToken,
) -> Result<(), FluxdError> {
    let key = key::ensure_deploy_key(&client, &options.key_secret).await?;
    tracing::info!(component = "cluster", identity = %format!("{}/{}#{}", options.key_secret.namespace, options.key_secret.name, options.key_secret.data_key), "deploy key");
    tracing::info!(component = "cluster", "identity.pub" = %key.public_line.trim(), "deploy key");
    let auth = git_auth(&key, &options);
    let scanner = scanner(&options)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| FluxdError::Listen {
            addr: options.listen,
            source,
        })?;
    let daemon = Arc::new(Daemon {
        manager: tether_ssa::ResourceManager::new(client.clone()).with_field_manager("fluxd"),
        client,
        sync_set: gc::sync_set_name(&options.git_url, &options.git_branch, &options.git_paths),
        identity: std::sync::RwLock::new((key, auth)),
        scanner,
        repo_state: Mutex::new(RepoState {
            status: "new",
            error: String::new(),
        }),
        sync_state: Mutex::default(),
        sync_now: tokio::sync::Notify::new(),
        jobs: jobs::Jobs::default(),
        options,
    });
    tracing::info!(
        url = %tether_source::sanitize_url(&daemon.options.git_url),
        branch = %daemon.options.git_branch,
        "sync-tag" = %daemon.options.sync_tag,
        readonly = daemon.options.git_readonly,
        addr = %daemon.options.listen,
        "fluxd started"
    );
    let server = api::serve(listener, daemon.clone(), shutdown.clone());
    let jobs = jobs::run(daemon.clone(), shutdown.clone());
    let syncing = sync::run(daemon.clone(), shutdown.clone());
    let automation = run_automation(daemon, shutdown);
    tokio::join!(server, jobs, syncing, automation);
    Ok(())
}

/// SSH credentials of `key`, with the known hosts fluxd was given.
fn git_auth(key: &DeployKey, options: &FluxdOptions) -> GitAuth {
    GitAuth {
        identity: Some(key.private_pem.clone()),
        identity_pub: Some(key.public_line.clone()),
        known_hosts: options.known_hosts.clone(),
        ..GitAuth::default()
    }
}

fn scanner(options: &FluxdOptions) -> Result<ImageScanner, FluxdError> {
    let registry = tether_registry::RegistryClient::new(tether_registry::ClientOptions {
        requests_per_second: options.registry_rps,
        burst: options.registry_burst,
        ..Default::default()
    });
    let configured = |scanner: ImageScanner| {
        scanner
            .with_image_filter(options.image_filter.clone())
            .with_insecure_hosts(options.insecure_hosts.clone())
    };
    let Some(path) = &options.docker_config else {
        return Ok(configured(ImageScanner::new(
            registry,
            tether_fluxv1::Anonymous,
        )));
    };
    let failed = |reason: String| FluxdError::DockerConfig {
        path: path.clone(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let config =
        tether_registry::DockerConfig::from_secret_data([(".dockerconfigjson", &bytes[..])])
            .map_err(|e| failed(e.to_string()))?;
    Ok(configured(ImageScanner::new(registry, vec![config])))
}

/// fluxd's automation: every `--automation-interval`, automated workloads get the newest
/// images their tag patterns allow, in one pushed commit; a sync follows at once.
async fn run_automation(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    let options = &daemon.options;
    if options.git_readonly || !options.registry_scanning || options.automation_interval.is_zero() {
        return;
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(options.automation_interval) => {}
        }
        let run =
            tether_fluxv1::automate_once(&daemon.repository(), &daemon.scanner, &options.commit)
                .await;
        match run {
            Ok(run) => {
                for skipped in &run.skipped {
                    tracing::warn!(
                        component = "daemon",
                        "automation skipped: {}",
                        skipped.error
                    );
                }
                if let Some(commit) = run.commit {
                    tracing::info!(component = "daemon", %commit, updates = run.updates.len(), "automated release pushed");
                    daemon.pushed(&commit);
                }
            }
            Err(error) => tracing::warn!(component = "daemon", "automation failed: {error}"),
        }
    }
}
