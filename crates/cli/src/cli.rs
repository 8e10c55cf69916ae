//! Command-line definitions (clap); the implementations live in `commands/`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

mod artifact;
mod create;
mod errors;
pub use artifact::*;
pub use create::*;
pub use errors::exit_on_parse_error;

#[derive(Parser, Debug)]
#[command(
    name = "tether",
    version,
    about = "A GitOps engine for Kubernetes, a drop-in for Flux"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every reconciler in one process against the current cluster.
    Controller(ControllerArgs),
    /// Print (with --export) or apply the manifests that install tether.
    Install(InstallArgs),
    /// Remove tether's controller, the toolkit CRDs and the namespace, as `flux uninstall` does.
    Uninstall(UninstallArgs),
    /// Commit tether's manifests to a Git repository and sync the cluster from it, as
    /// `flux bootstrap` does.
    #[command(subcommand)]
    Bootstrap(BootstrapCommand),
    /// Native kustomize: `tether kustomize build DIR` prints what `kustomize build DIR` prints.
    #[command(subcommand)]
    Kustomize(KustomizeCommand),
    /// Native Helm: `tether helm template NAME CHART` prints what `helm template` prints.
    #[command(subcommand)]
    Helm(HelmCommand),
    /// Print the status of sources, Kustomizations and HelmReleases, as `flux get` does.
    Get(GetArgs),
    /// Ask for a reconciliation now and wait for its result, as `flux reconcile` does.
    Reconcile(ReconcileArgs),
    /// Stop reconciling an object (sets `spec.suspend`), as `flux suspend` does.
    Suspend(SuspendArgs),
    /// Reconcile a suspended object again and wait for its result, as `flux resume` does.
    Resume(SuspendArgs),
    /// Print the objects a Kustomization applied as a tree, as `flux tree` does.
    Tree(TreeArgs),
    /// Print what tether computes for an object (a HelmRelease's final values), as `flux debug`
    /// does.
    Debug(DebugArgs),
    /// Create or update sources, Kustomizations, HelmReleases, image automation objects,
    /// alerting objects and Secrets (or print them with --export), as `flux create` does.
    Create(Box<CreateArgs>),
    /// Print objects as YAML to apply elsewhere, as `flux export` does.
    Export(ExportArgs),
    /// List the Kubernetes Events about Flux objects, as `flux events` does.
    Events(EventsArgs),
    /// Print the controller's logs, filtered by kind, name, namespace and level, as `flux
    /// logs` does.
    Logs(LogsArgs),
    /// Build a Kustomization from a local directory as the controller would, as `flux build`
    /// does.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Check the Kubernetes version and the installation (controllers, CRDs), as `flux check`
    /// does.
    Check(CheckArgs),
    /// Show which Kustomization or HelmRelease applied an object, and from which source and
    /// revision, as `flux trace` does.
    Trace(TraceArgs),
    /// Call a Receiver's webhook from outside the cluster, as `flux trigger` does.
    #[command(subcommand)]
    Trigger(TriggerCommand),
    /// Push a directory or file to an OCI registry as a Flux artifact, as `flux push` does.
    #[command(subcommand)]
    Push(PushCommand),
    /// Pull a Flux artifact from an OCI registry and extract it, as `flux pull` does.
    #[command(subcommand)]
    Pull(PullCommand),
    /// Tag a Flux artifact in its OCI repository, as `flux tag` does.
    #[command(subcommand)]
    Tag(TagCommand),
    /// List the artifacts of an OCI repository, as `flux list` does.
    #[command(subcommand)]
    List(ListCommand),
    /// Compare an OCI artifact with local files, as `flux diff artifact` does.
    #[command(subcommand)]
    Diff(DiffCommand),
    /// Run as Flux v1's daemon: fluxd's flags, sync and automation loops, and the fluxctl
    /// API under /api/flux (`fluxctl --url http://<host>:3030/api/flux`).
    Fluxd(Box<crate::commands::fluxd::FluxdArgs>),
    /// The Flux v1 verbs of fluxctl.
    #[command(flatten)]
    Fluxctl(crate::commands::fluxctl::FluxctlCommand),
    /// fluxctl's verbs under fluxctl's name, and `fluxctl install`: the manifests that run
    /// `tether fluxd` in place of fluxd.
    #[command(subcommand, name = "fluxctl")]
    FluxctlGroup(FluxctlGroup),
}

