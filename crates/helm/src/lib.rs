//! Helm charts rendered natively, as `helm template` (Helm v4) renders them: load a chart
//! from a directory or archive ([`load`]), coalesce values ([`values`], [`strvals`]),
//! process dependencies ([`deps`]), check the values against the charts' `values.schema.json`
//! ([`schema`]), render every template on `tether-gotemplate` with Helm's functions
//! ([`render`], [`funcs`]), then sort and frame the output ([`output`]).
//! [`release`] holds Helm v4's release records: the record, its Secret storage codec and
//! history rules, and the order hooks run in, for installs and upgrades `helm` can read.
//!
//! ```no_run
//! use tether_helm::{TemplateOptions, load, template};
//!
//! let chart = load::load_path("charts/podinfo".as_ref(), load::Limits::default())?;
//! let rendered = template(chart, &TemplateOptions::default())?;
//! print!("{}", rendered.output);
//! # Ok::<(), tether_helm::HelmError>(())
//! ```
#![forbid(unsafe_code)]

mod capabilities;
pub mod chart;
pub mod crypto;
pub mod dates;
pub mod deps;
mod error;
mod files;
pub mod funcs;
pub mod ignore;
pub mod load;
mod nondeterministic;
pub mod output;
pub mod package;
mod post_render;
pub mod release;
pub mod render;
pub mod schema;
mod sprig_extra;
pub mod strvals;
mod toml;
pub mod user_values;
pub mod values;
mod yaml_error;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use capabilities::{Capabilities, DEFAULT_KUBE_VERSION, HELM_VERSION, KubeVersion};
pub use chart::Chart;
pub use error::HelmError;
pub use funcs::{Lookup, NoCluster};
pub use output::Sorted;
pub use post_render::{PostRenderStrategy, PostRenderer};
pub use values::Values;

/// The release a chart is rendered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// `.Release.Name`.
    pub name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// `.Release.Revision`.
    pub revision: i64,
    /// `.Release.IsUpgrade` (else `.Release.IsInstall`).
    pub is_upgrade: bool,
}

impl Default for ReleaseOptions {
    fn default() -> Self {
        ReleaseOptions {
            name: "release-name".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
        }
    }
}

/// Everything `helm template` takes besides the chart.
#[derive(Clone)]
pub struct TemplateOptions {
    /// The release.
    pub release: ReleaseOptions,
    /// `.Capabilities`.
    pub capabilities: Capabilities,
    /// User values (`-f`, `--set*` already merged).
    pub values: Values,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--skip-schema-validation`: do not check values against `values.schema.json`.
    pub skip_schema_validation: bool,
    /// `--show-only` patterns.
    pub show_only: Vec<String>,
    /// Bytes of rendered output allowed in all.
    pub max_output_bytes: usize,
    /// The cluster behind `lookup`.
    pub cluster: Arc<dyn Lookup>,
    /// The post-renderer the rendered files go through before sorting, and how.
    pub post_renderer: Option<(Arc<dyn PostRenderer>, PostRenderStrategy)>,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            release: ReleaseOptions::default(),
            capabilities: Capabilities::default(),
            values: Values::new(),
            include_crds: false,
            skip_tests: false,
            skip_schema_validation: false,
            show_only: Vec::new(),
            max_output_bytes: 256 * 1024 * 1024,
            cluster: Arc::new(NoCluster),
            post_renderer: None,
        }
    }
}

/// The result of rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// What `helm template` prints on stdout.
    pub output: String,
    /// Manifests, hooks and notes.
    pub sorted: Sorted,
}

/// Rendering needs a deep stack: Helm allows a template to include itself a thousand times.
const RENDER_STACK_BYTES: usize = 1 << 30;

/// Renders `chart` as `helm template` does.
pub fn template(chart: Chart, opts: &TemplateOptions) -> Result<Rendered, HelmError> {
    template_for_release(chart, opts).map(|(rendered, _)| rendered)
}

/// Renders `chart` as `helm install`/`upgrade` do, returning also the chart after dependency
/// processing (enabled flags, imported values), which is what a release record stores
/// ([`release::Release::for_install`]).
pub fn template_for_release(
    chart: Chart,
    opts: &TemplateOptions,
) -> Result<(Rendered, Chart), HelmError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("helm-render".into())
            .stack_size(RENDER_STACK_BYTES)
            .spawn_scoped(scope, move || template_on_this_thread(chart, opts))
            .map_err(|e| HelmError::Render(format!("cannot start the render thread: {e}")))?
            .join()
            .unwrap_or_else(|_| Err(HelmError::Render("rendering panicked".into())))
    })
}

fn check_installable(chart: &Chart) -> Result<(), HelmError> {
    match chart.metadata.chart_type.as_str() {
        "" | "application" => Ok(()),
        "library" => Err(HelmError::LibraryChart),
        other => Err(HelmError::Values(format!(
            "{other} charts are not installable"
        ))),
    }
}

/// Helm's release name rule: a DNS subdomain of at most 53 characters.
fn check_release_name(name: &str) -> Result<(), HelmError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() {
        return Err(HelmError::Values(
            "release name check failed: no name provided".into(),
        ));
    }
    if name.len() > 53 || !name.split('.').all(label_ok) {
        return Err(HelmError::Values(format!(
            "release name check failed: release name {name:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
        )));
    }
    Ok(())
}

fn check_dependencies(chart: &Chart) -> Result<(), HelmError> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !chart.dependencies.iter().any(|c| c.name() == d.name))
        .map(|d| d.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(HelmError::Values(format!(
        "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        missing.join(", ")
    )))
}

fn template_on_this_thread(
    mut chart: Chart,
    opts: &TemplateOptions,
) -> Result<(Rendered, Chart), HelmError> {
    check_installable(&chart)?;
    check_dependencies(&chart)?;
    check_release_name(&opts.release.name)?;
    deps::process_dependencies(&mut chart, &opts.values)
        .map_err(|e| HelmError::Values(format!("chart dependencies processing failed: {e}")))?;
    let values = values::coalesce_values(&chart, &opts.values)?;
    if !opts.skip_schema_validation
        && let Some(failures) = schema::validate_chart(&chart, &values)
    {
        return Err(HelmError::Schema(failures));
    }
    let kube = &opts.capabilities.kube_version;
    if !chart.metadata.kube_version.is_empty()
        && !deps::is_compatible_range(&chart.metadata.kube_version, &kube.normalized)
    {
        return Err(HelmError::KubeVersion {
            constraint: chart.metadata.kube_version.clone(),
            version: kube.version.clone(),
        });
    }
    let top = render::top_values(&opts.release, &opts.capabilities, &values);
    let mut files = render::render(&chart, &top, opts.cluster.clone(), opts.max_output_bytes)?;
    if let Some((renderer, strategy)) = &opts.post_renderer {
        let (notes, templates): (BTreeMap<_, _>, BTreeMap<_, _>) = files
            .into_iter()
            .partition(|(path, _)| path.ends_with("NOTES.txt"));
        files = post_render::post_render(templates, chart.name(), renderer.as_ref(), *strategy)?;
        files.extend(notes);
    }
    let sorted = output::sort_manifests(files, chart.name())?;
    let mut crds = Vec::new();
    if opts.include_crds {
        output::crd_files(&chart, chart.name(), &mut crds);
    }
    let mut text = output::template_output(&sorted, &crds, opts.skip_tests);
    if !opts.show_only.is_empty() {
        text = output::show_only(&text, &opts.show_only)?;
    }
    Ok((
        Rendered {
            output: text,
            sorted,
        },
        chart,
    ))
}
