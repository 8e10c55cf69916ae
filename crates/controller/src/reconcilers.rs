//! The one registration list: every kind's controller, sharing one client and one context, run
//! through the one driver (`crate::reconcile`). Adding a kind is a module that implements
//! [`Reconcile`] plus one line in each list below. What wakes a kind besides its own changes is
//! the kind's own business ([`Reconcile::watches`]).

use crate::context::{Context, ReconcilerOptions};
use crate::events::Events;
use crate::metrics::Metrics;
use crate::reconcile::{Reconcile, controller_of, drive};
use crate::workspace::Workspace;
use kube::Client;
use kube::runtime::reflector::Store;
use std::path::Path;
use std::sync::Arc;
use tether_api::helm::v2::HelmRelease;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_api::kustomize::v1::Kustomization;
use tether_api::notification::v1::Receiver;
use tether_api::source::v1::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, OCIRepository,
};
use tether_registry::{RegistryClient, TagCache};
use tether_source::ArtifactStore;
use tokio_util::sync::CancellationToken;

/// What the process hands to the reconcilers.
pub struct Shared {
    pub client: Client,
    /// What `client` was built from: the base of the clients that act as ServiceAccounts.
    pub config: kube::Config,
    pub metrics: Metrics,
    pub registry: RegistryClient,
    /// Opened by the process, so that a cache that cannot be opened stops it at start-up.
    pub tags: TagCache,
    /// Where every reconciler's events go besides Kubernetes Events.
    pub alerts: crate::notification::AlertFeed,
}

/// Runs every reconciler until `shutdown` fires; `on_ready` is called once the caches of
/// every kind are filled.
pub async fn run_reconcilers(
    shared: Shared,
    storage: &Path,
    options: ReconcilerOptions,
    shutdown: CancellationToken,
    on_ready: impl FnOnce() + Send + 'static,
) {
    let Shared {
        client,
        config,
        metrics,
        registry,
        tags,
        alerts,
    } = shared;
    let namespace = options.watch_namespace.clone();
    let namespace = namespace.as_deref();
    let git_repositories = controller_of::<GitRepository>(&client, namespace);
    let oci_repositories = controller_of::<OCIRepository>(&client, namespace);
    let buckets = controller_of::<Bucket>(&client, namespace);
    let kustomizations = controller_of::<Kustomization>(&client, namespace);
    let image_repositories = controller_of::<ImageRepository>(&client, namespace);
    let image_policies = controller_of::<ImagePolicy>(&client, namespace);
    let image_update_automations = controller_of::<ImageUpdateAutomation>(&client, namespace);
    let receivers = controller_of::<Receiver>(&client, namespace);
    let helm_releases = controller_of::<HelmRelease>(&client, namespace);
    let operator_releases =
        controller_of::<tether_api::helm_operator::v1::HelmRelease>(&client, namespace);
    let helm_repositories = controller_of::<HelmRepository>(&client, namespace);
    let helm_charts = controller_of::<HelmChart>(&client, namespace);
    let (external_artifacts, external_artifacts_writer) = kube::runtime::reflector::store();
    let apply_resources = tether_ssa::ResourceManager::new(client.clone())
        .with_field_manager(tether_api::kustomize::FIELD_MANAGER);
    let ctx = Arc::new(Context {
        workspace: Workspace::new(
            storage.join("extracted"),
            ArtifactStore::new(storage.join("artifacts")),
        ),
        events: Events::new(client.clone()).with_alerts(alerts),
        apply_resources: apply_resources.clone(),
        clusters: crate::clusters::Clusters::new(
            config,
            client.clone(),
            apply_resources,
            options.default_service_account.clone(),
            options.default_kubeconfig_service_account.clone(),
            crate::requests::CountRequests::new(metrics.api_requests.clone()),
        ),
        registry,
        artifact_registry: RegistryClient::new(tether_registry::ClientOptions {
            requests_per_second: f64::INFINITY,
            ..tether_registry::ClientOptions::default()
        }),
        tags,
        image_clones: storage.join("image-clones"),
        bucket_mirrors: storage.join("bucket-mirrors"),
        git_repositories: git_repositories.store(),
        oci_repositories: oci_repositories.store(),
        buckets: buckets.store(),
        external_artifacts,
        newest_external_artifacts: Default::default(),
        kustomizations: kustomizations.store(),
        image_repositories: image_repositories.store(),
        image_policies: image_policies.store(),
        image_update_automations: image_update_automations.store(),
        schedule: Default::default(),
        health_waits: Default::default(),
        newest_sources: Default::default(),
        newest_oci_sources: Default::default(),
        newest_bucket_sources: Default::default(),
        helm_releases: helm_releases.store(),
        loaded_charts: Default::default(),
        helm_repositories: helm_repositories.store(),
        helm_charts: helm_charts.store(),
        newest_helm_repositories: Default::default(),
        newest_helm_charts: Default::default(),
        helm_indexes: Default::default(),
        metrics,
        client,
        options,
    });
    let readiness = wait_for_caches(ctx.clone(), on_ready);
    futures::join!(
        drive(git_repositories, ctx.clone(), shutdown.clone()),
        drive(oci_repositories, ctx.clone(), shutdown.clone()),
        drive(buckets, ctx.clone(), shutdown.clone()),
        drive(kustomizations, ctx.clone(), shutdown.clone()),
        drive(image_repositories, ctx.clone(), shutdown.clone()),
        drive(image_policies, ctx.clone(), shutdown.clone()),
        drive(image_update_automations, ctx.clone(), shutdown.clone()),
        drive(receivers, ctx.clone(), shutdown.clone()),
        drive(helm_releases, ctx.clone(), shutdown.clone()),
        drive(operator_releases, ctx.clone(), shutdown.clone()),
        drive(helm_repositories, ctx.clone(), shutdown.clone()),
        drive(helm_charts, ctx.clone(), shutdown.clone()),
        mirror_external_artifacts(
            external_artifacts_writer,
            &ctx.client,
            namespace,
            shutdown.clone()
        ),
        crate::fluxv1::run(ctx.clone(), shutdown),
        readiness,
    );
}

