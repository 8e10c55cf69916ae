//! Reading workloads out of one YAML stream: which documents (and `List` items) are
//! workloads fluxd automated, their ids, containers and annotations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::id::{DEFAULT_NAMESPACE, ResourceId};
use crate::policy::WorkloadPolicy;
use crate::yaml_tree::{Node, SyntaxError, parse_documents};

/// The kinds fluxd updated images in (its `resourceKinds`, less `HelmRelease`, whose images
/// live in chart values and are out of scope here).
pub const WORKLOAD_KINDS: [&str; 4] = ["Deployment", "DaemonSet", "StatefulSet", "CronJob"];

/// One container (or init container) of a workload's pod template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The container name.
    pub name: String,
    /// The image exactly as written (empty when the manifest has none).
    pub image: String,
    /// Listed under `initContainers`.
    pub init: bool,
}

/// A workload found in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// `<namespace>:<kind>/<name>`; a manifest without namespace is in `default`.
    pub id: ResourceId,
    /// The file, relative to the repository root.
    pub file: PathBuf,
    /// 0-based index of the YAML document in the file.
    pub document: usize,
    /// 0-based index in the document's `items` when the document is a `List`.
    pub item: Option<usize>,
    /// Containers, then init containers, in manifest order.
    pub containers: Vec<Container>,
    /// `metadata.annotations` with values as written.
    pub annotations: BTreeMap<String, String>,
    /// The policies those annotations set.
    pub policy: WorkloadPolicy,
}

impl Workload {
    /// The container called `name`.
    pub fn container(&self, name: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Container names, containers first then init containers.
    pub fn container_names(&self) -> Vec<&str> {
        self.containers.iter().map(|c| c.name.as_str()).collect()
    }
}

/// A manifest (document or `List` item) inside a parsed stream.
pub(crate) struct Located<'a> {
    pub document: usize,
    pub item: Option<usize>,
    pub node: &'a Node,
}

/// Every object of the stream: documents, and the items of documents whose kind ends in
/// `List` (fluxd's rule), in order.
pub(crate) fn objects(documents: &[Option<Node>]) -> Vec<Located<'_>> {
    let mut out = Vec::new();
    for (document, node) in documents.iter().enumerate() {
        let Some(node) = node else { continue };
        let kind = node.get("kind").and_then(Node::as_str).unwrap_or("");
        match node.get("items").and_then(Node::items) {
            Some(items) if kind.ends_with("List") => {
                out.extend(items.iter().enumerate().map(|(i, item)| Located {
                    document,
                    item: Some(i),
                    node: item,
                }));
            }
            _ => out.push(Located {
                document,
                item: None,
                node,
            }),
        }
    }
    out
}

/// The object's id with the kind as written, if it has a kind and a name.
pub(crate) fn object_id(node: &Node) -> Option<ResourceId> {
    let kind = node.get("kind")?.as_str()?;
    let metadata = node.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = metadata
        .get("namespace")
        .and_then(Node::as_str)
        .filter(|ns| !ns.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE);
    (!kind.is_empty() && !name.is_empty()).then(|| ResourceId::new(namespace, kind, name))
}

/// The pod spec of a workload: `spec.template.spec`, or under `jobTemplate` for a CronJob.
pub(crate) fn pod_spec(node: &Node) -> Option<&Node> {
    let spec = node.get("spec")?;
    let template_owner = if node.get("kind").and_then(Node::as_str) == Some("CronJob") {
        spec.get("jobTemplate")?.get("spec")?
    } else {
        spec
    };
    template_owner.get("template")?.get("spec")
}

/// The container mappings of a pod spec: `containers` then `initContainers`.
pub(crate) fn container_nodes(pod_spec: &Node) -> Vec<(&Node, bool)> {
    let list = |key: &str, init: bool| {
        pod_spec
            .get(key)
            .and_then(Node::items)
            .unwrap_or_default()
            .iter()
            .map(move |c| (c, init))
    };
    list("containers", false)
        .chain(list("initContainers", true))
        .collect()
}

fn read_annotations(node: &Node) -> BTreeMap<String, String> {
    let entries = node
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Node::entries)
        .unwrap_or_default();
    entries
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect()
}

fn read_workload(located: &Located<'_>, file: &Path) -> Option<Workload> {
    let node = located.node;
    let kind = node.get("kind")?.as_str()?;
    if !WORKLOAD_KINDS.contains(&kind) {
        return None;
    }
    let id = object_id(node)?;
    let containers = pod_spec(node)
        .map(container_nodes)
        .unwrap_or_default()
        .into_iter()
        .map(|(c, init)| Container {
            name: c
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            image: c
                .get("image")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            init,
        })
        .collect();
    let annotations = read_annotations(node);
    let policy =
        WorkloadPolicy::from_annotations(annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Some(Workload {
        id,
        file: file.to_path_buf(),
        document: located.document,
        item: located.item,
        containers,
        annotations,
        policy,
    })
}

/// A stream that could not be read as workloads.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The text is not YAML.
    #[error("parsing YAML in {file}: {source}")]
    Syntax {
        /// The file (as given).
        file: PathBuf,
        /// The scanner's error.
        source: SyntaxError,
    },
    /// One workload is defined twice in the same file.
    #[error("duplicate definition of '{id}' (in {file}, documents {first} and {second})")]
    Duplicate {
        /// The workload id.
        id: ResourceId,
        /// The file.
        file: PathBuf,
        /// Index of the first document defining it.
        first: usize,
        /// Index of the second.
        second: usize,
    },
}

/// The workloads (Deployment, DaemonSet, StatefulSet, CronJob) in one YAML stream, read from
/// `file` (used only to label them). Objects of other kinds, and workloads without a name, are
/// passed over.
pub fn workloads_in_text(text: &str, file: &Path) -> Result<Vec<Workload>, ManifestError> {
    let documents = parse_documents(text).map_err(|source| ManifestError::Syntax {
        file: file.to_path_buf(),
        source,
    })?;
    let mut found: Vec<Workload> = Vec::new();
    for located in objects(&documents) {
        let Some(workload) = read_workload(&located, file) else {
            continue;
        };
        if let Some(first) = found.iter().find(|w| w.id == workload.id) {
            return Err(ManifestError::Duplicate {
                id: workload.id,
                file: file.to_path_buf(),
                first: first.document,
                second: located.document,
            });
        }
        found.push(workload);
    }
    Ok(found)
}
