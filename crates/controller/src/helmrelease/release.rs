//! helm-controller's atomic release loop: the state of the release is determined from Helm's
//! storage and `status.history` (absent, locked, unmanaged, out of sync, untested, failed,
//! drifted, in sync), the action that state calls for runs (install, upgrade, unlock, test,
//! rollback or uninstall remediation, drift correction), and the loop looks again, until the
//! release is in sync or an action failed. Each action's outcome becomes the status Flux
//! writes: snapshots in `status.history`, failure counters, and the Released / TestSuccess /
//! Remediated / Drifted conditions with Flux's messages.
//!
//! Remediation: after a failed install or upgrade the active remediation (`install.remediation`
//! or `upgrade.remediation`) decides; while retries remain (or `remediateLastFailure` asks for
//! it) the failed release is rolled back to the previous one, or uninstalled, and the attempt
//! ends (the next reconcile tries again); once retries are exhausted the object stalls until
//! its spec or values change.

use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};
use sha2::Digest as _;
use tether_api::helm::conditions::{self as helm_conditions, reasons};
use tether_api::helm::v2::{
    CrdsPolicy, DriftDetectionMode, HelmRelease, HelmReleaseStatus, InstallRemediation,
    ReleaseAction, RemediationStrategy, ResourceInventory, ResourceRef, Snapshot, TestHookStatus,
    UpgradeRemediation, WaitStrategyName,
};
use tether_helm::release::{Release, Status};
use tether_helm_actions::actions::{
    self, CrdPolicy, Desired, RunOptions, Target, TestFilters, WaitStrategy,
};
use tether_helm_actions::{ActionError, resources};

use crate::failure::Failure;
use crate::status::ConditionSet;

/// What a run changed, besides the status: the Normal event to tell.
pub struct Progress {
    pub event: Option<(&'static str, String)>,
}

/// Everything the loop needs about the desired release.
pub struct Plan<'a> {
    pub hr: &'a HelmRelease,
    /// A `forceAt` request to honour: the first action of the loop is an install or upgrade.
    pub force: bool,
    pub target: Target<'a>,
    pub render: &'a (dyn Fn(&RenderInput<'_>) -> Result<Rendered, Failure> + Sync),
    pub config: JsonMap<String, Json>,
    pub config_digest: String,
    pub chart_name: String,
    pub chart_version: String,
}

/// What one action renders with.
pub struct RenderInput<'v> {
    pub revision: i64,
    pub is_upgrade: bool,
    /// The values supplied (`.Values` over the chart defaults).
    pub values: &'v JsonMap<String, Json>,
    /// Chart defaults replacing the chart's own (`preserveValues`).
    pub chart_defaults: Option<&'v JsonMap<String, Json>>,
}

/// A rendering ready for an action: the processed chart and its manifests.
pub struct Rendered {
    pub chart: tether_helm::Chart,
    pub sorted: tether_helm::Sorted,
    pub crds: Vec<(String, String)>,
}

enum State {
    Absent,
    Locked,
    Unmanaged,
    OutOfSync,
    Untested,
    Failed,
    InSync(Box<Release>),
}

