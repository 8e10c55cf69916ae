//! The ImagePolicy reconciler: resolves the ImageRepository it refers to (cross-namespace only
//! when the repository's `accessFrom` admits the policy's namespace), runs the policy from
//! `tether-imagepolicy` over the scanned tags, reflects the digest when asked, and reports
//! `latestRef` (and `observedPreviousRef` when it changes). A policy is re-evaluated whenever
//! its repository's status changes, so a new tag is elected as soon as it is scanned.

use super::repository::cache_key;
use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::reconcile::{Next, Reconcile, api_in};
use crate::registry_access::scan_options;
use crate::status::{ConditionSet, requested_at};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tether_api::image::conditions::reasons;
use tether_api::image::v1::{
    ImagePolicy, ImagePolicyChoice, ImagePolicyStatus, ImageRef, ImageRepository, ReflectionPolicy,
    SortOrder,
};
use tether_api::meta::conditions::reasons as meta_reasons;
use tether_imagepolicy::{FilterTagsSpec, OrderSpec, Policy, PolicySpec, SemverSpec};
use tether_registry::ImageName;

impl Reconcile for ImagePolicy {
    type Status = ImagePolicyStatus;
    type Outcome = Result<ImageRef, Failure>;
    const ORIGIN: Origin = Origin::ImageReflector;

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    /// `spec.interval`, needed only to re-fetch digests; a policy without one runs when its
    /// repository is scanned or it changes.
    fn interval(&self) -> Duration {
        self.spec
            .requeue_interval()
            .ok()
            .flatten()
            .unwrap_or(Duration::MAX)
    }

    /// An election is cheap and reads the repository's tags: every trigger runs it.
    fn inputs(&self, _ctx: &Context) -> Option<u64> {
        None
    }

    async fn run(&self, ctx: &Context) -> Self::Outcome {
        elect(self, ctx).await
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, outcome)
    }

    /// A newly elected image is told.
    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        let latest = outcome.as_ref().ok()?;
        let before = self.status.as_ref().and_then(|s| s.latest_ref.as_ref());
        if before == Some(latest) {
            return None;
        }
        let note = match before {
            Some(prev) => format!(
                "Latest image tag for {} updated from {} to {}",
                latest.name, prev.tag, latest.tag
            ),
            None => ready_message(latest, None),
        };
        Some((meta_reasons::SUCCEEDED, note))
    }

    fn next_run(&self, ctx: &Context, outcome: &Self::Outcome) -> Next {
        match outcome {
            Ok(_) => match self.spec.requeue_interval() {
                Ok(Some(interval)) => Next::After(interval),
                _ => Next::AwaitChange,
            },
            Err(failure) if failure.terminal => Next::AwaitChange,
            Err(failure) => Next::After(failure.retry_after.unwrap_or(ctx.options.default_retry)),
        }
    }

    /// A policy is elected again when its ImageRepository's status changes (a scan).
    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        let policies = ctx.image_policies.clone();
        controller.watches(
            api_in::<ImageRepository>(&ctx.client, ctx.options.watch_namespace.as_deref()),
            kube::runtime::watcher::Config::default().any_semantic(),
            move |repo| policies_for(&policies, &repo),
        )
    }
}

/// The namespace and name of the ImageRepository `policy` refers to.
pub fn repository_of(policy: &ImagePolicy) -> (String, String) {
    let reference = &policy.spec.image_repository_ref;
    let namespace = reference
        .namespace
        .clone()
        .filter(|ns| !ns.is_empty())
        .or_else(|| policy.namespace())
        .unwrap_or_default();
    (namespace, reference.name.clone())
}

/// ImagePolicies that refer to `repo` (a new scan re-elects them).
fn policies_for(
    policies: &Store<ImagePolicy>,
    repo: &ImageRepository,
) -> Vec<ObjectRef<ImagePolicy>> {
    let key = (repo.namespace().unwrap_or_default(), repo.name_any());
    policies
        .state()
        .iter()
        .filter(|policy| repository_of(policy) == key)
        .map(|policy| ObjectRef::from_obj(policy.as_ref()))
        .collect()
}

