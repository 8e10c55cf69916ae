//! The image automation reconcilers, as Flux's image-reflector-controller and
//! image-automation-controller: ImageRepository scans a registry for tags, ImagePolicy elects
//! the latest image among them, ImageUpdateAutomation writes the elected images into Git.
//! The work itself belongs to the engines (`tether-registry`, `tether-imagepolicy`,
//! `tether-setters`, `tether-source`); this module wires them to the API objects.

pub mod automation;
pub mod policy;
pub mod repository;

use crate::context::ReconcilerOptions;
use crate::events::Events;
use crate::metrics::Metrics;
use crate::secrets::secret_data;
use crate::triggers::Schedule;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::Api;
use kube::runtime::reflector::Store;
use std::time::Duration;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_registry::{
    Credentials, DockerConfig, ImageName, RegistryClient, ScanOptions, TagCache, TlsConfig,
};

/// What the image reconcilers share in one process.
pub struct ImageContext {
    pub client: kube::Client,
    /// One registry client: per-host rate limits and tokens are shared by every scan.
    pub registry: RegistryClient,
    /// Scanned tags by canonical image name, on disk so a restart needs no rescan.
    pub tags: TagCache,
    pub events: Events,
    pub metrics: Metrics,
    pub options: ReconcilerOptions,
    pub repositories: Store<ImageRepository>,
    pub policies: Store<ImagePolicy>,
    pub schedule: Schedule,
    /// Working clones of ImageUpdateAutomations live under this directory.
    pub work_dir: std::path::PathBuf,
}

/// A failed reconcile of an image object, in Flux's condition vocabulary.
pub struct Failure {
    pub reason: &'static str,
    pub message: String,
    /// Configuration errors: Stalled, no retry until the spec changes.
    pub terminal: bool,
    /// How long to wait before trying again (a registry's `Retry-After`, a dependency).
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn new(reason: &'static str, message: impl Into<String>, terminal: bool) -> Self {
        Self {
            reason,
            message: message.into(),
            terminal,
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }
}

/// The conditions of an image object's status.
pub trait HasConditions {
    fn conditions(&self) -> Option<&Vec<Condition>>;

    /// The Ready condition, if any.
    fn ready(&self) -> Option<&Condition> {
        tether_api::meta::conditions::find(self.conditions()?, tether_api::meta::conditions::READY)
    }
}

impl HasConditions for ImageRepository {
    fn conditions(&self) -> Option<&Vec<Condition>> {
        self.status.as_ref()?.conditions.as_ref()
    }
}

impl HasConditions for ImagePolicy {
    fn conditions(&self) -> Option<&Vec<Condition>> {
        self.status.as_ref()?.conditions.as_ref()
    }
}

impl HasConditions for ImageUpdateAutomation {
    fn conditions(&self) -> Option<&Vec<Condition>> {
        self.status.as_ref()?.conditions.as_ref()
    }
}

/// Publishes `failure` as a warning event unless the object's Ready condition already says
/// it (a failure repeated on every retry is reported once).
pub async fn warn_once<K>(
    ctx: &ImageContext,
    origin: crate::events::Origin,
    object: &K,
    failure: &Failure,
) where
    K: HasConditions + kube::Resource<DynamicType = ()>,
{
    if object
        .ready()
        .is_some_and(|ready| ready.message == failure.message)
    {
        return;
    }
    ctx.events
        .publish(
            origin,
            object,
            true,
            failure.reason,
            failure.message.clone(),
        )
        .await;
}

/// How to reach the registry of `repo`: `insecure`, the timeout, the credentials of the
/// `secretRef` docker config for its image and the TLS material of `certSecretRef`. Errors
/// are the message only; callers put them in their own words.
pub async fn scan_options(
    client: &kube::Client,
    repo: &ImageRepository,
    image: &ImageName,
) -> Result<ScanOptions, String> {
    use kube::ResourceExt;
    let namespace = repo.namespace().unwrap_or_default();
    let mut options = ScanOptions {
        insecure: repo.spec.insecure == Some(true),
        timeout: repo
            .spec
            .effective_timeout()
            .unwrap_or(Duration::from_secs(60)),
        credentials: Credentials::Anonymous,
        ..ScanOptions::default()
    };
    if let Some(secret) = &repo.spec.secret_ref {
        let data = secret_data(client, &namespace, &secret.name)
            .await
            .map_err(|e| e.to_string())?;
        let config =
            DockerConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .map_err(|e| format!("secret '{namespace}/{}': {e}", secret.name))?;
        options.credentials = config.credentials_for(image);
    }
    if options.credentials == Credentials::Anonymous
        && let Some(account) = &repo.spec.service_account_name
    {
        options.credentials =
            service_account_credentials(client, &namespace, account, image).await?;
    }
    if let Some(secret) = &repo.spec.cert_secret_ref {
        let data = secret_data(client, &namespace, &secret.name)
            .await
            .map_err(|e| e.to_string())?;
        options.tls =
            TlsConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
    }
    Ok(options)
}

/// The credentials for `image` in the `imagePullSecrets` of ServiceAccount `namespace/name`
/// (Flux's `serviceAccountName` with the generic provider): the first secret that has any.
async fn service_account_credentials(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    image: &ImageName,
) -> Result<Credentials, String> {
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), namespace);
    let account = accounts
        .get_opt(name)
        .await
        .map_err(|e| format!("failed to get service account '{namespace}/{name}': {e}"))?
        .ok_or_else(|| format!("service account '{namespace}/{name}' not found"))?;
    for secret in account.image_pull_secrets.iter().flatten() {
        let data = secret_data(client, namespace, &secret.name)
            .await
            .map_err(|e| e.to_string())?;
        let Ok(config) =
            DockerConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
        else {
            continue;
        };
        let credentials = config.credentials_for(image);
        if credentials != Credentials::Anonymous {
            return Ok(credentials);
        }
    }
    Ok(Credentials::Anonymous)
}

