//! `tether tree kustomization NAME [--compact]`: the objects in a Kustomization's
//! `status.inventory` as `flux tree` prints them (`Kind/namespace/name` under `├──` / `└──`),
//! descending into inventory entries that are Kustomizations themselves.

use super::cluster::{self, get_named};
use crate::cli::{TreeArgs, TreeKind};
use anyhow::bail;
use kube::api::Api;
use tether_api::kustomize::v1::Kustomization;

const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
/// With `--compact`, only objects of groups containing this are listed.
const FLUX_GROUP_SUFFIX: &str = "toolkit.fluxcd.io";

pub fn run(args: TreeArgs) -> anyhow::Result<()> {
    let TreeKind::Kustomization { name, compact } = &args.kind;
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let namespace = args.cluster.namespace.as_str();
        let api = Api::<Kustomization>::namespaced(client.clone(), namespace);
        let root = get_named(&api, namespace, name).await?;
        let mut tree = Tree::new(format!("Kustomization/{namespace}/{name}"));
        add_inventory(&client, &root, &mut tree, *compact).await?;
        println!("{}", tree.render());
        Ok(())
    })
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

    fn is_kustomization(&self) -> bool {
        self.group == KUSTOMIZE_GROUP && self.kind == "Kustomization"
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
    fn inventory_ids_decode_colons_and_reject_garbage() {
        let id =
            ObjectId::parse("_system__controller__manager_rbac.authorization.k8s.io_ClusterRole")
                .expect("valid");
        assert_eq!(id.to_string(), "ClusterRole/system:controller:manager");
        assert!(ObjectId::parse("no-separators").is_err());
        assert!(ObjectId::parse("ns_a_b_c_apps_Deployment").is_err());
    }
}
