//! The HelmChart reconciler's steps, as source-controller v1's: from a HelmRepository, pick the
//! newest chart version its stored index has within `spec.version` and download it (HTTP), or
//! list and pull the chart's tags (OCI); from a GitRepository or a Bucket, package the chart
//! directory at `spec.chart` of its artifact. `valuesFiles` are merged over the chart's values (the version
//! then gets `+<generation>` as build metadata), and `reconcileStrategy: Revision` adds the
//! source's short revision. The chart is stored as `<name>-<version>.tgz` with the version as
//! revision; nothing is downloaded or packaged while the computed version is the stored one.
//! A chart wakes when its source's artifact changes.

use crate::artifacts;
use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::helm_source::{collect_garbage, index_of, repo_options};
use crate::key::ObjectKey;
use crate::reconcile::{CleanUpError, HasConditions, Reconcile, RunOutcome, api_in};
use crate::registry_access::{RegistryAccess, scan_options};
use crate::sources::ArtifactSource;
use crate::status::{ConditionSet, requested_at};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tether_api::meta::Artifact;
use tether_api::source::conditions as source_conditions;
use tether_api::source::conditions::chart_build_reasons as build;
use tether_api::source::conditions::reasons;
use tether_api::source::v1::{
    Bucket, GitRepository, HelmChart, HelmChartSourceKind, HelmChartStatus, HelmRepository,
    HelmRepositoryProvider, HelmRepositoryStatus, HelmRepositoryType, ReconcileStrategy,
};
use tether_helm::load::Limits;
use tether_helm::package::{ChartFiles, PackageOverrides, merge_values_files};
use tether_registry::Credentials;
use tether_source::artifact::ArtifactOwner;
use tether_source::helm_oci;
use tether_source::helm_repo::{HelmRepoClient, HelmRepoError};
use tether_source::join_within;

/// The largest chart pulled from an OCI registry.
const MAX_OCI_CHART_BYTES: u64 = 64 * 1024 * 1024;

/// What one run produced, with the source revision it saw.
pub struct ChartOutcome {
    /// The source artifact's revision, when the source has one.
    source_revision: Option<String>,
    result: Result<Built, Failure>,
}

impl RunOutcome for ChartOutcome {
    fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }
}

/// A chart build: what it is, and whether a new artifact was stored.
pub struct Built {
    name: String,
    version: String,
    /// Packaged (from a directory, or repackaged with values or a new version) or pulled as
    /// it is.
    packaged: bool,
    values_files: Vec<String>,
    /// The new artifact; `None` when the stored one is the chart at this version.
    stored: Option<Artifact>,
}

impl Built {
    /// source-controller's summary of a build.
    fn summary(&self) -> String {
        let action = if self.packaged { "packaged" } else { "pulled" };
        let mut summary = format!(
            "{action} '{}' chart with version '{}'",
            self.name, self.version
        );
        if !self.values_files.is_empty() {
            summary.push_str(&format!(
                " and merged values files [{}]",
                self.values_files.join(" ")
            ));
        }
        summary
    }

    fn reason(&self) -> &'static str {
        if self.packaged {
            reasons::CHART_PACKAGE_SUCCEEDED
        } else {
            reasons::CHART_PULL_SUCCEEDED
        }
    }
}

impl HasConditions for HelmChartStatus {
    fn conditions(&self) -> Option<&[Condition]> {
        self.conditions.as_deref()
    }
}

impl HasConditions for HelmRepositoryStatus {
    fn conditions(&self) -> Option<&[Condition]> {
        self.conditions.as_deref()
    }
}

