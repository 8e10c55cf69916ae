//! The [`ResourceManager`]: a client, a shared discovery cache, the field manager name and the
//! owner labels to stamp — everything the verbs (apply, delete, wait) have in common.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::Client;
use tether_core::health::CustomHealth;
use tether_core::object::ObjectRef;

use crate::discovery::{DiscoveryCache, DiscoveryError};
use crate::known::KnownObjects;
use crate::request::Target;

/// The field manager kustomize-controller applies with.
pub const DEFAULT_FIELD_MANAGER: &str = "kustomize-controller";

/// How many objects are looked up and dry-run at the same time by default.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Reconciles objects onto a cluster with server-side apply. Cheap to clone; clones share the
/// discovery cache and the index of known objects.
#[derive(Clone)]
pub struct ResourceManager {
    client: Client,
    discovery: Arc<DiscoveryCache>,
    known: KnownObjects,
    field_manager: String,
    owner_labels: BTreeMap<String, String>,
    concurrency: usize,
    custom_health: Option<Arc<dyn CustomHealth>>,
}

impl ResourceManager {
    /// A manager over `client` with field manager `kustomize-controller`, no owner labels, a
    /// fresh discovery cache and an empty index of known objects.
    pub fn new(client: Client) -> Self {
        Self {
            known: KnownObjects::new(client.clone()),
            client,
            discovery: Arc::new(DiscoveryCache::new()),
            field_manager: DEFAULT_FIELD_MANAGER.to_owned(),
            owner_labels: BTreeMap::new(),
            concurrency: DEFAULT_CONCURRENCY,
            custom_health: None,
        }
    }

    /// Applies as `name` instead of `kustomize-controller`.
    pub fn with_field_manager(mut self, name: impl Into<String>) -> Self {
        self.field_manager = name.into();
        self
    }

    /// Stamps these labels (usually [`crate::owner_labels`]) on every applied object.
    pub fn with_owner_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.owner_labels = labels;
        self
    }

    /// Shares `cache` with other managers (one per Kustomization, one cache per process).
    pub fn with_discovery(mut self, cache: Arc<DiscoveryCache>) -> Self {
        self.discovery = cache;
        self
    }

    /// Sends every request through `client`: the same cluster under another identity (a
    /// ServiceAccount's token), so the discovery cache and the index of known objects (watched
    /// with the original client) stay shared. What `client` may not do fails as the API
    /// server's denial.
    pub fn with_client(mut self, client: Client) -> Self {
        self.client = client;
        self
    }

    /// Looks up and dry-runs up to `n` objects at a time (at least one).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Judges the kinds `rules` cover by them instead of kstatus in every wait (Flux's custom
    /// status readers, from `healthCheckExprs`).
    pub fn with_custom_health(mut self, rules: Arc<dyn CustomHealth>) -> Self {
        self.custom_health = Some(rules);
        self
    }

    /// The health rules that take precedence over kstatus, if any.
    pub fn custom_health(&self) -> Option<&dyn CustomHealth> {
        self.custom_health.as_deref()
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The discovery cache.
    pub fn discovery(&self) -> &Arc<DiscoveryCache> {
        &self.discovery
    }

    /// Which objects exist, as far as the manager's watches know.
    pub fn known_objects(&self) -> &KnownObjects {
        &self.known
    }

    /// The field manager name.
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// The owner labels stamped on applied objects.
    pub fn owner_labels(&self) -> &BTreeMap<String, String> {
        &self.owner_labels
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The live object, or `None` when it (or its kind) does not exist.
    pub async fn live(&self, object: &ObjectRef) -> Result<Option<serde_json::Value>, String> {
        let (target, _) = match self.target(object).await {
            Ok(found) => found,
            Err(DiscoveryError::NoMatch { .. }) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        crate::request::get(&self.client, &target)
            .await
            .map_err(|e| e.message)
    }

    /// Where `object` is served, with its namespace dropped if the kind is cluster-scoped (the
    /// API server ignores it there too). The flag says whether the kind is namespaced.
    pub(crate) async fn target(
        &self,
        object: &ObjectRef,
    ) -> Result<(Target, bool), DiscoveryError> {
        let kind = self
            .discovery
            .resolve(&self.client, &object.group, &object.version, &object.kind)
            .await?;
        let mut object = object.clone();
        if !kind.namespaced {
            object.namespace.clear();
        }
        let target = Target {
            object,
            resource: kind.resource,
        };
        Ok((target, kind.namespaced))
    }
}
