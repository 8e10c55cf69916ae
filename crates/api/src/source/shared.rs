//! GitRepository parts that are identical in more than one served version; each version module
//! re-exports the ones it uses.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{meta::LocalObjectReference, string_enum::string_enum};

/// Another GitRepository whose artifact content is copied into this one's artifact.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The GitRepository, in the same namespace, whose artifact is included.
    pub repository: LocalObjectReference,
    /// Directory of the included artifact to copy from; its root when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Directory to copy into; the included GitRepository's name when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

impl GitRepositoryInclude {
    /// The directory to copy into, falling back to the included repository's name.
    pub fn to_path_or_default(&self) -> &str {
        match self.to_path.as_deref() {
            Some(path) if !path.is_empty() => path,
            _ => &self.repository.name,
        }
    }
}

/// The Git reference to check out and watch. With none set, the `master` branch.
///
/// Precedence, highest first: commit, name, semver, tag, branch (a commit may be combined with
/// a branch to shallow-clone that branch).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryRef {
    /// Branch to check out; `master` when no other field is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag to check out; wins over branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// SemVer range selecting the highest matching tag; wins over tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Full Git reference name such as `refs/heads/main` or `refs/pull/420/head`;
    /// wins over branch, tag and semver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit SHA to check out; wins over every other field. With a branch, that branch is
    /// shallow-cloned and must contain the commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

string_enum! {
    /// The Git library a beta GitRepository asks for. Only `go-git` ever remained; tether
    /// ignores the field.
    #[derive(Default)]
    pub enum GitImplementation {
        /// The pure-Go Git implementation.
        #[default]
        GoGit = "go-git",
        /// The libgit2 bindings (removed from Flux).
        Libgit2 = "libgit2",
    }
}

string_enum! {
    /// What a beta GitRepository verifies: only the commit HEAD points to.
    #[derive(Default)]
    pub enum BetaVerificationMode {
        /// The commit HEAD points to.
        #[default]
        Head = "head",
    }
}
