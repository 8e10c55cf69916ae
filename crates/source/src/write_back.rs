//! Writing a change back to a Git branch, the one loop both image automations (Flux v2's
//! ImageUpdateAutomation and Flux v1's annotations and fluxctl verbs) run: edit the work tree,
//! commit, push; a push that a concurrent commit beat is redone from the new remote tip, never
//! forced, a bounded number of times. The edit is the caller's and runs again on every attempt.

use crate::commit::{CommitError, CommitOptions};
use crate::error::GitError;
use crate::push::PushError;
use crate::workdir::WorkingClone;
use std::future::Future;
use std::path::Path;

/// What an edit produced: the commit message (`None`: nothing to commit) and what to report.
pub struct Edited<T> {
    pub message: Option<String>,
    pub report: T,
}

/// A change to a work tree, redone from scratch on every attempt.
pub trait Edit {
    /// What the edit reports.
    type Report;
    /// The caller's error.
    type Error;
    /// Edits the files under `root`.
    fn apply(
        &mut self,
        root: &Path,
    ) -> impl Future<Output = Result<Edited<Self::Report>, Self::Error>> + Send;
}

/// What a write-back did.
#[derive(Debug)]
pub struct Written<T> {
    /// The commit pushed; `None` when the edit asked for none or changed no file.
    pub commit: Option<String>,
    /// The branch pushed to (the checked-out one unless the clone pushes elsewhere).
    pub branch: Option<String>,
    /// The revision the last attempt edited, as `<branch>@sha1:<id>`.
    pub base: String,
    /// What the edit did.
    pub report: T,
}

/// Why a write-back failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error(transparent)]
    Push(#[from] PushError),
    /// Fetching the new remote tip after a rejected push failed.
    #[error(transparent)]
    Reset(#[from] GitError),
    /// The blocking commit task did not finish.
    #[error("commit task failed: {0}")]
    Task(String),
    /// Every attempt was beaten by a concurrent commit.
    #[error("push rejected {attempts} times by concurrent commits; last: {last}")]
    Conflict { attempts: u32, last: String },
}

impl WriteBackError {
    /// Whether retrying without a change cannot help.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Commit(e) => e.is_terminal(),
            Self::Push(e) => e.is_terminal(),
            Self::Reset(e) => e.is_terminal(),
            Self::Task(_) | Self::Conflict { .. } => false,
        }
    }
}

/// Why a write-back stopped: the caller's edit failed, or Git did.
#[derive(Debug)]
pub enum WriteBackFailure<E> {
    Edit(E),
    Git(WriteBackError),
}

impl<E> From<WriteBackError> for WriteBackFailure<E> {
    fn from(error: WriteBackError) -> Self {
        Self::Git(error)
    }
}

/// Runs `edit` on `clone`, commits what it changed with `options` (its message replaced by the
/// edit's) and pushes to `refspec` (the clone's push branch when `None`), redoing all of it from
/// the new tip when the push is rejected, at most `attempts` times.
pub async fn write_back<E: Edit + Send>(
    mut clone: WorkingClone,
    options: &CommitOptions,
    refspec: Option<&str>,
    attempts: u32,
    edit: &mut E,
) -> Result<Written<E::Report>, WriteBackFailure<E::Error>> {
    let attempts = attempts.max(1);
    let mut last_rejection = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            clone
                .reset_to_remote()
                .await
                .map_err(WriteBackError::from)?;
        }
        let base = clone.base().to_string();
        let edited = edit
            .apply(clone.dir())
            .await
            .map_err(WriteBackFailure::Edit)?;
        let Some(message) = edited.message else {
            return Ok(unchanged(base, edited.report));
        };
        let options = CommitOptions {
            message,
            ..options.clone()
        };
        let (returned, committed) = commit(clone, options).await?;
        clone = returned;
        let Some(commit) = committed else {
            return Ok(unchanged(base, edited.report));
        };
        match clone.push(refspec).await {
            Ok(_) => {
                return Ok(Written {
                    commit: Some(commit),
                    branch: clone.push_branch(),
                    base,
                    report: edited.report,
                });
            }
            Err(rejected @ PushError::Rejected { .. }) => {
                tracing::info!(
                    attempt,
                    "push rejected by a concurrent commit; editing again from the new tip"
                );
                last_rejection = rejected.to_string();
            }
            Err(error) => return Err(WriteBackError::from(error).into()),
        }
    }
    Err(WriteBackError::Conflict {
        attempts,
        last: last_rejection,
    }
    .into())
}

fn unchanged<T>(base: String, report: T) -> Written<T> {
    Written {
        commit: None,
        branch: None,
        base,
        report,
    }
}

/// Commits every change of the work tree. Writing a commit is blocking file I/O, so the clone
/// moves to the blocking pool and comes back with the result.
async fn commit(
    clone: WorkingClone,
    options: CommitOptions,
) -> Result<(WorkingClone, Option<String>), WriteBackError> {
    let (clone, result) = tokio::task::spawn_blocking(move || {
        let mut clone = clone;
        let result = clone.commit(&options);
        (clone, result)
    })
    .await
    .map_err(|e| WriteBackError::Task(e.to_string()))?;
    Ok((clone, result?))
}
