//! The controller run in process for behaviour tests: scoped to one namespace, on free loopback
//! ports, stopped when dropped. Its log goes to the test's captured output, so a failing test
//! shows what the controller did.
#![allow(dead_code)]

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
pub mod helm;

use tether_controller::{ControllerOptions, NotificationOptions, ReconcilerOptions, run_until};
use tether_testkit::flux::{
    GitSourceFixture, create, kustomization, kustomizations, wait_ready_where,
};
use tether_testkit::http::{ControllerMetrics, free_port, http_get};
use tokio_util::sync::CancellationToken;

/// A controller running in this test's runtime, stopped on drop.
pub struct InProcessController {
    pub metrics: ControllerMetrics,
    /// Where the artifact storage is served, as advertised in `status.artifact.url`.
    pub storage_url: String,
    /// Where events are POSTed, as Flux controllers do (`--events-addr`).
    pub events_url: String,
    /// The base URL of the Receiver webhooks (`--receiver-addr`).
    pub receiver_url: String,
    stop: CancellationToken,
    _storage: tempfile::TempDir,
}

impl InProcessController {
    /// Starts a controller reconciling only `namespace`, and waits until it is ready.
    pub async fn start(namespace: &str) -> anyhow::Result<Self> {
        Self::start_with(namespace, |_| {}).await
    }

    /// Like [`Self::start`], with reconciler options changed by `configure` first.
    pub async fn start_with(
        namespace: &str,
        configure: impl FnOnce(&mut ReconcilerOptions),
    ) -> anyhow::Result<Self> {
        Self::start_with_notifications(namespace, configure, |_| {}).await
    }

    /// Like [`Self::start_with`], with notification options changed by `notifications` too.
    pub async fn start_with_notifications(
        namespace: &str,
        configure: impl FnOnce(&mut ReconcilerOptions),
        notifications: impl FnOnce(&mut NotificationOptions),
    ) -> anyhow::Result<Self> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,tether_controller=debug")
            .with_test_writer()
            .try_init();
        let storage = tempfile::tempdir()?;
        let (health_port, metrics_port, storage_port) = (free_port()?, free_port()?, free_port()?);
        let storage_url = format!("http://127.0.0.1:{storage_port}");
        let (events_port, receiver_port) = (free_port()?, free_port()?);
        let mut options = ControllerOptions {
            health_addr: ([127, 0, 0, 1], health_port).into(),
            metrics_addr: ([127, 0, 0, 1], metrics_port).into(),
            storage_addr: ([127, 0, 0, 1], storage_port).into(),
            storage_path: storage.path().join("storage"),
            reconcilers: ReconcilerOptions {
                artifact_base_url: storage_url.clone(),
                watch_namespace: Some(namespace.to_owned()),
                dependency_requeue: Duration::from_secs(1),
                ..ReconcilerOptions::default()
            },
            notifications: NotificationOptions {
                events_addr: ([127, 0, 0, 1], events_port).into(),
                receiver_addr: ([127, 0, 0, 1], receiver_port).into(),
                ..NotificationOptions::default()
            },
        };
        configure(&mut options.reconcilers);
        notifications(&mut options.notifications);
        let config = tether_testkit::cluster::config().await?;
        let stop = CancellationToken::new();
        let running = tokio::spawn(run_until(config, options, stop.clone()));
        let ready = format!("http://127.0.0.1:{health_port}/readyz");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if running.is_finished() {
                let result = running.await?;
                anyhow::bail!("the controller stopped before it was ready: {result:?}");
            }
            let probe = ready.clone();
            if let Some((200, _)) = tokio::task::spawn_blocking(move || http_get(&probe)).await? {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "controller not ready within 30s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            metrics: ControllerMetrics { port: metrics_port },
            storage_url,
            events_url: format!("http://127.0.0.1:{events_port}/"),
            receiver_url: format!("http://127.0.0.1:{receiver_port}"),
            stop,
            _storage: storage,
        })
    }
}

impl InProcessController {
    /// The artifact storage directory (artifacts and the extracted sources).
    pub fn storage_path(&self) -> std::path::PathBuf {
        self._storage.path().join("storage")
    }
}

