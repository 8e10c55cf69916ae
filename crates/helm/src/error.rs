//! The error type of the helm engine: every variant prints the message `helm` prints for the
//! same failure (after its `Error: ` prefix), so the differential suite compares them.

/// Why loading or rendering a chart failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelmError {
    /// A file of the chart could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// An archive entry would land outside the chart (absolute, `..`, a drive letter, the
    /// archive's root itself).
    #[error("{0}")]
    ArchiveEscape(String),
    /// The archive decompresses to more than the size limit (a decompression bomb).
    #[error("decompressed chart is larger than the maximum size {limit}")]
    ArchiveTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The archive or directory holds more files than the limit.
    #[error("chart has more than the maximum of {limit} files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// The archive is not a gzipped tar stream.
    #[error("{0}")]
    Archive(String),
    /// The archive has no files.
    #[error("no files in chart archive")]
    EmptyArchive,
    /// `Chart.yaml` (or `requirements.yaml`, `values.yaml`) does not parse.
    #[error("cannot load {file}: {message}")]
    ChartFile {
        /// Which file.
        file: String,
        /// The parser's reason.
        message: String,
    },
    /// The chart has no `Chart.yaml`.
    #[error("Chart.yaml file is missing")]
    MissingChartYaml,
    /// `Chart.yaml` breaks a rule (name, version, type, dependencies).
    #[error("validation: {0}")]
    Validation(String),
    /// A vendored subchart failed to load.
    #[error("error unpacking subchart {name} in {parent}: {source}")]
    Subchart {
        /// The subchart's directory or archive name.
        name: String,
        /// The chart that vendors it.
        parent: String,
        /// Why it failed.
        source: Box<HelmError>,
    },
    /// The chart's `kubeVersion` constraint excludes the target Kubernetes version.
    #[error(
        "chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {version}"
    )]
    KubeVersion {
        /// The chart's constraint.
        constraint: String,
        /// The target version.
        version: String,
    },
    /// Library charts render no manifests of their own.
    #[error("library charts are not installable")]
    LibraryChart,
    /// A user value (`--set`, `-f`) is malformed.
    #[error("{0}")]
    Values(String),
    /// A template does not parse (`parse error at (chart/templates/x.yaml:3): ...`).
    #[error("{0}")]
    Parse(String),
    /// A template failed to execute, in Helm's format.
    #[error("{0}")]
    Render(String),
    /// A rendered manifest is not YAML.
    #[error("YAML parse error on {file}: {message}")]
    ManifestYaml {
        /// The template that produced it.
        file: String,
        /// The parser's reason.
        message: String,
    },
    /// The rendered output exceeds the size limit.
    #[error("rendered output is larger than the maximum size {limit}")]
    OutputTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The values break a chart's `values.schema.json` (the failing charts and their
    /// errors, each ending in a newline).
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    /// `--show-only` names a template the chart does not render.
    #[error("could not find template {0} in chart")]
    TemplateNotFound(String),
}