/// Runs the loop; `status` and `conditions` are updated in place.
pub async fn reconcile(
    plan: &Plan<'_>,
    status: &mut HelmReleaseStatus,
    conditions: &mut ConditionSet,
) -> Result<Progress, Failure> {
    let mut progress = Progress { event: None };
    let mut applied = false;
    let mut force = plan.force;
    for _ in 0..8 {
        let history = plan
            .target
            .store
            .history(plan.target.name)
            .await
            .map_err(|e| Failure::new(reasons::GET_LAST_RELEASE_FAILED, e.to_string()))?;
        let state = determine(plan, status, history.last());
        if std::mem::take(&mut force)
            && let Some(action) = forced_action(&state)
        {
            let outcome = act(plan, status, conditions, action, &mut progress).await;
            applied |= outcome.is_ok();
            settle(plan, outcome).await?;
            continue;
        }
        match state {
            State::InSync(release) => {
                in_sync(plan, status, conditions, &release);
                detect_drift(plan, conditions, &release, applied, &mut progress).await?;
                return Ok(progress);
            }
            State::Locked => {
                let unlocked = actions::unlock(&plan.target)
                    .await
                    .map_err(|e| Failure::new(reasons::UPGRADE_FAILED, e.to_string()))?;
                if let Some(release) = unlocked {
                    let message = format!(
                        "Unlocked Helm release {} with chart {} in {} state",
                        full_name(&release),
                        chart_of(&release),
                        "pending"
                    );
                    record(status, &release, &plan.config_digest);
                    progress.event = Some(("UnlockSucceeded", message));
                }
            }
            State::Absent | State::Unmanaged | State::OutOfSync => {
                let action = if matches!(state, State::Absent) {
                    ReleaseAction::Install
                } else {
                    ReleaseAction::Upgrade
                };
                if matches!(state, State::Unmanaged) {
                    // Adopted: the history of another owner says nothing about this one.
                    status.history = None;
                } else if retries_exhausted(plan.hr, status, action) {
                    return Err(exhausted(conditions, &format!("cannot {action} release")));
                }
                let outcome = act(plan, status, conditions, action, &mut progress).await;
                applied |= outcome.is_ok();
                settle(plan, outcome).await?;
            }
            State::Untested => test(plan, status, conditions, &mut progress).await?,
            State::Failed => return remediate(plan, status, conditions, &history).await,
        }
    }
    Err(Failure::new(
        reasons::RECONCILIATION_FAILED,
        "the release did not settle after eight actions",
    ))
}

/// After an install or upgrade: a failure Helm recorded (the newest record `failed`) goes on
/// to remediation in the same run, as helm-controller's atomic release does; any other
/// failure ends the run.
async fn settle(plan: &Plan<'_>, outcome: Result<(), Failure>) -> Result<(), Failure> {
    let Err(failure) = outcome else {
        return Ok(());
    };
    let recorded = plan
        .target
        .store
        .history(plan.target.name)
        .await
        .ok()
        .and_then(|h| h.last().map(Release::status))
        == Some(Status::Failed);
    if recorded { Ok(()) } else { Err(failure) }
}

/// The action a `forceAt` request runs in `state`, as helm-controller forces it: an install
/// when the release is absent, an upgrade when it is in sync, out of sync or failed (retries
/// exhausted or not); other states go their usual way and the request is spent.
fn forced_action(state: &State) -> Option<ReleaseAction> {
    match state {
        State::Absent => Some(ReleaseAction::Install),
        State::InSync(_) | State::OutOfSync | State::Failed => Some(ReleaseAction::Upgrade),
        State::Locked | State::Unmanaged | State::Untested => None,
    }
}

/// helm-controller's `DetermineReleaseState`.
fn determine(plan: &Plan<'_>, status: &HelmReleaseStatus, last: Option<&Release>) -> State {
    let Some(last) = last else {
        return State::Absent;
    };
    let release_status = last.status();
    if release_status.is_pending() {
        return State::Locked;
    }
    let latest = status.history.as_ref().and_then(|h| h.first());
    let Some(latest) = latest else {
        return if release_status == Status::Uninstalled {
            State::Absent
        } else {
            State::Unmanaged
        };
    };
    if latest.version != last.version || latest.name != last.name {
        return State::Unmanaged;
    }
    if status.observed_generation != plan.hr.metadata.generation
        && super::post_render::changed(plan.hr, status)
    {
        return State::OutOfSync;
    }
    match release_status {
        Status::Failed => State::Failed,
        Status::Uninstalled => State::Absent,
        Status::Deployed => {
            let metadata = last.chart.as_ref().and_then(|c| c.metadata.as_ref());
            let (name, version) = metadata.map_or((String::new(), String::new()), |m| {
                (m.name.clone(), m.version.clone())
            });
            if name != plan.chart_name
                || version != plan.chart_version
                || latest.config_digest != plan.config_digest
            {
                return State::OutOfSync;
            }
            if tests_enabled(plan.hr) && !latest.has_been_tested() {
                return State::Untested;
            }
            if tests_enabled(plan.hr)
                && counts_test_failures(plan.hr, status)
                && latest.has_test_in_phase(tether_api::helm::v2::TEST_PHASE_FAILED)
            {
                return State::Failed;
            }
            State::InSync(Box::new(last.clone()))
        }
        _ => State::Unmanaged,
    }
}