async fn wait_for_caches(ctx: Arc<Context>, on_ready: impl FnOnce()) {
    let (git, oci, ks, repos, policies, automations) = futures::join!(
        filled(&ctx.git_repositories),
        filled(&ctx.oci_repositories),
        filled(&ctx.kustomizations),
        filled(&ctx.image_repositories),
        filled(&ctx.image_policies),
        filled(&ctx.image_update_automations),
    );
    let (helm_repositories, helm_charts, buckets, external) = futures::join!(
        filled(&ctx.helm_repositories),
        filled(&ctx.helm_charts),
        filled(&ctx.buckets),
        ctx.external_artifacts.wait_until_ready(),
    );
    let sources = git && oci && buckets && helm_repositories && helm_charts && external.is_ok();
    if sources && ks && repos && policies && automations {
        on_ready();
    }
}

/// Keeps the ExternalArtifact cache: nothing reconciles them (a third party writes their
/// status), but Kustomizations read their artifacts from it and the clean-up of extracted
/// artifacts keeps theirs.
async fn mirror_external_artifacts(
    writer: kube::runtime::reflector::store::Writer<ExternalArtifact>,
    client: &Client,
    namespace: Option<&str>,
    shutdown: CancellationToken,
) {
    use futures::StreamExt;
    use kube::runtime::WatchStreamExt;
    let api = crate::reconcile::api_in::<ExternalArtifact>(client, namespace);
    let watch = kube::runtime::watcher::Config::default().any_semantic();
    let stream =
        kube::runtime::reflector(writer, kube::runtime::watcher(api, watch).default_backoff())
            .take_until(shutdown.cancelled_owned())
            .for_each(|event| {
                if let Err(error) = event {
                    tracing::warn!(%error, "watching ExternalArtifacts");
                }
                futures::future::ready(())
            });
    stream.await;
}

async fn filled<K: Reconcile>(store: &Store<K>) -> bool {
    store.wait_until_ready().await.is_ok()
}
