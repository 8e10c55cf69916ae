//! Flux v1 automation inside the controller. On an interval, every Git repository that a
//! Kustomization syncs and whose manifests hold automated workloads (`fluxcd.io/automated:
//! "true"`, not locked, not ignored) gets one run of fluxd's automation
//! ([`tether_fluxv1::automate_once`]): newer images allowed by the containers' tag patterns
//! are committed and pushed, then the GitRepository is asked to reconcile so the sync loop
//! deploys them at once. The check for automated workloads reads the Kustomizations' already
//! extracted artifacts, so a repository without any is never cloned. Registry credentials are
//! the `imagePullSecrets` of the live workloads, as fluxd used them.

use crate::context::Context;
use crate::events::Origin;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tether_api::kustomize::v1::SourceKind;
use tether_api::source::v1::GitRepository;
use tether_fluxv1::{CommitSettings, ImageScanner, Repository};
use tether_registry::DockerConfig;
use tether_workloads::{Workload, locate_workloads};
use tokio_util::sync::CancellationToken;

/// Settings of the automation loop (fluxd's `--automation-interval`, `--git-user`,
/// `--git-email`, `--git-ci-skip`).
#[derive(Debug, Clone)]
pub struct V1AutomationOptions {
    /// Time between runs; zero disables Flux v1 automation.
    pub interval: Duration,
    pub commit: CommitSettings,
}

/// One repository to automate: the GitRepository and the directories of its Kustomizations
/// that hold automated workloads, with the namespaces those workloads are applied to.
struct Candidate {
    repo: Arc<GitRepository>,
    paths: Vec<PathBuf>,
    /// `(workload, namespace it lives in)`, to read its pull secrets.
    workloads: Vec<(Workload, String)>,
}

/// The automated workloads found under each `(artifact digest, path)`. An artifact never
/// changes under its digest, so each tree is read once, not on every run.
type Scanned = HashMap<(String, PathBuf), Arc<Vec<Workload>>>;

/// Runs the automation loop until `shutdown` fires.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let options = ctx.options.v1_automation.clone();
    if options.interval.is_zero() {
        return;
    }
    let mut scanned = Scanned::default();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(options.interval) => {}
        }
        for candidate in candidates(&ctx, &mut scanned).await {
            automate(&ctx, &options, candidate).await;
        }
    }
}

/// Repositories whose extracted artifacts hold automated workloads under a Kustomization path.
async fn candidates(ctx: &Context, scanned: &mut Scanned) -> Vec<Candidate> {
    let mut by_repo: BTreeMap<(String, String), Candidate> = BTreeMap::new();
    let mut seen = HashSet::new();
    for ks in ctx.kustomizations.state() {
        if ks.spec.suspend == Some(true)
            || !matches!(ks.spec.source_ref.kind, SourceKind::GitRepository)
        {
            continue;
        }
        let own = ks.namespace().unwrap_or_default();
        let namespace = ks
            .spec
            .source_ref
            .namespace
            .clone()
            .unwrap_or_else(|| own.clone());
        let key =
            kube::runtime::reflector::ObjectRef::<GitRepository>::new(&ks.spec.source_ref.name)
                .within(&namespace);
        let Some(repo) = ctx.git_repositories.get(&key) else {
            continue;
        };
        if repo.spec.suspend == Some(true) {
            continue;
        }
        let Some(artifact) = repo.status.as_ref().and_then(|s| s.artifact.clone()) else {
            continue;
        };
        let path = PathBuf::from(
            ks.spec
                .path
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches("./")
                .trim_end_matches('/'),
        );
        let key = (artifact.digest.clone(), path.clone());
        seen.insert(key.clone());
        let automated = match scanned.get(&key) {
            Some(automated) => automated.clone(),
            None => {
                let Some(found) = automated_workloads(ctx, &ks.name_any(), &artifact, &path).await
                else {
                    continue;
                };
                let found = Arc::new(found);
                scanned.insert(key, found.clone());
                found
            }
        };
        if automated.is_empty() {
            continue;
        }
        let live_namespace = ks.spec.target_namespace.clone();
        let entry = by_repo
            .entry((namespace.clone(), repo.name_any()))
            .or_insert_with(|| Candidate {
                repo: repo.clone(),
                paths: Vec::new(),
                workloads: Vec::new(),
            });
        if !entry.paths.contains(&path) {
            entry.paths.push(path);
        }
        for workload in automated.iter().cloned() {
            let ns = live_namespace
                .clone()
                .unwrap_or_else(|| workload.id.namespace().to_owned());
            entry.workloads.push((workload, ns));
        }
    }
    scanned.retain(|key, _| seen.contains(key));
    by_repo.into_values().collect()
}

/// The automated, unlocked, not ignored workloads under `path` in the extracted `artifact`;
/// `None` when the tree cannot be read (the Kustomization reports that itself).
async fn automated_workloads(
    ctx: &Context,
    kustomization: &str,
    artifact: &tether_api::meta::Artifact,
    path: &std::path::Path,
) -> Option<Vec<Workload>> {
    let root = match ctx
        .workspace
        .extracted(&artifact.path, &artifact.digest)
        .await
    {
        Ok(root) => root,
        Err(error) => {
            tracing::debug!(%error, kustomization, "artifact not available for Flux v1 automation");
            return None;
        }
    };
    let paths = if path.as_os_str().is_empty() {
        vec![]
    } else {
        vec![path.to_path_buf()]
    };
    let found = match tokio::task::spawn_blocking(move || locate_workloads(&root, &paths)).await {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => {
            tracing::debug!(%error, kustomization, "no Flux v1 workloads read");
            return None;
        }
        Err(_) => return None,
    };
    let automated: Vec<Workload> = found
        .into_iter()
        .filter(|w| w.policy.is_automation_candidate())
        .collect();
    tracing::debug!(
        kustomization,
        automated = automated.len(),
        "Flux v1 workloads found"
    );
    Some(automated)
}

