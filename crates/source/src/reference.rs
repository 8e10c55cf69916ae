//! Which commit to check out (`spec.ref` of a GitRepository) and how the result is named: the
//! Flux revision strings `<branch>@sha1:<hex>`, `<tag>@sha1:<hex>`, `refs/...@sha1:<hex>` and a
//! bare `sha1:<hex>`.

use std::fmt;

/// Flux's default branch when a reference sets nothing.
pub const DEFAULT_BRANCH: &str = "master";

/// `spec.ref` of a GitRepository. Precedence follows the Flux API documentation:
/// commit > name > semver > tag > branch (`master` when nothing is set).
///
/// Flux v2's go-git client checks `tag` before `semver`, unlike its API documentation; tether
/// follows the documented order, which only differs when both are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitReference {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub semver: Option<String>,
    pub name: Option<String>,
    pub commit: Option<String>,
}

/// The reference resolved by precedence into one way of finding the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// A pinned commit. `branch` (if set) narrows the fetch; `name` (if set) names the revision.
    Commit {
        commit: String,
        branch: Option<String>,
        name: Option<String>,
    },
    /// A full ref name such as `refs/heads/main` or `refs/pull/1/head`.
    Name(String),
    /// The highest tag satisfying a semver constraint.
    SemVer(String),
    /// A tag by its short name.
    Tag(String),
    /// A branch by its short name.
    Branch(String),
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|v| !v.is_empty()).cloned()
}

impl GitReference {
    /// A reference to `branch`.
    pub fn branch(branch: impl Into<String>) -> Self {
        Self {
            branch: Some(branch.into()),
            ..Self::default()
        }
    }

    /// A reference to `tag`.
    pub fn tag(tag: impl Into<String>) -> Self {
        Self {
            tag: Some(tag.into()),
            ..Self::default()
        }
    }

    /// A reference to the highest tag satisfying `constraint`.
    pub fn semver(constraint: impl Into<String>) -> Self {
        Self {
            semver: Some(constraint.into()),
            ..Self::default()
        }
    }

    /// A reference to a full ref name.
    pub fn name(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A reference to a commit.
    pub fn commit(commit: impl Into<String>) -> Self {
        Self {
            commit: Some(commit.into()),
            ..Self::default()
        }
    }

    /// Applies the precedence; empty strings count as unset.
    pub fn strategy(&self) -> Strategy {
        if let Some(commit) = non_empty(&self.commit) {
            return Strategy::Commit {
                commit: commit.to_ascii_lowercase(),
                branch: non_empty(&self.branch),
                name: non_empty(&self.name),
            };
        }
        if let Some(name) = non_empty(&self.name) {
            return Strategy::Name(name);
        }
        if let Some(constraint) = non_empty(&self.semver) {
            return Strategy::SemVer(constraint);
        }
        if let Some(tag) = non_empty(&self.tag) {
            return Strategy::Tag(tag);
        }
        Strategy::Branch(non_empty(&self.branch).unwrap_or_else(|| DEFAULT_BRANCH.to_owned()))
    }
}

/// A resolved commit and the name Flux shows it under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Revision {
    /// The part before `@`: a branch or tag short name, a full ref name, or nothing.
    pub reference: Option<String>,
    /// The commit id, 40 lowercase hex digits.
    pub commit: String,
}