impl Reconcile for HelmChart {
    type Status = HelmChartStatus;
    type Outcome = ChartOutcome;
    const ORIGIN: Origin = Origin::Source;
    const FINALIZES: bool = true;

    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }

    fn interval(&self) -> Duration {
        self.spec
            .interval
            .to_std()
            .unwrap_or(Duration::from_secs(60))
    }

    /// The generation, `requestedAt`, and the source's revision: a chart whose source did not
    /// change is not looked at again before its interval.
    fn inputs(&self, ctx: &Context) -> Option<u64> {
        let requested = requested_at(self);
        let source = source_fingerprint(self, ctx);
        Some(crate::triggers::fingerprint(&[
            &self.meta().generation,
            &requested,
            &source,
        ]))
    }

    async fn run(&self, ctx: &Context) -> Self::Outcome {
        build_chart(self, ctx).await
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, outcome)
    }

    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        match &outcome.result {
            Ok(built) if built.stored.is_some() => Some((built.reason(), built.summary())),
            _ => None,
        }
    }

    fn after_status_written(&self, ctx: &Context, outcome: &Self::Outcome) {
        if matches!(&outcome.result, Ok(built) if built.stored.is_some()) {
            ctx.health_waits.cancel_for_source(&ObjectKey::of(self));
        }
    }

    async fn clean_up(&self, ctx: &Context) -> Result<(), CleanUpError> {
        ctx.newest_helm_charts
            .forget(&self.namespace().unwrap_or_default(), &self.name_any());
        artifacts::remove_all(ctx, &owner_of(self));
        Ok(())
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        let watch = kube::runtime::watcher::Config::default().any_semantic();
        let controller = wake_on_source::<HelmRepository>(
            controller,
            ctx,
            watch.clone(),
            HelmChartSourceKind::HelmRepository,
        );
        let controller = wake_on_source::<GitRepository>(
            controller,
            ctx,
            watch.clone(),
            HelmChartSourceKind::GitRepository,
        );
        wake_on_source::<Bucket>(controller, ctx, watch, HelmChartSourceKind::Bucket)
    }
}

/// Wakes the HelmCharts built from a source of kind `K` when it changes, remembering the copy
/// that woke them (see `NewestSources`).
fn wake_on_source<K: ArtifactSource>(
    controller: Controller<HelmChart>,
    ctx: &Arc<Context>,
    watch: kube::runtime::watcher::Config,
    kind: HelmChartSourceKind,
) -> Controller<HelmChart> {
    let namespace = ctx.options.watch_namespace.as_deref();
    let (charts, remembering) = (ctx.helm_charts.clone(), ctx.clone());
    controller.watches(api_in::<K>(&ctx.client, namespace), watch, move |source| {
        let woken = charts_using(&charts, kind, &source);
        K::newest(&remembering).remember(Arc::new(source));
        woken
    })
}

/// HelmCharts whose `sourceRef` is `source` (of `kind`).
fn charts_using<K: Resource>(
    charts: &Store<HelmChart>,
    kind: HelmChartSourceKind,
    source: &K,
) -> Vec<ObjectRef<HelmChart>> {
    let name = source.meta().name.as_deref().unwrap_or_default();
    let namespace = source.meta().namespace.as_deref();
    charts
        .state()
        .iter()
        .filter(|chart| {
            chart.spec.source_ref.kind == kind
                && chart.spec.source_ref.name == name
                && chart.meta().namespace.as_deref() == namespace
        })
        .map(|chart| ObjectRef::from_obj(chart.as_ref()))
        .collect()
}

/// The newest copy of the source `chart` names, of kind `K`.
fn source_of<K: ArtifactSource>(chart: &HelmChart, ctx: &Context) -> Option<Arc<K>> {
    let namespace = chart.namespace().unwrap_or_default();
    let name = &chart.spec.source_ref.name;
    let stored = K::store(ctx).get(&ObjectRef::new(name).within(&namespace));
    K::newest(ctx).newest(stored, &namespace, name)
}

/// What of the source makes a new build necessary: its artifact's revision (an OCI
/// HelmRepository has none: its generation).
fn source_fingerprint(chart: &HelmChart, ctx: &Context) -> Option<String> {
    match chart.spec.source_ref.kind {
        HelmChartSourceKind::HelmRepository => {
            let repo = source_of::<HelmRepository>(chart, ctx)?;
            match repo.artifact() {
                Some(artifact) => Some(artifact.revision.clone()),
                None => Some(format!("generation {:?}", repo.meta().generation)),
            }
        }
        HelmChartSourceKind::GitRepository => source_of::<GitRepository>(chart, ctx)?
            .artifact()
            .map(|a| a.revision.clone()),
        HelmChartSourceKind::Bucket => source_of::<Bucket>(chart, ctx)?
            .artifact()
            .map(|a| a.revision.clone()),
    }
}

