//! The error type of a build: every variant names the file or object it is about.

use std::path::PathBuf;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A YAML document could not be parsed.
    #[error("{path}: invalid YAML: {source}")]
    Yaml {
        /// File holding the document.
        path: PathBuf,
        /// Position and cause.
        source: tether_core::yaml::YamlError,
    },
    /// A file or directory the kustomization names does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A path leaves the root the build is confined to.
    #[error("security; file '{path}' is not in or below '{root}'")]
    OutsideRoot {
        /// The offending path.
        path: PathBuf,
        /// The root the build may read.
        root: PathBuf,
    },
    /// Reading a file failed for another reason.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than the configured bound, or the build read too much in total.
    #[error("{path}: input exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// The file being read when the bound was hit.
        path: PathBuf,
        /// The bound in bytes.
        limit: u64,
    },
    /// A directory has no kustomization file.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{dir}'"
    )]
    MissingKustomization {
        /// The directory.
        dir: PathBuf,
    },
    /// A directory has more than one kustomization file.
    #[error("Found multiple kustomization files under: {dir}")]
    MultipleKustomizations {
        /// The directory.
        dir: PathBuf,
    },
    /// The kustomization file is not valid.
    #[error("{path}: invalid Kustomization: {message}")]
    InvalidKustomization {
        /// The kustomization file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A remote resource (URL or git repository) was named but remote access is disabled.
    #[error("{path}: remote resource '{resource}' refused: remote resources are disabled")]
    RemoteRefused {
        /// The kustomization naming it.
        path: PathBuf,
        /// The URL.
        resource: String,
    },
    /// A plugin (generators/transformers/validators, helm) was named but plugins are disabled.
    #[error("{path}: plugin '{plugin}' refused: exec and function plugins are disabled")]
    PluginRefused {
        /// The kustomization naming it.
        path: PathBuf,
        /// Which plugin.
        plugin: String,
    },
    /// Two objects ended up with the same id.
    #[error("may not add resource with an already registered id: {id}")]
    Conflict {
        /// The duplicated id.
        id: String,
    },
    /// A kustomization includes itself, directly or through others.
    #[error("cycle detected: '{path}' is already being built")]
    Cycle {
        /// The directory seen twice.
        path: PathBuf,
    },
    /// A patch could not be parsed or applied.
    #[error("{source_name}: {message}")]
    Patch {
        /// The patch file, or `[patch: ...]` for inline patches.
        source_name: String,
        /// What went wrong.
        message: String,
    },
    /// A transformer or generator was configured wrongly or failed on an object.
    /// A `configurations:` or `crds:` file kustomize cannot read as transformer configuration.
    #[error("{path}: invalid transformer configuration: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    #[error("{0}")]
    Transform(String),
}

impl Error {
    /// Shorthand for [`Error::Transform`].
    pub fn transform(message: impl Into<String>) -> Error {
        Error::Transform(message.into())
    }
}

/// Result of a build step.
pub type Result<T> = std::result::Result<T, Error>;
