//! `GitRepository.spec.include`: copying (a directory of) another source's artifact into a
//! checkout before it is packed, as source-controller's `Storage.CopyToPath` does. Both paths
//! are joined the way Go's `securejoin` joins them (`..` cannot climb above the root), and
//! nothing is written through a symlink of the checkout.

use crate::artifact::extract_tarball;
use std::path::{Component, Path, PathBuf};

/// Why an include could not be copied.
#[derive(Debug, thiserror::Error)]
pub enum IncludeError {
    /// The destination crosses a symlink of the checkout.
    #[error("path '{path}' crosses the symlink '{link}' of the repository")]
    ThroughSymlink { path: String, link: String },
    /// The included artifact has no such directory.
    #[error("'{from}' does not exist in the included artifact")]
    MissingSource { from: String },
    /// The destination already holds content of the repository.
    #[error("'{to}' already exists in the repository and is not an empty directory")]
    DestinationExists { to: String },
    /// Reading the artifact or writing the checkout failed.
    #[error("{action} '{path}': {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> IncludeError {
    let path = path.display().to_string();
    move |source| IncludeError::Io {
        action,
        path,
        source,
    }
}

/// `root` joined with `relative` with every `..` stopped at `root`, as `securejoin` does
/// lexically; absolute paths are taken relative to `root`.
pub fn join_within(root: &Path, relative: &str) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    parts
        .iter()
        .fold(root.to_path_buf(), |path, part| path.join(part))
}

/// Fails when an existing component of `path` below `root` is a symlink.
fn refuse_symlinks(root: &Path, path: &Path) -> Result<(), IncludeError> {
    let mut current = root.to_path_buf();
    for component in path.strip_prefix(root).unwrap_or(path).components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(IncludeError::ThroughSymlink {
                    path: path.display().to_string(),
                    link: current.display().to_string(),
                });
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// Unpacks the artifact `tarball` in a scratch directory under `scratch_root` and moves its
/// `from_path` (the whole artifact when empty) to `to_path` of `checkout`. An existing empty
/// directory at the destination is replaced; anything else there is an error.
pub fn copy_include(
    tarball: &Path,
    from_path: &str,
    checkout: &Path,
    to_path: &str,
    scratch_root: &Path,
) -> Result<(), IncludeError> {
    let to = join_within(checkout, to_path);
    refuse_symlinks(checkout, &to)?;
    let scratch = tempfile::Builder::new()
        .prefix(".include-")
        .tempdir_in(scratch_root)
        .map_err(io("creating a scratch directory in", scratch_root))?;
    let unpacked = scratch.path().join("unpack");
    extract_tarball(tarball, &unpacked).map_err(|error| IncludeError::Io {
        action: "unpacking",
        path: tarball.display().to_string(),
        source: std::io::Error::other(error.to_string()),
    })?;
    let from = join_within(&unpacked, from_path);
    refuse_symlinks(&unpacked, &from)?;
    if std::fs::symlink_metadata(&from).is_err() {
        return Err(IncludeError::MissingSource {
            from: from_path.to_owned(),
        });
    }
    clear_destination(&to, to_path)?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
    }
    std::fs::rename(&from, &to).map_err(io("moving the include to", &to))
}

/// Removes an empty directory at `to`; fails if anything else is there.
fn clear_destination(to: &Path, shown: &str) -> Result<(), IncludeError> {
    match std::fs::symlink_metadata(to) {
        Err(_) => Ok(()),
        Ok(meta) if meta.is_dir() => {
            let empty = std::fs::read_dir(to)
                .map_err(io("reading", to))?
                .next()
                .is_none();
            if !empty {
                return Err(IncludeError::DestinationExists {
                    to: shown.to_owned(),
                });
            }
            std::fs::remove_dir(to).map_err(io("removing", to))
        }
        Ok(_) => Err(IncludeError::DestinationExists {
            to: shown.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_components_stop_at_the_root() {
        let root = Path::new("/checkout");
        assert_eq!(join_within(root, "../../etc"), Path::new("/checkout/etc"));
        assert_eq!(join_within(root, "/abs/./x"), Path::new("/checkout/abs/x"));
        assert_eq!(join_within(root, "a/../b"), Path::new("/checkout/b"));
        assert_eq!(join_within(root, ""), Path::new("/checkout"));
    }
}
