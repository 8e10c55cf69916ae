//! Local git servers and repositories for e2e tests: a smart-HTTP server with basic auth in front
//! of `git http-backend`, an OpenSSH server with a generated deploy key, and a bare repository
//! fixture driven through the `git` CLI (it is a test tool, so shelling out is fine here), with
//! commits and tags signed by gpg or ssh-keygen keys.

mod http;
mod repo;
mod sign;
mod ssh;

pub use http::HttpGitServer;
pub use repo::GitRepoFixture;
pub use sign::{CommitSigner, SshSigningKey};
pub use ssh::SshGitServer;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Asks the kernel for a free TCP port on 127.0.0.1. The port is released before it is returned,
/// so another process could take it in between; on loopback in a test that race is accepted.
pub fn free_loopback_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A port on 127.0.0.1 where nothing listens, for "unreachable server" tests.
pub fn closed_loopback_port() -> anyhow::Result<u16> {
    free_loopback_port()
}

/// Waits until `addr` accepts TCP connections, or fails after `timeout`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("{addr} did not accept connections within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
