//! Field specs: which fields of which kinds a transformer touches, walking them, and kustomize's
//! built-in tables (labels, annotations, namespace, images, replicas, cluster-scoped kinds).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::resource::Gvk;

/// A path in objects of a (possibly partial) gvk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSpec {
    /// API group to match; empty matches any.
    #[serde(default)]
    pub group: String,
    /// API version to match; empty matches any.
    #[serde(default)]
    pub version: String,
    /// Kind to match; empty matches any.
    #[serde(default)]
    pub kind: String,
    /// `/`-separated path; `\/` escapes a slash, a `[]` suffix marks a list.
    #[serde(default)]
    pub path: String,
    /// Whether missing fields are created.
    #[serde(default, rename = "create")]
    pub create: bool,
}

impl FieldSpec {
    /// A spec from parts.
    pub fn new(group: &str, version: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            path: path.into(),
            create,
        }
    }

    /// The gvk part as a selector.
    pub fn gvk(&self) -> Gvk {
        Gvk {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        }
    }

    /// Whether an object of `gvk` is addressed by this spec.
    pub fn matches(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.gvk())
    }
}

/// What to create at the end of a path when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Never create.
    Nothing,
    /// Create a string scalar (set to empty before the setter runs).
    Scalar,
    /// Create a mapping.
    Map,
}

/// Splits a field-spec path, honouring `\/` escapes and a leading `/`.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(p);
            }
            _ => out.push(p.to_string()),
        }
    }
    out
}

/// Runs `set` on every node the spec addresses in `obj` (whose gvk is `gvk`).
pub fn apply(
    obj: &mut Value,
    gvk: &Gvk,
    spec: &FieldSpec,
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    if !spec.matches(gvk) {
        return Ok(());
    }
    let path = split_path(&spec.path);
    walk(obj, &path, spec.create, create, set)
        .map_err(|e| Error::transform(format!("considering field '{}': {e}", spec.path)))
}

fn walk(
    node: &mut Value,
    path: &[String],
    create_missing: bool,
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    let Some((head, rest)) = path.split_first() else {
        return set(node);
    };
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk(item, path, create_missing, create, set)?;
            }
            Ok(())
        }
        Value::Object(map) => walk_map(map, head, rest, create_missing, create, set),
        _ => Err(Error::transform("expected sequence or mapping node")),
    }
}

fn walk_map(
    map: &mut Map<String, Value>,
    head: &str,
    rest: &[String],
    create_missing: bool,
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    let (name, is_seq) = match head.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (head, false),
    };
    if name.is_empty() {
        return Err(Error::transform("cannot set or create an empty field name"));
    }
    let creating = create_missing && create != Create::Nothing && !is_seq;
    if !map.contains_key(name) {
        if !creating {
            return Ok(());
        }
        let fresh = if rest.is_empty() && create == Create::Scalar {
            Value::String(String::new())
        } else {
            Value::Object(Map::new())
        };
        map.insert(name.to_string(), fresh);
    }
    let Some(field) = map.get_mut(name) else {
        return Ok(());
    };
    if field.is_null() && creating {
        *field = if rest.is_empty() && create == Create::Scalar {
            Value::String(String::new())
        } else {
            Value::Object(Map::new())
        };
    }
    walk(field, rest, create_missing, create, set)
}

fn specs(rows: &[(&str, &str, &str, &str, bool)]) -> Vec<FieldSpec> {
    rows.iter()
        .map(|(g, v, k, p, c)| FieldSpec::new(g, v, k, p, *c))
        .collect()
}

/// Labels on object metadata and on the pod/claim templates of workloads.
pub fn metadata_labels() -> Vec<FieldSpec> {
    specs(&[
        ("", "", "", "metadata/labels", true),
        (
            "",
            "v1",
            "ReplicationController",
            "spec/template/metadata/labels",
            true,
        ),
        ("", "", "Deployment", "spec/template/metadata/labels", true),
        ("", "", "ReplicaSet", "spec/template/metadata/labels", true),
        ("", "", "DaemonSet", "spec/template/metadata/labels", true),
        (
            "apps",
            "",
            "StatefulSet",
            "spec/template/metadata/labels",
            true,
        ),
        (
            "apps",
            "",
            "StatefulSet",
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
        ),
        ("batch", "", "Job", "spec/template/metadata/labels", true),
        (
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/metadata/labels",
            true,
        ),
        (
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/labels",
            true,
        ),
    ])
}

