//! `tether tree kustomization NAME [--compact]` and `tether tree helmrelease NAME [--compact]`:
//! the objects in a Kustomization's `status.inventory` as `flux tree` prints them
//! (`Kind/namespace/name` under `├──` / `└──`), descending into inventory entries that are
//! Kustomizations or HelmReleases themselves. A HelmRelease's objects are those of the manifest
//! of its newest release, read from Helm's storage as `flux tree` reads them.

use super::cluster::{self, get_named};
use crate::cli::{TreeArgs, TreeKind};
use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use tether_api::helm::v2::HelmRelease;
use tether_api::kustomize::v1::Kustomization;

const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
/// With `--compact`, only objects of groups containing this are listed.
const FLUX_GROUP_SUFFIX: &str = "toolkit.fluxcd.io";

pub fn run(args: TreeArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let namespace = args.cluster.namespace.as_str();
        let tree = match &args.kind {
            TreeKind::Kustomization { name, compact } => {
                let api = Api::<Kustomization>::namespaced(client.clone(), namespace);
                let root = get_named(&api, namespace, name).await?;
                let mut tree = Tree::new(format!("Kustomization/{namespace}/{name}"));
                add_inventory(&client, &root, &mut tree, *compact).await?;
                tree
            }
            TreeKind::Helmrelease { name, compact } => {
                let mut tree = Tree::new(format!("HelmRelease/{namespace}/{name}"));
                add_release_objects(&client, namespace, name, &mut tree, *compact).await?;
                tree
            }
        };
        println!("{}", tree.render());
        Ok(())
    })
}

/// Adds the objects of HelmRelease `namespace/name`'s newest release under `tree` (with
/// `compact`, Flux objects only).
async fn add_release_objects(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    tree: &mut Tree,
    compact: bool,
) -> anyhow::Result<()> {
    let api = Api::<HelmRelease>::namespaced(client.clone(), namespace);
    let release = get_named(&api, namespace, name).await?;
    for id in release_objects(client, &release).await? {
        if !compact || id.group.contains(FLUX_GROUP_SUFFIX) {
            tree.push(id.to_string());
        }
    }
    Ok(())
}

/// Flux's `getHelmReleaseInventory`: the objects of the manifest stored for the newest
/// snapshot of `status.history`, namespaced objects without a namespace put in the release's.
/// Nothing for a release on a remote cluster, without history, or whose record is gone.
async fn release_objects(
    client: &kube::Client,
    release: &HelmRelease,
) -> anyhow::Result<Vec<ObjectId>> {
    let status = release.status.as_ref();
    let storage = status.and_then(|s| s.storage_namespace.as_deref());
    let newest = status.and_then(|s| s.history.as_deref()?.first());
    let (Some(storage), Some(newest), None) = (storage, newest, &release.spec.kube_config) else {
        return Ok(Vec::new());
    };
    let shown = format!(
        "HelmRelease '{}/{}'",
        release.metadata.namespace.as_deref().unwrap_or_default(),
        release.metadata.name.as_deref().unwrap_or_default()
    );
    let secret_name = tether_helm::release::storage::secret_name(&newest.name, newest.version);
    let secrets = Api::<Secret>::namespaced(client.clone(), storage);
    let secret = secrets
        .get_opt(&secret_name)
        .await
        .with_context(|| format!("failed to find the Helm storage object for {shown}"))?;
    let Some(secret) = secret else {
        return Ok(Vec::new());
    };
    let payload = secret.data.as_ref().and_then(|d| d.get("release"));
    let payload =
        payload.with_context(|| format!("failed to decode the Helm storage object for {shown}"))?;
    let record = tether_helm::release::storage::decode_payload(&payload.0)
        .with_context(|| format!("failed to decode the Helm storage object for {shown}"))?;
    let mut objects =
        tether_helm_actions::objects::parse_documents("manifest", &record.manifest)
            .with_context(|| format!("failed to read the Helm storage object for {shown}"))?;
    let manager = tether_ssa::ResourceManager::new(client.clone());
    tether_helm_actions::objects::default_namespaces(&manager, &mut objects, &newest.namespace)
        .await
        .with_context(|| format!("failed to read the Helm storage object for {shown}"))?;
    objects.iter().map(ObjectId::of_object).collect()
}