/// Translates the API's policy into the engine's.
pub fn policy_spec(
    choice: &ImagePolicyChoice,
    filter: Option<&tether_api::image::v1::TagFilter>,
) -> PolicySpec {
    let order = |order: SortOrder| OrderSpec {
        order: order.to_string(),
    };
    PolicySpec {
        semver: choice.semver.as_ref().map(|s| SemverSpec {
            range: s.range.clone(),
        }),
        alphabetical: choice
            .alphabetical
            .as_ref()
            .map(|a| order(a.order_or_default())),
        numerical: choice
            .numerical
            .as_ref()
            .map(|n| order(n.order_or_default())),
        filter_tags: filter.map(|f| FilterTagsSpec {
            pattern: f.pattern.clone().unwrap_or_default(),
            extract: f.extract.clone().unwrap_or_default(),
        }),
    }
}

async fn elect(policy: &ImagePolicy, ctx: &Context) -> Result<ImageRef, Failure> {
    if policy.spec.digest_reflection_policy_or_default() == ReflectionPolicy::Always
        && policy.spec.interval.is_none()
    {
        return Err(Failure::terminal(
            reasons::INTERVAL_NOT_CONFIGURED,
            "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
        ));
    }
    let repo = referenced_repository(policy, ctx).await?;
    let engine = Policy::new(&policy_spec(
        &policy.spec.policy,
        policy.spec.filter_tags.as_ref(),
    ))
    .map_err(|e| Failure::terminal(reasons::INVALID_POLICY, e.to_string()))?;
    let dependency = |message: String| {
        Failure::new(
            reasons::DEPENDENCY_NOT_READY,
            format!(
                "retrying in {}s error: {message}",
                ctx.options.dependency_requeue.as_secs()
            ),
        )
        .retry_after(Some(ctx.options.dependency_requeue))
    };
    let Some(canonical) = repo
        .status
        .as_ref()
        .and_then(|s| s.canonical_image_name.clone())
    else {
        return Err(dependency(format!(
            "ImageRepository '{}/{}' has not been scanned yet",
            repo.namespace().unwrap_or_default(),
            repo.name_any()
        )));
    };
    let key = cache_key(
        &repo.namespace().unwrap_or_default(),
        &repo.name_any(),
        &canonical,
    );
    let tags = match ctx.tags.load(&key) {
        Ok(Some(scan)) if !scan.tags.is_empty() => scan.tags,
        Ok(_) => return Err(dependency("no tags in database".into())),
        Err(e) => {
            return Err(Failure::new(
                meta_reasons::RECONCILIATION_FAILED,
                format!("failed to read tags from database: {e}"),
            ));
        }
    };
    let selection = engine
        .select(tags.iter().map(String::as_str))
        .map_err(|e| {
            let reason = match e.is_terminal() {
                true => reasons::INVALID_POLICY,
                false => reasons::FAILURE,
            };
            Failure::new(reason, e.to_string()).terminal_if(e.is_terminal())
        })?;
    let mut latest = ImageRef {
        name: repo.spec.image.clone(),
        tag: selection.tag,
        digest: None,
    };
    let previous = policy.status.as_ref().and_then(|s| s.latest_ref.as_ref());
    let fetch_digest = match policy.spec.digest_reflection_policy_or_default() {
        ReflectionPolicy::Never => false,
        ReflectionPolicy::Always => true,
        ReflectionPolicy::IfNotPresent => match previous {
            Some(prev) if prev.name == latest.name && prev.tag == latest.tag => {
                latest.digest = prev.digest.clone().filter(|d| !d.is_empty());
                latest.digest.is_none()
            }
            _ => true,
        },
    };
    if fetch_digest {
        latest.digest = Some(digest_of(&repo, &latest, ctx).await?);
    }
    Ok(latest)
}

async fn referenced_repository(
    policy: &ImagePolicy,
    ctx: &Context,
) -> Result<ImageRepository, Failure> {
    let (namespace, name) = repository_of(policy);
    let own = policy.namespace().unwrap_or_default();
    let missing = |message: String| {
        Failure::new(
            reasons::DEPENDENCY_NOT_READY,
            format!("failed to get the referred ImageRepository: {message}"),
        )
        .retry_after(Some(ctx.options.dependency_requeue))
    };
    let repo = ctx
        .image_repositories
        .get(&ObjectRef::new(&name).within(&namespace))
        .map(|r| r.as_ref().clone());
    let repo = match repo {
        Some(repo) => repo,
        None => {
            let api: Api<ImageRepository> = Api::namespaced(ctx.client.clone(), &namespace);
            api.get_opt(&name)
                .await
                .map_err(|e| missing(e.to_string()))?
                .ok_or_else(|| {
                    missing(format!(
                        "referenced ImageRepository does not exist: imagerepositories.image.toolkit.fluxcd.io \"{name}\" not found"
                    ))
                })?
        }
    };
    if namespace != own {
        check_access(&repo, &own, ctx).await?;
    }
    Ok(repo)
}

