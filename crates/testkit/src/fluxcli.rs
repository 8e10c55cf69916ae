//! The real `flux` CLI (Flux v2.9.5, built from Go modules by `dev/testbin.sh`), run against the
//! test cluster: the drop-in tests point it at objects tether reconciles and read what it prints.

use anyhow::{Context, bail};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Output, Stdio};

/// The variable naming the flux binary (`dev/test.sh` sets it).
pub const FLUX_ENV: &str = "TETHER_FLUX";

/// The flux binary: `$TETHER_FLUX`, else `flux` in the testbin directory.
pub fn flux_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(FLUX_ENV) {
        return Ok(PathBuf::from(path));
    }
    let flux = crate::registry::testbin_dir()?.join("flux");
    if !flux.is_file() {
        bail!(
            "{} is missing; run dev/testbin.sh (it builds the flux CLI)",
            flux.display()
        );
    }
    Ok(flux)
}

/// Runs `flux ARGS --kubeconfig <test cluster>` with no Flux namespace from the environment and
/// no terminal, so it prints no colours and asks nothing.
pub async fn run_flux<S: AsRef<OsStr>>(args: &[S]) -> anyhow::Result<Output> {
    let flux = flux_binary()?;
    let kubeconfig = crate::cluster::kubeconfig_path()?;
    tokio::process::Command::new(&flux)
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("FLUX_SYSTEM_NAMESPACE")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {}", flux.display()))
}