async fn build_chart(chart: &HelmChart, ctx: &Context) -> ChartOutcome {
    if chart.spec.verify.is_some() {
        return failed(
            None,
            Failure::not_supported("spec.verify (chart signature verification)"),
        );
    }
    let unavailable = |resource: &str| source_unavailable(chart, resource);
    let no_artifact = |source: &HelmRepository| no_source_artifact(chart, source);
    match chart.spec.source_ref.kind {
        HelmChartSourceKind::HelmRepository => {
            let Some(repo) = source_of::<HelmRepository>(chart, ctx) else {
                return failed(None, unavailable("helmrepositories"));
            };
            if repo.spec.type_or_default() == HelmRepositoryType::Oci {
                return ChartOutcome {
                    source_revision: None,
                    result: from_oci_repository(chart, &repo, ctx).await,
                };
            }
            let Some(artifact) = stored_artifact(repo.as_ref(), ctx) else {
                return failed(None, no_artifact(repo.as_ref()));
            };
            ChartOutcome {
                source_revision: Some(artifact.revision.clone()),
                result: from_http_repository(chart, &repo, &artifact, ctx).await,
            }
        }
        HelmChartSourceKind::GitRepository => {
            packaged_from::<GitRepository>(chart, ctx, "gitrepositories").await
        }
        HelmChartSourceKind::Bucket => packaged_from::<Bucket>(chart, ctx, "buckets").await,
    }
}

/// The chart packaged from the artifact of its source of kind `K` (a file tree: a
/// GitRepository's or a Bucket's), whose resource is `plural`.
async fn packaged_from<K: ArtifactSource>(
    chart: &HelmChart,
    ctx: &Context,
    plural: &str,
) -> ChartOutcome {
    let Some(source) = source_of::<K>(chart, ctx) else {
        return failed(None, source_unavailable(chart, plural));
    };
    let Some(artifact) = stored_artifact(source.as_ref(), ctx) else {
        return failed(None, no_source_artifact(chart, source.as_ref()));
    };
    ChartOutcome {
        source_revision: Some(artifact.revision.clone()),
        result: from_source_tree(chart, &artifact, ctx).await,
    }
}

/// The source (of resource `plural`) is not there. This and [`no_source_artifact`] wait for the
/// source (at start-up, before its first fetch): logged, not evented.
fn source_unavailable(chart: &HelmChart, plural: &str) -> Failure {
    let name = &chart.spec.source_ref.name;
    Failure {
        emits_event: false,
        ..Failure::new(
            "SourceUnavailable",
            format!("failed to get source: {plural}.source.toolkit.fluxcd.io \"{name}\" not found"),
        )
    }
}

/// The source has no artifact in storage; before its first fetch the chart waits silently
/// (its source's watch wakes it).
fn no_source_artifact<K: ArtifactSource>(chart: &HelmChart, source: &K) -> Failure {
    let (kind, name) = (chart.spec.source_ref.kind, &chart.spec.source_ref.name);
    Failure {
        emits_event: false,
        ..Failure::new(
            "NoSourceArtifact",
            format!("no artifact available for {kind} source '{name}'"),
        )
    }
    .awaiting_first_fetch(source.first_fetch_pending())
}

fn failed(source_revision: Option<String>, failure: Failure) -> ChartOutcome {
    ChartOutcome {
        source_revision,
        result: Err(failure),
    }
}

/// The source's artifact, when its file is in storage.
fn stored_artifact<K: ArtifactSource>(source: &K, ctx: &Context) -> Option<Artifact> {
    let artifact = source.artifact()?;
    ctx.workspace
        .store()
        .root()
        .join(&artifact.path)
        .is_file()
        .then(|| artifact.clone())
}

