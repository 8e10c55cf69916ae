//! Remote clusters: a Kustomization with `spec.kubeConfig.secretRef` applies, prunes and checks
//! health in the cluster of that kubeconfig (a second local control plane), not in the
//! controller's own, as a ServiceAccount of that cluster when it names one, and follows the
//! Secret when it changes; a kubeconfig Secret without the expected key is reported, and a
//! labelled `configMapRef` ConfigMap that changes reconciles the Kustomization at once.
//!
//! Workload identity (`spec.kubeConfig.configMapRef`, provider `generic`): the remote cluster
//! trusts the controller cluster's ServiceAccount tokens as a federated cluster does (its
//! apiserver's AuthenticationConfiguration names the first cluster's issuer, whose discovery
//! documents it fetches; see dev/cluster.sh), so the controller syncs it with a token of a
//! ServiceAccount of its own cluster (named by the ConfigMap, or
//! `--default-kubeconfig-service-account`); a token for the wrong audience, a missing
//! ServiceAccount or an unknown provider is reported and changes nothing.

mod common;

use common::{InProcessController, RemoteNamespace, apply_kubeconfig_config_map, trusted_deployer};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tether_testkit::cluster::{
    TestNamespace, kubeconfig_path, remote_address_and_ca, remote_config, remote_kubeconfig_text,
    wait_for,
};
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, kustomization, kustomizations, merge_patch,
    wait_for_gone, wait_ready_where,
};

async fn kubeconfig_secret(ns: &TestNamespace, key: &str, text: &str) -> anyhow::Result<()> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "remote"},
        "stringData": {key: text}
    }))?;
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_kustomization_syncs_prunes_and_checks_health_in_the_remote_cluster()
-> anyhow::Result<()> {
    let s = GitSourceFixture::start("remote", "2s").await?;
    let ns = s.ns.name.clone();
    let remote = kube::Client::try_from(remote_config().await?)?;
    let _target = RemoteNamespace::create(&remote, &ns).await?;
    kubeconfig_secret(&s.ns, "value.yaml", &remote_kubeconfig_text().await?).await?;
    let _controller = InProcessController::start(&ns).await?;
    let ks_api = kustomizations(&s.client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["kubeConfig"] = json!({"secretRef": {"name": "remote"}});
    create(&ks_api, app).await?;

    let ready = wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    assert_eq!(
        condition(&ready, "Healthy").map(|c| c.0),
        Some("True".to_owned()),
        "wait: true checked the remote Deployment"
    );
    let remote_deployments: Api<Deployment> = Api::namespaced(remote.clone(), &ns);
    let web = remote_deployments.get("web").await?;
    let available = web.status.and_then(|s| s.available_replicas).unwrap_or(0);
    assert_eq!(
        available, 2,
        "Ready before the remote Deployment was available"
    );
    let local_deployments = s.ns.api::<Deployment>();
    assert!(
        local_deployments.get_opt("web").await?.is_none(),
        "applied to the controller's own cluster"
    );

    let services: Api<Service> = Api::namespaced(remote.clone(), &ns);
    assert!(services.get_opt("web").await?.is_some());
    s.repo
        .remove("master", &["deploy/service.yaml"], "drop the service")?;
    wait_for_gone(&services, "web").await?;
    assert!(remote_deployments.get_opt("web").await?.is_some());

    // A ServiceAccount that exists only in the remote cluster, allowed nothing: its token comes
    // from the remote cluster, and the remote cluster refuses it.
    let accounts: Api<ServiceAccount> = Api::namespaced(remote.clone(), &ns);
    let account = serde_json::from_value(json!({"metadata": {"name": "tenant"}}))?;
    accounts.create(&PostParams::default(), &account).await?;
    let mut tenant = kustomization("tenant", &ns, &ns, "./deploy");
    tenant["spec"]["kubeConfig"] = json!({"secretRef": {"name": "remote"}});
    tenant["spec"]["serviceAccountName"] = json!("tenant");
    create(&ks_api, tenant).await?;
    let refused = wait_ready_where(&ks_api, "tenant", |status, _, _| status == "False").await?;
    let (_, _, message) = condition(&refused, "Ready").unwrap_or_default();
    let user = format!("system:serviceaccount:{ns}:tenant");
    assert!(
        message.contains(&user) && message.contains("forbidden"),
        "{message}"
    );

    // The Secret now names the controller's own cluster: the client is built again.
    let local_kubeconfig = std::fs::read_to_string(kubeconfig_path()?)?;
    let secrets = s.ns.api::<Secret>();
    let data = json!({"stringData": {"value.yaml": local_kubeconfig}});
    secrets
        .patch("remote", &PatchParams::default(), &Patch::Merge(&data))
        .await?;
    let requested =
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "moved"}}});
    merge_patch(&ks_api, "app", requested).await?;
    wait_for(&local_deployments, "web", WAIT, |_| true).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_secret_without_the_key_is_reported() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("remote-nokey", "2s").await?;
    kubeconfig_secret(&s.ns, "config", "apiVersion: v1\nkind: Config\n").await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut app = kustomization("app", &s.ns.name, &s.ns.name, "./deploy");
    app["spec"]["kubeConfig"] = json!({"secretRef": {"name": "remote"}});
    create(&ks_api, app).await?;

    let failed = wait_ready_where(&ks_api, "app", |status, _, _| status == "False").await?;
    let (_, _, message) = condition(&failed, "Ready").unwrap_or_default();
    let expected = format!(
        "KubeConfig secret '{}/remote' does not contain a 'value' key with a kubeconfig",
        s.ns.name
    );
    assert!(message.contains(&expected), "{message}");
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_none());
    Ok(())
}