async fn automate(ctx: &Context, options: &V1AutomationOptions, candidate: Candidate) {
    let repo = candidate.repo.as_ref();
    let clone = match crate::git_source::clone_spec(&ctx.client, repo).await {
        Ok(clone) => clone,
        Err(error) => {
            report_failure(ctx, repo, format!("Flux v1 automation: {error}")).await;
            return;
        }
    };
    let paths = if candidate.paths.iter().any(|p| p.as_os_str().is_empty()) {
        Vec::new()
    } else {
        candidate.paths.clone()
    };
    let target = Repository {
        clone,
        paths,
        // Several Kustomizations may share the repository; automation selects workloads by
        // their annotations, so ids stay as Git writes them.
        target_namespace: None,
        store: None,
    };
    let credentials = pull_secrets(ctx, &candidate.workloads).await;
    let scanner = ImageScanner::new(ctx.registry.clone(), credentials);
    match tether_fluxv1::automate_once(&target, &scanner, &options.commit).await {
        Ok(run) => {
            for skipped in &run.skipped {
                tracing::info!(repository = %repo.name_any(), ?skipped, "Flux v1 automation skipped a container");
            }
            let Some(commit) = run.commit else {
                return;
            };
            let images: Vec<String> = run
                .updates
                .iter()
                .map(|u| u.new_image.to_string())
                .collect();
            let note = format!(
                "Flux v1 automation pushed commit '{}': {}",
                &commit[..commit.len().min(7)],
                images.join(", ")
            );
            tracing::info!(repository = %repo.name_any(), %commit, "{note}");
            ctx.events
                .publish(Origin::ImageAutomation, repo, false, "Succeeded", note)
                .await;
            request_reconcile(ctx, repo).await;
        }
        Err(error) => report_failure(ctx, repo, format!("Flux v1 automation: {error}")).await,
    }
}

/// Docker configs of the `imagePullSecrets` of the live automated workloads.
async fn pull_secrets(ctx: &Context, workloads: &[(Workload, String)]) -> Vec<DockerConfig> {
    let mut configs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (workload, namespace) in workloads {
        let Some(resource) = api_resource(workload.id.kind()) else {
            continue;
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), namespace, &resource);
        let Ok(Some(live)) = api.get_opt(workload.id.name()).await else {
            continue;
        };
        let spec = &live.data["spec"];
        let pod = if workload.id.kind() == "cronjob" {
            &spec["jobTemplate"]["spec"]["template"]["spec"]
        } else {
            &spec["template"]["spec"]
        };
        for secret in pod["imagePullSecrets"].as_array().into_iter().flatten() {
            let Some(name) = secret["name"].as_str() else {
                continue;
            };
            if !seen.insert((namespace.clone(), name.to_owned())) {
                continue;
            }
            if let Ok(data) = crate::secrets::secret_data(&ctx.client, namespace, name).await
                && let Ok(config) = DockerConfig::from_secret_data(
                    data.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
                )
            {
                configs.push(config);
            }
        }
    }
    configs
}

fn api_resource(kind: &str) -> Option<ApiResource> {
    let (group, kind) = match kind {
        "deployment" => ("apps", "Deployment"),
        "daemonset" => ("apps", "DaemonSet"),
        "statefulset" => ("apps", "StatefulSet"),
        "cronjob" => ("batch", "CronJob"),
        _ => return None,
    };
    Some(ApiResource::from_gvk(&GroupVersionKind::gvk(
        group, "v1", kind,
    )))
}

/// Asks the GitRepository to fetch now, so the pushed commit is deployed without waiting for
/// its interval (what `flux reconcile source git` does).
async fn request_reconcile(ctx: &Context, repo: &GitRepository) {
    let api: Api<GitRepository> =
        Api::namespaced(ctx.client.clone(), &repo.namespace().unwrap_or_default());
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let patch = serde_json::json!({"metadata": {"annotations": {
        tether_api::meta::RECONCILE_REQUEST_ANNOTATION: now
    }}});
    if let Err(error) = api
        .patch(
            &repo.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::warn!(%error, repository = %repo.name_any(), "cannot request a reconcile after an automation commit");
    }
}

async fn report_failure(ctx: &Context, repo: &GitRepository, message: String) {
    tracing::warn!(repository = %repo.name_any(), "{message}");
    ctx.events
        .publish(
            Origin::ImageAutomation,
            repo,
            true,
            "AutomationFailed",
            message,
        )
        .await;
}

#[cfg(test)]
mod tests {
    use super::api_resource;

    #[test]
    fn only_fluxd_workload_kinds_have_pull_secrets_read() {
        assert_eq!(
            api_resource("deployment").map(|r| r.group),
            Some("apps".to_owned())
        );
        assert_eq!(
            api_resource("cronjob").map(|r| r.group),
            Some("batch".to_owned())
        );
        assert!(api_resource("job").is_none());
    }
}
