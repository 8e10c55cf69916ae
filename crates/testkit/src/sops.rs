//! The Go-built `sops` and `age` (from `dev/testbin.sh`) and Debian's `gpg`, for tests that
//! encrypt fixtures at test time: age key pairs, OpenPGP keys in a throw-away GnuPG home, and
//! `sops encrypt` / `sops decrypt` runs isolated from any `.sops.yaml` or user keyring.

use anyhow::{Context, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

/// Environment variable naming the sops binary (else `sops` in the testbin directory).
pub const SOPS_ENV: &str = "TETHER_SOPS";
/// Environment variable naming the age binary (`age-keygen` is beside it).
pub const AGE_ENV: &str = "TETHER_AGE";

/// The sops binary.
pub fn sops_binary() -> anyhow::Result<PathBuf> {
    tool(SOPS_ENV, "sops")
}

/// The age-keygen binary (beside `$TETHER_AGE`, else in the testbin directory).
pub fn age_keygen_binary() -> anyhow::Result<PathBuf> {
    if let Some(age) = std::env::var_os(AGE_ENV) {
        return Ok(PathBuf::from(age).with_file_name("age-keygen"));
    }
    tool("TETHER_AGE_KEYGEN", "age-keygen")
}

fn tool(env: &str, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Ok(PathBuf::from(path));
    }
    let binary = crate::registry::registry_binary()?.with_file_name(name);
    if !binary.is_file() {
        bail!(
            "{} is missing; run dev/testbin.sh (it builds {name})",
            binary.display()
        );
    }
    Ok(binary)
}

/// An age key pair made by `age-keygen`.
#[derive(Debug, Clone)]
pub struct AgeKey {
    /// The key file as age-keygen writes it (comments and the `AGE-SECRET-KEY-1` line).
    pub identity: String,
    /// The public key (`age1...`).
    pub recipient: String,
}