#[derive(Subcommand, Debug)]
pub enum FluxctlGroup {
    /// Print the manifests that install `tether fluxd` as `fluxctl install` printed fluxd's.
    Install(crate::commands::fluxctl_install::FluxctlInstallArgs),
    #[command(flatten)]
    Verb(crate::commands::fluxctl::FluxctlCommand),
}

#[derive(Subcommand, Debug)]
pub enum KustomizeCommand {
    /// Build the kustomization in DIR and print its objects as YAML.
    Build {
        /// Directory holding a kustomization.yaml.
        #[arg(default_value = ".")]
        dir: std::path::PathBuf,
        /// LoadRestrictionsRootOnly (files must be under the kustomization's directory) or
        /// LoadRestrictionsNone.
        #[arg(long, default_value = "LoadRestrictionsRootOnly")]
        load_restrictor: tether_kustomize::LoadRestrictions,
    },
}

#[derive(Subcommand, Debug)]
pub enum HelmCommand {
    /// Render a chart (directory or .tgz) locally and print its manifests.
    Template(HelmTemplateArgs),
}

#[derive(Args, Debug)]
pub struct HelmTemplateArgs {
    /// Release name; with one argument, the chart (and the release is `release-name`).
    pub name: String,
    /// Chart directory or .tgz archive.
    pub chart: Option<std::path::PathBuf>,
    /// Values files, merged in order.
    #[arg(short = 'f', long = "values")]
    pub values: Vec<String>,
    /// Values as `a.b=c,d[0]=e` (typed: booleans, null, integers).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Values as `a.b=c`, always strings.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Values as `a.b=<JSON>` or a JSON object.
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Values as `a.b=<file>`, the file's contents.
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// Only print manifests rendered from the given templates (glob patterns).
    #[arg(short = 's', long = "show-only")]
    pub show_only: Vec<String>,
    /// Include the charts' crds/ files.
    #[arg(long)]
    pub include_crds: bool,
    /// Leave out test hooks.
    #[arg(long)]
    pub skip_tests: bool,
    /// Do not validate values against the charts' `values.schema.json`.
    #[arg(long)]
    pub skip_schema_validation: bool,
    /// `.Release.Namespace`.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// `.Capabilities.KubeVersion`.
    #[arg(long)]
    pub kube_version: Option<String>,
    /// Extra `.Capabilities.APIVersions` (comma-separated, repeatable).
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long)]
    pub is_upgrade: bool,
}

