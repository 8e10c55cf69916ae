//! The directory side of the update: resolve the update path inside the repository root, walk
//! its YAML files (`.yaml`, `.yml` and files named `Kustomization`, as Flux's
//! `ScreeningLocalReader` does), screen them for the marker token, update them in memory, and
//! write back only the files that changed.
//!
//! Confinement: the update path may not contain `..` and must resolve (symlinks included) inside
//! the root; symlinks met during the walk are not followed, so no read or write goes through
//! one to a file elsewhere. Flux's `securejoin` clamps `..` instead; tether refuses it.

use std::path::{Component, Path, PathBuf};

use crate::SettersError;
use crate::document::update_text;
use crate::marker::SCREENING_TOKEN;
use crate::policy::{PolicyRef, Setters};
use crate::result::UpdateResult;

/// Runs the Setters strategy over `root/update_path` for `policies`, writes the files that
/// changed, and returns the result. File paths in the result are relative to the update path
/// (to its directory when it names a file), `/`-separated.
pub fn update_with_setters(
    root: &Path,
    update_path: &str,
    policies: &[PolicyRef],
) -> Result<UpdateResult, SettersError> {
    let setters = Setters::from_policies(policies)?;
    let target = resolve_update_path(root, update_path)?;
    let (base, files) = if target.is_dir() {
        (target.clone(), yaml_files(&target)?)
    } else {
        (
            target.parent().map(Path::to_path_buf).unwrap_or_default(),
            vec![target.clone()],
        )
    };
    let mut result = UpdateResult::default();
    let mut writes = Vec::new();
    for file in files {
        let relative = relative_name(&base, &file);
        let bytes = std::fs::read(&file).map_err(|source| io("reading", &file, source))?;
        let Ok(text) = String::from_utf8(bytes) else {
            if contains(&file, SCREENING_TOKEN)? {
                result.problem_files.push(relative);
            }
            continue;
        };
        if !text.contains(SCREENING_TOKEN) {
            continue;
        }
        match update_text(&text, &setters) {
            Ok(update) if !update.changes.is_empty() => {
                for (object, change) in update.changes {
                    result.add_change(&relative, object, vec![change]);
                }
                writes.push((file, update.text));
            }
            Ok(_) => {}
            Err(_) => result.problem_files.push(relative),
        }
    }
    for (file, text) in writes {
        std::fs::write(&file, text).map_err(|source| io("writing", &file, source))?;
    }
    Ok(result)
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> SettersError {
    SettersError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn contains(file: &Path, token: &str) -> Result<bool, SettersError> {
    let bytes = std::fs::read(file).map_err(|source| io("reading", file, source))?;
    Ok(bytes.windows(token.len()).any(|w| w == token.as_bytes()))
}

/// `root/update_path`, refusing `..` and anything that resolves outside the root. A leading `/`
/// is relative to the root, as with Flux's `securejoin`.
fn resolve_update_path(root: &Path, update_path: &str) -> Result<PathBuf, SettersError> {
    let escapes = || SettersError::PathEscapes {
        path: update_path.to_owned(),
    };
    let canonical_root = root
        .canonicalize()
        .map_err(|source| io("resolving", root, source))?;
    let mut joined = canonical_root.clone();
    for component in Path::new(update_path).components() {
        match component {
            Component::Normal(part) => joined.push(part),
            Component::ParentDir => return Err(escapes()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let resolved = joined
        .canonicalize()
        .map_err(|source| io("resolving", &joined, source))?;
    if !resolved.starts_with(&canonical_root) {
        return Err(escapes());
    }
    Ok(resolved)
}

/// Every candidate file under `dir`, depth first in name order; symlinks and `.git` are skipped.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, SettersError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| io("walking", dir, source))?
        .collect::<Result<_, _>>()
        .map_err(|source| io("walking", dir, source))?;
    entries.sort_by_key(|e| e.file_name());
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|source| io("walking", &path, source))?;
        if kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                files.extend(yaml_files(&path)?);
            }
        } else if is_candidate(&path) {
            files.push(path);
        }
    }
    Ok(files)
}

fn is_candidate(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str());
    matches!(ext, Some("yaml" | "yml")) || path.file_name().is_some_and(|n| n == "Kustomization")
}

fn relative_name(base: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(base).unwrap_or(file);
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}
