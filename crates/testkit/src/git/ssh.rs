//! An OpenSSH server on 127.0.0.1 with a generated ed25519 host key and deploy key, serving git
//! over ssh the way a git host does (the client runs `git-upload-pack '<path>'`). The fixture
//! hands out the URL, the deploy key's private PEM and a `known_hosts` line; sshd is killed on drop.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd; killed when dropped.
pub struct SshGitServer {
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    child: Child,
}

impl SshGitServer {
    /// Generates keys and a config in a temp dir and starts `sshd -D -e` on a free port.
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("tether-sshd-").tempdir()?;
        let host_key = dir.path().join("host_ed25519");
        let deploy_key = dir.path().join("deploy_ed25519");
        generate_key(&host_key)?;
        generate_key(&deploy_key)?;
        std::fs::copy(
            deploy_key.with_extension("pub"),
            dir.path().join("authorized_keys"),
        )?;
        std::fs::create_dir_all("/run/sshd").context("creating /run/sshd")?;
        let port = super::free_loopback_port()?;
        let config = dir.path().join("sshd_config");
        std::fs::write(&config, sshd_config(dir.path(), &host_key, port))?;
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting sshd (is openssh-server installed?)")?;
        let mut server = Self {
            dir,
            port,
            user: current_user()?,
            child,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if let Err(error) = super::wait_for_port(addr, Duration::from_secs(10)) {
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("sshd exited with {status} before listening");
            }
            return Err(error);
        }
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ssh://<user>@127.0.0.1:<port>/<absolute path of the bare repository>`.
    pub fn repo_url(&self, bare_repo: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            bare_repo.display()
        )
    }

    /// The deploy key's private key (OpenSSH PEM), authorized by this server.
    pub fn private_key_pem(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.dir.path().join("deploy_ed25519"),
        )?)
    }

    /// The deploy key's public key line.
    pub fn public_key(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.dir.path().join("deploy_ed25519.pub"),
        )?)
    }

    /// `[127.0.0.1]:<port> ssh-ed25519 AAAA...`, trusting this server's host key.
    pub fn known_hosts(&self) -> anyhow::Result<String> {
        let public = std::fs::read_to_string(self.dir.path().join("host_ed25519.pub"))?;
        let mut fields = public.split_whitespace();
        let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
            bail!("unexpected host public key format");
        };
        Ok(format!("[127.0.0.1]:{} {kind} {key}\n", self.port))
    }

    /// A `known_hosts` line for this address with a freshly generated, different key.
    pub fn foreign_known_hosts(&self) -> anyhow::Result<String> {
        let other = self.dir.path().join("foreign_ed25519");
        if !other.exists() {
            generate_key(&other)?;
        }
        let public = std::fs::read_to_string(other.with_extension("pub"))?;
        let mut fields = public.split_whitespace();
        let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
            bail!("unexpected public key format");
        };
        Ok(format!("[127.0.0.1]:{} {kind} {key}\n", self.port))
    }

    /// A private key this server does not authorize.
    pub fn unauthorized_key_pem(&self) -> anyhow::Result<String> {
        let other = self.dir.path().join("stranger_ed25519");
        if !other.exists() {
            generate_key(&other)?;
        }
        Ok(std::fs::read_to_string(other)?)
    }
}

impl SshGitServer {
    /// A new private key encrypted with `passphrase`, authorized by this server.
    pub fn authorize_key_with_passphrase(&self, passphrase: &str) -> anyhow::Result<String> {
        let path = self.dir.path().join("protected_ed25519");
        if !path.exists() {
            let status = Command::new("ssh-keygen")
                .args([
                    "-q",
                    "-t",
                    "ed25519",
                    "-C",
                    "tether-test",
                    "-N",
                    passphrase,
                    "-f",
                ])
                .arg(&path)
                .stdin(Stdio::null())
                .status()
                .context("running ssh-keygen")?;
            if !status.success() {
                bail!("ssh-keygen failed for {}", path.display());
            }
            let public = std::fs::read_to_string(path.with_extension("pub"))?;
            let authorized = self.dir.path().join("authorized_keys");
            let mut keys = std::fs::read_to_string(&authorized)?;
            keys.push_str(&public);
            std::fs::write(&authorized, keys)?;
        }
        Ok(std::fs::read_to_string(path)?)
    }
}

impl Drop for SshGitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `MaxStartups` is raised because sshd's default (`10:30:100`) randomly drops connections still
/// in key exchange once ten are pending, which a loaded test run reaches: clients then fail with
/// "kex closed".
fn sshd_config(dir: &Path, host_key: &Path, port: u16) -> String {
    let authorized: PathBuf = dir.join("authorized_keys");
    format!(
        "ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {host}\n\
         AuthorizedKeysFile {authorized}\n\
         PidFile {pid}\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\n\
         StrictModes no\n\
         UsePAM no\n\
         PermitRootLogin prohibit-password\n\
         AcceptEnv GIT_PROTOCOL\n\
         MaxStartups 200\n\
         LogLevel ERROR\n",
        host = host_key.display(),
        authorized = authorized.display(),
        pid = dir.join("sshd.pid").display(),
    )
}

fn generate_key(path: &Path) -> anyhow::Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "tether-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .context("running ssh-keygen")?;
    if !status.success() {
        bail!("ssh-keygen failed for {}", path.display());
    }
    Ok(())
}

fn current_user() -> anyhow::Result<String> {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .context("running id -un")?;
    if !out.status.success() {
        bail!("id -un failed");
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}
