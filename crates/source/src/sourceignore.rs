//! Which files of a checkout go into an artifact, with Flux's `.sourceignore` rules:
//! gitignore-syntax patterns from every `.sourceignore` file in the tree (each scoped to its
//! directory) and from `spec.ignore` (scoped to the root), always on top of the VCS excludes.
//! Flux's other defaults (images, archives, CI config) apply only when no user pattern exists.
//! The last matching pattern wins, across files in the order root file, sub-directories
//! depth-first in name order, then `spec.ignore`.
//!
//! A Bucket's object keys are filtered by [`KeyIgnore`] instead: the bucket's root
//! `.sourceignore` object and `spec.ignore`, without defaults, as source-controller does.

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::path::{Path, PathBuf};

/// Name of the per-directory ignore file.
pub const IGNORE_FILE: &str = ".sourceignore";
/// Always excluded: version control metadata.
pub const EXCLUDE_VCS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];
/// Excluded unless the user gives patterns of their own.
pub const EXCLUDE_DEFAULTS: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// A failure reading ignore rules.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// A `.sourceignore` file or directory could not be read.
    #[error("reading ignore rules at {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A pattern set could not be compiled.
    #[error("invalid ignore pattern in {origin}: {message}")]
    Pattern { origin: String, message: String },
}

/// Compiled ignore rules for one directory tree.
#[derive(Debug)]
pub struct SourceIgnore {
    root: PathBuf,
    /// In precedence order: later matchers override earlier ones.
    matchers: Vec<Gitignore>,
}

impl SourceIgnore {
    /// Loads `.sourceignore` files under `root` and the `spec_ignore` text.
    pub fn load(root: &Path, spec_ignore: Option<&str>) -> Result<Self, IgnoreError> {
        let root: &Path = &root.components().collect::<PathBuf>();
        let mut user = Vec::new();
        load_dir(root, &mut user)?;
        if let Some(text) = spec_ignore {
            let matcher = compile(root, text.lines(), "spec.ignore")?;
            if !matcher.is_empty() {
                user.push(matcher);
            }
        }
        let mut matchers = Vec::with_capacity(user.len() + 1);
        let mut defaults: Vec<&str> = EXCLUDE_VCS.to_vec();
        if user.is_empty() {
            defaults.extend_from_slice(EXCLUDE_DEFAULTS);
        }
        matchers.push(compile(root, defaults.into_iter(), "defaults")?);
        matchers.extend(user);
        Ok(Self {
            root: root.to_path_buf(),
            matchers,
        })
    }

