//! The errors of Flux v1 operations: one variant per step that can fail (clone, locate, scan,
//! plan, edit, commit, push), each naming the repository, workload, file or image and the
//! cause. Messages come from engines that already keep secrets out (URLs without passwords,
//! registry errors without credentials).

use std::path::PathBuf;

use tether_registry::ScanError;
use tether_source::{CommitError, GitError, PushError};
use tether_workloads::release::{ApplyError, ContainersError, ReleaseError};
use tether_workloads::{EditError, LocateError, ResourceId};

/// Why a Flux v1 operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Cloning (or re-fetching after a rejected push) the repository failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The temporary work tree could not be created.
    #[error("creating a work directory for {url}: {source}")]
    WorkDir {
        /// The repository URL, without credentials.
        url: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Reading the workload manifests of the repository failed.
    #[error("reading workloads under {paths} of {url}: {source}")]
    Locate {
        /// The repository URL, without credentials.
        url: String,
        /// The searched directories, comma separated.
        paths: String,
        /// What went wrong.
        source: Box<LocateError>,
    },
    /// A workload named by the request is not defined under the searched paths.
    #[error("workload {id} not found under {paths} of {url}")]
    WorkloadNotFound {
        /// The workload.
        id: ResourceId,
        /// The searched directories, comma separated.
        paths: String,
        /// The repository URL, without credentials.
        url: String,
    },
    /// Listing tags or reading an image from a registry failed (the message starts with the
    /// image).
    #[error("scanning images for {workload}: {source}")]
    Scan {
        /// The workload whose container uses the image.
        workload: ResourceId,
        /// The registry error.
        source: Box<ScanError>,
    },
    /// The tag pattern annotation of a container does not parse.
    #[error("{workload}: container {container}: {reason}")]
    Pattern {
        /// The workload.
        workload: ResourceId,
        /// The container.
        container: String,
        /// Why the pattern is unusable.
        reason: String,
    },
    /// The release request is not valid (an image without tag, ...).
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// An interactive release that cannot go ahead (a container gone or moved on, or no change).
    #[error(transparent)]
    Containers(#[from] ContainersError),
    /// The registry of the image `--update-image` names could not be asked for its tags.
    #[error("checking the released image: {source}")]
    ReleasedImage {
        /// The registry error (it names the image).
        source: Box<ScanError>,
    },
    /// `--update-image` names a tag the registry does not have.
    #[error("image {image} not found in its registry")]
    ImageNotFound {
        /// The image as requested.
        image: String,
    },
    /// Writing new images into the manifests failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// Editing a workload's annotations failed.
    #[error("editing policies of {workload} in {file:?}: {source}")]
    Edit {
        /// The workload.
        workload: ResourceId,
        /// Its file, relative to the repository root.
        file: PathBuf,
        /// The edit error.
        source: Box<EditError>,
    },
    /// Generating manifests or writing a generated workload's update failed.
    #[error("{0}")]
    Generated(crate::store::StoreError),
    /// Reading or writing a manifest failed.
    #[error("{file:?}: {source}")]
    Io {
        /// The file, relative to the repository root.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Recording the change as a commit failed.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// Pushing the commit failed for a reason other than a moved branch.
    #[error(transparent)]
    Push(#[from] PushError),
    /// Every attempt to push was rejected because the branch kept moving.
    #[error("push to {url} rejected {attempts} times: the branch keeps moving: {last}")]
    PushConflict {
        /// The repository URL, without credentials.
        url: String,
        /// How many times the change was re-applied and pushed.
        attempts: u32,
        /// The last rejection.
        last: String,
    },
    /// A blocking step could not be run.
    #[error("{step} did not finish: {reason}")]
    Task {
        /// What was running.
        step: &'static str,
        /// Why it stopped.
        reason: String,
    },
}

impl Error {
    /// True when repeating the operation unchanged cannot help (bad input, bad manifests),
    /// false for network trouble and moving branches.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Git(error) => error.is_terminal(),
            Self::Scan { source, .. } | Self::ReleasedImage { source } => source.is_terminal(),
            Self::Commit(error) => error.is_terminal(),
            Self::Push(error) => error.is_terminal(),
            Self::WorkDir { .. } | Self::Io { .. } | Self::Task { .. } => false,
            Self::PushConflict { .. } => false,
            Self::Locate { .. }
            | Self::WorkloadNotFound { .. }
            | Self::Pattern { .. }
            | Self::Release(_)
            | Self::Containers(_)
            | Self::ImageNotFound { .. }
            | Self::Apply(_)
            | Self::Edit { .. }
            | Self::Generated(_) => true,
        }
    }
}
