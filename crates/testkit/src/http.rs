//! Small HTTP helpers of the e2e tests: a free loopback port, a GET that tolerates nothing
//! answering, and sums over a Prometheus text exposition.

use std::net::TcpListener;
use std::process::Command;

/// A loopback port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `(status code, body)` of a GET, or `None` when nothing answers. Uses `curl` so that it can be
/// called from synchronous code and from any runtime alike.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let (code, body) = http_get_bytes(url)?;
    Some((code, String::from_utf8_lossy(&body).into_owned()))
}

/// `(status code, body bytes)` of a GET, or `None` when nothing answers.
pub fn http_get_bytes(url: &str) -> Option<(u16, Vec<u8>)> {
    let output = Command::new("curl")
        .args([
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "--max-time",
            "5",
            url,
        ])
        .output()
        .ok()?;
    let split = output.stdout.iter().rposition(|b| *b == b'\n')?;
    let code = std::str::from_utf8(&output.stdout[split + 1..]).ok()?;
    Some((code.trim().parse().ok()?, output.stdout[..split].to_vec()))
}

/// The sum of the samples of `metric` in a Prometheus text exposition whose label set
/// (the text between the braces) satisfies `select`.
pub fn sum_samples(text: &str, metric: &str, select: impl Fn(&str) -> bool) -> u64 {
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

/// The value of label `name` in a sample's label set.
pub fn label(labels: &str, name: &str) -> Option<String> {
    labels.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.trim_matches('"').to_owned())
    })
}

/// Metrics of a controller served at `http://127.0.0.1:<port>/metrics`.
pub struct ControllerMetrics {
    pub port: u16,
}

impl ControllerMetrics {
    /// The `/metrics` text.
    pub fn text(&self) -> anyhow::Result<String> {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        http_get(&url)
            .map(|(_, body)| body)
            .ok_or_else(|| anyhow::anyhow!("metrics endpoint {url} did not answer"))
    }

    /// The sum of `tether_api_requests_total` samples whose `(verb, dry_run)` satisfy `select`.
    pub fn api_requests(&self, select: impl Fn(&str, bool) -> bool) -> anyhow::Result<u64> {
        Ok(sum_samples(
            &self.text()?,
            "tether_api_requests_total",
            |labels| {
                let verb = label(labels, "verb").unwrap_or_default();
                let dry_run = label(labels, "dry_run") == Some("true".into());
                select(&verb, dry_run)
            },
        ))
    }

    /// Reconciles counted for `controller` (`kustomization`, `gitrepository`, ...).
    pub fn reconciles(&self, controller: &str) -> anyhow::Result<u64> {
        Ok(sum_samples(
            &self.text()?,
            "controller_runtime_reconcile_total",
            |labels| label(labels, "controller").as_deref() == Some(controller),
        ))
    }

    /// Reconciles of `controller` that ended in an error (`result="error"`).
    pub fn reconcile_errors(&self, controller: &str) -> anyhow::Result<u64> {
        Ok(sum_samples(
            &self.text()?,
            "controller_runtime_reconcile_total",
            |labels| {
                label(labels, "controller").as_deref() == Some(controller)
                    && label(labels, "result").as_deref() == Some("error")
            },
        ))
    }
}
