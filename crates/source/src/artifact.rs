//! The artifact store: checkouts packed into gzipped tarballs under
//! `<root>/<kind>/<namespace>/<name>/<file>`, with Flux's `sha256:<hex>` digest and size, and
//! garbage collection of old tarballs. Tarballs are normalised as in source-controller: only
//! regular files and directories, names relative to the checkout, owner 0, zero mtime, modes
//! 0750 (dirs), 0700 (executables), 0600 (files). Extraction is in [`extract_tarball`].

use crate::fetch::Checkout;
use crate::sourceignore::{IgnoreError, SourceIgnore};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

mod extract;
pub use extract::{ExtractLimits, extract_tarball, extract_tarball_within};

/// Failures of the artifact store.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Reading the source tree or writing the store failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The ignore rules could not be loaded.
    #[error(transparent)]
    Ignore(#[from] IgnoreError),
    /// A tarball entry would land outside the extraction root or is of a refused kind.
    #[error("unsafe tarball entry '{entry}': {reason}")]
    UnsafeEntry { entry: String, reason: String },
    /// A tarball holds more than an extraction allows.
    #[error("tarball has more than {limit} {what}")]
    TooLarge { what: &'static str, limit: u64 },
}

impl ArtifactError {
    /// Bad ignore patterns and hostile tarballs do not fix themselves; I/O may.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::Io { .. })
    }

    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

/// Identifies the source object an artifact belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactOwner {
    /// The object's kind, e.g. `GitRepository` (stored lowercased, as Flux does).
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ArtifactOwner {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// `<kind>/<namespace>/<name>` relative to the store root.
    pub fn dir(&self) -> PathBuf {
        Path::new(&self.kind.to_ascii_lowercase())
            .join(&self.namespace)
            .join(&self.name)
    }
}

/// A stored tarball, as reported in a source's `status.artifact`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the store root: `<kind>/<namespace>/<name>/<file>`.
    pub path: String,
    /// The source revision, e.g. `main@sha1:<hex>`.
    pub revision: String,
    /// `sha256:<hex>` of the tarball bytes.
    pub digest: String,
    /// Tarball size in bytes.
    pub size: u64,
}

/// Tarballs under one root directory.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

