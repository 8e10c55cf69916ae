//! fluxd's job queue: `update-manifests` requests (releases, policy changes, sync requests)
//! run one at a time in arrival order; `jobs?id=` reports each one queued, running, succeeded
//! (with the pushed revision and per-workload results) or failed (with the error).

use super::Daemon;
use super::wire::{self, ContainerUpdate, JobResult, JobStatus, UpdateSpec, WorkloadResult};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tether_source::GitReference;
use tether_workloads::release::{
    ContainerTarget, ContainersSpec, ImageSelector, ReleasePlan, ReleaseSpec, WorkloadSelector,
};
use tether_workloads::{PolicyUpdate, ResourceId};
use tokio_util::sync::CancellationToken;

/// How many finished jobs are remembered (fluxd's status cache held 100).
const REMEMBERED: usize = 100;

/// Queued jobs and the status of recent ones.
#[derive(Default)]
pub(crate) struct Jobs {
    next: AtomicU64,
    statuses: Mutex<HashMap<String, JobStatus>>,
    finished: Mutex<VecDeque<String>>,
    queue: Mutex<VecDeque<(String, UpdateSpec)>>,
    wake: tokio::sync::Notify,
}

impl Jobs {
    /// Queues `spec`; returns the job id.
    pub fn enqueue(&self, spec: UpdateSpec) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let id = format!("{stamp:x}-{n}");
        self.set(&id, status("queued", JobResult::default(), String::new()));
        lock(&self.queue).push_back((id.clone(), spec));
        self.wake.notify_one();
        id
    }

    pub fn status(&self, id: &str) -> Option<JobStatus> {
        lock(&self.statuses).get(id).cloned()
    }

    fn set(&self, id: &str, status: JobStatus) {
        lock(&self.statuses).insert(id.to_owned(), status);
    }

    fn finish(&self, id: &str, status: JobStatus) {
        self.set(id, status);
        let mut finished = lock(&self.finished);
        finished.push_back(id.to_owned());
        while finished.len() > REMEMBERED {
            if let Some(old) = finished.pop_front() {
                lock(&self.statuses).remove(&old);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn status(state: &str, result: JobResult, err: String) -> JobStatus {
    JobStatus {
        result,
        err,
        status: state.to_owned(),
    }
}

/// Runs queued jobs until `shutdown`.
pub(crate) async fn run(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    loop {
        let next = lock(&daemon.jobs.queue).pop_front();
        let Some((id, spec)) = next else {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = daemon.jobs.wake.notified() => continue,
            }
        };
        daemon
            .jobs
            .set(&id, status("running", JobResult::default(), String::new()));
        let finished = match execute(&daemon, &spec).await {
            Ok(mut result) => {
                result.spec = Some(spec);
                status("succeeded", result, String::new())
            }
            Err(error) => {
                tracing::warn!(component = "daemon", job = %id, "job failed: {error}");
                status("failed", JobResult::default(), error)
            }
        };
        daemon.jobs.finish(&id, finished);
    }
}

/// Runs one update; the error text is what fluxctl prints.
async fn execute(daemon: &Daemon, spec: &UpdateSpec) -> Result<JobResult, String> {
    let writes = matches!(spec.kind.as_str(), "image" | "policy" | "containers");
    if writes && daemon.options.git_readonly {
        return Err("cannot make changes: fluxd runs with --git-readonly".into());
    }
    match spec.kind.as_str() {
        "sync" => sync_request(daemon).await,
        "image" => release(daemon, spec).await,
        "policy" => policy(daemon, spec).await,
        "containers" => release_containers(daemon, spec).await,
        other => Err(format!("unknown update type {other:?}")),
    }
}

/// `fluxctl sync`: the branch head now, and a sync started for it.
async fn sync_request(daemon: &Daemon) -> Result<JobResult, String> {
    let options = &daemon.options;
    let head = tether_source::remote_head(
        &options.git_url,
        &GitReference::branch(&options.git_branch),
        &daemon.auth(),
        options.git_timeout,
    )
    .await
    .map_err(|e| e.to_string())?;
    daemon.sync_now.notify_one();
    Ok(JobResult {
        revision: head.commit,
        ..JobResult::default()
    })
}

fn parse_id(text: &str) -> Result<ResourceId, String> {
    text.parse::<ResourceId>()
        .map_err(|e| format!("invalid workload id {text:?}: {e}"))
}

async fn release(daemon: &Daemon, spec: &UpdateSpec) -> Result<JobResult, String> {
    let wire: wire::ReleaseImageSpec =
        serde_json::from_value(spec.spec.clone()).map_err(|e| format!("invalid release: {e}"))?;
    let workloads = if wire.service_specs.iter().any(|s| s == "<all>") {
        WorkloadSelector::All
    } else {
        let ids = wire.service_specs.iter().map(|s| parse_id(s));
        WorkloadSelector::Ids(ids.collect::<Result<_, _>>()?)
    };
    let excludes = wire.excludes.iter().flatten().map(|s| parse_id(s));
    let release = ReleaseSpec {
        workloads,
        excludes: excludes.collect::<Result<_, _>>()?,
        image: match wire.image_spec.as_str() {
            "<all latest>" => ImageSelector::AllLatest,
            image => ImageSelector::Specific(image.to_owned()),
        },
        force: wire.force,
    };
    let repo = daemon.repository();
    if wire.kind == "plan" {
        let plan = tether_fluxv1::preview_release(&repo, &daemon.scanner, &release)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(plan_result(&plan, String::new()));
    }
    let cause = Some(spec.cause.message.as_str()).filter(|m| !m.is_empty());
    let done = tether_fluxv1::release(
        &repo,
        &daemon.scanner,
        &release,
        cause,
        &daemon.options.commit,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(released(daemon, done))
}

/// `fluxctl release --interactive`: the containers the user chose, each released only if its
/// image is still the one the user saw.
async fn release_containers(daemon: &Daemon, spec: &UpdateSpec) -> Result<JobResult, String> {
    let wire: wire::ReleaseContainersSpec =
        serde_json::from_value(spec.spec.clone()).map_err(|e| format!("invalid release: {e}"))?;
    let mut targets = BTreeMap::new();
    for (id, containers) in &wire.container_specs {
        let chosen = containers.iter().map(|c| ContainerTarget {
            container: c.container.clone(),
            current: c.current.clone(),
            target: c.target.clone(),
        });
        targets.insert(parse_id(id)?, chosen.collect());
    }
    let release = ContainersSpec {
        targets,
        skip_mismatches: wire.skip_mismatches,
        force: wire.force,
    };
    let repo = daemon.repository();
    if wire.kind == "plan" {
        let plan = tether_fluxv1::preview_release_containers(&repo, &release)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(plan_result(&plan, String::new()));
    }
    let cause = Some(spec.cause.message.as_str()).filter(|m| !m.is_empty());
    let done = tether_fluxv1::release_containers(&repo, &release, cause, &daemon.options.commit)
        .await
        .map_err(|e| e.to_string())?;
    Ok(released(daemon, done))
}

/// A committed release: the pushed commit is synced next, and the job reports the plan.
fn released(daemon: &Daemon, done: tether_fluxv1::Committed<ReleasePlan>) -> JobResult {
    let revision = done.commit.unwrap_or_default();
    if !revision.is_empty() {
        daemon.pushed(&revision);
    }
    plan_result(&done.report, revision)
}

/// A release plan as fluxd's `update.Result`.
fn plan_result(plan: &ReleasePlan, revision: String) -> JobResult {
    let mut result = BTreeMap::new();
    for (id, outcome) in &plan.results {
        let per_container = plan
            .updates
            .iter()
            .filter(|u| &u.workload == id)
            .map(|u| ContainerUpdate {
                container: u.container.clone(),
                current: u.old_image.clone(),
                target: u.new_image.clone(),
            })
            .collect();
        let workload = WorkloadResult {
            status: outcome.status.as_str().to_owned(),
            error: outcome.reason.as_deref().unwrap_or_default().to_owned(),
            per_container,
        };
        result.insert(id.to_string(), workload);
    }
    JobResult {
        revision,
        spec: None,
        result,
    }
}

async fn policy(daemon: &Daemon, spec: &UpdateSpec) -> Result<JobResult, String> {
    let wire: BTreeMap<String, wire::PolicyUpdate> = serde_json::from_value(spec.spec.clone())
        .map_err(|e| format!("invalid policy update: {e}"))?;
    let mut updates = Vec::new();
    for (id, change) in wire {
        let update = PolicyUpdate {
            add: change.add.unwrap_or_default(),
            remove: change.remove.unwrap_or_default().into_keys().collect(),
        };
        updates.push((parse_id(&id)?, update));
    }
    let cause = Some(spec.cause.message.as_str()).filter(|m| !m.is_empty());
    let done = tether_fluxv1::set_policy(
        &daemon.repository(),
        &updates,
        cause,
        &daemon.options.commit,
    )
    .await
    .map_err(|e| e.to_string())?;
    let revision = done.commit.unwrap_or_default();
    if !revision.is_empty() {
        daemon.pushed(&revision);
    }
    let result = done
        .report
        .iter()
        .map(|id| {
            let workload = WorkloadResult {
                status: "success".into(),
                error: String::new(),
                per_container: Vec::new(),
            };
            (id.to_string(), workload)
        })
        .collect();
    Ok(JobResult {
        revision,
        spec: None,
        result,
    })
}
