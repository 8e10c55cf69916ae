//! Helm's release actions, in Helm v4's order of steps: install, upgrade, rollback, uninstall,
//! test, and unlock (Flux's recovery of a release left `pending-*` by a process that died).
//!
//! Every action first writes its record in a pending state (so a crash leaves a trace the next
//! reconcile can recover from), runs the hooks around its change of the cluster, waits when
//! asked, and ends by writing the record `deployed` (superseding the one before) or `failed`
//! with the cause as its description. A failed action returns the error after recording it.

use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};
use tether_helm::release::Hook;
use tether_helm::release::hooks::HookEvent;
use tether_helm::release::storage::History;
use tether_helm::release::{ApplyMethod, GoTime, NewRecord, Release, Status};
use tether_ssa::{ApplyOptions, ResourceManager};
use tokio_util::sync::CancellationToken;

use crate::error::ActionError;
use crate::hooks::HookRunner;
use crate::resources;
use crate::storage::ReleaseStore;

/// What the CRDs of a chart's `crds/` directory get (Flux's `install.crds`/`upgrade.crds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrdPolicy {
    /// Left alone.
    Skip,
    /// Created when missing, never updated.
    Create,
    /// Created when missing, updated when present.
    CreateReplace,
}

/// How an action waits for its resources: Helm v4's wait strategies as helm-controller
/// exposes them (`waitStrategy.name`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WaitStrategy {
    /// kstatus, polled (Helm v4's default; custom health rules apply).
    #[default]
    Poller,
    /// Helm v3's readiness checks ([`crate::legacy_wait`]).
    Legacy,
}

/// Where a release lives and who acts on it.
pub struct Target<'a> {
    /// Release name.
    pub name: &'a str,
    /// Release namespace (where its namespaced objects go).
    pub namespace: &'a str,
    /// Where its records are kept.
    pub store: &'a ReleaseStore,
    /// Applies, waits and deletes (with the field manager and owner labels of the caller).
    pub manager: &'a ResourceManager,
    /// Stops waits.
    pub cancel: CancellationToken,
}

/// Options shared by install, upgrade and rollback.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long each wait (hooks, resources) may take.
    pub timeout: Duration,
    /// Wait until the release's resources are healthy.
    pub wait: bool,
    /// Also wait for its Jobs to complete.
    pub wait_for_jobs: bool,
    /// How to wait.
    pub wait_strategy: WaitStrategy,
    /// Run no hooks.
    pub disable_hooks: bool,
    /// Recreate objects whose update hits an immutable field.
    pub force: bool,
    /// What to do with `crds/`.
    pub crds: CrdPolicy,
    /// Delete the objects the failed upgrade created (upgrade only).
    pub cleanup_on_fail: bool,
    /// Records kept per release (0: all).
    pub max_history: i64,
    /// Adopt objects that exist already whatever their ownership metadata (Flux's default);
    /// without it an object owned by no release or another one fails the action, as Helm's
    /// install and upgrade without `--take-ownership`.
    pub take_ownership: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(300),
            wait: true,
            wait_for_jobs: true,
            wait_strategy: WaitStrategy::Poller,
            disable_hooks: false,
            force: false,
            crds: CrdPolicy::Create,
            cleanup_on_fail: false,
            max_history: 5,
            take_ownership: true,
        }
    }
}

/// A chart rendered (and post-rendered) for a release, with the values the user supplied.
pub struct Desired<'a> {
    /// The chart after dependency processing (the one rendered).
    pub chart: &'a tether_helm::Chart,
    /// Its manifests, hooks and notes.
    pub sorted: &'a tether_helm::Sorted,
    /// The user-supplied values (`helm get values`).
    pub config: JsonMap<String, Json>,
    /// CRDs from the chart's `crds/` directories: `(path, document)`.
    pub crds: Vec<(String, String)>,
}

impl Desired<'_> {
    /// What a new record of this rendering is made of, now.
    fn record(&self) -> NewRecord<'_> {
        NewRecord {
            chart: self.chart,
            sorted: self.sorted,
            config: self.config.clone(),
            now: GoTime::now(),
            apply_method: ApplyMethod::ServerSide,
        }
    }
}