/// A chart of an HTTP repository: the version from the stored index, the archive downloaded
/// with the repository's credentials.
async fn from_http_repository(
    chart: &HelmChart,
    repo: &HelmRepository,
    artifact: &Artifact,
    ctx: &Context,
) -> Result<Built, Failure> {
    let index = index_of(ctx, repo, artifact).await?;
    let constraint = chart.spec.version_or_default();
    let found = index
        .get(&chart.spec.chart, constraint)
        .map_err(|e| reference_failure(&e.to_string()))?
        .clone();
    drop(index);
    let plan = Plan::new(chart, &found.name, &found.version, None)?;
    if plan.is_stored(chart, ctx) {
        return Ok(plan.built(None));
    }
    let options = repo_options(ctx, repo).await?;
    let client = HelmRepoClient::new(options).map_err(|e| {
        Failure::terminal(
            tether_api::meta::conditions::reasons::FAILED,
            format!("failed to construct Helm client: {e}"),
        )
    })?;
    let download = temp_file(ctx)?;
    client
        .download_chart(&repo.spec.url, &found, download.path())
        .await
        .map_err(download_failure)?;
    plan.store(chart, ctx, download.path(), ValuesFrom::Chart)
        .await
}

/// A chart of an OCI repository: the version among the chart's tags, the archive pulled.
async fn from_oci_repository(
    chart: &HelmChart,
    repo: &HelmRepository,
    ctx: &Context,
) -> Result<Built, Failure> {
    let provider = repo.spec.provider_or_default();
    if provider != HelmRepositoryProvider::Generic {
        return Err(Failure::not_supported(&format!(
            "HelmRepository spec.provider '{provider}' (use the generic provider with spec.secretRef)"
        )));
    }
    let image = helm_oci::chart_image(&repo.spec.url, &chart.spec.chart).map_err(|e| {
        Failure::terminal(
            reasons::URL_INVALID,
            format!("invalid OCI registry URL: {e}"),
        )
    })?;
    let options = oci_options(ctx, repo, &image).await?;
    let constraint = chart.spec.version_or_default();
    let version =
        helm_oci::select_oci_chart_version(&ctx.artifact_registry, &image, constraint, &options)
            .await
            .map_err(oci_failure)?;
    let plan = Plan::new(chart, &chart.spec.chart, &version, None)?;
    if plan.is_stored(chart, ctx) {
        return Ok(plan.built(None));
    }
    let download = temp_file(ctx)?;
    helm_oci::pull_oci_chart(
        &ctx.artifact_registry,
        &image,
        &version,
        MAX_OCI_CHART_BYTES,
        download.path(),
        &options,
    )
    .await
    .map_err(oci_failure)?;
    plan.store(chart, ctx, download.path(), ValuesFrom::Chart)
        .await
}

/// Registry access of an OCI HelmRepository: Basic credentials from a `username`/`password`
/// secret, else a docker config secret; `certSecretRef`; `insecure`; the timeout.
async fn oci_options(
    ctx: &Context,
    repo: &HelmRepository,
    image: &tether_registry::ImageName,
) -> Result<tether_registry::ScanOptions, Failure> {
    let namespace = repo.namespace().unwrap_or_default();
    let auth_failure = |message: String| Failure::new(reasons::AUTHENTICATION_FAILED, message);
    let mut basic = None;
    if let Some(secret) = &repo.spec.secret_ref {
        let data = crate::secrets::secret_data(&ctx.client, &namespace, &secret.name)
            .await
            .map_err(|e| auth_failure(format!("failed to get authentication secret: {e}")))?;
        if let (Some(username), Some(password)) = (data.get("username"), data.get("password")) {
            basic = Some(Credentials::Basic {
                username: String::from_utf8_lossy(username).into_owned(),
                password: String::from_utf8_lossy(password).into_owned(),
            });
        }
    }
    let docker_config = repo
        .spec
        .secret_ref
        .as_ref()
        .filter(|_| basic.is_none())
        .map(|s| s.name.as_str());
    let access = RegistryAccess {
        namespace,
        insecure: repo.spec.insecure == Some(true),
        timeout: repo.spec.effective_timeout().ok(),
        secret_ref: docker_config,
        service_account: None,
        cert_secret_ref: repo.spec.cert_secret_ref.as_ref().map(|s| s.name.as_str()),
    };
    let mut options = scan_options(&ctx.client, &access, image)
        .await
        .map_err(|message| {
            auth_failure(format!(
                "failed to configure authentication options: {message}"
            ))
        })?;
    if let Some(credentials) = basic {
        options.credentials = credentials;
    }
    Ok(options)
}

