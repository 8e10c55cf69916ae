//! `tether install`: the manifests that install tether (CRDs, namespace, ServiceAccount,
//! least-privilege RBAC, Deployment, optionally the finalizer admission policy), printed with
//! `--export` or applied to the current cluster.

use crate::cli::{InstallArgs, InstallFlags};
use crate::commands::cluster;
use crate::commands::output::{action, generate, success, waiting};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use tether_core::object::ObjectRef;

pub const APP: &str = "tether-controller";

/// Flux's required components, and every component name Flux knows.
const REQUIRED: [&str; 2] = ["source-controller", "kustomize-controller"];
const KNOWN: [&str; 7] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
    "source-watcher",
];

pub fn run(args: InstallArgs) -> anyhow::Result<()> {
    validate(&args.flags)?;
    if !args.export {
        generate("generating manifests");
    }
    let documents = manifests(&args.flags, &args.cluster.namespace, args.crds_only)?;
    if args.export {
        print!("{}", render_yaml(&documents)?);
        return Ok(());
    }
    success("manifests build completed");
    cluster::block_on(async move {
        let client = cluster::client(&args.cluster).await?;
        install_documents(
            &client,
            &args.cluster.namespace,
            &args.flags,
            documents,
            args.cluster.timeout,
        )
        .await
        .context("install failed")?;
        success("install finished");
        Ok(())
    })
}

/// Checks the component flags as Flux does, and says what tether makes of the flags that
/// choose Flux's images.
pub fn validate(flags: &InstallFlags) -> anyhow::Result<()> {
    let components = components(flags);
    for required in REQUIRED {
        if !components.iter().any(|c| c == required) {
            bail!("component {required} is required");
        }
    }
    if let Some(unknown) = components.iter().find(|c| !KNOWN.contains(&c.as_str())) {
        bail!(
            "component {unknown} is not a Flux component (known: {})",
            KNOWN.join(", ")
        );
    }
    if !flags.registry_creds.is_empty() {
        if flags.image_pull_secret.is_empty() {
            bail!("--registry-creds requires --image-pull-secret to be set");
        }
        if !flags.registry_creds.contains(':') {
            bail!("invalid --registry-creds format, expected 'user:password'");
        }
    }
    if !["debug", "info", "error"].contains(&flags.log_level.as_str()) {
        bail!(
            "unsupported log level '{}', must be one of: debug, info, error",
            flags.log_level
        );
    }
    Ok(())
}

/// `--components` then `--components-extra`.
pub fn components(flags: &InstallFlags) -> Vec<String> {
    flags
        .components
        .iter()
        .chain(&flags.components_extra)
        .filter(|c| !c.is_empty())
        .cloned()
        .collect()
}

/// The version the manifests are labelled with: `--version`, else tether's.
pub fn version(flags: &InstallFlags) -> String {
    flags
        .version
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("v{}", env!("CARGO_PKG_VERSION")))
}

/// Applies the install manifests (CRDs and Namespace first, as Flux stages them), waits for the
/// controller's Deployment to be ready and prints Flux's progress lines.
pub async fn install_documents(
    client: &kube::Client,
    namespace: &str,
    flags: &InstallFlags,
    documents: Vec<Value>,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    action(&format!("installing components in {namespace} namespace"));
    action(&format!(
        "tether runs one controller, {APP}, for the components {}",
        components(flags).join(", ")
    ));
    if flags.registry != "ghcr.io/fluxcd" {
        action("--registry is not used: tether's controller image is set with --image");
    }
    let changes = apply(client, documents, timeout).await?;
    for entry in &changes.entries {
        eprintln!("{entry}");
    }
    if !flags.image_pull_secret.is_empty() && !flags.registry_creds.is_empty() {
        image_pull_secret(client, namespace, flags).await?;
        success(&format!(
            "reconciled image pull secret {}",
            flags.image_pull_secret
        ));
    }
    waiting("verifying installation");
    wait_for_controller(client, namespace, timeout).await?;
    success(&format!("{APP}: deployment ready"));
    Ok(())
}

