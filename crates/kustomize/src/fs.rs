//! The filesystems a build reads: a real directory confined to a root, and an in-memory tree.
//!
//! Paths inside a [`FileSystem`] are logical: relative, `/`-separated, normalised (no `.` or
//! `..`), with `""` for the root. [`join`] turns a kustomization-relative reference into such a
//! path and refuses anything that climbs above the root; [`DiskFs`] additionally resolves
//! symlinks and refuses any whose target lies outside the root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Read access to a tree of files.
pub trait FileSystem {
    /// Reads a whole file.
    fn read(&self, path: &str) -> Result<Vec<u8>>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> bool;
    /// Whether `path` is a regular file.
    fn is_file(&self, path: &str) -> bool;
    /// Names of the entries of a directory, sorted.
    fn list(&self, path: &str) -> Result<Vec<String>>;
    /// A displayable form of a logical path (for messages).
    fn display(&self, path: &str) -> PathBuf;
    /// The logical path `path` names once symlinks are resolved (itself when there are none).
    fn real_path(&self, path: &str) -> Result<String> {
        Ok(path.to_string())
    }
}

/// Resolves `reference` against directory `dir`, both logical. Absolute references and
/// references climbing above the root are refused.
pub fn join(fs: &dyn FileSystem, dir: &str, reference: &str) -> Result<String> {
    if reference.starts_with('/') {
        return Err(Error::OutsideRoot {
            path: PathBuf::from(reference),
            root: fs.display(""),
        });
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::OutsideRoot {
                        path: PathBuf::from(reference),
                        root: fs.display(""),
                    });
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Whether logical `path` is `dir` or below it.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

/// A directory on disk; nothing outside it can be read, symlinks included.
#[derive(Debug, Clone)]
pub struct DiskFs {
    root: PathBuf,
    max_file_bytes: u64,
}

impl DiskFs {
    /// Confines reads to `root` (which must exist) and to files of at most `max_file_bytes`.
    pub fn new(root: impl AsRef<Path>, max_file_bytes: u64) -> Result<DiskFs> {
        let root = root.as_ref();
        let canonical = root.canonicalize().map_err(|source| Error::Io {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(DiskFs {
            root: canonical,
            max_file_bytes,
        })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a logical path to a real one, refusing symlinks that leave the root.
    fn resolve(&self, path: &str) -> Result<PathBuf> {
        let joined = self.root.join(path);
        let real = joined
            .canonicalize()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => Error::NotFound {
                    path: joined.clone(),
                },
                _ => Error::Io {
                    path: joined.clone(),
                    source,
                },
            })?;
        if !real.starts_with(&self.root) {
            return Err(Error::OutsideRoot {
                path: joined,
                root: self.root.clone(),
            });
        }
        Ok(real)
    }
}

impl FileSystem for DiskFs {
    fn read(&self, path: &str) -> Result<Vec<u8>> {
        let real = self.resolve(path)?;
        let meta = std::fs::metadata(&real).map_err(|source| Error::Io {
            path: real.clone(),
            source,
        })?;
        if meta.len() > self.max_file_bytes {
            return Err(Error::TooLarge {
                path: real,
                limit: self.max_file_bytes,
            });
        }
        std::fs::read(&real).map_err(|source| Error::Io { path: real, source })
    }

    fn is_dir(&self, path: &str) -> bool {
        self.resolve(path).is_ok_and(|p| p.is_dir())
    }

    fn real_path(&self, path: &str) -> Result<String> {
        let real = self.resolve(path)?;
        let relative = real.strip_prefix(&self.root).unwrap_or(&real);
        Ok(relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"))
    }

    fn is_file(&self, path: &str) -> bool {
        self.resolve(path).is_ok_and(|p| p.is_file())
    }

    fn list(&self, path: &str) -> Result<Vec<String>> {
        let real = self.resolve(path)?;
        let entries = std::fs::read_dir(&real).map_err(|source| Error::Io {
            path: real.clone(),
            source,
        })?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io {
                path: real.clone(),
                source,
            })?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn display(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        }
    }
}

/// An in-memory tree for tests and for callers that already hold the files.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemFs {
    /// An empty tree.
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// Adds (or replaces) a file at a logical path.
    pub fn add(&mut self, path: &str, content: impl Into<Vec<u8>>) -> &mut MemFs {
        let clean: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        self.files.insert(clean.join("/"), content.into());
        self
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &str) -> Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                path: self.display(path),
            })
    }

    fn is_dir(&self, path: &str) -> bool {
        path.is_empty()
            || self
                .files
                .keys()
                .any(|f| f.starts_with(&format!("{path}/")))
    }

    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    fn list(&self, path: &str) -> Result<Vec<String>> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter_map(|f| f.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        if names.is_empty() && !self.is_dir(path) {
            return Err(Error::NotFound {
                path: self.display(path),
            });
        }
        Ok(names)
    }

    fn display(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("/{path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_refuses_escapes() {
        let fs = MemFs::new();
        assert_eq!(join(&fs, "a/b", "../c").ok(), Some("a/c".to_string()));
        assert!(matches!(
            join(&fs, "a", "../../x"),
            Err(Error::OutsideRoot { .. })
        ));
        assert!(matches!(
            join(&fs, "", "/etc/passwd"),
            Err(Error::OutsideRoot { .. })
        ));
    }

    #[test]
    fn disk_refuses_symlinks_out_of_root() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let outside = tempfile::tempdir()?;
        std::fs::write(outside.path().join("secret"), "x")?;
        let root = tempfile::tempdir()?;
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))?;
        let fs = DiskFs::new(root.path(), 1 << 20)?;
        assert!(matches!(fs.read("link"), Err(Error::OutsideRoot { .. })));
        Ok(())
    }

    #[test]
    fn mem_lists_directories() {
        let mut fs = MemFs::new();
        fs.add("a/x.yaml", "").add("a/b/y.yaml", "");
        assert_eq!(
            fs.list("a").ok(),
            Some(vec!["b".to_string(), "x.yaml".to_string()])
        );
        assert!(fs.is_dir("a/b"));
    }
}
