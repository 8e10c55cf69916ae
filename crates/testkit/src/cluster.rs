//! The local control plane for e2e tests: started once per test run (by `dev/cluster.sh up`,
//! which serialises concurrent callers) and shared by every test binary, plus a fresh namespace
//! per test and a `wait_for` helper that prints the object when it times out.

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Environment variable naming an admin kubeconfig to use instead of starting the local cluster.
pub const KUBECONFIG_ENV: &str = "TETHER_TEST_KUBECONFIG";

/// Environment variable naming the admin kubeconfig of a second cluster (the remote cluster of
/// `spec.kubeConfig` tests) to use instead of starting one.
pub const REMOTE_KUBECONFIG_ENV: &str = "TETHER_TEST_REMOTE_KUBECONFIG";

/// The prefix of the username the second cluster gives a ServiceAccount token of the first
/// (`dev/cluster.sh`'s trusted issuer): `trusted:system:serviceaccount:<namespace>:<name>`.
pub const TRUSTED_USERNAME_PREFIX: &str = "trusted:";

/// The repository root (where `dev/` lives).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of the shared cluster's admin kubeconfig, starting the cluster on first use.
pub fn kubeconfig_path() -> anyhow::Result<PathBuf> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(|| start_or_reuse().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn start_or_reuse() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(KUBECONFIG_ENV) {
        return Ok(PathBuf::from(path));
    }
    cluster_up(&[])
}

/// Path of the second cluster's admin kubeconfig, starting that cluster on first use (only the
/// tests that need it pay for it). It is `dev/cluster.sh` again with its own state and ports:
/// `TETHER_REMOTE_CLUSTER_DIR`, `TETHER_REMOTE_API_PORT`, `TETHER_REMOTE_ETCD_PORT` and
/// `TETHER_REMOTE_ETCD_PEER_PORT`, by default the first cluster's directory with `-remote`
/// appended and its ports plus 10 (API) and 20 (etcd). `dev/test.sh` stops it at the end.
///
/// The second cluster trusts the first one's ServiceAccount tokens whose audience is its own
/// address (`https://127.0.0.1:<port>`), as a federated cluster trusts another issuer: the
/// user is [`TRUSTED_USERNAME_PREFIX`] followed by the token's subject.
pub fn remote_kubeconfig_path() -> anyhow::Result<PathBuf> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(|| start_or_reuse_remote().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn start_or_reuse_remote() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(REMOTE_KUBECONFIG_ENV) {
        return Ok(PathBuf::from(path));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let port = |remote: &str, base: &str, default: u32, offset: u32| -> anyhow::Result<String> {
        if let Some(port) = env(remote) {
            return Ok(port);
        }
        let base = match env(base) {
            Some(port) => port
                .parse::<u32>()
                .with_context(|| format!("{base}={port}"))?,
            None => default,
        };
        Ok((base + offset).to_string())
    };
    // The first cluster is up before the second trusts its issuer.
    kubeconfig_path()?;
    let main_dir = env("TETHER_CLUSTER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/tether/cluster")
        });
    let dir = match env("TETHER_REMOTE_CLUSTER_DIR") {
        Some(dir) => dir,
        None => format!("{}-remote", main_dir.display()),
    };
    let main_api = env("TETHER_API_PORT").unwrap_or_else(|| "16443".to_owned());
    let api = port("TETHER_REMOTE_API_PORT", "TETHER_API_PORT", 16443, 10)?;
    let etcd = port("TETHER_REMOTE_ETCD_PORT", "TETHER_ETCD_PORT", 23791, 20)?;
    let peer = port(
        "TETHER_REMOTE_ETCD_PEER_PORT",
        "TETHER_ETCD_PEER_PORT",
        23801,
        20,
    )?;
    let main_dir = main_dir.to_string_lossy().into_owned();
    let mut env = vec![
        ("TETHER_CLUSTER_DIR", dir.as_str()),
        ("TETHER_API_PORT", api.as_str()),
        ("TETHER_ETCD_PORT", etcd.as_str()),
        ("TETHER_ETCD_PEER_PORT", peer.as_str()),
    ];
    // A first cluster not started by dev/cluster.sh (TETHER_TEST_KUBECONFIG) is not trusted.
    if Path::new(&main_dir).join("pki/ca.crt").is_file() {
        env.extend([
            ("TETHER_TRUST_CLUSTER_DIR", main_dir.as_str()),
            ("TETHER_TRUST_API_PORT", main_api.as_str()),
            ("TETHER_TRUST_USERNAME_PREFIX", TRUSTED_USERNAME_PREFIX),
        ]);
    }
    cluster_up(&env)
}

