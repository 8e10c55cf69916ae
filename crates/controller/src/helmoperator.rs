//! helm-operator's HelmRelease (`helm.fluxcd.io/v1`), reconciled by the same release engine as
//! Flux v2's. The chart comes from `chart.repository` (the repository's index, the newest
//! version matching `chart.version`, `chartPullSecret` as basic auth) or from Git (`chart.git`
//! at `chart.ref`, `master` by default, the chart directory at `chart.path`, `chart.secretRef`
//! credentials). Values come from `valuesFrom` (ConfigMap and Secret keys, a file of the chart,
//! an external URL; `valueFileSecrets`) and `values`. The release is installed, upgraded when
//! the chart or values changed (`forceUpgrade` recreates on immutable fields), tested when
//! `test.enable` (a failed first install's release is uninstalled), rolled back when
//! `rollback.enable` and the upgrade or its tests failed, unlocked when a crash left it pending, uninstalled
//! on delete. The status is helm-operator's: `releaseName`, `releaseStatus`, `revision` (the
//! chart version, or the commit of a Git chart), `phase`, its conditions.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Resource;
use kube::api::Api;
use serde_json::{Map as JsonMap, Value as Json};
use tether_api::helm_operator::v1::{
    ChartSourceKind, ConditionStatus, HelmRelease, HelmReleaseCondition, HelmReleaseConditionType,
    HelmReleasePhase, HelmReleaseStatus, KeySelector,
};
use tether_helm::load::Limits;
use tether_helm::package::ChartFiles;
use tether_helm::release::{Release, ReleaseChart, Status};
use tether_helm_actions::ReleaseStore;
use tether_helm_actions::actions::{self, CrdPolicy, Desired, RunOptions, Target, TestFilters};
use tether_source::helm_repo::BasicAuth;
use tether_source::{
    GitAuth, GitReference, HelmRepoClient, HelmRepoOptions, IndexFetch, join_within,
};
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::reconcile::{CleanUpError, HasConditions, Reconcile};
use crate::secrets::secret_data;

/// helm-operator's chart sync interval (`--charts-sync-interval`).
const SYNC_INTERVAL: Duration = Duration::from_secs(180);
/// helm-operator's `--git-default-ref`: the ref of a Git chart that names none.
const DEFAULT_GIT_REF: &str = "master";
/// The largest values file read from `valuesFrom.externalSourceRef`.
const MAX_EXTERNAL_VALUES_BYTES: u64 = 4 * 1024 * 1024;

/// A chart to release, and what helm-operator records as its revision: the chart version of a
/// repository chart, the commit of a Git chart.
struct FetchedChart {
    chart: tether_helm::Chart,
    revision: String,
    from_git: bool,
}

/// One run: its result, the status it leads to, the event it tells.
pub struct OperatorAttempt {
    pub result: Result<(), Failure>,
    pub status: HelmReleaseStatus,
    pub event: Option<(&'static str, String)>,
}

impl crate::reconcile::RunOutcome for OperatorAttempt {
    fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }
}

/// helm-operator's conditions are not Kubernetes conditions; the driver reads none.
impl HasConditions for HelmReleaseStatus {
    fn conditions(&self) -> Option<&[Condition]> {
        None
    }
}

impl Reconcile for HelmRelease {
    type Status = HelmReleaseStatus;
    type Outcome = OperatorAttempt;
    const ORIGIN: Origin = Origin::Helm;
    const FINALIZES: bool = true;

    fn suspended(&self) -> bool {
        false
    }

    fn interval(&self) -> Duration {
        SYNC_INTERVAL
    }

    async fn run(&self, ctx: &Context) -> OperatorAttempt {
        let mut status = self.status.clone().unwrap_or_default();
        status.release_name = Some(self.release_name());
        let result = steps(self, ctx, &mut status).await;
        let event = match &result {
            Ok(Some(message)) => Some(("ReleaseSynced", message.clone())),
            _ => None,
        };
        if let Err(failure) = &result {
            set_condition(
                &mut status,
                HelmReleaseConditionType::Released,
                false,
                failure.reason,
                &failure.message,
            );
        }
        status.observed_generation = self.meta().generation;
        OperatorAttempt {
            result: result.map(|_| ()),
            status,
            event,
        }
    }

    fn current_status(&self) -> Option<&HelmReleaseStatus> {
        self.status.as_ref()
    }

    fn next_status(&self, attempt: &OperatorAttempt) -> HelmReleaseStatus {
        attempt.status.clone()
    }