/// Adds `kustomization`'s inventory under `tree`, and recursively that of every Kustomization
/// in it (unless it applies to a remote cluster, whose objects are not here to read).
async fn add_inventory(
    client: &kube::Client,
    kustomization: &Kustomization,
    tree: &mut Tree,
    compact: bool,
) -> anyhow::Result<()> {
    for id in inventory_ids(kustomization, compact)? {
        let child = tree.push(id.to_string());
        if id.is_helm_release() {
            Box::pin(add_release_objects(
                client,
                &id.namespace,
                &id.name,
                child,
                compact,
            ))
            .await?;
        }
        if id.is_kustomization() && kustomization.spec.kube_config.is_none() {
            let api = Api::<Kustomization>::namespaced(client.clone(), &id.namespace);
            let nested = get_named(&api, &id.namespace, &id.name).await?;
            Box::pin(add_inventory(client, &nested, child, compact)).await?;
        }
    }
    Ok(())
}

/// The inventory entries to list: all but the Kustomization itself, and with `compact` only
/// Flux objects.
fn inventory_ids(kustomization: &Kustomization, compact: bool) -> anyhow::Result<Vec<ObjectId>> {
    let entries = kustomization
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map(|i| i.entries.as_slice())
        .unwrap_or_default();
    let meta = &kustomization.metadata;
    let is_self = |id: &ObjectId| {
        id.is_kustomization()
            && Some(&id.namespace) == meta.namespace.as_ref()
            && Some(&id.name) == meta.name.as_ref()
    };
    let mut ids = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = ObjectId::parse(&entry.id)?;
        if !(compact && !id.group.contains(FLUX_GROUP_SUFFIX) || is_self(&id)) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// An inventory entry's identity, `<namespace>_<name>_<group>_<kind>`, where a `:` in the name
/// is written `__`.
#[derive(Debug, PartialEq)]
struct ObjectId {
    namespace: String,
    name: String,
    group: String,
    kind: String,
}

impl ObjectId {
    fn parse(id: &str) -> anyhow::Result<Self> {
        let invalid = || anyhow::anyhow!("invalid inventory entry {id:?}");
        let (namespace, rest) = id.split_once('_').ok_or_else(invalid)?;
        let (rest, kind) = rest.rsplit_once('_').ok_or_else(invalid)?;
        let (name, group) = rest.rsplit_once('_').ok_or_else(invalid)?;
        let name = name.replace("__", ":");
        if name.contains('_') || name.is_empty() || kind.is_empty() {
            bail!("invalid inventory entry {id:?}");
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            name,
            group: group.to_owned(),
            kind: kind.to_owned(),
        })
    }

    /// The identity of an object of a manifest.
    fn of_object(object: &serde_json::Value) -> anyhow::Result<Self> {
        let reference = tether_core::object::ObjectRef::from_object(object)
            .context("invalid object in the release manifest")?;
        Ok(Self {
            namespace: reference.namespace,
            name: reference.name,
            group: reference.group,
            kind: reference.kind,
        })
    }

    fn is_kustomization(&self) -> bool {
        self.group == KUSTOMIZE_GROUP && self.kind == "Kustomization"
    }

    fn is_helm_release(&self) -> bool {
        self.group == HELM_GROUP && self.kind == "HelmRelease"
    }
}

/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.namespace.as_str() {
            "" => write!(f, "{}/{}", self.kind, self.name),
            namespace => write!(f, "{}/{namespace}/{}", self.kind, self.name),
        }
    }
}

/// A line of text with the lines below it.
#[derive(Debug)]
struct Tree {
    text: String,
    children: Vec<Tree>,
}

impl Tree {
    fn new(text: String) -> Self {
        Self {
            text,
            children: Vec::new(),
        }
    }

    /// Appends a child and returns it, to add its own children.
    fn push(&mut self, text: String) -> &mut Tree {
        self.children.push(Tree::new(text));
        let last = self.children.len() - 1;
        &mut self.children[last]
    }

    /// The root's text, then every descendant on its own line under `├── ` / `└── `, nested
    /// levels indented with `│   ` or spaces; every line ends with a newline.
    fn render(&self) -> String {
        let mut out = format!("{}\n", self.text);
        render_children(&self.children, "", &mut out);
        out
    }
}

