//! Writing planned container updates into the repository's files, each edit format-preserving
//! and verified (see [`crate::set_container_image`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::plan::ContainerUpdate;
use crate::edit::{EditError, set_container_image};
use crate::locate::{LocateError, resolve_inside};

/// A file whose text changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file, relative to the repository root.
    pub path: PathBuf,
    /// Its new text.
    pub text: String,
}

/// Why a plan could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// An update names a file outside the root (or one that does not exist).
    #[error(transparent)]
    Path(#[from] LocateError),
    /// Reading or writing a file failed.
    #[error("{path:?}: {source}")]
    Io {
        /// The file, relative to the root.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// An edit failed.
    #[error("updating {path:?}: {source}")]
    Edit {
        /// The file, relative to the root.
        path: PathBuf,
        /// The edit error.
        source: Box<EditError>,
    },
}

/// The new text of every file `updates` change, without writing anything; files come in the
/// order of their first update.
pub fn render_updates(
    root: &Path,
    updates: &[ContainerUpdate],
) -> Result<Vec<FileChange>, ApplyError> {
    let root = fs::canonicalize(root).map_err(|source| ApplyError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let mut files: Vec<&Path> = Vec::new();
    for update in updates {
        if !files.contains(&update.file.as_path()) {
            files.push(&update.file);
        }
    }
    let mut changes = Vec::new();
    for file in files {
        let absolute = resolve_inside(&root, file)?;
        let original = fs::read_to_string(&absolute).map_err(|source| ApplyError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let mut text = original.clone();
        for update in updates.iter().filter(|u| u.file == file) {
            text = set_container_image(
                &text,
                &update.workload,
                &update.container,
                &update.new_image,
            )
            .map_err(|source| ApplyError::Edit {
                path: file.to_path_buf(),
                source: Box::new(source),
            })?;
        }
        if text != original {
            changes.push(FileChange {
                path: file.to_path_buf(),
                text,
            });
        }
    }
    Ok(changes)
}

/// Applies `updates` to the files under `root` and returns the files that changed (relative
/// to `root`). Every edit is computed and verified before the first file is written.
pub fn apply_updates(root: &Path, updates: &[ContainerUpdate]) -> Result<Vec<PathBuf>, ApplyError> {
    let changes = render_updates(root, updates)?;
    let root = fs::canonicalize(root).map_err(|source| ApplyError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for change in changes {
        let absolute = resolve_inside(&root, &change.path)?;
        fs::write(&absolute, &change.text).map_err(|source| ApplyError::Io {
            path: change.path.clone(),
            source,
        })?;
        written.push(change.path);
    }
    Ok(written)
}
