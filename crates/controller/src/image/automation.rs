//! The ImageUpdateAutomation reconciler: clones the GitRepository's branch (or
//! `git.checkout.ref`), writes the latest images of the selected ImagePolicies into the files
//! under `update.path` with the Setters strategy, commits with `git.commit` (author, message
//! template, signing key) and pushes to `git.push.branch` / `refspec`. A push that loses a race
//! with another commit starts again from the new remote tip; it is never forced. When neither
//! the policies nor the remote moved since the last run, nothing is cloned.

use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::reconcile::{Reconcile, RunOutcome, api_in};
use crate::secrets::secret_data;
use crate::status::{ConditionSet, now, requested_at};
use crate::triggers::fingerprint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tether_api::image::conditions::automation_reasons as reasons;
use tether_api::image::v1::{
    ImagePolicy, ImageUpdateAutomation, ImageUpdateAutomationStatus, ObservedPolicies,
};
use tether_api::meta::conditions::reasons as meta_reasons;
use tether_api::meta::conditions::{READY, STATUS_TRUE, find};
use tether_api::source::v1::GitRepository;
use tether_setters::{PolicyRef, UpdateResult};
use tether_source::{
    Author, CloneSpec, CommitOptions, Edit, Edited, GitReference, SigningKey, WorkingClone,
    WriteBackFailure, write_back,
};

/// Flux's Ready message of a successful run.
const UP_TO_DATE: &str = "repository up-to-date";
/// How many times a push rejected by a concurrent commit is retried from the new tip.
const PUSH_ATTEMPTS: u32 = 3;

/// One run: what it did, and the latest images of the policies it saw.
pub struct AutomationRun {
    result: Result<Ran, Failure>,
    observed: Option<ObservedPolicies>,
}

impl RunOutcome for AutomationRun {
    fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }
}

impl Reconcile for ImageUpdateAutomation {
    type Status = ImageUpdateAutomationStatus;
    type Outcome = AutomationRun;
    const ORIGIN: Origin = Origin::ImageAutomation;

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn interval(&self) -> Duration {
        self.spec
            .interval
            .to_std()
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(60))
    }

    /// Generation, `requestedAt` and the latest images of the selected policies (as cached).
    fn inputs(&self, ctx: &Context) -> Option<u64> {
        let observed = select(self, ctx.image_policies.state())
            .ok()
            .map(|policies| observed_policies(&policies));
        Some(fingerprint(&[
            &self.meta().generation,
            &requested_at(self),
            &observed,
        ]))
    }

    async fn run(&self, ctx: &Context) -> AutomationRun {
        match selected_policies(self, ctx).await {
            Ok(policies) => AutomationRun {
                observed: Some(observed_policies(&policies)),
                result: run(self, ctx, &policies).await,
            },
            Err(failure) => AutomationRun {
                result: Err(failure),
                observed: None,
            },
        }
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &AutomationRun) -> Self::Status {
        next_status(self, &outcome.result, outcome.observed.clone())
    }

    /// A push is told with its commit message; an up-to-date run only when it ends a failure.
    fn success_event(&self, outcome: &AutomationRun) -> Option<(&'static str, String)> {
        match outcome.result.as_ref().ok()? {
            Ran::Pushed(pushed) => {
                let short = &pushed.commit[..pushed.commit.len().min(7)];
                let mut note = format!("pushed commit '{short}' to branch '{}'", pushed.branch);
                if !pushed.message.is_empty() {
                    note.push('\n');
                    note.push_str(&pushed.message);
                }
                Some((meta_reasons::SUCCEEDED, note))
            }
            _ => {
                let was_ready = self
                    .conditions()
                    .and_then(|c| find(c, READY))
                    .is_some_and(|c| c.status == STATUS_TRUE);
                (!was_ready).then(|| (meta_reasons::SUCCEEDED, UP_TO_DATE.to_owned()))
            }
        }
    }

    /// An automation runs again when a policy it selects changes (a new latest image).
    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        let automations = ctx.image_update_automations.clone();
        controller.watches(
            api_in::<ImagePolicy>(&ctx.client, ctx.options.watch_namespace.as_deref()),
            kube::runtime::watcher::Config::default().any_semantic(),
            move |policy| automations_for(&automations, &policy),
        )
    }
}

