//! `tether controller` as a process against the real local control plane: it becomes ready,
//! serves `/healthz`, `/readyz` and `/metrics`, and exits cleanly on SIGTERM.

mod common;

use anyhow::{Context, bail};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tether_testkit::http::{free_port, http_get as get};

/// Kills the controller if the test fails before stopping it.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_ready(child: &mut Child, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("controller exited early with {status}");
        }
        if matches!(get(url), Some((200, _))) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("controller not ready at {url} within 30s")
}

#[test]
fn controller_serves_probes_and_metrics_then_stops_on_sigterm() -> anyhow::Result<()> {
    // Readiness waits for the caches of every kind, so the CRDs must be there whichever test
    // ran first.
    tokio::runtime::Runtime::new()?.block_on(async {
        let client = tether_testkit::cluster::client().await?;
        tether_testkit::cluster::install_crds(&client, tether_api::crds()).await
    })?;
    let kubeconfig = tether_testkit::cluster::kubeconfig_path()?;
    let (health, metrics) = (free_port()?, free_port()?);
    let mut guard = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_tether"))
            .args([
                "controller",
                "--health-addr",
                &format!("127.0.0.1:{health}"),
            ])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics}")])
            .args(["--storage-addr", "127.0.0.1:0"])
            .args([
                "--events-addr",
                "127.0.0.1:0",
                "--receiver-addr",
                "127.0.0.1:0",
            ])
            // A namespace of its own (it need not exist): objects other tests leave behind
            // would otherwise be reconciled here, and a reconcile still running at SIGTERM
            // may hold the shutdown for its whole grace period (20 s).
            .args([
                "--watch-namespace",
                &format!("controller-process-{}", std::process::id()),
            ])
            .env("KUBECONFIG", &kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start tether controller")?,
    );
    let child = &mut guard.0;

    wait_ready(child, &format!("http://127.0.0.1:{health}/readyz"))?;
    assert_eq!(
        get(&format!("http://127.0.0.1:{health}/healthz")).map(|r| r.0),
        Some(200)
    );
    let (code, body) = get(&format!("http://127.0.0.1:{metrics}/metrics")).context("metrics")?;
    assert_eq!(code, 200);
    assert!(body.contains("tether_build_info{version="), "{body}");
    assert!(
        body.trim_end().ends_with("# EOF"),
        "not OpenMetrics text: {body}"
    );

    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status()?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            bail!("controller did not stop within 15s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "controller exited with {status} after SIGTERM"
    );
    Ok(())
}

#[test]
fn controller_without_a_reachable_cluster_fails_with_a_clear_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    let port = free_port()?;
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: not-a-real-token\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n"
        ),
    )?;
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args([
            "controller",
            "--health-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
            "--storage-addr",
            "127.0.0.1:0",
            "--events-addr",
            "127.0.0.1:0",
            "--receiver-addr",
            "127.0.0.1:0",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach the Kubernetes API server"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-a-real-token"),
        "secret leaked: {stderr}"
    );
    Ok(())
}