/// Installs or upgrades; a failure counts against the action's remediation and is reported.
async fn act(
    plan: &Plan<'_>,
    status: &mut HelmReleaseStatus,
    conditions: &mut ConditionSet,
    action: ReleaseAction,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let install = action == ReleaseAction::Install;
    let history = plan
        .target
        .store
        .history(plan.target.name)
        .await
        .map_err(|e| Failure::new(reasons::GET_LAST_RELEASE_FAILED, e.to_string()))?;
    let revision = history.next_version();
    let current = history.deployed().or(history.last());
    let values = super::preserve::for_action(plan.hr, action, &plan.config, current)?;
    let rendered = (plan.render)(&RenderInput {
        revision,
        is_upgrade: !install,
        values: &values.config,
        chart_defaults: values.chart_defaults.as_ref(),
    })?;
    let desired = Desired {
        chart: &rendered.chart,
        sorted: &rendered.sorted,
        config: values.config,
        crds: rendered.crds.clone(),
    };
    let options = run_options(plan.hr, action);
    status.last_attempted_release_action = Some(action);
    let outcome = if install {
        actions::install(&plan.target, &desired, &options).await
    } else {
        actions::upgrade(&plan.target, &desired, &options).await
    };
    let chart = format!("{}@{}", plan.chart_name, plan.chart_version);
    match outcome {
        Ok(release) => {
            record(status, &release, &plan.config_digest);
            super::post_render::observe(plan.hr, status);
            let (reason, verb) = if install {
                (reasons::INSTALL_SUCCEEDED, "install")
            } else {
                (reasons::UPGRADE_SUCCEEDED, "upgrade")
            };
            let message = format!(
                "Helm {verb} succeeded for release {} with chart {chart}",
                full_name(&release)
            );
            conditions.set(helm_conditions::RELEASED, true, reason, message.clone());
            conditions.remove(helm_conditions::REMEDIATED);
            conditions.remove(helm_conditions::TEST_SUCCESS);
            progress.event = Some((reason, message));
            Ok(())
        }
        Err(error) => {
            if let Ok(history) = plan.target.store.history(plan.target.name).await
                && let Some(last) = history.last()
                && last.version == revision
            {
                record(status, last, &plan.config_digest);
            }
            let (reason, verb) = if install {
                status.install_failures = Some(status.install_failures.unwrap_or(0) + 1);
                (reasons::INSTALL_FAILED, "install")
            } else {
                status.upgrade_failures = Some(status.upgrade_failures.unwrap_or(0) + 1);
                (reasons::UPGRADE_FAILED, "upgrade")
            };
            status.failures = Some(status.failures.unwrap_or(0) + 1);
            let message = format!(
                "Helm {verb} failed for release {}/{} with chart {chart}: {error}",
                plan.target.namespace, plan.target.name
            );
            conditions.set(helm_conditions::RELEASED, false, reason, message.clone());
            Err(action_failure(reason, message, &error))
        }
    }
}

/// A failed action's failure: terminal when the input is at fault (a template or hook that
/// cannot work as written is retried only after a change... Helm has no such notion: every
/// action failure is retried with remediation, so none is terminal).
fn action_failure(reason: &'static str, message: String, _error: &ActionError) -> Failure {
    Failure::new(reason, message)
}