#[derive(Args, Debug)]
pub struct ControllerArgs {
    /// Address of the /healthz and /readyz endpoints.
    #[arg(long, default_value = "0.0.0.0:9440", env = "TETHER_HEALTH_ADDR")]
    pub health_addr: SocketAddr,
    /// Address of the /metrics endpoint.
    #[arg(long, default_value = "0.0.0.0:8080", env = "TETHER_METRICS_ADDR")]
    pub metrics_addr: SocketAddr,
    /// Directory for source artifacts and their extracted trees.
    #[arg(long, default_value = "/tmp/tether", env = "TETHER_STORAGE_PATH")]
    pub storage_path: std::path::PathBuf,
    /// Address the artifact storage is served on.
    #[arg(long, default_value = "0.0.0.0:9090", env = "TETHER_STORAGE_ADDR")]
    pub storage_addr: SocketAddr,
    /// Host (as Flux's flag takes it) or base URL advertised in `status.artifact.url`.
    #[arg(
        long,
        default_value = "tether-controller.flux-system.svc.cluster.local."
    )]
    pub storage_adv_addr: String,
    /// Address events from Flux controllers are accepted on (their --events-addr points at
    /// the notification-controller Service, port 80 to this).
    #[arg(long, default_value = "0.0.0.0:9690", env = "TETHER_EVENTS_ADDR")]
    pub events_addr: SocketAddr,
    /// Address Receiver webhooks (/hook/...) are served on (Flux's --receiver-addr).
    #[arg(long, default_value = "0.0.0.0:9292", env = "TETHER_RECEIVER_ADDR")]
    pub receiver_addr: SocketAddr,
    /// Identical events are sent to Alerts once per this interval (Flux's --rate-limit-interval).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub rate_limit_interval: std::time::Duration,
    /// Alert deliveries in flight at once.
    #[arg(long, default_value_t = tether_controller::DEFAULT_MAX_CONCURRENT_DELIVERIES)]
    pub max_concurrent_deliveries: usize,
    /// Reconciles of each kind running at once (20: the 1000-app benchmark is fastest there;
    /// 10 and 40 are both slower).
    #[arg(long, default_value_t = 20)]
    pub concurrent: u16,
    /// Retry delay while a dependency is not ready.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub requeue_dependency: std::time::Duration,
    /// Reconcile only objects in this namespace (default: all namespaces).
    #[arg(long)]
    pub watch_namespace: Option<String>,
    /// ServiceAccount (in each object's namespace) that Kustomizations and HelmReleases setting
    /// no spec.serviceAccountName apply as (Flux's --default-service-account).
    #[arg(long)]
    pub default_service_account: Option<String>,
    /// ServiceAccount (in each object's namespace) whose token reaches the remote cluster of a
    /// `spec.kubeConfig.configMapRef` whose ConfigMap names no serviceAccountName (Flux's
    /// --default-kubeconfig-service-account).
    #[arg(long)]
    pub default_kubeconfig_service_account: Option<String>,
    /// Refuse references into another namespace (Flux's --no-cross-namespace-refs; `=true` or
    /// `=false` as Flux's manifests write it): Kustomization sourceRefs, HelmRelease chart
    /// references, Alert event sources and provider, Receiver resources.
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub no_cross_namespace_refs: bool,
    /// Refuse kustomize remote bases (Flux's --no-remote-bases). tether never fetches remote
    /// bases: they are refused with a clear condition with or without this flag.
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub no_remote_bases: bool,
    /// Log format: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_encoding: String,
    /// Registry requests per second, per registry host (fluxd's --registry-rps).
    #[arg(long, default_value_t = tether_registry::DEFAULT_REQUESTS_PER_SECOND)]
    pub registry_rps: f64,
    /// Registry request burst, per registry host (fluxd's --registry-burst).
    #[arg(long, default_value_t = tether_registry::DEFAULT_BURST)]
    pub registry_burst: u32,
    /// Period of Flux v1 automation (workloads annotated fluxcd.io/automated); 0s disables it.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub automation_interval: std::time::Duration,
    /// How Flux v1 automation commits are written.
    #[command(flatten)]
    pub git: GitAuthorArgs,
}

/// fluxd's commit flags, shared by the controller (automation commits) and the fluxctl verbs.
#[derive(Args, Debug, Clone)]
pub struct GitAuthorArgs {
    /// Commit author name (fluxd's --git-user).
    #[arg(long, default_value = "Weave Flux")]
    pub git_user: String,
    /// Commit author email (fluxd's --git-email).
    #[arg(long, default_value = "support@weave.works")]
    pub git_email: String,
    /// Append "[ci skip]" to commit messages (fluxd's --git-ci-skip).
    #[arg(long)]
    pub git_ci_skip: bool,
}

impl GitAuthorArgs {
    /// fluxd's commit settings with this author.
    pub fn settings(&self) -> tether_fluxv1::CommitSettings {
        tether_fluxv1::CommitSettings {
            author: tether_source::Author {
                name: self.git_user.clone(),
                email: self.git_email.clone(),
            },
            skip_message: if self.git_ci_skip {
                tether_fluxv1::CI_SKIP_SUFFIX.to_owned()
            } else {
                String::new()
            },
            ..tether_fluxv1::CommitSettings::default()
        }
    }
}

