//! Name-reference fixing: after prefixes, suffixes, hashes and namespaces changed object names,
//! every field that referred to an object by its old name is rewritten to the new one.
//!
//! The table of which fields refer to which kinds follows kustomize's built-in `nameReference`
//! configuration; pod-spec fields are expanded for every workload kind that embeds a pod spec.

use std::collections::HashMap;

use serde_json::Value;

use crate::config::BackRef;
use crate::error::{Error, Result};
use crate::fieldspec::{self, Create, FieldSpec};
use crate::resource::{Gvk, ResId, Resource};

/// Where each workload kind keeps its pod spec.
const POD_SPECS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("PodTemplate", "template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
    ("ReplicationController", "spec/template/spec"),
];

fn pod_refs(kinds: &[&str], suffixes: &[&str]) -> Vec<FieldSpec> {
    let mut out = Vec::new();
    for (kind, prefix) in POD_SPECS.iter().filter(|(k, _)| kinds.contains(k)) {
        for s in suffixes {
            let version = if *kind == "Pod" { "v1" } else { "" };
            out.push(FieldSpec::new(
                "",
                version,
                kind,
                &format!("{prefix}/{s}"),
                false,
            ));
        }
    }
    out
}

fn refs(rows: &[(&str, &str, &str)]) -> Vec<FieldSpec> {
    rows.iter()
        .map(|(g, k, p)| FieldSpec::new(g, "", k, p, false))
        .collect()
}

fn gvk(group: &str, version: &str, kind: &str) -> Gvk {
    Gvk {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
    }
}

const CONFIG_KINDS: &[&str] = &[
    "Pod",
    "PodTemplate",
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "CronJob",
];
const WORKLOADS: &[&str] = &[
    "Pod",
    "StatefulSet",
    "Deployment",
    "ReplicationController",
    "CronJob",
    "Job",
    "DaemonSet",
];

