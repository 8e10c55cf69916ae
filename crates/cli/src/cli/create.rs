//! `tether create`'s flags, as `flux create` v2.9 names them.
//!
//! Flags whose value Flux checks while parsing (durations, providers, `--source`, booleans
//! written `--prune=false`) are kept as the strings given: `commands::create::flags` reads them
//! with Flux's rules and its messages (`invalid argument "x" for "--flag" flag: ...`). The
//! object name is optional here so that a missing one gets Flux's `name is required`.

use super::ClusterArgs;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Print the object as YAML instead of applying it.
    #[arg(long, global = true)]
    pub export: bool,
    /// Labels of the object, `key=value` (repeatable, or comma-separated).
    #[arg(long = "label", global = true, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// The reconcile interval (Flux's default: 1m); for `image policy`, the digest reflection
    /// interval.
    #[arg(long, global = true)]
    pub interval: Option<String>,
    #[command(subcommand)]
    pub kind: CreateKind,
}

#[derive(Subcommand, Debug)]
pub enum CreateKind {
    /// An Alert sending the events of some objects to a Provider.
    Alert {
        /// Name of the Alert.
        name: Option<String>,
        /// The Provider to send through.
        #[arg(long)]
        provider_ref: Option<String>,
        /// `info` or `error`.
        #[arg(long)]
        event_severity: Option<String>,
        /// Objects whose events are sent, `<kind>/<name>[.<namespace>]` (repeatable, or
        /// comma-separated).
        #[arg(long = "event-source", value_delimiter = ',')]
        event_sources: Vec<String>,
    },
    /// A Provider: where alerts go.
    AlertProvider {
        /// Name of the Provider.
        name: Option<String>,
        /// The provider type (slack, generic, github, ...).
        #[arg(long = "type")]
        provider_type: Option<String>,
        /// Channel to post to, for chat providers.
        #[arg(long)]
        channel: Option<String>,
        /// Bot user name used by the provider.
        #[arg(long)]
        username: Option<String>,
        /// The git repository, chat or webhook address.
        #[arg(long)]
        address: Option<String>,
        /// Secret holding the credentials.
        #[arg(long)]
        secret_ref: Option<String>,
    },
    /// A Receiver: a webhook asking objects to reconcile.
    Receiver {
        /// Name of the Receiver.
        name: Option<String>,
        /// The receiver type.
        #[arg(long = "type", value_parser = parse_receiver_type)]
        receiver_type: Option<String>,
        /// Secret holding the token.
        #[arg(long)]
        secret_ref: Option<String>,
        /// Event types to handle (repeatable, or comma-separated).
        #[arg(long = "event", value_delimiter = ',')]
        events: Vec<String>,
        /// Objects to reconcile, `<kind>/<name>` (repeatable, or comma-separated).
        #[arg(long = "resource", value_delimiter = ',')]
        resources: Vec<String>,
    },
    /// A source: GitRepository, HelmRepository, OCIRepository or Bucket.
    Source(CreateSourceArgs),
    /// A Kustomization applying a path of a source.
    #[command(visible_alias = "ks")]
    Kustomization(CreateKustomizationArgs),
    /// A HelmRelease installing a chart.
    #[command(visible_alias = "hr")]
    Helmrelease(CreateHelmReleaseArgs),
    /// An image automation object.
    #[command(subcommand)]
    Image(CreateImageKind),
    /// A Secret with credentials for a source, or with the keys SOPS decrypts with.
    #[command(subcommand)]
    Secret(CreateSecretKind),
    /// A tenant: per namespace, the Namespace, a ServiceAccount and a RoleBinding to a
    /// ClusterRole.
    Tenant(CreateTenantArgs),
}

#[derive(Args, Debug)]
pub struct CreateTenantArgs {
    /// Name of the tenant.
    pub name: Option<String>,
    /// A namespace of the tenant (repeatable, or comma-separated).
    #[arg(long = "with-namespace", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// The ClusterRole the tenant's RoleBindings grant.
    #[arg(long, default_value = "cluster-admin")]
    pub cluster_role: String,
    /// The tenant's ServiceAccount (default: the tenant's name).
    #[arg(long = "with-service-account", default_value = "")]
    pub service_account: String,
    /// Do not create the namespaces (they must exist).
    #[arg(long)]
    pub skip_namespace: bool,
}

