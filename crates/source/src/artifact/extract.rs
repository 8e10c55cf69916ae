//! Unpacking an artifact tarball into a directory without letting any entry escape it: entry
//! names must be relative with no `..`; nothing is written through an existing symlink; a
//! symlink entry may only point inside the root (judged lexically from its own directory);
//! hard links, devices and fifos are refused.

use super::ArtifactError;
use flate2::read::GzDecoder;
use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// Bounds on what one extraction may write, against decompression bombs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Total bytes of the regular files.
    pub max_bytes: u64,
    /// Number of entries of any kind.
    pub max_entries: usize,
}

impl ExtractLimits {
    /// No bounds: for tarballs this process packed itself.
    pub const NONE: Self = Self {
        max_bytes: u64::MAX,
        max_entries: usize::MAX,
    };
}

/// Extracts the gzipped tarball at `tarball` into `dest` (created if missing). Fails on the
/// first unsafe entry; entries before it may already be written.
pub fn extract_tarball(tarball: &Path, dest: &Path) -> Result<(), ArtifactError> {
    extract_tarball_within(tarball, dest, ExtractLimits::NONE)
}

/// [`extract_tarball`] for a tarball from elsewhere: fails as soon as the entries or the bytes
/// would pass `limits`.
pub fn extract_tarball_within(
    tarball: &Path,
    dest: &Path,
    limits: ExtractLimits,
) -> Result<(), ArtifactError> {
    let (mut entries_seen, mut bytes_seen) = (0usize, 0u64);
    std::fs::create_dir_all(dest).map_err(ArtifactError::io("creating", dest))?;
    let file = File::open(tarball).map_err(ArtifactError::io("opening", tarball))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let entries = archive
        .entries()
        .map_err(ArtifactError::io("reading", tarball))?;
    for entry in entries {
        let mut entry = entry.map_err(ArtifactError::io("reading", tarball))?;
        entries_seen += 1;
        bytes_seen = bytes_seen.saturating_add(entry.header().size().unwrap_or(u64::MAX));
        if entries_seen > limits.max_entries {
            return Err(ArtifactError::TooLarge {
                what: "entries",
                limit: limits.max_entries as u64,
            });
        }
        if bytes_seen > limits.max_bytes {
            return Err(ArtifactError::TooLarge {
                what: "bytes once extracted",
                limit: limits.max_bytes,
            });
        }
        let raw = entry
            .path()
            .map_err(ArtifactError::io("reading", tarball))?
            .into_owned();
        let shown = raw.display().to_string();
        let relative = confined_relative(&raw).map_err(|reason| unsafe_entry(&shown, reason))?;
        if relative.as_os_str().is_empty() {
            continue;
        }
        refuse_symlinked_parents(dest, &relative).map_err(|reason| unsafe_entry(&shown, reason))?;
        let target = dest.join(&relative);
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(ArtifactError::io("creating", &target))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(ArtifactError::io("creating", parent))?;
                }
                entry
                    .unpack(&target)
                    .map_err(ArtifactError::io("writing", &target))?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(ArtifactError::io("reading", tarball))?
                    .ok_or_else(|| unsafe_entry(&shown, "symlink without target"))?
                    .into_owned();
                symlink_stays_inside(&relative, &link)
                    .map_err(|reason| unsafe_entry(&shown, reason))?;
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(ArtifactError::io("creating", parent))?;
                }
                std::os::unix::fs::symlink(&link, &target)
                    .map_err(ArtifactError::io("linking", &target))?;
            }
            other => {
                return Err(unsafe_entry(
                    &shown,
                    &format!("entry type {other:?} refused"),
                ));
            }
        }
    }
    Ok(())
}

fn unsafe_entry(entry: &str, reason: &str) -> ArtifactError {
    ArtifactError::UnsafeEntry {
        entry: entry.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The entry name as a clean relative path, or why it is refused.
fn confined_relative(name: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("path contains '..'"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path"),
        }
    }
    Ok(out)
}

/// Refuses when any existing ancestor of `relative` under `root` is a symlink, so writes never
/// follow a link planted by an earlier entry.
fn refuse_symlinked_parents(root: &Path, relative: &Path) -> Result<(), &'static str> {
    let mut current = root.to_path_buf();
    let parents: Vec<_> = relative.components().collect();
    for part in parents.iter().take(parents.len().saturating_sub(1)) {
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => return Err("parent is a symlink"),
            _ => {}
        }
    }
    Ok(())
}

/// Checks lexically that `link`, resolved from the directory of `entry`, stays in the root.
/// `..` is only accepted before the first normal component: after one, the component could be
/// a symlink and `..` would climb from wherever that points.
fn symlink_stays_inside(entry: &Path, link: &Path) -> Result<(), &'static str> {
    if link.is_absolute() {
        return Err("symlink target is absolute");
    }
    let mut depth: usize = entry.components().count().saturating_sub(1);
    let mut descended = false;
    for component in link.components() {
        match component {
            Component::Normal(_) => {
                depth += 1;
                descended = true;
            }
            Component::CurDir => {}
            Component::ParentDir if descended => {
                return Err("symlink target has '..' after a path component");
            }
            Component::ParentDir => {
                depth = depth
                    .checked_sub(1)
                    .ok_or("symlink target escapes the root")?;
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("symlink target is absolute");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_are_cleaned() {
        assert_eq!(
            confined_relative(Path::new("./a/./b")),
            Ok(PathBuf::from("a/b"))
        );
        assert!(confined_relative(Path::new("a/../../b")).is_err());
        assert!(confined_relative(Path::new("/etc/passwd")).is_err());
    }

    #[test]
    fn symlink_targets_are_confined() {
        assert!(symlink_stays_inside(Path::new("a/link"), Path::new("../b")).is_ok());
        assert!(symlink_stays_inside(Path::new("a/link"), Path::new("../../b")).is_err());
        assert!(symlink_stays_inside(Path::new("link"), Path::new("/etc")).is_err());
        assert!(symlink_stays_inside(Path::new("link"), Path::new("x/../..")).is_err());
        assert!(symlink_stays_inside(Path::new("link"), Path::new("s/..")).is_err());
    }
}