/// A fresh age key pair.
pub fn age_keygen() -> anyhow::Result<AgeKey> {
    let output = Command::new(age_keygen_binary()?)
        .stdin(Stdio::null())
        .output()
        .context("cannot run age-keygen")?;
    if !output.status.success() {
        bail!(
            "age-keygen failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let identity = String::from_utf8(output.stdout)?;
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .context("age-keygen printed no public key")?
        .trim()
        .to_string();
    Ok(AgeKey {
        identity,
        recipient,
    })
}

/// An OpenPGP key without a passphrase in its own GnuPG home (its agent is stopped on drop).
pub struct GpgKey {
    /// The GnuPG home holding the key.
    pub home: TempDir,
    /// The primary key's fingerprint.
    pub fingerprint: String,
    /// The armored secret key (what a Flux decryption Secret holds under `*.asc`).
    pub secret_armored: String,
    /// The armored public key (what a GitRepository's `verify` Secret holds under `*.asc`).
    pub public_armored: String,
}

impl GpgKey {
    /// The signer git uses for this key (`commit -S`, `tag -s`).
    pub fn signer(&self) -> crate::git::CommitSigner {
        crate::git::CommitSigner::Gpg {
            home: self.home.path().to_path_buf(),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

impl GpgKey {
    /// Revokes the key with the revocation certificate gpg made with it, and returns the public
    /// key as exported afterwards (carrying the revocation).
    pub fn revoke(&self) -> anyhow::Result<String> {
        let certificate = self
            .home
            .path()
            .join("openpgp-revocs.d")
            .join(format!("{}.rev", self.fingerprint));
        // gpg guards the stored certificate with a leading ':' against accidental import.
        let text = std::fs::read_to_string(&certificate)?.replace("\n:-----BEGIN", "\n-----BEGIN");
        let armored = self.home.path().join("revocation.asc");
        std::fs::write(&armored, text)?;
        let gpg = |args: &[&std::ffi::OsStr]| -> anyhow::Result<Vec<u8>> {
            let output = Command::new("gpg")
                .arg("--batch")
                .args(args)
                .env("GNUPGHOME", self.home.path())
                .stdin(Stdio::null())
                .output()
                .context("cannot run gpg")?;
            if !output.status.success() {
                bail!("gpg failed: {}", String::from_utf8_lossy(&output.stderr));
            }
            Ok(output.stdout)
        };
        gpg(&["--import".as_ref(), armored.as_os_str()])?;
        let public = gpg(&[
            "--armor".as_ref(),
            "--export".as_ref(),
            self.fingerprint.as_ref(),
        ])?;
        Ok(String::from_utf8(public)?)
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A fresh ed25519/cv25519 OpenPGP key for `name`, made by gpg.
pub fn gpg_key(name: &str) -> anyhow::Result<GpgKey> {
    gpg_key_with(name, "never", None)
}

/// An OpenPGP key for `name` that expires `expire` (gpg's `--quick-gen-key` syntax: `never`,
/// `1d`...) after it is made; with `faked_time` (`20200101T000000`), its GnuPG home lives at that
/// time, so the key and every signature it makes date from then.
pub fn gpg_key_with(name: &str, expire: &str, faked_time: Option<&str>) -> anyhow::Result<GpgKey> {
    let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp")?;
    if let Some(time) = faked_time {
        std::fs::write(
            home.path().join("gpg.conf"),
            format!("faked-system-time {time}\n"),
        )?;
    }
    let gpg = |args: &[&str]| -> anyhow::Result<String> {
        let output = Command::new("gpg")
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .env("GNUPGHOME", home.path())
            .stdin(Stdio::null())
            .output()
            .context("cannot run gpg")?;
        if !output.status.success() {
            bail!(
                "gpg {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?)
    };
    let uid = format!("{name} <{name}@tether.test>");
    gpg(&["--quick-gen-key", &uid, "future-default", "default", expire])?;
    let listing = gpg(&["--with-colons", "--list-secret-keys", &uid])?;
    let fingerprint = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|l| l.split(':').find(|f| !f.is_empty()))
        .context("gpg listed no fingerprint")?
        .to_string();
    let secret_armored = gpg(&["--armor", "--export-secret-keys", &fingerprint])?;
    let public_armored = gpg(&["--armor", "--export", &fingerprint])?;
    Ok(GpgKey {
        home,
        fingerprint,
        secret_armored,
        public_armored,
    })
}

/// Master keys and rules for one `sops encrypt` run.
#[derive(Default, Clone)]
pub struct Encrypt<'a> {
    /// age recipients.
    pub age: Vec<&'a str>,
    /// OpenPGP fingerprints (their public keys in `gnupg_home`).
    pub pgp: Vec<&'a str>,
    /// The GnuPG home sops runs gpg with.
    pub gnupg_home: Option<&'a Path>,
    /// Extra flags (`--unencrypted-suffix`, `--encrypted-regex`, ...).
    pub flags: Vec<String>,
    /// A `.sops.yaml` for settings that have no flag (`mac_only_encrypted`).
    pub config: Option<String>,
}

/// Encrypts `plain` with the Go-built sops; `format` is sops' type name (`yaml`, `json`,
/// `dotenv`, `ini`, `binary`).
pub fn sops_encrypt(plain: &[u8], format: &str, with: &Encrypt<'_>) -> anyhow::Result<Vec<u8>> {
    let mut args: Vec<String> = vec!["encrypt".into()];
    if !with.age.is_empty() {
        args.extend(["--age".into(), with.age.join(",")]);
    }
    if !with.pgp.is_empty() {
        args.extend(["--pgp".into(), with.pgp.join(",")]);
    }
    args.extend(with.flags.iter().cloned());
    run_sops(
        &args,
        format,
        plain,
        with.gnupg_home,
        None,
        with.config.as_deref(),
    )
}

/// Decrypts with the Go-built sops, as `sops decrypt` prints it.
pub fn sops_decrypt(
    encrypted: &[u8],
    format: &str,
    age_identity: Option<&str>,
    gnupg_home: Option<&Path>,
) -> anyhow::Result<Vec<u8>> {
    run_sops(
        &["decrypt".into()],
        format,
        encrypted,
        gnupg_home,
        age_identity,
        None,
    )
}

fn run_sops(
    args: &[String],
    format: &str,
    input: &[u8],
    gnupg_home: Option<&Path>,
    age_identity: Option<&str>,
    config: Option<&str>,
) -> anyhow::Result<Vec<u8>> {
    // A directory of its own: no `.sops.yaml` above it but `config`, no user keys.
    let dir = TempDir::new()?;
    if let Some(config) = config {
        std::fs::write(dir.path().join(".sops.yaml"), config)?;
    }
    let file = dir.path().join("input");
    std::fs::write(&file, input)?;
    let mut command = Command::new(sops_binary()?);
    command
        .args(args)
        .args(["--input-type", format, "--output-type", format])
        .arg(&file)
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    if let Some(home) = gnupg_home {
        command.env("GNUPGHOME", home);
    }
    if let Some(identity) = age_identity {
        let key_file = dir.path().join("keys.txt");
        std::fs::File::create(&key_file)?.write_all(identity.as_bytes())?;
        command.env("SOPS_AGE_KEY_FILE", key_file);
    }
    let output = command.output().context("cannot run sops")?;
    if !output.status.success() {
        bail!(
            "sops {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}