/// kustomize's built-in `nameReference` table.
pub fn builtin_back_refs() -> Vec<BackRef> {
    let scale = |k: &str| BackRef {
        target: gvk("", "", k),
        referrers: refs(&[("", "HorizontalPodAutoscaler", "spec/scaleTargetRef/name")]),
    };
    let mut configmap = pod_refs(
        CONFIG_KINDS,
        &[
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ],
    );
    configmap.extend(refs(&[
        ("", "Node", "spec/configSource/configMap"),
        ("", "Role", "rules/resourceNames"),
        ("", "ClusterRole", "rules/resourceNames"),
        (
            "",
            "Ingress",
            r"metadata/annotations/nginx.ingress.kubernetes.io\/fastcgi-params-configmap",
        ),
    ]));
    let mut secret = pod_refs(
        CONFIG_KINDS,
        &[
            "volumes/secret/secretName",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
            "volumes/projected/sources/secret/name",
        ],
    );
    secret.extend(refs(&[
        ("", "Ingress", "spec/tls/secretName"),
        (
            "",
            "Ingress",
            r"metadata/annotations/ingress.kubernetes.io\/auth-secret",
        ),
        (
            "",
            "Ingress",
            r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret",
        ),
        (
            "",
            "Ingress",
            r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-tls-secret",
        ),
        ("", "ServiceAccount", "imagePullSecrets/name"),
        ("", "StorageClass", "parameters/secretName"),
        ("", "StorageClass", "parameters/adminSecretName"),
        ("", "StorageClass", "parameters/userSecretName"),
        ("", "StorageClass", "parameters/secretRef"),
        ("", "Role", "rules/resourceNames"),
        ("", "ClusterRole", "rules/resourceNames"),
        (
            "serving.knative.dev",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
        ),
        ("", "PersistentVolume", "spec/azureFile/secretName"),
    ]));
    let rbac = "rbac.authorization.k8s.io";
    let mut service_account = refs(&[
        (rbac, "RoleBinding", "subjects"),
        (rbac, "ClusterRoleBinding", "subjects"),
    ]);
    service_account.extend(pod_refs(WORKLOADS, &["serviceAccountName"]));
    vec![
        scale("Deployment"),
        scale("ReplicationController"),
        scale("ReplicaSet"),
        scale("StatefulSet"),
        BackRef {
            target: gvk("", "v1", "ConfigMap"),
            referrers: configmap,
        },
        BackRef {
            target: gvk("", "v1", "Secret"),
            referrers: secret,
        },
        BackRef {
            target: gvk("", "v1", "Service"),
            referrers: refs(&[
                ("apps", "StatefulSet", "spec/serviceName"),
                ("", "Ingress", "spec/rules/http/paths/backend/serviceName"),
                ("", "Ingress", "spec/backend/serviceName"),
                ("", "Ingress", "spec/rules/http/paths/backend/service/name"),
                ("", "Ingress", "spec/defaultBackend/service/name"),
                ("apiregistration.k8s.io", "APIService", "spec/service/name"),
                (
                    "admissionregistration.k8s.io",
                    "ValidatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
                (
                    "admissionregistration.k8s.io",
                    "MutatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
            ]),
        },
        BackRef {
            target: gvk(rbac, "", "Role"),
            referrers: refs(&[(rbac, "RoleBinding", "roleRef/name")]),
        },
        BackRef {
            target: gvk(rbac, "", "ClusterRole"),
            referrers: refs(&[
                (rbac, "RoleBinding", "roleRef/name"),
                (rbac, "ClusterRoleBinding", "roleRef/name"),
            ]),
        },
        BackRef {
            target: gvk("", "v1", "ServiceAccount"),
            referrers: service_account,
        },
        BackRef {
            target: gvk("", "v1", "PersistentVolumeClaim"),
            referrers: pod_refs(WORKLOADS, &["volumes/persistentVolumeClaim/claimName"]),
        },
        BackRef {
            target: gvk("", "v1", "PersistentVolume"),
            referrers: refs(&[
                ("", "PersistentVolumeClaim", "spec/volumeName"),
                ("", "ClusterRole", "rules/resourceNames"),
            ]),
        },
        BackRef {
            target: gvk("storage.k8s.io", "v1", "StorageClass"),
            referrers: refs(&[
                ("", "PersistentVolume", "spec/storageClassName"),
                ("", "PersistentVolumeClaim", "spec/storageClassName"),
                (
                    "",
                    "StatefulSet",
                    "spec/volumeClaimTemplates/spec/storageClassName",
                ),
            ]),
        },
        BackRef {
            target: gvk("scheduling.k8s.io", "v1", "PriorityClass"),
            referrers: pod_refs(WORKLOADS, &["priorityClassName"]),
        },
        BackRef {
            target: gvk("networking.k8s.io/v1", "v1", "IngressClass"),
            referrers: refs(&[("", "Ingress", "spec/ingressClassName")]),
        },
        BackRef {
            target: gvk(
                "admissionregistration.k8s.io",
                "",
                "ValidatingAdmissionPolicy",
            ),
            referrers: refs(&[(
                "admissionregistration.k8s.io",
                "ValidatingAdmissionPolicyBinding",
                "spec/policyName",
            )]),
        },
    ]
}

/// What a name-reference pass needs to know about each object, computed once per pass.
struct Facts {
    ids: Vec<ResId>,
    prev: Vec<Vec<ResId>>,
    names: Vec<String>,
    namespaces: Vec<String>,
    effective_ns: Vec<String>,
    cluster_scoped: Vec<bool>,
    /// Indices of the objects that ever carried a name, ascending.
    by_prev_name: HashMap<String, Vec<usize>>,
}

impl Facts {
    fn of(all: &[Resource]) -> Facts {
        let ids: Vec<ResId> = all.iter().map(Resource::cur_id).collect();
        let prev: Vec<Vec<ResId>> = all.iter().map(Resource::prev_ids).collect();
        let mut by_prev_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, ps) in prev.iter().enumerate() {
            for p in ps {
                let list = by_prev_name.entry(p.name.clone()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        Facts {
            names: ids.iter().map(|id| id.name.clone()).collect(),
            namespaces: ids.iter().map(|id| id.namespace.clone()).collect(),
            effective_ns: ids.iter().map(|id| id.effective_namespace()).collect(),
            cluster_scoped: ids.iter().map(ResId::is_cluster_scoped).collect(),
            ids,
            prev,
            by_prev_name,
        }
    }

    /// The id the object had when it was first read.
    fn org_namespace(&self, i: usize) -> &str {
        self.prev[i]
            .first()
            .map_or(self.ids[i].namespace.as_str(), |p| p.namespace.as_str())
    }
}

/// Rewrites every name reference in `acc` to the current names of the objects referred to.
pub fn fix_references(acc: &mut [Resource], table: &[BackRef]) -> Result<()> {
    let snapshot: Vec<Resource> = acc.to_vec();
    let facts = Facts::of(&snapshot);
    for (ri, referrer) in acc.iter_mut().enumerate() {
        let org_gvk = facts.prev[ri]
            .first()
            .map_or(&facts.ids[ri].gvk, |p| &p.gvk)
            .clone();
        let binding_namespaces = subject_namespaces(&snapshot[ri]);
        for back in table {
            for spec in back
                .referrers
                .iter()
                .filter(|s| org_gvk.is_selected_by(&s.gvk()))
            {
                let ctx = RefCtx {
                    all: &snapshot,
                    facts: &facts,
                    referrer: ri,
                    binding_namespaces: &binding_namespaces,
                    target: &back.target,
                    spec,
                };
                let gvk = referrer.gvk();
                let path_only = FieldSpec {
                    path: spec.path.clone(),
                    ..FieldSpec::default()
                };
                fieldspec::apply(
                    &mut referrer.obj,
                    &gvk,
                    &path_only,
                    Create::Nothing,
                    &mut |node| ctx.set(node),
                )
                .map_err(|e| {
                    Error::transform(format!(
                        "updating name reference in '{}' field of '{}': {e}",
                        spec.path, facts.ids[ri]
                    ))
                })?;
            }
        }
    }
    Ok(())
}

fn subject_namespaces(r: &Resource) -> Vec<String> {
    if r.kind() != "RoleBinding" {
        return Vec::new();
    }
    r.obj
        .get("subjects")
        .and_then(Value::as_array)
        .map(|subjects| {
            subjects
                .iter()
                .filter(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
                .filter_map(|s| {
                    s.get("namespace")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

struct RefCtx<'a> {
    all: &'a [Resource],
    facts: &'a Facts,
    referrer: usize,
    binding_namespaces: &'a [String],
    target: &'a Gvk,
    spec: &'a FieldSpec,
}

impl RefCtx<'_> {
    fn set(&self, node: &mut Value) -> Result<()> {
        match node {
            Value::Null => Ok(()),
            Value::String(_) => self.set_scalar(node),
            Value::Object(_) => self.set_mapping(node),
            Value::Array(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::Object(_) => self.set_mapping(item)?,
                        Value::String(_) => self.set_scalar(item)?,
                        _ => {}
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// kustomize's `SubsetThatCouldBeReferencedByResource`, restricted to objects that once
    /// carried the name `old` (in object order).
    fn candidates(&self, old: &str) -> Vec<usize> {
        let f = self.facts;
        let Some(named) = f.by_prev_name.get(old) else {
            return Vec::new();
        };
        let ri = self.referrer;
        if f.cluster_scoped[ri] {
            return named.clone();
        }
        let rns = &f.effective_ns[ri];
        named
            .iter()
            .copied()
            .filter(|&i| {
                f.cluster_scoped[i]
                    || f.effective_ns[i] == *rns
                    || self.binding_namespaces.contains(&f.namespaces[i])
            })
            .collect()
    }

    fn set_scalar(&self, node: &mut Value) -> Result<()> {
        let old = node.as_str().unwrap_or_default().to_string();
        let chosen = self.select(&old, self.candidates(&old), false)?;
        if let Some(i) = chosen {
            let name = &self.facts.names[i];
            if *name != old {
                *node = Value::String(name.clone());
            }
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<()> {
        let Some(map) = node.as_object_mut() else {
            return Ok(());
        };
        let Some(old) = map.get("name").map(tether_core::yaml::to_compact_string) else {
            return Err(Error::transform(
                "path config error; no 'name' field in node",
            ));
        };
        let f = self.facts;
        let mut candidates = self.candidates(&old);
        if let Some(ns) = map
            .get("namespace")
            .map(tether_core::yaml::to_compact_string)
        {
            let by_org: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| f.org_namespace(i) == ns)
                .collect();
            if by_org.is_empty() {
                candidates.retain(|&i| f.namespaces[i] == ns);
            } else {
                candidates = by_org;
            }
        }
        let Some(i) = self.select(&old, candidates, true)? else {
            return Ok(());
        };
        let (name, ns) = (&f.names[i], &f.namespaces[i]);
        if *name == old && ns.is_empty() {
            return Ok(());
        }
        map.insert("name".into(), Value::String(name.clone()));
        if !ns.is_empty() {
            map.insert("namespace".into(), Value::String(ns.clone()));
        }
        Ok(())
    }

    fn select(
        &self,
        old: &str,
        candidates: Vec<usize>,
        with_namespace: bool,
    ) -> Result<Option<usize>> {
        let f = self.facts;
        let role_ref = self.role_ref_gvk();
        let referrer = &self.all[self.referrer];
        let mut c: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| f.prev[i].iter().any(|p| p.name == old))
            .filter(|&i| f.prev[i].iter().any(|p| p.gvk.is_selected_by(self.target)))
            .filter(|&i| {
                role_ref
                    .as_ref()
                    .is_none_or(|g| f.prev[i].iter().any(|p| p.gvk.is_selected_by(g)))
            })
            .filter(|&i| self.same_namespace(i))
            .collect();
        if c.len() == 1 {
            return Ok(c.pop());
        }
        c.retain(|&i| self.all[i].prefixes_suffixes_equal(referrer, true));
        if c.len() > 1 {
            c.retain(|&i| self.all[i].prefixes_suffixes_equal(referrer, false));
        }
        match c.len() {
            0 => Ok(None),
            1 => Ok(c.pop()),
            _ if self.all_same(&c, with_namespace) => Ok(c.first().copied()),
            _ => {
                let ids: Vec<String> = c.iter().map(|&i| f.ids[i].to_string()).collect();
                Err(Error::transform(format!(
                    "found multiple possible referrals: {}",
                    ids.join(", ")
                )))
            }
        }
    }

    fn same_namespace(&self, i: usize) -> bool {
        let f = self.facts;
        let ri = self.referrer;
        f.cluster_scoped[ri]
            || f.cluster_scoped[i]
            || f.ids[i].gvk.kind == "ServiceAccount"
            || f.effective_ns[i] == f.effective_ns[ri]
    }

    fn all_same(&self, c: &[usize], with_namespace: bool) -> bool {
        let f = self.facts;
        let Some(&first) = c.first() else {
            return true;
        };
        c.iter().all(|&i| {
            f.names[i] == f.names[first]
                && (!with_namespace || f.namespaces[i] == f.namespaces[first])
        })
    }

    fn role_ref_gvk(&self) -> Option<Gvk> {
        if !self.spec.path.ends_with("roleRef/name") {
            return None;
        }
        let role_ref = self.all[self.referrer].obj.get("roleRef")?;
        let group = role_ref.get("apiGroup")?.as_str()?;
        let kind = role_ref.get("kind")?.as_str()?;
        Some(Gvk {
            group: group.into(),
            version: String::new(),
            kind: kind.into(),
        })
    }
}
