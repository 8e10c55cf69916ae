//! A working clone for image automation: the branch to update is fetched into a directory with
//! a work tree the caller edits, then [`WorkingClone::commit`] records the edits and
//! [`WorkingClone::push`] sends them. When a push is rejected because the remote moved,
//! [`WorkingClone::reset_to_remote`] starts over from the new remote tip so the caller can
//! re-apply its change, commit and push again (history is never rewritten).
//!
//! Like Flux's image-automation-controller, when the push branch differs from the checkout
//! reference and already exists on the remote, commits are made on top of the push branch;
//! otherwise the push branch is created from the checkout reference.

use crate::auth::GitAuth;
use crate::commit::{self, CommitError, CommitOptions};
use crate::error::GitError;
use crate::fetch::{checkout, remote_head, remote_is_empty};
use crate::push::{self, PushError, PushOutcome, PushPlan};
use crate::reference::{GitReference, Revision, Strategy};
use crate::transport::Target;
use gix::ObjectId;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a working clone comes from and goes to (an ImageUpdateAutomation's `git` spec plus the
/// GitRepository's URL and Secret).
#[derive(Debug, Clone)]
pub struct CloneSpec {
    pub url: String,
    /// `git.checkout.ref`: branch, tag, semver, name or commit.
    pub checkout: GitReference,
    /// `git.push.branch`; `None` pushes to the checkout branch.
    pub push_branch: Option<String>,
    pub auth: GitAuth,
    /// Deadline of each network operation.
    pub timeout: Duration,
}

impl CloneSpec {
    /// The push branch when it is set and is not the checked-out branch.
    fn distinct_push_branch(&self) -> Option<&str> {
        let push = self.push_branch.as_deref().filter(|b| !b.is_empty())?;
        match self.checkout.strategy() {
            Strategy::Branch(branch) if branch == push => None,
            _ => Some(push),
        }
    }

    /// The branch commits go to: the push branch, or else the checkout branch.
    fn target_branch(&self) -> Option<String> {
        if let Some(push) = self.push_branch.as_deref().filter(|b| !b.is_empty()) {
            return Some(push.to_owned());
        }
        match self.checkout.strategy() {
            Strategy::Branch(branch) => Some(branch),
            _ => None,
        }
    }
}

/// A clone with a work tree, the commit it was made from and the commit made on top of it.
#[derive(Debug)]
pub struct WorkingClone {
    spec: CloneSpec,
    dir: PathBuf,
    base: Revision,
    base_id: ObjectId,
    head: ObjectId,
}

impl WorkingClone {
    /// Fetches the branch to update into `dir` (created if missing; it must be empty) and
    /// checks it out.
    ///
    /// A repository with no refs at all (created, never pushed to) gives an empty work tree on
    /// a new repository, as Flux's bootstrap clone does: the first commit has no parent and
    /// the first push creates the branch.
    pub async fn clone_into(spec: CloneSpec, dir: &Path) -> Result<Self, GitError> {
        let base = match fetch_base(&spec, dir).await {
            Err(GitError::ReferenceNotFound { url, reference }) => {
                if !remote_is_empty(&spec.url, &spec.auth, spec.timeout).await? {
                    return Err(GitError::ReferenceNotFound { url, reference });
                }
                init_empty(&spec, dir)?
            }
            other => other?,
        };
        let base_id = parse_commit(&spec, &base)?;
        Ok(Self {
            spec,
            dir: dir.to_path_buf(),
            base,
            base_id,
            head: base_id,
        })
    }

    /// The work tree to edit.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The remote commit the work tree started from.
    pub fn base(&self) -> &Revision {
        &self.base
    }

    /// The newest local commit: the last one [`Self::commit`] made, or the base commit.
    pub fn head(&self) -> String {
        self.head.to_string()
    }

    /// The branch [`Self::push`] updates, if there is one.
    pub fn push_branch(&self) -> Option<String> {
        self.spec.target_branch()
    }

    /// Replaces the credentials used by later pushes and resets (the Secret changed).
    pub fn set_auth(&mut self, auth: GitAuth) {
        self.spec.auth = auth;
    }

    /// Commits every change in the work tree (or under `options.paths`) on top of the head
    /// commit. Returns the new commit id, or `None` when nothing changed. Blocking file I/O.
    pub fn commit(&mut self, options: &CommitOptions) -> Result<Option<String>, CommitError> {
        let repo = gix::open_opts(&self.dir, gix::open::Options::isolated()).map_err(|e| {
            CommitError::Repository {
                dir: self.dir.clone(),
                detail: e.to_string(),
            }
        })?;
        let commit = commit::commit_worktree(&repo, &self.dir, self.head, options)?;
        if let Some(id) = commit {
            self.head = id;
        }
        Ok(commit.map(|id| id.to_string()))
    }

    /// Pushes the head commit to the push branch and, with `refspec` (`git.push.refspec`), to
    /// its destination too. Never forces: a destination that moved since the clone is
    /// [`PushError::Rejected`]; call [`Self::reset_to_remote`], re-apply and push again.
    pub async fn push(&self, refspec: Option<&str>) -> Result<PushOutcome, PushError> {
        let target = Target::new(&self.spec.url, &self.spec.auth)?;
        let url = target.display_url.clone();
        // As in Flux, a push needs a branch even when a refspec is given.
        let branch = self
            .spec
            .target_branch()
            .ok_or_else(|| PushError::NoDestination { url: url.clone() })?;
        let full = push::full_branch_ref(&branch).map_err(|reason| PushError::InvalidRefspec {
            url: url.clone(),
            refspec: branch.clone(),
            reason,
        })?;
        let mut destinations = vec![full];
        if let Some(refspec) = refspec.filter(|r| !r.is_empty()) {
            let full = push::refspec_destination(refspec, &branch).map_err(|reason| {
                PushError::InvalidRefspec {
                    url: url.clone(),
                    refspec: refspec.to_owned(),
                    reason,
                }
            })?;
            if !destinations.contains(&full) {
                destinations.push(full);
            }
        }
        let plan = PushPlan {
            dir: self.dir.clone(),
            head: self.head,
            base: self.base_id,
            destinations,
            timeout: self.spec.timeout,
        };
        push::push(target, plan).await
    }

    /// Throws away local commits and edits and checks out the remote's current tip again (the
    /// push branch if it exists, else the checkout reference). Returns the new base.
    pub async fn reset_to_remote(&mut self) -> Result<&Revision, GitError> {
        clear_dir(&self.spec, &self.dir)?;
        let base = fetch_base(&self.spec, &self.dir).await?;
        self.base_id = parse_commit(&self.spec, &base)?;
        self.head = self.base_id;
        self.base = base;
        Ok(&self.base)
    }
}

async fn fetch_base(spec: &CloneSpec, dir: &Path) -> Result<Revision, GitError> {
    let reference = match spec.distinct_push_branch() {
        Some(branch) => {
            let push_ref = GitReference::branch(branch);
            match remote_head(&spec.url, &push_ref, &spec.auth, spec.timeout).await {
                Ok(_) => push_ref,
                Err(GitError::ReferenceNotFound { .. }) => spec.checkout.clone(),
                Err(error) => return Err(error),
            }
        }
        None => spec.checkout.clone(),
    };
    let out = checkout(&spec.url, &reference, &spec.auth, spec.timeout, dir).await?;
    Ok(out.revision)
}

/// A new repository in `dir` for an empty remote; its base is no commit.
fn init_empty(spec: &CloneSpec, dir: &Path) -> Result<Revision, GitError> {
    let failed = |e: String| GitError::Checkout {
        url: crate::error::sanitize_url(&spec.url),
        detail: format!("initializing '{}': {e}", dir.display()),
    };
    clear_dir(spec, dir)?;
    let repo = gix::init(dir).map_err(|e| failed(e.to_string()))?;
    // The tree the first commit is compared with.
    repo.write_object(gix::objs::Tree::empty())
        .map_err(|e| failed(e.to_string()))?;
    let branch = spec.target_branch().unwrap_or_default();
    Ok(Revision::short(
        &format!("refs/heads/{branch}"),
        String::new(),
    ))
}

/// The commit of `revision`; the null id for the base of an empty repository.
fn parse_commit(spec: &CloneSpec, revision: &Revision) -> Result<ObjectId, GitError> {
    if revision.commit.is_empty() {
        return Ok(ObjectId::null(gix::hash::Kind::Sha1));
    }
    ObjectId::from_hex(revision.commit.as_bytes()).map_err(|e| GitError::Checkout {
        url: crate::error::sanitize_url(&spec.url),
        detail: format!("checked-out commit '{}': {e}", revision.commit),
    })
}

/// Removes everything inside `dir`, keeping `dir` itself.
fn clear_dir(spec: &CloneSpec, dir: &Path) -> Result<(), GitError> {
    let failed = |e: std::io::Error| GitError::Checkout {
        url: crate::error::sanitize_url(&spec.url),
        detail: format!("clearing '{}': {e}", dir.display()),
    };
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let entry = entry.map_err(failed)?;
        let path = entry.path();
        if entry.file_type().map_err(failed)?.is_dir() {
            std::fs::remove_dir_all(&path).map_err(failed)?;
        } else {
            std::fs::remove_file(&path).map_err(failed)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(checkout: GitReference, push_branch: Option<&str>) -> CloneSpec {
        CloneSpec {
            url: "https://example.com/r.git".into(),
            checkout,
            push_branch: push_branch.map(str::to_owned),
            auth: GitAuth::default(),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn push_branch_defaults_to_the_checkout_branch() {
        let same = spec(GitReference::branch("main"), Some("main"));
        assert_eq!(same.distinct_push_branch(), None);
        assert_eq!(same.target_branch().as_deref(), Some("main"));
        let other = spec(GitReference::branch("main"), Some("auto"));
        assert_eq!(other.distinct_push_branch(), Some("auto"));
        assert_eq!(other.target_branch().as_deref(), Some("auto"));
        let unset = spec(GitReference::branch("main"), None);
        assert_eq!(unset.target_branch().as_deref(), Some("main"));
        let tag = spec(GitReference::tag("v1"), None);
        assert_eq!(tag.target_branch(), None);
        assert_eq!(
            spec(GitReference::default(), Some(""))
                .target_branch()
                .as_deref(),
            Some("master")
        );
    }
}