    fn success_event(&self, attempt: &OperatorAttempt) -> Option<(&'static str, String)> {
        attempt.event.clone()
    }

    /// helm-operator deleted the release with its HelmRelease.
    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        let store = ReleaseStore::new(ctx.client.clone(), self.target_namespace());
        let manager = ctx
            .apply_resources
            .clone()
            .with_field_manager(tether_api::helm::FIELD_MANAGER);
        let name = self.release_name();
        let target = Target {
            name: &name,
            namespace: self.target_namespace(),
            store: &store,
            manager: &manager,
            cancel: CancellationToken::new(),
        };
        actions::uninstall(&target, false, false, self.effective_timeout())
            .await
            .map_err(|e| -> CleanUpError { format!("Helm uninstall failed: {e}").into() })?;
        Ok(())
    }
}

/// The steps; `Ok(Some(message))` when the release changed.
async fn steps(
    hr: &HelmRelease,
    ctx: &Context,
    status: &mut HelmReleaseStatus,
) -> Result<Option<String>, Failure> {
    let fetched = match fetch_chart(hr, &ctx.client).await {
        Ok(fetched) => {
            let (reason, message) = if fetched.from_git {
                ("GitRepoCloned", "successfully cloned chart revision")
            } else {
                ("RepoChartInCache", "chart fetched")
            };
            set_condition(
                status,
                HelmReleaseConditionType::ChartFetched,
                true,
                reason,
                message,
            );
            fetched
        }
        Err(failure) => {
            status.phase = Some(HelmReleasePhase::ChartFetchFailed);
            set_condition(
                status,
                HelmReleaseConditionType::ChartFetched,
                false,
                "RepoFetchFailed",
                &failure.message,
            );
            return Err(failure);
        }
    };
    let FetchedChart {
        chart,
        revision,
        from_git,
    } = fetched;
    let config = values(hr, &ctx.client, &chart).await?;
    status.last_attempted_revision = Some(revision.clone());
    let store = ReleaseStore::new(ctx.client.clone(), hr.target_namespace());
    let manager = ctx
        .apply_resources
        .clone()
        .with_field_manager(tether_api::helm::FIELD_MANAGER);
    let name = hr.release_name();
    let target = Target {
        name: &name,
        namespace: hr.target_namespace(),
        store: &store,
        manager: &manager,
        cancel: CancellationToken::new(),
    };
    let failed =
        |e: tether_helm_actions::ActionError| Failure::new("HelmUpgradeFailed", e.to_string());
    if actions::unlock(&target).await.map_err(failed)?.is_some() {
        tracing::info!(release = %name, "unlocked a release left pending");
    }
    let history = store.history(&name).await.map_err(failed)?;
    let last = history.last().cloned();
    let capabilities = ctx
        .clusters
        .local_capabilities()
        .get()
        .await
        .map_err(|e| Failure::new("HelmUpgradeFailed", e))?;
    let install = last
        .as_ref()
        .is_none_or(|r| r.status() == Status::Uninstalled)
        || history.deployed().is_none()
            && history
                .records()
                .iter()
                .all(|r| r.status() == Status::Failed);
    let options = tether_helm::TemplateOptions {
        release: tether_helm::ReleaseOptions {
            name: name.clone(),
            namespace: hr.target_namespace().to_owned(),
            revision: history.next_version(),
            is_upgrade: !install,
        },
        capabilities: capabilities.as_ref().clone(),
        values: config.clone(),
        ..tether_helm::TemplateOptions::default()
    };
    let (rendered, processed) = tether_helm::template_for_release(chart, &options)
        .map_err(|e| Failure::new("HelmUpgradeFailed", e.to_string()))?;
    // A repository chart's version names its content; a Git chart's content is compared, as
    // helm-operator upgraded only when files under the chart's path changed.
    let same = |r: &Release| {
        same_chart(r, &processed)
            && r.config == config
            && (!from_git || same_content(r, &processed))
    };
    if last
        .as_ref()
        .is_some_and(|r| r.status() == Status::Deployed && same(r))
    {
        record(
            status,
            last.as_ref(),
            Some(&revision),
            HelmReleasePhase::Succeeded,
        );
        return Ok(None);
    }
    if last
        .as_ref()
        .is_some_and(|r| r.status() == Status::Failed && same(r))
    {
        // helm-operator retried a failed release only when something changed.
        record(status, last.as_ref(), None, HelmReleasePhase::Failed);
        return Err(Failure::new(
            "HelmUpgradeFailed",
            "the release failed and neither its chart nor its values changed since",
        ));
    }
    let mut crds = Vec::new();
    if hr.spec.skip_crds != Some(true) {
        tether_helm::output::crd_files(&processed, processed.name(), &mut crds);
    }
    let desired = Desired {
        chart: &processed,
        sorted: &rendered.sorted,
        config,
        crds,
    };
    let run = RunOptions {
        timeout: hr.effective_timeout(),
        // helm-operator ran Helm 3 with `Wait` alone: its readiness rules, and Jobs not awaited.
        wait: hr.waits(),
        wait_for_jobs: false,
        wait_strategy: tether_helm_actions::WaitStrategy::Legacy,
        disable_hooks: false,
        force: hr.spec.force_upgrade == Some(true),
        crds: CrdPolicy::Create,
        cleanup_on_fail: false,
        max_history: hr.max_history_or_default(),
        take_ownership: true,
    };
    status.phase = Some(if install {
        HelmReleasePhase::Installing
    } else {
        HelmReleasePhase::Upgrading
    });
    let outcome = if install {
        if last.is_some() {
            // Failed installs are replaced, as helm-operator purged them first.
            actions::uninstall(&target, false, true, hr.effective_timeout())
                .await
                .map_err(failed)?;
        }
        actions::install(&target, &desired, &run).await
    } else {
        actions::upgrade(&target, &desired, &run).await
    };
    let outcome = match outcome {
        Ok(release) => tested(hr, &target, status).await.map(|()| release),
        Err(error) => Err(format!("Helm release failed for release '{name}': {error}")),
    };
    match outcome {
        Ok(release) => {
            record(
                status,
                Some(&release),
                Some(&revision),
                HelmReleasePhase::Succeeded,
            );
            let message = format!(
                "Release was successful for Helm release '{name}' in '{}'.",
                hr.target_namespace()
            );
            set_condition(
                status,
                HelmReleaseConditionType::Released,
                true,
                "Succeeded",
                &message,
            );
            Ok(Some(message))
        }
        Err(message) => {
            set_condition(
                status,
                HelmReleaseConditionType::Released,
                false,
                "Failed",
                &message,
            );
            let test_failed = status.phase == Some(HelmReleasePhase::TestFailed);
            if !test_failed {
                status.phase = Some(HelmReleasePhase::Failed);
            }
            if test_failed && install {
                // helm-operator uninstalled a release whose first tests failed.
                if let Err(e) =
                    actions::uninstall(&target, false, false, hr.effective_timeout()).await
                {
                    tracing::warn!(release = %name, error = %e, "cannot uninstall the release whose tests failed");
                }
            }
            let rollback = hr.spec.rollback.as_ref().and_then(|r| r.enable) == Some(true);
            if rollback && !install {
                status.phase = Some(HelmReleasePhase::RollingBack);
                match actions::rollback(&target, 0, &run).await {
                    Ok(release) => {
                        status.rollback_count = Some(status.rollback_count.unwrap_or(0) + 1);
                        // A rolled-back repository chart is its older version; which
                        // commit a rolled-back Git chart came from is not recorded.
                        let version = (!from_git).then(|| chart_version(&release));
                        record(
                            status,
                            Some(&release),
                            version.flatten().as_deref(),
                            HelmReleasePhase::RolledBack,
                        );
                        set_condition(
                            status,
                            HelmReleaseConditionType::RolledBack,
                            true,
                            "Succeeded",
                            "release rolled back",
                        );
                    }
                    Err(e) => {
                        status.phase = Some(HelmReleasePhase::RollbackFailed);
                        set_condition(
                            status,
                            HelmReleaseConditionType::RolledBack,
                            false,
                            "Failed",
                            &e.to_string(),
                        );
                    }
                }
            }
            if let Ok(history) = store.history(&name).await {
                status.release_status = history.last().map(|r| r.status().as_str().to_owned());
            }
            Err(Failure::new("HelmUpgradeFailed", message))
        }
    }
}

