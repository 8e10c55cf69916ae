//! SSH keys for Git secrets: a generated key pair (`--ssh-key-algorithm`, `--ssh-rsa-bits`,
//! `--ssh-ecdsa-curve`, Flux's defaults: ECDSA P-384), a private key read from a file, and the
//! host key collected from the server for `known_hosts`.
//!
//! The keys are made and read by OpenSSH's `ssh-keygen` and the host key collected by
//! `ssh-keyscan` (the package tether's Git transport already runs `ssh` from), so no private
//! key is handled by hand-written crypto. RSA and ECDSA keys are PKCS#8 PEM (`PRIVATE KEY`) as
//! Flux writes them; Ed25519 keys are in OpenSSH's format (Flux writes PKCS#8), which
//! source-controller and tether read alike.

use super::flags::{flag_error, go_open_error, go_quote, unsupported_choice};
use crate::cli::SshKeyArgs;
use anyhow::{Context, bail};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// How long collecting the host key may take (Flux's 30 s).
const SCAN_TIMEOUT_SECONDS: &str = "30";

/// The key types a host key is taken from, in the order Go's SSH client prefers them.
const HOST_KEY_PREFERENCE: &[&str] = &[
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "ssh-ed25519",
];

/// The key to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyAlgorithm {
    Rsa(u32),
    Ecdsa(u32),
    Ed25519,
}

impl KeyAlgorithm {
    /// The algorithm of the flags, with Flux's defaults and refusals.
    pub fn from_flags(ssh: &SshKeyArgs) -> anyhow::Result<Self> {
        let algorithm = unsupported_choice(
            "ssh-key-algorithm",
            "public key algorithm",
            &["rsa", "ecdsa", "ed25519"],
            ssh.ssh_key_algorithm.as_deref(),
        )?;
        let bits = rsa_bits(ssh.ssh_rsa_bits.as_deref())?;
        let curve = ecdsa_curve(ssh.ssh_ecdsa_curve.as_deref())?;
        Ok(match algorithm.as_deref() {
            Some("rsa") => KeyAlgorithm::Rsa(bits),
            Some("ed25519") => KeyAlgorithm::Ed25519,
            _ => KeyAlgorithm::Ecdsa(curve),
        })
    }

    fn keygen_args(self) -> Vec<String> {
        match self {
            KeyAlgorithm::Rsa(bits) => {
                vec!["-t".into(), "rsa".into(), "-b".into(), bits.to_string()]
            }
            KeyAlgorithm::Ecdsa(bits) => {
                vec!["-t".into(), "ecdsa".into(), "-b".into(), bits.to_string()]
            }
            KeyAlgorithm::Ed25519 => vec!["-t".into(), "ed25519".into()],
        }
    }
}

/// `--ssh-rsa-bits`: 2048 by default, at least 1024, a multiple of 8.
fn rsa_bits(value: Option<&str>) -> anyhow::Result<u32> {
    let Some(text) = value else {
        return Ok(2048);
    };
    if text.trim().is_empty() {
        return Ok(2048);
    }
    let bits: i64 = text.parse().map_err(|_| {
        flag_error(
            "ssh-rsa-bits",
            text,
            &format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(text)),
        )
    })?;
    if bits < 1024 {
        return Err(flag_error(
            "ssh-rsa-bits",
            text,
            "RSA key bit size must be at least 1024",
        ));
    }
    if bits % 8 != 0 {
        return Err(flag_error(
            "ssh-rsa-bits",
            text,
            "RSA key bit size must be a multiples of 8",
        ));
    }
    u32::try_from(bits).map_err(|_| flag_error("ssh-rsa-bits", text, "value out of range"))
}

/// `--ssh-ecdsa-curve`: p256, p384 (the default) or p521, as a key size.
fn ecdsa_curve(value: Option<&str>) -> anyhow::Result<u32> {
    match value {
        None | Some("p384") => Ok(384),
        Some("p256") => Ok(256),
        Some("p521") => Ok(521),
        Some(other) => Err(flag_error(
            "ssh-ecdsa-curve",
            other,
            &format!("unsupported curve '{other}', must be one of: p256, p384, p521"),
        )),
    }
}

/// A private key (PEM, as stored in `identity`) and its public key in `authorized_keys` form
/// with a trailing newline (as stored in `identity.pub`).
#[derive(Clone)]
pub struct KeyPair {
    pub private_key: String,
    pub public_key: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// Generates a key pair with `ssh-keygen` in a private temporary directory.
pub fn generate(algorithm: KeyAlgorithm) -> anyhow::Result<KeyPair> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let path = dir.path().join("identity");
    let mut command = Command::new("ssh-keygen");
    command.args(["-q", "-N", "", "-C", "", "-m", "PKCS8"]);
    command.args(algorithm.keygen_args()).arg("-f").arg(&path);
    let output = command.stdin(Stdio::null()).output().context(
        "cannot run ssh-keygen (OpenSSH's client tools are needed to generate SSH keys)",
    )?;
    if !output.status.success() {
        bail!(
            "key pair generation failed, error: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let private_key = std::fs::read_to_string(&path).context("cannot read the generated key")?;
    let public_key = std::fs::read_to_string(path.with_extension("pub"))
        .context("cannot read the generated public key")?;
    Ok(KeyPair {
        private_key,
        public_key: authorized_key(&public_key),
    })
}

/// Flux's `LoadKeyPairFromPath`: the file's content as the private key, its public key
/// derived (with `password` for an encrypted key); `None` without a path.
pub fn load_key_pair(path: Option<&Path>, password: &str) -> anyhow::Result<Option<KeyPair>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let private_key = std::fs::read_to_string(path).map_err(|e| {
        let path = path.display().to_string();
        anyhow::anyhow!(
            "failed to open private key file: {}",
            go_open_error(&path, &e)
        )
    })?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let copy = dir.path().join("identity");
    std::fs::write(&copy, &private_key).context("cannot copy the private key")?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600))
        .context("cannot restrict the private key copy")?;
    let output = Command::new("ssh-keygen")
        .args(["-y", "-P", password, "-f"])
        .arg(&copy)
        .stdin(Stdio::null())
        .output()
        .context("cannot run ssh-keygen (OpenSSH's client tools are needed to read SSH keys)")?;
    if !output.status.success() {
        bail!(
            "cannot read the private key {}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(Some(KeyPair {
        private_key,
        public_key: authorized_key(&String::from_utf8_lossy(&output.stdout)),
    }))
}

