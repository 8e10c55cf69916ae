//! `tether install`: the manifests that install tether (CRDs, namespace, ServiceAccount,
//! least-privilege RBAC, Deployment, optionally the finalizer admission policy), printed with
//! `--export` or applied to the current cluster.

use crate::cli::InstallArgs;
use anyhow::{Context, bail};
use serde_json::{Value, json};

const APP: &str = "tether-controller";

pub fn run(args: InstallArgs) -> anyhow::Result<()> {
    let documents = manifests(&args)?;
    if !args.export {
        bail!(
            "applying directly is not supported yet; use `tether install --export | kubectl apply -f -`"
        );
    }
    print!("{}", render_yaml(&documents)?);
    Ok(())
}

/// Every manifest `install` produces, in apply order.
pub fn manifests(args: &InstallArgs) -> anyhow::Result<Vec<Value>> {
    let mut documents = Vec::new();
    for crd in tether_api::crds() {
        documents.push(serde_json::to_value(crd).context("cannot encode a CRD")?);
    }
    let ns = args.namespace.as_str();
    if args.crds_only {
        return Ok(with_instance(documents, ns));
    }
    documents.push(namespace(ns));
    documents.push(service_account(ns));
    documents.push(controller_cluster_role());
    documents.push(cluster_role_binding(APP, APP, ns));
    documents.push(leader_election_role(ns));
    documents.push(leader_election_role_binding(ns));
    documents.push(cluster_role_binding(
        "tether-cluster-reconciler",
        "cluster-admin",
        ns,
    ));
    documents.push(deployment(ns, &args.image));
    documents.push(artifact_service(ns));
    documents.push(port_service(ns, "notification-controller", "http-events"));
    documents.push(port_service(ns, "webhook-receiver", "http-webhook"));
    if args.admission_policy {
        documents.push(finalizer_policy());
        documents.push(finalizer_policy_binding());
    }
    Ok(with_instance(documents, ns))
}

/// The kinds whose reconcilers put `finalizers.fluxcd.io` on every object.
const FINALIZED: [(&str, &str); 7] = [
    ("source.toolkit.fluxcd.io", "gitrepositories"),
    ("source.toolkit.fluxcd.io", "ocirepositories"),
    ("source.toolkit.fluxcd.io", "buckets"),
    ("source.toolkit.fluxcd.io", "helmrepositories"),
    ("source.toolkit.fluxcd.io", "helmcharts"),
    ("kustomize.toolkit.fluxcd.io", "kustomizations"),
    ("helm.toolkit.fluxcd.io", "helmreleases"),
];

const FINALIZER_POLICY: &str = "tether-finalizers";

/// Adds the finalizer the reconcilers would add anyway, at creation: the API server applies it
/// inside the create request, where the controller would need a write of its own (plus the
/// watch event it causes) before its first reconcile. An object created while the policy cannot
/// run (`failurePolicy: Ignore`) still gets its finalizer from the controller.
fn finalizer_policy() -> Value {
    let rules: Vec<Value> = FINALIZED
        .iter()
        .map(|(group, resource)| {
            json!({"apiGroups": [group], "apiVersions": ["*"], "operations": ["CREATE"],
                   "resources": [resource]})
        })
        .collect();
    let finalizer = tether_api::meta::FINALIZER;
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": FINALIZER_POLICY, "labels": labels()},
        "spec": {
            "matchConstraints": {"resourceRules": rules},
            "failurePolicy": "Ignore",
            "reinvocationPolicy": "Never",
            "matchConditions": [{
                "name": "lacks-the-finalizer",
                "expression": format!(
                    "!has(object.metadata.finalizers) || !object.metadata.finalizers.exists(f, f == '{finalizer}')"
                ),
            }],
            "mutations": [{
                "patchType": "JSONPatch",
                "jsonPatch": {"expression": format!(
                    "has(object.metadata.finalizers) ? [JSONPatch{{op: 'add', path: '/metadata/finalizers/-', value: '{finalizer}'}}] : [JSONPatch{{op: 'add', path: '/metadata/finalizers', value: ['{finalizer}']}}]"
                )},
            }],
        }
    })
}

fn finalizer_policy_binding() -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": FINALIZER_POLICY, "labels": labels()},
        "spec": {"policyName": FINALIZER_POLICY}
    })
}