/// A chart directory of a source artifact, packaged.
async fn from_source_tree(
    chart: &HelmChart,
    artifact: &Artifact,
    ctx: &Context,
) -> Result<Built, Failure> {
    let root = ctx
        .workspace
        .extracted(&artifact.path, &artifact.digest)
        .await
        .map_err(|e| {
            Failure::new(
                reasons::READ_OPERATION_FAILED,
                format!("failed to open source artifact: {e}"),
            )
        })?;
    let chart_dir = join_within(&root, &chart.spec.chart).ok_or_else(|| {
        Failure::terminal(
            build::INVALID_CHART_REFERENCE,
            format!(
                "invalid chart reference: path '{}' must be relative and stay inside the source",
                chart.spec.chart
            ),
        )
    })?;
    if !chart_dir.is_dir() {
        return Err(reference_failure_local(format!(
            "path '{}' does not exist",
            chart.spec.chart
        )));
    }
    let dir = chart_dir.clone();
    let ((name, version), missing) = tokio::task::spawn_blocking(move || {
        let files = ChartFiles::from_dir(&dir, Limits::default())?;
        Ok::<_, tether_helm::HelmError>((files.metadata()?, files.missing_dependencies()?))
    })
    .await
    .map_err(artifacts::storage_failure)?
    .map_err(|e| reference_failure_local(e.to_string()))?;
    if !missing.is_empty() {
        return Err(Failure::terminal(
            build::DEPENDENCY_BUILD_ERROR,
            format!(
                "dependency build error: not supported yet: fetching chart dependencies; vendor them under charts/ (missing: {})",
                missing.join(", ")
            ),
        ));
    }
    let revision = (chart.spec.reconcile_strategy_or_default() == ReconcileStrategy::Revision)
        .then(|| short_revision(&artifact.revision));
    let mut plan = Plan::new(chart, &name, &version, revision.as_deref())?;
    plan.packaged = true;
    if plan.is_stored(chart, ctx) {
        return Ok(plan.built(None));
    }
    plan.store(chart, ctx, &chart_dir, ValuesFrom::Source(root))
        .await
}

/// Where the values files are: inside the chart, or relative to the source's root.
enum ValuesFrom {
    Chart,
    Source(PathBuf),
}

/// The chart to store: its name, its version after build metadata, its values files.
struct Plan {
    name: String,
    version: String,
    /// Whether the chart must be packaged (a directory, merged values, a new version).
    packaged: bool,
    values_files: Vec<String>,
}

impl Plan {
    /// The plan for chart `name` at `version`, with `revision` (the Revision strategy's short
    /// source revision) and `.<generation>` for values files as build metadata.
    fn new(
        chart: &HelmChart,
        name: &str,
        version: &str,
        revision: Option<&str>,
    ) -> Result<Self, Failure> {
        let values_files: Vec<String> = chart
            .spec
            .values_files
            .iter()
            .flatten()
            .filter(|f| !f.is_empty())
            .cloned()
            .collect();
        let mut metadata = revision.map(str::to_owned).unwrap_or_default();
        if !values_files.is_empty() {
            if !metadata.is_empty() {
                metadata.push('.');
            }
            metadata.push_str(&chart.meta().generation.unwrap_or_default().to_string());
        }
        let version = if metadata.is_empty() {
            version.to_owned()
        } else {
            with_build_metadata(version, &metadata)?
        };
        Ok(Self {
            name: name.to_owned(),
            packaged: !values_files.is_empty() || revision.is_some(),
            version,
            values_files,
        })
    }

    /// Whether the stored artifact is this chart at this version, built for this generation.
    fn is_stored(&self, chart: &HelmChart, ctx: &Context) -> bool {
        let Some(status) = &chart.status else {
            return false;
        };
        let Some(artifact) = &status.artifact else {
            return false;
        };
        artifact.revision == self.version
            && status.observed_chart_name.as_deref() == Some(self.name.as_str())
            && status.observed_generation == chart.meta().generation
            && ctx.workspace.store().root().join(&artifact.path).is_file()
    }

    fn built(self, stored: Option<Artifact>) -> Built {
        Built {
            name: self.name,
            version: self.version,
            packaged: self.packaged,
            values_files: self.values_files,
            stored,
        }
    }

