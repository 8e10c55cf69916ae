//! The Kustomization reconciler's steps, as Flux's pipeline: source artifact → dependencies →
//! build (kustomize, SOPS decryption, substitution) → staged apply → inventory diff and prune → health →
//! status. Each step lives in its own module; the loop around them is the driver's
//! (`crate::reconcile`). How prune is decided: `apply.rs` (`prune_stale`).

pub(crate) mod apply;
pub(crate) mod build;
mod decrypt;
mod finalize;
mod history;
mod inputs;
mod outcome;

use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, Next, Reconcile};
use crate::sources::ArtifactSource;
use crate::triggers::{fingerprint, with_jitter};
use kube::Resource;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use outcome::Attempt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tether_api::kustomize::v1::{Kustomization, KustomizationStatus, SourceKind, SubstituteKind};
use tether_api::meta::conditions::reasons;
use tether_api::source::v1::{Bucket, ExternalArtifact, GitRepository, OCIRepository};
use tether_core::inventory::Inventory;

impl Reconcile for Kustomization {
    type Status = KustomizationStatus;
    type Outcome = Attempt;
    const ORIGIN: Origin = Origin::Kustomize;
    const FINALIZES: bool = true;

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn interval(&self) -> Duration {
        self.spec
            .interval
            .to_std()
            .unwrap_or(Duration::from_secs(600))
    }

    /// Generation, `requestedAt`, the source's artifact and whether the dependencies are ready.
    fn inputs(&self, ctx: &Context) -> Option<u64> {
        let artifact = inputs::cached_source_artifact(self, ctx).ok();
        let dependencies = artifact
            .as_ref()
            .is_some_and(|a| inputs::check_dependencies(self, ctx, a).is_ok());
        let source = artifact.map(|a| a.digest);
        let requested = crate::status::requested_at(self);
        Some(fingerprint(&[
            &self.meta().generation,
            &requested,
            &source,
            &dependencies,
        ]))
    }

    async fn run(&self, ctx: &Context) -> Attempt {
        let started = Instant::now();
        let mut attempt = Attempt::new();
        attempt.result = steps(self, ctx, &mut attempt).await;
        attempt.took = started.elapsed();
        attempt
    }

    fn current_status(&self) -> Option<&KustomizationStatus> {
        self.status.as_ref()
    }

    /// The status written when the health wait started, if one was, else the object's.
    fn status_before<'a>(&'a self, attempt: &'a Attempt) -> Option<&'a KustomizationStatus> {
        attempt.progress.as_ref().or(self.status.as_ref())
    }

    fn next_status(&self, attempt: &Attempt) -> KustomizationStatus {
        outcome::next_status(self, attempt)
    }

    fn success_event(&self, attempt: &Attempt) -> Option<(&'static str, String)> {
        outcome::success_event(self, attempt)
    }

    fn next_run(&self, ctx: &Context, attempt: &Attempt) -> Next {
        let Err(failure) = &attempt.result else {
            return Next::After(with_jitter(self.interval(), &ObjectKey::of(self)));
        };
        Next::After(match failure.reason {
            _ if failure.terminal => return Next::AwaitChange,
            reasons::HEALTH_CHECK_CANCELED => Duration::from_millis(100),
            // Flux requeues a missing source like a dependency (`--requeue-dependency`).
            reasons::DEPENDENCY_NOT_READY | reasons::ARTIFACT_FAILED => {
                ctx.options.dependency_requeue
            }
            _ => self
                .spec
                .effective_retry_interval()
                .unwrap_or(ctx.options.default_retry),
        })
    }

    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        Ok(finalize::delete_applied(self, ctx).await?)
    }

    /// A Kustomization runs again when its source (GitRepository, OCIRepository, Bucket or
    /// ExternalArtifact)
    /// changes (a new artifact applies at once, not at the next interval), when a
    /// Kustomization it depends on changes, and when a labelled ConfigMap or Secret it reads
    /// changes (`config_watch`).
    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        let namespace = ctx.options.watch_namespace.as_deref();
        let watch = kube::runtime::watcher::Config::default().any_semantic();
        let by_dependency = ctx.kustomizations.clone();
        let controller = wake_on_source::<GitRepository>(controller, ctx, watch.clone());
        let controller = wake_on_source::<OCIRepository>(controller, ctx, watch.clone());
        let controller = wake_on_source::<ExternalArtifact>(controller, ctx, watch.clone());
        let controller = crate::config_watch::wake_on_configs(controller, ctx);
        wake_on_source::<Bucket>(controller, ctx, watch.clone()).watches(
            crate::reconcile::api_in::<Kustomization>(&ctx.client, namespace),
            watch,
            move |dependency| dependents_of(&by_dependency, &dependency),
        )
    }
}

