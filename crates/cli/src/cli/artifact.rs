//! The artifact verbs' arguments: `push`, `pull`, `tag`, `list`, `diff` and `build artifact`,
//! with Flux's flags.

use super::parse_duration;
use clap::{Args, Subcommand};

/// Flux's default `--ignore-paths` for artifacts: VCS files and archives (`excludeOCI`).
pub const DEFAULT_ARTIFACT_IGNORE: &str = ".git/,.gitignore,.gitmodules,.gitattributes,*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip";

#[derive(Subcommand, Debug)]
pub enum PushCommand {
    /// Push the files at --path as a Flux artifact to `oci://<repository>[:<tag>]`.
    Artifact(PushArtifactArgs),
}

#[derive(Subcommand, Debug)]
pub enum TagCommand {
    /// Put `oci://<repository>[:<tag>|@<digest>]` under the tags given with --tag too.
    Artifact(TagArtifactArgs),
}

#[derive(Args, Debug)]
pub struct TagArtifactArgs {
    /// The artifact address, `oci://<repository>[:<tag>|@<digest>]`.
    pub url: String,
    /// The new tags (repeatable, or comma-separated).
    #[arg(long = "tag", value_delimiter = ',', required = true)]
    pub tags: Vec<String>,
    /// Registry credentials, `<username>[:<password>]`.
    #[arg(long)]
    pub creds: Option<String>,
    /// Allow plain HTTP to the registry.
    #[arg(long)]
    pub insecure_registry: bool,
    /// How long tagging may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Subcommand, Debug)]
pub enum PullCommand {
    /// Pull `oci://<repository>[:<tag>|@<digest>]` and extract its content into --output.
    Artifact(PullArtifactArgs),
}

#[derive(Args, Debug)]
pub struct PullArtifactArgs {
    /// The artifact address, `oci://<repository>[:<tag>|@<digest>]`.
    pub url: String,
    /// The directory the content is extracted into.
    #[arg(long, short = 'o')]
    pub output: std::path::PathBuf,
    /// Registry credentials, `<username>[:<password>]`.
    #[arg(long)]
    pub creds: Option<String>,
    /// Allow plain HTTP to the registry.
    #[arg(long)]
    pub insecure_registry: bool,
    /// How long the pull may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Args, Debug)]
pub struct PushArtifactArgs {
    /// The artifact address, `oci://<repository>[:<tag>]` (`latest` when no tag).
    pub url: String,
    /// The directory or file whose content is pushed.
    #[arg(long, short = 'f')]
    pub path: std::path::PathBuf,
    /// The source address, e.g. the Git URL.
    #[arg(long)]
    pub source: String,
    /// The source revision, `<branch|tag>@sha1:<commit>`.
    #[arg(long)]
    pub revision: String,
    /// Registry credentials, `<username>[:<password>]`.
    #[arg(long)]
    pub creds: Option<String>,
    /// Paths to leave out, in .gitignore format (replacing the defaults: VCS files and archives).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = DEFAULT_ARTIFACT_IGNORE
    )]
    pub ignore_paths: Vec<String>,
    /// More paths to leave out, appended to --ignore-paths.
    #[arg(long, value_delimiter = ',')]
    pub add_ignore_paths: Vec<String>,
    /// Annotations of the artifact, `<key>=<value>` (repeatable).
    #[arg(long, short = 'a')]
    pub annotations: Vec<String>,
    /// Copy the targets of symlinks into the artifact instead of the links.
    #[arg(long)]
    pub resolve_symlinks: bool,
    /// Stamp the creation time 1970-01-01T00:00:00Z, so the same content gives the same digest.
    #[arg(long)]
    pub reproducible: bool,
    /// Allow plain HTTP to the registry.
    #[arg(long)]
    pub insecure_registry: bool,
    /// Print the pushed artifact's address as `json` or `yaml` instead of a message.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    /// How long the push may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Args, Debug)]
pub struct BuildArtifactArgs {
    /// The directory or file whose content is packed (`-` reads one file from standard input).
    #[arg(long, short = 'p')]
    pub path: Option<std::path::PathBuf>,
    /// Where the gzipped tarball is written.
    #[arg(long, short = 'o', default_value = "artifact.tgz")]
    pub output: std::path::PathBuf,
    /// Paths to leave out, in .gitignore format (replacing the defaults: VCS files and archives).
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_ARTIFACT_IGNORE)]
    pub ignore_paths: Vec<String>,
    /// More paths to leave out, appended to --ignore-paths.
    #[arg(long, value_delimiter = ',')]
    pub add_ignore_paths: Vec<String>,
    /// Copy the targets of symlinks into the artifact instead of the links.
    #[arg(long)]
    pub resolve_symlinks: bool,
}

#[derive(Subcommand, Debug)]
pub enum ListCommand {
    /// List the tags of `oci://<repository>` with each artifact's digest, source and revision.
    #[command(visible_alias = "artifact")]
    Artifacts(ListArtifactsArgs),
}

#[derive(Args, Debug)]
pub struct ListArtifactsArgs {
    /// The repository, `oci://<repository>`.
    pub url: String,
    /// Only tags that are versions within this semver range.
    #[arg(long)]
    pub filter_semver: Option<String>,
    /// Only tags matching this regular expression.
    #[arg(long)]
    pub filter_regex: Option<String>,
    /// Registry credentials, `<username>[:<password>]`.
    #[arg(long)]
    pub creds: Option<String>,
    /// Allow plain HTTP to the registry.
    #[arg(long)]
    pub insecure_registry: bool,
    /// How long listing may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Subcommand, Debug)]
pub enum DiffCommand {
    /// Build a Kustomization from a local directory, dry-run it against the cluster and print
    /// what would be created, changed or pruned; exit status 1 when anything would.
    #[command(visible_alias = "ks")]
    Kustomization(super::DiffKustomizationArgs),
    /// Compare `oci://<repository>[:<tag>|@<digest>]` with a local directory or file.
    Artifact(DiffArtifactArgs),
}

#[derive(Args, Debug)]
pub struct DiffArtifactArgs {
    /// The artifact address, `oci://<repository>[:<tag>|@<digest>]`.
    pub url: String,
    /// The local directory or file compared with the artifact's content.
    #[arg(long)]
    pub path: Option<std::path::PathBuf>,
    /// Registry credentials, `<username>[:<password>]`.
    #[arg(long)]
    pub creds: Option<String>,
    /// Paths to leave out, in .gitignore format (replacing the defaults: VCS files and archives).
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_ARTIFACT_IGNORE)]
    pub ignore_paths: Vec<String>,
    /// Allow plain HTTP to the registry.
    #[arg(long)]
    pub insecure_registry: bool,
    /// How long the comparison may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}
