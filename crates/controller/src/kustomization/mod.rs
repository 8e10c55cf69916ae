//! The Kustomization reconciler, as Flux's pipeline of named steps: dependencies → source
//! artifact → build (kustomize, substitution) → staged apply → inventory diff and prune →
//! health → status. `reconcile` orchestrates; each step lives in its own module.

mod apply;
mod build;
mod failure;
mod finalize;
mod history;
mod inputs;
mod outcome;

use crate::context::Context;
use crate::triggers::{fingerprint, with_jitter};
use failure::Failure;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use outcome::Attempt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tether_api::kustomize::v1::Kustomization;
use tether_api::meta::FINALIZER;
use tether_core::inventory::Inventory;

pub use inputs::source_kind_name;

/// Why a Kustomization reconcile could not even write its status.
#[derive(Debug, thiserror::Error)]
pub enum KustomizationError {
    /// The finalizer machinery (adding/removing `finalizers.fluxcd.io`) failed.
    #[error("Kustomization finalizer: {0}")]
    Finalizer(String),
}

pub async fn reconcile(
    ks: Arc<Kustomization>,
    ctx: Arc<Context>,
) -> Result<Action, KustomizationError> {
    let api: Api<Kustomization> =
        Api::namespaced(ctx.client.clone(), &ks.namespace().unwrap_or_default());
    let inner = ctx.clone();
    let finalized = finalizer(&api, FINALIZER, ks, |event| async move {
        match event {
            Finalizer::Apply(ks) => Ok(reconcile_live(&ks, &inner).await),
            Finalizer::Cleanup(ks) => finalize::delete_applied(&ks, &inner).await,
        }
    })
    .await;
    crate::finalizers::absorb_stale_cache(finalized).map_err(
        |e: kube::runtime::finalizer::Error<finalize::FinalizeError>| {
            KustomizationError::Finalizer(e.to_string())
        },
    )
}

pub fn error_policy(
    _ks: Arc<Kustomization>,
    error: &KustomizationError,
    ctx: Arc<Context>,
) -> Action {
    tracing::warn!(%error, "Kustomization reconcile failed");
    Action::requeue(ctx.options.default_retry)
}

/// `namespace/name`.
pub fn key_of(ks: &Kustomization) -> String {
    format!("{}/{}", ks.namespace().unwrap_or_default(), ks.name_any())
}

async fn reconcile_live(ks: &Kustomization, ctx: &Context) -> Action {
    if ks.spec.suspend == Some(true) {
        return Action::await_change();
    }
    let key = key_of(ks);
    let inputs = inputs_fingerprint(ks, ctx);
    if let Some(wait) = ctx.schedule.wait_before_run(&key, inputs) {
        return Action::requeue(wait);
    }
    let started = Instant::now();
    let attempt = run_steps(ks, ctx).await;
    if waits_silently(ks, &attempt) {
        return Action::requeue(ctx.options.dependency_requeue);
    }
    // The status and the event are independent requests: sent together, they cost one round
    // trip of the reconcile's latency instead of two.
    let (written, ()) = futures::join!(
        outcome::write_status(ks, ctx, &attempt),
        outcome::record(ks, ctx, &attempt, started.elapsed())
    );
    let next = next_run(ks, ctx, &attempt);
    if written.is_ok() {
        ctx.schedule.ran(&key, inputs, next);
    }
    Action::requeue(next)
}

/// Whether the attempt only found that the source has not finished its first fetch while this
/// Kustomization has reported nothing yet: the source's first status wakes it (it is watched),
/// so there is nothing to tell meanwhile. At start-up that spares a status write and a log line
/// per Kustomization; a source that fails its fetch still gets reported, at its first report.
fn waits_silently(ks: &Kustomization, attempt: &Attempt) -> bool {
    let pending = attempt
        .result
        .as_ref()
        .is_err_and(|failure| failure.source_first_fetch_pending);
    let reported = ks
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .is_some_and(|c| {
            tether_api::meta::conditions::find(c, tether_api::meta::conditions::READY).is_some()
        });
    pending && !reported
}