#[derive(Args, Debug)]
pub struct CreateSourceArgs {
    /// Timeout of the source's fetch operations (git clone, helm repo update).
    #[arg(long, global = true)]
    pub fetch_timeout: Option<String>,
    #[command(subcommand)]
    pub kind: CreateSourceKind,
}

#[derive(Subcommand, Debug)]
pub enum CreateSourceKind {
    /// A GitRepository; without --secret-ref, a Secret with the credentials is created too
    /// (over SSH: a generated deploy key, whose public key is printed).
    Git(CreateSourceGitArgs),
    /// A HelmRepository (HTTP index or OCI).
    Helm(CreateSourceHelmArgs),
    /// An OCIRepository.
    Oci(CreateSourceOciArgs),
    /// A HelmChart from a HelmRepository, GitRepository or Bucket.
    Chart(CreateSourceChartArgs),
    /// A Bucket.
    Bucket(CreateSourceBucketArgs),
}

/// The SSH key flags shared by `create source git` and `create secret git`.
#[derive(Args, Debug, Clone)]
pub struct SshKeyArgs {
    /// Algorithm of a generated key: rsa, ecdsa or ed25519.
    #[arg(long)]
    pub ssh_key_algorithm: Option<String>,
    /// Size of a generated RSA key (default 2048).
    #[arg(long)]
    pub ssh_rsa_bits: Option<String>,
    /// Curve of a generated ECDSA key: p256, p384 (default) or p521.
    #[arg(long)]
    pub ssh_ecdsa_curve: Option<String>,
    /// A private key file to use instead of generating one (with --password if encrypted).
    #[arg(long)]
    pub private_key_file: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct CreateSourceGitArgs {
    /// Name of the GitRepository.
    pub name: Option<String>,
    /// Git address, e.g. ssh://git@host/org/repository.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Git branch.
    #[arg(long, default_value = "")]
    pub branch: String,
    /// Git tag.
    #[arg(long, default_value = "")]
    pub tag: String,
    /// Git tag semver range.
    #[arg(long, default_value = "")]
    pub tag_semver: String,
    /// Git reference name.
    #[arg(long, default_value = "")]
    pub ref_name: String,
    /// Git commit.
    #[arg(long, default_value = "")]
    pub commit: String,
    /// Basic authentication username.
    #[arg(long, short = 'u', default_value = "")]
    pub username: String,
    /// Basic authentication password (or the passphrase of --private-key-file).
    #[arg(long, short = 'p', default_value = "")]
    pub password: String,
    #[command(flatten)]
    pub ssh: SshKeyArgs,
    /// An existing Secret with the credentials (no Secret is created).
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// An existing Secret with the proxy address and credentials.
    #[arg(long, default_value = "")]
    pub proxy_secret_ref: String,
    /// The Git provider: generic, github, aws or azure.
    #[arg(long)]
    pub provider: Option<String>,
    /// TLS CA file for self-signed servers (HTTPS only).
    #[arg(long, default_value = "")]
    pub ca_file: String,
    /// Include Git submodules in the artifact.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub recurse_submodules: Option<String>,
    /// Do not ask whether the deploy key was added to the repository.
    #[arg(long, short = 's', num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub silent: Option<String>,
    /// Paths to ignore (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Paths to check out sparsely (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub sparse_checkout_paths: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CreateSourceHelmArgs {
    /// Name of the HelmRepository.
    pub name: Option<String>,
    /// Helm repository address (http, https or oci).
    #[arg(long, default_value = "")]
    pub url: String,
    /// Basic authentication username.
    #[arg(long, short = 'u', default_value = "")]
    pub username: String,
    /// Basic authentication password.
    #[arg(long, short = 'p', default_value = "")]
    pub password: String,
    /// TLS client certificate file.
    #[arg(long, default_value = "")]
    pub cert_file: String,
    /// TLS client key file.
    #[arg(long, default_value = "")]
    pub key_file: String,
    /// TLS CA file.
    #[arg(long, default_value = "")]
    pub ca_file: String,
    /// An existing Secret with the credentials (no Secret is created).
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// OCI provider for authentication.
    #[arg(long, default_value = "")]
    pub oci_provider: String,
    /// Pass credentials to all domains.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub pass_credentials: Option<String>,
}

#[derive(Args, Debug)]
pub struct CreateSourceOciArgs {
    /// Name of the OCIRepository.
    pub name: Option<String>,
    /// The OCI repository URL.
    #[arg(long, default_value = "")]
    pub url: String,
    /// The OCI artifact tag.
    #[arg(long, default_value = "")]
    pub tag: String,
    /// The OCI artifact tag semver range.
    #[arg(long, default_value = "")]
    pub tag_semver: String,
    /// The OCI artifact digest.
    #[arg(long, default_value = "")]
    pub digest: String,
    /// The OCI provider: generic, aws, azure or gcp.
    #[arg(long)]
    pub provider: Option<String>,
    /// A Secret of type kubernetes.io/dockerconfigjson with the registry credentials.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// An existing Secret with the proxy address and credentials.
    #[arg(long, default_value = "")]
    pub proxy_secret_ref: String,
    /// A ServiceAccount whose image pull secrets are used.
    #[arg(long, default_value = "")]
    pub service_account: String,
    /// A Secret with TLS certificates.
    #[arg(long, default_value = "")]
    pub cert_ref: String,
    #[command(flatten)]
    pub verify: VerifyArgs,
    /// Paths to ignore (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Connect to the registry over plain HTTP.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub insecure: Option<String>,
    /// The layer to use, `<media-type>:<operation>` (extract or copy).
    #[arg(long, default_value = "")]
    pub layer_selector: String,
}

/// The signature verification flags shared by `create source oci` and `create source chart`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The signature verification provider (cosign or notation).
    #[arg(long)]
    pub verify_provider: Option<String>,
    /// A Secret with the verification keys.
    #[arg(long, default_value = "")]
    pub verify_secret_ref: String,
    /// Regular expression the OIDC subject must match.
    #[arg(long, default_value = "")]
    pub verify_subject: String,
    /// Regular expression the OIDC issuer must match.
    #[arg(long, default_value = "")]
    pub verify_issuer: String,
}

