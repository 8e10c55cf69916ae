//! fluxd's mark-and-sweep garbage collection. Every object a sync applies carries the label
//! `fluxcd.io/sync-gc-mark` (a hash of the sync set — repository URL, branch and paths — and
//! the object's id) and the annotation `fluxcd.io/sync-checksum`. A sweep lists the objects
//! carrying the label in the allowed namespaces; one whose mark is this sync set's mark for
//! its id and that is not in the sync just made is stale: deleted, or only logged in dry mode.
//! Objects without the label, or with another set's mark (a copied label), are never touched.
//! The hashes are fluxd's, so objects a real fluxd synced are adopted and swept alike.

use base64::Engine;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use tether_ssa::Selector;

/// The label holding an object's mark.
pub const GC_MARK_LABEL: &str = "fluxcd.io/sync-gc-mark";
/// The annotation holding the checksum of an object's manifest.
pub const CHECKSUM_ANNOTATION: &str = "fluxcd.io/sync-checksum";
/// fluxd's id of a cluster-scoped object's namespace.
pub const CLUSTER_SCOPE: &str = "<cluster>";

/// The URL as fluxd's `SafeURL` wrote it: password dropped, user kept, scp-like
/// `user@host:path` written as `ssh://user@host/path`.
pub fn safe_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return scp_like_as_ssh(url);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

fn scp_like_as_ssh(url: &str) -> String {
    let (user, rest) = match url.split_once('@') {
        Some((user, rest)) if !user.contains(['/', ':']) => (Some(user), rest),
        _ => (None, url),
    };
    let Some((host, path)) = rest.split_once(':') else {
        return url.to_owned();
    };
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    let slash = if path.starts_with('/') { "" } else { "/" };
    format!("ssh://{user}{host}{slash}{path}")
}

