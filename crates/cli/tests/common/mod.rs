//! Shared fixtures of the CLI's e2e tests: a `tether controller` process scoped to one
//! namespace, its metrics, the `tether` CLI run against the test cluster, and condition and
//! table helpers.
#![allow(dead_code)]

use anyhow::{Context, bail};
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `(status code, body)` of a GET, or `None` when nothing answers.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let output = Command::new("curl")
        .args([
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "--max-time",
            "2",
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (body, code) = text.rsplit_once('\n')?;
    Some((code.trim().parse().ok()?, body.to_string()))
}

/// A running `tether controller`, killed on drop; its log is printed when a test panics.
pub struct ControllerProcess {
    pub child: Child,
    pub health_port: u16,
    pub metrics_port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ControllerProcess {
    /// Starts a controller reconciling only `namespace`, and waits until it is ready.
    pub fn start(namespace: &str, extra: &[&str]) -> anyhow::Result<Self> {
        let kubeconfig = tether_testkit::cluster::kubeconfig_path()?;
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("controller.log");
        let (health_port, metrics_port) = (free_port()?, free_port()?);
        let child = Command::new(env!("CARGO_BIN_EXE_tether"))
            .arg("controller")
            .args(["--watch-namespace", namespace])
            .args(["--health-addr", &format!("127.0.0.1:{health_port}")])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--storage-addr", "127.0.0.1:0"])
            .arg("--storage-path")
            .arg(dir.path().join("storage"))
            .args(["--requeue-dependency", "1s"])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .env("RUST_LOG", "info,tether_controller=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .spawn()
            .context("cannot start tether controller")?;
        let mut process = Self {
            child,
            health_port,
            metrics_port,
            log,
            _dir: dir,
        };
        process.wait_ready()?;
        Ok(process)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let url = format!("http://127.0.0.1:{}/readyz", self.health_port);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "controller exited early with {status}:\n{}",
                    self.log_text()
                );
            }
            if matches!(http_get(&url), Some((200, _))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("controller not ready within 30s:\n{}", self.log_text())
    }

    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// The controller's `/metrics` text.
    pub fn metrics(&self) -> anyhow::Result<String> {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        http_get(&url)
            .map(|(_, body)| body)
            .context("metrics endpoint did not answer")
    }

    /// The sum of `tether_api_requests_total` samples whose labels satisfy `select`.
    pub fn api_requests(&self, select: impl Fn(&str, bool) -> bool) -> anyhow::Result<u64> {
        Ok(sum_samples(
            &self.metrics()?,
            "tether_api_requests_total",
            |labels| {
                let verb = label(labels, "verb").unwrap_or_default();
                let dry_run = label(labels, "dry_run") == Some("true".into());
                select(&verb, dry_run)
            },
        ))
    }

    /// Reconciles counted for `controller` (`kustomization` or `gitrepository`).
    pub fn reconciles(&self, controller: &str) -> anyhow::Result<u64> {
        Ok(sum_samples(
            &self.metrics()?,
            "controller_runtime_reconcile_total",
            |labels| label(labels, "controller").as_deref() == Some(controller),
        ))
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("TETHER_E2E_LOGS").is_some() {
            eprintln!("---- controller log ----\n{}", self.log_text());
        }
    }
}

fn sum_samples(text: &str, metric: &str, select: impl Fn(&str) -> bool) -> u64 {
    text.lines()
        .filter_map(|line| line.strip_prefix(metric))
        .filter_map(|rest| {
            let (labels, value) = rest.strip_prefix('{')?.split_once("} ")?;
            select(labels)
                .then(|| value.trim().parse::<f64>().ok())
                .flatten()
        })
        .map(|v| v as u64)
        .sum()
}

fn label(labels: &str, name: &str) -> Option<String> {
    labels.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.trim_matches('"').to_owned())
    })
}

/// The condition `type_` of an object's status, as `(status, reason, message)`.
pub fn condition(object: &serde_json::Value, type_: &str) -> Option<(String, String, String)> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (text("status"), text("reason"), text("message"))
        })
}

/// A Deployment `web` with `replicas` nginx pods, as YAML.
pub fn deployment_yaml(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
    )
}

/// A Service `web` in front of the Deployment of [`deployment_yaml`], as YAML.
pub const SERVICE_YAML: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n";

/// A namespace with the CRDs installed, an SSH git server with a deploy key, a repository whose
/// `master` holds `deploy/{deployment,service}.yaml`, the Secret holding the key, and a
/// GitRepository `app` polling at `interval`.
pub struct GitSourceFixture {
    pub client: kube::Client,
    pub ns: tether_testkit::cluster::TestNamespace,
    pub repo: tether_testkit::git::GitRepoFixture,
    _server: tether_testkit::git::SshGitServer,
}

impl GitSourceFixture {
    pub async fn start(prefix: &str, interval: &str) -> anyhow::Result<Self> {
        use k8s_openapi::api::core::v1::Secret;
        use kube::api::PostParams;
        use tether_testkit::cluster::{TestNamespace, client, install_crds};
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let repo = tether_testkit::git::GitRepoFixture::new("app")?;
        let server = tether_testkit::git::SshGitServer::start()?;
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "ssh-credentials"},
            "stringData": {"identity": server.private_key_pem()?, "known_hosts": server.known_hosts()?}
        }))?;
        ns.api::<Secret>()
            .create(&PostParams::default(), &secret)
            .await?;
        let files = [
            ("deploy/deployment.yaml", deployment_yaml(2)),
            ("deploy/service.yaml", SERVICE_YAML.to_owned()),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        repo.commit("master", &files, "first")?;
        let source: tether_api::source::v1::GitRepository =
            serde_json::from_value(serde_json::json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "app", "namespace": ns.name},
                "spec": {"url": server.repo_url(&repo.bare_path()), "interval": interval,
                         "ref": {"branch": "master"}, "secretRef": {"name": "ssh-credentials"}}
            }))?;
        ns.api().create(&PostParams::default(), &source).await?;
        Ok(Self {
            client,
            ns,
            repo,
            _server: server,
        })
    }
}

/// Runs `tether ARGS` against the test cluster, with no Flux namespace from the environment.
pub async fn tether<S>(args: &[S]) -> anyhow::Result<std::process::Output>
where
    S: AsRef<std::ffi::OsStr>,
{
    let kubeconfig = tether_testkit::cluster::kubeconfig_path()?;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("FLUX_SYSTEM_NAMESPACE")
        .output()
        .await
        .context("cannot run tether")
}

/// Runs `tether ARGS`, requires success and returns `(stdout, stderr)`.
pub async fn tether_ok<S>(args: &[S]) -> anyhow::Result<(String, String)>
where
    S: AsRef<std::ffi::OsStr> + std::fmt::Debug,
{
    let output = tether(args).await?;
    let (stdout, stderr) = texts(&output);
    anyhow::ensure!(
        output.status.success(),
        "tether {args:?} failed with {}:\n{stdout}\n{stderr}",
        output.status
    );
    Ok((stdout, stderr))
}

/// A process's standard output and error, as text.
pub fn texts(output: &std::process::Output) -> (String, String) {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (text(&output.stdout), text(&output.stderr))
}

/// The cells of the table row whose NAME is `name`, trimmed.
pub fn row<'a>(table: &'a str, name: &str) -> Option<Vec<&'a str>> {
    table
        .lines()
        .map(|line| line.split('\t').map(str::trim).collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&name))
}