#[derive(Args, Debug)]
pub struct CreateSourceChartArgs {
    /// Name of the HelmChart.
    pub name: Option<String>,
    /// The chart's name (HelmRepository) or path (GitRepository, Bucket).
    #[arg(long, default_value = "")]
    pub chart: String,
    /// The chart version, a semver range (ignored for charts from GitRepository sources).
    #[arg(long, default_value = "")]
    pub chart_version: String,
    /// The source holding the chart, `<kind>/<name>` (HelmRepository, GitRepository or Bucket).
    #[arg(long)]
    pub source: Option<String>,
    /// When a new artifact is made: ChartVersion or Revision.
    #[arg(long, default_value = "ChartVersion")]
    pub reconcile_strategy: String,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Args, Debug)]
pub struct CreateSourceBucketArgs {
    /// Name of the Bucket.
    pub name: Option<String>,
    /// The provider: generic, aws, azure or gcp.
    #[arg(long)]
    pub provider: Option<String>,
    /// The bucket name.
    #[arg(long, default_value = "")]
    pub bucket_name: String,
    /// The bucket endpoint address.
    #[arg(long, default_value = "")]
    pub endpoint: String,
    /// The bucket access key.
    #[arg(long, default_value = "")]
    pub access_key: String,
    /// The bucket secret key.
    #[arg(long, default_value = "")]
    pub secret_key: String,
    /// The bucket region.
    #[arg(long, default_value = "")]
    pub region: String,
    /// Connect over plain HTTP.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub insecure: Option<String>,
    /// An existing Secret with the credentials (no Secret is created).
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// An existing Secret with the proxy address and credentials.
    #[arg(long, default_value = "")]
    pub proxy_secret_ref: String,
    /// Paths to ignore (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CreateKustomizationArgs {
    /// Name of the Kustomization.
    pub name: Option<String>,
    /// The source, `[<kind>/]<name>[.<namespace>]` (kind GitRepository by default).
    #[arg(long)]
    pub source: Option<String>,
    /// The path in the source (default `./`).
    #[arg(long)]
    pub path: Option<String>,
    /// Enable garbage collection.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub prune: Option<String>,
    /// Wait for every applied object to be healthy.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub wait: Option<String>,
    /// Workloads whose health is checked, `<kind>/<name>.<namespace>`.
    #[arg(long = "health-check", value_delimiter = ',')]
    pub health_checks: Vec<String>,
    /// Timeout of health checking (default 2m).
    #[arg(long)]
    pub health_check_timeout: Option<String>,
    /// Deprecated and ignored, as in Flux.
    #[arg(long, hide = true)]
    pub validation: Option<String>,
    /// Kustomizations that must be ready first, `<name>` or `<namespace>/<name>`.
    #[arg(long, value_delimiter = ',')]
    pub depends_on: Vec<String>,
    /// ServiceAccount to impersonate.
    #[arg(long, default_value = "")]
    pub service_account: String,
    /// Decryption provider (sops).
    #[arg(long)]
    pub decryption_provider: Option<String>,
    /// Secret with the decryption keys.
    #[arg(long, default_value = "")]
    pub decryption_secret: String,
    /// Namespace of every object applied.
    #[arg(long, default_value = "")]
    pub target_namespace: String,
    /// Secret with the kubeconfig of a remote cluster.
    #[arg(long, default_value = "")]
    pub kubeconfig_secret_ref: String,
    /// Interval of retries after a failure.
    #[arg(long)]
    pub retry_interval: Option<String>,
}