    /// Stores the chart at `input` (an archive, or a directory to package) as
    /// `<name>-<version>.tgz`, packaging it when it must, and collects old artifacts.
    async fn store(
        mut self,
        chart: &HelmChart,
        ctx: &Context,
        input: &Path,
        values_from: ValuesFrom,
    ) -> Result<Built, Failure> {
        let owner = owner_of(chart);
        let store = ctx.workspace.store().clone();
        let retention = ctx.options.artifact_retention;
        let ignore_missing = chart.spec.ignore_missing_values_files == Some(true);
        let work = temp_file(ctx)?;
        let (input, packaged_path) = (input.to_path_buf(), work.path().to_path_buf());
        let file_name = format!("{}-{}.tgz", self.name, self.version);
        let (version, values_files, packaged) = (
            self.version.clone(),
            self.values_files.clone(),
            self.packaged,
        );
        let (stored, merged) = tokio::task::spawn_blocking(move || {
            let mut merged_files = Vec::new();
            let source = if packaged {
                let files = if input.is_dir() {
                    ChartFiles::from_dir(&input, Limits::default())
                } else {
                    std::fs::read(&input)
                        .map_err(|e| tether_helm::HelmError::Archive(e.to_string()))
                        .and_then(|data| ChartFiles::from_archive(&data, Limits::default()))
                }
                .map_err(|e| {
                    Failure::new(
                        build::CHART_PACKAGE_ERROR,
                        format!("chart package error: failed to load chart: {e}"),
                    )
                })?;
                let values = if values_files.is_empty() {
                    None
                } else {
                    let (values, used) =
                        merged_values(&files, &values_from, &values_files, ignore_missing)?;
                    merged_files = used;
                    Some(values)
                };
                let overrides = PackageOverrides {
                    version: Some(version.clone()),
                    values,
                };
                let packaged = files.package(&overrides).map_err(|e| {
                    Failure::new(
                        build::CHART_PACKAGE_ERROR,
                        format!("chart package error: {e}"),
                    )
                })?;
                std::fs::write(&packaged_path, &packaged.archive)
                    .map_err(artifacts::storage_failure)?;
                packaged_path
            } else {
                input
            };
            let stored = store
                .store_file(&owner, &version, &file_name, &source)
                .map_err(|e| {
                    Failure::new(
                        source_conditions::STORAGE_OPERATION_FAILED,
                        format!("unable to copy Helm chart to storage: {e}"),
                    )
                })?;
            collect_garbage(store.root(), &owner, &stored.path, retention);
            Ok::<_, Failure>((stored, merged_files))
        })
        .await
        .map_err(artifacts::storage_failure)??;
        self.values_files = merged;
        Ok(self.built(Some(artifacts::advertised(ctx, stored, None))))
    }
}

/// The values files merged in order; returns the files that contributed.
fn merged_values(
    files: &ChartFiles,
    from: &ValuesFrom,
    names: &[String],
    ignore_missing: bool,
) -> Result<(serde_json::Map<String, serde_json::Value>, Vec<String>), Failure> {
    let values_failure = |message: String| {
        Failure::terminal(
            build::VALUES_FILES_ERROR,
            format!("values files merge error: {message}"),
        )
    };
    let mut contents: Vec<(String, Vec<u8>)> = Vec::new();
    for name in names {
        let data = match from {
            ValuesFrom::Chart => files.file(name).map(<[u8]>::to_vec),
            ValuesFrom::Source(root) => join_within(root, name)
                .filter(|p| p.is_file())
                .and_then(|p| std::fs::read(p).ok()),
        };
        match data {
            Some(data) => contents.push((name.clone(), data)),
            None if ignore_missing => {}
            None => {
                return Err(values_failure(format!(
                    "no values file found at path '{name}'"
                )));
            }
        }
    }
    let merged = merge_values_files(contents.iter().map(|(n, d)| (n.as_str(), d.as_slice())))
        .map_err(|e| values_failure(e.to_string()))?;
    Ok((merged, contents.into_iter().map(|(n, _)| n).collect()))
}