/// `<type> <base64>\n`, the comment dropped (Go's `MarshalAuthorizedKey`).
fn authorized_key(line: &str) -> String {
    let fields: Vec<&str> = line.split_whitespace().take(2).collect();
    format!("{}\n", fields.join(" "))
}

/// Flux's `ScanHostKey`: the host's key (port 22 unless given) as one `known_hosts` line,
/// `<host> <type> <base64>` (`[host]:port` off port 22), the type Go's client would pick.
pub fn scan_host_key(host: &str) -> anyhow::Result<String> {
    let (hostname, port) = split_host_port(host);
    let address = format!("{hostname}:{port}");
    let output = Command::new("ssh-keyscan")
        .args(["-T", SCAN_TIMEOUT_SECONDS, "-p", port])
        .arg(hostname)
        .stdin(Stdio::null())
        .output()
        .context("cannot run ssh-keyscan (OpenSSH's client tools are needed to scan host keys)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let keys: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let key_type = |line: &&str| {
        line.split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let chosen = HOST_KEY_PREFERENCE
        .iter()
        .find_map(|preferred| keys.iter().find(|l| key_type(l) == *preferred));
    let Some(line) = chosen else {
        let why = String::from_utf8_lossy(&output.stderr);
        let why = why
            .lines()
            .rfind(|l| !l.starts_with('#'))
            .unwrap_or("no host key received");
        bail!(
            "SSH key scan for host {address} failed, error: {}",
            why.trim()
        );
    };
    Ok(line.trim().to_owned())
}

/// `host[:port]` (with `[ipv6]:port`), port 22 when absent.
fn split_host_port(host: &str) -> (&str, &str) {
    if let Some(rest) = host.strip_prefix('[')
        && let Some((name, port)) = rest.split_once("]:")
    {
        return (name, port);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port),
        _ => (host.trim_start_matches('[').trim_end_matches(']'), "22"),
    }
}

/// Flux's confirmation before it stores a generated deploy key: `y` goes on, anything else
/// (or no terminal) aborts.
pub fn confirm_deploy_key() -> anyhow::Result<()> {
    eprint!("? Have you added the deploy key to your repository [y/N] ");
    let mut answer = String::new();
    let read = std::io::stdin().read_line(&mut answer).unwrap_or(0);
    if read == 0 || !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("aborting");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(algorithm: Option<&str>, bits: Option<&str>, curve: Option<&str>) -> SshKeyArgs {
        SshKeyArgs {
            ssh_key_algorithm: algorithm.map(Into::into),
            ssh_rsa_bits: bits.map(Into::into),
            ssh_ecdsa_curve: curve.map(Into::into),
            private_key_file: None,
        }
    }

    #[test]
    fn key_flags_default_to_ecdsa_p384_and_refuse_as_flux() {
        let read = |a, b, c| KeyAlgorithm::from_flags(&flags(a, b, c));
        assert_eq!(read(None, None, None).ok(), Some(KeyAlgorithm::Ecdsa(384)));
        assert_eq!(
            read(Some("rsa"), Some("4096"), None).ok(),
            Some(KeyAlgorithm::Rsa(4096))
        );
        let error =
            |r: anyhow::Result<KeyAlgorithm>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            error(read(Some("dsa"), None, None)),
            "invalid argument \"dsa\" for \"--ssh-key-algorithm\" flag: unsupported public key algorithm 'dsa', must be one of: rsa, ecdsa, ed25519"
        );
        assert_eq!(
            error(read(None, Some("1000"), None)),
            "invalid argument \"1000\" for \"--ssh-rsa-bits\" flag: RSA key bit size must be at least 1024"
        );
        assert_eq!(
            error(read(None, Some("1028"), None)),
            "invalid argument \"1028\" for \"--ssh-rsa-bits\" flag: RSA key bit size must be a multiples of 8"
        );
    }

    #[test]
    fn host_ports_default_to_22() {
        assert_eq!(split_host_port("github.com"), ("github.com", "22"));
        assert_eq!(split_host_port("127.0.0.1:2222"), ("127.0.0.1", "2222"));
        assert_eq!(split_host_port("[::1]:2222"), ("::1", "2222"));
    }
}
