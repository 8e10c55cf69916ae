//! Helm chart repositories on loopback for e2e tests, served the way users serve them: a
//! directory of archives made by the Go-built `helm package` and an `index.yaml` made by
//! `helm repo index --url <base>`, behind Debian's nginx (a static file server with ETag and
//! Last-Modified, so conditional requests get real 304s), over plain HTTP or HTTPS with a CA
//! generated per run (the registry fixture's [`TlsMaterial`]), with or without Basic auth
//! (htpasswd, bcrypt). nginx runs in the foreground as one process (`master_process off`) with
//! its config, logs and temp files in the fixture's temp dir; it is killed when dropped.
//!
//! [`ChartRepoServer::publish`] packages a chart directory and re-indexes (merging, so earlier
//! versions keep their `created` time), so a test can publish a new version later.
//! [`push_oci_chart`] pushes an archive to the test registry with `helm push`.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::charts::{ChartSpec, write_chart};
use crate::registry::{RegistryServer, TlsMaterial};

/// Environment variable naming the helm binary (else `$TETHER_TESTBIN/helm`).
pub const HELM_ENV: &str = "TETHER_HELM";
/// Environment variable naming the nginx binary (else `nginx` on `PATH` or `/usr/sbin/nginx`).
pub const NGINX_ENV: &str = "TETHER_NGINX";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// How a [`ChartRepoServer`] serves.
#[derive(Debug, Clone, Default)]
pub struct ChartRepoOptions {
    /// Serve HTTPS with a certificate from a CA made for this run.
    pub tls: bool,
    /// Require a client certificate signed by that CA too.
    pub mutual_tls: bool,
    /// Require Basic auth with this user name and password.
    pub basic_auth: Option<(String, String)>,
}

/// A running chart repository; nginx is killed and the files removed when dropped.
pub struct ChartRepoServer {
    addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
    tls: Option<TlsMaterial>,
    basic_auth: Option<(String, String)>,
}

