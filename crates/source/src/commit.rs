//! Recording a working clone's edits as one commit: the work tree (or a chosen set of paths in
//! it) is compared file by file with the parent commit's tree, changed, added and removed files
//! become tree edits, and a commit with the given author (who is also the committer), message and
//! time is written, signed with OpenPGP when a key is given. Nothing changed means no commit. Ignored files (`.gitignore`) are not added
//! unless they are tracked already; submodule entries are kept as they are.

use gix::ObjectId;
use gix::objs::tree::{EntryKind, EntryMode};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Who made a commit. The committer is the author, as in Flux's image automation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// What to commit and how (Flux's `git.commit` of an ImageUpdateAutomation).
#[derive(Debug, Clone)]
pub struct CommitOptions {
    pub author: Author,
    pub message: String,
    /// Author and committer time; written in UTC.
    pub time: SystemTime,
    /// Work-tree-relative paths (`/`-separated) to stage, files or directories; `None` stages
    /// every change in the work tree.
    pub paths: Option<Vec<String>>,
    /// OpenPGP key to sign the commit with (`git.commit.signingKey`).
    pub signing_key: Option<SigningKey>,
}

/// An armored OpenPGP secret key from a Secret's `git.asc` and its optional `passphrase`.
/// `Debug` never shows either.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub armored_key: String,
    pub passphrase: Option<String>,
}

impl SigningKey {
    /// Reads Flux's keys `git.asc` (required) and `passphrase` from a Secret's decoded data.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, SigningKeyError> {
        let text = |key: &'static str| -> Result<Option<String>, SigningKeyError> {
            data.get(key)
                .map(|bytes| {
                    String::from_utf8(bytes.clone()).map_err(|_| SigningKeyError::NotUtf8 { key })
                })
                .transpose()
        };
        let armored_key = text("git.asc")?
            .filter(|key| !key.trim().is_empty())
            .ok_or(SigningKeyError::Missing { key: "git.asc" })?;
        Ok(Self {
            armored_key,
            passphrase: text("passphrase")?.filter(|p| !p.is_empty()),
        })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("armored_key", &"<redacted>")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A signing Secret that cannot be used. Names the key, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// The Secret lacks a required key.
    #[error("signing key secret has no '{key}'")]
    Missing { key: &'static str },
    /// A key's value is not UTF-8 text.
    #[error("signing key secret value '{key}' is not valid UTF-8")]
    NotUtf8 { key: &'static str },
}

/// Why a commit could not be made. Every variant names the work tree.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Author name or email is empty or holds characters a commit header cannot carry.
    #[error("invalid commit author for '{dir}': {reason}")]
    InvalidAuthor { dir: PathBuf, reason: String },
    /// A requested path leaves the work tree, or a file name is not UTF-8.
    #[error("invalid path '{path}' in '{dir}': {reason}")]
    InvalidPath {
        dir: PathBuf,
        path: String,
        reason: String,
    },
    /// A file of the work tree could not be read.
    #[error("reading '{path}' in '{dir}' failed: {cause}")]
    ReadFile {
        dir: PathBuf,
        path: String,
        cause: String,
    },
    /// The signing key cannot be read or unlocked, or signing failed.
    #[error("signing the commit in '{dir}' failed: {reason}")]
    Signing { dir: PathBuf, reason: String },
    /// The repository in the work tree could not be read or written.
    #[error("writing the commit in '{dir}' failed: {detail}")]
    Repository { dir: PathBuf, detail: String },
}

impl CommitError {
    /// True when retrying with the same input cannot help.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::InvalidAuthor { .. } | Self::InvalidPath { .. } | Self::Signing { .. }
        )
    }
}

/// A file's state as a tree entry.
type Entry = (EntryKind, ObjectId);