/// After a failed action: roll back or uninstall as the active remediation says.
async fn remediate(
    plan: &Plan<'_>,
    status: &mut HelmReleaseStatus,
    conditions: &mut ConditionSet,
    history: &tether_helm::release::storage::History,
) -> Result<Progress, Failure> {
    let last_action = status
        .last_attempted_release_action
        .unwrap_or(ReleaseAction::Upgrade);
    let (failures, remediates_last, strategy) = if last_action == ReleaseAction::Install {
        let r = install_remediation(plan.hr);
        (
            status.install_failures.unwrap_or(0),
            r.remediates_last_failure(),
            RemediationStrategy::Uninstall,
        )
    } else {
        let r = upgrade_remediation(plan.hr);
        (
            status.upgrade_failures.unwrap_or(0),
            r.remediates_last_failure(),
            r.strategy_or_default(),
        )
    };
    let exhausted = retries_exhausted(plan.hr, status, last_action);
    let released = conditions
        .conditions
        .iter()
        .find(|c| c.type_ == helm_conditions::RELEASED)
        .map(|c| (c.reason.clone(), c.message.clone()));
    if failures == 0 {
        // The conditions of the failure changed (new spec or values): try again.
        let mut progress = Progress { event: None };
        act(
            plan,
            status,
            conditions,
            ReleaseAction::Upgrade,
            &mut progress,
        )
        .await?;
        return Ok(progress);
    }
    if exhausted && !remediates_last {
        // Nothing more to try until the spec or values change: the failure stands, stalled.
        let failed_test = conditions
            .conditions
            .iter()
            .find(|c| c.type_ == helm_conditions::TEST_SUCCESS && c.status == "False")
            .map(|c| (c.reason.clone(), c.message.clone()));
        let (reason, message) = failed_test.or(released).unwrap_or_default();
        return Err(Failure::terminal(static_failure_reason(&reason), message));
    }
    let Some(failed) = history.last() else {
        return Err(Failure::new(
            reasons::GET_LAST_RELEASE_FAILED,
            "release: not found",
        ));
    };
    match strategy {
        RemediationStrategy::Rollback => {
            let previous = history
                .records()
                .iter()
                .rev()
                .find(|r| {
                    r.version < failed.version
                        && matches!(r.status(), Status::Deployed | Status::Superseded)
                })
                .cloned();
            let Some(previous) = previous else {
                return Err(Failure::terminal(
                    reasons::ROLLBACK_FAILED,
                    "missing target release for rollback: cannot remediate failed release",
                ));
            };
            let options = run_options(plan.hr, ReleaseAction::Rollback);
            match actions::rollback(&plan.target, previous.version, &options).await {
                Ok(release) => {
                    record(status, &release, &config_digest_of(&release));
                    let message = format!(
                        "Helm rollback to previous release {} with chart {} succeeded",
                        full_name(&previous),
                        chart_of(&previous)
                    );
                    conditions.set(
                        helm_conditions::REMEDIATED,
                        true,
                        reasons::ROLLBACK_SUCCEEDED,
                        message.clone(),
                    );
                    Err(Failure::new(reasons::ROLLBACK_SUCCEEDED, message))
                }
                Err(error) => {
                    let message = format!(
                        "Helm rollback to previous release {} with chart {} failed: {error}",
                        full_name(&previous),
                        chart_of(&previous)
                    );
                    conditions.set(
                        helm_conditions::REMEDIATED,
                        false,
                        reasons::ROLLBACK_FAILED,
                        message.clone(),
                    );
                    Err(Failure::new(reasons::ROLLBACK_FAILED, message))
                }
            }
        }
        _ => {
            let uninstall = plan.hr.spec.uninstall.clone().unwrap_or_default();
            let timeout = timeout_of(plan.hr, None);
            match actions::uninstall(
                &plan.target,
                uninstall.keep_history == Some(true),
                uninstall.disable_hooks == Some(true),
                timeout,
            )
            .await
            {
                Ok(_) => {
                    status.history = None;
                    let message = format!(
                        "Helm uninstall remediation for release {} with chart {} succeeded",
                        full_name(failed),
                        chart_of(failed)
                    );
                    conditions.set(
                        helm_conditions::REMEDIATED,
                        true,
                        reasons::UNINSTALL_SUCCEEDED,
                        message.clone(),
                    );
                    Err(Failure::new(reasons::UNINSTALL_SUCCEEDED, message))
                }
                Err(error) => {
                    let message = format!(
                        "Helm uninstall remediation for release {} with chart {} failed: {error}",
                        full_name(failed),
                        chart_of(failed)
                    );
                    conditions.set(
                        helm_conditions::REMEDIATED,
                        false,
                        reasons::UNINSTALL_FAILED,
                        message.clone(),
                    );
                    Err(Failure::new(reasons::UNINSTALL_FAILED, message))
                }
            }
        }
    }
}

/// The release is as desired: recorded, Released, failure counters cleared.
fn in_sync(
    plan: &Plan<'_>,
    status: &mut HelmReleaseStatus,
    conditions: &mut ConditionSet,
    release: &Release,
) {
    record(status, release, &plan.config_digest);
    super::post_render::observe(plan.hr, status);
    conditions.remove(helm_conditions::REMEDIATED);
    if !conditions.is_true(helm_conditions::RELEASED) {
        let message = format!(
            "Helm upgrade succeeded for release {} with chart {}",
            full_name(release),
            chart_of(release)
        );
        conditions.set(
            helm_conditions::RELEASED,
            true,
            reasons::UPGRADE_SUCCEEDED,
            message,
        );
    }
    status.install_failures = None;
    status.upgrade_failures = None;
    status.failures = None;
}

