//! `tether fluxd`: fluxd 1.25's command line, so an existing fluxd Deployment's args work as
//! they are. The flags that mean something to tether drive `tether_controller::fluxd`; the
//! rest are accepted with one warning each (memcached: tether's image cache is built in);
//! a flag fluxd never had fails at start-up naming it.

use anyhow::Context;
use clap::{ArgAction, Args};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tether_controller::fluxd::{FluxdOptions, GcMode, key::KeySecret};

use super::fluxctl_target::parse_duration;

/// The fluxd version `tether fluxd --version` and the API report.
const FLUXD_VERSION: &str = concat!("tether-", env!("CARGO_PKG_VERSION"));

/// fluxd 1.25's flags (pflag booleans take `--flag`, `--flag=true` or `--flag=false`).
#[derive(Args, Debug)]
#[command(args_override_self = true)]
#[allow(clippy::struct_excessive_bools)]
pub struct FluxdArgs {
    /// Log format: fmt or json.
    #[arg(long, default_value = "fmt")]
    pub log_format: String,
    /// Where the API (/api/flux) is served.
    #[arg(short = 'l', long, default_value = ":3030")]
    pub listen: String,
    /// Separate listen address for /metrics (not served by tether fluxd).
    #[arg(long)]
    pub listen_metrics: Option<String>,
    /// Explicit path to kubectl (tether applies natively; ignored).
    #[arg(long)]
    pub kubernetes_kubectl: Option<String>,
    /// Print the version and exit.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub version: bool,
    /// URL of the git repository with the manifests.
    #[arg(long, default_value = "")]
    pub git_url: String,
    /// Branch of the git repository.
    #[arg(long, default_value = "master")]
    pub git_branch: String,
    /// Relative paths in the repository holding manifests (several, or comma separated).
    #[arg(long, value_delimiter = ',')]
    pub git_path: Vec<String>,
    /// Never push to git (no sync tag, no releases or automation).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub git_readonly: bool,
    /// Committer name.
    #[arg(long, default_value = "Weave Flux")]
    pub git_user: String,
    /// Committer email.
    #[arg(long, default_value = "support@weave.works")]
    pub git_email: String,
    /// Make the author the user who asked for the change.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub git_set_author: bool,
    /// Label tracking sync progress; overrides --git-sync-tag and --git-notes-ref.
    #[arg(long)]
    pub git_label: Option<String>,
    /// Run git-secret on checkouts.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub git_secret: bool,
    /// Decrypt SOPS-encrypted manifests.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub sops: bool,
    /// Tag marking the last synced commit.
    #[arg(long, default_value = "flux-sync")]
    pub git_sync_tag: String,
    /// Ref of fluxd's git notes.
    #[arg(long, default_value = "flux")]
    pub git_notes_ref: String,
    /// Append "[ci skip]" to commit messages.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub git_ci_skip: bool,
    /// Text appended to commit messages.
    #[arg(long, default_value = "")]
    pub git_ci_skip_message: String,
    /// How often the branch is polled.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub git_poll_interval: Duration,
    /// Deadline of each git operation.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub git_timeout: Duration,
    /// GPG keys to import.
    #[arg(long, value_delimiter = ',')]
    pub git_gpg_key_import: Vec<String>,
    /// GPG key to sign commits with.
    #[arg(long, default_value = "")]
    pub git_signing_key: String,
    /// (deprecated) Verify signatures.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub git_verify_signatures: bool,
    /// Signature verification mode.
    #[arg(long, default_value = "none")]
    pub git_verify_signatures_mode: String,
    /// Apply the repository at least this often.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub sync_interval: Duration,
    /// Deadline of one sync.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub sync_timeout: Duration,
    /// Delete objects fluxd applied that left the repository.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub sync_garbage_collection: bool,
    /// Only log what garbage collection would delete.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub sync_garbage_collection_dry: bool,
    /// Where sync state is kept: git or secret.
    #[arg(long, default_value = "git")]
    pub sync_state: String,
    #[arg(long, default_value = "memcached")]
    pub memcached_hostname: String,
    #[arg(long, default_value = "11211")]
    pub memcached_port: u16,
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub memcached_timeout: Duration,
    #[arg(long, default_value = "memcached")]
    pub memcached_service: String,
    /// Do not scan registries (no automation).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub registry_disable_scanning: bool,
    /// How often automated workloads are checked for new images.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub automation_interval: Duration,
    /// (deprecated) --automation-interval.
    #[arg(long, value_parser = parse_duration)]
    pub registry_poll_interval: Option<Duration>,
    #[arg(long, default_value = "50")]
    pub registry_rps: f64,
    #[arg(long, default_value = "10")]
    pub registry_burst: u32,
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub registry_trace: bool,
    #[arg(long, value_delimiter = ',')]
    pub registry_insecure_host: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "k8s.gcr.io/*")]
    pub registry_exclude_image: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub registry_include_image: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub registry_use_labels: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub registry_ecr_region: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub registry_ecr_include_id: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub registry_ecr_exclude_id: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub registry_require: Vec<String>,
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", action = ArgAction::Set)]
    pub k8s_in_cluster: bool,
    /// Secret holding the deploy key (in fluxd's namespace).
    #[arg(long, default_value = "flux-git-deploy")]
    pub k8s_secret_name: String,
    #[arg(long, default_value = "/etc/fluxd/ssh")]
    pub k8s_secret_volume_mount_path: String,
    /// Key of the private key in the Secret.
    #[arg(long, default_value = "identity")]
    pub k8s_secret_data_key: String,
    /// (deprecated) --k8s-allow-namespace.
    #[arg(long, value_delimiter = ',')]
    pub k8s_namespace_whitelist: Vec<String>,
    /// Only these namespaces are read and written.
    #[arg(long, value_delimiter = ',')]
    pub k8s_allow_namespace: Vec<String>,
    /// Namespace of manifests that name none.
    #[arg(long, default_value = "")]
    pub k8s_default_namespace: String,
    /// group/version/Kind globs never listed for garbage collection.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "*metrics.k8s.io/*,webhook.certmanager.k8s.io/*,v1/Event"
    )]
    pub k8s_unsafe_exclude_resource: Vec<String>,
    #[arg(long, default_value = "0")]
    pub k8s_verbosity: i32,
    #[arg(long)]
    pub ssh_keygen_bits: Option<String>,
    #[arg(long)]
    pub ssh_keygen_type: Option<String>,
    #[arg(long)]
    pub ssh_keygen_format: Option<String>,
    #[arg(long, default_value = "")]
    pub ssh_keygen_dir: String,
    /// Generate manifests from .flux.yaml files.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub manifest_generation: bool,
    /// tether's own: let `.flux.yaml` generators and updaters run shell commands (without it,
    /// only `kustomize build` generators run, natively).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub manifest_generation_allow_shell: bool,
    /// Upstream service (Weave Cloud).
    #[arg(long, default_value = "")]
    pub connect: String,
    #[arg(long, default_value = "")]
    pub token: String,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub rpc_timeout: Duration,
    /// Docker config with registry credentials.
    #[arg(long)]
    pub docker_config: Option<PathBuf>,
    #[arg(long, value_parser = parse_duration)]
    pub registry_cache_expiry: Option<Duration>,
    /// (deprecated) Path of the kubeconfig.
    #[arg(long)]
    pub kube_config: Option<PathBuf>,
}