/// `commonLabels`: metadata labels plus selectors.
pub fn common_labels() -> Vec<FieldSpec> {
    let mut out = specs(&[
        ("", "v1", "Service", "spec/selector", true),
        ("", "v1", "ReplicationController", "spec/selector", true),
        ("", "", "Deployment", "spec/selector/matchLabels", true),
    ]);
    out.extend(affinity_selectors("Deployment"));
    out.extend(specs(&[
        ("", "", "ReplicaSet", "spec/selector/matchLabels", true),
        ("", "", "DaemonSet", "spec/selector/matchLabels", true),
        ("apps", "", "StatefulSet", "spec/selector/matchLabels", true),
    ]));
    out.extend(affinity_selectors("StatefulSet"));
    out.extend(specs(&[
        ("batch", "", "Job", "spec/selector/matchLabels", false),
        (
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/selector/matchLabels",
            false,
        ),
        (
            "policy",
            "",
            "PodDisruptionBudget",
            "spec/selector/matchLabels",
            false,
        ),
        (
            "networking.k8s.io",
            "",
            "NetworkPolicy",
            "spec/podSelector/matchLabels",
            false,
        ),
        (
            "networking.k8s.io",
            "",
            "NetworkPolicy",
            "spec/ingress/from/podSelector/matchLabels",
            false,
        ),
        (
            "networking.k8s.io",
            "",
            "NetworkPolicy",
            "spec/egress/to/podSelector/matchLabels",
            false,
        ),
    ]));
    out.extend(metadata_labels());
    out
}

fn affinity_selectors(kind: &str) -> Vec<FieldSpec> {
    let pod = "spec/template/spec/affinity";
    [
        format!("{pod}/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels"),
        format!("{pod}/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels"),
        format!("{pod}/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels"),
        format!("{pod}/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels"),
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels".to_string(),
    ]
    .iter()
    .map(|p| FieldSpec::new("apps", "", kind, p, false))
    .collect()
}

/// `commonAnnotations`: metadata and pod templates.
pub fn common_annotations() -> Vec<FieldSpec> {
    specs(&[
        ("", "", "", "metadata/annotations", true),
        (
            "",
            "v1",
            "ReplicationController",
            "spec/template/metadata/annotations",
            true,
        ),
        (
            "",
            "",
            "Deployment",
            "spec/template/metadata/annotations",
            true,
        ),
        (
            "",
            "",
            "ReplicaSet",
            "spec/template/metadata/annotations",
            true,
        ),
        (
            "",
            "",
            "DaemonSet",
            "spec/template/metadata/annotations",
            true,
        ),
        (
            "",
            "",
            "StatefulSet",
            "spec/template/metadata/annotations",
            true,
        ),
        (
            "batch",
            "",
            "Job",
            "spec/template/metadata/annotations",
            true,
        ),
        (
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/metadata/annotations",
            true,
        ),
        (
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/annotations",
            true,
        ),
    ])
}

/// Namespace fields besides `metadata/namespace`.
pub fn namespace_fields() -> Vec<FieldSpec> {
    specs(&[
        ("", "", "", "metadata/namespace", true),
        ("", "", "Namespace", "metadata/name", true),
        (
            "apiregistration.k8s.io",
            "",
            "APIService",
            "spec/service/namespace",
            true,
        ),
        (
            "apiextensions.k8s.io",
            "",
            "CustomResourceDefinition",
            "spec/conversion/webhook/clientConfig/service/namespace",
            false,
        ),
    ])
}

/// Container image fields.
pub fn image_fields() -> Vec<FieldSpec> {
    specs(&[
        ("", "", "", "spec/containers[]/image", true),
        ("", "", "", "spec/initContainers[]/image", true),
        ("", "", "", "spec/volumes[]/image/reference", true),
        ("", "", "", "spec/template/spec/containers[]/image", true),
        (
            "",
            "",
            "",
            "spec/template/spec/initContainers[]/image",
            true,
        ),
        (
            "",
            "",
            "",
            "spec/template/spec/volumes[]/image/reference",
            true,
        ),
    ])
}

/// Replica count fields.
pub fn replica_fields() -> Vec<FieldSpec> {
    [
        "Deployment",
        "ReplicationController",
        "ReplicaSet",
        "StatefulSet",
    ]
    .iter()
    .map(|k| FieldSpec::new("", "", k, "spec/replicas", true))
    .collect()
}