/// What a successful run did.
enum Ran {
    /// Policies and remote unchanged since the last run: nothing cloned.
    Skipped,
    /// Cloned and updated; nothing to commit.
    UpToDate { revision: String },
    /// Committed and pushed.
    Pushed(Pushed),
}

struct Pushed {
    commit: String,
    branch: String,
    message: String,
    revision: String,
}

/// Automations in `policy`'s namespace whose selector takes it (a new latest image runs them).
fn automations_for(
    automations: &Store<ImageUpdateAutomation>,
    policy: &ImagePolicy,
) -> Vec<ObjectRef<ImageUpdateAutomation>> {
    let namespace = policy.namespace().unwrap_or_default();
    automations
        .state()
        .iter()
        .filter(|auto| auto.namespace().unwrap_or_default() == namespace)
        .filter(|auto| {
            selector_matches(auto.spec.policy_selector.as_ref(), policy.labels()).unwrap_or(false)
        })
        .map(|auto| ObjectRef::from_obj(auto.as_ref()))
        .collect()
}

/// The ImagePolicies in the automation's namespace that its selector takes and that have a
/// latest image. They come from the cache; an empty cache (at start-up, an automation may run
/// before the ImagePolicy cache has its first list, which it fills all at once) is checked
/// with a list from the API server, so that no run sees "no policies" by mistake.
async fn selected_policies(
    auto: &ImageUpdateAutomation,
    ctx: &Context,
) -> Result<Vec<Arc<ImagePolicy>>, Failure> {
    let namespace = auto.namespace().unwrap_or_default();
    let mut policies = ctx.image_policies.state();
    if policies.is_empty() {
        let api = Api::<ImagePolicy>::namespaced(ctx.client.clone(), &namespace);
        let listed = api.list(&ListParams::default()).await.map_err(|error| {
            Failure::new(
                reasons::RECONCILIATION_FAILED,
                format!("failed to list ImagePolicies: {error}"),
            )
        })?;
        policies = listed.items.into_iter().map(Arc::new).collect();
    }
    select(auto, policies)
}

/// The policies among `policies` that `auto` selects and that have a latest image, by name.
fn select(
    auto: &ImageUpdateAutomation,
    policies: Vec<Arc<ImagePolicy>>,
) -> Result<Vec<Arc<ImagePolicy>>, Failure> {
    let namespace = auto.namespace().unwrap_or_default();
    let mut selected = Vec::new();
    for policy in policies {
        if policy.namespace().unwrap_or_default() != namespace {
            continue;
        }
        let takes = selector_matches(auto.spec.policy_selector.as_ref(), policy.labels()).map_err(
            |message| {
                Failure::terminal(
                    reasons::INVALID_POLICY_SELECTOR,
                    format!("failed to parse policy selector: {message}"),
                )
            },
        )?;
        let has_latest = policy
            .status
            .as_ref()
            .and_then(|s| s.latest_ref.as_ref())
            .is_some();
        if takes && has_latest {
            selected.push(policy);
        }
    }
    selected.sort_by_key(|p| p.name_any());
    Ok(selected)
}

