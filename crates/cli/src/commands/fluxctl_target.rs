//! Which Git repository a fluxctl verb works on, read from the cluster: the live workload's
//! owner labels (`kustomize.toolkit.fluxcd.io/name|namespace`) lead to its Kustomization,
//! whose `sourceRef` GitRepository gives the URL, the branch and the credentials Secret, and
//! whose `spec.path` is where the workloads are and whose `targetNamespace` names them;
//! `--git-repository`/`--path` override. Also
//! the registry credentials (docker config Secrets), the workloads' rollout status for
//! `list-workloads`, and the deploy key `identity` prints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use tether_api::kustomize::v1::{Kustomization, SourceKind};
use tether_api::source::v1::GitRepository;
use tether_fluxv1::{Anonymous, ImageScanner, Repository};
use tether_registry::{DockerConfig, RegistryClient};
use tether_workloads::{ResourceId, Workload};

use super::cluster;
use super::fluxctl::RepoArgs;

/// The owner labels kustomize-controller puts on what it applies.
const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// The repository a verb works on, and the GitRepository it came from.
pub struct Target {
    /// The GitRepository object.
    pub git: GitRepository,
    /// Clone spec and workload directories.
    pub repository: Repository,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    tether_api::meta::Duration::new(text)
        .and_then(|d| d.to_std())
        .map_err(|e| e.to_string())
}

/// `NAMESPACE/NAME`, or `NAME` in `namespace`.
pub fn split_namespaced(text: &str, namespace: &str) -> anyhow::Result<(String, String)> {
    match text.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_owned(), name.to_owned()))
        }
        None if !text.is_empty() => Ok((namespace.to_owned(), text.to_owned())),
        _ => bail!("invalid object reference {text:?}: expected NAMESPACE/NAME"),
    }
}

/// The repository for `workload` (through its owner labels) or for `--git-repository`.
pub async fn resolve(
    client: &kube::Client,
    args: &RepoArgs,
    workload: Option<&ResourceId>,
) -> anyhow::Result<Target> {
    let (git, default_path, target_namespace) = match (&args.git_repository, workload) {
        (Some(named), _) => {
            let (namespace, name) = split_namespaced(named, &args.namespace)?;
            (git_repository(client, &namespace, &name).await?, None, None)
        }
        (None, Some(id)) => {
            let (namespace, name) = owning_kustomization(client, id).await?;
            let kustomizations = Api::<Kustomization>::namespaced(client.clone(), &namespace);
            let kustomization = cluster::get_named(&kustomizations, &namespace, &name).await?;
            let source = &kustomization.spec.source_ref;
            if source.kind != SourceKind::GitRepository {
                bail!(
                    "Kustomization '{namespace}/{name}' syncs from a {}, not a GitRepository",
                    source.kind
                );
            }
            let source_namespace = source.namespace.as_deref().unwrap_or(&namespace);
            let git = git_repository(client, source_namespace, &source.name).await?;
            let spec = kustomization.spec;
            (git, spec.path, spec.target_namespace)
        }
        (None, None) => bail!(
            "which repository? give --workload=<workload>, or --git-repository=<ns/name> (with --path)"
        ),
    };
    let path = args.path.clone().or(default_path);
    let clone = tether_controller::git_source::clone_spec(client, &git).await?;
    Ok(Target {
        git,
        repository: Repository {
            clone,
            paths: workload_paths(path.as_deref()),
            target_namespace,
            store: None,
        },
    })
}

/// A Kustomization path (`./apps/web`, `/`, empty) as a directory list for the search.
fn workload_paths(path: Option<&str>) -> Vec<PathBuf> {
    let trimmed = path
        .unwrap_or("")
        .trim_start_matches("./")
        .trim_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        Vec::new()
    } else {
        vec![PathBuf::from(trimmed)]
    }
}

