//! A real NATS server on loopback for e2e tests: nats-server (built by `dev/testbin.sh`,
//! `$TETHER_NATS_SERVER`), on a free 127.0.0.1 port, requiring a user and password; killed
//! when dropped.

use crate::registry::testbin_dir;
use anyhow::{Context, bail};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running nats-server; the process is killed when dropped.
pub struct NatsServer {
    addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
    log_path: PathBuf,
}

impl NatsServer {
    /// A server that accepts only `user` with `password`.
    pub fn start(user: &str, password: &str) -> anyhow::Result<Self> {
        let binary = nats_server_binary()?;
        let dir = tempfile::tempdir().context("cannot create the NATS server's temp dir")?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("cannot bind a loopback port for the NATS server")?;
        let log_path = dir.path().join("nats-server.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(&binary)
            .args(["--addr", "127.0.0.1", "--port"])
            .arg(addr.port().to_string())
            .args(["--user", user, "--pass", password])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Self {
            addr,
            child,
            _dir: dir,
            log_path,
        };
        server.wait_until_listening()?;
        Ok(server)
    }

    fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "nats-server exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "nats-server did not listen on {} in time:\n{}",
                    self.addr,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `nats://127.0.0.1:<port>`, a Provider's `address`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$TETHER_NATS_SERVER`, else `nats-server` in the test tools directory.
pub fn nats_server_binary() -> anyhow::Result<PathBuf> {
    let binary = match std::env::var_os("TETHER_NATS_SERVER") {
        Some(path) => PathBuf::from(path),
        None => testbin_dir()?.join("nats-server"),
    };
    if !binary.is_file() {
        bail!(
            "{} is missing; run dev/testbin.sh (it builds nats-server)",
            binary.display()
        );
    }
    Ok(binary)
}