/// Drift detection as `driftDetection` asks: the release's objects dry-run applied, what
/// changed or went missing reported, and corrected when enabled. Right after this run applied
/// the release (`applied`) there is nothing to compare: the objects are as just written.
async fn detect_drift(
    plan: &Plan<'_>,
    conditions: &mut ConditionSet,
    release: &Release,
    applied: bool,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let mode = plan.hr.spec.drift_detection_mode();
    if mode == DriftDetectionMode::Disabled {
        conditions.remove(helm_conditions::DRIFTED);
        return Ok(());
    }
    if applied {
        conditions.set(
            helm_conditions::DRIFTED,
            false,
            reasons::NO_DRIFT_DETECTED,
            "No drift detected against the cluster state",
        );
        return Ok(());
    }
    let mut objects = resources::of_stored_manifest(
        plan.target.manager,
        &release.manifest,
        plan.target.namespace,
    )
    .await
    .map_err(|e| Failure::new(reasons::RECONCILIATION_FAILED, e.to_string()))?;
    for object in &mut objects {
        tether_helm_actions::objects::stamp_ownership(
            object,
            plan.target.name,
            plan.target.namespace,
        );
    }
    let options = drift_options(plan.hr, &objects)?;
    let changes = plan
        .target
        .manager
        .diff_all(objects.clone(), &options)
        .await
        .map_err(|e| Failure::new(reasons::RECONCILIATION_FAILED, e.to_string()))?;
    let drifted: Vec<String> = changes
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                tether_core::changeset::Action::Created
                    | tether_core::changeset::Action::Configured
            )
        })
        .map(|e| match e.action {
            tether_core::changeset::Action::Created => format!("{} removed", e.subject()),
            _ => format!("{} changed", e.subject()),
        })
        .collect();
    if drifted.is_empty() {
        conditions.set(
            helm_conditions::DRIFTED,
            false,
            reasons::NO_DRIFT_DETECTED,
            "No drift detected against the cluster state",
        );
        return Ok(());
    }
    let message = format!(
        "Cluster state of release {} has drifted from the desired state:\n{}",
        full_name(release),
        drifted.join("\n")
    );
    conditions.set(
        helm_conditions::DRIFTED,
        true,
        reasons::DRIFT_DETECTED,
        message.clone(),
    );
    if mode == DriftDetectionMode::Enabled {
        resources::apply(plan.target.manager, objects, &[], &options)
            .await
            .map_err(|e| Failure::new(reasons::UPGRADE_FAILED, e.to_string()))?;
        conditions.set(
            helm_conditions::DRIFTED,
            false,
            reasons::NO_DRIFT_DETECTED,
            format!(
                "Cluster state of release {} has been corrected:\n{}",
                full_name(release),
                drifted.join("\n")
            ),
        );
        progress.event = Some((
            "DriftCorrected",
            format!(
                "Cluster state of release {} has been corrected:\n{}",
                full_name(release),
                drifted.join("\n")
            ),
        ));
    } else {
        progress.event = Some((reasons::DRIFT_DETECTED, message));
    }
    Ok(())
}

/// The options of drift detection and correction: objects annotated
/// `helm.toolkit.fluxcd.io/driftDetection: disabled` are left out, and the fields of
/// `driftDetection.ignore` rules (JSON pointers, on the objects their target selects, or on
/// all) are neither compared nor changed.
fn drift_options(hr: &HelmRelease, objects: &[Json]) -> Result<tether_ssa::ApplyOptions, Failure> {
    let mut options = tether_ssa::ApplyOptions::default();
    options
        .exclusion_selector
        .0
        .insert(DRIFT_DETECTION_ANNOTATION.to_owned(), "disabled".to_owned());
    let rules = hr
        .spec
        .drift_detection
        .as_ref()
        .and_then(|d| d.ignore.as_deref())
        .unwrap_or_default();
    let rules = rules
        .iter()
        .map(|r| (r.paths.as_slice(), r.target.as_ref()));
    options.ignored_fields = crate::drift_ignore::ignored_fields(rules, objects).map_err(|e| {
        Failure::terminal(
            reasons::RECONCILIATION_FAILED,
            format!("invalid driftDetection.ignore target: {e}"),
        )
    })?;
    Ok(options)
}

