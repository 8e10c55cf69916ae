//! How to reach the repository of a GitRepository: its URL, reference, timeout and `secretRef`
//! credentials as one `CloneSpec`. The GitRepository reconciler, both image automations and the
//! fluxctl verbs all clone through this one builder.

use crate::secrets::{SecretError, secret_data};
use std::time::Duration;
use tether_api::source::v1::{GitRepository, GitRepositoryRef};
use tether_source::{CloneSpec, GitAuth, GitError, GitReference};

/// `spec.timeout` when none is given (Flux's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the clone spec of a GitRepository could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CloneSpecError {
    /// The `secretRef` Secret could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The Secret's data is not usable Git credentials.
    #[error("secret '{namespace}/{name}': {source}")]
    Auth {
        namespace: String,
        name: String,
        source: GitError,
    },
}

impl CloneSpecError {
    /// Whether retrying without a change cannot help (unusable credentials).
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Secret(_) => false,
            Self::Auth { source, .. } => source.is_terminal(),
        }
    }
}

/// The clone spec of `repo`, checking out its own reference, pushing nowhere else.
pub async fn clone_spec(
    client: &kube::Client,
    repo: &GitRepository,
) -> Result<CloneSpec, CloneSpecError> {
    let namespace = repo.metadata.namespace.as_deref().unwrap_or_default();
    let auth = match &repo.spec.secret_ref {
        Some(secret) => {
            let data = secret_data(client, namespace, &secret.name).await?;
            GitAuth::from_secret_data(&data).map_err(|source| CloneSpecError::Auth {
                namespace: namespace.to_owned(),
                name: secret.name.clone(),
                source,
            })?
        }
        None => GitAuth::default(),
    };
    Ok(CloneSpec {
        url: repo.spec.url.clone(),
        checkout: git_reference(repo.spec.reference.as_ref()),
        push_branch: None,
        auth,
        timeout: repo
            .spec
            .timeout
            .as_ref()
            .and_then(|t| t.to_std().ok())
            .unwrap_or(DEFAULT_TIMEOUT),
    })
}

/// The engine's reference for an API `ref` (the default branch when there is none).
pub fn git_reference(reference: Option<&GitRepositoryRef>) -> GitReference {
    let mut out = GitReference::default();
    if let Some(r) = reference {
        out.branch = r.branch.clone();
        out.tag = r.tag.clone();
        out.semver = r.semver.clone();
        out.name = r.name.clone();
        out.commit = r.commit.clone();
    }
    out
}