/// Flux's install flags, shared by `install` and `bootstrap`. tether runs one controller for
/// every Flux component; the component flags are checked as Flux checks them and recorded in
/// the manifests' header, and select no separate Deployments.
#[derive(Args, Debug, Clone)]
pub struct InstallFlags {
    /// The Flux components (tether serves them all from one controller).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "source-controller,kustomize-controller,helm-controller,notification-controller"
    )]
    pub components: Vec<String>,
    /// Extra components: image-reflector-controller, image-automation-controller,
    /// source-watcher (served by the same controller).
    #[arg(long, value_delimiter = ',')]
    pub components_extra: Vec<String>,
    /// The version recorded in the manifests' header (default: tether's own).
    #[arg(short = 'v', long)]
    pub version: Option<String>,
    /// Container image of the controller.
    #[arg(long, default_value = "tether:latest")]
    pub image: String,
    /// Container registry of Flux's images; tether's single image is set with --image, so this
    /// is accepted with a note.
    #[arg(long, default_value = "ghcr.io/fluxcd")]
    pub registry: String,
    /// Registry credentials `user:password` for --image-pull-secret.
    #[arg(long, default_value = "")]
    pub registry_creds: String,
    /// The Secret the controller's image is pulled with (added to the pod's imagePullSecrets).
    #[arg(long, default_value = "")]
    pub image_pull_secret: String,
    /// Reconcile objects in every namespace; `=false` watches only the install namespace.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub watch_all_namespaces: bool,
    /// Deny ingress to the controller from other namespaces (Flux's NetworkPolicies).
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub network_policy: bool,
    /// The controller's log level: debug, info or error.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// The cluster's internal domain.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Taint keys the controller's pod tolerates.
    #[arg(long, value_delimiter = ',')]
    pub toleration_keys: Vec<String>,
    /// Add a MutatingAdmissionPolicy (Kubernetes 1.36 or later) that gives new GitRepositories
    /// and Kustomizations their finalizer as they are created, sparing the controller one
    /// write per object.
    #[arg(long)]
    pub admission_policy: bool,
    /// Path to the manifest directory (Flux's hidden flag; tether's manifests are built in).
    #[arg(long, hide = true)]
    pub manifests: Option<String>,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub flags: InstallFlags,
    /// Print the manifests to standard output instead of applying them.
    #[arg(long)]
    pub export: bool,
    /// Print only the CustomResourceDefinitions.
    #[arg(long)]
    pub crds_only: bool,
    /// Install even over an installation managed by another tool.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Skip namespace deletion.
    #[arg(long)]
    pub keep_namespace: bool,
    /// Only print the objects that would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete components without asking for confirmation.
    #[arg(short, long)]
    pub silent: bool,
}

#[derive(Subcommand, Debug)]
pub enum BootstrapCommand {
    /// Deploy tether on a cluster connected to a Git repository.
    Git(Box<BootstrapGitArgs>),
    /// Not supported: use `bootstrap git`.
    #[command(disable_help_flag = true)]
    Github {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
    /// Not supported: use `bootstrap git`.
    #[command(disable_help_flag = true)]
    Gitlab {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
    /// Not supported: use `bootstrap git`.
    #[command(disable_help_flag = true)]
    Gitea {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
    /// Not supported: use `bootstrap git`.
    #[command(disable_help_flag = true)]
    BitbucketServer {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct BootstrapGitArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub install: InstallFlags,
    /// Git repository URL.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Git branch.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Path relative to the repository root; the cluster sync is scoped to it.
    #[arg(long, default_value = "")]
    pub path: String,
    /// Sync interval.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    /// Basic authentication username.
    #[arg(short, long, default_value = "git")]
    pub username: String,
    /// Basic authentication password (or $GIT_PASSWORD), or the private key's passphrase.
    #[arg(
        short,
        long,
        default_value = "",
        env = "GIT_PASSWORD",
        hide_env_values = true
    )]
    pub password: String,
    /// Assume the deploy key is already set up; skip confirmation.
    #[arg(short, long)]
    pub silent: bool,
    /// Allow plain HTTP.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Use the password as a bearer token.
    #[arg(long)]
    pub with_bearer_token: bool,
    /// Use basic auth (--username/--password) in the cluster too, instead of an SSH key.
    #[arg(long)]
    pub token_auth: bool,
    /// Name of the Secret the sync credentials are read from or stored to (default: the
    /// namespace).
    #[arg(long)]
    pub secret_name: Option<String>,
    /// Path to a private key for the Git SSH server (also stored in the cluster's Secret).
    #[arg(long)]
    pub private_key_file: Option<std::path::PathBuf>,
    /// Algorithm of a generated key: rsa, ecdsa or ed25519.
    #[arg(long)]
    pub ssh_key_algorithm: Option<String>,
    /// Size of a generated RSA key.
    #[arg(long)]
    pub ssh_rsa_bits: Option<String>,
    /// Curve of a generated ECDSA key: p256, p384 (default) or p521.
    #[arg(long)]
    pub ssh_ecdsa_curve: Option<String>,
    /// SSH hostname, when it differs from the URL's.
    #[arg(long, default_value = "")]
    pub ssh_hostname: String,
    /// Path to a TLS CA file for self-signed certificates.
    #[arg(long)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Author name of the commits.
    #[arg(long, default_value = "Flux")]
    pub author_name: String,
    /// Author email of the commits.
    #[arg(long, default_value = "")]
    pub author_email: String,
    /// Text added to the commit messages, e.g. '[ci skip]'.
    #[arg(long, default_value = "")]
    pub commit_message_appendix: String,
    /// Override an installation managed by another tool.
    #[arg(long)]
    pub force: bool,
}

/// A Go duration flag value; refused with Go's `time.ParseDuration` message, as cobra shows it.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    tether_api::meta::Duration::new(text)
        .and_then(|d| d.to_std())
        .map_err(|_| crate::commands::create::flags::go_duration_error(text))
}

/// Where the Flux objects live and how to reach the cluster; shared by get, reconcile,
/// suspend, resume and tree.
#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// The namespace of the objects.
    #[arg(
        short,
        long,
        global = true,
        env = "FLUX_SYSTEM_NAMESPACE",
        default_value = "flux-system"
    )]
    pub namespace: String,
    /// Path of the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// How long the whole operation may take.
    #[arg(long, global = true, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// List the objects across all namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Skip the header when printing the results.
    #[arg(long, global = true)]
    pub no_header: bool,
    /// Only objects whose condition has a status, e.g. `ready=false` or `ready!=true`.
    #[arg(long, global = true)]
    pub status_selector: Option<String>,
    /// After listing, print a row for every change of the objects (until --timeout).
    #[arg(short = 'w', long, global = true)]
    pub watch: bool,
    #[command(subcommand)]
    pub kind: GetKind,
}

