//! The Git side of Flux v1 operations: which repository and directories hold the workloads
//! ([`Repository`]), how commits are written ([`CommitSettings`]), a working clone in a
//! temporary directory, and the edit → commit → push cycle that, when the branch moved under
//! it, starts again from the new tip and re-applies the edit (history is never forced).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tether_source::{
    Author, CloneSpec, CommitOptions, Edit, Edited, SigningKey, WorkingClone, WriteBackError,
    WriteBackFailure, write_back,
};
use tether_workloads::release::ContainerUpdate;
use tether_workloads::{ResourceId, Workload, locate_workloads};

use crate::error::Error;

/// How often an edit is re-applied on a moved branch before giving up.
pub const DEFAULT_PUSH_ATTEMPTS: u32 = 3;

/// One Git repository and the directories in it that hold workloads (a Kustomization's
/// `spec.path`; empty means the whole repository, as fluxd's default `--git-path`).
#[derive(Debug, Clone)]
pub struct Repository {
    /// Where to clone from and push to.
    pub clone: CloneSpec,
    /// Directories relative to the repository root.
    pub paths: Vec<PathBuf>,
    /// The namespace the syncing Kustomization puts every workload in (`targetNamespace`):
    /// workloads are then named by it, as they are live, whatever namespace Git writes.
    pub target_namespace: Option<String>,
}

impl Repository {
    /// The URL without credentials, for messages.
    pub fn display_url(&self) -> String {
        tether_source::sanitize_url(&self.clone.url)
    }

    fn paths_text(&self) -> String {
        if self.paths.is_empty() {
            return ".".to_owned();
        }
        let paths: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        paths.join(", ")
    }
}

/// How commits are written (fluxd's `--git-user`, `--git-email`, `--git-ci-skip`,
/// `--git-signing-key`).
#[derive(Debug, Clone)]
pub struct CommitSettings {
    /// Author and committer.
    pub author: Author,
    /// Text appended to every commit message (fluxd's `--git-ci-skip-message`; `--git-ci-skip`
    /// alone means [`CI_SKIP_SUFFIX`]); empty for none.
    pub skip_message: String,
    /// OpenPGP key to sign commits with.
    pub signing_key: Option<SigningKey>,
    /// How often an edit is re-applied on a moved branch before giving up (at least 1).
    pub push_attempts: u32,
}

impl Default for CommitSettings {
    /// fluxd's defaults: `Weave Flux <support@weave.works>`, nothing appended to messages.
    fn default() -> Self {
        Self {
            author: Author {
                name: "Weave Flux".to_owned(),
                email: "support@weave.works".to_owned(),
            },
            skip_message: String::new(),
            signing_key: None,
            push_attempts: DEFAULT_PUSH_ATTEMPTS,
        }
    }
}

/// A working clone in a temporary directory removed on drop.
pub(crate) struct WorkTree {
    pub(crate) clone: WorkingClone,
    _dir: tempfile::TempDir,
}

impl WorkTree {
    /// Clones `repo` into a new temporary directory.
    pub(crate) async fn open(repo: &Repository) -> Result<Self, Error> {
        let dir = tempfile::Builder::new()
            .prefix("tether-fluxv1-")
            .tempdir()
            .map_err(|source| Error::WorkDir {
                url: repo.display_url(),
                source,
            })?;
        let clone = WorkingClone::clone_into(repo.clone.clone(), dir.path()).await?;
        Ok(Self { clone, _dir: dir })
    }

    pub(crate) fn root(&self) -> &Path {
        self.clone.dir()
    }
}

/// The workloads defined under `repo.paths` in the work tree at `root`, named as they are live
/// (see [`Repository::target_namespace`]), and the way back to the names Git gives them.
pub(crate) fn workloads_in(repo: &Repository, root: &Path) -> Result<Found, Error> {
    let mut workloads = locate_workloads(root, &repo.paths).map_err(|source| Error::Locate {
        url: repo.display_url(),
        paths: repo.paths_text(),
        source: Box::new(source),
    })?;
    let mut git_ids = HashMap::new();
    if let Some(namespace) = repo.target_namespace.as_deref().filter(|n| !n.is_empty()) {
        for workload in &mut workloads {
            let live = ResourceId::new(namespace, workload.id.kind(), workload.id.name());
            let git = std::mem::replace(&mut workload.id, live.clone());
            git_ids.entry(live).or_insert(git);
        }
    }
    Ok(Found { workloads, git_ids })
}

/// Workloads found in a work tree, by their live ids.
pub(crate) struct Found {
    pub(crate) workloads: Vec<Workload>,
    /// Live id → the id written in Git, where they differ.
    git_ids: HashMap<ResourceId, ResourceId>,
}