/// Flux's ACL: a cross-namespace reference needs the referent's `accessFrom` to select the
/// referring namespace by its labels.
async fn check_access(repo: &ImageRepository, from: &str, ctx: &Context) -> Result<(), Failure> {
    let denied = |message: String| {
        Failure::new(
            reasons::ACCESS_DENIED,
            format!("failed to get the referred ImageRepository: access denied: {message}"),
        )
        .retry_after(Some(ctx.options.dependency_requeue))
    };
    let target = format!(
        "ImageRepository/{}/{}",
        repo.namespace().unwrap_or_default(),
        repo.name_any()
    );
    let Some(access) = &repo.spec.access_from else {
        return Err(denied(format!(
            "'{target}' can't be accessed due to missing ACL labels on 'accessFrom'"
        )));
    };
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let labels = namespaces
        .get_opt(from)
        .await
        .map_err(|e| denied(e.to_string()))?
        .map(|ns| ns.labels().clone())
        .unwrap_or_default();
    let admitted = access.namespace_selectors.iter().any(|selector| {
        selector
            .match_labels
            .iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v))
    });
    if admitted {
        Ok(())
    } else {
        Err(denied(format!(
            "'{target}' can't be accessed due to labels mismatch on namespace '{from}'"
        )))
    }
}

async fn digest_of(
    repo: &ImageRepository,
    latest: &ImageRef,
    ctx: &Context,
) -> Result<String, Failure> {
    let failure = |message: String| {
        Failure::new(
            meta_reasons::RECONCILIATION_FAILED,
            format!("failed fetching digest of {latest}: {message}"),
        )
    };
    let image = ImageName::parse(&repo.spec.image).map_err(|e| failure(e.to_string()))?;
    let options = scan_options(&ctx.client, &super::access_of(repo), &image)
        .await
        .map_err(failure)?;
    ctx.registry
        .manifest_digest(&image, &latest.tag, &options)
        .await
        .map_err(|e| failure(e.to_string()).retry_after(e.suggested_backoff()))
}

/// Flux's Ready message: `Latest image tag for <name> resolved to <tag>[ with digest <d>]
/// [ (previously <name>:<tag>[@<digest>])]`.
fn ready_message(latest: &ImageRef, previous: Option<&ImageRef>) -> String {
    let mut message = format!(
        "Latest image tag for {} resolved to {}",
        latest.name, latest.tag
    );
    if let Some(digest) = latest.digest.as_deref().filter(|d| !d.is_empty()) {
        message.push_str(&format!(" with digest {digest}"));
    }
    if let Some(prev) = previous.filter(|prev| *prev != latest) {
        message.push_str(&format!(" (previously {}:{}", prev.name, prev.tag));
        if let Some(digest) = prev.digest.as_deref().filter(|d| !d.is_empty()) {
            message.push_str(&format!("@{digest}"));
        }
        message.push(')');
    }
    message
}

fn next_status(policy: &ImagePolicy, outcome: &Result<ImageRef, Failure>) -> ImagePolicyStatus {
    let mut status = policy.status.clone().unwrap_or_default();
    let generation = policy.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    match outcome {
        Ok(latest) => {
            if status.latest_ref.as_ref() != Some(latest) {
                status.observed_previous_ref = status.latest_ref.take();
                status.latest_ref = Some(latest.clone());
            }
            status.observed_generation = generation;
            let message = ready_message(latest, status.observed_previous_ref.as_ref());
            conditions.ready(meta_reasons::SUCCEEDED, message);
        }
        Err(failure) => {
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            if failure.terminal {
                status.observed_generation = generation;
            }
        }
    }
    status.conditions = Some(conditions.into_sorted());
    if let Some(requested) = requested_at(policy) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_message_names_the_previous_image() {
        let latest = ImageRef {
            name: "ghcr.io/app".into(),
            tag: "1.1".into(),
            digest: None,
        };
        let prev = ImageRef {
            tag: "1.0".into(),
            ..latest.clone()
        };
        assert_eq!(
            ready_message(&latest, Some(&prev)),
            "Latest image tag for ghcr.io/app resolved to 1.1 (previously ghcr.io/app:1.0)"
        );
        assert_eq!(
            ready_message(&latest, Some(&latest)),
            "Latest image tag for ghcr.io/app resolved to 1.1"
        );
    }
}