/// `Kind/namespace/name`, the key of an object in the schedule.
pub fn object_key<K: kube::Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.meta().namespace.as_deref().unwrap_or_default(),
        object.meta().name.as_deref().unwrap_or_default()
    )
}

/// Where image automation keeps its state under the controller's storage path.
pub struct ImageStorage {
    /// The tag cache.
    pub tags: std::path::PathBuf,
    /// Working clones of ImageUpdateAutomations.
    pub clones: std::path::PathBuf,
}

impl ImageStorage {
    pub fn under(storage: &std::path::Path) -> Self {
        Self {
            tags: storage.join("image-tags"),
            clones: storage.join("image-clones"),
        }
    }
}

/// Runs the three image reconcilers until `shutdown` fires. ImagePolicies re-run when their
/// ImageRepository's status changes (a scan), ImageUpdateAutomations when a policy they select
/// changes (a new latest image).
pub async fn run_image_reconcilers(
    client: kube::Client,
    storage: ImageStorage,
    metrics: Metrics,
    events: Events,
    options: ReconcilerOptions,
    registry: RegistryClient,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), tether_registry::CacheError> {
    use futures::StreamExt;
    use kube::runtime::controller::{self, Controller};
    use kube::runtime::watcher;
    use std::sync::Arc;
    use tether_api::image::v1::ImageUpdateAutomation;

    fn api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
    let namespace = options.watch_namespace.as_deref();
    let repos_api: Api<ImageRepository> = api(&client, namespace);
    let policies_api: Api<ImagePolicy> = api(&client, namespace);
    let autos_api: Api<ImageUpdateAutomation> = api(&client, namespace);
    let watch = watcher::Config::default().any_semantic();
    let repo_controller = Controller::new(repos_api.clone(), watch.clone());
    let policy_controller = Controller::new(policies_api.clone(), watch.clone());
    let auto_controller = Controller::new(autos_api, watch.clone());
    let automations = auto_controller.store();
    let ctx = Arc::new(ImageContext {
        client: client.clone(),
        registry,
        tags: TagCache::open(storage.tags)?,
        events,
        metrics,
        options: options.clone(),
        repositories: repo_controller.store(),
        policies: policy_controller.store(),
        schedule: Schedule::default(),
        work_dir: storage.clones,
    });
    let config = controller::Config::default().concurrency(options.concurrency);
    let by_repo = ctx.clone();
    let policies = policy_controller
        .watches(repos_api, watch.clone(), move |repo| {
            policy::policies_for(&by_repo, &repo)
        })
        .with_config(config.clone())
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(policy::reconcile, policy::error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    let repositories = repo_controller
        .with_config(config.clone())
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(repository::reconcile, repository::error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    let by_policy = automations.clone();
    let automations = auto_controller
        .watches(policies_api, watch, move |policy| {
            automation::automations_for(&by_policy, &policy)
        })
        .with_config(config)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(automation::reconcile, automation::error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    futures::join!(repositories, policies, automations);
    Ok(())
}