/// Whether `labels` satisfy `selector` (none selects everything). Errors on an operator the
/// label selector grammar does not have.
fn selector_matches(
    selector: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    let Some(selector) = selector else {
        return Ok(true);
    };
    for (key, value) in selector.match_labels.iter().flatten() {
        if labels.get(key) != Some(value) {
            return Ok(false);
        }
    }
    for requirement in selector.match_expressions.iter().flatten() {
        let values = requirement.values.clone().unwrap_or_default();
        let present = labels.get(&requirement.key);
        let ok = match requirement.operator.as_str() {
            "In" => present.is_some_and(|v| values.contains(v)),
            "NotIn" => present.is_none_or(|v| !values.contains(v)),
            "Exists" => present.is_some(),
            "DoesNotExist" => present.is_none(),
            other => {
                return Err(format!(
                    "\"{other}\" is not a valid label selector operator"
                ));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn observed_policies(policies: &[Arc<ImagePolicy>]) -> ObservedPolicies {
    policies
        .iter()
        .filter_map(|p| {
            let latest = p.status.as_ref()?.latest_ref.clone()?;
            Some((p.name_any(), latest))
        })
        .collect()
}

async fn run(
    auto: &ImageUpdateAutomation,
    ctx: &Context,
    policies: &[Arc<ImagePolicy>],
) -> Result<Ran, Failure> {
    let git = auto.spec.git_spec.as_ref().ok_or_else(|| {
        Failure::terminal(
            reasons::INVALID_SOURCE_CONFIGURATION,
            "source kind 'GitRepository' necessitates field .spec.git",
        )
    })?;
    let update = auto.spec.update_or_default();
    let repo = source_repository(auto, ctx).await?;
    let base = crate::git_source::clone_spec(&ctx.client, &repo)
        .await
        .map_err(|e| {
            Failure::new(
                reasons::SOURCE_MANAGER_FAILED,
                format!("failed configuring source manager: {e}"),
            )
        })?;
    let checkout = checkout_reference(auto, &repo);
    let push = git.push.as_ref();
    let spec = CloneSpec {
        checkout: checkout.clone(),
        push_branch: push
            .and_then(|p| p.branch.clone())
            .filter(|b| !b.is_empty()),
        ..base
    };
    let switches_branch = spec.push_branch.is_some() || git.has_refspec();
    let observed = observed_policies(policies);
    if !switches_branch
        && auto.status.as_ref().is_some_and(|s| {
            s.observed_policies.as_ref() == Some(&observed)
                && s.observed_generation == auto.meta().generation
        })
        && let Some(last) = auto
            .status
            .as_ref()
            .and_then(|s| s.observed_source_revision.clone())
    {
        let head = tether_source::remote_head(&spec.url, &checkout, &spec.auth, spec.timeout)
            .await
            .map_err(|e| {
                Failure::new(
                    reasons::GIT_OPERATION_FAILED,
                    format!("failed to checkout source: {e}"),
                )
                .terminal_if(e.is_terminal())
            })?;
        if head.to_string() == last && requested_at(auto) == last_handled(auto) {
            return Ok(Ran::Skipped);
        }
    }
    let signing_key = match &git.commit.signing_key {
        Some(key) => {
            let data = secret_data(
                &ctx.client,
                &auto.namespace().unwrap_or_default(),
                &key.secret_ref.name,
            )
            .await
            .map_err(|e| Failure::new(reasons::GIT_OPERATION_FAILED, e.to_string()))?;
            Some(SigningKey::from_secret_data(&data).map_err(|e| {
                Failure::terminal(
                    reasons::GIT_OPERATION_FAILED,
                    format!("signing key secret '{}': {e}", key.secret_ref.name),
                )
            })?)
        }
        None => None,
    };
    let policy_refs: Vec<PolicyRef> = policies
        .iter()
        .filter_map(|p| {
            let latest = p.status.as_ref()?.latest_ref.as_ref()?;
            Some(PolicyRef {
                namespace: p.namespace().unwrap_or_default(),
                name: p.name_any(),
                latest: Some(tether_setters::ImageRef {
                    name: latest.name.clone(),
                    tag: latest.tag.clone(),
                    digest: latest.digest.clone().unwrap_or_default(),
                }),
            })
        })
        .collect();
    let work = tempfile::Builder::new()
        .prefix(&format!(
            "{}-{}-",
            auto.namespace().unwrap_or_default(),
            auto.name_any()
        ))
        .tempdir_in(ensure_dir(&ctx.image_clones)?)
        .map_err(|e| Failure::new(reasons::GIT_OPERATION_FAILED, e.to_string()))?;
    let clone = WorkingClone::clone_into(spec.clone(), work.path())
        .await
        .map_err(|e| git_failure("failed to checkout source", &e, e.is_terminal()))?;
    let options = CommitOptions {
        author: Author {
            name: git.commit.author.name.clone().unwrap_or_default(),
            email: git.commit.author.email.clone(),
        },
        message: String::new(),
        time: SystemTime::now(),
        paths: None,
        signing_key,
    };
    let mut edit = SettersEdit {
        auto,
        git,
        update_path: update.path.clone().unwrap_or_default(),
        policies: policy_refs,
    };
    let refspec = push.and_then(|p| p.refspec.clone());
    let written = write_back(
        clone,
        &options,
        refspec.as_deref(),
        PUSH_ATTEMPTS,
        &mut edit,
    )
    .await
    .map_err(|failure| match failure {
        WriteBackFailure::Edit(failure) => failure,
        WriteBackFailure::Git(e) => git_failure("failed to update source", &e, e.is_terminal()),
    })?;
    Ok(match (written.commit, written.report) {
        (Some(commit), Some(message)) => Ran::Pushed(Pushed {
            commit,
            branch: written.branch.unwrap_or_default(),
            message,
            revision: written.base,
        }),
        _ => Ran::UpToDate {
            revision: written.base,
        },
    })
}

fn git_failure(stage: &str, error: &dyn std::fmt::Display, terminal: bool) -> Failure {
    Failure::new(reasons::GIT_OPERATION_FAILED, format!("{stage}: {error}")).terminal_if(terminal)
}

/// The Setters strategy as a write-back edit: the latest images written into the files under
/// `update.path`; its report is the commit message, when something changed.
struct SettersEdit<'a> {
    auto: &'a ImageUpdateAutomation,
    git: &'a tether_api::image::v1::GitSpec,
    update_path: String,
    policies: Vec<PolicyRef>,
}

impl Edit for SettersEdit<'_> {
    type Report = Option<String>;
    type Error = Failure;

    async fn apply(&mut self, root: &std::path::Path) -> Result<Edited<Option<String>>, Failure> {
        let result = apply_setters(root, &self.update_path, &self.policies).await?;
        if result.is_empty() {
            return Ok(Edited {
                message: None,
                report: None,
            });
        }
        let message = commit_message(self.auto, self.git, &result)?;
        Ok(Edited {
            message: Some(message.clone()),
            report: Some(message),
        })
    }
}

fn last_handled(auto: &ImageUpdateAutomation) -> Option<String> {
    auto.status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.clone())
}

fn ensure_dir(dir: &std::path::Path) -> Result<&std::path::Path, Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::new(
            reasons::GIT_OPERATION_FAILED,
            format!("cannot create work directory {}: {e}", dir.display()),
        )
    })?;
    Ok(dir)
}

