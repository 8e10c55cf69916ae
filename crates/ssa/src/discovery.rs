//! The discovery cache: group/version/kind → the REST resource (plural, scope) it is served at.
//! One request per group-version on first use; a kind missing from a cached group-version
//! triggers one refresh of that group-version (a CRD may have been added since), and
//! [`DiscoveryCache::invalidate`] drops everything after CRDs were applied.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use kube::Client;
use kube::core::{ApiResource, GroupVersion};
use kube::discovery::{Scope, pinned_group};

/// Errors raised while resolving a kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// The API server serves no such kind at this version (Kubernetes' own wording).
    #[error("no matches for kind \"{kind}\" in version \"{api_version}\"")]
    NoMatch {
        /// The kind asked for.
        kind: String,
        /// The `group/version` asked for.
        api_version: String,
    },
    /// The discovery request itself failed.
    #[error("discovery of {api_version} failed: {message}")]
    Request {
        /// The `group/version` being discovered.
        api_version: String,
        /// The API server's or the transport's message.
        message: String,
    },
}

/// A resolved kind: where it is served and whether its objects live in namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedKind {
    /// The REST resource (group, version, kind, plural).
    pub resource: ApiResource,
    /// Whether objects of the kind are namespaced.
    pub namespaced: bool,
}

type Kinds = Arc<HashMap<String, ResolvedKind>>;

/// A cache of discovered kinds, shared by every apply, prune and wait of a manager.
#[derive(Debug, Default)]
pub struct DiscoveryCache {
    by_group_version: RwLock<HashMap<String, Kinds>>,
}

impl DiscoveryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves `kind` at `group`/`version`, asking the API server when the cache does not know
    /// it (once per call at most).
    pub async fn resolve(
        &self,
        client: &Client,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<ResolvedKind, DiscoveryError> {
        let gv = GroupVersion::gv(group, version);
        let api_version = gv.api_version();
        if let Some(found) = self.cached(&api_version, kind) {
            return Ok(found);
        }
        let kinds = discover(client, &gv).await?;
        let found = kinds.get(kind).cloned();
        self.write().insert(api_version.clone(), kinds);
        found.ok_or(DiscoveryError::NoMatch {
            kind: kind.to_owned(),
            api_version,
        })
    }

    /// Forgets every discovered group-version, so the next lookup asks the API server again.
    pub fn invalidate(&self) {
        self.write().clear();
    }

    fn cached(&self, api_version: &str, kind: &str) -> Option<ResolvedKind> {
        let map = self
            .by_group_version
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(api_version)?.get(kind).cloned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Kinds>> {
        self.by_group_version
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

async fn discover(client: &Client, gv: &GroupVersion) -> Result<Kinds, DiscoveryError> {
    let api_version = gv.api_version();
    let group = match pinned_group(client, gv).await {
        Ok(group) => group,
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Arc::default()),
        Err(e) => {
            return Err(DiscoveryError::Request {
                api_version,
                message: crate::request::describe(&e),
            });
        }
    };
    let kinds = group
        .versioned_resources(&gv.version)
        .into_iter()
        .map(|(resource, caps)| {
            let namespaced = matches!(caps.scope, Scope::Namespaced);
            let kind = resource.kind.clone();
            (
                kind,
                ResolvedKind {
                    resource,
                    namespaced,
                },
            )
        })
        .collect();
    Ok(Arc::new(kinds))
}