#[derive(Args, Debug)]
pub struct CreateHelmReleaseArgs {
    /// Name of the HelmRelease.
    pub name: Option<String>,
    /// Helm release name (default `[<target-namespace>-]<name>`).
    #[arg(long, default_value = "")]
    pub release_name: String,
    /// The chart's source, `<kind>/<name>[.<namespace>]`.
    #[arg(long)]
    pub source: Option<String>,
    /// Chart name or path.
    #[arg(long, default_value = "")]
    pub chart: String,
    /// Chart version or semver range.
    #[arg(long, default_value = "")]
    pub chart_version: String,
    /// HelmReleases that must be ready first, `<name>` or `<namespace>/<name>`.
    #[arg(long, value_delimiter = ',')]
    pub depends_on: Vec<String>,
    /// Namespace the release is installed in.
    #[arg(long, default_value = "")]
    pub target_namespace: String,
    /// Namespace the release is stored in.
    #[arg(long, default_value = "")]
    pub storage_namespace: String,
    /// Create the target namespace.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub create_target_namespace: Option<String>,
    /// ServiceAccount to impersonate.
    #[arg(long, default_value = "")]
    pub service_account: String,
    /// Reconcile strategy of the chart: ChartVersion or Revision.
    #[arg(long, default_value = "ChartVersion")]
    pub reconcile_strategy: String,
    /// Interval of the chart's checks.
    #[arg(long)]
    pub chart_interval: Option<String>,
    /// Local values files, merged in order.
    #[arg(long = "values", value_delimiter = ',')]
    pub values_files: Vec<String>,
    /// Values from a `Secret/<name>` or `ConfigMap/<name>`.
    #[arg(long, value_delimiter = ',')]
    pub values_from: Vec<String>,
    /// CRDs policy on upgrade: Skip, Create or CreateReplace.
    #[arg(long)]
    pub crds: Option<String>,
    /// Secret with the kubeconfig of a remote cluster.
    #[arg(long, default_value = "")]
    pub kubeconfig_secret_ref: String,
    /// A chart reference instead of --chart, `<kind>/<name>[.<namespace>]` (OCIRepository,
    /// HelmChart).
    #[arg(long, default_value = "")]
    pub chart_ref: String,
}

#[derive(Subcommand, Debug)]
pub enum CreateImageKind {
    /// An ImageRepository scanning a registry.
    Repository(CreateImageRepositoryArgs),
    /// An ImagePolicy selecting a tag.
    Policy(CreateImagePolicyArgs),
    /// An ImageUpdateAutomation committing updates.
    Update(CreateImageUpdateArgs),
}