/// `version` with its build metadata replaced by `metadata` (semver's `SetMetadata`).
fn with_build_metadata(version: &str, metadata: &str) -> Result<String, Failure> {
    let base = version.split('+').next().unwrap_or(version);
    let combined = format!("{base}+{metadata}");
    tether_semver::Version::parse_strict(combined.trim_start_matches('v'))
        .map(|_| combined)
        .map_err(|e| {
            Failure::terminal(
                build::METADATA_PATCH_ERROR,
                format!("chart metadata patch error: failed to set SemVer metadata on chart version: {e}"),
            )
        })
}

/// The first 12 hex digits of a source revision's hash (`main@sha1:<hex>`, `sha256:<hex>`).
fn short_revision(revision: &str) -> String {
    let hash = revision.rsplit('@').next().unwrap_or(revision);
    let hash = hash.rsplit(':').next().unwrap_or(hash);
    let hash = hash.rsplit('/').next().unwrap_or(hash);
    hash.chars().take(12).collect()
}

fn temp_file(ctx: &Context) -> Result<tempfile::NamedTempFile, Failure> {
    tempfile::Builder::new()
        .prefix(".chart-")
        .tempfile_in(artifacts::store_root(ctx)?)
        .map_err(artifacts::storage_failure)
}

/// No version of the chart matches, or the chart is not in the index: waits for a change of
/// spec or of the repository's index.
fn reference_failure(message: &str) -> Failure {
    Failure::terminal(
        build::INVALID_CHART_REFERENCE,
        format!(
            "invalid chart reference: failed to get chart version for remote reference: {message}"
        ),
    )
}

fn reference_failure_local(message: String) -> Failure {
    Failure::terminal(
        build::INVALID_CHART_REFERENCE,
        format!("invalid chart reference: {message}"),
    )
}

fn download_failure(error: HelmRepoError) -> Failure {
    let message =
        format!("chart pull error: failed to download chart for remote reference: {error}");
    match error {
        HelmRepoError::Unauthorized { .. } | HelmRepoError::Tls { .. } => Failure::new(
            reasons::AUTHENTICATION_FAILED,
            format!("failed to authenticate with the Helm repository: {message}"),
        ),
        _ => Failure::new(build::CHART_PULL_ERROR, message),
    }
}

fn oci_failure(error: helm_oci::OciChartError) -> Failure {
    use helm_oci::OciChartError;
    use tether_registry::ScanError;
    match &error {
        OciChartError::NoMatchingVersion { .. }
        | OciChartError::InvalidConstraint { .. }
        | OciChartError::NoTags { .. }
        | OciChartError::InvalidReference { .. } => reference_failure(&error.to_string()),
        OciChartError::Registry(ScanError::Unauthorized { .. } | ScanError::Token { .. }) => {
            Failure::new(
                reasons::AUTHENTICATION_FAILED,
                format!(
                    "failed to authenticate with the Helm repository: chart pull error: {error}"
                ),
            )
        }
        _ => Failure::new(
            build::CHART_PULL_ERROR,
            format!("chart pull error: failed to download chart for remote reference: {error}"),
        ),
    }
}

pub(crate) fn owner_of(chart: &HelmChart) -> ArtifactOwner {
    ArtifactOwner::new(
        "HelmChart",
        &chart.namespace().unwrap_or_default(),
        &chart.name_any(),
    )
}

/// The condition a failure is recorded in: building (values, metadata, packaging) or fetching.
fn failure_condition(reason: &str) -> &'static str {
    match reason {
        build::VALUES_FILES_ERROR
        | build::METADATA_PATCH_ERROR
        | build::CHART_PACKAGE_ERROR
        | build::DEPENDENCY_BUILD_ERROR => source_conditions::BUILD_FAILED,
        _ => source_conditions::FETCH_FAILED,
    }
}