/// `kubeConfig.configMapRef` with a cloud provider (workload identity through AWS, Azure or
/// GCP) is not implemented: a missing ConfigMap and a provider Flux does not know are reported
/// as Flux reports them, and a cloud provider is refused as not supported yet, naming it;
/// nothing is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_kubeconfig_config_map_is_refused_naming_the_cause() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let s = GitSourceFixture::start("remote-provider", "2s").await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let ks_api = kustomizations(&s.client, &s.ns.name);
    let mut app = kustomization("app", &s.ns.name, &s.ns.name, "./deploy");
    app["spec"]["kubeConfig"] = json!({"configMapRef": {"name": "remote"}});
    app["spec"]["retryInterval"] = json!("1s");
    create(&ks_api, app).await?;
    let ns = &s.ns.name;
    let missing = format!(
        "failed to build kube client: failed to get configmap {ns}/remote: configmaps \"remote\" not found"
    );
    wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message == missing
    })
    .await?;

    let cases = [
        ("eks", "provider 'eks' not implemented".to_owned()),
        (
            "gcp",
            format!(
                "provider 'gcp' of spec.kubeConfig.configMapRef (configmap {ns}/remote) is not supported yet"
            ),
        ),
        (
            "aws",
            format!(
                "provider 'aws' of spec.kubeConfig.configMapRef (configmap {ns}/remote) is not supported yet"
            ),
        ),
    ];
    let config_maps = s.ns.api::<ConfigMap>();
    for (provider, expected) in cases {
        let data = json!({"data": {"provider": provider, "address": "https://127.0.0.1:1",
                                   "serviceAccountName": "remote"}});
        let patch = json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "remote"}, "data": data["data"]});
        config_maps
            .patch(
                "remote",
                &PatchParams::apply("test").force(),
                &Patch::Apply(&patch),
            )
            .await?;
        let expected = format!("failed to build kube client: {expected}");
        wait_ready_where(&ks_api, "app", |status, _, message| {
            status == "False" && message == expected
        })
        .await?;
    }
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_none());
    Ok(())
}

