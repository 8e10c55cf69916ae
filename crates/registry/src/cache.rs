//! The tag cache that survives restarts: per canonical image, the last scan's tags (Flux's
//! order: descending by string), scan time and revision, one JSON file each under a
//! directory, replaced atomically (temp file + rename) so a reader never sees half a file and a
//! restarted controller can answer ImagePolicies before its first rescan.

use chrono::{DateTime, Utc};
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many tags Flux reports in `status.lastScanResult.latestTags`.
pub const LATEST_TAGS_COUNT: usize = 10;

/// A cache file that cannot be read or written; names the file and the cause.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Filesystem failure.
    #[error("tag cache {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a cache entry (corrupt or from another format).
    #[error("tag cache {path}: not a tag cache entry: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// One image's last scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedScan {
    /// Canonical image name (`index.docker.io/library/nginx`).
    pub image: String,
    /// Tags after exclusion, sorted descending like Flux stores them.
    pub tags: Vec<String>,
    /// When the scan finished.
    pub scan_time: DateTime<Utc>,
    /// Flux's `status.lastScanResult.revision` for these tags.
    pub revision: String,
}

impl CachedScan {
    /// A scan result: sorts `tags` the way Flux does and computes the revision.
    pub fn new(image: impl Into<String>, mut tags: Vec<String>, scan_time: DateTime<Utc>) -> Self {
        sort_tags_descending(&mut tags);
        let revision = tags_revision(&tags);
        Self {
            image: image.into(),
            tags,
            scan_time,
            revision,
        }
    }

    /// The first [`LATEST_TAGS_COUNT`] tags (`status.lastScanResult.latestTags`).
    pub fn latest_tags(&self) -> &[String] {
        &self.tags[..self.tags.len().min(LATEST_TAGS_COUNT)]
    }
}

/// Sorts tags descending by byte-wise string order, as image-reflector-controller does before
/// storing them.
pub fn sort_tags_descending(tags: &mut [String]) {
    tags.sort_by(|a, b| b.cmp(a));
}

/// Flux's tag-list revision with its default (Badger) storage: the adler32 checksum, in
/// decimal, of the JSON array of the tags in stored order.
pub fn tags_revision(tags: &[String]) -> String {
    let json = serde_json::to_vec(tags).unwrap_or_default();
    adler2::adler32_slice(&json).to_string()
}

/// A directory of cached scans.
#[derive(Debug, Clone)]
pub struct TagCache {
    dir: PathBuf,
}

impl TagCache {
    /// Uses (and creates) `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| CacheError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The file holding `image`'s entry: a hash of the name, so any name is a safe file name.
    pub fn path_for(&self, image: &str) -> PathBuf {
        let hash = sha2::Sha256::digest(image.as_bytes());
        self.dir.join(format!("{hash:x}.json"))
    }

    /// The cached scan of `image`, if there is one.
    pub fn load(&self, image: &str) -> Result<Option<CachedScan>, CacheError> {
        let path = self.path_for(image);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CacheError::Io { path, source }),
        };
        let scan: CachedScan = serde_json::from_slice(&bytes).map_err(|e| CacheError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if scan.image != image {
            return Err(CacheError::Corrupt {
                path,
                message: format!("holds image '{}', not '{image}'", scan.image),
            });
        }
        Ok(Some(scan))
    }

    /// Replaces `scan.image`'s entry atomically.
    pub fn store(&self, scan: &CachedScan) -> Result<(), CacheError> {
        let path = self.path_for(&scan.image);
        let io = |source| CacheError::Io {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_vec(scan).map_err(|e| io(std::io::Error::other(e)))?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
        temp.write_all(&json).map_err(io)?;
        temp.as_file().sync_all().map_err(io)?;
        temp.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Forgets `image` (nothing to do when it has no entry).
    pub fn remove(&self, image: &str) -> Result<(), CacheError> {
        let path = self.path_for(image);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(CacheError::Io { path, source }),
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn revision_is_adler32_of_the_json_array() {
        // adler32 of `[]` and `["v1"]`, as Go's hash/adler32 (and zlib) compute them.
        assert_eq!(tags_revision(&[]), "18153657");
        assert_eq!(tags_revision(&tags(&["v1"])), "98435492");
    }

    #[test]
    fn scans_sort_descending_and_keep_ten_latest() {
        let all: Vec<String> = (0..12).map(|i| format!("1.{i:02}")).collect();
        let scan = CachedScan::new("r.io/app", all, DateTime::UNIX_EPOCH);
        assert_eq!(scan.tags[0], "1.11");
        assert_eq!(scan.latest_tags().len(), 10);
        assert_eq!(scan.latest_tags()[9], "1.02");
        assert_eq!(scan.revision, tags_revision(&scan.tags));
    }

    #[test]
    fn round_trip_survives_reopen() -> Result<(), CacheError> {
        let dir = tempfile::tempdir().map_err(|source| CacheError::Io {
            path: PathBuf::new(),
            source,
        })?;
        let cache = TagCache::open(dir.path().join("tags"))?;
        assert_eq!(cache.load("r.io/app")?, None);
        let scan = CachedScan::new(
            "r.io/app",
            tags(&["a", "c", "b"]),
            DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        );
        cache.store(&scan)?;
        let reopened = TagCache::open(dir.path().join("tags"))?;
        assert_eq!(reopened.load("r.io/app")?, Some(scan.clone()));
        assert_eq!(scan.tags, tags(&["c", "b", "a"]));
        let newer = CachedScan::new("r.io/app", tags(&["d"]), scan.scan_time);
        reopened.store(&newer)?;
        assert_eq!(cache.load("r.io/app")?.map(|s| s.tags), Some(tags(&["d"])));
        reopened.remove("r.io/app")?;
        assert_eq!(cache.load("r.io/app")?, None);
        reopened.remove("r.io/app")?;
        Ok(())
    }

    #[test]
    fn corrupt_entries_name_the_file() -> Result<(), CacheError> {
        let dir = tempfile::tempdir().map_err(|source| CacheError::Io {
            path: PathBuf::new(),
            source,
        })?;
        let cache = TagCache::open(dir.path())?;
        let path = cache.path_for("r.io/app");
        std::fs::write(&path, b"{").map_err(|source| CacheError::Io {
            path: path.clone(),
            source,
        })?;
        let error = cache.load("r.io/app").expect_err("truncated JSON");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        Ok(())
    }
}