impl ChartRepoServer {
    /// An anonymous repository over plain HTTP.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(ChartRepoOptions::default())
    }

    /// A repository requiring Basic auth `user`/`pass`.
    pub fn start_with_basic_auth(user: &str, pass: &str) -> anyhow::Result<Self> {
        Self::start_with(ChartRepoOptions {
            basic_auth: Some((user.to_owned(), pass.to_owned())),
            ..ChartRepoOptions::default()
        })
    }

    /// An anonymous repository over HTTPS ([`tls`](Self::tls) has the CA).
    pub fn start_with_tls() -> anyhow::Result<Self> {
        Self::start_with(ChartRepoOptions {
            tls: true,
            ..ChartRepoOptions::default()
        })
    }

    /// A repository served as `options` says.
    pub fn start_with(options: ChartRepoOptions) -> anyhow::Result<Self> {
        let nginx = nginx_binary()?;
        let dir = tempfile::tempdir().context("cannot create the chart repository's temp dir")?;
        for sub in ["charts", "tmp", "logs"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        let addr = free_loopback_addr()?;
        let tls = (options.tls || options.mutual_tls)
            .then(TlsMaterial::generate)
            .transpose()?;
        if let Some(tls) = &tls {
            write_tls_files(dir.path(), tls)?;
        }
        if let Some((user, pass)) = &options.basic_auth {
            let hash = bcrypt::hash(pass, 4).context("cannot hash the repository password")?;
            std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n"))?;
        }
        let config = nginx_config(dir.path(), addr, &options);
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(dir.path().join("logs/stderr.log"))?;
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.path().join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", nginx.display()))?;
        let mut server = Self {
            addr,
            child,
            dir,
            tls,
            basic_auth: options.basic_auth,
        };
        server.wait_until_listening()?;
        Ok(server)
    }

    fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("nginx exited ({status}) before listening:\n{}", self.logs());
            }
            let connect =
                std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
            if connect.is_ok() {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "nginx did not listen on {} in time:\n{}",
                    self.addr,
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn logs(&self) -> String {
        ["logs/stderr.log", "logs/error.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `http://127.0.0.1:<port>` (or `https://`), the repository URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory served (archives and `index.yaml`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("charts")
    }

    /// The CA (and client certificate) of an HTTPS repository.
    pub fn tls(&self) -> Option<&TlsMaterial> {
        self.tls.as_ref()
    }

    /// The Basic auth user and password, when required.
    pub fn basic_auth(&self) -> Option<(&str, &str)> {
        self.basic_auth
            .as_ref()
            .map(|(user, pass)| (user.as_str(), pass.as_str()))
    }

    /// Packages `chart_dir` with `helm package` into the served directory and re-indexes it
    /// with `helm repo index --url <url> --merge`; returns the archive's path.
    pub fn publish(&self, chart_dir: &Path) -> anyhow::Result<PathBuf> {
        let archive = helm_package(chart_dir, &self.root())?;
        self.reindex()?;
        Ok(archive)
    }

    /// Writes the test chart [`ChartSpec::new`]`(name, version, app_version)` and publishes it.
    pub fn publish_chart(
        &self,
        name: &str,
        version: &str,
        app_version: &str,
    ) -> anyhow::Result<PathBuf> {
        let work = tempfile::tempdir()?;
        let chart = write_chart(work.path(), &ChartSpec::new(name, version, app_version))?;
        self.publish(&chart)
    }

    /// Regenerates `index.yaml` from the archives in the served directory.
    pub fn reindex(&self) -> anyhow::Result<()> {
        let root = self.root();
        let index = root.join("index.yaml");
        let mut args = vec![
            "repo".into(),
            "index".into(),
            root.clone().into_os_string(),
            "--url".into(),
            self.url().into(),
        ];
        if index.exists() {
            args.push("--merge".into());
            args.push(index.into_os_string());
        }
        run_helm(&args)?;
        Ok(())
    }

    /// Writes `bytes` as `name` in the served directory (e.g. a hand-made index).
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let path = self.root().join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

impl Drop for ChartRepoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `helm package <chart_dir> -d <dest>`; returns the archive's path.
pub fn helm_package(chart_dir: &Path, dest: &Path) -> anyhow::Result<PathBuf> {
    let stdout = run_helm(&[
        "package".into(),
        chart_dir.as_os_str().to_owned(),
        "-d".into(),
        dest.as_os_str().to_owned(),
    ])?;
    let path = stdout
        .rsplit_once(": ")
        .map(|(_, path)| PathBuf::from(path.trim()))
        .context("helm package did not say where it saved the chart")?;
    Ok(path)
}

/// `helm push <archive> oci://<registry>/<namespace>` to the test registry (plain HTTP or its
/// CA, its Basic credentials if any); returns the chart's repository URL
/// `oci://<registry>/<namespace>`.
pub fn push_oci_chart(
    registry: &RegistryServer,
    archive: &Path,
    namespace: &str,
) -> anyhow::Result<String> {
    let work = tempfile::tempdir()?;
    let repo_url = format!("oci://{}/{namespace}", registry.host());
    let mut args: Vec<std::ffi::OsString> =
        vec!["push".into(), archive.into(), repo_url.clone().into()];
    match registry.tls() {
        None => args.push("--plain-http".into()),
        Some(tls) => {
            write_tls_files(work.path(), tls)?;
            for (flag, file) in [
                ("--ca-file", "ca.crt"),
                ("--cert-file", "client.crt"),
                ("--key-file", "client.key"),
            ] {
                args.push(flag.into());
                args.push(work.path().join(file).into());
            }
        }
    }
    if let Some((user, pass)) = registry.basic_auth() {
        args.extend([
            "--username".into(),
            user.into(),
            "--password".into(),
            pass.into(),
        ]);
    }
    run_helm(&args)?;
    Ok(repo_url)
}

/// The helm binary: `$TETHER_HELM`, else `helm` in the testbin directory.
pub fn helm_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(HELM_ENV) {
        return Ok(PathBuf::from(path));
    }
    let registry = crate::registry::registry_binary()?;
    let helm = registry.with_file_name("helm");
    if !helm.is_file() {
        bail!(
            "{} is missing; run dev/testbin.sh (it builds helm)",
            helm.display()
        );
    }
    Ok(helm)
}

/// Runs helm with its config, cache and data in a throwaway directory; returns stdout.
/// Runs the Go-built helm with `args` and a throw-away helm home, against the test cluster
/// when there is one (`TETHER_TEST_KUBECONFIG`); returns its stdout.
pub fn run_helm(args: &[std::ffi::OsString]) -> anyhow::Result<String> {
    let helm = helm_binary()?;
    let home = tempfile::tempdir()?;
    let mut command = Command::new(&helm);
    if let Some(kubeconfig) = std::env::var_os(crate::cluster::KUBECONFIG_ENV) {
        command.env("KUBECONFIG", kubeconfig);
    }
    let output = command
        .args(args)
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", helm.display()))?;
    if !output.status.success() {
        bail!(
            "helm {:?} failed ({}): {}",
            args.first(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn nginx_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(NGINX_ENV) {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
        .context("nginx is not installed; run dev/deps.sh (it installs nginx-light)")
}

fn write_tls_files(dir: &Path, tls: &TlsMaterial) -> anyhow::Result<()> {
    for (file, pem) in [
        ("ca.crt", &tls.ca_pem),
        ("server.crt", &tls.server_cert_pem),
        ("server.key", &tls.server_key_pem),
        ("client.crt", &tls.client_cert_pem),
        ("client.key", &tls.client_key_pem),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn nginx_config(dir: &Path, addr: SocketAddr, options: &ChartRepoOptions) -> String {
    let d = dir.display();
    let tls_on = options.tls || options.mutual_tls;
    let listen = if tls_on {
        format!("{addr} ssl")
    } else {
        addr.to_string()
    };
    let mut server = String::new();
    if tls_on {
        server.push_str(&format!(
            "    ssl_certificate {d}/server.crt;\n    ssl_certificate_key {d}/server.key;\n"
        ));
    }
    if options.mutual_tls {
        server.push_str(&format!(
            "    ssl_client_certificate {d}/ca.crt;\n    ssl_verify_client on;\n"
        ));
    }
    if options.basic_auth.is_some() {
        server.push_str(&format!(
            "    auth_basic \"tether charts\";\n    auth_basic_user_file {d}/htpasswd;\n"
        ));
    }
    format!(
        "daemon off;\n\
         master_process off;\n\
         worker_processes 1;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/logs/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 client_body_temp_path {d}/tmp/body;\n\
         \x20 proxy_temp_path {d}/tmp/proxy;\n\
         \x20 fastcgi_temp_path {d}/tmp/fastcgi;\n\
         \x20 uwsgi_temp_path {d}/tmp/uwsgi;\n\
         \x20 scgi_temp_path {d}/tmp/scgi;\n\
         \x20 types {{ application/x-yaml yaml; application/gzip tgz; application/json json; }}\n\
         \x20 default_type application/octet-stream;\n\
         \x20 server {{\n\
         \x20   listen {listen};\n\
         {server}\
         \x20   root {d}/charts;\n\
         \x20   location / {{ }}\n\
         \x20 }}\n\
         }}\n"
    )
}

fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot bind a loopback port for the chart repository")?;
    Ok(listener.local_addr()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::http_get;

    #[test]
    fn nginx_serves_the_directory_and_enforces_basic_auth() -> anyhow::Result<()> {
        let repo = ChartRepoServer::start_with_basic_auth("charts", "s3cret")?;
        repo.write_file("index.yaml", b"apiVersion: v1\nentries: {}\n")?;
        let anonymous = http_get(&format!("{}/index.yaml", repo.url()));
        assert_eq!(anonymous.map(|(code, _)| code), Some(401));
        let authorized = http_get(&format!("http://charts:s3cret@{}/index.yaml", repo.addr()));
        assert_eq!(
            authorized,
            Some((200, "apiVersion: v1\nentries: {}\n".to_owned()))
        );
        Ok(())
    }
}