/// Server-side applies `documents` as Flux's CLI does (field manager `flux`), staged.
pub async fn apply(
    client: &kube::Client,
    documents: Vec<Value>,
    timeout: std::time::Duration,
) -> anyhow::Result<tether_core::changeset::ChangeSet> {
    let manager = tether_ssa::ResourceManager::new(client.clone()).with_field_manager("flux");
    let options = tether_ssa::ApplyOptions {
        wait_timeout: timeout,
        ..tether_ssa::ApplyOptions::default()
    };
    manager
        .apply_all_staged(documents, &options)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Waits until the controller's Deployment is Current (kstatus), naming it when it is not.
pub async fn wait_for_controller(
    client: &kube::Client,
    namespace: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    let manager = tether_ssa::ResourceManager::new(client.clone());
    let object = ObjectRef {
        group: "apps".into(),
        version: "v1".into(),
        kind: "Deployment".into(),
        namespace: namespace.into(),
        name: APP.into(),
    };
    let options = tether_ssa::WaitOptions {
        timeout,
        ..tether_ssa::WaitOptions::default()
    };
    manager
        .wait_for_set(&[object], &options)
        .await
        .map_err(|e| anyhow::anyhow!("Deployment '{namespace}/{APP}' is not ready: {e}"))
}

async fn image_pull_secret(
    client: &kube::Client,
    namespace: &str,
    flags: &InstallFlags,
) -> anyhow::Result<()> {
    use base64::Engine;
    let (user, password) = flags
        .registry_creds
        .split_once(':')
        .context("invalid --registry-creds format, expected 'user:password'")?;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = json!({"auths": {flags.registry.clone(): {"username": user, "password": password, "auth": auth}}});
    let secret = k8s_openapi::api::core::v1::Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(flags.image_pull_secret.clone()),
            namespace: Some(namespace.to_owned()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        string_data: Some([(".dockerconfigjson".to_owned(), config.to_string())].into()),
        ..Default::default()
    };
    crate::commands::create::secret::upsert_secret(client.clone(), &secret).await
}

/// Every manifest `install` produces, in apply order.
pub fn manifests(flags: &InstallFlags, ns: &str, crds_only: bool) -> anyhow::Result<Vec<Value>> {
    let mut documents = Vec::new();
    for crd in tether_api::crds() {
        documents.push(serde_json::to_value(crd).context("cannot encode a CRD")?);
    }
    if crds_only {
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
    documents.push(deployment(ns, flags));
    documents.push(artifact_service(ns));
    documents.push(port_service(ns, "notification-controller", "http-events"));
    documents.push(port_service(ns, "webhook-receiver", "http-webhook"));
    if flags.network_policy {
        documents.extend(network_policies(ns));
    }
    if flags.admission_policy {
        documents.push(finalizer_policy());
        documents.push(finalizer_policy_binding());
    }
    Ok(with_instance(documents, ns))
}

/// Flux's three NetworkPolicies: pods of the namespace talk to each other and to anything
/// outside; metrics are scraped from any namespace; webhooks reach the receiver from anywhere.
fn network_policies(ns: &str) -> Vec<Value> {
    let policy = |name: &str, spec: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": name, "namespace": ns, "labels": labels()}, "spec": spec})
    };
    vec![
        policy(
            "allow-egress",
            json!({
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{}]}),
        ),
        policy(
            "allow-scraping",
            json!({
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {}}],
                         "ports": [{"port": 8080, "protocol": "TCP"}]}]}),
        ),
        policy(
            "allow-webhooks",
            json!({
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": APP}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {}}],
                         "ports": [{"port": 9292, "protocol": "TCP"}]}]}),
        ),
    ]
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