pub fn render_yaml(documents: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for document in documents {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(document).context("cannot render YAML")?);
    }
    Ok(out)
}

/// Flux's labels (part-of `flux`, so `flux check` finds the controller) with tether's component
/// name; [`with_instance`] adds the instance.
fn labels() -> Value {
    let mut labels = json!(tether_api::crd::flux_labels(APP, ""));
    labels["app.kubernetes.io/name"] = json!(APP);
    labels
}

/// Every document (and the Deployment's pod template) labelled with the instance it belongs
/// to, the namespace installed into, as Flux labels its install manifests.
fn with_instance(mut documents: Vec<Value>, ns: &str) -> Vec<Value> {
    const INSTANCE: &str = "app.kubernetes.io/instance";
    for document in &mut documents {
        for pointer in ["/metadata/labels", "/spec/template/metadata/labels"] {
            if let Some(labels) = document.pointer_mut(pointer).and_then(Value::as_object_mut) {
                labels.insert(INSTANCE.into(), json!(ns));
            }
        }
    }
    documents
}

fn namespace(ns: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels()}})
}

fn service_account(ns: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": APP, "namespace": ns, "labels": labels()}})
}

/// The API groups of the custom resources tether reconciles.
const OWN_GROUPS: [&str; 6] = [
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "helm.fluxcd.io",
    "image.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io",
];

/// What the controller itself needs: its own custom resources (the source, kustomize, helm,
/// image and notification groups, and helm-operator's `helm.fluxcd.io`) with their status and
/// finalizers, creating and deleting the HelmCharts of HelmRelease chart templates, the Secrets
/// and ConfigMaps sources, values and substitutions reference, events, and CRDs to see them
/// established. Applying users' objects, Helm release storage (Secrets in the release
/// namespaces) included, is granted separately (`tether-cluster-reconciler`), as
/// helm-controller performs storage writes with the identity that applies the release.
/// Kustomizations and HelmReleases with `spec.serviceAccountName` (or under
/// `--default-service-account`) apply with a token of that ServiceAccount, so the controller
/// may request ServiceAccount tokens (and nothing else about ServiceAccounts beyond reading).
fn controller_cluster_role() -> Value {
    let groups = OWN_GROUPS;
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": APP, "labels": labels()},
        "rules": [
            {"apiGroups": groups, "resources": ["*"],
             "verbs": ["get", "list", "watch", "patch", "update"]},
            {"apiGroups": groups, "resources": ["*/status", "*/finalizers"],
             "verbs": ["get", "patch", "update"]},
            {"apiGroups": ["source.toolkit.fluxcd.io"], "resources": ["helmcharts"],
             "verbs": ["create", "delete"]},
            {"apiGroups": [""], "resources": ["secrets", "configmaps", "namespaces", "serviceaccounts"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
             "verbs": ["create", "patch"]},
            {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
             "verbs": ["get", "list", "watch"]},
        ]
    })
}

fn cluster_role_binding(name: &str, role: &str, ns: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": ns}]
    })
}

/// Leader election uses Leases in the install namespace only.
fn leader_election_role(ns: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "tether-leader-election", "namespace": ns, "labels": labels()},
        "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                   "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]
    })
}

fn leader_election_role_binding(ns: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "tether-leader-election", "namespace": ns, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tether-leader-election"},
        "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": ns}]
    })
}

fn deployment(ns: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": APP, "namespace": ns, "labels": labels()},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": APP}},
            "template": {
                "metadata": {"labels": labels(),
                             "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}},
                "spec": {
                    "serviceAccountName": APP,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": true, "fsGroup": 1337,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "controller",
                        "image": image,
                        "args": ["controller", "--log-encoding=json",
                                 "--storage-adv-addr=tether-controller.$(RUNTIME_NAMESPACE).svc.cluster.local."],
                        "env": [{"name": "RUNTIME_NAMESPACE",
                                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                        "ports": [{"name": "http", "containerPort": 9090, "protocol": "TCP"},
                                  {"name": "http-prom", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "healthz", "containerPort": 9440, "protocol": "TCP"},
                                  {"name": "http-events", "containerPort": 9690, "protocol": "TCP"},
                                  {"name": "http-webhook", "containerPort": 9292, "protocol": "TCP"}],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "healthz"}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "healthz"}},
                        "resources": {"limits": {"cpu": "1000m", "memory": "256Mi"},
                                      "requests": {"cpu": "100m", "memory": "64Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                         {"name": "tmp", "mountPath": "/tmp"}]
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
                }
            }
        }
    })
}