/// Runs `dev/cluster.sh up` with `env` and returns the kubeconfig path it prints.
fn cluster_up(env: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    let script = repo_root().join("dev/cluster.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg("up")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !output.status.success() {
        bail!("{} up failed ({})", script.display(), output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout
        .lines()
        .last()
        .context("dev/cluster.sh printed no kubeconfig path")?;
    Ok(PathBuf::from(path.trim()))
}

/// A client for the shared cluster. Create one per test: a client belongs to the runtime that
/// made it, and every `#[tokio::test]` has its own runtime.
pub async fn client() -> anyhow::Result<Client> {
    let config = config().await?;
    Client::try_from(config).context("cannot build a client for the test cluster")
}

/// The shared cluster's client configuration.
pub async fn config() -> anyhow::Result<Config> {
    let path = tokio::task::spawn_blocking(kubeconfig_path).await??;
    let kubeconfig = Kubeconfig::read_from(&path)
        .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("invalid test kubeconfig")
}

/// The second cluster's client configuration (see [`remote_kubeconfig_path`]).
pub async fn remote_config() -> anyhow::Result<Config> {
    let path = tokio::task::spawn_blocking(remote_kubeconfig_path).await??;
    let kubeconfig = Kubeconfig::read_from(&path)
        .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("invalid remote test kubeconfig")
}

/// The second cluster's admin kubeconfig, as the text a kubeconfig Secret holds.
pub async fn remote_kubeconfig_text() -> anyhow::Result<String> {
    let path = tokio::task::spawn_blocking(remote_kubeconfig_path).await??;
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// The second cluster's API server address and the PEM CA certificate it is served with: what a
/// workload identity `kubeConfig.configMapRef` ConfigMap holds as `address` and `ca.crt`.
pub async fn remote_address_and_ca() -> anyhow::Result<(String, String)> {
    use base64::Engine as _;
    let kubeconfig = Kubeconfig::from_yaml(&remote_kubeconfig_text().await?)?;
    let cluster = kubeconfig
        .clusters
        .first()
        .and_then(|c| c.cluster.as_ref())
        .context("the remote kubeconfig names no cluster")?;
    let server = cluster.server.clone().context("no server")?;
    let ca = cluster
        .certificate_authority_data
        .as_deref()
        .context("no certificate-authority-data")?;
    let pem = base64::engine::general_purpose::STANDARD.decode(ca)?;
    Ok((server, String::from_utf8(pem)?))
}

/// Applies `crds` (server-side, forced) and waits until each is Established.
pub async fn install_crds(
    client: &Client,
    crds: Vec<CustomResourceDefinition>,
) -> anyhow::Result<()> {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    for crd in crds {
        let name = crd.metadata.name.clone().context("CRD without a name")?;
        api.patch(
            &name,
            &PatchParams::apply("tether-e2e").force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("the apiserver rejected CRD {name}"))?;
        wait_for(&api, &name, Duration::from_secs(30), |crd| {
            crd.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                })
        })
        .await?;
    }
    Ok(())
}

/// A namespace created for one test and deleted when dropped.
pub struct TestNamespace {
    pub name: String,
    client: Client,
}

impl TestNamespace {
    /// Creates `<prefix>-<unique suffix>`; `prefix` is usually the test's name.
    pub async fn create(client: &Client, prefix: &str) -> anyhow::Result<Self> {
        let name = unique_name(prefix);
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"tether.test/e2e": "true"}}
        }))?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("cannot create namespace {name}"))?;
        Ok(Self {
            name,
            client: client.clone(),
        })
    }

    /// An API for namespaced objects of kind `K` in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let api = Api::<Namespace>::all(self.client.clone());
        let name = self.name.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = api.delete(&name, &DeleteParams::background()).await;
            });
        }
    }
}

/// A DNS-1123 name unique within this test run: `<prefix>-<pid>-<counter>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", prefix.trim_matches('-'), std::process::id())
}

/// Polls `name` through `api` until `condition` holds, or fails after `timeout` with the last
/// state of the object in the error so the failure can be read without re-running.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    condition: impl Fn(&K) -> bool,
) -> anyhow::Result<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match api.get_opt(name).await {
            Ok(Some(object)) if condition(&object) => return Ok(object),
            Ok(Some(object)) => serde_json::to_string_pretty(&object)?,
            Ok(None) => format!("{name} does not exist"),
            Err(error) => format!("get {name} failed: {error}"),
        };
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {name}; last seen:\n{last}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
