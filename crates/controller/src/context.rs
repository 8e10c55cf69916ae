//! What every reconciler shares in one process: one client, one artifact store and workspace,
//! one registry client and tag cache, one metrics registry, one event recorder, the caches of
//! every kind, one schedule, and the controller-wide options.

use crate::events::Events;
use crate::metrics::Metrics;
use crate::triggers::{HealthWaits, NewestSources, Schedule};
use crate::workspace::Workspace;
use kube::runtime::reflector::Store;
use std::time::Duration;
use tether_api::helm::v2::HelmRelease;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_api::kustomize::v1::Kustomization;
use tether_api::source::v1::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, OCIRepository,
};
use tether_registry::{RegistryClient, TagCache};

/// Options that hold for every reconciler.
#[derive(Clone, Debug)]
pub struct ReconcilerOptions {
    /// Base URL under which artifacts are advertised in `status.artifact.url`.
    pub artifact_base_url: String,
    /// How many artifacts to keep per source (Flux: `--artifact-retention-records`, 2).
    pub artifact_retention: usize,
    /// Reconciles of each kind running at once.
    pub concurrency: u16,
    /// Retry delay for failures of objects whose spec has no `retryInterval`.
    pub default_retry: Duration,
    /// Retry delay while a `dependsOn` entry is not ready (Flux: `--requeue-dependency`).
    pub dependency_requeue: Duration,
    /// Reconcile only objects in this namespace (all namespaces when unset).
    pub watch_namespace: Option<String>,
    /// Treat undefined post-build variables as errors (Flux v2.9 default).
    pub strict_substitution: bool,
    /// Registry requests per second, per registry host (fluxd's `--registry-rps`).
    pub registry_rps: f64,
    /// Registry request burst, per registry host (fluxd's `--registry-burst`).
    pub registry_burst: u32,
    /// The ServiceAccount Kustomizations and HelmReleases that name none run as (Flux:
    /// `--default-service-account`); the controller's own identity when unset.
    pub default_service_account: Option<String>,
    /// The ServiceAccount whose token reaches a `kubeConfig.configMapRef` cluster when its
    /// ConfigMap names none (Flux: `--default-kubeconfig-service-account`); the controller's
    /// own when unset.
    pub default_kubeconfig_service_account: Option<String>,
    /// Refuse references to sources in another namespace (Flux: `--no-cross-namespace-refs`).
    pub no_cross_namespace_refs: bool,
    /// Flux v1 automation (fluxd's `--automation-interval` and `--git-*` commit settings).
    pub v1_automation: crate::fluxv1::V1AutomationOptions,
}

impl Default for ReconcilerOptions {
    fn default() -> Self {
        Self {
            artifact_base_url: "http://tether-controller.flux-system.svc.cluster.local.".to_owned(),
            artifact_retention: 2,
            concurrency: 20,
            default_retry: Duration::from_secs(30),
            dependency_requeue: Duration::from_secs(30),
            watch_namespace: None,
            strict_substitution: true,
            default_service_account: None,
            default_kubeconfig_service_account: None,
            no_cross_namespace_refs: false,
            registry_rps: tether_registry::DEFAULT_REQUESTS_PER_SECOND,
            registry_burst: tether_registry::DEFAULT_BURST,
            v1_automation: crate::fluxv1::V1AutomationOptions {
                interval: Duration::from_secs(5 * 60),
                commit: tether_fluxv1::CommitSettings::default(),
            },
        }
    }
}

/// Shared state handed to every reconcile.
pub struct Context {
    pub client: kube::Client,
    pub workspace: Workspace,
    pub metrics: Metrics,
    pub events: Events,
    pub options: ReconcilerOptions,
    pub apply_resources: tether_ssa::ResourceManager,
    /// The clusters and identities Kustomizations and HelmReleases apply with (ServiceAccounts,
    /// remote kubeconfigs).
    pub clusters: crate::clusters::Clusters,
    /// One registry client: per-host rate limits and tokens are shared by every scan.
    pub registry: RegistryClient,
    /// The registry client of artifact pulls (OCIRepository): tokens shared, no rate limit, as
    /// source-controller has none.
    pub artifact_registry: RegistryClient,
    /// Scanned tags by ImageRepository and canonical image, on disk so a restart needs no rescan.
    pub tags: TagCache,
    /// Working clones of ImageUpdateAutomations live under this directory.
    pub image_clones: std::path::PathBuf,
    /// Each Bucket's objects as last downloaded, so only changed objects are downloaded again
    /// (outside the served artifact store).
    pub bucket_mirrors: std::path::PathBuf,
    pub git_repositories: Store<GitRepository>,
    pub oci_repositories: Store<OCIRepository>,
    pub buckets: Store<Bucket>,
    /// ExternalArtifacts (watched, never reconciled: a third party writes their status).
    pub external_artifacts: Store<ExternalArtifact>,
    /// ExternalArtifacts as the Kustomization trigger watch saw them.
    pub newest_external_artifacts: std::sync::Arc<NewestSources<ExternalArtifact>>,
    pub kustomizations: Store<Kustomization>,
    pub image_repositories: Store<ImageRepository>,
    pub image_policies: Store<ImagePolicy>,
    pub image_update_automations: Store<ImageUpdateAutomation>,
    pub schedule: Schedule,
    pub health_waits: HealthWaits,
    /// GitRepositories as the Kustomization trigger watch saw them (see [`NewestSources`]).
    pub newest_sources: std::sync::Arc<NewestSources<GitRepository>>,
    /// OCIRepositories as the Kustomization trigger watch saw them.
    pub newest_oci_sources: std::sync::Arc<NewestSources<OCIRepository>>,
    /// Buckets as the Kustomization trigger watch saw them.
    pub newest_bucket_sources: std::sync::Arc<NewestSources<Bucket>>,
    pub helm_releases: Store<HelmRelease>,
    /// Charts loaded from artifacts, shared by every HelmRelease.
    pub loaded_charts: crate::helmrelease::LoadedCharts,
    pub helm_repositories: Store<HelmRepository>,
    pub helm_charts: Store<HelmChart>,
    /// HelmRepositories as the HelmChart trigger watch saw them.
    pub newest_helm_repositories: std::sync::Arc<NewestSources<HelmRepository>>,
    /// HelmCharts as the watches of their users saw them.
    pub newest_helm_charts: std::sync::Arc<NewestSources<HelmChart>>,
    /// The parsed index of each HelmRepository's artifact, shared by its HelmCharts.
    pub helm_indexes: crate::helm_source::IndexCache,
}