/// Where legacy `vars` may be referenced as `$(NAME)`: container args, commands, env values
/// and mount paths and NFS servers of every workload, and a few fields of other kinds.
pub fn var_reference_fields() -> Vec<FieldSpec> {
    const WORKLOADS: [(&str, &str); 7] = [
        ("CronJob", "spec/jobTemplate/spec/template/spec"),
        ("DaemonSet", "spec/template/spec"),
        ("Deployment", "spec/template/spec"),
        ("Job", "spec/template/spec"),
        ("Pod", "spec"),
        ("ReplicaSet", "spec/template/spec"),
        ("StatefulSet", "spec/template/spec"),
    ];
    let mut out = Vec::new();
    for (kind, pod) in WORKLOADS {
        for list in ["containers", "initContainers"] {
            for field in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                out.push(FieldSpec::new(
                    "",
                    "",
                    kind,
                    &format!("{pod}/{list}/{field}"),
                    false,
                ));
            }
        }
        let nfs = match kind {
            // kustomize's table has the CronJob path without the pod template's `spec`.
            "CronJob" => "spec/jobTemplate/spec/template/volumes/nfs/server".to_string(),
            "StatefulSet" => "spec/volumeClaimTemplates/spec/nfs/server".to_string(),
            _ => format!("{pod}/volumes/nfs/server"),
        };
        out.push(FieldSpec::new("", "", kind, &nfs, false));
        if kind == "Deployment" {
            out.push(FieldSpec::new(
                "",
                "",
                kind,
                "spec/template/metadata/annotations",
                false,
            ));
        }
    }
    out.extend(specs(&[
        ("", "", "Ingress", "spec/rules/host", false),
        ("", "", "Ingress", "spec/tls/hosts", false),
        ("", "", "Ingress", "spec/tls/secretName", false),
        ("", "", "Service", "spec/ports/port", false),
        ("", "", "Service", "spec/ports/targetPort", false),
        ("", "", "PersistentVolume", "spec/nfs/server", false),
        ("", "", "", "metadata/labels", false),
        ("", "", "", "metadata/annotations", false),
    ]));
    out
}

/// Types kustomize's built-in schema knows as cluster-scoped, by group.
const CLUSTER_SCOPED: &[(&str, &[&str])] = &[
    (
        "admissionregistration.k8s.io",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ],
    ),
    ("apiextensions.k8s.io", &["CustomResourceDefinition"]),
    ("apiregistration.k8s.io", &["APIService"]),
    ("certificates.k8s.io", &["CertificateSigningRequest"]),
    (
        "flowcontrol.apiserver.k8s.io",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    ("networking.k8s.io", &["IngressClass"]),
    ("node.k8s.io", &["RuntimeClass"]),
    ("policy", &["PodSecurityPolicy"]),
    (
        "rbac.authorization.k8s.io",
        &["ClusterRole", "ClusterRoleBinding"],
    ),
    ("scheduling.k8s.io", &["PriorityClass"]),
    (
        "storage.k8s.io",
        &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
    ),
    (
        "",
        &["ComponentStatus", "Namespace", "Node", "PersistentVolume"],
    ),
];

/// Whether kustomize's built-in schema knows `kind` of `group` (empty for the core group) as
/// cluster-scoped.
pub fn is_cluster_scoped_group_kind(group: &str, kind: &str) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|(g, kinds)| *g == group && kinds.contains(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn walks_lists_and_creates_maps() {
        let mut obj = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let gvk = Gvk::default();
        let spec = FieldSpec::new("", "", "", "spec/containers[]/image", false);
        let mut seen = Vec::new();
        let r = apply(&mut obj, &gvk, &spec, Create::Nothing, &mut |v| {
            seen.push(v.clone());
            Ok(())
        });
        assert!(r.is_ok());
        assert_eq!(seen, vec![json!("a"), json!("b")]);
        let mut obj = json!({});
        let spec = FieldSpec::new("", "", "", "metadata/labels", true);
        let r = apply(&mut obj, &gvk, &spec, Create::Map, &mut |_| Ok(()));
        assert!(r.is_ok());
        assert_eq!(obj, json!({"metadata": {"labels": {}}}));
    }

    #[test]
    fn splits_escaped_slashes() {
        assert_eq!(
            split_path(r"metadata/annotations/a.io\/b"),
            vec!["metadata", "annotations", "a.io/b"]
        );
    }
}