/// helm-operator's test step: the chart's tests run when `test.enable`; their failure is the
/// release's unless `test.ignoreFailures`.
async fn tested(
    hr: &HelmRelease,
    target: &Target<'_>,
    status: &mut HelmReleaseStatus,
) -> Result<(), String> {
    let Some(test) = hr.spec.test.as_ref().filter(|t| t.enable == Some(true)) else {
        return Ok(());
    };
    let (name, namespace) = (hr.release_name(), hr.target_namespace());
    match actions::test(target, test.effective_timeout(), &TestFilters::default()).await {
        Ok(_) => {
            status.phase = Some(HelmReleasePhase::Tested);
            set_condition(
                status,
                HelmReleaseConditionType::Tested,
                true,
                "Succeeded",
                &format!("Tested Helm release '{name}' in '{namespace}'."),
            );
            Ok(())
        }
        Err(error) => {
            let message =
                format!("Test failed for Helm release '{name}' in '{namespace}': {error}");
            set_condition(
                status,
                HelmReleaseConditionType::Tested,
                false,
                "Failed",
                &message,
            );
            if test.ignore_failures == Some(true) {
                return Ok(());
            }
            status.phase = Some(HelmReleasePhase::TestFailed);
            Err(message)
        }
    }
}

/// The chart of `chart.repository` or `chart.git`.
async fn fetch_chart(hr: &HelmRelease, client: &kube::Client) -> Result<FetchedChart, Failure> {
    match hr.spec.chart.kind() {
        Some(ChartSourceKind::Repository) => fetch_repository_chart(hr, client).await,
        Some(ChartSourceKind::Git) => fetch_git_chart(hr, client).await,
        None => Err(Failure::terminal(
            "ChartFetchFailed",
            "chart.repository or chart.git must be set",
        )),
    }
}

