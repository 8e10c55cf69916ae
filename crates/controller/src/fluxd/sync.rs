//! fluxd's sync loop: every `--git-poll-interval` the branch head is read; a new head, the
//! `--sync-interval` elapsing or a request (notify, a pushed change, `fluxctl sync`) starts a
//! sync: clone → build each `--git-path` → default namespaces → leave out (and report) what
//! `--k8s-allow-namespace` does not allow and what carries fluxd's ignore annotation → stamp
//! the gc mark and checksum → staged apply → garbage collection → move the sync tag.

use super::gc::{self, CHECKSUM_ANNOTATION, GC_MARK_LABEL};
use super::generation;
use super::{Daemon, GcMode};
use serde_json::Value;
use sha1::{Digest, Sha1};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tether_kustomize::{DiskFs, Options, flux::Overrides};
use tether_source::{GitReference, TagMove};
use tether_ssa::ApplyOptions;
use tokio_util::sync::CancellationToken;

/// Largest manifest file read.
pub(crate) const MAX_FILE_BYTES: u64 = 16 << 20;

/// Why a sync failed; the cluster is left as the apply left it and the tag is not moved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    #[error("cloning {url}: {source}")]
    Clone {
        url: String,
        source: tether_source::GitError,
    },
    #[error("loading manifests from {path:?}: {reason}")]
    Build { path: String, reason: String },
    #[error("applying: {0}")]
    Apply(String),
    #[error("garbage collection: {0}")]
    Gc(String),
    #[error("sync timed out after {0:?}")]
    Timeout(Duration),
}

/// What one sync did.
#[derive(Debug, Default)]
pub(crate) struct SyncReport {
    pub revision: String,
    pub applied: usize,
    /// Objects left out by `--k8s-allow-namespace`.
    pub excluded: Vec<String>,
    /// Objects that could not be applied (unknown kinds), with why.
    pub errors: Vec<String>,
    pub collected: Vec<String>,
}