/// Commits the edits under `workdir` on top of `parent`; `None` when the tree is unchanged.
/// HEAD of the repository is detached at the new commit.
pub(crate) fn commit_worktree(
    repo: &gix::Repository,
    workdir: &Path,
    parent: ObjectId,
    options: &CommitOptions,
) -> Result<Option<ObjectId>, CommitError> {
    let repo_error = |detail: String| CommitError::Repository {
        dir: workdir.to_path_buf(),
        detail,
    };
    let signature = signature(workdir, options)?;
    let scope = Scope::new(workdir, options.paths.as_deref())?;
    // The null parent is the base of an empty repository: a root commit over no files.
    let parent_tree = if parent.is_null() {
        ObjectId::empty_tree(parent.kind())
    } else {
        repo.find_commit(parent)
            .and_then(|commit| commit.tree_id().map(gix::Id::detach))
            .map_err(|e| repo_error(format!("parent commit {parent}: {e}")))?
    };
    let new_tree = edited_tree(repo, workdir, parent_tree, &scope)?;
    if new_tree == parent_tree {
        return Ok(None);
    }
    let mut message = options.message.clone();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    let mut commit = gix::objs::Commit {
        tree: new_tree,
        parents: [parent].into_iter().filter(|p| !p.is_null()).collect(),
        author: signature.clone(),
        committer: signature,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    if let Some(key) = &options.signing_key {
        let signature = sign_commit(&commit, key).map_err(|reason| CommitError::Signing {
            dir: workdir.to_path_buf(),
            reason,
        })?;
        commit
            .extra_headers
            .push(("gpgsig".into(), signature.into()));
    }
    let id = repo
        .write_object(&commit)
        .map_err(|e| repo_error(e.to_string()))?
        .detach();
    detach_head_at(repo, id, &commit.committer, &options.message)
        .map_err(|e| repo_error(format!("updating HEAD: {e}")))?;
    Ok(Some(id))
}

/// The `gpgsig` value for `commit`, signed over its encoding without that header.
fn sign_commit(commit: &gix::objs::Commit, key: &SigningKey) -> Result<String, String> {
    use gix::objs::WriteTo;
    let mut payload = Vec::new();
    commit
        .write_to(&mut payload)
        .map_err(|e| format!("encoding the commit: {e}"))?;
    crate::sign::sign_payload(key, &payload)
}

pub(crate) fn signature(
    workdir: &Path,
    options: &CommitOptions,
) -> Result<gix::actor::Signature, CommitError> {
    let invalid = |reason: &str| CommitError::InvalidAuthor {
        dir: workdir.to_path_buf(),
        reason: reason.to_owned(),
    };
    let Author { name, email } = &options.author;
    if name.trim().is_empty() || email.trim().is_empty() {
        return Err(invalid("name and email are required"));
    }
    let forbidden = |text: &str| text.contains(['<', '>', '\n', '\0']);
    if forbidden(name) || forbidden(email) {
        return Err(invalid(
            "name and email may not contain '<', '>' or newlines",
        ));
    }
    let seconds = match options.time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    Ok(gix::actor::Signature {
        name: name.trim().into(),
        email: email.trim().into(),
        time: gix::date::Time { seconds, offset: 0 },
    })
}

/// Points HEAD at `id`, with a reflog entry by `committer` as `git commit` writes.
fn detach_head_at(
    repo: &gix::Repository,
    id: ObjectId,
    committer: &gix::actor::Signature,
    message: &str,
) -> gix::Result<()> {
    use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit};
    let subject = message.lines().next().unwrap_or_default();
    let edit = RefEdit {
        change: Change::Update {
            log: LogChange {
                message: format!("commit: {subject}").into(),
                ..LogChange::default()
            },
            expected: PreviousValue::Any,
            new: gix::refs::Target::Object(id),
        },
        name: "HEAD".try_into().map_err(gix::Error::from_error)?,
        deref: false,
    };
    let mut time = gix::date::parse::TimeBuf::default();
    repo.edit_references_as([edit], Some(committer.to_ref(&mut time)))?;
    Ok(())
}

/// Which work-tree paths a commit looks at.
#[derive(Debug)]
struct Scope {
    /// `None`: everything.
    prefixes: Option<Vec<String>>,
}