/// Flux's config dependencies of a Kustomization: the kubeConfig ConfigMap or Secret, the
/// decryption Secret and the post-build substitutions.
impl crate::config_watch::ReadsConfigs for Kustomization {
    fn config_maps(&self) -> Vec<&str> {
        let spec = &self.spec;
        let kube_config = spec.kube_config.as_ref();
        kube_config
            .and_then(|k| k.config_map_ref.as_ref())
            .map(|r| r.name.as_str())
            .into_iter()
            .chain(substitutions(self, SubstituteKind::ConfigMap))
            .collect()
    }

    fn secrets(&self) -> Vec<&str> {
        let spec = &self.spec;
        let decryption = spec.decryption.as_ref().and_then(|d| d.secret_ref.as_ref());
        let kube_config = spec
            .kube_config
            .as_ref()
            .and_then(|k| k.secret_ref.as_ref());
        decryption
            .map(|r| r.name.as_str())
            .into_iter()
            .chain(kube_config.map(|r| r.name.as_str()))
            .chain(substitutions(self, SubstituteKind::Secret))
            .collect()
    }
}

/// Names of the `postBuild.substituteFrom` objects of `kind`.
fn substitutions(ks: &Kustomization, kind: SubstituteKind) -> impl Iterator<Item = &str> {
    let from = ks
        .spec
        .post_build
        .as_ref()
        .and_then(|p| p.substitute_from.as_ref());
    from.into_iter()
        .flatten()
        .filter(move |r| r.kind == kind)
        .map(|r| r.name.as_str())
}

/// Wakes the Kustomizations built from a source of kind `K` when it changes, remembering the
/// copy that woke them (see `NewestSources`).
fn wake_on_source<K: ArtifactSource>(
    controller: Controller<Kustomization>,
    ctx: &Arc<Context>,
    watch: kube::runtime::watcher::Config,
) -> Controller<Kustomization> {
    let namespace = ctx.options.watch_namespace.as_deref();
    let (store, remembering) = (ctx.kustomizations.clone(), ctx.clone());
    controller.watches(
        crate::reconcile::api_in::<K>(&ctx.client, namespace),
        watch,
        move |source| {
            let woken = using_source(&store, &source);
            K::newest(&remembering).remember(Arc::new(source));
            woken
        },
    )
}