async fn git_repository(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<GitRepository> {
    let api = Api::<GitRepository>::namespaced(client.clone(), namespace);
    cluster::get_named(&api, namespace, name).await
}

/// The Kustomization that applied `id`, from the live object's owner labels.
pub async fn owning_kustomization(
    client: &kube::Client,
    id: &ResourceId,
) -> anyhow::Result<(String, String)> {
    let api = workload_api(client, id)?;
    let live = api
        .get_opt(id.name())
        .await
        .with_context(|| format!("cannot read workload {id}"))?
        .with_context(|| {
            format!("workload {id} not found in the cluster; give --git-repository and --path")
        })?;
    let labels = live.metadata.labels.unwrap_or_default();
    match (
        labels.get(OWNER_NAMESPACE_LABEL),
        labels.get(OWNER_NAME_LABEL),
    ) {
        (Some(namespace), Some(name)) => Ok((namespace.clone(), name.clone())),
        _ => bail!(
            "workload {id} has no {OWNER_NAME_LABEL} and {OWNER_NAMESPACE_LABEL} labels: \
             it was not applied by a Kustomization; give --git-repository and --path"
        ),
    }
}

/// The API of a workload kind fluxd updated.
fn workload_api(client: &kube::Client, id: &ResourceId) -> anyhow::Result<Api<DynamicObject>> {
    let (group, kind, plural) = match id.kind() {
        "deployment" => ("apps", "Deployment", "deployments"),
        "daemonset" => ("apps", "DaemonSet", "daemonsets"),
        "statefulset" => ("apps", "StatefulSet", "statefulsets"),
        "cronjob" => ("batch", "CronJob", "cronjobs"),
        other => bail!("workload {id}: kind {other:?} is not a workload kind fluxd updated"),
    };
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural);
    Ok(Api::namespaced_with(
        client.clone(),
        id.namespace(),
        &resource,
    ))
}

async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    Ok(tether_controller::secrets::secret_data(client, namespace, name).await?)
}

/// A scanner presenting the credentials of the `--registry-secret` docker configs.
pub async fn scanner(client: &kube::Client, args: &RepoArgs) -> anyhow::Result<ImageScanner> {
    let registry = RegistryClient::default();
    if args.registry_secret.is_empty() {
        return Ok(ImageScanner::new(registry, Anonymous));
    }
    let mut configs = Vec::new();
    for named in &args.registry_secret {
        let (namespace, name) = split_namespaced(named, &args.namespace)?;
        let data = secret_data(client, &namespace, &name).await?;
        let config =
            DockerConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .with_context(|| format!("Secret '{namespace}/{name}'"))?;
        configs.push(config);
    }
    Ok(ImageScanner::new(registry, configs))
}

/// The public key (`identity.pub`) of the GitRepository's Secret.
pub async fn deploy_public_key(
    client: &kube::Client,
    git: &GitRepository,
) -> anyhow::Result<String> {
    let namespace = git.metadata.namespace.as_deref().unwrap_or("default");
    let name = git.metadata.name.as_deref().unwrap_or_default();
    let secret = git
        .spec
        .secret_ref
        .as_ref()
        .with_context(|| format!("GitRepository '{namespace}/{name}' has no secretRef"))?;
    let data = secret_data(client, namespace, &secret.name).await?;
    let key = data.get("identity.pub").with_context(|| {
        format!(
            "Secret '{namespace}/{}' has no identity.pub (not an SSH deploy key)",
            secret.name
        )
    })?;
    String::from_utf8(key.clone())
        .with_context(|| format!("identity.pub of Secret '{namespace}/{}'", secret.name))
}

/// fluxd's rollout status of each live workload (`ready`, `updating`, `started`), by id;
/// workloads not in the cluster have none.
pub async fn rollout_statuses(
    client: &kube::Client,
    workloads: &[Workload],
) -> BTreeMap<ResourceId, String> {
    let mut statuses = BTreeMap::new();
    for workload in workloads {
        let Ok(api) = workload_api(client, &workload.id) else {
            continue;
        };
        if let Ok(Some(live)) = api.get_opt(workload.id.name()).await {
            statuses.insert(workload.id.clone(), rollout_status(&live));
        }
    }
    statuses
}

fn rollout_status(live: &DynamicObject) -> String {
    let kind = live.types.as_ref().map_or("", |t| t.kind.as_str());
    tether_controller::fluxd::workloads::rollout_status(live, kind).to_owned()
}

/// `user.name <user.email>` from git's configuration, as fluxctl's default `--user`.
pub fn git_config_user() -> Option<String> {
    let value = |key: &str| {
        let output = std::process::Command::new("git")
            .args(["config", "--get", key])
            .output()
            .ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        Some(text.trim().to_owned()).filter(|t| !t.is_empty())
    };
    match (value("user.name"), value("user.email")) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (name, email) => email.or(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kustomization_paths_become_search_directories() {
        assert!(workload_paths(None).is_empty());
        assert!(workload_paths(Some("./")).is_empty());
        assert!(workload_paths(Some(".")).is_empty());
        assert_eq!(
            workload_paths(Some("./apps/web/")),
            vec![PathBuf::from("apps/web")]
        );
    }

    #[test]
    fn namespaced_names() {
        let parsed = split_namespaced("flux-system/app", "default").expect("valid");
        assert_eq!(parsed, ("flux-system".to_owned(), "app".to_owned()));
        let bare = split_namespaced("app", "team").expect("valid");
        assert_eq!(bare, ("team".to_owned(), "app".to_owned()));
        assert!(split_namespaced("a/b/c", "x").is_err());
        assert!(split_namespaced("/b", "x").is_err());
    }
}