/// What makes a reconcile necessary before the interval is up.
fn inputs_fingerprint(ks: &Kustomization, ctx: &Context) -> u64 {
    let source = inputs::cached_source_artifact(ks, ctx)
        .ok()
        .map(|a| a.digest);
    let dependencies = inputs::check_dependencies(ks, ctx).is_ok();
    let requested = crate::status::requested_at(ks);
    fingerprint(&[&ks.meta().generation, &requested, &source, &dependencies])
}

fn next_run(ks: &Kustomization, ctx: &Context, attempt: &Attempt) -> Duration {
    let interval = ks
        .spec
        .interval
        .to_std()
        .unwrap_or(Duration::from_secs(600));
    match &attempt.result {
        Ok(()) => with_jitter(interval, &key_of(ks)),
        Err(failure)
            if failure.reason == tether_api::meta::conditions::reasons::HEALTH_CHECK_CANCELED =>
        {
            Duration::from_millis(100)
        }
        // Flux requeues a missing source like a dependency (`--requeue-dependency`).
        Err(failure)
            if failure.reason == tether_api::meta::conditions::reasons::DEPENDENCY_NOT_READY
                || failure.reason == tether_api::meta::conditions::reasons::ARTIFACT_FAILED =>
        {
            ctx.options.dependency_requeue
        }
        Err(_) => ks
            .spec
            .effective_retry_interval()
            .unwrap_or(ctx.options.default_retry),
    }
}

/// Runs the pipeline; every failure is captured in the attempt, never propagated.
async fn run_steps(ks: &Kustomization, ctx: &Context) -> Attempt {
    let started = Instant::now();
    let mut attempt = Attempt::new(ks);
    attempt.result = steps(ks, ctx, &mut attempt).await;
    attempt.took = started.elapsed();
    attempt
}

async fn steps(ks: &Kustomization, ctx: &Context, attempt: &mut Attempt) -> Result<(), Failure> {
    refuse_unsupported(ks)?;
    inputs::check_dependencies(ks, ctx)?;
    let artifact = inputs::source_artifact(ks, ctx).await?;
    attempt.revision = Some(artifact.revision.clone());
    let root = ctx
        .workspace
        .extracted(&artifact.path, &artifact.digest)
        .await
        .map_err(|e| Failure::artifact(e.to_string()))?;
    let variables = inputs::substitution_variables(ks, ctx).await?;
    let strict = ctx.options.strict_substitution;
    let spec = ks.clone();
    let objects = tokio::task::spawn_blocking(move || {
        build::build_objects(&root, &spec, variables.as_ref(), strict)
    })
    .await
    .map_err(|e| Failure::build(format!("build task failed: {e}")))??;
    attempt.digest = Some(history::digest_of(&objects));
    let manager = apply::manager_for(ks, ctx);
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
    let key = key_of(ks);
    let source = ks.spec.source_ref.clone();
    let source_key = format!(
        "{}/{}/{}",
        inputs::source_kind_name(&source.kind),
        source
            .namespace
            .unwrap_or_else(|| ks.namespace().unwrap_or_default()),
        source.name
    );
    if let Some(revision) = attempt.revision.clone() {
        outcome::mark_progressing(ks, ctx, attempt, &revision).await;
    }
    let cancel = ctx.health_waits.start(&key, &source_key);
    let result = apply::check_health(manager, &targets, timeout, cancel).await;
    ctx.health_waits.finish(&key);
    attempt.health = Some(result.clone());
    result.map(|_| ())
}

/// Flux features tether does not implement yet fail clearly instead of being ignored.
fn refuse_unsupported(ks: &Kustomization) -> Result<(), Failure> {
    let spec = &ks.spec;
    if spec.decryption.is_some() {
        return Err(Failure::not_supported("spec.decryption (SOPS)"));
    }
    if spec.kube_config.is_some() {
        return Err(Failure::not_supported("spec.kubeConfig (remote clusters)"));
    }
    if spec.service_account_name.is_some() {
        return Err(Failure::not_supported(
            "spec.serviceAccountName (impersonation)",
        ));
    }
    if spec
        .health_check_exprs
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        return Err(Failure::not_supported(
            "spec.healthCheckExprs (CEL health checks)",
        ));
    }
    Ok(())
}