impl ArtifactStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Absolute path of a stored artifact.
    pub fn local_path(&self, artifact: &Artifact) -> PathBuf {
        self.root.join(&artifact.path)
    }

    /// Packs a git checkout as `<commit>.tar.gz` (Flux's file name) with its revision string,
    /// honouring `.sourceignore` files and `spec_ignore`.
    pub fn archive_checkout(
        &self,
        owner: &ArtifactOwner,
        checkout: &Checkout,
        spec_ignore: Option<&str>,
    ) -> Result<Artifact, ArtifactError> {
        let filter = SourceIgnore::load(&checkout.dir, spec_ignore)?;
        let file_name = format!("{}.tar.gz", checkout.revision.commit);
        self.archive_dir(
            owner,
            &checkout.revision.to_string(),
            &file_name,
            &checkout.dir,
            &filter,
        )
    }

    /// Packs `dir` (minus what `filter` ignores) into `<owner dir>/<file_name>`, written to a
    /// temp file and renamed into place so readers never see a partial tarball.
    pub fn archive_dir(
        &self,
        owner: &ArtifactOwner,
        revision: &str,
        file_name: &str,
        dir: &Path,
        filter: &SourceIgnore,
    ) -> Result<Artifact, ArtifactError> {
        self.write_atomically(owner, revision, file_name, |hashing, target| {
            let mut tar = tar::Builder::new(GzEncoder::new(hashing, Compression::default()));
            append_tree(&mut tar, dir, dir, filter)?;
            let gzip = tar
                .into_inner()
                .map_err(ArtifactError::io("writing", target))?;
            gzip.finish().map_err(ArtifactError::io("writing", target))
        })
    }

    /// Stores the file at `source` unchanged as `<owner dir>/<file_name>` (an OCI layer taken
    /// as it is), renamed into place so readers never see a partial file.
    pub fn store_file(
        &self,
        owner: &ArtifactOwner,
        revision: &str,
        file_name: &str,
        source: &Path,
    ) -> Result<Artifact, ArtifactError> {
        self.write_atomically(owner, revision, file_name, |mut hashing, _| {
            let mut input = File::open(source).map_err(ArtifactError::io("opening", source))?;
            io::copy(&mut input, &mut hashing).map_err(ArtifactError::io("copying", source))?;
            Ok(hashing)
        })
    }

    /// Writes `<owner dir>/<file_name>` through `write` (given a hashing writer and the target
    /// path, returning the writer) into a temp file beside it, then renames it into place.
    fn write_atomically(
        &self,
        owner: &ArtifactOwner,
        revision: &str,
        file_name: &str,
        write: impl for<'f> FnOnce(HashingWriter<'f>, &Path) -> Result<HashingWriter<'f>, ArtifactError>,
    ) -> Result<Artifact, ArtifactError> {
        let relative = owner.dir().join(file_name);
        let target = self.root.join(&relative);
        let parent = target.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(ArtifactError::io("creating", parent))?;
        let temp = tempfile::NamedTempFile::new_in(parent)
            .map_err(ArtifactError::io("creating temp file in", parent))?;
        let (digest, size) = write(HashingWriter::new(temp.as_file()), &target)?.finish();
        temp.persist(&target)
            .map_err(|e| ArtifactError::io("renaming into", &target)(e.error))?;
        set_mode(&target, 0o600).map_err(ArtifactError::io("chmod", &target))?;
        Ok(Artifact {
            path: relative.to_string_lossy().into_owned(),
            revision: revision.to_owned(),
            digest,
            size,
        })
    }

    /// Deletes all but the `keep` newest tarballs of `owner` (by modification time), never the
    /// `current` one. Returns the deleted paths.
    pub fn garbage_collect(
        &self,
        owner: &ArtifactOwner,
        current: &Artifact,
        keep: usize,
    ) -> Result<Vec<PathBuf>, ArtifactError> {
        let dir = self.root.join(owner.dir());
        let current_path = self.local_path(current);
        let mut candidates = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(ArtifactError::io("listing", &dir)(error)),
        };
        for entry in entries {
            let entry = entry.map_err(ArtifactError::io("listing", &dir))?;
            let path = entry.path();
            let meta = entry
                .metadata()
                .map_err(ArtifactError::io("inspecting", &path))?;
            let is_tarball = path.to_string_lossy().ends_with(".tar.gz");
            if meta.is_file() && is_tarball && path != current_path {
                let modified = meta
                    .modified()
                    .map_err(ArtifactError::io("inspecting", &path))?;
                candidates.push((modified, path));
            }
        }
        candidates.sort();
        let keep_others = keep.saturating_sub(1);
        let remove = candidates.len().saturating_sub(keep_others);
        let mut deleted = Vec::new();
        for (_, path) in candidates.into_iter().take(remove) {
            std::fs::remove_file(&path).map_err(ArtifactError::io("removing", &path))?;
            deleted.push(path);
        }
        Ok(deleted)
    }
}

fn append_tree<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    dir: &Path,
    filter: &SourceIgnore,
) -> Result<(), ArtifactError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(ArtifactError::io("listing", dir))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(ArtifactError::io("listing", dir))?;
    entries.sort();
    for path in entries {
        let meta =
            std::fs::symlink_metadata(&path).map_err(ArtifactError::io("inspecting", &path))?;
        if !(meta.is_file() || meta.is_dir()) || filter.is_ignored(&path, meta.is_dir()) {
            continue;
        }
        let name = path.strip_prefix(root).unwrap_or(&path);
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o750);
            header.set_size(0);
            tar.append_data(&mut header, name, io::empty())
                .map_err(ArtifactError::io("archiving", &path))?;
            append_tree(tar, root, &path, filter)?;
        } else {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if is_executable(&meta) { 0o700 } else { 0o600 });
            header.set_size(meta.len());
            let file = File::open(&path).map_err(ArtifactError::io("reading", &path))?;
            tar.append_data(&mut header, name, file)
                .map_err(ArtifactError::io("archiving", &path))?;
        }
    }
    Ok(())
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Writes through to a file while hashing and counting the bytes.
struct HashingWriter<'f> {
    file: &'f File,
    hasher: Sha256,
    written: u64,
}

impl<'f> HashingWriter<'f> {
    fn new(file: &'f File) -> Self {
        Self {
            file,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    fn finish(self) -> (String, u64) {
        let hex: String = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (format!("sha256:{hex}"), self.written)
    }
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut file = self.file;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut file = self.file;
        file.flush()
    }
}
