//! The HelmRelease reconciler (`helm.toolkit.fluxcd.io/v2`), as helm-controller's pipeline:
//! dependencies → chart source (the HelmChart it owns, or its `chartRef`) → chart loaded from
//! the artifact → values composed (`crate::helm_values`) → `resetAt`/`forceAt` requests
//! (`requests.rs`) → the atomic release loop (`release.rs`: state, action, remediation, drift)
//! on `tether-helm-actions` → status.
//! The loop around it is the driver's (`crate::reconcile`); deleting the object uninstalls the
//! release and deletes the HelmChart it made.

pub mod capabilities;
mod chart;
mod post_render;
mod preserve;
mod release;
mod requests;
mod target;

pub use chart::LoadedCharts;

use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, Next, Reconcile};
use crate::status::ConditionSet;
use crate::triggers::fingerprint;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tether_api::helm::conditions::reasons;
use tether_api::helm::v2::{HelmRelease, HelmReleaseStatus, ValuesKind};
use tether_api::meta::conditions::{READY, RECONCILING, is_true};
use tether_api::source::v1::{ExternalArtifact, HelmChart, OCIRepository};
use tether_helm_actions::{ReleaseStore, Target};
use tokio_util::sync::CancellationToken;

/// One run of the pipeline: its result, the status it leads to, the event it tells.
pub struct Attempt {
    pub result: Result<(), Failure>,
    pub status: HelmReleaseStatus,
    pub event: Option<(&'static str, String)>,
}

impl crate::reconcile::RunOutcome for Attempt {
    fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }
}

impl Reconcile for HelmRelease {
    type Status = HelmReleaseStatus;
    type Outcome = Attempt;
    const ORIGIN: Origin = Origin::Helm;
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

    /// Generation, `requestedAt`/`forceAt`/`resetAt`, and the chart artifact's digest as the
    /// HelmChart reported it.
    fn inputs(&self, ctx: &Context) -> Option<u64> {
        let requested = crate::status::requested_at(self);
        let annotations = self.annotations();
        let force = annotations.get("reconcile.fluxcd.io/forceAt");
        let reset = annotations.get(tether_api::helm::RESET_REQUEST_ANNOTATION);
        let chart = chart::source_fingerprint(self, ctx);
        Some(fingerprint(&[
            &self.meta().generation,
            &requested,
            &force,
            &reset,
            &chart,
        ]))
    }

    async fn run(&self, ctx: &Context) -> Attempt {
        let mut status = self.status.clone().unwrap_or_default();
        let mut conditions = ConditionSet::new(status.conditions.as_ref(), self.meta().generation);
        let result = steps(self, ctx, &mut status, &mut conditions).await;
        let event = match &result {
            Ok(progress) => {
                let message = conditions
                    .conditions
                    .iter()
                    .find(|c| c.type_ == tether_api::helm::conditions::RELEASED)
                    .map(|c| (c.reason.clone(), c.message.clone()));
                if let Some((reason, message)) = message {
                    let reason = static_reason(&reason);
                    conditions.ready(reason, message);
                }
                progress.event.clone()
            }
            Err(failure) => {
                conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
                None
            }
        };
        conditions.remove(RECONCILING);
        status.observed_generation = self.meta().generation;
        status.last_handled_reconcile_at = crate::status::requested_at(self);
        status.conditions = Some(conditions.into_sorted());
        Attempt {
            result: result.map(|_| ()),
            status,
            event,
        }
    }

    fn current_status(&self) -> Option<&HelmReleaseStatus> {
        self.status.as_ref()
    }

    fn next_status(&self, attempt: &Attempt) -> HelmReleaseStatus {
        attempt.status.clone()
    }

    fn success_event(&self, attempt: &Attempt) -> Option<(&'static str, String)> {
        attempt.event.clone()
    }

    fn next_run(&self, ctx: &Context, attempt: &Attempt) -> Next {
        match &attempt.result {
            // helm-controller waits for the chart source's watch, and looks again after the
            // jittered dependency requeue.
            Err(failure) if failure.reason == reasons::SOURCE_NOT_READY => Next::After(
                crate::triggers::with_jitter(ctx.options.dependency_requeue, &ObjectKey::of(self)),
            ),
            Err(failure) if failure.reason == reasons::ARTIFACT_FAILED && !failure.terminal => {
                Next::After(ctx.options.dependency_requeue.min(Duration::from_secs(5)))
            }
            Err(failure) if failure.reason == reasons::DEPENDENCY_NOT_READY => {
                Next::After(ctx.options.dependency_requeue)
            }
            other => crate::reconcile::usual_next_run(self, &ctx.options, other.as_ref().err()),
        }
    }

