//! Tenants: a Kustomization that runs as a ServiceAccount (`spec.serviceAccountName`, or the
//! controller's `--default-service-account`) applies what that account may write and is
//! refused the rest with a condition naming the object and the RBAC denial, applying nothing
//! out of order; under `--no-cross-namespace-refs` a source in another namespace is refused
//! (a Kustomization's sourceRef, a HelmRelease's chartRef). A HelmRelease runs as its
//! ServiceAccount the same way.

mod common;

use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::json;
use tether_testkit::chartrepo::{helm_package, push_oci_chart};
use tether_testkit::charts::{ChartSpec, write_chart};
use tether_testkit::flux::{
    GitSourceFixture, condition, create, dynamic_api, kustomization, kustomizations,
    wait_ready_where,
};
use tether_testkit::registry::RegistryServer;

/// A ClusterRole (cluster-scoped, refused to a tenant) and a ConfigMap (allowed, but in a later
/// stage), as one kustomization path.
fn cluster_wide_files(ns: &str) -> Vec<(String, String)> {
    vec![
        (
            "cluster/role.yaml".to_owned(),
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {ns}-reader\nrules:\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get]\n"
            ),
        ),
        (
            "cluster/config.yaml".to_owned(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
                .to_owned(),
        ),
    ]
}

/// ServiceAccount `tenant` in `ns`, allowed everything in `ns` and nothing else.
async fn namespace_tenant(client: &kube::Client, ns: &str) -> anyhow::Result<()> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let account = serde_json::from_value(json!({"metadata": {"name": "tenant"}}))?;
    accounts.create(&PostParams::default(), &account).await?;
    let roles: Api<Role> = Api::namespaced(client.clone(), ns);
    let role = serde_json::from_value(json!({
        "metadata": {"name": "tenant"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    }))?;
    roles.create(&PostParams::default(), &role).await?;
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), ns);
    let binding = serde_json::from_value(json!({
        "metadata": {"name": "tenant"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant"},
        "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": ns}]
    }))?;
    bindings.create(&PostParams::default(), &binding).await?;
    Ok(())
}