impl FluxdArgs {
    /// Flags accepted for compatibility that tether does not act on, by their given values.
    fn ignored(&self) -> Vec<(&'static str, &'static str)> {
        let mut ignored = Vec::new();
        let mut note = |on: bool, flag: &'static str, why: &'static str| {
            if on {
                ignored.push((flag, why));
            }
        };
        let memcached = "tether's image cache is built in";
        note(
            self.memcached_hostname != "memcached",
            "--memcached-hostname",
            memcached,
        );
        note(self.memcached_port != 11211, "--memcached-port", memcached);
        note(
            self.memcached_timeout != Duration::from_secs(1),
            "--memcached-timeout",
            memcached,
        );
        note(
            self.memcached_service != "memcached",
            "--memcached-service",
            memcached,
        );
        note(
            self.kubernetes_kubectl.is_some(),
            "--kubernetes-kubectl",
            "tether applies without kubectl",
        );
        note(
            self.listen_metrics.is_some(),
            "--listen-metrics",
            "no /metrics endpoint in fluxd mode",
        );
        note(
            self.git_secret,
            "--git-secret",
            "git-secret is not supported",
        );
        note(
            self.sops,
            "--sops",
            "SOPS decryption is not supported in fluxd mode",
        );
        note(
            !self.git_gpg_key_import.is_empty(),
            "--git-gpg-key-import",
            "GPG keys are not imported",
        );
        note(
            !self.git_signing_key.is_empty(),
            "--git-signing-key",
            "commits are not signed in fluxd mode",
        );
        note(
            self.git_verify_signatures || self.git_verify_signatures_mode != "none",
            "--git-verify-signatures-mode",
            "signatures are not verified in fluxd mode",
        );
        note(
            self.git_set_author,
            "--git-set-author",
            "the author is the committer",
        );
        note(
            self.sync_state != "git",
            "--sync-state",
            "sync state is kept in memory and in the git tag",
        );
        note(
            self.git_label.is_some() || self.git_notes_ref != "flux",
            "--git-notes-ref",
            "git notes are not written",
        );
        note(self.registry_trace, "--registry-trace", "no registry trace");
        note(
            !self.registry_use_labels.is_empty(),
            "--registry-use-labels",
            "image timestamps come from the image config",
        );
        note(
            !self.registry_ecr_region.is_empty()
                || !self.registry_ecr_include_id.is_empty()
                || !self.registry_ecr_exclude_id.is_empty()
                || !self.registry_require.is_empty(),
            "--registry-ecr-*/--registry-require",
            "no ECR auto-authentication",
        );
        note(self.k8s_verbosity != 0, "--k8s-verbosity", "use RUST_LOG");
        note(
            self.ssh_keygen_bits.is_some()
                || self.ssh_keygen_type.is_some()
                || self.ssh_keygen_format.is_some()
                || !self.ssh_keygen_dir.is_empty(),
            "--ssh-keygen-*",
            "generated deploy keys are ed25519",
        );
        note(
            !self.connect.is_empty() || !self.token.is_empty(),
            "--connect/--token",
            "no upstream service",
        );
        note(
            self.registry_cache_expiry.is_some(),
            "--registry-cache-expiry",
            "deprecated in fluxd",
        );
        ignored
    }

