//! `GitRepository.spec.sparseCheckout`: a checkout narrowed to some directories, as
//! source-controller gets it from go-git's sparse checkout. Only what lies under one of the
//! directories stays (files at the root and in other directories go), and every directory must
//! exist afterwards, else the fetch fails with source-controller's message. Directories are
//! taken as Flux takes them: a leading `./` is dropped, and `..` cannot climb above the root
//! (`securejoin`).

use std::path::{Component, Path, PathBuf};

/// Why a checkout could not be narrowed.
#[derive(Debug, thiserror::Error)]
pub enum SparseError {
    /// A listed directory is not in the repository (or is not a directory).
    #[error(
        "failed to sparse checkout directories : sparse checkout dir '{dir}' does not exist in repository"
    )]
    Missing { dir: String },
    /// Removing what lies outside the directories failed.
    #[error("failed to sparse checkout directories : remove '{path}': {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Removes from the work tree at `root` everything that is not under one of `dirs` (the `.git`
/// directory stays), then checks that each of `dirs` exists. An empty list, or a directory that
/// names the root itself, keeps everything.
pub fn narrow_to(root: &Path, dirs: &[String]) -> Result<(), SparseError> {
    let kept: Vec<PathBuf> = dirs.iter().map(|dir| within_root(dir)).collect();
    if kept.is_empty() || kept.iter().any(|dir| dir.as_os_str().is_empty()) {
        return Ok(());
    }
    prune(root, Path::new(""), &kept)?;
    for (dir, relative) in dirs.iter().zip(&kept) {
        let present = std::fs::symlink_metadata(root.join(relative)).is_ok_and(|m| m.is_dir());
        if !present {
            return Err(SparseError::Missing { dir: dir.clone() });
        }
    }
    Ok(())
}

/// `dir` as a path relative to the root: `.` and leading `/` dropped, `..` stopped at the root.
fn within_root(dir: &str) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(dir).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    parts.iter().collect()
}

/// Walks `root/relative`, keeping subtrees under a kept directory, descending into the
/// directories above one, and removing the rest.
fn prune(root: &Path, relative: &Path, kept: &[PathBuf]) -> Result<(), SparseError> {
    let here = root.join(relative);
    let entries = std::fs::read_dir(&here).map_err(|source| io_error(&here, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io_error(&here, source))?;
        let path = relative.join(entry.file_name());
        if relative.as_os_str().is_empty() && entry.file_name() == ".git" {
            continue;
        }
        if kept.iter().any(|dir| path.starts_with(dir)) {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|source| io_error(&entry.path(), source))?;
        let above_kept = kept.iter().any(|dir| dir.starts_with(&path));
        if above_kept && file_type.is_dir() {
            prune(root, &path, kept)?;
        } else if file_type.is_dir() {
            std::fs::remove_dir_all(entry.path())
                .map_err(|source| io_error(&entry.path(), source))?;
        } else {
            std::fs::remove_file(entry.path()).map_err(|source| io_error(&entry.path(), source))?;
        }
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> SparseError {
    SparseError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temp dir");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
            std::fs::write(path, "x").expect("a file");
        }
        dir
    }

    fn files(root: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).expect("readable") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(root).expect("below the root");
                    found.push(relative.display().to_string());
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn only_the_listed_directories_stay() {
        let root = tree(&[
            "README.md",
            "apps/prod/a.yaml",
            "apps/prod/deep/b.yaml",
            "apps/dev/c.yaml",
            "apps/top.yaml",
            "infra/d.yaml",
            "infra2/e.yaml",
            ".git/HEAD",
        ]);
        narrow_to(root.path(), &["./apps/prod".into(), "infra/".into()]).expect("narrowed");
        assert_eq!(
            files(root.path()),
            [
                ".git/HEAD",
                "apps/prod/a.yaml",
                "apps/prod/deep/b.yaml",
                "infra/d.yaml"
            ]
        );
    }

    #[test]
    fn a_missing_or_file_directory_fails_with_fluxs_message() {
        let root = tree(&["apps/a.yaml", "file.yaml"]);
        let error = narrow_to(root.path(), &["apps".into(), "nope".into()]).expect_err("missing");
        assert_eq!(
            error.to_string(),
            "failed to sparse checkout directories : sparse checkout dir 'nope' does not exist in repository"
        );
        let root = tree(&["apps/a.yaml", "file.yaml"]);
        assert!(narrow_to(root.path(), &["file.yaml".into()]).is_err());
    }

    #[test]
    fn parent_segments_cannot_climb_out_and_the_root_keeps_everything() {
        let outside = tree(&["keep.yaml"]);
        let root = tree(&["apps/a.yaml", "b.yaml"]);
        narrow_to(root.path(), &["../../apps".into()]).expect("clamped to apps");
        assert_eq!(files(root.path()), ["apps/a.yaml"]);
        assert_eq!(files(outside.path()), ["keep.yaml"]);
        let root = tree(&["apps/a.yaml", "b.yaml"]);
        narrow_to(root.path(), &["./".into()]).expect("the root");
        assert_eq!(files(root.path()), ["apps/a.yaml", "b.yaml"]);
    }
}