    /// Uninstalls the release (unless the object is suspended, as Flux) and deletes the
    /// HelmChart `spec.chart` made.
    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        if !self.suspended() {
            let access = access_for(self, ctx)
                .await
                .map_err(|f| -> CleanUpError { f.message.into() })?;
            let manager = access.manager;
            let store = ReleaseStore::new(access.client, &self.storage_namespace());
            let release_name = self.release_name();
            let namespace = self.release_namespace();
            let target = Target {
                name: &release_name,
                namespace: &namespace,
                store: &store,
                manager: &manager,
                cancel: CancellationToken::new(),
            };
            target::uninstall(self, &target)
                .await
                .map_err(|e| -> CleanUpError { format!("Helm uninstall failed: {e}").into() })?;
        }
        chart::delete_helm_chart(self, ctx)
            .await
            .map_err(|e| -> CleanUpError { format!("cannot delete the HelmChart: {e}").into() })
    }

    /// A HelmRelease runs again when its HelmChart or `chartRef` OCIRepository changes status
    /// (new artifact, failure), and when a labelled ConfigMap or Secret it reads changes
    /// (`config_watch`); the copy a watch delivered is remembered, as the source's store may
    /// not have it yet.
    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        let namespace = ctx.options.watch_namespace.as_deref();
        let watch = kube::runtime::watcher::Config::default().any_semantic();
        let (releases, remembering) = (ctx.helm_releases.clone(), ctx.clone());
        let controller = controller.watches(
            crate::reconcile::api_in::<HelmChart>(&ctx.client, namespace),
            watch.clone(),
            move |chart: HelmChart| {
                let woken = chart::releases_of_chart(&releases, &chart);
                remembering.newest_helm_charts.remember(Arc::new(chart));
                woken
            },
        );
        let (releases, remembering) = (ctx.helm_releases.clone(), ctx.clone());
        let controller = controller.watches(
            crate::reconcile::api_in::<ExternalArtifact>(&ctx.client, namespace),
            watch.clone(),
            move |source: ExternalArtifact| {
                let key = (source.namespace().unwrap_or_default(), source.name_any());
                remembering
                    .newest_external_artifacts
                    .remember(Arc::new(source));
                releases_of(&releases, |hr| {
                    chart::external_chart_ref(hr) == Some(key.clone())
                })
            },
        );
        let controller = crate::config_watch::wake_on_configs(controller, ctx);
        let (releases, remembering) = (ctx.helm_releases.clone(), ctx.clone());
        controller.watches(
            crate::reconcile::api_in::<OCIRepository>(&ctx.client, namespace),
            watch,
            move |source: OCIRepository| {
                let key = (source.namespace().unwrap_or_default(), source.name_any());
                remembering.newest_oci_sources.remember(Arc::new(source));
                releases_of(&releases, |hr| {
                    chart::oci_chart_ref(hr) == Some(key.clone())
                })
            },
        )
    }
}

/// helm-controller's config dependencies of a HelmRelease: the kubeConfig ConfigMap or
/// Secret and the `valuesFrom` objects.
impl crate::config_watch::ReadsConfigs for HelmRelease {
    fn config_maps(&self) -> Vec<&str> {
        let kube_config = self.spec.kube_config.as_ref();
        kube_config
            .and_then(|k| k.config_map_ref.as_ref())
            .map(|r| r.name.as_str())
            .into_iter()
            .chain(values_from(self, ValuesKind::ConfigMap))
            .collect()
    }

    fn secrets(&self) -> Vec<&str> {
        let kube_config = self.spec.kube_config.as_ref();
        kube_config
            .and_then(|k| k.secret_ref.as_ref())
            .map(|r| r.name.as_str())
            .into_iter()
            .chain(values_from(self, ValuesKind::Secret))
            .collect()
    }
}

/// Names of the `valuesFrom` objects of `kind`.
fn values_from(hr: &HelmRelease, kind: ValuesKind) -> impl Iterator<Item = &str> {
    let from = hr.spec.values_from.as_ref();
    from.into_iter()
        .flatten()
        .filter(move |r| r.kind == kind)
        .map(|r| r.name.as_str())
}

/// The HelmReleases of the store that `wanted` picks, as references to reconcile.
pub(crate) fn releases_of(
    releases: &kube::runtime::reflector::Store<HelmRelease>,
    wanted: impl Fn(&HelmRelease) -> bool,
) -> Vec<ObjectRef<HelmRelease>> {
    releases
        .state()
        .iter()
        .filter(|hr| wanted(hr))
        .map(|hr| ObjectRef::from_obj(hr.as_ref()))
        .collect()
}