/// The `configMapRef` ConfigMap labelled `reconcile.fluxcd.io/watch: Enabled` is watched, as
/// Flux's config watchers watch it: a change reconciles the Kustomization at once, although
/// its interval and retry interval are an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_kubeconfig_config_map_reconciles_at_once_when_it_changes() -> anyhow::Result<()>
{
    use k8s_openapi::api::core::v1::ConfigMap;
    let s = GitSourceFixture::start("remote-watch", "1h").await?;
    let ns = &s.ns.name;
    let config_map = serde_json::from_value(json!({
        "metadata": {"name": "remote", "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
        "data": {"provider": "eks", "address": "https://127.0.0.1:1"}
    }))?;
    let config_maps = s.ns.api::<ConfigMap>();
    config_maps
        .create(&PostParams::default(), &config_map)
        .await?;
    let _controller = InProcessController::start(ns).await?;
    let ks_api = kustomizations(&s.client, ns);
    let mut app = kustomization("app", ns, ns, "./deploy");
    app["spec"]["kubeConfig"] = json!({"configMapRef": {"name": "remote"}});
    app["spec"]["interval"] = json!("1h");
    app["spec"]["retryInterval"] = json!("1h");
    create(&ks_api, app).await?;
    let unknown = "failed to build kube client: provider 'eks' not implemented";
    wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message == unknown
    })
    .await?;

    let data = json!({"data": {"provider": "aws"}});
    config_maps
        .patch("remote", &PatchParams::default(), &Patch::Merge(&data))
        .await?;
    let expected = format!(
        "failed to build kube client: provider 'aws' of spec.kubeConfig.configMapRef (configmap {ns}/remote) is not supported yet"
    );
    wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message == expected
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_identity_kustomization_syncs_prunes_and_checks_health_in_the_remote_cluster()
-> anyhow::Result<()> {
    let s = GitSourceFixture::start("remote-wi", "2s").await?;
    let ns = s.ns.name.clone();
    let remote = kube::Client::try_from(remote_config().await?)?;
    let _target = RemoteNamespace::create(&remote, &ns).await?;
    trusted_deployer(&s.ns, &remote, "deployer").await?;
    let (address, ca) = remote_address_and_ca().await?;
    apply_kubeconfig_config_map(
        &s.ns,
        json!({"provider": "generic", "address": address, "ca.crt": ca,
               "serviceAccountName": "deployer"}),
    )
    .await?;
    let _controller = InProcessController::start(&ns).await?;
    let ks_api = kustomizations(&s.client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["kubeConfig"] = json!({"configMapRef": {"name": "remote"}});
    create(&ks_api, app).await?;

    let ready = wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    assert_eq!(
        condition(&ready, "Healthy").map(|c| c.0),
        Some("True".to_owned()),
        "wait: true checked the remote Deployment"
    );
    let remote_deployments: Api<Deployment> = Api::namespaced(remote.clone(), &ns);
    let web = remote_deployments.get("web").await?;
    let available = web.status.and_then(|s| s.available_replicas).unwrap_or(0);
    assert_eq!(
        available, 2,
        "Ready before the remote Deployment was available"
    );
    let managers: Vec<String> = web
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.manager)
        .collect();
    assert!(
        managers.iter().any(|m| m == "kustomize-controller"),
        "{managers:?}"
    );
    assert!(
        s.ns.api::<Deployment>().get_opt("web").await?.is_none(),
        "applied to the controller's own cluster"
    );

    let services: Api<Service> = Api::namespaced(remote.clone(), &ns);
    assert!(services.get_opt("web").await?.is_some());
    s.repo
        .remove("master", &["deploy/service.yaml"], "drop the service")?;
    wait_for_gone(&services, "web").await?;
    assert!(remote_deployments.get_opt("web").await?.is_some());
    Ok(())
}