    fn gc_mode(&self) -> GcMode {
        match (
            self.sync_garbage_collection,
            self.sync_garbage_collection_dry,
        ) {
            (_, true) => GcMode::Dry,
            (true, false) => GcMode::On,
            (false, false) => GcMode::Off,
        }
    }

    fn commit_settings(&self) -> tether_fluxv1::CommitSettings {
        tether_fluxv1::CommitSettings {
            author: tether_source::Author {
                name: self.git_user.clone(),
                email: self.git_email.clone(),
            },
            // fluxd: the message as given; `--git-ci-skip` alone appends "\n\n[ci skip]".
            skip_message: if self.git_ci_skip_message.is_empty() && self.git_ci_skip {
                tether_fluxv1::CI_SKIP_SUFFIX.to_owned()
            } else {
                self.git_ci_skip_message.clone()
            },
            ..tether_fluxv1::CommitSettings::default()
        }
    }
}

/// `:3030` (Go's all interfaces) or `host:port`.
fn listen_addr(text: &str) -> anyhow::Result<SocketAddr> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_owned()
    };
    full.parse().with_context(|| {
        format!("--listen {text:?} is not an address like :3030 or 127.0.0.1:3030")
    })
}

/// `known_hosts` for SSH remotes, where fluxd's image and its mounted ssh config put them.
fn known_hosts() -> Option<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let candidates = [
        home.map(|h| h.join(".ssh/known_hosts")),
        Some(PathBuf::from("/etc/ssh/ssh_known_hosts")),
    ];
    let lines: Vec<String> = candidates
        .into_iter()
        .flatten()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// fluxd's own namespace: the in-cluster service account's, else the kubeconfig context's.
fn own_namespace(config: &kube::Config) -> String {
    std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        .map(|n| n.trim().to_owned())
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| config.default_namespace.clone())
}

pub fn run(args: FluxdArgs) -> anyhow::Result<()> {
    if args.version {
        println!("{FLUXD_VERSION}");
        return Ok(());
    }
    super::controller::init_logging(if args.log_format == "json" {
        "json"
    } else {
        "console"
    });
    anyhow::ensure!(!args.git_url.is_empty(), "--git-url is required");
    if let Some(path) = args.git_path.iter().find(|p| p.starts_with('/')) {
        anyhow::bail!(
            "--git-path {path:?}: subdirectory given as --git-path should not have leading forward slash"
        );
    }
    for (flag, why) in args.ignored() {
        tracing::warn!("{flag} is accepted but has no effect: {why}");
    }
    let listen = listen_addr(&args.listen)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let config = match &args.kube_config {
            Some(path) => {
                tracing::warn!("--kube-config is deprecated in fluxd; prefer KUBECONFIG");
                let kubeconfig = kube::config::Kubeconfig::read_from(path)
                    .with_context(|| format!("reading --kube-config {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?
            }
            _ => kube::Config::infer()
                .await
                .context("cannot load a kubeconfig or the in-cluster configuration")?,
        };
        let namespace = own_namespace(&config);
        let client = kube::Client::try_from(config).context("cannot build the kube client")?;
        let options = options(&args, listen, namespace);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            on_signal.cancel();
        });
        tether_controller::fluxd::run(client, options, shutdown).await?;
        Ok(())
    })
}