/// Installs a release that has no record (or only uninstalled/failed ones). Returns the record.
pub async fn install(
    target: &Target<'_>,
    desired: &Desired<'_>,
    options: &RunOptions,
) -> Result<Release, ActionError> {
    let history = target.store.history(target.name).await?;
    if history.is_locked() {
        return Err(ActionError::History(
            "another operation (install/upgrade/rollback) is in progress".into(),
        ));
    }
    install_crds(target, &desired.crds, options.crds).await?;
    let mut release = Release::for_install(target.name, target.namespace, desired.record())
        .map_err(|e| ActionError::Record(e.to_string()))?;
    release.version = history.next_version();
    if !options.take_ownership {
        let objects =
            resources::of_stored_manifest(target.manager, &release.manifest, target.namespace)
                .await?;
        crate::objects::check_ownership(target.manager, &objects, target.name, target.namespace)
            .await
            .map_err(|e| ActionError::Apply(format!("unable to continue with install: {e}")))?;
    }
    prune_history(target, &history, options.max_history).await?;
    target.store.create(&release).await?;
    let outcome = change_cluster(
        target,
        &mut release,
        &[],
        options,
        (HookEvent::PreInstall, HookEvent::PostInstall),
    )
    .await;
    finish(target, release, outcome, "Install complete", |e| {
        format!("Release \"{}\" failed: {e}", target.name)
    })
    .await
}

/// Upgrades a release from its deployed (or last failed) record. Returns the new record.
pub async fn upgrade(
    target: &Target<'_>,
    desired: &Desired<'_>,
    options: &RunOptions,
) -> Result<Release, ActionError> {
    let history = target.store.history(target.name).await?;
    let base = history
        .upgrade_base(target.name)
        .map_err(|e| ActionError::History(e.to_string()))?;
    let current = base.current.clone();
    let mut release = Release::for_upgrade(base, desired.record(), &Default::default())
        .map_err(|e| ActionError::Record(e.to_string()))?;
    let previous =
        resources::of_stored_manifest(target.manager, &current.manifest, target.namespace).await?;
    if !options.take_ownership {
        check_new_objects_ownership(target, &release, &previous).await?;
    }
    install_crds(target, &desired.crds, options.crds).await?;
    prune_history(target, &history, options.max_history).await?;
    target.store.create(&release).await?;
    let outcome = change_cluster(
        target,
        &mut release,
        &previous,
        options,
        (HookEvent::PreUpgrade, HookEvent::PostUpgrade),
    )
    .await;
    if outcome.is_ok() {
        supersede(target, &history, release.version).await?;
    } else if options.cleanup_on_fail {
        clean_up_created(target, &release, &previous).await;
    }
    finish(target, release, outcome, "Upgrade complete", |e| {
        format!("Upgrade \"{}\" failed: {e}", target.name)
    })
    .await
}

/// The ownership check of an upgrade: only the objects the previous release did not have.
async fn check_new_objects_ownership(
    target: &Target<'_>,
    release: &Release,
    previous: &[Json],
) -> Result<(), ActionError> {
    let before: std::collections::HashSet<_> = previous
        .iter()
        .filter_map(|o| tether_core::object::ObjectRef::from_object(o).ok())
        .map(|o| o.id())
        .collect();
    let objects: Vec<Json> =
        resources::of_stored_manifest(target.manager, &release.manifest, target.namespace)
            .await?
            .into_iter()
            .filter(|o| {
                tether_core::object::ObjectRef::from_object(o)
                    .is_ok_and(|r| !before.contains(&r.id()))
            })
            .collect();
    crate::objects::check_ownership(target.manager, &objects, target.name, target.namespace)
        .await
        .map_err(|e| ActionError::Apply(format!("unable to continue with update: {e}")))
}