/// The client, apply manager and capabilities of a release: its cluster (`spec.kubeConfig`) as
/// its ServiceAccount (`spec.serviceAccountName` or the controller's default); helm-controller's
/// field manager, the HelmRelease's labels.
async fn access_for(hr: &HelmRelease, ctx: &Context) -> Result<crate::clusters::Access, Failure> {
    let namespace = hr.namespace().unwrap_or_default();
    let identity = crate::clusters::Identity {
        namespace: &namespace,
        service_account: hr.spec.service_account_name.as_deref(),
        kube_config: hr.spec.kube_config.as_ref(),
    };
    let access = ctx.clusters.access(identity).await.map_err(|e| {
        Failure::new(
            reasons::RECONCILIATION_FAILED,
            format!("failed to build kube client: {e}"),
        )
    })?;
    let labels = std::collections::BTreeMap::from([
        (tether_api::helm::NAME_LABEL.to_owned(), hr.name_any()),
        (
            tether_api::helm::NAMESPACE_LABEL.to_owned(),
            hr.namespace().unwrap_or_default(),
        ),
    ]);
    let manager = access
        .manager
        .with_field_manager(tether_api::helm::FIELD_MANAGER)
        .with_owner_labels(labels);
    Ok(crate::clusters::Access { manager, ..access })
}

async fn steps(
    hr: &HelmRelease,
    ctx: &Context,
    status: &mut HelmReleaseStatus,
    conditions: &mut ConditionSet,
) -> Result<release::Progress, Failure> {
    let health_rules = crate::health_exprs::parse(hr.spec.health_check_exprs.as_deref())?;
    chart::check_source_access(hr, ctx)?;
    check_dependencies(hr, ctx)?;
    let current_chart = chart::ensure_helm_chart(hr, ctx).await?;
    if let Some((namespace, name)) = chart::helm_chart_key(hr) {
        status.helm_chart = Some(format!("{namespace}/{name}"));
    }
    let artifact = chart::chart_artifact(hr, ctx, current_chart).await?;
    let external = chart::uses_external_artifact(hr);
    let chart = ctx.loaded_charts.load(ctx, &artifact, external).await?;
    let namespace = hr.namespace().unwrap_or_default();
    let config = crate::helm_values::compose(
        &ctx.client,
        &namespace,
        hr.spec.values_from.as_deref().unwrap_or_default(),
        hr.spec.values.as_ref(),
    )
    .await?;
    let access = access_for(hr, ctx).await?;
    if let Some(change) = target::changed(hr, status, &chart.metadata.name)
        && target::uninstalls_first(hr, change)
        && let Some(message) = target::uninstall_recorded(hr, &access, status, change).await?
    {
        ctx.events
            .publish(
                <HelmRelease as Reconcile>::ORIGIN,
                hr,
                false,
                reasons::UNINSTALL_SUCCEEDED,
                message,
            )
            .await;
    }
    let config_digest = release::config_digest(&config);
    let generation = hr.meta().generation;
    let reset = requests::take_reset_request(hr, status);
    if status.last_attempted_generation != generation
        || status.last_attempted_config_digest.as_deref() != Some(&config_digest)
        || reset
    {
        status.install_failures = None;
        status.upgrade_failures = None;
        status.failures = None;
    }
    status.last_attempted_generation = generation;
    status.last_attempted_config_digest = Some(config_digest.clone());
    status.last_attempted_revision = Some(chart.metadata.version.clone());
    status.last_attempted_revision_digest = Some(artifact.digest.clone());
    status.storage_namespace = Some(hr.storage_namespace());
    let release_name = hr.release_name();
    let release_namespace = hr.release_namespace();
    let capabilities = access
        .capabilities
        .get()
        .await
        .map_err(|e| Failure::new(reasons::INIT_FAILED, e))?;
    let client = access.client;
    let manager = crate::health_exprs::judged_by(access.manager, health_rules);
    let store = ReleaseStore::new(client.clone(), &hr.storage_namespace());
    let post_renderer = post_render::of(hr)?;
    ensure_namespace(hr, &client, &release_namespace).await?;
    let render = |input: &release::RenderInput<'_>| -> Result<release::Rendered, Failure> {
        let is_upgrade = input.is_upgrade;
        let mut chart_to_render = chart.as_ref().clone();
        if let Some(defaults) = input.chart_defaults {
            chart_to_render.values = defaults.clone();
        }
        let options = tether_helm::TemplateOptions {
            release: tether_helm::ReleaseOptions {
                name: release_name.clone(),
                namespace: release_namespace.clone(),
                revision: input.revision,
                is_upgrade,
            },
            capabilities: capabilities.as_ref().clone(),
            values: input.values.clone(),
            post_renderer: post_renderer.clone(),
            skip_schema_validation: schema_validation_disabled(hr, is_upgrade),
            ..tether_helm::TemplateOptions::default()
        };
        let (rendered, processed) =
            tether_helm::template_for_release(chart_to_render, &options).map_err(|e| {
                Failure::new(
                    if is_upgrade {
                        reasons::UPGRADE_FAILED
                    } else {
                        reasons::INSTALL_FAILED
                    },
                    format!(
                        "Helm {} failed for release {release_namespace}/{release_name} with chart {}@{}: {e}",
                        if is_upgrade { "upgrade" } else { "install" },
                        chart.metadata.name,
                        chart.metadata.version
                    ),
                )
            })?;
        let mut crds = Vec::new();
        tether_helm::output::crd_files(&processed, processed.name(), &mut crds);
        Ok(release::Rendered {
            chart: processed,
            sorted: rendered.sorted,
            crds,
        })
    };
    let force = requests::take_force_request(hr, status);
    let plan = release::Plan {
        hr,
        force,
        target: Target {
            name: &release_name,
            namespace: &release_namespace,
            store: &store,
            manager: &manager,
            cancel: CancellationToken::new(),
        },
        render: &render,
        config: config.clone(),
        config_digest,
        chart_name: chart.metadata.name.clone(),
        chart_version: chart.metadata.version.clone(),
    };
    release::reconcile(&plan, status, conditions).await
}