fn render_children(children: &[Tree], indent: &str, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (branch, continuation) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        out.push_str(&format!("{indent}{branch}{}\n", child.text));
        render_children(&child.children, &format!("{indent}{continuation}"), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kustomization(name: &str, ids: &[&str]) -> Kustomization {
        let entries: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({"id": id, "v": "v1"}))
            .collect();
        let object = serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"interval": "10m", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
            "status": {"inventory": {"entries": entries}},
        });
        serde_json::from_value(object).expect("a valid Kustomization")
    }

    const ROOT: &[&str] = &[
        "_flux-system__Namespace",
        "flux-system_source-controller_apps_Deployment",
        "flux-system_flux-system_kustomize.toolkit.fluxcd.io_Kustomization",
        "flux-system_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization",
        "flux-system_flux-system_source.toolkit.fluxcd.io_GitRepository",
    ];
    const INFRASTRUCTURE: &[&str] = &[
        "_cert-manager__Namespace",
        "cert-manager_cert-manager_source.toolkit.fluxcd.io_HelmRepository",
    ];

    /// What `add_inventory` builds, with the nested Kustomization given instead of fetched.
    fn tree(compact: bool) -> Tree {
        let mut tree = Tree::new("Kustomization/flux-system/flux-system".into());
        let root = kustomization("flux-system", ROOT);
        for id in inventory_ids(&root, compact).expect("valid ids") {
            let child = tree.push(id.to_string());
            if id.is_kustomization() {
                let nested = kustomization(&id.name, INFRASTRUCTURE);
                for nested_id in inventory_ids(&nested, compact).expect("valid ids") {
                    child.push(nested_id.to_string());
                }
            }
        }
        tree
    }

    #[test]
    fn tree_matches_flux() {
        // The shape of cmd/flux/testdata/tree/tree.golden.
        let expected = "\
Kustomization/flux-system/flux-system
├── Namespace/flux-system
├── Deployment/flux-system/source-controller
├── Kustomization/flux-system/infrastructure
│   ├── Namespace/cert-manager
│   └── HelmRepository/cert-manager/cert-manager
└── GitRepository/flux-system/flux-system
";
        assert_eq!(tree(false).render(), expected);
    }

    #[test]
    fn compact_tree_lists_flux_objects_only() {
        let expected = "\
Kustomization/flux-system/flux-system
├── Kustomization/flux-system/infrastructure
│   └── HelmRepository/cert-manager/cert-manager
└── GitRepository/flux-system/flux-system
";
        assert_eq!(tree(true).render(), expected);
    }

    #[test]
    fn empty_inventory_prints_the_root_only() {
        let empty = kustomization("empty", &[]);
        assert!(inventory_ids(&empty, false).expect("valid").is_empty());
        assert_eq!(
            Tree::new("Kustomization/flux-system/empty".into()).render(),
            "Kustomization/flux-system/empty\n"
        );
    }

    #[test]
    fn release_manifest_objects_are_named_as_flux_names_them() {
        let manifest = "\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: apps
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: web
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: apps
";
        let objects = tether_helm_actions::objects::parse_documents("manifest", manifest)
            .expect("a valid manifest");
        let mut tree = Tree::new("HelmRelease/apps/web".into());
        for object in &objects {
            tree.push(ObjectId::of_object(object).expect("valid").to_string());
        }
        let expected = "\
HelmRelease/apps/web
├── ServiceAccount/apps/web
├── ClusterRole/web
└── HelmRepository/apps/charts
";
        assert_eq!(tree.render(), expected);
        let no_kind = serde_json::json!({"apiVersion": "v1", "metadata": {"name": "x"}});
        assert!(ObjectId::of_object(&no_kind).is_err());
    }

    #[test]
    fn inventory_ids_decode_colons_and_reject_garbage() {
        let id =
            ObjectId::parse("_system__controller__manager_rbac.authorization.k8s.io_ClusterRole")
                .expect("valid");
        assert_eq!(id.to_string(), "ClusterRole/system:controller:manager");
        assert!(ObjectId::parse("no-separators").is_err());
        assert!(ObjectId::parse("ns_a_b_c_apps_Deployment").is_err());
    }
}