/// Rolls a release back to revision `version` (0: the one before the last). Returns the new
/// record.
pub async fn rollback(
    target: &Target<'_>,
    version: i64,
    options: &RunOptions,
) -> Result<Release, ActionError> {
    let history = target.store.history(target.name).await?;
    if history.is_locked() {
        return Err(ActionError::History(
            "another operation (install/upgrade/rollback) is in progress".into(),
        ));
    }
    let last = history
        .last()
        .cloned()
        .ok_or_else(|| ActionError::History("release: not found".into()))?;
    let to = history
        .rollback_target(version)
        .map_err(|e| ActionError::History(e.to_string()))?
        .clone();
    let mut release = Release::for_rollback(&last, &to, GoTime::now(), ApplyMethod::ServerSide);
    release.version = history.next_version();
    if !options.take_ownership {
        let objects =
            resources::of_stored_manifest(target.manager, &release.manifest, target.namespace)
                .await?;
        crate::objects::check_ownership(target.manager, &objects, target.name, target.namespace)
            .await
            .map_err(|e| ActionError::Apply(format!("unable to continue with install: {e}")))?;
    }
    prune_history(target, &history, options.max_history).await?;
    target.store.create(&release).await?;
    let current = history.deployed().unwrap_or(&last);
    let previous =
        resources::of_stored_manifest(target.manager, &current.manifest, target.namespace).await?;
    let outcome = change_cluster(
        target,
        &mut release,
        &previous,
        options,
        (HookEvent::PreRollback, HookEvent::PostRollback),
    )
    .await;
    if outcome.is_ok() {
        supersede(target, &history, release.version).await?;
    }
    let description = format!("Rollback to {}", to.version);
    finish(target, release, outcome, &description, |e| {
        format!("Rollback \"{}\" failed: {e}", target.name)
    })
    .await
}

/// Uninstalls a release: pre-delete hooks, its objects deleted (those asking to be kept stay),
/// post-delete hooks, then its records deleted, or kept as `uninstalled` with `keep_history`.
/// Nothing to uninstall is not an error. Returns the last record, if there was one.
pub async fn uninstall(
    target: &Target<'_>,
    keep_history: bool,
    disable_hooks: bool,
    timeout: Duration,
) -> Result<Option<Release>, ActionError> {
    let history = target.store.history(target.name).await?;
    let Some(mut release) = history.last().cloned() else {
        return Ok(None);
    };
    if release.status() == Status::Uninstalled {
        if !keep_history {
            delete_records(target, &history).await?;
        }
        return Ok(Some(release));
    }
    target
        .store
        .mark(&mut release, Status::Uninstalling, "Deletion in progress")
        .await?;
    let runner = hook_runner(target, timeout);
    if !disable_hooks {
        runner.run(&mut release.hooks, HookEvent::PreDelete).await?;
    }
    let objects =
        resources::of_stored_manifest(target.manager, &release.manifest, target.namespace).await?;
    let doomed: Vec<_> = objects
        .iter()
        .filter(|o| !crate::objects::is_kept(o))
        .filter_map(|o| tether_core::object::ObjectRef::from_object(o).ok())
        .collect();
    crate::delete::delete(target.manager, &doomed).await?;
    if !disable_hooks {
        runner
            .run(&mut release.hooks, HookEvent::PostDelete)
            .await?;
    }
    if let Some(info) = release.info.as_mut() {
        info.deleted = GoTime::now();
    }
    if keep_history {
        target
            .store
            .mark(&mut release, Status::Uninstalled, "Uninstallation complete")
            .await?;
    } else {
        delete_records(target, &history).await?;
    }
    Ok(Some(release))
}

/// Runs the release's test hooks and records their last runs. Returns the record; the error
/// names the first failing test.
pub async fn test(
    target: &Target<'_>,
    timeout: Duration,
    filters: &TestFilters,
) -> Result<Release, ActionError> {
    let history = target.store.history(target.name).await?;
    let mut release = history
        .last()
        .cloned()
        .ok_or_else(|| ActionError::History("release: not found".into()))?;
    let (skipped, mut executing) = filters.split(std::mem::take(&mut release.hooks));
    let runner = hook_runner(target, timeout);
    let outcome = runner.run(&mut executing, HookEvent::Test).await;
    release.hooks = skipped;
    release.hooks.extend(executing);
    target.store.update(&release).await?;
    outcome.map(|()| release)
}

/// `helm test --filter`: the hooks selected by name (`name=`) and those left out (`!name=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestFilters {
    /// When not empty, only these hooks run.
    pub include: Vec<String>,
    /// These hooks never run.
    pub exclude: Vec<String>,
}

impl TestFilters {
    /// Whether the test hook `name` runs: not excluded, and included when any are.
    pub fn selects(&self, name: &str) -> bool {
        let name = name.to_owned();
        !self.exclude.contains(&name) && (self.include.is_empty() || self.include.contains(&name))
    }