/// Kustomizations whose `sourceRef` is `source`. Runs on every event of every source of kind
/// `K`, over every Kustomization (with one OCIRepository per Kustomization, N² times at
/// start-up): it allocates nothing per object.
fn using_source<K: ArtifactSource>(
    store: &Store<Kustomization>,
    source: &K,
) -> Vec<ObjectRef<Kustomization>> {
    let kind = K::kind(&());
    let name = source.meta().name.as_deref().unwrap_or_default();
    let namespace = source.meta().namespace.as_deref().unwrap_or_default();
    store
        .state()
        .iter()
        .filter(|ks| {
            let reference = &ks.spec.source_ref;
            let own = ks.metadata.namespace.as_deref();
            reference.name == name
                && reference.kind.as_str() == kind
                && reference.namespace.as_deref().or(own).unwrap_or_default() == namespace
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

/// What `flux build kustomization` prints for `ks` over the local directory `dir`, standing in
/// for the source's `spec.path`: the controller's own build (the Kustomization's overrides,
/// then post-build substitution with `substituteFrom` read from the cluster) with the owner
/// labels applied objects carry. The error is the message the reconcile would report. Without a
/// client (Flux's `--dry-run`) only the inline `substitute` variables are used. `ignore`
/// leaves files out of the top kustomization (`--ignore-paths`, `.sourceignore`).
pub async fn build_local(
    client: Option<&kube::Client>,
    ks: &Kustomization,
    dir: &std::path::Path,
    strict: bool,
    ignore: Option<tether_kustomize::flux::IgnoreFilter>,
) -> Result<Vec<serde_json::Value>, String> {
    let mut local = ks.clone();
    let variables = match client {
        Some(client) => inputs::substitution_variables(ks, client).await,
        None => {
            if let Some(post_build) = local.spec.post_build.as_mut() {
                post_build.substitute_from = None;
            }
            inputs::substitution_variables_inline(&local)
        }
    }
    .map_err(|f| f.message)?;
    // Rooted at `/`, as Flux's build reads the disk unconfined (bases above `dir` included).
    local.spec.path = Some(dir.to_string_lossy().into_owned());
    let root = std::path::Path::new("/");
    // In the build's own order, as `flux build` prints it.
    let options = tether_kustomize::Options {
        legacy_order: false,
        overrides: Some(tether_kustomize::flux::Overrides {
            ignore,
            ..Default::default()
        }),
        ..tether_kustomize::Options::default()
    };
    let mut objects =
        build::build_objects_with(root, &local, variables.as_ref(), strict, None, options)
            .map_err(|f| f.message)?;
    let name = ks.metadata.name.as_deref().unwrap_or_default();
    let namespace = ks.metadata.namespace.as_deref().unwrap_or_default();
    let labels = tether_ssa::owner_labels(name, namespace);
    for object in &mut objects {
        tether_ssa::metadata::stamp_labels(object, &labels);
    }
    Ok(objects)
}

async fn steps(ks: &Kustomization, ctx: &Context, attempt: &mut Attempt) -> Result<(), Failure> {
    let health_rules = crate::health_exprs::parse(ks.spec.health_check_exprs.as_deref())?;
    inputs::check_source_access(ks, ctx)?;
    let artifact = inputs::source_artifact(ks, ctx).await?;
    inputs::check_dependencies(ks, ctx, &artifact)?;
    attempt.revision = Some(artifact.revision.clone());
    let root = if matches!(ks.spec.source_ref.kind, SourceKind::ExternalArtifact) {
        ctx.workspace.fetched(&artifact.url, &artifact.digest).await
    } else {
        ctx.workspace
            .extracted(&artifact.path, &artifact.digest)
            .await
    }
    .map_err(|e| Failure::artifact(e.to_string()))?;
    let variables = inputs::substitution_variables(ks, &ctx.client).await?;
    let keys = decrypt::decryption_keys(ks, ctx).await?;
    let strict = ctx.options.strict_substitution;
    let spec = ks.clone();
    let objects = tokio::task::spawn_blocking(move || {
        build::build_objects(&root, &spec, variables.as_ref(), strict, keys.as_deref())
    })
    .await
    .map_err(|e| Failure::build(format!("build task failed: {e}")))??;
    attempt.digest = Some(history::digest_of(&objects));
    let manager = apply::manager_for(ks, ctx).await?;
    let manager = crate::health_exprs::judged_by(manager, health_rules);
    let old_inventory = apply::inventory_of(ks.status.as_ref().and_then(|s| s.inventory.as_ref()));
    let change_set = apply::apply(ks, &manager, objects, &old_inventory).await?;
    let new_inventory = Inventory::from_change_set(&change_set);
    attempt.change_set = change_set;
    attempt.inventory = Some(new_inventory.clone());
    if ks.spec.prune {
        match apply::prune_stale(ks, &manager, &old_inventory, new_inventory).await {
            Ok((inventory, pruned)) => {
                attempt.inventory = Some(inventory);
                attempt.pruned = pruned;
            }
            Err((inventory, failure)) => {
                attempt.inventory = Some(inventory);
                return Err(failure);
            }
        }
    }
    check_health(ks, ctx, attempt, &manager).await
}

async fn check_health(
    ks: &Kustomization,
    ctx: &Context,
    attempt: &mut Attempt,
    manager: &tether_ssa::ResourceManager,
) -> Result<(), Failure> {
    let targets = apply::health_targets(ks, &attempt.change_set);
    if targets.is_empty() {
        return Ok(());
    }
    let timeout = ks
        .spec
        .effective_timeout()
        .unwrap_or(Duration::from_secs(300));
    let key = ObjectKey::of(ks);
    let cancel = ctx.health_waits.start(&key, &inputs::source_key(ks));
    let wait = apply::check_health(manager, &targets, timeout, cancel);
    let long = tokio::time::sleep(LONG_WAIT);
    tokio::pin!(wait, long);
    // A wait that ends within `LONG_WAIT` (objects ready as soon as applied, or a moment
    // later) goes without the Reconciling status: one write and one watch event less per apply.
    let result = tokio::select! {
        result = &mut wait => result,
        () = &mut long => {
            // Written to the end, never abandoned half-sent: a late write would overwrite the
            // final status.
            if let Some(revision) = attempt.revision.clone() {
                outcome::mark_progressing(ks, ctx, attempt, &revision).await;
            }
            wait.await
        }
    };
    ctx.health_waits.finish(&key);
    attempt.health = Some(result.clone());
    result.map(|_| ())
}

/// How long a health wait runs before the Kustomization is marked Reconciling, so that a long
/// wait is visible while it lasts.
const LONG_WAIT: Duration = Duration::from_secs(1);