/// The chart from `chart.repository`: the index, the newest version matching `chart.version`.
async fn fetch_repository_chart(
    hr: &HelmRelease,
    client: &kube::Client,
) -> Result<FetchedChart, Failure> {
    let source = &hr.spec.chart;
    let fail = |message: String| Failure::new("ChartFetchFailed", message);
    let basic_auth = match &source.chart_pull_secret {
        Some(secret) => {
            let namespace = hr.defaulted_namespace();
            let data = secret_data(client, namespace, &secret.name)
                .await
                .map_err(|e| fail(format!("chart.chartPullSecret: {e}")))?;
            let data = data.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            BasicAuth::from_secret_data(&secret.name, data)
                .map_err(|e| Failure::terminal("ChartFetchFailed", e.to_string()))?
        }
        None => None,
    };
    let url = source.clean_repository_url().unwrap_or_default();
    let name = source.name.clone().unwrap_or_default();
    let constraint = source.version.clone().unwrap_or_default();
    let client = HelmRepoClient::new(HelmRepoOptions {
        basic_auth,
        timeout: Duration::from_secs(60),
        ..HelmRepoOptions::default()
    })
    .map_err(|e| fail(e.to_string()))?;
    let work = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let index = match client
        .fetch_index(&url, None, &work.path().join("index.yaml"))
        .await
        .map_err(|e| fail(format!("chart repository {url}: {e}")))?
    {
        IndexFetch::Fetched(fetched) => fetched.index,
        IndexFetch::NotModified => return Err(fail("the index was not sent".into())),
    };
    let version = index
        .get(&name, &constraint)
        .map_err(|e| fail(format!("chart repository {url}: {e}")))?
        .clone();
    let archive = work.path().join("chart.tgz");
    client
        .download_chart(&url, &version, &archive)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let bytes = tokio::fs::read(&archive)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let chart = tokio::task::spawn_blocking(move || {
        tether_helm::load::load_archive(&bytes, Limits::default())
    })
    .await
    .map_err(|e| fail(e.to_string()))?
    .map_err(|e| fail(format!("cannot load chart {name}: {e}")))?;
    Ok(FetchedChart {
        revision: chart.metadata.version.clone(),
        chart,
        from_git: false,
    })
}