    /// Helm's split of a release's hooks into (skipped, executing): excluded names first go
    /// to skipped, then, when names are included, every hook not named. Helm stores the
    /// skipped hooks before the executed ones.
    fn split(&self, hooks: Vec<Hook>) -> (Vec<Hook>, Vec<Hook>) {
        let (mut skipped, mut executing) = (Vec::new(), hooks);
        if !self.exclude.is_empty() {
            let (out, kept): (Vec<Hook>, Vec<Hook>) = executing
                .into_iter()
                .partition(|h| self.exclude.contains(&h.name));
            skipped = out;
            executing = kept;
        }
        if !self.include.is_empty() {
            let (kept, out): (Vec<Hook>, Vec<Hook>) = executing
                .into_iter()
                .partition(|h| self.include.contains(&h.name));
            skipped.extend(out);
            executing = kept;
        }
        (skipped, executing)
    }
}

/// Flux's unlock: a newest record left `pending-*` is marked `failed`, so the release can be
/// acted on again. Returns the record it unlocked, if any.
pub async fn unlock(target: &Target<'_>) -> Result<Option<Release>, ActionError> {
    let history = target.store.history(target.name).await?;
    let Some(mut release) = history.last().cloned() else {
        return Ok(None);
    };
    let status = release.status();
    if !status.is_pending() {
        return Ok(None);
    }
    let description = format!("Release unlocked from stale '{}' state", status.as_str());
    target
        .store
        .mark(&mut release, Status::Failed, description)
        .await?;
    Ok(Some(release))
}

/// Hooks before, the objects applied (what `previous` had and the release has not deleted),
/// the wait, hooks after.
async fn change_cluster(
    target: &Target<'_>,
    release: &mut Release,
    previous: &[Json],
    options: &RunOptions,
    (before, after): (HookEvent, HookEvent),
) -> Result<(), ActionError> {
    let runner = hook_runner(target, options.timeout);
    if !options.disable_hooks {
        runner.run(&mut release.hooks, before).await?;
    }
    let mut objects =
        resources::of_stored_manifest(target.manager, &release.manifest, target.namespace).await?;
    for object in &mut objects {
        crate::objects::stamp_ownership(object, target.name, target.namespace);
    }
    // What the previous record did not hold is applied without dry-runs when none of it
    // exists yet (an install's objects, an upgrade's new ones); the rest is validated first.
    let previously_applied = previous
        .iter()
        .filter_map(|o| tether_core::object::ObjectRef::from_object(o).ok())
        .map(|o| o.id())
        .collect();
    let apply = ApplyOptions {
        force: options.force,
        previously_applied: Some(previously_applied),
        ..ApplyOptions::default()
    };
    resources::apply(target.manager, objects.clone(), previous, &apply).await?;
    if options.wait {
        match options.wait_strategy {
            WaitStrategy::Poller => {
                resources::wait_ready(
                    target.manager,
                    &objects,
                    options.timeout,
                    options.wait_for_jobs,
                    target.cancel.clone(),
                )
                .await?;
            }
            WaitStrategy::Legacy => {
                crate::legacy_wait::wait_ready(
                    target.manager.client(),
                    &objects,
                    options.timeout,
                    options.wait_for_jobs,
                    target.cancel.clone(),
                )
                .await?;
            }
        }
    }
    if !options.disable_hooks {
        runner.run(&mut release.hooks, after).await?;
    }
    Ok(())
}

/// Writes the outcome into the record: `deployed` with `success`, or `failed` with the error.
async fn finish(
    target: &Target<'_>,
    mut release: Release,
    outcome: Result<(), ActionError>,
    success: &str,
    failure: impl Fn(&ActionError) -> String,
) -> Result<Release, ActionError> {
    match outcome {
        Ok(()) => {
            target
                .store
                .mark(&mut release, Status::Deployed, success)
                .await?;
            Ok(release)
        }
        Err(error) => {
            target
                .store
                .mark(&mut release, Status::Failed, failure(&error))
                .await?;
            Err(error)
        }
    }
}

/// Marks every `deployed` record other than `version` `superseded`, as Helm does after an
/// upgrade or rollback.
async fn supersede(
    target: &Target<'_>,
    history: &History,
    version: i64,
) -> Result<(), ActionError> {
    for record in history.records() {
        if record.version != version && record.status() == Status::Deployed {
            let mut record = record.clone();
            let description = record
                .info
                .as_ref()
                .map(|i| i.description.clone())
                .unwrap_or_default();
            target
                .store
                .mark(&mut record, Status::Superseded, description)
                .await?;
        }
    }
    Ok(())
}