/// Objects carrying this annotation with `disabled` are left out of drift detection.
const DRIFT_DETECTION_ANNOTATION: &str = "helm.toolkit.fluxcd.io/driftDetection";

/// Runs the release's tests and records them.
async fn test(
    plan: &Plan<'_>,
    status: &mut HelmReleaseStatus,
    conditions: &mut ConditionSet,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let timeout = timeout_of(
        plan.hr,
        plan.hr.spec.test.as_ref().and_then(|t| t.timeout.as_ref()),
    );
    let filters = test_filters(plan.hr);
    let result = actions::test(&plan.target, timeout, &filters).await;
    let history = plan
        .target
        .store
        .history(plan.target.name)
        .await
        .map_err(|e| Failure::new(reasons::GET_LAST_RELEASE_FAILED, e.to_string()))?;
    let Some(last) = history.last() else {
        return Err(Failure::new(
            reasons::GET_LAST_RELEASE_FAILED,
            "release: not found",
        ));
    };
    record(status, last, &plan.config_digest);
    if let Some(hooks) = status
        .history
        .as_mut()
        .and_then(|h| h.first_mut())
        .and_then(|s| s.test_hooks.as_mut())
    {
        hooks.retain(|name, _| filters.selects(name));
    }
    match result {
        Ok(release) => {
            let names: Vec<&str> = release
                .hooks
                .iter()
                .filter(|h| h.events.iter().any(|e| e == "test"))
                .map(|h| h.name.as_str())
                .filter(|name| filters.selects(name))
                .collect();
            let message = format!(
                "Helm test succeeded for release {} with chart {}: {}",
                full_name(&release),
                chart_of(&release),
                if names.is_empty() {
                    "no test hooks".to_owned()
                } else {
                    format!("{} test hook(s) completed successfully", names.len())
                }
            );
            conditions.set(
                helm_conditions::TEST_SUCCESS,
                true,
                reasons::TEST_SUCCEEDED,
                message.clone(),
            );
            progress.event = Some((reasons::TEST_SUCCEEDED, message));
            Ok(())
        }
        Err(error) => {
            let message = format!(
                "Helm test failed for release {} with chart {}: {error}",
                full_name(last),
                chart_of(last)
            );
            conditions.set(
                helm_conditions::TEST_SUCCESS,
                false,
                reasons::TEST_FAILED,
                message.clone(),
            );
            status.failures = Some(status.failures.unwrap_or(0) + 1);
            progress.event = Some((reasons::TEST_FAILED, message.clone()));
            let tested = status
                .history
                .as_ref()
                .and_then(|h| h.first())
                .is_some_and(|s| s.has_been_tested());
            if !tested {
                return Err(Failure::new(reasons::TEST_FAILED, message));
            }
            // A failure the active remediation counts goes on to remediation (the loop finds
            // the release Failed); one it ignores leaves the release as it is.
            if counts_test_failures(plan.hr, status) {
                match status.last_attempted_release_action {
                    Some(ReleaseAction::Install) => {
                        status.install_failures = Some(status.install_failures.unwrap_or(0) + 1);
                    }
                    _ => {
                        status.upgrade_failures = Some(status.upgrade_failures.unwrap_or(0) + 1);
                    }
                }
            }
            Ok(())
        }
    }
}

/// `spec.test.filters` as Helm's test filters.
fn test_filters(hr: &HelmRelease) -> TestFilters {
    let mut filters = TestFilters::default();
    for filter in hr.spec.test.iter().flat_map(|t| t.filters.iter().flatten()) {
        if filter.exclude == Some(true) {
            filters.exclude.push(filter.name.clone());
        } else {
            filters.include.push(filter.name.clone());
        }
    }
    filters
}

