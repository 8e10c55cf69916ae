//! Both reconcilers wired into kube-runtime controllers sharing one client and one context:
//! Kustomizations are triggered by their own changes, by their GitRepository's changes (a new
//! artifact applies at once, not at the next interval), and by the readiness of the
//! Kustomizations they depend on.

use crate::context::{Context, ReconcilerOptions};
use crate::events::Events;
use crate::metrics::Metrics;
use crate::workspace::Workspace;
use crate::{gitrepository, kustomization};
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::path::PathBuf;
use std::sync::Arc;
use tether_api::kustomize::v1::{Kustomization, SourceKind};
use tether_api::source::v1::GitRepository;
use tether_source::ArtifactStore;
use tokio_util::sync::CancellationToken;

/// Runs every reconciler until `shutdown` resolves; `on_ready` is called once the caches of
/// every watched kind are filled.
pub async fn run_reconcilers(
    client: Client,
    storage: PathBuf,
    metrics: Metrics,
    registry: tether_registry::RegistryClient,
    options: ReconcilerOptions,
    shutdown: CancellationToken,
    on_ready: impl FnOnce() + Send + 'static,
) {
    let (git_api, ks_api) = match &options.watch_namespace {
        Some(namespace) => (
            Api::namespaced(client.clone(), namespace),
            Api::namespaced(client.clone(), namespace),
        ),
        None => (
            Api::<GitRepository>::all(client.clone()),
            Api::<Kustomization>::all(client.clone()),
        ),
    };
    let watch = watcher::Config::default().any_semantic();
    let git_controller = Controller::new(git_api.clone(), watch.clone());
    let ks_controller = Controller::new(ks_api.clone(), watch.clone());
    let store = ArtifactStore::new(storage.join("artifacts"));
    let apply_resources = tether_ssa::ResourceManager::new(client.clone())
        .with_field_manager(tether_api::kustomize::FIELD_MANAGER);
    let ctx = Arc::new(Context {
        client: client.clone(),
        workspace: Workspace::new(storage.join("extracted"), store),
        metrics,
        events: Events::new(client.clone()),
        git_repositories: git_controller.store(),
        kustomizations: ks_controller.store(),
        apply_resources,
        schedule: Default::default(),
        health_waits: Default::default(),
        newest_sources: Default::default(),
        options: options.clone(),
    });
    let config = controller::Config::default().concurrency(options.concurrency);
    let (by_source, by_dependency) = (ctx.kustomizations.clone(), ctx.kustomizations.clone());
    let newest = ctx.newest_sources.clone();
    let kustomizations = ks_controller
        .watches(git_api, watch.clone(), move |repo| {
            let woken = using_source(&by_source, &repo);
            newest.remember(Arc::new(repo));
            woken
        })
        .watches(ks_api, watch, move |dependency| {
            dependents_of(&by_dependency, &dependency)
        })
        .with_config(config.clone())
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(
            kustomization::reconcile,
            kustomization::error_policy,
            ctx.clone(),
        )
        .for_each(|_| futures::future::ready(()));
    let git_repositories = git_controller
        .with_config(config)
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(
            gitrepository::reconcile,
            gitrepository::error_policy,
            ctx.clone(),
        )
        .for_each(|_| futures::future::ready(()));
    let readiness = wait_for_caches(ctx.clone(), on_ready);
    let v1_automation = crate::fluxv1::run(
        ctx.clone(),
        registry,
        options.v1_automation.clone(),
        shutdown.clone(),
    );
    futures::join!(kustomizations, git_repositories, readiness, v1_automation);
}

async fn wait_for_caches(ctx: Arc<Context>, on_ready: impl FnOnce()) {
    let (git, ks) = futures::join!(
        ctx.git_repositories.wait_until_ready(),
        ctx.kustomizations.wait_until_ready()
    );
    if git.is_ok() && ks.is_ok() {
        on_ready();
    }
}

/// Kustomizations whose `sourceRef` is `repo`.
fn using_source(
    store: &Store<Kustomization>,
    repo: &GitRepository,
) -> Vec<ObjectRef<Kustomization>> {
    let (name, namespace) = (repo.name_any(), repo.namespace().unwrap_or_default());
    store
        .state()
        .iter()
        .filter(|ks| {
            let source = &ks.spec.source_ref;
            let source_namespace = source
                .namespace
                .clone()
                .or_else(|| ks.namespace())
                .unwrap_or_default();
            matches!(source.kind, SourceKind::GitRepository)
                && source.name == name
                && source_namespace == namespace
        })
        .map(|ks| ObjectRef::from_obj(ks.as_ref()))
        .collect()
}

/// Kustomizations that list `dependency` in `dependsOn`. Runs on every Kustomization event
/// (each status write is one), over every Kustomization: it allocates nothing per object.
fn dependents_of(
    store: &Store<Kustomization>,
    dependency: &Kustomization,
) -> Vec<ObjectRef<Kustomization>> {
    let name = dependency.metadata.name.as_deref().unwrap_or_default();
    let namespace = dependency.metadata.namespace.as_deref().unwrap_or_default();
    store
        .state()
        .iter()
        .filter(|ks| {
            let Some(depends_on) = &ks.spec.depends_on else {
                return false;
            };
            let own = ks.metadata.namespace.as_deref().unwrap_or_default();
            depends_on
                .iter()
                .any(|d| d.name == name && d.namespace.as_deref().unwrap_or(own) == namespace)
        })
        .map(|ks| ObjectRef::from_obj(ks.as_ref()))
        .collect()
}
