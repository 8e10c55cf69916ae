//! Finding workloads in a repository checkout: walking the YAML files under the given paths,
//! confined to the repository root, as fluxd's manifest loader did (`.yaml`/`.yml` files,
//! Helm chart directories skipped, one definition per id across all files).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::id::ResourceId;
use crate::manifest::{ManifestError, Workload, workloads_in_text};

/// Why workloads could not be located.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// A requested path is absolute or climbs out with `..`.
    #[error("path {path:?} must be relative to the repository root and stay inside it")]
    PathOutsideRoot {
        /// The path as given.
        path: PathBuf,
    },
    /// A symbolic link resolves outside the repository root.
    #[error("{path:?} is a symbolic link to {target:?}, outside the repository root")]
    SymlinkEscapes {
        /// The link, relative to the root.
        path: PathBuf,
        /// Where it resolves.
        target: PathBuf,
    },
    /// Reading the file system failed.
    #[error("reading {path:?}: {source}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file is not YAML, or defines a workload twice.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Two files define the same workload.
    #[error("duplicate definition of '{id}' (in {first:?} and {second:?})")]
    Duplicate {
        /// The workload id.
        id: ResourceId,
        /// The file seen first.
        first: PathBuf,
        /// The file seen second.
        second: PathBuf,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LocateError + '_ {
    move |source| LocateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `relative` names something under `root` without `..` or an absolute prefix.
pub(crate) fn confined_relative(relative: &Path) -> Result<(), LocateError> {
    let ok = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok {
        Ok(())
    } else {
        Err(LocateError::PathOutsideRoot {
            path: relative.to_path_buf(),
        })
    }
}

/// Resolves `relative` under the canonical `root`, failing when it (or a link on the way)
/// leads outside.
pub(crate) fn resolve_inside(root: &Path, relative: &Path) -> Result<PathBuf, LocateError> {
    confined_relative(relative)?;
    let joined = root.join(relative);
    let resolved = fs::canonicalize(&joined).map_err(io_error(relative))?;
    if resolved.starts_with(root) {
        Ok(resolved)
    } else {
        Err(LocateError::SymlinkEscapes {
            path: relative.to_path_buf(),
            target: resolved,
        })
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// fluxd skipped directories holding both `Chart.yaml` and `values.yaml`.
fn looks_like_chart(dir: &Path) -> bool {
    dir.join("Chart.yaml").exists() && dir.join("values.yaml").exists()
}

struct Walk<'r> {
    root: &'r Path,
    files: Vec<PathBuf>,
}

impl Walk<'_> {
    /// Collects YAML files under `path` (absolute, inside the root). Linked directories are not
    /// descended into (as Go's `filepath.Walk`); linked files are read when they stay inside.
    fn visit(&mut self, path: &Path) -> Result<(), LocateError> {
        let relative = path.strip_prefix(self.root).unwrap_or(path).to_path_buf();
        let meta = fs::symlink_metadata(path).map_err(io_error(&relative))?;
        if meta.file_type().is_symlink() {
            let target = fs::canonicalize(path).map_err(io_error(&relative))?;
            if !target.starts_with(self.root) {
                return Err(LocateError::SymlinkEscapes {
                    path: relative,
                    target,
                });
            }
            if target.is_file() && is_yaml(path) {
                self.files.push(path.to_path_buf());
            }
            return Ok(());
        }
        if meta.is_dir() {
            if looks_like_chart(path) {
                return Ok(());
            }
            let mut entries = fs::read_dir(path)
                .map_err(io_error(&relative))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io_error(&relative))?;
            entries.sort();
            for entry in entries {
                self.visit(&entry)?;
            }
        } else if meta.is_file() && is_yaml(path) {
            self.files.push(path.to_path_buf());
        }
        Ok(())
    }
}

/// The workloads defined in YAML files under `paths` (relative to `root`; an empty list means
/// the whole root). Each workload's `file` is relative to `root`. Fails on paths or links that
/// leave the root, unreadable files, invalid YAML, and ids defined more than once.
pub fn locate_workloads<P: AsRef<Path>>(
    root: &Path,
    paths: &[P],
) -> Result<Vec<Workload>, LocateError> {
    let root = fs::canonicalize(root).map_err(io_error(root))?;
    let mut walk = Walk {
        root: &root,
        files: Vec::new(),
    };
    let starts: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.iter().map(|p| p.as_ref().to_path_buf()).collect()
    };
    for start in &starts {
        let resolved = resolve_inside(&root, start)?;
        walk.visit(&resolved)?;
    }
    let mut read = std::collections::HashSet::new();
    let mut seen: HashMap<ResourceId, PathBuf> = HashMap::new();
    let mut workloads = Vec::new();
    for file in &walk.files {
        let relative = file.strip_prefix(&root).unwrap_or(file).to_path_buf();
        // Overlapping paths (`.` and `apps/`) reach the same file twice; read it once.
        if !read.insert(file.clone()) {
            continue;
        }
        let text = fs::read_to_string(file).map_err(io_error(&relative))?;
        for workload in workloads_in_text(&text, &relative)? {
            if let Some(first) = seen.get(&workload.id) {
                return Err(LocateError::Duplicate {
                    id: workload.id,
                    first: first.clone(),
                    second: relative,
                });
            }
            seen.insert(workload.id.clone(), relative.clone());
            workloads.push(workload);
        }
    }
    Ok(workloads)
}