#[derive(Args, Debug)]
pub struct CreateImageRepositoryArgs {
    /// Name of the ImageRepository.
    pub name: Option<String>,
    /// The image repository to scan, e.g. library/alpine.
    #[arg(long, default_value = "")]
    pub image: String,
    /// A docker-registry Secret with the credentials.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// A Secret with TLS certificates.
    #[arg(long, default_value = "")]
    pub cert_ref: String,
    /// Timeout of a scan.
    #[arg(long)]
    pub scan_timeout: Option<String>,
}

#[derive(Args, Debug)]
pub struct CreateImagePolicyArgs {
    /// Name of the ImagePolicy.
    pub name: Option<String>,
    /// The ImageRepository in the namespace.
    #[arg(long, default_value = "")]
    pub image_ref: String,
    /// A semver range.
    #[arg(long, default_value = "")]
    pub select_semver: String,
    /// Alphabetical order: asc or desc.
    #[arg(long, default_value = "")]
    pub select_alpha: String,
    /// Numerical order: asc or desc.
    #[arg(long, default_value = "")]
    pub select_numeric: String,
    /// Regular expression filtering the tags.
    #[arg(long, default_value = "")]
    pub filter_regex: String,
    /// Replacement (capture groups of --filter-regex) sorted on.
    #[arg(long, default_value = "")]
    pub filter_extract: String,
    /// Digest reflection: Never, IfNotPresent or Always.
    #[arg(long, default_value = "")]
    pub reflect_digest: String,
}

#[derive(Args, Debug)]
pub struct CreateImageUpdateArgs {
    /// Name of the ImageUpdateAutomation.
    pub name: Option<String>,
    /// The GitRepository to update.
    #[arg(long, default_value = "")]
    pub git_repo_ref: String,
    /// Its namespace (default: the automation's).
    #[arg(long, default_value = "")]
    pub git_repo_namespace: String,
    /// The directory of the manifests to update.
    #[arg(long, default_value = "")]
    pub git_repo_path: String,
    /// The branch to check out.
    #[arg(long, default_value = "")]
    pub checkout_branch: String,
    /// The branch to push to (default: the checkout branch).
    #[arg(long, default_value = "")]
    pub push_branch: String,
    /// Commit message template.
    #[arg(long, default_value = "")]
    pub commit_template: String,
    /// Commit author name.
    #[arg(long, default_value = "")]
    pub author_name: String,
    /// Commit author email.
    #[arg(long, default_value = "")]
    pub author_email: String,
    /// Secret with the commit signing key.
    #[arg(long, default_value = "")]
    pub signing_key_secret: String,
    /// Signing key format: gpg or ssh.
    #[arg(long, default_value = "")]
    pub signing_key_type: String,
}

#[derive(Subcommand, Debug)]
pub enum CreateSecretKind {
    /// Git credentials: basic auth or a bearer token over HTTP(S), an SSH key (generated
    /// unless --private-key-file is given) over SSH.
    Git(CreateSecretGitArgs),
    /// Helm repository credentials: basic auth and/or TLS files.
    Helm(CreateSecretHelmArgs),
    /// OCI registry credentials (a docker-registry Secret).
    Oci(CreateSecretOciArgs),
    /// TLS certificate, key and CA files.
    Tls(CreateSecretTlsArgs),
    /// A proxy address and its credentials (a source's `proxySecretRef`).
    Proxy(CreateSecretProxyArgs),
    /// A GitHub App's credentials for a GitRepository with `provider: github`.
    #[command(name = "githubapp")]
    GithubApp(CreateSecretGithubAppArgs),
    /// The SOPS decryption keys of a Kustomization (`spec.decryption.secretRef`): an age key
    /// file and/or an armored OpenPGP private key (tether's helper; Flux documents kubectl).
    Sops(CreateSecretSopsArgs),
    /// Root CA certificates and a Notation trust policy, to verify artifacts signed by
    /// Notation (an OCIRepository's `verify.provider: notation`).
    Notation(CreateSecretNotationArgs),
}