#[derive(Subcommand, Debug)]
pub enum GetKind {
    /// The statuses of every kind: sources, image automation, HelmReleases, Kustomizations,
    /// Receivers, Providers and Alerts.
    All,
    /// Source statuses.
    #[command(subcommand, visible_alias = "source")]
    Sources(GetSourceKind),
    /// Kustomization statuses.
    #[command(visible_aliases = ["ks", "kustomization"])]
    Kustomizations {
        /// Only the Kustomization with this name.
        name: Option<String>,
    },
    /// HelmRelease statuses.
    #[command(visible_aliases = ["hr", "helmrelease"])]
    Helmreleases {
        /// Only the HelmRelease with this name.
        name: Option<String>,
    },
    /// Image automation object statuses.
    #[command(subcommand, visible_alias = "image")]
    Images(GetImageKind),
    /// Alert statuses.
    #[command(visible_alias = "alert")]
    Alerts {
        /// Only the Alert with this name.
        name: Option<String>,
    },
    /// Provider statuses.
    #[command(visible_alias = "alert-provider")]
    AlertProviders {
        /// Only the Provider with this name.
        name: Option<String>,
    },
    /// Receiver statuses.
    #[command(visible_alias = "receiver")]
    Receivers {
        /// Only the Receiver with this name.
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BuildCommand {
    /// Build a Kustomization's objects from a local directory.
    #[command(visible_alias = "ks")]
    Kustomization(BuildKustomizationArgs),
    /// Pack a local directory or file into a gzipped tarball, as a Flux artifact's content.
    Artifact(BuildArtifactArgs),
}

#[derive(Args, Debug)]
pub struct BuildKustomizationArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Name of the Kustomization.
    pub name: Option<String>,
    #[command(flatten)]
    pub local: LocalBuildArgs,
    /// Build without the cluster, from --kustomization-file; variables from Secrets and
    /// ConfigMaps (`substituteFrom`) are not substituted.
    #[arg(long)]
    pub dry_run: bool,
}

/// The flags `build kustomization` and `diff kustomization` share, as Flux's.
#[derive(Args, Debug, Clone)]
pub struct LocalBuildArgs {
    /// Path to the local directory standing in for the Kustomization's `spec.path`.
    #[arg(long, default_value = "")]
    pub path: String,
    /// Path to a file holding the Kustomization, used instead of the cluster's.
    #[arg(long, default_value = "")]
    pub kustomization_file: String,
    /// Paths to ignore, in .gitignore format (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Fail when a variable without a default is not set.
    #[arg(long)]
    pub strict_substitute: bool,
    /// Build (or diff) the Kustomizations found in the output too, from --local-sources.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Local copies of sources for --recursive: `Kind/namespace/name=path`, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub local_sources: Vec<String>,
    /// Accepted as Flux's flag; tether always builds in memory and never writes to --path.
    #[arg(long)]
    pub in_memory_build: bool,
}

/// `diff kustomization NAME --path DIR`.
#[derive(Args, Debug)]
pub struct DiffKustomizationArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Name of the Kustomization.
    pub name: Option<String>,
    #[command(flatten)]
    pub local: LocalBuildArgs,
    /// Show a spinner while the dry-run runs (only when standard error is a terminal).
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub progress_bar: bool,
    /// With --kustomization-file, diff even when the Kustomization is not in the cluster.
    #[arg(long)]
    pub ignore_not_found: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Only check the prerequisites (the Kubernetes version).
    #[arg(long)]
    pub pre: bool,
    /// How often to poll the controllers' readiness.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub poll_interval: std::time::Duration,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// `TYPE NAME` or `TYPE/NAME` (as kubectl takes them), or NAME with --kind and
    /// --api-version.
    #[arg(required = true, num_args = 1..=2)]
    pub object: Vec<String>,
    /// The kind of the object.
    #[arg(long)]
    pub kind: Option<String>,
    /// The API version of the object (`apps/v1`).
    #[arg(long)]
    pub api_version: Option<String>,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// List the events of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only the events of this object (`Kind/name`) and of what it refers to, or of a kind.
    #[arg(long = "for")]
    pub for_: Option<String>,
    /// Only events of these types (Normal, Warning).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Refused, as `flux logs` refuses arguments.
    pub args: Vec<String>,
    /// Only lines of this level: debug, info or error.
    #[arg(long, value_parser = parse_log_level)]
    pub level: Option<String>,
    /// Only lines about this kind, e.g. GitRepository.
    #[arg(long, default_value = "")]
    pub kind: String,
    /// Only lines about objects of this name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Stream the logs.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines of recent log to display (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_parser = parse_go_int64)]
    pub tail: i64,
    /// The namespace where the controller runs.
    #[arg(long, env = "FLUX_SYSTEM_NAMESPACE", default_value = "flux-system")]
    pub flux_namespace: String,
    /// Lines about objects of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only lines newer than this duration, e.g. 5s, 2m or 3h.
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Only lines after this time (RFC 3339).
    #[arg(long, default_value = "")]
    pub since_time: String,
}