/// The chart at `chart.path` of the commit `chart.ref` names in `chart.git`, cloned with the
/// credentials of `chart.secretRef`. Its dependencies must be vendored under `charts/`: tether
/// does not run `helm dependency update`, whatever `skipDepUpdate` says.
async fn fetch_git_chart(hr: &HelmRelease, client: &kube::Client) -> Result<FetchedChart, Failure> {
    let source = &hr.spec.chart;
    let fail = |message: String| Failure::new("ChartFetchFailed", message);
    let refuse = |message: String| Failure::terminal("ChartFetchFailed", message);
    let url = source.git.clone().unwrap_or_default();
    let path = source
        .path
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| refuse("chart.path must be set for a chart from Git".into()))?;
    let git_ref = source
        .git_ref
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_GIT_REF);
    let auth = match &source.secret_ref {
        Some(secret) => {
            let namespace = secret
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| hr.defaulted_namespace());
            let data = secret_data(client, namespace, &secret.name)
                .await
                .map_err(|e| fail(format!("chart.secretRef: {e}")))?;
            GitAuth::from_secret_data(&data)
                .map_err(|e| refuse(format!("secret '{namespace}/{}': {e}", secret.name)))?
        }
        None => GitAuth::default(),
    };
    let work = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let checkout = tether_source::checkout(
        &url,
        &git_reference(git_ref),
        &auth,
        crate::git_source::DEFAULT_TIMEOUT,
        &work.path().join("repo"),
    )
    .await
    .map_err(|e| fail(e.to_string()))?;
    let dir = join_within(&checkout.dir, path).ok_or_else(|| {
        refuse(format!(
            "chart.path '{path}' must be relative and stay inside the repository"
        ))
    })?;
    let commit = checkout.revision.commit.clone();
    let shown = tether_source::sanitize_url(&url);
    if !dir.is_dir() {
        return Err(fail(format!(
            "chart.path '{path}' does not exist in {shown} at {git_ref} ({commit})"
        )));
    }
    // The chart may be the repository's root: its objects are no chart files.
    let _ = std::fs::remove_dir_all(checkout.dir.join(".git"));
    let chart = tokio::task::spawn_blocking(move || {
        let missing = ChartFiles::from_dir(&dir, Limits::default())?.missing_dependencies()?;
        tether_helm::load::load_dir(&dir, Limits::default()).map(|chart| (chart, missing))
    })
    .await
    .map_err(|e| fail(e.to_string()))?;
    let (chart, missing) =
        chart.map_err(|e| fail(format!("cannot load chart at '{path}': {e}")))?;
    if !missing.is_empty() {
        return Err(refuse(format!(
            "chart at '{path}' misses dependencies {}: tether does not run 'helm dependency update'; vendor them under charts/",
            missing.join(", ")
        )));
    }
    Ok(FetchedChart {
        chart,
        revision: commit,
        from_git: true,
    })
}

/// helm-operator's `chart.ref`: a commit SHA, a full ref name (`refs/tags/v1`), else a branch.
fn git_reference(git_ref: &str) -> GitReference {
    let is_sha = git_ref.len() == 40 && git_ref.bytes().all(|b| b.is_ascii_hexdigit());
    if is_sha {
        GitReference::commit(git_ref)
    } else if git_ref.starts_with("refs/") {
        GitReference::name(git_ref)
    } else {
        GitReference::branch(git_ref)
    }
}

/// `valuesFrom` (and `valueFileSecrets`) merged in order, then `values` over them.
async fn values(
    hr: &HelmRelease,
    client: &kube::Client,
    chart: &tether_helm::Chart,
) -> Result<JsonMap<String, Json>, Failure> {
    let own = hr.defaulted_namespace().to_owned();
    let mut result = JsonMap::new();
    for source in hr.values_from_sources() {
        let text = if let Some(key) = &source.config_map_key_ref {
            key_text(client, &own, key, false).await?
        } else if let Some(key) = &source.secret_key_ref {
            key_text(client, &own, key, true).await?
        } else if let Some(file) = &source.chart_file_ref {
            chart_file_text(chart, &file.path, file.optional == Some(true))?
        } else if let Some(external) = &source.external_source_ref {
            external_text(&external.url, external.optional == Some(true)).await?
        } else {
            return Err(Failure::terminal(
                "ValuesFromFailed",
                "a valuesFrom entry names no source",
            ));
        };
        let Some(text) = text else { continue };
        let parsed = tether_helm::load::load_values(text.as_bytes())
            .map_err(|e| Failure::terminal("ValuesInvalid", format!("invalid values: {e}")))?;
        result = tether_helm::values::merge_maps(result, parsed);
    }
    if let Some(Json::Object(inline)) = &hr.spec.values {
        result = tether_helm::values::merge_maps(result, inline.clone());
    }
    Ok(result)
}

/// The text of a key of a ConfigMap or Secret, `None` when optional and missing.
async fn key_text(
    client: &kube::Client,
    own: &str,
    key: &KeySelector,
    secret: bool,
) -> Result<Option<String>, Failure> {
    let namespace = key.namespace.clone().unwrap_or_else(|| own.to_owned());
    let data_key = key.key_or_default();
    let kind = if secret { "Secret" } else { "ConfigMap" };
    let shown = format!("{kind} '{namespace}/{}'", key.name);
    let unreadable =
        |e: kube::Error| Failure::new("ValuesFromFailed", format!("cannot read {shown}: {e}"));
    let value = if secret {
        Api::<Secret>::namespaced(client.clone(), &namespace)
            .get_opt(&key.name)
            .await
            .map_err(unreadable)?
            .and_then(|s| {
                s.data?
                    .get(data_key)
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            })
    } else {
        Api::<ConfigMap>::namespaced(client.clone(), &namespace)
            .get_opt(&key.name)
            .await
            .map_err(unreadable)?
            .and_then(|c| c.data?.get(data_key).cloned())
    };
    match value {
        Some(text) => Ok(Some(text)),
        None if key.optional == Some(true) => Ok(None),
        None => Err(Failure::new(
            "ValuesFromFailed",
            format!("key '{data_key}' of {shown} not found"),
        )),
    }
}