async fn apply_setters(
    root: &std::path::Path,
    update_path: &str,
    policies: &[PolicyRef],
) -> Result<UpdateResult, Failure> {
    let (root, path, policies) = (
        root.to_path_buf(),
        update_path.to_owned(),
        policies.to_vec(),
    );
    tokio::task::spawn_blocking(move || {
        tether_setters::update_with_setters(&root, &path, &policies)
    })
    .await
    .map_err(|e| Failure::new(reasons::UPDATE_FAILED, e.to_string()))?
    .map_err(|e| {
        let terminal = matches!(e, tether_setters::SettersError::PathEscapes { .. });
        Failure::new(
            reasons::UPDATE_FAILED,
            format!("failed to apply policies: {e}"),
        )
        .terminal_if(terminal)
    })
}

/// The GitRepository of `sourceRef` (same namespace unless given).
async fn source_repository(
    auto: &ImageUpdateAutomation,
    ctx: &Context,
) -> Result<GitRepository, Failure> {
    let source = &auto.spec.source_ref;
    let own = auto.namespace().unwrap_or_default();
    let namespace = source
        .namespace
        .clone()
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| own.clone());
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    api.get_opt(&source.name)
        .await
        .map_err(|e| {
            Failure::new(
                reasons::SOURCE_MANAGER_FAILED,
                format!("failed configuring source manager: {e}"),
            )
        })?
        .ok_or_else(|| {
            Failure::new(
                reasons::SOURCE_MANAGER_FAILED,
                format!(
                    "failed configuring source manager: GitRepository '{namespace}/{}' not found",
                    source.name
                ),
            )
        })
}