/// An `Int64Var` flag, refused in Go's words.
fn parse_go_int64(text: &str) -> Result<i64, String> {
    text.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {text:?}: {why}")
    })
}

/// Flux's `LogLevel` flag: debug, info or error.
fn parse_log_level(level: &str) -> Result<String, String> {
    const LEVELS: [&str; 3] = ["debug", "info", "error"];
    if level.trim().is_empty() {
        return Err(format!(
            "no log level given, must be one of: {}",
            LEVELS.join(", ")
        ));
    }
    if !LEVELS.contains(&level) {
        return Err(format!(
            "unsupported log level '{level}', must be one of: {}",
            LEVELS.join(", ")
        ));
    }
    Ok(level.to_owned())
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Export every object of the kind in the namespace.
    #[arg(long, global = true)]
    pub all: bool,
    #[command(subcommand)]
    pub kind: ExportKind,
}

#[derive(Subcommand, Debug)]
pub enum ExportKind {
    /// Export sources.
    Source(ExportSourceArgs),
    /// Export Kustomizations.
    #[command(visible_alias = "ks")]
    Kustomization {
        /// Name of the Kustomization (or --all).
        name: Option<String>,
    },
    /// Export HelmReleases.
    #[command(visible_alias = "hr")]
    Helmrelease {
        /// Name of the HelmRelease (or --all).
        name: Option<String>,
    },
    /// Export image automation objects.
    #[command(subcommand)]
    Image(ExportImageKind),
    /// Export Alerts.
    Alert {
        /// Name of the Alert (or --all).
        name: Option<String>,
    },
    /// Export Providers.
    AlertProvider {
        /// Name of the Provider (or --all).
        name: Option<String>,
    },
    /// Export Receivers.
    Receiver {
        /// Name of the Receiver (or --all).
        name: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct ExportSourceArgs {
    /// Also export the Secret named by each source's `spec.secretRef`.
    #[arg(long, global = true)]
    pub with_credentials: bool,
    #[command(subcommand)]
    pub kind: GetSourceKind,
}

#[derive(Subcommand, Debug)]
pub enum ExportImageKind {
    /// Export ImageRepositories.
    Repository {
        /// Name of the ImageRepository (or --all).
        name: Option<String>,
    },
    /// Export ImagePolicies.
    Policy {
        /// Name of the ImagePolicy (or --all).
        name: Option<String>,
    },
    /// Export ImageUpdateAutomations.
    Update {
        /// Name of the ImageUpdateAutomation (or --all).
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GetImageKind {
    /// ImageRepository statuses.
    Repository {
        /// Only the ImageRepository with this name.
        name: Option<String>,
    },
    /// ImagePolicy statuses.
    Policy {
        /// Only the ImagePolicy with this name.
        name: Option<String>,
    },
    /// ImageUpdateAutomation statuses.
    Update {
        /// Only the ImageUpdateAutomation with this name.
        name: Option<String>,
    },
    /// The statuses of every image automation object.
    All,
}

/// An image automation object named on the command line.
#[derive(Subcommand, Debug)]
pub enum ImageTarget {
    /// An ImageRepository.
    Repository {
        /// Name of the ImageRepository.
        name: String,
    },
    /// An ImagePolicy.
    Policy {
        /// Name of the ImagePolicy.
        name: String,
    },
    /// An ImageUpdateAutomation.
    Update {
        /// Name of the ImageUpdateAutomation.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum GetSourceKind {
    /// GitRepository statuses.
    Git {
        /// Only the GitRepository with this name.
        name: Option<String>,
    },
    /// OCIRepository statuses.
    Oci {
        /// Only the OCIRepository with this name.
        name: Option<String>,
    },
    /// Bucket statuses.
    Bucket {
        /// Only the Bucket with this name.
        name: Option<String>,
    },
    /// HelmRepository statuses.
    Helm {
        /// Only the HelmRepository with this name.
        name: Option<String>,
    },
    /// HelmChart statuses.
    Chart {
        /// Only the HelmChart with this name.
        name: Option<String>,
    },
    /// ExternalArtifact statuses.
    External {
        /// Only the ExternalArtifact with this name.
        name: Option<String>,
    },
    /// The statuses of every source (`get` only).
    All,
}

/// A source named on the command line.
#[derive(Subcommand, Debug)]
pub enum SourceTarget {
    /// A GitRepository.
    Git {
        /// Name of the GitRepository.
        name: String,
    },
    /// An OCIRepository.
    Oci {
        /// Name of the OCIRepository.
        name: String,
    },
    /// A Bucket.
    Bucket {
        /// Name of the Bucket.
        name: String,
    },
    /// A HelmRepository.
    Helm {
        /// Name of the HelmRepository.
        name: String,
    },
    /// A HelmChart.
    Chart {
        /// Name of the HelmChart.
        name: String,
    },
}

#[derive(Args, Debug)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub kind: ReconcileKind,
}

#[derive(Subcommand, Debug)]
pub enum ReconcileKind {
    /// Reconcile a source.
    #[command(subcommand)]
    Source(SourceTarget),
    /// Reconcile a Kustomization.
    #[command(visible_alias = "ks")]
    Kustomization {
        /// Name of the Kustomization.
        name: String,
        /// Reconcile the Kustomization's source first.
        #[arg(long)]
        with_source: bool,
    },
    /// Reconcile a HelmRelease.
    #[command(visible_alias = "hr")]
    Helmrelease {
        /// Name of the HelmRelease.
        name: String,
        /// Reconcile the HelmRelease's source (its HelmChart and that chart's source, or its
        /// chartRef) first.
        #[arg(long)]
        with_source: bool,
        /// Force a one-off install or upgrade of the release, even when it is in sync.
        #[arg(long)]
        force: bool,
        /// Reset the release's failure counters, so a release out of retries tries again.
        #[arg(long)]
        reset: bool,
    },
    /// Reconcile an image automation object.
    #[command(subcommand)]
    Image(ImageTarget),
    /// Reconcile a Receiver (Alerts and Providers have no reconciler to ask since Flux 2.2).
    Receiver {
        /// Name of the Receiver.
        name: String,
    },
}

#[derive(Args, Debug)]
pub struct SuspendArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub kind: SuspendKind,
}

#[derive(Subcommand, Debug)]
pub enum SuspendKind {
    /// A source.
    #[command(subcommand)]
    Source(SourceTarget),
    /// A Kustomization.
    #[command(visible_alias = "ks")]
    Kustomization {
        /// Name of the Kustomization.
        name: String,
    },
    /// A HelmRelease.
    #[command(visible_alias = "hr")]
    Helmrelease {
        /// Name of the HelmRelease.
        name: String,
    },
    /// An image automation object.
    #[command(subcommand)]
    Image(ImageTarget),
    /// An Alert.
    Alert {
        /// Name of the Alert.
        name: String,
    },
    /// A Provider.
    AlertProvider {
        /// Name of the Provider.
        name: String,
    },
    /// A Receiver.
    Receiver {
        /// Name of the Receiver.
        name: String,
    },
}

#[derive(Args, Debug)]
pub struct TreeArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub kind: TreeKind,
}

#[derive(Subcommand, Debug)]
pub enum TreeKind {
    /// The objects in a Kustomization's inventory, and theirs for nested Kustomizations.
    #[command(visible_aliases = ["ks"])]
    Kustomization {
        /// Name of the Kustomization.
        name: String,
        /// List Flux objects only.
        #[arg(long)]
        compact: bool,
    },
    /// The objects of a HelmRelease's current Helm release.
    #[command(visible_aliases = ["hr"])]
    Helmrelease {
        /// Name of the HelmRelease.
        name: String,
        /// List Flux objects only.
        #[arg(long)]
        compact: bool,
    },
}

#[derive(Args, Debug)]
pub struct DebugArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub kind: DebugKind,
}

#[derive(Subcommand, Debug)]
pub enum DebugKind {
    /// A HelmRelease: its status, final values or history (exactly one). The values include
    /// those read from Secrets.
    #[command(visible_alias = "hr")]
    Helmrelease {
        /// Name of the HelmRelease.
        name: String,
        /// Print the status of the Helm release.
        #[arg(long)]
        show_status: bool,
        /// Print the final values of the Helm release: `valuesFrom` in order, then `values`.
        #[arg(long)]
        show_values: bool,
        /// Print the reconciliation history of the Helm release.
        #[arg(long)]
        show_history: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TriggerCommand {
    /// POST to a Receiver's webhook: the path is computed from its name, namespace and token.
    Receiver(TriggerReceiverArgs),
}

#[derive(Args, Debug)]
pub struct TriggerReceiverArgs {
    /// Name of the Receiver.
    pub name: String,
    /// The namespace of the Receiver.
    #[arg(
        short,
        long,
        env = "FLUX_SYSTEM_NAMESPACE",
        default_value = "flux-system"
    )]
    pub namespace: String,
    /// The Receiver token; required for all types except generic-oidc, where it must not be set.
    #[arg(long, default_value = "")]
    pub token: String,
    /// The base URL of the webhook receiver, may contain a base path.
    #[arg(long, default_value = "")]
    pub url: String,
    /// The Receiver type: generic, generic-hmac or generic-oidc.
    #[arg(long = "type", default_value = "generic")]
    pub receiver_type: String,
    /// The OIDC provider to fetch the token from: github or forgejo (generic-oidc only).
    #[arg(long, default_value = "")]
    pub oidc_provider: String,
    /// The OIDC token (generic-oidc only); defaults to $FLUX_TRIGGER_RECEIVER_OIDC_TOKEN.
    #[arg(long, default_value = "")]
    pub oidc_token: String,
    /// The audience of the OIDC token to fetch (requires --oidc-provider).
    #[arg(long, default_value = "")]
    pub oidc_audience: String,
    /// The JSON payload sent as the request body.
    #[arg(long, default_value = "{}")]
    pub payload: String,
    /// Retries on connection errors and retryable statuses (404, 408, 429, 5xx); 0 disables.
    #[arg(long, default_value_t = 10)]
    pub retries: u32,
    /// The delay between retries.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub retry_delay: std::time::Duration,
    /// How long the whole operation may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}