    /// Whether `path` (absolute, under the root) is excluded; parents count, so everything
    /// inside an excluded directory is excluded too.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let path: &Path = &path.components().collect::<PathBuf>();
        if path == self.root {
            return false;
        }
        for matcher in self.matchers.iter().rev() {
            if !path.starts_with(matcher.path()) || path == matcher.path() {
                continue;
            }
            match matcher.matched_path_or_any_parents(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

impl SourceIgnore {
    /// The rules `flux build|diff kustomization` filter a local directory with (fluxcd/pkg's
    /// generator): the VCS and default excludes always, then every `.sourceignore` under
    /// `root`, then `patterns` (`--ignore-paths`, scoped to the root), the last match winning.
    pub fn load_for_build(root: &Path, patterns: &[String]) -> Result<Self, IgnoreError> {
        // Matchers compare paths by their text: `a/./b` must be `a/b`, as paths asked about are.
        let root: &Path = &root.components().collect::<PathBuf>();
        let mut defaults: Vec<&str> = EXCLUDE_VCS.to_vec();
        defaults.extend_from_slice(EXCLUDE_DEFAULTS);
        let mut matchers = vec![compile(root, defaults.into_iter(), "defaults")?];
        load_dir(root, &mut matchers)?;
        let extra = compile(root, patterns.iter().map(String::as_str), "--ignore-paths")?;
        if !extra.is_empty() {
            matchers.push(extra);
        }
        Ok(Self {
            root: root.to_path_buf(),
            matchers,
        })
    }

    /// Rules that keep everything under `root` (a tree already filtered, such as a Bucket's
    /// objects).
    pub fn nothing(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            matchers: Vec::new(),
        }
    }
}

/// Ignore rules for a Bucket's object keys: the patterns of its `.sourceignore` object, then
/// those of `spec.ignore` (which win), with no default patterns.
#[derive(Debug)]
pub struct KeyIgnore {
    root: PathBuf,
    matcher: Gitignore,
}

impl KeyIgnore {
    /// Rules from the bucket's ignore file and the spec's text.
    pub fn new(ignore_file: Option<&str>, spec_ignore: Option<&str>) -> Result<Self, IgnoreError> {
        let root = PathBuf::from("/bucket");
        let lines = ignore_file
            .into_iter()
            .chain(spec_ignore)
            .flat_map(str::lines);
        let matcher = compile(&root, lines, "the bucket's ignore rules")?;
        Ok(Self { root, matcher })
    }

    /// Whether object `key` (a `/`-separated path) is excluded, by itself or by a parent.
    pub fn is_ignored(&self, key: &str) -> bool {
        let path = self.root.join(key.trim_start_matches('/'));
        self.matcher
            .matched_path_or_any_parents(&path, false)
            .is_ignore()
    }
}

fn load_dir(dir: &Path, out: &mut Vec<Gitignore>) -> Result<(), IgnoreError> {
    let read_error = |source| IgnoreError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let file = dir.join(IGNORE_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            let matcher = compile(dir, text.lines(), &file.display().to_string())?;
            if !matcher.is_empty() {
                out.push(matcher);
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(read_error(error)),
    }
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let file_type = entry.file_type().map_err(read_error)?;
        if file_type.is_dir() && entry.file_name() != ".git" {
            subdirs.push(entry.path());
        }
    }
    subdirs.sort();
    for subdir in subdirs {
        load_dir(&subdir, out)?;
    }
    Ok(())
}

fn compile<'a>(
    root: &Path,
    lines: impl Iterator<Item = &'a str>,
    origin: &str,
) -> Result<Gitignore, IgnoreError> {
    let pattern_error = |error: ignore::Error| IgnoreError::Pattern {
        origin: origin.to_owned(),
        message: error.to_string(),
    };
    let mut builder = GitignoreBuilder::new(root);
    for line in lines {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        builder.add_line(None, line).map_err(pattern_error)?;
    }
    builder.build().map_err(pattern_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(spec: &str, root_file: Option<&str>) -> SourceIgnore {
        let root = Path::new("/nonexistent-root");
        let mut matchers = Vec::new();
        if let Some(text) = root_file {
            matchers.push(compile(root, text.lines(), "file").expect("compiles"));
        }
        if !spec.is_empty() {
            matchers.push(compile(root, spec.lines(), "spec").expect("compiles"));
        }
        let mut defaults: Vec<&str> = EXCLUDE_VCS.to_vec();
        if matchers.is_empty() {
            defaults.extend_from_slice(EXCLUDE_DEFAULTS);
        }
        matchers.insert(
            0,
            compile(root, defaults.into_iter(), "d").expect("compiles"),
        );
        SourceIgnore {
            root: root.to_path_buf(),
            matchers,
        }
    }

    fn ignored(rules: &SourceIgnore, rel: &str, is_dir: bool) -> bool {
        rules.is_ignored(&Path::new("/nonexistent-root").join(rel), is_dir)
    }

    #[test]
    fn bucket_keys_have_no_default_rules_and_the_spec_wins() {
        let rules = KeyIgnore::new(Some("*.txt\nsecrets/\n"), Some("!keep.txt")).expect("valid");
        assert!(rules.is_ignored("drop.txt"));
        assert!(!rules.is_ignored("keep.txt"));
        assert!(rules.is_ignored("deploy/secrets/key.yaml"));
        assert!(!rules.is_ignored("logo.png"));
        assert!(!rules.is_ignored(".git/config"));
        let none = KeyIgnore::new(None, None).expect("valid");
        assert!(!none.is_ignored("a/b.yaml"));
    }

    #[test]
    fn defaults_apply_without_user_patterns() {
        let r = rules("", None);
        assert!(ignored(&r, ".git", true));
        assert!(ignored(&r, ".git/config", false));
        assert!(ignored(&r, "logo.png", false));
        assert!(ignored(&r, "deep/.github/workflows/ci.yml", false));
        assert!(ignored(&r, "a/b/.sops.yaml", false));
        assert!(!ignored(&r, "deploy/app.yaml", false));
    }

    #[test]
    fn user_patterns_replace_non_vcs_defaults() {
        let r = rules("*.txt", None);
        assert!(ignored(&r, "notes.txt", false));
        assert!(ignored(&r, ".git/HEAD", false));
        assert!(!ignored(&r, "logo.png", false));
    }

    #[test]
    fn later_patterns_override_and_negate() {
        let r = rules("!keep.txt", Some("*.txt\n# comment\n"));
        assert!(ignored(&r, "drop.txt", false));
        assert!(!ignored(&r, "keep.txt", false));
    }

    #[test]
    fn directory_patterns_cover_contents() {
        let r = rules("secrets/\n/only-root.yaml", None);
        assert!(ignored(&r, "secrets", true));
        assert!(ignored(&r, "secrets/a.yaml", false));
        assert!(ignored(&r, "x/secrets/b.yaml", false));
        assert!(ignored(&r, "only-root.yaml", false));
        assert!(!ignored(&r, "sub/only-root.yaml", false));
    }

    #[test]
    fn build_rules_keep_the_defaults_under_user_patterns() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join(IGNORE_FILE), "/*\n")?;
        let patterns = ["!keep.yaml".to_owned(), "!logo.png".to_owned()];
        let r = SourceIgnore::load_for_build(dir.path(), &patterns)?;
        let at = |rel: &str| dir.path().join(rel);
        assert!(r.is_ignored(&at("drop.yaml"), false));
        assert!(!r.is_ignored(&at("keep.yaml"), false));
        // The command line wins over the defaults too, as it comes last.
        assert!(!r.is_ignored(&at("logo.png"), false));
        // A root spelled with `.` components matches the same paths (no panic in `ignore`).
        let spelled = SourceIgnore::load_for_build(&dir.path().join("./."), &patterns)?;
        assert!(spelled.is_ignored(&at("drop.yaml"), false));
        assert!(spelled.is_ignored(&dir.path().join("./drop.yaml"), false));
        assert!(!spelled.is_ignored(&at("keep.yaml"), false));
        let plain = SourceIgnore::load_for_build(dir.path(), &["!*.yaml".to_owned()])?;
        assert!(plain.is_ignored(&at("cloudbuild.jpg"), false));
        assert!(
            !plain.is_ignored(&at(".sops.yaml"), false),
            "a later pattern re-includes"
        );
        Ok(())
    }
}