fn next_status(chart: &HelmChart, outcome: &ChartOutcome) -> HelmChartStatus {
    let mut status = chart.status.clone().unwrap_or_default();
    let generation = chart.meta().generation;
    let mut conditions = ConditionSet::new(status.conditions.as_ref(), generation);
    if let Some(revision) = &outcome.source_revision {
        status.observed_source_artifact_revision = Some(revision.clone());
    }
    match &outcome.result {
        Ok(built) => {
            if let Some(artifact) = &built.stored {
                status.url = Some(artifact.url.clone());
                status.artifact = Some(artifact.clone());
                status.observed_values_files =
                    Some(built.values_files.clone()).filter(|f| !f.is_empty());
            }
            status.observed_chart_name = Some(built.name.clone());
            let (reason, summary) = (built.reason(), built.summary());
            conditions.set(
                source_conditions::ARTIFACT_IN_STORAGE,
                true,
                reason,
                summary.clone(),
            );
            conditions.remove(source_conditions::FETCH_FAILED);
            conditions.remove(source_conditions::BUILD_FAILED);
            conditions.ready(reason, summary);
            status.observed_generation = generation;
        }
        Err(failure) => {
            let condition = failure_condition(failure.reason);
            let other = if condition == source_conditions::BUILD_FAILED {
                source_conditions::FETCH_FAILED
            } else {
                source_conditions::BUILD_FAILED
            };
            conditions.remove(other);
            conditions.set(condition, true, failure.reason, failure.message.clone());
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            if failure.terminal {
                status.observed_generation = generation;
            }
        }
    }
    status.conditions = Some(conditions.into_sorted());
    if let Some(requested) = requested_at(chart) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_api::meta::conditions::{READY, STALLED, find, is_true};

    fn chart(values_files: &[&str]) -> HelmChart {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
            "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": 4},
            "spec": {"chart": "podinfo", "version": "61.x", "interval": "1m",
                     "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                     "valuesFiles": values_files}
        }))
        .expect("a valid HelmChart")
    }

    #[test]
    fn values_files_add_the_generation_as_build_metadata() {
        let plan = Plan::new(
            &chart(&["values.yaml", "prod.yaml"]),
            "podinfo",
            "6.1.0",
            None,
        )
        .expect("plan");
        assert_eq!(plan.version, "6.1.0+4");
        assert!(plan.packaged);
        let plan =
            Plan::new(&chart(&[]), "podinfo", "6.1.0+old", Some("abcdef012345")).expect("plan");
        assert_eq!(plan.version, "6.1.0+abcdef012345");
        let plan = Plan::new(&chart(&[]), "podinfo", "6.1.0", None).expect("plan");
        assert_eq!(plan.version, "6.1.0");
        assert!(!plan.packaged);
    }

    #[test]
    fn short_revisions_are_twelve_hex_digits_of_the_hash() {
        assert_eq!(
            short_revision("main@sha1:0123456789abcdef0123"),
            "0123456789ab"
        );
        assert_eq!(short_revision("sha256:fedcba9876543210ff"), "fedcba987654");
    }

    #[test]
    fn a_missing_version_stalls_with_the_chart_and_constraint_named() {
        let failure = reference_failure("no chart version found for podinfo-99.x");
        let status = next_status(
            &chart(&[]),
            &ChartOutcome {
                source_revision: Some("sha256:ab".into()),
                result: Err(failure),
            },
        );
        let conditions = status.conditions.as_deref().unwrap_or_default();
        let ready = find(conditions, READY).expect("Ready");
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, "InvalidChartReference");
        assert!(
            ready
                .message
                .contains("no chart version found for podinfo-99.x")
        );
        assert!(is_true(conditions, STALLED));
        assert!(is_true(conditions, source_conditions::FETCH_FAILED));
        assert_eq!(
            status.observed_source_artifact_revision.as_deref(),
            Some("sha256:ab")
        );
    }

    #[test]
    fn a_pulled_chart_is_ready_with_the_summary_of_flux() {
        let built = Built {
            name: "podinfo".into(),
            version: "61.1.0".into(),
            packaged: false,
            values_files: vec![],
            stored: None,
        };
        let status = next_status(
            &chart(&[]),
            &ChartOutcome {
                source_revision: None,
                result: Ok(built),
            },
        );
        let conditions = status.conditions.as_deref().unwrap_or_default();
        let ready = find(conditions, READY).expect("Ready");
        assert_eq!(ready.reason, "ChartPullSucceeded");
        assert_eq!(
            ready.message,
            "pulled 'podinfo' chart with version '61.1.0'"
        );
        assert_eq!(status.observed_chart_name.as_deref(), Some("podinfo"));
        assert_eq!(status.observed_generation, Some(4));
    }
}