async fn tenant_source(prefix: &str) -> anyhow::Result<GitSourceFixture> {
    let s = GitSourceFixture::start(prefix, "2s").await?;
    let files = cluster_wide_files(&s.ns.name);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    s.repo.commit("master", &files, "a cluster-wide path")?;
    namespace_tenant(&s.client, &s.ns.name).await?;
    Ok(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_service_account_applies_in_its_namespace_and_is_refused_a_cluster_role()
-> anyhow::Result<()> {
    let s = tenant_source("tenant-sa").await?;
    let ns = s.ns.name.clone();
    let _controller = InProcessController::start(&ns).await?;
    let ks_api = kustomizations(&s.client, &ns);
    let mut own = kustomization("own", &ns, &ns, "./deploy");
    own["spec"]["serviceAccountName"] = json!("tenant");
    create(&ks_api, own).await?;
    let mut wide = kustomization("wide", &ns, &ns, "./cluster");
    wide["spec"]["serviceAccountName"] = json!("tenant");
    create(&ks_api, wide).await?;

    wait_ready_where(&ks_api, "own", |status, _, _| status == "True").await?;
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_some());

    let refused = wait_ready_where(&ks_api, "wide", |status, _, _| status == "False").await?;
    let (_, reason, message) = condition(&refused, "Ready").unwrap_or_default();
    assert_eq!(reason, "ReconciliationFailed", "{message}");
    let user = format!("system:serviceaccount:{ns}:tenant");
    for part in [
        format!("ClusterRole/{ns}-reader"),
        "forbidden".to_owned(),
        user,
    ] {
        assert!(message.contains(&part), "{part:?} not in {message}");
    }
    let roles: Api<ClusterRole> = Api::all(s.client.clone());
    assert!(roles.get_opt(&format!("{ns}-reader")).await?.is_none());
    assert!(
        s.ns.api::<ConfigMap>().get_opt("settings").await?.is_none(),
        "the ConfigMap of a later stage was applied after the ClusterRole was refused"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_service_account_fails_the_reconcile_naming_it() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("tenant-missing", "2s").await?;
    let ns = s.ns.name.clone();
    let _controller = InProcessController::start(&ns).await?;
    let ks_api = kustomizations(&s.client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["serviceAccountName"] = json!("nobody");
    create(&ks_api, app).await?;

    let failed = wait_ready_where(&ks_api, "app", |status, _, _| status == "False").await?;
    let (_, _, message) = condition(&failed, "Ready").unwrap_or_default();
    let expected = format!("failed to get a token for ServiceAccount '{ns}/nobody'");
    assert!(message.contains(&expected), "{message}");
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_service_account_and_no_cross_namespace_refs_confine_every_kustomization()
-> anyhow::Result<()> {
    let s = tenant_source("tenant-default").await?;
    let ns = s.ns.name.clone();
    let _controller = InProcessController::start_with(&ns, |options| {
        options.default_service_account = Some("tenant".to_owned());
        options.no_cross_namespace_refs = true;
    })
    .await?;
    let ks_api = kustomizations(&s.client, &ns);
    create(&ks_api, kustomization("own", &ns, &ns, "./deploy")).await?;
    create(&ks_api, kustomization("wide", &ns, &ns, "./cluster")).await?;
    let mut elsewhere = kustomization("elsewhere", &ns, &ns, "./deploy");
    elsewhere["spec"]["sourceRef"]["namespace"] = json!("flux-system");
    create(&ks_api, elsewhere).await?;

    wait_ready_where(&ks_api, "own", |status, _, _| status == "True").await?;
    let refused = wait_ready_where(&ks_api, "wide", |status, _, _| status == "False").await?;
    let (_, _, message) = condition(&refused, "Ready").unwrap_or_default();
    let user = format!("system:serviceaccount:{ns}:tenant");
    assert!(message.contains(&user), "{message}");

    let denied = wait_ready_where(&ks_api, "elsewhere", |status, _, _| status == "False").await?;
    assert_eq!(
        condition(&denied, "Ready"),
        Some((
            "False".to_owned(),
            "AccessDenied".to_owned(),
            "can't access 'GitRepository/flux-system/app', cross-namespace references have been blocked"
                .to_owned()
        ))
    );
    assert_eq!(
        condition(&denied, "Stalled").map(|c| c.1),
        Some("AccessDenied".to_owned())
    );

    let releases = dynamic_api(
        &s.client,
        &ns,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    );
    create(
        &releases,
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"interval": "10m", "chartRef": {"kind": "OCIRepository", "name": "web",
                "namespace": "flux-system"}}}),
    )
    .await?;
    let denied = wait_ready_where(&releases, "web", |status, _, _| status == "False").await?;
    assert_eq!(
        condition(&denied, "Ready").map(|c| (c.1, c.2)),
        Some((
            "AccessDenied".to_owned(),
            "cross-namespace references are not allowed: cannot access OCIRepository flux-system/web"
                .to_owned()
        ))
    );
    Ok(())
}

const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Chart `web` 1.0.0 with a ClusterRole when `clusterWide` is set, pushed to a real registry and
/// served by OCIRepository `web` in `ns`.
async fn tenant_chart(client: &kube::Client, ns: &str) -> anyhow::Result<RegistryServer> {
    let registry = RegistryServer::start()?;
    let work = tempfile::tempdir()?;
    let dir = write_chart(work.path(), &ChartSpec::new("web", "1.0.0", "6.0.0"))?;
    std::fs::write(
        dir.join("templates/clusterrole.yaml"),
        "{{- if .Values.clusterWide }}\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Namespace }}-{{ .Release.Name }}\nrules: []\n{{- end }}\n",
    )?;
    let archive = helm_package(&dir, work.path())?;
    let url = push_oci_chart(&registry, &archive, "charts")?;
    let sources = dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "OCIRepository",
    );
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"url": format!("{url}/web"), "interval": "10m", "insecure": true,
                "ref": {"tag": "1.0.0"},
                "layerSelector": {"mediaType": HELM_CHART_LAYER, "operation": "copy"}}}),
    )
    .await?;
    Ok(registry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_helm_release_installs_as_its_service_account_and_is_refused_a_cluster_role()
-> anyhow::Result<()> {
    let client = tether_testkit::cluster::client().await?;
    tether_testkit::cluster::install_crds(&client, tether_api::crds()).await?;
    let ns = tether_testkit::cluster::TestNamespace::create(&client, "tenant-helm").await?;
    namespace_tenant(&client, &ns.name).await?;
    let _registry = tenant_chart(&client, &ns.name).await?;
    let _controller = InProcessController::start(&ns.name).await?;
    let releases = dynamic_api(
        &client,
        &ns.name,
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    );
    for (name, cluster_wide) in [("own", false), ("wide", true)] {
        create(
            &releases,
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": name, "namespace": ns.name},
                "spec": {"interval": "10m", "timeout": "60s", "serviceAccountName": "tenant",
                    "values": {"clusterWide": cluster_wide},
                    "chartRef": {"kind": "OCIRepository", "name": "web"}}}),
        )
        .await?;
    }

    wait_ready_where(&releases, "own", |status, _, _| status == "True").await?;
    assert!(ns.api::<Deployment>().get_opt("own-web").await?.is_some());
    let refused = wait_ready_where(&releases, "wide", |status, _, _| status == "False").await?;
    let (_, _, message) = condition(&refused, "Ready").unwrap_or_default();
    let user = format!("system:serviceaccount:{}:tenant", ns.name);
    for part in [
        format!("ClusterRole/{}-wide", ns.name),
        "forbidden".to_owned(),
        user,
    ] {
        assert!(message.contains(&part), "{part:?} not in {message}");
    }
    assert!(
        ns.api::<Deployment>().get_opt("wide-web").await?.is_none(),
        "the Deployment was applied after the ClusterRole was refused"
    );
    Ok(())
}