impl Found {
    /// The id the manifest in Git carries for the workload live at `id`: what edits look for.
    pub(crate) fn git_id<'a>(&'a self, id: &'a ResourceId) -> &'a ResourceId {
        self.git_ids.get(id).unwrap_or(id)
    }

    /// `updates` addressed to the manifests in Git.
    pub(crate) fn in_git(&self, updates: &[ContainerUpdate]) -> Vec<ContainerUpdate> {
        updates
            .iter()
            .map(|update| ContainerUpdate {
                workload: self.git_id(&update.workload).clone(),
                ..update.clone()
            })
            .collect()
    }
}

/// The workloads of `repo` at the tip of its branch: clones, reads, forgets the clone.
pub async fn read_workloads(repo: &Repository) -> Result<Vec<Workload>, Error> {
    let tree = WorkTree::open(repo).await?;
    let mut workloads = workloads_in(repo, tree.root())?.workloads;
    workloads.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(workloads)
}

/// Fails with [`Error::WorkloadNotFound`] unless `workloads` defines `id`.
pub(crate) fn require_workload<'w>(
    repo: &Repository,
    workloads: &'w [Workload],
    id: &tether_workloads::ResourceId,
) -> Result<&'w Workload, Error> {
    workloads
        .iter()
        .find(|w| &w.id == id)
        .ok_or_else(|| Error::WorkloadNotFound {
            id: id.clone(),
            paths: repo.paths_text(),
            url: repo.display_url(),
        })
}

/// A pushed (or, when the edit changed nothing, not made) commit and the edit's report.
#[derive(Debug)]
pub struct Committed<T> {
    /// The commit id pushed, `None` when the files did not change.
    pub commit: Option<String>,
    /// What the edit did.
    pub report: T,
}

/// What `edit` would do at the tip of the branch, without committing: the edit runs on a
/// temporary clone that is then forgotten.
pub(crate) async fn edit_preview<E: Edit<Error = Error> + Send>(
    repo: &Repository,
    edit: &mut E,
) -> Result<E::Report, Error> {
    let tree = WorkTree::open(repo).await?;
    Ok(edit.apply(tree.root()).await?.report)
}

/// Clones `repo`, runs `edit` on the work tree, commits and pushes (`tether_source::write_back`:
/// an edit without message, or one that changed no file, makes no commit; a pushed commit that
/// the branch moved past is redone from the new tip, at most `settings.push_attempts` times).
pub(crate) async fn edit_commit_push<E>(
    repo: &Repository,
    settings: &CommitSettings,
    edit: &mut E,
) -> Result<Committed<E::Report>, Error>
where
    E: Edit<Error = Error> + Send,
{
    let tree = WorkTree::open(repo).await?;
    let options = CommitOptions {
        author: settings.author.clone(),
        message: String::new(),
        time: SystemTime::now(),
        paths: None,
        signing_key: settings.signing_key.clone(),
    };
    let mut edit = WithSkipMessage {
        inner: edit,
        skip_message: &settings.skip_message,
    };
    let written = write_back(
        tree.clone,
        &options,
        None,
        settings.push_attempts,
        &mut edit,
    )
    .await
    .map_err(|failure| match failure {
        WriteBackFailure::Edit(error) => error,
        WriteBackFailure::Git(WriteBackError::Conflict { attempts, last }) => Error::PushConflict {
            url: repo.display_url(),
            attempts,
            last,
        },
        WriteBackFailure::Git(WriteBackError::Commit(e)) => Error::Commit(e),
        WriteBackFailure::Git(WriteBackError::Push(e)) => Error::Push(e),
        WriteBackFailure::Git(WriteBackError::Reset(e)) => Error::Git(e),
        WriteBackFailure::Git(WriteBackError::Task(reason)) => Error::Task {
            step: "commit",
            reason,
        },
    })?;
    Ok(Committed {
        commit: written.commit,
        report: written.report,
    })
}

/// An edit whose commit message gets fluxd's skip message appended, as fluxd appends it.
struct WithSkipMessage<'e, E> {
    inner: &'e mut E,
    skip_message: &'e str,
}

impl<E: Edit + Send> Edit for WithSkipMessage<'_, E> {
    type Report = E::Report;
    type Error = E::Error;

    async fn apply(&mut self, root: &Path) -> Result<Edited<E::Report>, E::Error> {
        let mut edited = self.inner.apply(root).await?;
        if !self.skip_message.is_empty() {
            edited.message = edited.message.map(|m| m + self.skip_message);
        }
        Ok(edited)
    }
}