/// The Service in front of the artifact storage: `status.artifact.url` points at it, as Flux's
/// `source-controller` Service does.
fn artifact_service(ns: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": APP, "namespace": ns, "labels": labels()},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": APP},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]
        }
    })
}

/// A Service named as Flux's notification-controller names it, port 80 to the container port
/// `target`: `notification-controller` is where Flux's controllers post events
/// (`--events-addr=http://notification-controller.flux-system.svc.cluster.local./`),
/// `webhook-receiver` is where forges call Receivers.
fn port_service(ns: &str, name: &str, target: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels()},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": APP},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": target}]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_args() -> InstallArgs {
        InstallArgs {
            export: true,
            namespace: "flux-system".into(),
            image: "tether:latest".into(),
            crds_only: false,
            admission_policy: false,
        }
    }

    /// `config/install.yaml` is what `tether install --export` prints; regenerate it with
    /// `TETHER_BLESS=1 cargo test -p tether`.
    #[test]
    fn checked_in_install_manifest_is_current() -> anyhow::Result<()> {
        let generated = render_yaml(&manifests(&default_args())?)?;
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/install.yaml");
        if std::env::var_os("TETHER_BLESS").is_some() {
            std::fs::write(&path, &generated)?;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "config/install.yaml differs from `tether install --export`; run `TETHER_BLESS=1 cargo test -p tether`"
        );
        Ok(())
    }

    #[test]
    fn controller_role_covers_every_installed_crd() -> anyhow::Result<()> {
        let role = controller_cluster_role();
        let rules = role["rules"].as_array().context("rules")?;
        let grants = |group: &str, resource: &str, verb: &str| {
            rules.iter().any(|rule| {
                let has = |key: &str, value: &str| {
                    rule[key]
                        .as_array()
                        .is_some_and(|values| values.iter().any(|v| v == value))
                };
                has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
            })
        };
        for crd in tether_api::crds() {
            let group = crd.spec.group.as_str();
            for verb in ["get", "list", "watch", "patch", "update"] {
                assert!(grants(group, "*", verb), "{group} {verb}");
            }
            for sub in ["*/status", "*/finalizers"] {
                for verb in ["get", "patch", "update"] {
                    assert!(grants(group, sub, verb), "{group} {sub} {verb}");
                }
            }
        }
        let documents = manifests(&default_args())?;
        let kinds: Vec<_> = documents
            .iter()
            .filter(|d| d["kind"] == "CustomResourceDefinition")
            .filter_map(|d| d["spec"]["names"]["kind"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "GitRepository",
                "OCIRepository",
                "Bucket",
                "HelmRepository",
                "HelmChart",
                "ExternalArtifact",
                "Kustomization",
                "HelmRelease",
                "HelmRelease",
                "ImageRepository",
                "ImagePolicy",
                "ImageUpdateAutomation",
                "Provider",
                "Alert",
                "Receiver"
            ]
        );
        Ok(())
    }

    #[test]
    fn controller_role_grants_no_writes_outside_its_own_groups() -> anyhow::Result<()> {
        let role = controller_cluster_role();
        let rules = role["rules"].as_array().context("rules")?;
        for rule in rules {
            let groups: Vec<&str> = rule["apiGroups"]
                .as_array()
                .context("groups")?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let verbs: Vec<&str> = rule["verbs"]
                .as_array()
                .context("verbs")?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let own = groups.iter().all(|g| OWN_GROUPS.contains(g));
            let only = |resource: &str| {
                rule["resources"]
                    .as_array()
                    .is_some_and(|r| r.iter().all(|r| r == resource))
            };
            let tokens = only("serviceaccounts/token") && verbs == ["create"];
            if !own && !only("events") && !tokens {
                assert!(
                    verbs.iter().all(|v| ["get", "list", "watch"].contains(v)),
                    "{rule}"
                );
            }
        }
        Ok(())
    }
}