/// The sync set's name: fluxd's hash of the (safe) URL, the branch and the paths.
pub fn sync_set_name(url: &str, branch: &str, paths: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(safe_url(url).as_bytes());
    hasher.update(branch.as_bytes());
    for path in paths {
        hasher.update(path.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// The mark of the object `id` (`<namespace>:<kind>/<name>`) in `sync_set`.
pub fn gc_mark(sync_set: &str, id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(sync_set.as_bytes());
    hasher.update(id.as_bytes());
    format!(
        "sha256.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize())
    )
}

/// fluxd's id of an object: `<namespace>:<kind in lower case>/<name>`, the namespace being
/// `<cluster>` for cluster-scoped objects.
pub fn resource_id(namespace: Option<&str>, kind: &str, name: &str) -> String {
    let namespace = namespace.filter(|n| !n.is_empty()).unwrap_or(CLUSTER_SCOPE);
    format!("{namespace}:{}/{name}", kind.to_lowercase())
}

/// What a sweep found and did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Stale objects deleted (or, in dry mode, that would have been).
    pub stale: Vec<String>,
    /// Deletions that failed, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Where and how a sweep looks.
pub struct SweepScope<'a> {
    pub sync_set: &'a str,
    /// Ids of every object of the sync just made (applied or not).
    pub synced: &'a BTreeSet<String>,
    /// Allowed namespaces; empty means all.
    pub namespaces: &'a BTreeSet<String>,
    /// `group/version/Kind` globs never listed (`--k8s-unsafe-exclude-resource`).
    pub excluded_resources: &'a [String],
    /// Objects matching this are kept (fluxd's ignore annotation).
    pub ignore: &'a Selector,
    /// Only report what would be deleted.
    pub dry_run: bool,
}

/// Deletes (or, dry, only logs) the stale objects of `scope.sync_set`.
pub async fn sweep(client: &kube::Client, scope: &SweepScope<'_>) -> Result<Sweep, kube::Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut result = Sweep::default();
    for group in discovery.groups() {
        for (resource, capabilities) in group.recommended_resources() {
            if !listable(&resource, &capabilities, scope.excluded_resources) {
                continue;
            }
            for object in marked_objects(client, &resource, &capabilities, scope).await? {
                sweep_object(client, &resource, &capabilities, object, scope, &mut result).await;
            }
        }
    }
    Ok(result)
}

fn listable(resource: &ApiResource, capabilities: &ApiCapabilities, excluded: &[String]) -> bool {
    let api_version = resource.api_version.as_str();
    let full = format!("{api_version}/{}", resource.kind);
    capabilities.supports_operation(verbs::LIST)
        && !excluded.iter().any(|glob| {
            tether_imagepolicy::glob_matches(glob, &full)
                || tether_imagepolicy::glob_matches(glob, &format!("{api_version}/"))
        })
}

async fn marked_objects(
    client: &kube::Client,
    resource: &ApiResource,
    capabilities: &ApiCapabilities,
    scope: &SweepScope<'_>,
) -> Result<Vec<DynamicObject>, kube::Error> {
    let params = ListParams::default().labels(GC_MARK_LABEL);
    let apis: Vec<Api<DynamicObject>> =
        if capabilities.scope == Scope::Namespaced && !scope.namespaces.is_empty() {
            scope
                .namespaces
                .iter()
                .map(|ns| Api::namespaced_with(client.clone(), ns, resource))
                .collect()
        } else {
            vec![Api::all_with(client.clone(), resource)]
        };
    let mut objects = Vec::new();
    for api in apis {
        match api.list(&params).await {
            Ok(list) => objects.extend(list.items),
            // As fluxd: a kind it may not list does not stop the sweep.
            Err(kube::Error::Api(status)) if status.code == 403 || status.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    objects.retain(|o| {
        o.metadata
            .owner_references
            .as_ref()
            .is_none_or(Vec::is_empty)
    });
    Ok(objects)
}

async fn sweep_object(
    client: &kube::Client,
    resource: &ApiResource,
    capabilities: &ApiCapabilities,
    object: DynamicObject,
    scope: &SweepScope<'_>,
    result: &mut Sweep,
) {
    let namespaced = capabilities.scope == Scope::Namespaced;
    let namespace = object.metadata.namespace.as_deref().filter(|_| namespaced);
    let name = object.metadata.name.clone().unwrap_or_default();
    let id = resource_id(namespace, &resource.kind, &name);
    let mark = object
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(GC_MARK_LABEL));
    if mark != Some(&gc_mark(scope.sync_set, &id)) || scope.synced.contains(&id) {
        return;
    }
    let value = serde_json::to_value(&object).unwrap_or_default();
    if scope.ignore.matches(&value) {
        tracing::info!(resource = %id, dry_run = scope.dry_run, "skipping GC of cluster resource; resource has ignore policy");
        return;
    }
    tracing::info!(resource = %id, dry_run = scope.dry_run, "cluster resource not in resources to be synced; deleting");
    if scope.dry_run {
        result.stale.push(id);
        return;
    }
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    match api.delete(&name, &DeleteParams::background()).await {
        Ok(_) => result.stale.push(id),
        Err(kube::Error::Api(status)) if status.code == 404 => result.stale.push(id),
        Err(error) => result.failed.push((id, error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_urls_follow_fluxd() {
        assert_eq!(
            safe_url("ssh://git@127.0.0.1:2222/srv/repo.git"),
            "ssh://git@127.0.0.1:2222/srv/repo.git"
        );
        assert_eq!(
            safe_url("git@github.com:org/repo"),
            "ssh://git@github.com/org/repo"
        );
        assert_eq!(
            safe_url("https://bob:secret@example.com/org/repo.git"),
            "https://bob@example.com/org/repo.git"
        );
        assert_eq!(
            safe_url("https://example.com/org/repo.git"),
            "https://example.com/org/repo.git"
        );
    }

    /// Pinned values computed independently (Python's hashlib and urlsafe base64 without
    /// padding, fluxd's `base64.RawURLEncoding`) over fluxd's inputs.
    #[test]
    fn marks_are_fluxds_hashes() {
        let set = sync_set_name("ssh://git@h/r.git", "master", &["apps".into()]);
        assert_eq!(set, "KDFAbsO2PzebRCqPYstGOvy_fJkwoTYM5FLG6okOywE");
        assert_eq!(
            gc_mark(&set, "team:deployment/web"),
            "sha256.lJ0H-pmm3vt3f8ip3wjpBNoOj0LkWlCLa6apTDonnEk"
        );
        let mark = gc_mark(&set, "team:deployment/web");
        assert!(mark.starts_with("sha256.") && mark.len() == 50, "{mark}");
        assert_ne!(mark, gc_mark(&set, "team:deployment/api"));
        let other = sync_set_name("ssh://git@h/r.git", "main", &["apps".into()]);
        assert_ne!(mark, gc_mark(&other, "team:deployment/web"));
        // Paths are hashed without separators, as fluxd did.
        assert_eq!(
            sync_set_name("u", "b", &["ab".into()]),
            sync_set_name("u", "b", &["a".into(), "b".into()])
        );
    }

    #[test]
    fn ids_are_fluxd_ids() {
        assert_eq!(
            resource_id(Some("team"), "Deployment", "web"),
            "team:deployment/web"
        );
        assert_eq!(
            resource_id(None, "Namespace", "team"),
            "<cluster>:namespace/team"
        );
    }
}