/// Puts `release` at the head of `status.history` (replacing the snapshot of the same version).
fn record(status: &mut HelmReleaseStatus, release: &Release, config_digest: &str) {
    let snapshot = snapshot_of(release, config_digest);
    let history = status.history.get_or_insert_with(Vec::new);
    history.retain(|s| s.version != snapshot.version || s.name != snapshot.name);
    history.insert(0, snapshot);
    for s in history.iter_mut().skip(1) {
        if s.status == "deployed" {
            s.status = "superseded".into();
        }
    }
    history.truncate(5);
    status.last_release_revision = Some(release.version);
    status.inventory = None;
    let objects = tether_helm_actions::objects::parse_documents("manifest", &release.manifest)
        .unwrap_or_default();
    let entries: Vec<ResourceRef> = objects
        .iter()
        .filter_map(|o| tether_core::object::ObjectRef::from_object(o).ok())
        .map(|mut o| {
            if o.namespace.is_empty() {
                o.namespace = release.namespace.clone();
            }
            let entry = tether_core::inventory::InventoryEntry::from_ref(&o);
            ResourceRef {
                id: entry.id,
                v: entry.version,
            }
        })
        .collect();
    status.inventory = Some(ResourceInventory { entries });
}

fn snapshot_of(release: &Release, config_digest: &str) -> Snapshot {
    let metadata = release.chart.as_ref().and_then(|c| c.metadata.as_ref());
    let info = release.info.as_ref();
    let time = |t: Option<&tether_helm::release::GoTime>| {
        t.and_then(|t| t.datetime())
            .and_then(|d| k8s_openapi::jiff::Timestamp::from_second(d.timestamp()).ok())
            .map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time)
    };
    let test_hooks: std::collections::BTreeMap<String, TestHookStatus> = release
        .hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == "test"))
        .filter(|h| !h.last_run.phase.is_empty())
        .map(|h| {
            (
                h.name.clone(),
                TestHookStatus {
                    last_started: time(Some(&h.last_run.started_at)),
                    last_completed: time(Some(&h.last_run.completed_at)),
                    phase: Some(h.last_run.phase.clone()),
                },
            )
        })
        .collect();
    Snapshot {
        api_version: Some("v2".into()),
        digest: format!(
            "sha256:{:x}",
            sha2::Sha256::digest(release.to_json_string().as_bytes())
        ),
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        version: release.version,
        status: release.status().as_str().to_owned(),
        action: None,
        chart_name: metadata.map(|m| m.name.clone()).unwrap_or_default(),
        chart_version: metadata.map(|m| m.version.clone()).unwrap_or_default(),
        app_version: metadata
            .map(|m| m.app_version.clone())
            .filter(|v| !v.is_empty()),
        config_digest: config_digest.to_owned(),
        first_deployed: time(info.map(|i| &i.first_deployed)).unwrap_or_else(crate::status::now),
        last_deployed: time(info.map(|i| &i.last_deployed)).unwrap_or_else(crate::status::now),
        deleted: time(info.map(|i| &i.deleted)),
        test_hooks: (!test_hooks.is_empty()).then_some(test_hooks),
        oci_digest: None,
    }
}

/// The digest of a release's values, as recorded in snapshots.
pub fn config_digest(values: &JsonMap<String, Json>) -> String {
    let canonical = tether_helm::release::json::to_go_json(&tether_helm::release::json::sorted(
        &Json::Object(values.clone()),
    ));
    format!("sha256:{:x}", sha2::Sha256::digest(canonical.as_bytes()))
}

fn config_digest_of(release: &Release) -> String {
    config_digest(&release.config)
}

fn full_name(release: &Release) -> String {
    format!(
        "{}/{}.v{}",
        release.namespace, release.name, release.version
    )
}

fn chart_of(release: &Release) -> String {
    let metadata = release.chart.as_ref().and_then(|c| c.metadata.as_ref());
    metadata.map_or_else(String::new, |m| format!("{}@{}", m.name, m.version))
}

fn exhausted(conditions: &ConditionSet, what: &str) -> Failure {
    let last = conditions
        .conditions
        .iter()
        .find(|c| c.type_ == helm_conditions::RELEASED)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    Failure::terminal(
        reasons::RECONCILIATION_FAILED,
        format!("Failed to reconcile: exceeded maximum retries: {what}. Last error: {last}"),
    )
}

/// Whether the failures of `action` used up its remediation's retries.
fn retries_exhausted(hr: &HelmRelease, status: &HelmReleaseStatus, action: ReleaseAction) -> bool {
    if action == ReleaseAction::Install {
        install_remediation(hr).retries_exhausted(status.install_failures.unwrap_or(0))
    } else {
        upgrade_remediation(hr).retries_exhausted(status.upgrade_failures.unwrap_or(0))
    }
}

