//! `.Capabilities` of a cluster a release is installed in (the controller's own, or the remote
//! one of `spec.kubeConfig`), as Helm's install and upgrade read them: the API server's version
//! and every served group/version and group/version/Kind. Discovery is asked once per cluster
//! and kept for a few minutes, so a thousand releases cost one lookup.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tether_helm::{Capabilities, KubeVersion};

/// How long discovered capabilities are reused.
const FRESH_FOR: Duration = Duration::from_secs(300);

/// The cached capabilities of one cluster, and the client that discovers them there.
pub struct ClusterCapabilities {
    client: kube::Client,
    cached: Mutex<Option<(Instant, Arc<Capabilities>)>>,
}

impl ClusterCapabilities {
    /// The capabilities of the cluster `client` talks to, discovered on first use.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            cached: Mutex::default(),
        }
    }

    /// The capabilities, discovered now when the cached ones are missing or stale.
    pub async fn get(&self) -> Result<Arc<Capabilities>, String> {
        if let Some((at, caps)) = self.lock().as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(caps.clone());
        }
        let discovered = Arc::new(discover(&self.client).await?);
        *self.lock() = Some((Instant::now(), discovered.clone()));
        Ok(discovered)
    }

    /// Forgets what was discovered (after CRDs were installed, say).
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Capabilities>)>> {
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn discover(client: &kube::Client) -> Result<Capabilities, String> {
    let info = client
        .apiserver_version()
        .await
        .map_err(|e| format!("cannot read the Kubernetes version: {e}"))?;
    let kube_version = KubeVersion::parse(&info.git_version)?;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| format!("cannot discover the served API versions: {e}"))?;
    let mut versions = Vec::new();
    for group in discovery.groups() {
        for version in group.versions() {
            let group_version = if group.name().is_empty() {
                version.to_owned()
            } else {
                format!("{}/{version}", group.name())
            };
            versions.push(group_version.clone());
            for (resource, _) in group.versioned_resources(version) {
                versions.push(format!("{group_version}/{}", resource.kind));
            }
        }
    }
    versions.sort();
    versions.dedup();
    Ok(Capabilities {
        kube_version,
        extra_api_versions: versions,
    })
}
