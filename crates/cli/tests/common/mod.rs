//! Shared fixtures of the CLI's e2e tests: a `tether controller` process scoped to one
//! namespace, the `tether` CLI run against the test cluster, and table helpers. Fixtures shared
//! with the controller's own tests live in `tether-testkit`.
#![allow(dead_code)]

use anyhow::{Context, bail};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tether_testkit::http::{free_port, http_get};

/// A running `tether controller`, killed on drop; its log is printed when a test panics.
pub struct ControllerProcess {
    pub child: Child,
    pub health_port: u16,
    pub metrics_port: u16,
    /// Where Receiver webhooks are served (`--receiver-addr`).
    pub receiver_port: u16,
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
        let receiver_port = free_port()?;
        let child = Command::new(env!("CARGO_BIN_EXE_tether"))
            .arg("controller")
            .args(["--watch-namespace", namespace])
            .args(["--health-addr", &format!("127.0.0.1:{health_port}")])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--storage-addr", "127.0.0.1:0"])
            .args(["--events-addr", "127.0.0.1:0"])
            .args(["--receiver-addr", &format!("127.0.0.1:{receiver_port}")])
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
            receiver_port,
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