/// Runs the sync loop until `shutdown`.
pub(crate) async fn run(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    let options = &daemon.options;
    let tick = options.git_poll_interval.min(options.sync_interval);
    let mut last_sync: Option<Instant> = None;
    let mut requested = true;
    loop {
        let head = tether_source::remote_head(
            &options.git_url,
            &GitReference::branch(&options.git_branch),
            &daemon.auth(),
            options.git_timeout,
        )
        .await;
        let due = match &head {
            Ok(head) => {
                daemon.set_repo_state("ready", String::new());
                let synced = daemon.with_sync_state(|s| s.revision.clone());
                synced.as_deref() != Some(head.commit.as_str())
                    || last_sync.is_none_or(|at| at.elapsed() >= options.sync_interval)
            }
            Err(error) => {
                tracing::error!(component = "sync-loop", url = %tether_source::sanitize_url(&options.git_url), "git repository unreachable: {error}");
                daemon.set_repo_state("unreachable", error.to_string());
                false
            }
        };
        if due || (requested && head.is_ok()) {
            last_sync = Some(Instant::now());
            match tokio::time::timeout(options.sync_timeout, sync_once(&daemon)).await {
                Ok(Ok(report)) => log_report(&report),
                Ok(Err(error)) => tracing::error!(component = "sync-loop", "sync failed: {error}"),
                Err(_) => tracing::error!(
                    component = "sync-loop",
                    "sync failed: {}",
                    SyncError::Timeout(options.sync_timeout)
                ),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(tick) => requested = false,
            () = daemon.sync_now.notified() => requested = true,
        }
    }
}

fn log_report(report: &SyncReport) {
    if !report.excluded.is_empty() {
        tracing::warn!(component = "sync-loop", resources = %report.excluded.join(","), "not applying resources; excluded by namespace constraints");
    }
    for error in &report.errors {
        tracing::error!(component = "sync-loop", "{error}");
    }
    tracing::info!(component = "sync-loop", revision = %report.revision, applied = report.applied, collected = report.collected.len(), "sync done");
}

/// One sync of the branch head.
pub(crate) async fn sync_once(daemon: &Daemon) -> Result<SyncReport, SyncError> {
    let options = &daemon.options;
    let dir = tempfile::tempdir().map_err(|e| SyncError::Build {
        path: String::new(),
        reason: e.to_string(),
    })?;
    let checkout = tether_source::checkout(
        &options.git_url,
        &GitReference::branch(&options.git_branch),
        &daemon.auth(),
        options.git_timeout,
        dir.path(),
    )
    .await
    .map_err(|source| {
        daemon.set_repo_state("unreachable", source.to_string());
        SyncError::Clone {
            url: tether_source::sanitize_url(&options.git_url),
            source,
        }
    })?;
    daemon.set_repo_state("ready", String::new());
    let revision = checkout.revision.commit.clone();
    let objects = build(&checkout.dir, options)?;
    let mut report = SyncReport {
        revision: revision.clone(),
        ..SyncReport::default()
    };
    let (to_apply, synced) = prepare(daemon, objects, &mut report).await;
    report.applied = to_apply.len();
    let apply_options = ApplyOptions {
        exclusion_selector: crate::kustomization::apply::with_flux_v1_ignore(
            ApplyOptions::default().exclusion_selector,
        ),
        ..ApplyOptions::default()
    };
    daemon
        .manager
        .apply_all_staged(to_apply, &apply_options)
        .await
        .map_err(|e| SyncError::Apply(e.error.to_string()))?;
    if options.gc != GcMode::Off {
        report.collected = collect_garbage(daemon, &synced).await?;
    }
    daemon.with_sync_state(|s| s.revision = Some(revision.clone()));
    if !options.git_readonly {
        move_sync_tag(daemon, &revision).await;
    }
    Ok(report)
}

/// The objects of every path (the whole repository without paths), as kustomize builds them,
/// or as the path's `.flux.yaml` generates them with `--manifest-generation`.
fn build(root: &std::path::Path, options: &super::FluxdOptions) -> Result<Vec<Value>, SyncError> {
    let paths = &options.git_paths;
    let fs = DiskFs::new(root, MAX_FILE_BYTES).map_err(|e| SyncError::Build {
        path: ".".into(),
        reason: e.to_string(),
    })?;
    let dirs: Vec<&str> = if paths.is_empty() {
        vec![""]
    } else {
        paths.iter().map(|p| p.trim_matches('/')).collect()
    };
    let mut objects = Vec::new();
    for dir in dirs {
        let failed = |reason: String| SyncError::Build {
            path: dir.to_owned(),
            reason,
        };
        if !root.join(dir).is_dir() {
            return Err(failed("no such directory in the repository".into()));
        }
        if options.manifest_generation
            && let Some(generation) = generation::load(root, dir, &options.generation_settings())
                .map_err(|e| failed(e.to_string()))?
        {
            objects.extend(generation.manifests);
            continue;
        }
        let built =
            tether_kustomize::build_flux(&fs, dir, Overrides::default(), Options::default())
                .map_err(|e| failed(e.to_string()))?;
        objects.extend(built.objects().cloned());
    }
    Ok(objects)
}

/// Defaults namespaces, drops what is not allowed, and stamps the gc mark and checksum on the
/// rest. Returns the objects to apply and the ids of every object of the sync set.
async fn prepare(
    daemon: &Daemon,
    objects: Vec<Value>,
    report: &mut SyncReport,
) -> (Vec<Value>, BTreeSet<String>) {
    let crds = defined_kinds(&objects);
    let mut to_apply = Vec::new();
    let mut synced = BTreeSet::new();
    for mut object in objects {
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let namespaced = match is_namespaced(daemon, &object, &crds).await {
            Ok(namespaced) => namespaced,
            Err(reason) => {
                report.errors.push(format!("{kind}/{name}: {reason}"));
                continue;
            }
        };
        let namespace = namespaced.then(|| {
            let given = object["metadata"]["namespace"].as_str().unwrap_or_default();
            if given.is_empty() {
                daemon.options.default_namespace.clone()
            } else {
                given.to_owned()
            }
        });
        let id = gc::resource_id(namespace.as_deref(), &kind, &name);
        if !allowed(
            &daemon.options.allowed_namespaces,
            namespace.as_deref(),
            &kind,
            &name,
        ) {
            report.excluded.push(id);
            continue;
        }
        if let Some(namespace) = &namespace {
            object["metadata"]["namespace"] = Value::String(namespace.clone());
        }
        let checksum = hex(&Sha1::digest(
            serde_json::to_vec(&object).unwrap_or_default(),
        ));
        let metadata = &mut object["metadata"];
        metadata["labels"][GC_MARK_LABEL] = Value::String(gc::gc_mark(&daemon.sync_set, &id));
        metadata["annotations"][CHECKSUM_ANNOTATION] = Value::String(checksum);
        synced.insert(id);
        to_apply.push(object);
    }
    (to_apply, synced)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// fluxd's `IsAllowedResource`: with allowed namespaces, namespaced objects must be in one,
/// Namespaces must be one, other cluster-scoped objects are allowed.
fn allowed(allowed: &BTreeSet<String>, namespace: Option<&str>, kind: &str, name: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    match namespace {
        Some(namespace) => allowed.contains(namespace),
        None if kind == "Namespace" => allowed.contains(name),
        None => true,
    }
}

/// `(group, kind) → namespaced` for the CRDs in the set, for kinds the server does not know yet.
fn defined_kinds(objects: &[Value]) -> Vec<(String, String, bool)> {
    objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .map(|o| {
            let spec = &o["spec"];
            (
                spec["group"].as_str().unwrap_or_default().to_owned(),
                spec["names"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                spec["scope"] == "Namespaced",
            )
        })
        .collect()
}

async fn is_namespaced(
    daemon: &Daemon,
    object: &Value,
    crds: &[(String, String, bool)],
) -> Result<bool, String> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let resolved = daemon
        .manager
        .discovery()
        .resolve(&daemon.client, group, version, kind)
        .await;
    match resolved {
        Ok(resolved) => Ok(resolved.namespaced),
        Err(error) => crds
            .iter()
            .find(|(g, k, _)| g == group && k == kind)
            .map(|(_, _, namespaced)| *namespaced)
            .ok_or_else(|| error.to_string()),
    }
}

async fn collect_garbage(
    daemon: &Daemon,
    synced: &BTreeSet<String>,
) -> Result<Vec<String>, SyncError> {
    let options = &daemon.options;
    let ignore = crate::kustomization::apply::with_flux_v1_ignore(tether_ssa::Selector::default());
    let scope = gc::SweepScope {
        sync_set: &daemon.sync_set,
        synced,
        namespaces: &options.allowed_namespaces,
        excluded_resources: &options.excluded_resources,
        ignore: &ignore,
        dry_run: options.gc == GcMode::Dry,
    };
    let sweep = gc::sweep(&daemon.client, &scope)
        .await
        .map_err(|e| SyncError::Gc(e.to_string()))?;
    for (id, reason) in &sweep.failed {
        tracing::error!(component = "sync-loop", resource = %id, "garbage collection failed: {reason}");
    }
    Ok(sweep.stale)
}

/// Moves the sync tag to `revision` and pushes it; a failure is logged (the cluster is synced).
async fn move_sync_tag(daemon: &Daemon, revision: &str) {
    let options = &daemon.options;
    let tag_move = TagMove {
        tag: options.sync_tag.clone(),
        commit: revision.to_owned(),
        message: "Sync pointer".to_owned(),
        tagger: options.commit.author.clone(),
    };
    match tether_source::move_tag(
        &options.git_url,
        &daemon.auth(),
        options.git_timeout,
        tag_move,
    )
    .await
    {
        Ok(Some(_)) => {
            tracing::info!(component = "sync-loop", tag = %options.sync_tag, %revision, "sync tag moved")
        }
        Ok(None) => {}
        Err(error) => {
            tracing::error!(component = "sync-loop", tag = %options.sync_tag, "moving the sync tag failed: {error}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_namespaces_follow_fluxd() {
        let none = BTreeSet::new();
        assert!(allowed(&none, Some("x"), "Deployment", "web"));
        let only = BTreeSet::from(["team".to_owned()]);
        assert!(allowed(&only, Some("team"), "Deployment", "web"));
        assert!(!allowed(&only, Some("other"), "Deployment", "web"));
        assert!(allowed(&only, None, "Namespace", "team"));
        assert!(!allowed(&only, None, "Namespace", "other"));
        assert!(allowed(&only, None, "ClusterRole", "reader"));
    }
}