fn options(args: &FluxdArgs, listen: SocketAddr, namespace: String) -> FluxdOptions {
    let allowed: BTreeSet<String> = args
        .k8s_allow_namespace
        .iter()
        .chain(&args.k8s_namespace_whitelist)
        .filter(|n| !n.is_empty())
        .cloned()
        .collect();
    let default_namespace = Some(args.k8s_default_namespace.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    FluxdOptions {
        git_url: args.git_url.clone(),
        git_branch: args.git_branch.clone(),
        manifest_generation: args.manifest_generation,
        allow_shell_commands: args.manifest_generation_allow_shell,
        git_paths: args
            .git_path
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect(),
        git_readonly: args.git_readonly,
        sync_tag: args
            .git_label
            .clone()
            .unwrap_or_else(|| args.git_sync_tag.clone()),
        git_poll_interval: args.git_poll_interval,
        git_timeout: args.git_timeout,
        commit: args.commit_settings(),
        sync_interval: args.sync_interval,
        sync_timeout: args.sync_timeout,
        gc: args.gc_mode(),
        allowed_namespaces: allowed,
        default_namespace,
        excluded_resources: args.k8s_unsafe_exclude_resource.clone(),
        key_secret: KeySecret {
            namespace,
            name: args.k8s_secret_name.clone(),
            data_key: args.k8s_secret_data_key.clone(),
        },
        known_hosts: known_hosts(),
        registry_scanning: !args.registry_disable_scanning,
        registry_rps: args.registry_rps,
        registry_burst: args.registry_burst,
        image_filter: tether_fluxv1::ImageFilter {
            exclude: args.registry_exclude_image.clone(),
            include: args.registry_include_image.clone(),
        },
        insecure_hosts: args.registry_insecure_host.clone(),
        docker_config: args.docker_config.clone(),
        automation_interval: args
            .registry_poll_interval
            .filter(|_| args.automation_interval == Duration::from_secs(300))
            .unwrap_or(args.automation_interval),
        listen,
        version: FLUXD_VERSION.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<FluxdArgs, clap::Error> {
        let cli = Cli::try_parse_from([&["tether", "fluxd"][..], args].concat())?;
        match cli.command {
            Command::Fluxd(args) => Ok(*args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn a_fluxd_deployments_args_parse_as_they_are() {
        let args = parse(&[
            "--memcached-service=",
            "--ssh-keygen-dir=/var/fluxd/keygen",
            "--git-url=git@github.com:org/fleet",
            "--git-branch=main",
            "--git-path=apps,infra",
            "--git-path=extra",
            "--git-label=flux-prod",
            "--git-readonly",
            "--sync-garbage-collection=true",
            "--k8s-allow-namespace=team",
            "--listen=:3031",
            "--registry-exclude-image=*",
            "--k8s-in-cluster=false",
            "--git-branch=release",
        ])
        .expect("fluxd's flags");
        assert_eq!(args.git_path, ["apps", "infra", "extra"]);
        assert!(args.git_readonly && args.sync_garbage_collection);
        assert!(!args.k8s_in_cluster);
        assert_eq!(
            args.git_branch, "release",
            "the last value wins, as with pflag"
        );
        assert_eq!(args.gc_mode(), GcMode::On);
        let options = options(
            &args,
            listen_addr(&args.listen).expect("addr"),
            "flux".into(),
        );
        assert_eq!(options.sync_tag, "flux-prod");
        assert_eq!(options.listen.port(), 3031);
        let ignored: Vec<&str> = args.ignored().into_iter().map(|(flag, _)| flag).collect();
        assert!(ignored.contains(&"--memcached-service"), "{ignored:?}");
        assert!(ignored.contains(&"--ssh-keygen-*"), "{ignored:?}");
    }

    #[test]
    fn dry_garbage_collection_implies_collection() {
        let args = parse(&["--git-url=x", "--sync-garbage-collection-dry"]).expect("parse");
        assert_eq!(args.gc_mode(), GcMode::Dry);
        let args = parse(&["--git-url=x", "--sync-garbage-collection=false"]).expect("parse");
        assert_eq!(args.gc_mode(), GcMode::Off);
    }

    #[test]
    fn a_flag_fluxd_never_had_is_refused_by_name() {
        let error = parse(&["--git-url=x", "--git-poll-intervall=1m"]).expect_err("unknown");
        assert!(
            error.to_string().contains("--git-poll-intervall"),
            "{error}"
        );
    }
}