/// The `'static` reason of a failed action recorded in the Released condition.
fn static_failure_reason(reason: &str) -> &'static str {
    [reasons::INSTALL_FAILED, reasons::TEST_FAILED]
        .into_iter()
        .find(|r| *r == reason)
        .unwrap_or(reasons::UPGRADE_FAILED)
}

/// Whether test failures count against the active remediation (that of the last attempted
/// action): not when `ignoreTestFailures` (or `test.ignoreFailures`) says to ignore them.
fn counts_test_failures(hr: &HelmRelease, status: &HelmReleaseStatus) -> bool {
    let ignore = hr
        .spec
        .test
        .as_ref()
        .and_then(|t| t.ignore_failures)
        .unwrap_or(false);
    match status.last_attempted_release_action {
        Some(ReleaseAction::Install) => !install_remediation(hr).ignores_test_failures(ignore),
        Some(_) => !upgrade_remediation(hr).ignores_test_failures(ignore),
        None => false,
    }
}

fn tests_enabled(hr: &HelmRelease) -> bool {
    hr.spec.test.as_ref().and_then(|t| t.enable) == Some(true)
}

fn install_remediation(hr: &HelmRelease) -> InstallRemediation {
    hr.spec
        .install
        .as_ref()
        .and_then(|i| i.remediation.clone())
        .unwrap_or_default()
}

fn upgrade_remediation(hr: &HelmRelease) -> UpgradeRemediation {
    hr.spec
        .upgrade
        .as_ref()
        .and_then(|u| u.remediation.clone())
        .unwrap_or_default()
}

fn timeout_of(hr: &HelmRelease, specific: Option<&tether_api::meta::Duration>) -> Duration {
    specific
        .and_then(|d| d.to_std().ok())
        .or_else(|| hr.spec.effective_timeout().ok())
        .unwrap_or(Duration::from_secs(300))
}

/// The options of `action` from the spec.
fn run_options(hr: &HelmRelease, action: ReleaseAction) -> RunOptions {
    let spec = &hr.spec;
    let policy = |p: CrdsPolicy| match p {
        CrdsPolicy::Skip => CrdPolicy::Skip,
        CrdsPolicy::Create => CrdPolicy::Create,
        CrdsPolicy::CreateReplace => CrdPolicy::CreateReplace,
    };
    let max_history = spec.max_history_or_default();
    let wait_strategy = match spec.wait_strategy.as_ref().map(|w| w.name) {
        Some(WaitStrategyName::Legacy) => WaitStrategy::Legacy,
        _ => WaitStrategy::Poller,
    };
    match action {
        ReleaseAction::Install => {
            let i = spec.install.clone().unwrap_or_default();
            RunOptions {
                timeout: timeout_of(hr, i.timeout.as_ref()),
                wait: i.disable_wait != Some(true),
                wait_for_jobs: i.disable_wait_for_jobs != Some(true),
                wait_strategy,
                disable_hooks: i.disable_hooks == Some(true),
                force: false,
                crds: policy(i.crds_policy()),
                cleanup_on_fail: false,
                max_history,
                take_ownership: i.disable_take_ownership != Some(true),
            }
        }
        ReleaseAction::Rollback => {
            let r = spec.rollback.clone().unwrap_or_default();
            RunOptions {
                timeout: timeout_of(hr, r.timeout.as_ref()),
                wait: r.disable_wait != Some(true),
                wait_for_jobs: r.disable_wait_for_jobs != Some(true),
                wait_strategy,
                disable_hooks: r.disable_hooks == Some(true),
                force: r.force == Some(true),
                crds: CrdPolicy::Skip,
                cleanup_on_fail: r.cleanup_on_fail == Some(true),
                max_history,
                take_ownership: true,
            }
        }
        _ => {
            let u = spec.upgrade.clone().unwrap_or_default();
            RunOptions {
                timeout: timeout_of(hr, u.timeout.as_ref()),
                wait: u.disable_wait != Some(true),
                wait_for_jobs: u.disable_wait_for_jobs != Some(true),
                wait_strategy,
                disable_hooks: u.disable_hooks == Some(true),
                force: u.force == Some(true),
                crds: policy(u.crds_policy()),
                cleanup_on_fail: u.cleanup_on_fail == Some(true),
                max_history,
                take_ownership: u.disable_take_ownership != Some(true),
            }
        }
    }
}
