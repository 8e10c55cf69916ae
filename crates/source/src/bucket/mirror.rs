//! A bucket's objects on disk, kept between reconciles so that a new index costs only the
//! objects whose ETag changed: `<dir>/files/<key>` holds the objects, `<dir>/index` the index
//! they were downloaded at. The index file is removed before the files change and written back
//! once they match, so a mirror whose update was cut short is downloaded whole next time.
//! Downloads run a few at a time and share one byte budget.

use super::client::{BucketClient, ByteBudget, Fetched};
use super::index::{EtagIndex, ListedIndex, check_key};
use super::{BucketError, BucketLimits};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinSet;

const FILES: &str = "files";
const INDEX: &str = "index";
/// Downloads in progress, each in its own file until complete.
const PARTIAL: &str = "partial";
/// How many objects are downloaded at once.
const CONCURRENT_DOWNLOADS: usize = 8;

/// The on-disk copy of one bucket.
#[derive(Debug, Clone)]
pub struct Mirror {
    dir: PathBuf,
}

/// What [`Mirror::update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The index the files are at: ETags as the downloads answered them, objects deleted since
    /// the listing left out.
    pub index: EtagIndex,
    /// How many objects were downloaded (the others were already there).
    pub downloaded: usize,
}

impl Mirror {
    /// The mirror kept in `dir` (created when first updated).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory whose tree is the bucket's objects.
    pub fn files(&self) -> PathBuf {
        self.dir.join(FILES)
    }

    /// The index the files were last complete at, if they are.
    pub fn current_index(&self) -> Option<EtagIndex> {
        let text = std::fs::read_to_string(self.dir.join(INDEX)).ok()?;
        let index = EtagIndex::from_text(&text)?;
        let trusted = index.iter().all(|(key, _)| check_key("", key).is_ok());
        trusted.then_some(index)
    }

    /// Brings the files to `listed`: removes what left the bucket or changed, downloads what is
    /// new or changed, each download capped so that the whole stays within `limits`.
    pub async fn update(
        &self,
        client: &BucketClient,
        listed: ListedIndex,
        limits: BucketLimits,
    ) -> Result<Updated, BucketError> {
        let files = self.files();
        let previous = self.current_index();
        self.forget_index()?;
        let previous = match previous {
            Some(index) => index,
            None => {
                remove_tree(&files)?;
                EtagIndex::default()
            }
        };
        remove_stale(&files, &previous, &listed.index)?;
        std::fs::create_dir_all(&files).map_err(BucketError::io("creating", &files))?;
        let (index, downloaded) = self
            .download_changed(client, &previous, listed, limits)
            .await?;
        self.write_index(&index)?;
        Ok(Updated { index, downloaded })
    }

    /// Deletes the mirror.
    pub fn remove(&self) -> Result<(), BucketError> {
        remove_tree(&self.dir)
    }

    /// Downloads the objects of `listed` that `previous` does not hold at the same ETag, at
    /// most [`CONCURRENT_DOWNLOADS`] at a time, all within `limits.max_total_bytes` together
    /// with the objects kept.
    async fn download_changed(
        &self,
        client: &BucketClient,
        previous: &EtagIndex,
        listed: ListedIndex,
        limits: BucketLimits,
    ) -> Result<(EtagIndex, usize), BucketError> {
        let files = self.files();
        let partial = self.dir.join(PARTIAL);
        remove_tree(&partial)?;
        std::fs::create_dir_all(&partial).map_err(BucketError::io("creating", &partial))?;
        let (mut wanted, mut kept_bytes) = (Vec::new(), 0u64);
        for (key, etag) in listed.index.iter() {
            if previous.get(key) == Some(etag) && files.join(key).is_file() {
                kept_bytes += listed.sizes.get(key).copied().unwrap_or_default();
            } else {
                wanted.push((key.to_owned(), etag.to_owned()));
            }
        }
        let budget = Arc::new(ByteBudget::new(limits.max_total_bytes, kept_bytes));
        let mut queue = wanted.into_iter().enumerate();
        let mut running = JoinSet::new();
        let (mut index, mut downloaded) = (listed.index, 0usize);
        loop {
            while running.len() < CONCURRENT_DOWNLOADS {
                let Some((n, (key, etag))) = queue.next() else {
                    break;
                };
                let (client, budget) = (client.clone(), budget.clone());
                let (partial, path) = (partial.join(n.to_string()), files.join(&key));
                running.spawn(async move {
                    let fetched = client.get_object(&key, &partial, &budget).await?;
                    if let Fetched::Written { .. } = fetched {
                        place(&partial, &path)?;
                    }
                    Ok::<_, BucketError>((key, etag, fetched))
                });
            }
            let Some(finished) = running.join_next().await else {
                break;
            };
            let (key, etag, fetched) = finished.map_err(|e| {
                BucketError::io("downloading into", &partial)(std::io::Error::other(e))
            })??;
            match fetched {
                Fetched::Missing => index.remove(&key),
                Fetched::Written { etag: fresh, .. } => {
                    downloaded += 1;
                    if !fresh.is_empty() && fresh != etag {
                        index.insert(key, fresh);
                    }
                }
            }
        }
        remove_tree(&partial)?;
        Ok((index, downloaded))
    }