impl Revision {
    /// Names `commit` after the full ref `full_ref` the way Flux's `Commit.String()` does:
    /// the ref without its first two components (`refs/heads/a/b` → `a/b`).
    pub fn short(full_ref: &str, commit: impl Into<String>) -> Self {
        let mut parts = full_ref.splitn(3, '/');
        let reference = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(_), Some(rest)) => Some(rest.to_owned()),
            _ => None,
        };
        Self {
            reference,
            commit: commit.into(),
        }
    }

    /// Names `commit` after the full ref itself (Flux's `AbsoluteReference()`, used when
    /// `spec.ref.name` is set).
    pub fn absolute(full_ref: &str, commit: impl Into<String>) -> Self {
        Self {
            reference: Some(full_ref.to_owned()).filter(|r| !r.is_empty()),
            commit: commit.into(),
        }
    }

    /// A commit with no reference: `sha1:<hex>`.
    pub fn bare(commit: impl Into<String>) -> Self {
        Self {
            reference: None,
            commit: commit.into(),
        }
    }

    /// Parses a Flux revision string, the current form (`<ref>@sha1:<hex>`, `sha1:<hex>`) or
    /// the pre-v1 form (`<ref>/<hex>`). Returns `None` for anything else.
    pub fn parse(revision: &str) -> Option<Self> {
        let is_hex = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if let Some((reference, digest)) = revision.rsplit_once('@') {
            let commit = digest.strip_prefix("sha1:")?;
            return is_hex(commit).then(|| Self::absolute(reference, commit.to_ascii_lowercase()));
        }
        if let Some(commit) = revision.strip_prefix("sha1:") {
            return is_hex(commit).then(|| Self::bare(commit.to_ascii_lowercase()));
        }
        let (reference, commit) = revision.rsplit_once('/')?;
        is_hex(commit).then(|| Self::absolute(reference, commit.to_ascii_lowercase()))
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Some(reference) => write!(f, "{reference}@sha1:{}", self.commit),
            None => write!(f, "sha1:{}", self.commit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "a0c14dc8580a23f79bc654faa79c4f62b46c2c22";

    #[test]
    fn default_is_master_branch() {
        assert_eq!(
            GitReference::default().strategy(),
            Strategy::Branch("master".into())
        );
    }

    #[test]
    fn precedence_commit_name_semver_tag_branch() {
        let all = GitReference {
            branch: Some("main".into()),
            tag: Some("v1.0.0".into()),
            semver: Some(">=1.0.0".into()),
            name: Some("refs/heads/dev".into()),
            commit: Some(SHA.to_uppercase()),
        };
        assert_eq!(
            all.strategy(),
            Strategy::Commit {
                commit: SHA.into(),
                branch: Some("main".into()),
                name: Some("refs/heads/dev".into())
            }
        );
        let no_commit = GitReference {
            commit: None,
            ..all.clone()
        };
        assert_eq!(
            no_commit.strategy(),
            Strategy::Name("refs/heads/dev".into())
        );
        let no_name = GitReference {
            name: Some(String::new()),
            ..no_commit
        };
        assert_eq!(no_name.strategy(), Strategy::SemVer(">=1.0.0".into()));
        let no_semver = GitReference {
            semver: None,
            ..no_name
        };
        assert_eq!(no_semver.strategy(), Strategy::Tag("v1.0.0".into()));
        let no_tag = GitReference {
            tag: None,
            ..no_semver
        };
        assert_eq!(no_tag.strategy(), Strategy::Branch("main".into()));
    }

    #[test]
    fn revision_formats_match_flux() {
        assert_eq!(
            Revision::short("refs/heads/main", SHA).to_string(),
            format!("main@sha1:{SHA}")
        );
        assert_eq!(
            Revision::short("refs/heads/feature/x", SHA).to_string(),
            format!("feature/x@sha1:{SHA}")
        );
        assert_eq!(
            Revision::short("refs/tags/v1.2.3", SHA).to_string(),
            format!("v1.2.3@sha1:{SHA}")
        );
        assert_eq!(
            Revision::absolute("refs/pull/1/head", SHA).to_string(),
            format!("refs/pull/1/head@sha1:{SHA}")
        );
        assert_eq!(Revision::bare(SHA).to_string(), format!("sha1:{SHA}"));
        assert_eq!(Revision::short("", SHA).to_string(), format!("sha1:{SHA}"));
    }

    #[test]
    fn parse_round_trips_and_accepts_legacy() {
        for text in [
            format!("main@sha1:{SHA}"),
            format!("refs/heads/main@sha1:{SHA}"),
            format!("sha1:{SHA}"),
        ] {
            let parsed = Revision::parse(&text).expect("parses");
            assert_eq!(parsed.to_string(), text);
        }
        let legacy = Revision::parse(&format!("main/{SHA}")).expect("legacy");
        assert_eq!(legacy.to_string(), format!("main@sha1:{SHA}"));
        assert_eq!(Revision::parse("main@sha256:abc"), None);
        assert_eq!(Revision::parse("nonsense"), None);
    }
}
