//! The GitRepository's `spec.include` step, as source-controller does it: every included
//! GitRepository (same namespace) must exist and have an artifact, else `IncludeUnavailable`;
//! their artifacts are copied into the checkout (`fromPath` → `toPath`) before it is packed,
//! the artifact keeps the including commit's revision, and `status.includedArtifacts` records
//! what went in, so a new artifact of an included repository makes a new artifact here (while
//! it is built, `ArtifactOutdated=True` with reason `IncludeChange`). A repository that
//! includes itself, directly or through others, is refused.

use crate::context::Context;
use crate::failure::Failure;
use crate::status::ConditionSet;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource, ResourceExt};
use std::path::{Path, PathBuf};
use tether_api::meta::Artifact;
use tether_api::meta::conditions::{READY, RECONCILING, reasons};
use tether_api::source::conditions::{ARTIFACT_OUTDATED, reasons::INCLUDE_CHANGE};
use tether_api::source::v1::{GitRepository, GitRepositoryInclude, GitRepositoryStatus};

/// What `ArtifactOutdated` says while a changed include is built in, in Flux's words.
const INCLUDES_DIFFER: &str = "included artifacts differ from last observed includes";

/// The artifacts of `repo`'s includes, in `spec.include` order.
pub async fn included_artifacts(
    repo: &GitRepository,
    ctx: &Context,
) -> Result<Vec<Artifact>, Failure> {
    let includes = repo.spec.include.as_deref().unwrap_or_default();
    if includes.is_empty() {
        return Ok(Vec::new());
    }
    refuse_cycles(repo, &ctx.git_repositories)?;
    let namespace = repo.namespace().unwrap_or_default();
    let api = Api::<GitRepository>::namespaced(ctx.client.clone(), &namespace);
    let mut artifacts = Vec::with_capacity(includes.len());
    for include in includes {
        let name = &include.repository.name;
        let unavailable = |reason: &'static str, message: String| {
            let mut failure = Failure::new(reason, message);
            failure.retry_after = Some(ctx.options.dependency_requeue);
            failure
        };
        let included = match api.get_opt(name).await {
            Ok(Some(included)) => included,
            Ok(None) => {
                return Err(unavailable(
                    "NotFound",
                    format!(
                        "could not get resource for include '{name}': gitrepositories.source.toolkit.fluxcd.io \"{name}\" not found"
                    ),
                ));
            }
            Err(error) => {
                return Err(unavailable(
                    "NotFound",
                    format!("could not get resource for include '{name}': {error}"),
                ));
            }
        };
        let artifact = included
            .status
            .and_then(|status| status.artifact)
            .ok_or_else(|| {
                unavailable(
                    "NoArtifact",
                    format!("no artifact available for include '{name}'"),
                )
            })?;
        artifacts.push(artifact);
    }
    Ok(artifacts)
}

/// Fails when following `spec.include` from `repo` (through the store's copies) leads back to it.
fn refuse_cycles(repo: &GitRepository, store: &Store<GitRepository>) -> Result<(), Failure> {
    let namespace = repo.namespace().unwrap_or_default();
    let start = repo.name_any();
    let includes_of = |name: &str| -> Vec<String> {
        let object = if name == start {
            Some(std::sync::Arc::new(repo.clone()))
        } else {
            store.get(&ObjectRef::new(name).within(&namespace))
        };
        object
            .and_then(|o| o.spec.include.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.repository.name)
            .collect()
    };
    let mut path = vec![start.clone()];
    let mut visited = std::collections::HashSet::new();
    match cycle_from(&start, &start, &includes_of, &mut path, &mut visited) {
        true => Err(Failure::terminal(
            "IncludeCycle",
            format!("include cycle: {}", path.join(" -> ")),
        )),
        false => Ok(()),
    }
}

/// Depth-first search for `start` below `name`; on success `path` holds the cycle.
fn cycle_from(
    start: &str,
    name: &str,
    includes_of: &impl Fn(&str) -> Vec<String>,
    path: &mut Vec<String>,
    visited: &mut std::collections::HashSet<String>,
) -> bool {
    for child in includes_of(name) {
        if child == start {
            path.push(child);
            return true;
        }
        if !visited.insert(child.clone()) {
            continue;
        }
        path.push(child.clone());
        if cycle_from(start, &child, includes_of, path, visited) {
            return true;
        }
        path.pop();
    }
    false
}