/// `git.checkout.ref`, else the GitRepository's own ref (its default branch `master` when
/// neither says, as Flux).
fn checkout_reference(auto: &ImageUpdateAutomation, repo: &GitRepository) -> GitReference {
    let from_spec = auto
        .spec
        .git_spec
        .as_ref()
        .and_then(|g| g.checkout.as_ref())
        .map(|c| &c.reference)
        .or(repo.spec.reference.as_ref());
    crate::git_source::git_reference(from_spec)
}

/// The commit message: `git.commit.messageTemplate` rendered over the update result, or
/// Flux's default.
fn commit_message(
    auto: &ImageUpdateAutomation,
    git: &tether_api::image::v1::GitSpec,
    result: &UpdateResult,
) -> Result<String, Failure> {
    let automation = tether_setters::AutomationObject {
        namespace: auto.namespace().unwrap_or_default(),
        name: auto.name_any(),
    };
    tether_setters::commit_message(
        git.commit.message_template.as_deref().unwrap_or_default(),
        &automation,
        result,
        &git.commit
            .message_template_values
            .clone()
            .unwrap_or_default(),
    )
    .map_err(|e| {
        let reason = if e.is_terminal() {
            reasons::REMOVED_TEMPLATE_FIELD
        } else {
            reasons::GIT_OPERATION_FAILED
        };
        let message = if e.is_terminal() {
            e.to_string()
        } else {
            format!("failed to update source: {e}")
        };
        Failure::new(reason, message).terminal_if(e.is_terminal())
    })
}

fn next_status(
    auto: &ImageUpdateAutomation,
    outcome: &Result<Ran, Failure>,
    observed: Option<ObservedPolicies>,
) -> ImageUpdateAutomationStatus {
    let mut status = auto.status.clone().unwrap_or_default();
    let generation = auto.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    match outcome {
        Ok(ran) => {
            match ran {
                Ran::Skipped => {}
                Ran::UpToDate { revision } => {
                    status.observed_source_revision = Some(revision.clone());
                }
                Ran::Pushed(pushed) => {
                    status.observed_source_revision = Some(if pushed_to_checkout(auto) {
                        format!("{}@sha1:{}", pushed.branch, pushed.commit)
                    } else {
                        pushed.revision.clone()
                    });
                    status.last_push_commit = Some(pushed.commit.clone());
                    status.last_push_time = Some(now());
                }
            }
            status.observed_policies = observed;
            status.last_automation_run_time = Some(now());
            status.observed_generation = generation;
            conditions.ready(meta_reasons::SUCCEEDED, UP_TO_DATE);
        }
        Err(failure) => {
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            if failure.terminal {
                status.observed_generation = generation;
            }
        }
    }
    status.conditions = Some(conditions.into_sorted());
    if let Some(requested) = requested_at(auto) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

/// Whether commits go to the checked-out branch itself (no distinct push branch or refspec).
fn pushed_to_checkout(auto: &ImageUpdateAutomation) -> bool {
    auto.spec.git_spec.as_ref().is_none_or(|git| {
        git.push
            .as_ref()
            .is_none_or(|p| p.branch.as_deref().is_none_or(str::is_empty) && !git.has_refspec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        let labels: BTreeMap<String, String> = [("app".to_owned(), "web".to_owned())].into();
        assert_eq!(selector_matches(None, &labels), Ok(true));
        let by_label = LabelSelector {
            match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
            match_expressions: None,
        };
        assert_eq!(selector_matches(Some(&by_label), &labels), Ok(true));
        let not_in = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "app".into(),
                operator: "NotIn".into(),
                values: Some(vec!["web".into()]),
            }]),
        };
        assert_eq!(selector_matches(Some(&not_in), &labels), Ok(false));
        let bad = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "app".into(),
                operator: "Near".into(),
                values: None,
            }]),
        };
        assert!(selector_matches(Some(&bad), &labels).is_err());
    }
}