    fn forget_index(&self) -> Result<(), BucketError> {
        let path = self.dir.join(INDEX);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(BucketError::io("removing", &path)(error))
            }
            _ => Ok(()),
        }
    }

    fn write_index(&self, index: &EtagIndex) -> Result<(), BucketError> {
        let path = self.dir.join(INDEX);
        let partial = self.dir.join(format!("{INDEX}.partial"));
        std::fs::write(&partial, index.to_text()).map_err(BucketError::io("writing", &partial))?;
        std::fs::rename(&partial, &path).map_err(BucketError::io("writing", &path))
    }
}

/// Moves a finished download to its key's path, creating the directories on the way.
fn place(partial: &Path, path: &Path) -> Result<(), BucketError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(BucketError::io("creating", parent))?;
    }
    std::fs::rename(partial, path).map_err(BucketError::io("writing", path))
}

/// Removes the files of keys that are gone or changed, and directories left empty.
fn remove_stale(files: &Path, previous: &EtagIndex, next: &EtagIndex) -> Result<(), BucketError> {
    for (key, etag) in previous.iter() {
        if next.get(key) == Some(etag) {
            continue;
        }
        let path = files.join(key);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(BucketError::io("removing", &path)(error));
            }
            _ => remove_empty_parents(files, &path),
        }
    }
    Ok(())
}

/// Removes `path`'s parent directories up to (not including) `root` while they are empty.
fn remove_empty_parents(root: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(current) = dir {
        if current == root || !current.starts_with(root) || std::fs::remove_dir(current).is_err() {
            return;
        }
        dir = current.parent();
    }
}

fn remove_tree(dir: &Path) -> Result<(), BucketError> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(BucketError::io("removing", dir)(error))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(entries: &[(&str, &str)]) -> EtagIndex {
        let mut index = EtagIndex::default();
        for (key, etag) in entries {
            index.insert(*key, *etag);
        }
        index
    }

    #[test]
    fn stale_files_and_their_empty_directories_go() -> Result<(), BucketError> {
        let dir = tempfile::tempdir().map_err(BucketError::io("creating", Path::new("tmp")))?;
        let files = dir.path().join(FILES);
        for key in [
            "keep.yaml",
            "deep/gone/one.yaml",
            "deep/stay.yaml",
            "changed.yaml",
        ] {
            let path = files.join(key);
            std::fs::create_dir_all(path.parent().expect("has a parent"))
                .map_err(BucketError::io("creating", &path))?;
            std::fs::write(&path, key).map_err(BucketError::io("writing", &path))?;
        }
        let previous = index(&[
            ("keep.yaml", "1"),
            ("deep/gone/one.yaml", "2"),
            ("deep/stay.yaml", "3"),
            ("changed.yaml", "4"),
        ]);
        let next = index(&[
            ("keep.yaml", "1"),
            ("deep/stay.yaml", "3"),
            ("changed.yaml", "5"),
        ]);
        remove_stale(&files, &previous, &next)?;
        assert!(files.join("keep.yaml").is_file());
        assert!(files.join("deep/stay.yaml").is_file());
        assert!(!files.join("changed.yaml").exists());
        assert!(!files.join("deep/gone").exists());
        Ok(())
    }

    #[test]
    fn a_mirror_without_a_complete_index_has_none() -> Result<(), BucketError> {
        let dir = tempfile::tempdir().map_err(BucketError::io("creating", Path::new("tmp")))?;
        let mirror = Mirror::new(dir.path());
        assert_eq!(mirror.current_index(), None);
        mirror.write_index(&index(&[("a.yaml", "1")]))?;
        assert_eq!(mirror.current_index(), Some(index(&[("a.yaml", "1")])));
        mirror.write_index(&index(&[("../escape", "1")]))?;
        assert_eq!(
            mirror.current_index(),
            None,
            "a tampered index is not trusted"
        );
        mirror.forget_index()?;
        assert_eq!(mirror.current_index(), None);
        Ok(())
    }
}