/// `install.createNamespace`: the release namespace is created when missing.
async fn ensure_namespace(
    hr: &HelmRelease,
    client: &kube::Client,
    namespace: &str,
) -> Result<(), Failure> {
    let create = hr.spec.install.as_ref().and_then(|i| i.create_namespace) == Some(true);
    if !create {
        return Ok(());
    }
    let api = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone());
    let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": namespace}});
    api.patch(
        namespace,
        &kube::api::PatchParams::apply(tether_api::helm::FIELD_MANAGER),
        &kube::api::Patch::Apply(body),
    )
    .await
    .map_err(|e| {
        Failure::new(
            reasons::INSTALL_FAILED,
            format!("failed to create namespace {namespace}: {e}"),
        )
    })?;
    Ok(())
}

/// Fails when a `dependsOn` HelmRelease is missing or not Ready at its generation, or, for an
/// entry with a `readyExpr`, when the expression does not hold.
fn check_dependencies(hr: &HelmRelease, ctx: &Context) -> Result<(), Failure> {
    let own = hr.namespace().unwrap_or_default();
    for dependency in hr.spec.depends_on.iter().flatten() {
        let namespace = dependency.namespace.clone().unwrap_or_else(|| own.clone());
        let key = ObjectRef::<HelmRelease>::new(&dependency.name).within(&namespace);
        let shown = format!("{namespace}/{}", dependency.name);
        let Some(found) = ctx.helm_releases.get(&key) else {
            return Err(Failure::new(
                reasons::DEPENDENCY_NOT_READY,
                format!("unable to get '{shown}' dependency: HelmRelease not found"),
            ));
        };
        if let Some(expression) = dependency.ready_expr.as_deref().filter(|e| !e.is_empty()) {
            crate::dependency_expr::ready_by_expr(
                expression,
                hr,
                found.as_ref(),
                &dependency.name,
                &shown,
            )?;
            continue;
        }
        let ready = found.status.as_ref().is_some_and(|s| {
            s.observed_generation == found.meta().generation
                && s.conditions.as_ref().is_some_and(|c| is_true(c, READY))
        });
        if !ready {
            return Err(Failure::new(
                reasons::DEPENDENCY_NOT_READY,
                format!("dependency '{shown}' is not ready"),
            ));
        }
    }
    Ok(())
}

/// `install|upgrade.disableSchemaValidation` of the action being rendered for.
fn schema_validation_disabled(hr: &HelmRelease, is_upgrade: bool) -> bool {
    let disabled = if is_upgrade {
        hr.spec
            .upgrade
            .as_ref()
            .and_then(|u| u.disable_schema_validation)
    } else {
        hr.spec
            .install
            .as_ref()
            .and_then(|i| i.disable_schema_validation)
    };
    disabled == Some(true)
}

/// The `'static` reason constant equal to `reason` (conditions carry owned strings).
fn static_reason(reason: &str) -> &'static str {
    [
        reasons::INSTALL_SUCCEEDED,
        reasons::UPGRADE_SUCCEEDED,
        reasons::ROLLBACK_SUCCEEDED,
        reasons::TEST_SUCCEEDED,
    ]
    .into_iter()
    .find(|r| *r == reason)
    .unwrap_or(reasons::RECONCILIATION_SUCCEEDED)
}