/// Each failure of a `generic` workload identity is reported with its cause, and nothing is
/// applied anywhere until the ConfigMap is right: then the same Kustomization syncs the remote
/// cluster (so the failures came from the causes named, not from the set-up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_identity_the_remote_refuses_or_cannot_have_is_reported_and_changes_nothing()
-> anyhow::Result<()> {
    let s = GitSourceFixture::start("remote-wi-fail", "2s").await?;
    let ns = s.ns.name.clone();
    let remote = kube::Client::try_from(remote_config().await?)?;
    let _target = RemoteNamespace::create(&remote, &ns).await?;
    trusted_deployer(&s.ns, &remote, "deployer").await?;
    let (address, ca) = remote_address_and_ca().await?;
    let _controller = InProcessController::start(&ns).await?;
    let ks_api = kustomizations(&s.client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["kubeConfig"] = json!({"configMapRef": {"name": "remote"}});
    app["spec"]["retryInterval"] = json!("1s");

    let wrong_audience = json!({"provider": "generic", "address": address, "ca.crt": ca,
                                "serviceAccountName": "deployer",
                                "audiences": "https://elsewhere.example\n"});
    apply_kubeconfig_config_map(&s.ns, wrong_audience).await?;
    create(&ks_api, app).await?;
    let refused = format!(
        "failed to build kube client: the cluster at {address} refused the token of \
         ServiceAccount '{ns}/deployer' for audiences [https://elsewhere.example]: Unauthorized"
    );
    wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message == refused
    })
    .await?;

    let missing = json!({"provider": "generic", "address": address, "ca.crt": ca,
                         "serviceAccountName": "ghost"});
    apply_kubeconfig_config_map(&s.ns, missing).await?;
    let no_account = format!(
        "failed to build kube client: failed to get access token for cluster: \
         failed to get service account '{ns}/ghost': serviceaccounts \"ghost\" not found"
    );
    wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message == no_account
    })
    .await?;

    let unknown = json!({"provider": "kubernetes", "address": address, "ca.crt": ca,
                         "serviceAccountName": "deployer"});
    apply_kubeconfig_config_map(&s.ns, unknown).await?;
    let not_implemented = "failed to build kube client: provider 'kubernetes' not implemented";
    wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message == not_implemented
    })
    .await?;
    let remote_deployments: Api<Deployment> = Api::namespaced(remote.clone(), &ns);
    assert!(remote_deployments.get_opt("web").await?.is_none());
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_none());

    let right = json!({"provider": "generic", "address": address, "ca.crt": ca,
                       "serviceAccountName": "deployer"});
    apply_kubeconfig_config_map(&s.ns, right).await?;
    wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    assert!(remote_deployments.get_opt("web").await?.is_some());
    assert!(s.ns.api::<Deployment>().get_opt("web").await?.is_none());
    Ok(())
}

/// With `--default-kubeconfig-service-account`, a ConfigMap naming no ServiceAccount reaches the
/// remote cluster as that one of the object's namespace; while it is missing, Flux's lockdown
/// message is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_kubeconfig_service_account_reaches_a_cluster_whose_config_map_names_none()
-> anyhow::Result<()> {
    let s = GitSourceFixture::start("remote-wi-default", "2s").await?;
    let ns = s.ns.name.clone();
    let remote = kube::Client::try_from(remote_config().await?)?;
    let _target = RemoteNamespace::create(&remote, &ns).await?;
    let (address, ca) = remote_address_and_ca().await?;
    let data = json!({"provider": "generic", "address": address, "ca.crt": ca});
    apply_kubeconfig_config_map(&s.ns, data).await?;
    let _controller = InProcessController::start_with(&ns, |options| {
        options.default_kubeconfig_service_account = Some("deployer".to_owned());
    })
    .await?;
    let ks_api = kustomizations(&s.client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["kubeConfig"] = json!({"configMapRef": {"name": "remote"}});
    app["spec"]["retryInterval"] = json!("1s");
    create(&ks_api, app).await?;
    let lockdown = format!(
        "failed to build kube client: failed to get access token for cluster: failed to get \
         service account '{ns}/deployer': the specified default service account does not exist \
         in the object namespace. your cluster is subject to multi-tenant workload identity \
         lockdown, reach out to your cluster administrator for help"
    );
    wait_ready_where(&ks_api, "app", |status, _, message| {
        status == "False" && message == lockdown
    })
    .await?;

    trusted_deployer(&s.ns, &remote, "deployer").await?;
    wait_ready_where(&ks_api, "app", |status, _, _| status == "True").await?;
    let remote_deployments: Api<Deployment> = Api::namespaced(remote.clone(), &ns);
    assert!(remote_deployments.get_opt("web").await?.is_some());
    Ok(())
}