#[derive(Args, Debug)]
pub struct CreateSecretGitArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    /// Git address, e.g. ssh://git@host/org/repository.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Basic authentication username.
    #[arg(long, short = 'u', default_value = "")]
    pub username: String,
    /// Basic authentication password (or the passphrase of --private-key-file).
    #[arg(long, short = 'p', default_value = "")]
    pub password: String,
    #[command(flatten)]
    pub ssh: SshKeyArgs,
    /// TLS CA certificate file.
    #[arg(long, default_value = "")]
    pub ca_crt_file: String,
    /// Bearer authentication token.
    #[arg(long, default_value = "")]
    pub bearer_token: String,
}

#[derive(Args, Debug)]
pub struct CreateSecretHelmArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    /// Basic authentication username.
    #[arg(long, short = 'u', default_value = "")]
    pub username: String,
    /// Basic authentication password.
    #[arg(long, short = 'p', default_value = "")]
    pub password: String,
    #[command(flatten)]
    pub tls: TlsFileArgs,
}

/// TLS files of `create secret helm|tls`.
#[derive(Args, Debug)]
pub struct TlsFileArgs {
    /// TLS client certificate file.
    #[arg(long, default_value = "")]
    pub tls_crt_file: String,
    /// TLS client key file.
    #[arg(long, default_value = "")]
    pub tls_key_file: String,
    /// TLS CA certificate file.
    #[arg(long, default_value = "")]
    pub ca_crt_file: String,
}

#[derive(Args, Debug)]
pub struct CreateSecretOciArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    /// The registry address, e.g. ghcr.io/stefanprodan/charts.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Registry username.
    #[arg(long, short = 'u', default_value = "")]
    pub username: String,
    /// Registry password.
    #[arg(long, short = 'p', default_value = "")]
    pub password: String,
}

#[derive(Args, Debug)]
pub struct CreateSecretTlsArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    #[command(flatten)]
    pub tls: TlsFileArgs,
}

#[derive(Args, Debug)]
pub struct CreateSecretProxyArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    /// The proxy address, e.g. http://proxy.example.com:8080.
    #[arg(long, default_value = "")]
    pub address: String,
    /// Proxy username.
    #[arg(long, short = 'u', default_value = "")]
    pub username: String,
    /// Proxy password.
    #[arg(long, short = 'p', default_value = "")]
    pub password: String,
}

#[derive(Args, Debug)]
pub struct CreateSecretGithubAppArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    /// The GitHub App's ID.
    #[arg(long, default_value = "")]
    pub app_id: String,
    /// The installation's owner (user or organization); or --app-installation-id.
    #[arg(long, default_value = "")]
    pub app_installation_owner: String,
    /// The installation's ID; or --app-installation-owner.
    #[arg(long, default_value = "")]
    pub app_installation_id: String,
    /// The file holding the App's private key.
    #[arg(long, default_value = "")]
    pub app_private_key: String,
    /// The GitHub API base URL (GitHub Enterprise).
    #[arg(long, default_value = "")]
    pub app_base_url: String,
}

#[derive(Args, Debug)]
pub struct CreateSecretNotationArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    /// Notation trust policy file path.
    #[arg(long, default_value = "")]
    pub trust_policy_file: String,
    /// Root CA cert file path (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ca_cert_file: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CreateSecretSopsArgs {
    /// Name of the Secret.
    pub name: Option<String>,
    /// An age key file (`AGE-SECRET-KEY-1...` lines), stored under `<checksum>.agekey`
    /// (repeatable).
    #[arg(long)]
    pub age_key_file: Vec<std::path::PathBuf>,
    /// An armored OpenPGP private key, stored under `<checksum>.asc` (repeatable).
    #[arg(long)]
    pub pgp_key_file: Vec<std::path::PathBuf>,
}

/// The receiver types `flux create receiver --type` accepts (Flux 2.9's list: no generic-oidc).
pub const CREATE_RECEIVER_TYPES: &[&str] = &[
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "bitbucket",
    "harbor",
    "dockerhub",
    "quay",
    "gcr",
    "nexus",
    "acr",
    "cdevents",
];

fn parse_receiver_type(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("no receiver type given, please specify the receiver type".to_owned());
    }
    if !CREATE_RECEIVER_TYPES.contains(&text) {
        let types = CREATE_RECEIVER_TYPES.join(", ");
        return Err(format!(
            "receiver type '{text}' is not supported, must be one of: {types}"
        ));
    }
    Ok(text.to_owned())
}