fn deployment(ns: &str, flags: &InstallFlags) -> Value {
    let mut args = vec![
        "controller".to_owned(),
        "--log-encoding=json".to_owned(),
        format!(
            "--storage-adv-addr=tether-controller.$(RUNTIME_NAMESPACE).svc.{}.",
            flags.cluster_domain
        ),
    ];
    if !flags.watch_all_namespaces {
        args.push("--watch-namespace=$(RUNTIME_NAMESPACE)".to_owned());
    }
    let mut env = vec![json!({"name": "RUNTIME_NAMESPACE",
                               "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})];
    if flags.log_level != "info" {
        env.push(json!({"name": "RUST_LOG", "value": flags.log_level}));
    }
    let image = flags.image.as_str();
    let mut deployment = json!({
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
                        "args": args,
                        "env": env,
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
    });
    let pod = &mut deployment["spec"]["template"]["spec"];
    if !flags.image_pull_secret.is_empty() {
        pod["imagePullSecrets"] = json!([{"name": flags.image_pull_secret}]);
    }
    let tolerations: Vec<Value> = flags
        .toleration_keys
        .iter()
        .filter(|k| !k.is_empty())
        .map(|key| json!({"key": key, "operator": "Exists"}))
        .collect();
    if !tolerations.is_empty() {
        pod["tolerations"] = json!(tolerations);
    }
    deployment
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

    fn parse(args: &[&str]) -> anyhow::Result<InstallArgs> {
        use clap::Parser;
        let argv = ["tether", "install"].iter().chain(args);
        match crate::cli::Cli::try_parse_from(argv)?.command {
            crate::cli::Command::Install(args) => Ok(args),
            other => bail!("parsed as {other:?}"),
        }
    }

    fn default_manifests() -> anyhow::Result<Vec<Value>> {
        let args = parse(&["--export"])?;
        manifests(&args.flags, &args.cluster.namespace, false)
    }

    #[test]
    fn flux_flags_shape_the_deployment() -> anyhow::Result<()> {
        let args = parse(&[
            "--export",
            "--watch-all-namespaces=false",
            "--network-policy=false",
            "--log-level=debug",
            "--cluster-domain=corp.local",
            "--toleration-keys=a,b",
            "--image-pull-secret=pull",
            "--components-extra=image-reflector-controller,image-automation-controller",
            "-n",
            "infra",
        ])?;
        validate(&args.flags)?;
        let documents = manifests(&args.flags, "infra", false)?;
        assert!(!documents.iter().any(|d| d["kind"] == "NetworkPolicy"));
        let deployment = documents
            .iter()
            .find(|d| d["kind"] == "Deployment")
            .context("deployment")?;
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .context("args")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(args.contains(&"--watch-namespace=$(RUNTIME_NAMESPACE)"));
        assert!(args.contains(
            &"--storage-adv-addr=tether-controller.$(RUNTIME_NAMESPACE).svc.corp.local."
        ));
        assert_eq!(
            container["env"][1],
            json!({"name": "RUST_LOG", "value": "debug"})
        );
        assert_eq!(pod["imagePullSecrets"], json!([{"name": "pull"}]));
        assert_eq!(
            pod["tolerations"][1],
            json!({"key": "b", "operator": "Exists"})
        );
        assert_eq!(deployment["metadata"]["namespace"], "infra");
        let defaults = default_manifests()?;
        assert_eq!(
            defaults
                .iter()
                .filter(|d| d["kind"] == "NetworkPolicy")
                .count(),
            3
        );
        Ok(())
    }

    #[test]
    fn component_flags_are_checked_as_flux_checks_them() -> anyhow::Result<()> {
        let error = |args: &[&str]| -> anyhow::Result<String> {
            let args = parse(args)?;
            Ok(validate(&args.flags)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default())
        };
        assert_eq!(
            error(&["--components=source-controller,helm-controller"])?,
            "component kustomize-controller is required"
        );
        assert!(
            error(&["--components-extra=nope"])?.contains("component nope is not a Flux component")
        );
        assert_eq!(
            error(&["--registry-creds=a:b"])?,
            "--registry-creds requires --image-pull-secret to be set"
        );
        assert_eq!(error(&[])?, "");
        Ok(())
    }

    /// `config/install.yaml` is what `tether install --export` prints; regenerate it with
    /// `TETHER_BLESS=1 cargo test -p tether`.
    #[test]
    fn checked_in_install_manifest_is_current() -> anyhow::Result<()> {
        let generated = render_yaml(&default_manifests()?)?;
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
        let documents = default_manifests()?;
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