impl Drop for InProcessController {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The common start of a test: a GitRepository `app` polling every 2 s, a controller, and a
/// Kustomization `app` applying `./deploy` into the test namespace every `interval`, Ready.
pub struct SyncedApp {
    pub source: GitSourceFixture,
    pub controller: InProcessController,
    pub kustomizations: Api<DynamicObject>,
}

impl SyncedApp {
    pub async fn start(prefix: &str, interval: &str) -> anyhow::Result<Self> {
        let source = GitSourceFixture::start(prefix, "2s").await?;
        let ns = source.ns.name.clone();
        let controller = InProcessController::start(&ns).await?;
        let api = kustomizations(&source.client, &ns);
        let mut app = kustomization("app", &ns, &ns, "./deploy");
        app["spec"]["interval"] = serde_json::json!(interval);
        create(&api, app).await?;
        wait_ready_where(&api, "app", |status, _, _| status == "True").await?;
        Ok(Self {
            source,
            controller,
            kustomizations: api,
        })
    }
}

/// A namespaced `Widget` kind (`cel.tether.test/v1`) with a status subresource: no controller
/// sets its status, the test does, so only `healthCheckExprs` can judge it.
pub fn widget_crd() -> anyhow::Result<CustomResourceDefinition> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.cel.tether.test"},
        "spec": {"group": "cel.tether.test", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                   "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))?)
}

pub const WIDGET_YAML: &str =
    "apiVersion: cel.tether.test/v1\nkind: Widget\nmetadata:\n  name: gear\nspec:\n  size: 3\n";

/// A chart template of one Widget named after the release.
pub const WIDGET_TEMPLATE: &str = "apiVersion: cel.tether.test/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}-gear\nspec:\n  size: 1\n";

/// Sets the Widget's `status.phase`, as its controller would.
pub async fn set_phase(
    widgets: &Api<DynamicObject>,
    name: &str,
    phase: &str,
) -> anyhow::Result<()> {
    let patch = json!({"status": {"phase": phase}});
    widgets
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

pub fn widget_health_exprs() -> Value {
    json!([{"apiVersion": "cel.tether.test/v1", "kind": "Widget",
            "current": "status.phase == 'Ready'",
            "inProgress": "status.phase == 'Starting'",
            "failed": "status.phase == 'Broken'"}])
}

/// Namespace `name` in the remote cluster (usually the name of the test's own namespace, where
/// a ServiceAccount or release storage of the object's namespace is looked for), deleted when
/// dropped.
pub struct RemoteNamespace {
    api: Api<Namespace>,
    name: String,
}

impl RemoteNamespace {
    pub async fn create(remote: &kube::Client, name: &str) -> anyhow::Result<Self> {
        let api: Api<Namespace> = Api::all(remote.clone());
        let namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
        api.create(&PostParams::default(), &namespace).await?;
        Ok(Self {
            api,
            name: name.to_owned(),
        })
    }
}

impl Drop for RemoteNamespace {
    fn drop(&mut self) {
        let (api, name) = (self.api.clone(), self.name.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = api.delete(&name, &DeleteParams::background()).await;
            });
        }
    }
}

/// Server-side applies the `kubeConfig.configMapRef` ConfigMap `remote` in `ns` with `data`,
/// replacing the data it had.
pub async fn apply_kubeconfig_config_map(
    ns: &tether_testkit::cluster::TestNamespace,
    data: Value,
) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "remote"}, "data": data});
    ns.api::<ConfigMap>()
        .patch(
            "remote",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&config_map),
        )
        .await?;
    Ok(())
}

/// ServiceAccount `name` in `local`'s namespace of the controller's cluster, and in the remote
/// cluster's namespace of the same name the `admin` ClusterRole for the user its tokens
/// authenticate as there (dev/cluster.sh's trusted issuer).
pub async fn trusted_deployer(
    local: &tether_testkit::cluster::TestNamespace,
    remote: &kube::Client,
    name: &str,
) -> anyhow::Result<()> {
    use k8s_openapi::api::rbac::v1::RoleBinding;
    let account = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    local
        .api::<k8s_openapi::api::core::v1::ServiceAccount>()
        .create(&PostParams::default(), &account)
        .await?;
    let ns = &local.name;
    let prefix = tether_testkit::cluster::TRUSTED_USERNAME_PREFIX;
    let user = format!("{prefix}system:serviceaccount:{ns}:{name}");
    let binding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    }))?;
    Api::<RoleBinding>::namespaced(remote.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await?;
    Ok(())
}
