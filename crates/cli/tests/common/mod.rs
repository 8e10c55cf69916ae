//! Shared fixtures of the CLI's e2e tests: a `tether controller` process scoped to one
//! namespace, its metrics, and condition helpers.
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
