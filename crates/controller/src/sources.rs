//! The source kinds a Kustomization can build from, behind one trait: where the controller
//! caches them, their artifact, whether they reported, and whether they are suspended; and the
//! clean-up of extracted artifacts no source points at.

use crate::context::Context;
use crate::triggers::NewestSources;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::reflector::Store;
use std::collections::HashSet;
use tether_api::meta::Artifact;
use tether_api::source::v1::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, OCIRepository,
};

/// A source kind whose artifact Kustomizations build from.
pub trait ArtifactSource:
    kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The controller's cache of this kind.
    fn store(ctx: &Context) -> &Store<Self>;
    /// The newest copies the Kustomization watch delivered (see [`NewestSources`]).
    fn newest(ctx: &Context) -> &NewestSources<Self>;
    /// `status.artifact`, once there is one.
    fn artifact(&self) -> Option<&Artifact>;
    /// `status.conditions`.
    fn conditions(&self) -> Option<&[Condition]>;
    /// `spec.suspend`.
    fn suspended(&self) -> bool;

    /// Whether the source has yet to report its first fetch (no Ready condition, or
    /// Ready=Unknown while it runs) and will (it is not suspended): what waits for its
    /// artifact waits silently meanwhile, as its first status wakes the waiter.
    fn first_fetch_pending(&self) -> bool {
        let reported = self
            .conditions()
            .and_then(|c| {
                tether_api::meta::conditions::find(c, tether_api::meta::conditions::READY)
            })
            .is_some_and(|ready| ready.status != tether_api::meta::conditions::STATUS_UNKNOWN);
        !reported && !self.suspended()
    }
}

impl ArtifactSource for GitRepository {
    fn store(ctx: &Context) -> &Store<Self> {
        &ctx.git_repositories
    }
    fn newest(ctx: &Context) -> &NewestSources<Self> {
        &ctx.newest_sources
    }
    fn artifact(&self) -> Option<&Artifact> {
        self.status.as_ref()?.artifact.as_ref()
    }
    fn conditions(&self) -> Option<&[Condition]> {
        self.status.as_ref()?.conditions.as_deref()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
}

impl ArtifactSource for OCIRepository {
    fn store(ctx: &Context) -> &Store<Self> {
        &ctx.oci_repositories
    }
    fn newest(ctx: &Context) -> &NewestSources<Self> {
        &ctx.newest_oci_sources
    }
    fn artifact(&self) -> Option<&Artifact> {
        self.status.as_ref()?.artifact.as_ref()
    }
    fn conditions(&self) -> Option<&[Condition]> {
        self.status.as_ref()?.conditions.as_deref()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
}

impl ArtifactSource for Bucket {
    fn store(ctx: &Context) -> &Store<Self> {
        &ctx.buckets
    }
    fn newest(ctx: &Context) -> &NewestSources<Self> {
        &ctx.newest_bucket_sources
    }
    fn artifact(&self) -> Option<&Artifact> {
        self.status.as_ref()?.artifact.as_ref()
    }
    fn conditions(&self) -> Option<&[Condition]> {
        self.status.as_ref()?.conditions.as_deref()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
}

impl ArtifactSource for HelmRepository {
    fn store(ctx: &Context) -> &Store<Self> {
        &ctx.helm_repositories
    }
    fn newest(ctx: &Context) -> &NewestSources<Self> {
        &ctx.newest_helm_repositories
    }
    fn artifact(&self) -> Option<&Artifact> {
        self.status.as_ref()?.artifact.as_ref()
    }
    fn conditions(&self) -> Option<&[Condition]> {
        self.status.as_ref()?.conditions.as_deref()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
}

/// A HelmChart's artifact is the chart archive (`<name>-<version>.tgz`) under the store root.
impl ArtifactSource for HelmChart {
    fn store(ctx: &Context) -> &Store<Self> {
        &ctx.helm_charts
    }
    fn newest(ctx: &Context) -> &NewestSources<Self> {
        &ctx.newest_helm_charts
    }
    fn artifact(&self) -> Option<&Artifact> {
        self.status.as_ref()?.artifact.as_ref()
    }
    fn conditions(&self) -> Option<&[Condition]> {
        self.status.as_ref()?.conditions.as_deref()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
}

/// An ExternalArtifact's artifact is written by a third party and served wherever it says
/// (`status.artifact.url`); it has no `suspend`, nothing reconciles it.
impl ArtifactSource for ExternalArtifact {
    fn store(ctx: &Context) -> &Store<Self> {
        &ctx.external_artifacts
    }
    fn newest(ctx: &Context) -> &NewestSources<Self> {
        &ctx.newest_external_artifacts
    }
    fn artifact(&self) -> Option<&Artifact> {
        self.status.as_ref()?.artifact.as_ref()
    }
    fn conditions(&self) -> Option<&[Condition]> {
        self.status.as_ref()?.conditions.as_deref()
    }
    fn suspended(&self) -> bool {
        false
    }
}

/// Extracted trees of artifacts no source of any kind points at any more are deleted.
/// Called when a source stored `fresh` in place of `previous`. A first artifact (or one at the
/// same digest) leaves no tree unreferenced that was not before, so the sweep, which reads every
/// source of every kind, is skipped: at start-up with one source per Kustomization it would
/// cost N sweeps of N sources.
pub fn forget_unreferenced_extractions(
    ctx: &Context,
    previous: Option<&Artifact>,
    fresh: &Artifact,
) {
    if previous.is_none_or(|previous| previous.digest == fresh.digest) {
        return;
    }
    ctx.workspace.retain(&referenced_digests(ctx, fresh));
}

/// Digests of every artifact a source of any kind points at, and of `fresh`.
fn referenced_digests(ctx: &Context, fresh: &Artifact) -> HashSet<String> {
    fn digests<K: ArtifactSource>(ctx: &Context) -> impl Iterator<Item = String> + '_ {
        K::store(ctx)
            .state()
            .into_iter()
            .filter_map(|source| source.artifact().map(|a| a.digest.clone()))
    }
    digests::<GitRepository>(ctx)
        .chain(digests::<OCIRepository>(ctx))
        .chain(digests::<Bucket>(ctx))
        .chain(digests::<ExternalArtifact>(ctx))
        .chain(std::iter::once(fresh.digest.clone()))
        .collect()
}