/// Deletes the records `maxHistory` no longer allows before a new one is created.
async fn prune_history(
    target: &Target<'_>,
    history: &History,
    max_history: i64,
) -> Result<(), ActionError> {
    for version in history.prune_before_create(max_history) {
        target.store.delete(target.name, version).await?;
    }
    Ok(())
}

async fn delete_records(target: &Target<'_>, history: &History) -> Result<(), ActionError> {
    for record in history.records() {
        target.store.delete(target.name, record.version).await?;
    }
    Ok(())
}

/// After a failed upgrade with `cleanupOnFail`: deletes the objects the new release has and
/// the one before had not.
async fn clean_up_created(target: &Target<'_>, release: &Release, previous: &[Json]) {
    let before: std::collections::HashSet<_> = previous
        .iter()
        .filter_map(|o| tether_core::object::ObjectRef::from_object(o).ok())
        .map(|o| o.id())
        .collect();
    let created: Vec<_> =
        match resources::of_stored_manifest(target.manager, &release.manifest, target.namespace)
            .await
        {
            Ok(objects) => objects
                .iter()
                .filter_map(|o| tether_core::object::ObjectRef::from_object(o).ok())
                .filter(|o| !before.contains(&o.id()))
                .collect(),
            Err(_) => return,
        };
    if let Err(error) = crate::delete::delete(target.manager, &created).await {
        tracing::warn!(release = target.name, %error, "cleanup on fail");
    }
}

/// Applies the chart's CRDs as `policy` says, and waits until they are established.
async fn install_crds(
    target: &Target<'_>,
    crds: &[(String, String)],
    policy: CrdPolicy,
) -> Result<(), ActionError> {
    if crds.is_empty() || policy == CrdPolicy::Skip {
        return Ok(());
    }
    let mut objects = Vec::new();
    for (path, text) in crds {
        objects.extend(crate::objects::parse_documents(path, text)?);
    }
    if policy == CrdPolicy::Create {
        // Created only: a definition that exists already is left as it is.
        let mut missing = Vec::with_capacity(objects.len());
        for object in objects {
            let Ok(reference) = tether_core::object::ObjectRef::from_object(&object) else {
                missing.push(object);
                continue;
            };
            let status = target.manager.status_of(reference).await.status;
            if status == tether_core::health::Status::NotFound {
                missing.push(object);
            }
        }
        objects = missing;
    }
    let apply = ApplyOptions::default();
    target
        .manager
        .apply_all_staged(objects, &apply)
        .await
        .map_err(|e| ActionError::Apply(format!("failed to install CRD: {}", e.error)))?;
    Ok(())
}

fn hook_runner<'a>(target: &'a Target<'a>, timeout: Duration) -> HookRunner<'a> {
    HookRunner {
        manager: target.manager,
        namespace: target.namespace,
        timeout,
        cancel: target.cancel.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(names: &[&str]) -> Vec<Hook> {
        names
            .iter()
            .map(|n| Hook {
                name: (*n).to_owned(),
                ..Hook::default()
            })
            .collect()
    }

    fn names(hooks: &[Hook]) -> Vec<&str> {
        hooks.iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn test_filters_split_and_order_hooks_as_helm_does() {
        let all = || hooks(&["a", "b", "c", "d"]);
        let none = TestFilters::default();
        let (skipped, executing) = none.split(all());
        assert!(skipped.is_empty());
        assert_eq!(names(&executing), ["a", "b", "c", "d"]);

        let both = TestFilters {
            include: vec!["c".into(), "b".into(), "a".into()],
            exclude: vec!["b".into()],
        };
        let (skipped, executing) = both.split(all());
        assert_eq!(names(&skipped), ["b", "d"]);
        assert_eq!(names(&executing), ["a", "c"]);
        assert!(both.selects("a") && !both.selects("b") && !both.selects("d"));

        let exclude_only = TestFilters {
            include: vec![],
            exclude: vec!["c".into()],
        };
        let (skipped, executing) = exclude_only.split(all());
        assert_eq!(names(&skipped), ["c"]);
        assert_eq!(names(&executing), ["a", "b", "d"]);
        assert!(exclude_only.selects("a") && !exclude_only.selects("c"));
    }
}