/// Whether the stored artifact was built from these includes: the same spec entries and the
/// same revision and digest of each included artifact (Flux's `gitContentConfigChanged`).
pub fn unchanged(repo: &GitRepository, artifacts: &[Artifact]) -> bool {
    let Some(status) = &repo.status else {
        return artifacts.is_empty();
    };
    let spec = repo.spec.include.as_deref().unwrap_or_default();
    let observed = status.observed_include.as_deref().unwrap_or_default();
    let stored = status.included_artifacts.as_deref().unwrap_or_default();
    spec == observed
        && stored.len() == artifacts.len()
        && stored
            .iter()
            .zip(artifacts)
            .all(|(old, new)| old.revision == new.revision && old.digest == new.digest)
}

/// The status to report while the artifact is rebuilt because an included artifact's revision
/// changed since the last one (source-controller's `artifactSet.Diff`, revisions in any order):
/// `ArtifactOutdated=True` reason `IncludeChange`, and Reconciling with Ready Unknown. `None`
/// when nothing was included before (the first build is not outdated) or nothing changed.
pub fn outdated_status(
    repo: &GitRepository,
    artifacts: &[Artifact],
) -> Option<GitRepositoryStatus> {
    let status = repo.status.as_ref()?;
    let previous = status.included_artifacts.as_deref()?;
    let differ = previous.len() != artifacts.len()
        || artifacts
            .iter()
            .any(|new| !previous.iter().any(|old| old.has_revision(&new.revision)));
    if !differ {
        return None;
    }
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), repo.meta().generation);
    conditions.set(ARTIFACT_OUTDATED, true, INCLUDE_CHANGE, INCLUDES_DIFFER);
    let building = format!("building artifact: {INCLUDES_DIFFER}");
    conditions.set(RECONCILING, true, reasons::PROGRESSING, building.clone());
    conditions.set_unknown(READY, reasons::PROGRESSING, building);
    Some(GitRepositoryStatus {
        conditions: Some(conditions.into_sorted()),
        ..status.clone()
    })
}

/// The digests of the included artifacts as the store holds them (for the run fingerprint).
pub fn cached_digests(repo: &GitRepository, store: &Store<GitRepository>) -> Vec<Option<String>> {
    let namespace = repo.namespace().unwrap_or_default();
    repo.spec
        .include
        .iter()
        .flatten()
        .map(|include| {
            store
                .get(&ObjectRef::new(&include.repository.name).within(&namespace))
                .and_then(|included| {
                    included
                        .status
                        .as_ref()?
                        .artifact
                        .as_ref()
                        .map(|a| a.digest.clone())
                })
        })
        .collect()
}

/// The GitRepositories (same namespace) whose `spec.include` names `included`.
pub fn includers_of(
    store: &Store<GitRepository>,
    included: &GitRepository,
) -> Vec<ObjectRef<GitRepository>> {
    let name = included.name_any();
    let namespace = included.namespace();
    store
        .state()
        .iter()
        .filter(|repo| repo.namespace() == namespace)
        .filter(|repo| {
            repo.spec
                .include
                .iter()
                .flatten()
                .any(|include| include.repository.name == name)
        })
        .map(|repo| ObjectRef::from_obj(repo.as_ref()))
        .collect()
}

/// One include to copy: where its tarball is and where it goes.
pub struct IncludeCopy {
    pub name: String,
    pub tarball: PathBuf,
    pub from_path: String,
    pub to_path: String,
}

/// The copies `repo`'s includes ask for, with their artifacts' tarballs in `store_root`.
pub fn planned_copies(
    includes: &[GitRepositoryInclude],
    artifacts: &[Artifact],
    store_root: &Path,
) -> Vec<IncludeCopy> {
    includes
        .iter()
        .zip(artifacts)
        .map(|(include, artifact)| IncludeCopy {
            name: include.repository.name.clone(),
            tarball: store_root.join(&artifact.path),
            from_path: include.from_path.clone().unwrap_or_default(),
            to_path: include.to_path_or_default().to_owned(),
        })
        .collect()
}

/// Copies every include into `checkout` (blocking); Flux's `CopyFailure` names the include.
pub fn copy_all(
    copies: &[IncludeCopy],
    checkout: &Path,
    scratch_root: &Path,
) -> Result<(), Failure> {
    for copy in copies {
        tether_source::include::copy_include(
            &copy.tarball,
            &copy.from_path,
            checkout,
            &copy.to_path,
            scratch_root,
        )
        .map_err(|error| {
            Failure::new(
                "CopyFailure",
                format!(
                    "failed to copy '{}' include from {} to {}: {error}",
                    copy.name, copy.from_path, copy.to_path
                ),
            )
        })?;
    }
    Ok(())
}
