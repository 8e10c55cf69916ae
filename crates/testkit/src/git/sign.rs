//! Signing keys for signed-commit tests, made by the real tools: OpenPGP keys by Debian's `gpg`
//! (see [`crate::sops::gpg_key`]) and SSH keys by `ssh-keygen`, used by git itself
//! (`commit -S`, `tag -s`, with `gpg.format=ssh` for SSH keys).

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use tempfile::TempDir;

/// How git signs: with an OpenPGP key in a GnuPG home, or an SSH private key file.
pub enum CommitSigner {
    /// `gpg.format=openpgp`, `user.signingKey=<fingerprint>`, `GNUPGHOME=<home>`.
    Gpg { home: PathBuf, fingerprint: String },
    /// `gpg.format=ssh`, `user.signingKey=<private key file>`.
    Ssh { private_key: PathBuf },
}

impl CommitSigner {
    /// The `-c` settings and environment git signs with.
    pub(crate) fn git_settings(&self) -> (Vec<String>, Vec<(String, String)>) {
        match self {
            Self::Gpg { home, fingerprint } => (
                vec![
                    "gpg.format=openpgp".into(),
                    format!("user.signingKey={fingerprint}"),
                ],
                vec![("GNUPGHOME".into(), home.display().to_string())],
            ),
            Self::Ssh { private_key } => (
                vec![
                    "gpg.format=ssh".into(),
                    format!("user.signingKey={}", private_key.display()),
                ],
                Vec::new(),
            ),
        }
    }
}

/// An ed25519 SSH key pair made by `ssh-keygen`, without a passphrase.
pub struct SshSigningKey {
    dir: TempDir,
    /// The public key line (`ssh-ed25519 AAAA... comment`), as `authorized_keys` holds it.
    pub public_key: String,
}

impl SshSigningKey {
    /// A fresh key pair with `comment`.
    pub fn generate(comment: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("ssh-sign").tempdir()?;
        let key = dir.path().join("id_ed25519");
        let output = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(&key)
            .stdin(Stdio::null())
            .output()
            .context("cannot run ssh-keygen")?;
        if !output.status.success() {
            bail!(
                "ssh-keygen failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let public_key = std::fs::read_to_string(key.with_extension("pub"))?
            .trim()
            .to_owned();
        Ok(Self { dir, public_key })
    }

    /// The private key file.
    pub fn private_key(&self) -> PathBuf {
        self.dir.path().join("id_ed25519")
    }

    /// The signer git uses for this key.
    pub fn signer(&self) -> CommitSigner {
        CommitSigner::Ssh {
            private_key: self.private_key(),
        }
    }
}