impl Scope {
    fn new(workdir: &Path, paths: Option<&[String]>) -> Result<Self, CommitError> {
        let Some(paths) = paths else {
            return Ok(Self { prefixes: None });
        };
        let prefixes = paths
            .iter()
            .map(|path| {
                normalize(path).ok_or_else(|| CommitError::InvalidPath {
                    dir: workdir.to_path_buf(),
                    path: path.clone(),
                    reason: "must be relative and stay inside the work tree".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            prefixes: Some(prefixes),
        })
    }

    fn contains(&self, path: &str) -> bool {
        self.prefixes.as_ref().is_none_or(|prefixes| {
            prefixes.iter().any(|prefix| {
                prefix.is_empty()
                    || path == prefix
                    || path
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        })
    }
}

/// `path` without `.` components and surrounding slashes; `None` if it is absolute, has `..`,
/// or names `.git`.
fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." | ".git" => return None,
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The parent tree with every in-scope difference to the work tree applied, written.
fn edited_tree(
    repo: &gix::Repository,
    workdir: &Path,
    parent_tree: ObjectId,
    scope: &Scope,
) -> Result<ObjectId, CommitError> {
    let repo_error = |detail: String| CommitError::Repository {
        dir: workdir.to_path_buf(),
        detail,
    };
    let tracked = tracked_entries(repo, parent_tree).map_err(|e| repo_error(e.to_string()))?;
    let submodules: Vec<&String> = tracked
        .iter()
        .filter(|(_, (mode, _))| mode.is_commit())
        .map(|(path, _)| path)
        .collect();
    let in_submodule = |path: &str| {
        submodules.iter().any(|sub| {
            path.strip_prefix(sub.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    let mut candidates: BTreeSet<String> = worktree_files(workdir)?
        .into_iter()
        .filter(|path| !in_submodule(path))
        .collect();
    candidates.extend(tracked.keys().cloned());
    let mut removals = Vec::new();
    let mut upserts = Vec::new();
    for path in candidates.iter().filter(|path| scope.contains(path)) {
        let old = tracked.get(path);
        if old.is_some_and(|(mode, _)| mode.is_commit()) {
            continue;
        }
        let new = disk_entry(repo, workdir, path)?;
        match (old, new) {
            (Some(_), None) => removals.push(path),
            (old, Some(new)) if old.is_none_or(|(mode, id)| (mode.kind(), *id) != new) => {
                upserts.push((path, new));
            }
            _ => {}
        }
    }
    if removals.is_empty() && upserts.is_empty() {
        return Ok(parent_tree);
    }
    let mut editor = repo
        .edit_tree(parent_tree)
        .map_err(|e| repo_error(e.to_string()))?;
    for path in removals {
        editor
            .remove(path)
            .map_err(|e| repo_error(format!("removing '{path}': {e}")))?;
    }
    for (path, (kind, id)) in upserts {
        editor
            .upsert(path, kind, id)
            .map_err(|e| repo_error(format!("adding '{path}': {e}")))?;
    }
    Ok(editor
        .write()
        .map_err(|e| repo_error(e.to_string()))?
        .detach())
}

/// Every non-tree entry of `tree` (files, symlinks, submodules) by its slash path.
fn tracked_entries(
    repo: &gix::Repository,
    tree: ObjectId,
) -> gix::Result<BTreeMap<String, (EntryMode, ObjectId)>> {
    let mut recorder = gix::traverse::tree::Recorder::default();
    repo.find_tree(tree)?
        .traverse()
        .breadthfirst(&mut recorder)?;
    Ok(recorder
        .records
        .into_iter()
        .filter(|entry| !entry.mode.is_tree())
        .map(|entry| (entry.filepath.to_string(), (entry.mode, entry.oid)))
        .collect())
}

/// Files and symlinks under `workdir` that git would see: `.git` directories are skipped and
/// `.gitignore` rules apply (tracked files are looked at separately, ignored or not).
fn worktree_files(workdir: &Path) -> Result<Vec<String>, CommitError> {
    let walk = ignore::WalkBuilder::new(workdir)
        .standard_filters(false)
        .git_ignore(true)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    let mut files = Vec::new();
    for entry in walk {
        let entry = entry.map_err(|e| CommitError::ReadFile {
            dir: workdir.to_path_buf(),
            path: ".".into(),
            cause: e.to_string(),
        })?;
        if entry.file_type().is_none_or(|kind| kind.is_dir()) {
            continue;
        }
        let relative = entry.path().strip_prefix(workdir).unwrap_or(entry.path());
        let path = relative
            .to_str()
            .ok_or_else(|| CommitError::InvalidPath {
                dir: workdir.to_path_buf(),
                path: relative.to_string_lossy().into_owned(),
                reason: "file name is not UTF-8".into(),
            })?
            .to_owned();
        files.push(path);
    }
    Ok(files)
}

/// The tree entry the file at `path` would get, written as a blob; `None` when it is missing
/// (or is a directory now).
fn disk_entry(
    repo: &gix::Repository,
    workdir: &Path,
    path: &str,
) -> Result<Option<Entry>, CommitError> {
    use std::os::unix::fs::PermissionsExt;
    let read_error = |cause: String| CommitError::ReadFile {
        dir: workdir.to_path_buf(),
        path: path.to_owned(),
        cause,
    };
    let full = workdir.join(path);
    let metadata = match std::fs::symlink_metadata(&full) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
        Err(e) => return Err(read_error(e.to_string())),
    };
    let (kind, content) = if metadata.is_symlink() {
        let target = std::fs::read_link(&full).map_err(|e| read_error(e.to_string()))?;
        let target = target
            .to_str()
            .ok_or_else(|| read_error("symlink target is not UTF-8".into()))?;
        (EntryKind::Link, target.as_bytes().to_vec())
    } else if metadata.is_file() {
        let executable = metadata.permissions().mode() & 0o111 != 0;
        let kind = if executable {
            EntryKind::BlobExecutable
        } else {
            EntryKind::Blob
        };
        (
            kind,
            std::fs::read(&full).map_err(|e| read_error(e.to_string()))?,
        )
    } else {
        return Ok(None);
    };
    let id = repo
        .write_blob(&content)
        .map_err(|e| read_error(format!("storing as blob: {e}")))?
        .detach();
    Ok(Some((kind, id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_paths_inside_the_work_tree() {
        assert_eq!(
            normalize("./deploy//app.yaml/").as_deref(),
            Some("deploy/app.yaml")
        );
        assert_eq!(normalize(".").as_deref(), Some(""));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(normalize("a/.git/config"), None);
    }

    #[test]
    fn scope_matches_files_and_directories_by_whole_components() {
        let scope = Scope::new(Path::new("/w"), Some(&["deploy".to_owned()])).expect("valid");
        assert!(scope.contains("deploy"));
        assert!(scope.contains("deploy/app.yaml"));
        assert!(!scope.contains("deployment.yaml"));
        assert!(
            Scope::new(Path::new("/w"), None)
                .expect("valid")
                .contains("x")
        );
        let error = Scope::new(Path::new("/w"), Some(&["../x".to_owned()])).expect_err("outside");
        assert!(error.to_string().contains("'../x'"), "{error}");
    }

    fn options(name: &str, email: &str) -> CommitOptions {
        CommitOptions {
            author: Author {
                name: name.into(),
                email: email.into(),
            },
            message: "m".into(),
            time: UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            paths: None,
            signing_key: None,
        }
    }

    #[test]
    fn signature_uses_the_given_time_in_utc() {
        let signature =
            signature(Path::new("/w"), &options("Flux", "flux@example.com")).expect("ok");
        assert_eq!(signature.time.seconds, 1_700_000_000);
        assert_eq!(signature.time.offset, 0);
        assert_eq!(signature.name, "Flux");
    }

    #[test]
    fn author_must_be_a_valid_header() {
        for (name, email) in [("", "a@b"), ("x", ""), ("x <y>", "a@b"), ("x", "a@b>\n")] {
            let error = signature(Path::new("/w"), &options(name, email)).expect_err("invalid");
            assert!(error.is_terminal(), "{error}");
        }
    }

    #[test]
    fn signing_key_from_secret_data_never_shows_values() {
        let data: BTreeMap<String, Vec<u8>> = [
            (
                "git.asc".to_owned(),
                b"-----BEGIN PGP PRIVATE KEY BLOCK-----".to_vec(),
            ),
            ("passphrase".to_owned(), b"hunter2-phrase".to_vec()),
        ]
        .into_iter()
        .collect();
        let key = SigningKey::from_secret_data(&data).expect("valid");
        assert_eq!(key.passphrase.as_deref(), Some("hunter2-phrase"));
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("BEGIN"),
            "{shown}"
        );
        let error = SigningKey::from_secret_data(&BTreeMap::new()).expect_err("missing");
        assert!(error.to_string().contains("git.asc"));
    }
}