/// `valuesFrom.chartFileRef`: a file of the chart, `None` when optional and missing.
fn chart_file_text(
    chart: &tether_helm::Chart,
    path: &str,
    optional: bool,
) -> Result<Option<String>, Failure> {
    let wanted = path.trim_start_matches("./");
    let file = chart
        .files
        .iter()
        .chain(&chart.templates)
        .find(|f| f.name == wanted);
    match file {
        Some(file) => Ok(Some(String::from_utf8_lossy(&file.data).into_owned())),
        None if optional => Ok(None),
        None => Err(Failure::new(
            "ValuesFromFailed",
            format!("chartFileRef '{path}' not found in chart {}", chart.name()),
        )),
    }
}

/// `valuesFrom.externalSourceRef`: a values file at a URL, `None` when optional and
/// unreachable.
async fn external_text(url: &str, optional: bool) -> Result<Option<String>, Failure> {
    match fetch_external(url).await {
        Ok(text) => Ok(Some(text)),
        Err(_) if optional => Ok(None),
        Err(message) => Err(Failure::new(
            "ValuesFromFailed",
            format!("externalSourceRef: {message}"),
        )),
    }
}

async fn fetch_external(url: &str) -> Result<String, String> {
    let client = HelmRepoClient::new(HelmRepoOptions::default()).map_err(|e| e.to_string())?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = work.path().join("values.yaml");
    client
        .download_file(url, MAX_EXTERNAL_VALUES_BYTES, &file)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = tokio::fs::read(&file).await.map_err(|e| e.to_string())?;
    String::from_utf8(bytes)
        .map_err(|_| format!("{}: not UTF-8 text", tether_source::sanitize_url(url)))
}

fn same_chart(release: &Release, chart: &tether_helm::Chart) -> bool {
    release
        .chart
        .as_ref()
        .and_then(|c| c.metadata.as_ref())
        .is_some_and(|m| m.name == chart.metadata.name && m.version == chart.metadata.version)
}

/// Whether the release stores the same chart content as `chart`.
fn same_content(release: &Release, chart: &tether_helm::Chart) -> bool {
    match (&release.chart, ReleaseChart::from_chart(chart)) {
        (Some(stored), Ok(current)) => stored.same_content(&current),
        _ => false,
    }
}

fn chart_version(release: &Release) -> Option<String> {
    release
        .chart
        .as_ref()
        .and_then(|c| c.metadata.as_ref())
        .map(|m| m.version.clone())
}

/// Records the phase and the release's status; `revision` is recorded when the release is
/// deployed.
fn record(
    status: &mut HelmReleaseStatus,
    release: Option<&Release>,
    revision: Option<&str>,
    phase: HelmReleasePhase,
) {
    status.phase = Some(phase);
    if let Some(release) = release {
        status.release_status = Some(release.status().as_str().to_owned());
        if release.status() == Status::Deployed
            && let Some(revision) = revision
        {
            status.revision = Some(revision.to_owned());
        }
    }
}

/// Sets a helm-operator condition; its transition time moves only when its status does.
fn set_condition(
    status: &mut HelmReleaseStatus,
    type_: HelmReleaseConditionType,
    ok: bool,
    reason: &str,
    message: &str,
) {
    let now = crate::status::now();
    let value = if ok {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let unchanged = conditions.iter().any(|c| {
        c.condition_type == type_
            && c.status == value
            && c.reason.as_deref() == Some(reason)
            && c.message.as_deref() == Some(message)
    });
    if unchanged {
        return;
    }
    let transition = conditions
        .iter()
        .find(|c| c.condition_type == type_ && c.status == value)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    conditions.retain(|c| c.condition_type != type_);
    conditions.push(HelmReleaseCondition {
        condition_type: type_,
        status: value,
        last_update_time: Some(now),
        last_transition_time: Some(transition),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
    });
}
