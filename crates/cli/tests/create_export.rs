//! `tether create ... --export` against the real `flux create ... --export` (Flux v2.9.5, built
//! from Go modules by dev/testbin.sh): for hand-written flag sets and for flag sets drawn by a
//! seeded random generator, both print the same bytes, or both fail with the same exit status
//! and message. Secrets with generated SSH keys are compared by structure (same keys, same
//! known_hosts line from the same real sshd, key types as asked), not by key bytes.
//!
//! The flux binary is `$TETHER_FLUX`, else `$TETHER_TESTBIN/flux`. Neither tool contacts a
//! cluster here: KUBECONFIG points at a missing file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tether_testkit::git::SshGitServer;
use tether_testkit::registry::TlsMaterial;

fn flux_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TETHER_FLUX") {
        return PathBuf::from(path);
    }
    let testbin = std::env::var_os("TETHER_TESTBIN").expect(
        "TETHER_FLUX or TETHER_TESTBIN must point at the flux CLI (dev/testbin.sh builds it)",
    );
    let flux = Path::new(&testbin).join("flux");
    assert!(
        flux.exists(),
        "{} is missing: run dev/testbin.sh",
        flux.display()
    );
    flux
}

/// Runs `binary create <args>` with no cluster and no namespace from the environment.
fn run(binary: &Path, args: &[String], dir: &Path) -> Output {
    Command::new(binary)
        .arg("create")
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .env("HOME", dir)
        .env_remove("FLUX_SYSTEM_NAMESPACE")
        .output()
        .expect("the binary runs")
}

/// What a run showed: exit status, stdout, and the error line (`✗ ...`) when it failed.
#[derive(Debug, PartialEq)]
struct Outcome {
    success: bool,
    stdout: String,
    error: Option<String>,
}

fn outcome(output: &Output) -> Outcome {
    let stderr = String::from_utf8_lossy(&output.stderr);
    Outcome {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        error: stderr
            .lines()
            .find(|l| l.starts_with('✗'))
            .map(str::to_owned),
    }
}

/// Both tools on the same flags: same outcome, byte for byte.
struct Differ {
    flux: PathBuf,
    tether: PathBuf,
    dir: tempfile::TempDir,
}

impl Differ {
    fn new() -> Self {
        Differ {
            flux: flux_binary(),
            tether: PathBuf::from(env!("CARGO_BIN_EXE_tether")),
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn write(&self, name: &str, content: &str) -> String {
        std::fs::write(self.dir.path().join(name), content).expect("writes");
        self.path(name)
    }

    /// Runs both; returns flux's outcome after checking tether's is the same.
    fn same(&self, args: &[String]) -> Outcome {
        let flux = outcome(&run(&self.flux, args, self.dir.path()));
        let tether = outcome(&run(&self.tether, args, self.dir.path()));
        assert_eq!(
            tether,
            flux,
            "tether and flux differ on `create {}`",
            args.join(" ")
        );
        flux
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

#[test]
fn sources_export_as_flux_exports_them() {
    let differ = Differ::new();
    #[rustfmt::skip]
    let cases: &[&[&str]] = &[
        &["source", "git", "podinfo", "--url=https://github.com/stefanprodan/podinfo", "--branch=master", "--ignore-paths=.cosign,non-existent-dir/", "--sparse-checkout-paths=.cosign,non-existent-dir/", "--export"],
        &["source", "git", "app", "--url=ssh://git@host/org/repo", "--tag=v1.0.0", "--interval=90s", "--fetch-timeout=1h", "--label=team=apps,tier=web", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--commit=abc123", "--branch=main", "--secret-ref=creds", "--proxy-secret-ref=proxy", "--provider=github", "--recurse-submodules", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--ref-name=refs/heads/main", "--tag-semver=>=1.0", "--recurse-submodules=false", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--export"],
        &["source", "git", "app", "--url=ftp://h/r", "--branch=main", "--export"],
        &["source", "git", "app", "--url=h/r", "--branch=main", "--export"],
        &["source", "git", "app", "--url=ssh://h/r", "--branch=main", "--ca-file=ca.pem", "--export"],
        &["source", "git", "app", "--branch=main", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--provider=gitea", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--provider=", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--interval=5", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--fetch-timeout=1x", "--export"],
        &["source", "git", "A", "--url=https://h/r", "--branch=main", "--export"],
        &["source", "git", "--url=https://h/r", "--branch=main", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--label=a=b=c", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--label=-a=b", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--label=Ex.com/a=b", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--label=a/b/c=d", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--ssh-key-algorithm=dsa", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--ssh-rsa-bits=1000", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--ssh-ecdsa-curve=p999", "--export"],
        &["source", "git", "app", "--url=https://h/r", "--branch=main", "--recurse-submodules=maybe", "--export"],
        &["source", "git", "app", "-n", "apps", "--url=https://h/r", "--branch=main", "--export"],
        &["source", "helm", "podinfo", "--url=https://stefanprodan.github.io/podinfo", "--export"],
        &["source", "helm", "podinfo", "--url=oci://ghcr.io/stefanprodan/charts", "--oci-provider=aws", "--secret-ref=creds", "--pass-credentials", "--export"],
        &["source", "helm", "podinfo", "--url=https://h/charts", "--secret-ref=creds", "--pass-credentials=true", "--fetch-timeout=30s", "--export"],
        &["source", "helm", "podinfo", "--url=https://h/charts", "--pass-credentials", "--oci-provider=aws", "--export"],
        &["source", "helm", "podinfo", "--url=ftp://h/charts", "--export"],
        &["source", "helm", "podinfo", "--url=https:///charts", "--export"],
        &["source", "helm", "podinfo", "--export"],
        &["source", "oci", "podinfo", "--url=oci://ghcr.io/stefanprodan/manifests/podinfo", "--tag=6.6.2", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag-semver=6.x", "--digest=sha256:abc", "--provider=aws", "--insecure", "--ignore-paths=a,b", "--secret-ref=s", "--proxy-secret-ref=p", "--service-account=sa", "--cert-ref=c", "--layer-selector=application/x-tar:copy", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--verify-provider=cosign", "--verify-secret-ref=keys", "--verify-issuer=^https://token.actions.githubusercontent.com$", "--verify-subject=^https://github.com/org/.*$", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--verify-provider=cosign", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--verify-secret-ref=keys", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--verify-subject=x", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--verify-provider=notation", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--layer-selector=nocolon", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--layer-selector=a:move", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--export"],
        &["source", "oci", "podinfo", "--tag=v1", "--export"],
        &["source", "oci", "podinfo", "--url=oci://r/p", "--tag=v1", "--provider=ibm", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/podinfo", "--chart=podinfo", "--chart-version=6.x", "--export"],
        &["source", "chart", "podinfo", "--source=gitrepository/podinfo", "--chart=./charts/podinfo", "--reconcile-strategy=Revision", "--interval=10m", "--label=a=b", "--export"],
        &["source", "chart", "podinfo", "--source=Bucket/b", "--chart=./c", "--verify-provider=cosign", "--verify-secret-ref=keys", "--verify-issuer=^https://i$", "--verify-subject=^s$", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/p", "--chart=c", "--verify-provider=notation", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/p", "--chart=c", "--verify-subject=s", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/p", "--chart=c", "--verify-issuer=i", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/p", "--chart=c", "--verify-secret-ref=k", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/p", "--chart=c", "--verify-provider=gpg", "--export"],
        &["source", "chart", "podinfo", "--source=OCIRepository/p", "--chart=c", "--export"],
        &["source", "chart", "podinfo", "--source=p", "--chart=c", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/p.ns", "--chart=c", "--export"],
        &["source", "chart", "podinfo", "--source=", "--chart=c", "--export"],
        &["source", "chart", "podinfo", "--chart=c", "--export"],
        &["source", "chart", "podinfo", "--source=HelmRepository/p", "--export"],
        &["source", "chart", "--source=HelmRepository/p", "--chart=c", "--export"],
        &["source", "bucket", "podinfo", "--bucket-name=podinfo", "--endpoint=minio.minio.svc.cluster.local:9000", "--insecure", "--export"],
        &["source", "bucket", "podinfo", "--bucket-name=b", "--endpoint=s3.amazonaws.com", "--provider=aws", "--region=us-east-1", "--secret-ref=creds", "--proxy-secret-ref=p", "--ignore-paths=x", "--access-key=ak", "--secret-key=sk", "--export"],
        &["source", "bucket", "podinfo", "--endpoint=e", "--export"],
        &["source", "bucket", "podinfo", "--bucket-name=b", "--export"],
        &["source", "bucket", "podinfo", "--bucket-name=b", "--endpoint=e", "--provider=minio", "--export"],
    ];
    for case in cases {
        differ.same(&strings(case));
    }
}

#[test]
fn kustomizations_and_helm_releases_export_as_flux_exports_them() {
    let differ = Differ::new();
    let values = differ.write(
        "values.yaml",
        "replicaCount: 2\nimage:\n  tag: 1.0.0\n  pullPolicy: IfNotPresent\nlist: [a, b]\n",
    );
    let more = differ.write(
        "more.yaml",
        "image:\n  tag: 2.0.0\nresources:\n  limits:\n    memory: 128Mi\nratio: 0.5\n",
    );
    let values_flag = format!("--values={values},{more}");
    let missing_values = format!("--values={}", differ.path("missing.yaml"));
    #[rustfmt::skip]
    let cases: Vec<Vec<String>> = vec![
        strings(&["kustomization", "podinfo", "--source=podinfo", "--path=./kustomize", "--prune=true", "--interval=5m", "--export"]),
        strings(&["ks", "podinfo", "--source=GitRepository/podinfo.flux-system", "--path=deploy/../app/", "--wait", "--health-check-timeout=3m", "--target-namespace=apps", "--depends-on=infra,team/base@ready", "--service-account=deployer", "--decryption-provider=sops", "--decryption-secret=sops-age", "--kubeconfig-secret-ref=remote", "--retry-interval=2m", "--label=a=b", "--export"]),
        strings(&["ks", "podinfo", "--source=oci/podinfo", "--health-check=Deployment/podinfo.apps,HelmRelease/redis.data", "--export"]),
        strings(&["ks", "podinfo", "--source=Bucket/podinfo", "--health-check=Deployment/podinfo.apps", "--wait=true", "--export"]),
        strings(&["ks", "podinfo", "--source=podinfo", "--health-check=Deployment/podinfo", "--export"]),
        strings(&["ks", "podinfo", "--source=podinfo", "--health-check=Pod/podinfo.apps", "--export"]),
        strings(&["ks", "podinfo", "--source=podinfo", "--health-check=a/b/c", "--export"]),
        strings(&["ks", "podinfo", "--export"]),
        strings(&["ks", "podinfo", "--source=", "--export"]),
        strings(&["ks", "podinfo", "--source=Foo/bar", "--export"]),
        strings(&["ks", "podinfo", "--source=GitRepository", "--export"]),
        strings(&["ks", "podinfo", "--source=GitRepository/", "--export"]),
        strings(&["ks", "podinfo", "--source=podinfo", "--prune=maybe", "--export"]),
        strings(&["ks", "podinfo", "--source=podinfo", "--decryption-provider=vault", "--export"]),
        strings(&["ks", "podinfo", "--source=podinfo", "--health-check-timeout=5", "--export"]),
        strings(&["ks", "podinfo", "--source=podinfo", "--path=/abs/../..//x", "--export"]),
        strings(&["helmrelease", "podinfo", "--source=HelmRepository/podinfo", "--chart=podinfo", "--chart-version=>=6.0.0", "--export"]),
        strings(&["hr", "podinfo", "--source=GitRepository/repo.team", "--chart=./charts/podinfo", "--release-name=web", "--target-namespace=apps", "--create-target-namespace", "--service-account=helm", "--reconcile-strategy=Revision", "--chart-interval=10m", "--crds=CreateReplace", "--depends-on=infra", "--kubeconfig-secret-ref=remote", "--values-from=Secret/a,configmap/b", &values_flag, "--export"]),
        strings(&["hr", "podinfo", "--chart-ref=OCIRepository/podinfo.flux-system", "--storage-namespace=store", "--export"]),
        strings(&["hr", "podinfo", "--chart-ref=HelmChart/podinfo", "--export"]),
        strings(&["hr", "podinfo", "--chart-ref=GitRepository/podinfo", "--export"]),
        strings(&["hr", "podinfo", "--export"]),
        strings(&["hr", "podinfo", "--chart=a", "--chart-ref=HelmChart/b", "--export"]),
        strings(&["hr", "podinfo", "--source=HelmRepository/p", "--chart=a", "--reconcile-strategy=Always", "--export"]),
        strings(&["hr", "podinfo", "--source=p", "--chart=a", "--export"]),
        strings(&["hr", "podinfo", "--source=OCIRepository/p", "--chart=a", "--export"]),
        strings(&["hr", "podinfo", "--source=HelmRepository/p", "--chart=a", "--crds=Never", "--export"]),
        strings(&["hr", "podinfo", "--source=HelmRepository/p", "--chart=a", "--values-from=Pod/x", "--export"]),
        strings(&["hr", "podinfo", "--source=HelmRepository/p", "--chart=a", "--values-from=x", "--export"]),
        strings(&["hr", "podinfo", "--source=HelmRepository/p", "--chart=a", &missing_values, "--export"]),
    ];
    for case in &cases {
        differ.same(case);
    }
}

#[test]
fn image_objects_export_as_flux_exports_them() {
    let differ = Differ::new();
    #[rustfmt::skip]
    let cases: &[&[&str]] = &[
        &["image", "repository", "podinfo", "--image=ghcr.io/stefanprodan/podinfo", "--interval=1h", "--export"],
        &["image", "repository", "podinfo", "--image=library/alpine", "--secret-ref=regcred", "--cert-ref=certs", "--scan-timeout=30s", "--label=a=b", "--export"],
        &["image", "repository", "podinfo", "--export"],
        &["image", "repository", "podinfo", "--image=x", "--scan-timeout=1", "--export"],
        &["image", "policy", "podinfo", "--image-ref=podinfo", "--select-semver=5.0.x", "--export"],
        &["image", "policy", "podinfo", "--image-ref=podinfo", "--select-alpha=desc", "--filter-regex=^main-[a-f0-9]+-(?P<ts>[0-9]+)", "--filter-extract=$ts", "--export"],
        &["image", "policy", "podinfo", "--image-ref=podinfo", "--select-numeric=asc", "--reflect-digest=Always", "--interval=10m", "--export"],
        &["image", "policy", "podinfo", "--image-ref=podinfo", "--select-semver=1.x", "--select-alpha=asc", "--export"],
        &["image", "policy", "podinfo", "--image-ref=podinfo", "--select-alpha=asc", "--select-numeric=asc", "--export"],
        &["image", "policy", "podinfo", "--image-ref=podinfo", "--select-alpha=up", "--export"],
        &["image", "policy", "podinfo", "--image-ref=podinfo", "--export"],
        &["image", "policy", "podinfo", "--select-semver=1.x", "--export"],
        &["image", "policy", "podinfo", "--image-ref=p", "--select-semver=1.x", "--filter-extract=$ts", "--export"],
        &["image", "policy", "podinfo", "--image-ref=p", "--select-semver=1.x", "--filter-regex=(", "--export"],
        &["image", "policy", "podinfo", "--image-ref=p", "--select-semver=1.x", "--filter-regex=^(?P<ts>.*)$", "--filter-extract=$other", "--export"],
        &["image", "policy", "podinfo", "--image-ref=p", "--select-semver=1.x", "--reflect-digest=Sometimes", "--export"],
        &["image", "policy", "podinfo", "--image-ref=p", "--select-semver=1.x", "--interval=5m", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=flux-system", "--git-repo-path=./clusters/my-cluster", "--checkout-branch=main", "--push-branch=image-updates", "--author-name=flux", "--author-email=flux@example.com", "--commit-template={{range .Updated.Images}}{{println .}}{{end}}", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=repo", "--git-repo-namespace=infra", "--checkout-branch=main", "--author-name=a", "--author-email=a@b", "--signing-key-secret=signing", "--signing-key-type=ssh", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=repo", "--checkout-branch=main", "--author-name=a", "--author-email=a@b", "--signing-key-secret=signing", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=repo", "--checkout-branch=main", "--author-name=a", "--author-email=a@b", "--signing-key-type=ssh", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=repo", "--checkout-branch=main", "--author-name=a", "--author-email=a@b", "--signing-key-secret=s", "--signing-key-type=x509", "--export"],
        &["image", "update", "podinfo", "--checkout-branch=main", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=repo", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=repo", "--checkout-branch=main", "--export"],
        &["image", "update", "podinfo", "--git-repo-ref=repo", "--checkout-branch=main", "--author-name=a", "--export"],
    ];
    for case in cases {
        differ.same(&strings(case));
    }
}

#[test]
fn secrets_without_generated_keys_export_as_flux_exports_them() {
    let differ = Differ::new();
    let tls = TlsMaterial::generate().expect("certificates");
    let other = TlsMaterial::generate().expect("certificates");
    let ca = differ.write("ca.crt", &tls.ca_pem);
    let crt = differ.write("tls.crt", &tls.client_cert_pem);
    let key = differ.write("tls.key", &tls.client_key_pem);
    let wrong_key = differ.write("wrong.key", &other.client_key_pem);
    let flag = |name: &str, path: &str| format!("--{name}={path}");
    #[rustfmt::skip]
    let cases: Vec<Vec<String>> = vec![
        strings(&["secret", "git", "git-auth", "--url=https://github.com/org/repo", "--username=git", "--password=s3cr3t", "--export"]),
        strings(&["secret", "git", "git-auth", "--url=https://h/r", "--bearer-token=tok", "--label=a=b", "--export"]),
        vec![
            "secret".into(),
            "git".into(),
            "git-auth".into(),
            "--url=https://h/r".into(),
            "-u".into(),
            "u".into(),
            "-p".into(),
            "p".into(),
            flag("ca-crt-file", &ca),
            "--export".into(),
        ],
        strings(&["secret", "git", "git-auth", "--url=https://h/r", "--username=u", "--password=p", "--bearer-token=t", "--export"]),
        strings(&["secret", "git", "git-auth", "--url=https://h/r", "--username=u", "--export"]),
        strings(&["secret", "git", "git-auth", "--url=ftp://h/r", "--export"]),
        strings(&["secret", "git", "git-auth", "--export"]),
        strings(&["secret", "helm", "helm-auth", "--username=u", "--password=p", "--export"]),
        vec![
            "secret".into(),
            "helm".into(),
            "helm-auth".into(),
            "--username=u".into(),
            "--password=p".into(),
            flag("ca-crt-file", &ca),
            "--export".into(),
        ],
        vec![
            "secret".into(),
            "helm".into(),
            "helm-tls".into(),
            flag("tls-crt-file", &crt),
            flag("tls-key-file", &key),
            flag("ca-crt-file", &ca),
            "--label=x=y".into(),
            "--export".into(),
        ],
        vec![
            "secret".into(),
            "helm".into(),
            "helm-ca".into(),
            flag("ca-crt-file", &ca),
            "--export".into(),
        ],
        strings(&["secret", "helm", "helm-none", "--export"]),
        strings(&["secret", "helm", "helm-auth", "--username=u", "--export"]),
        vec![
            "secret".into(),
            "tls".into(),
            "certs".into(),
            flag("tls-crt-file", &crt),
            flag("tls-key-file", &key),
            "--export".into(),
        ],
        vec![
            "secret".into(),
            "tls".into(),
            "certs".into(),
            flag("ca-crt-file", &ca),
            "--export".into(),
        ],
        vec![
            "secret".into(),
            "tls".into(),
            "certs".into(),
            flag("tls-crt-file", &crt),
            "--export".into(),
        ],
        vec![
            "secret".into(),
            "tls".into(),
            "certs".into(),
            flag("tls-crt-file", &crt),
            flag("tls-key-file", &wrong_key),
            "--export".into(),
        ],
        strings(&["secret", "tls", "certs", "--export"]),
        strings(&["secret", "oci", "ghcr-auth", "--url=ghcr.io", "--username=u", "--password=p&<x>", "--export"]),
        strings(&["secret", "oci", "ghcr-auth", "--url=ghcr.io/org/charts", "--username=u", "--export"]),
        strings(&["secret", "oci", "ghcr-auth", "--username=u", "--password=p", "--export"]),
        strings(&["secret", "proxy", "proxy", "--address=http://proxy.example.com:8080", "--username=u", "--password=p", "--label=a=b", "--export"]),
        strings(&["secret", "proxy", "proxy", "--address=https://proxy:3128", "--export"]),
        strings(&["secret", "proxy", "proxy", "--username=u", "--export"]),
    ];
    for case in &cases {
        differ.same(case);
    }
}

/// The parts of a Git SSH secret that do not depend on the generated key.
#[derive(Debug, PartialEq)]
struct SshSecretShape {
    head: String,
    keys: Vec<String>,
    key_type: String,
    private_key_header: String,
    known_hosts: String,
    password: Option<String>,
}

fn ssh_secret_shape(export: &str) -> SshSecretShape {
    let docs = tether_core::yaml::from_str_multi(export).expect("YAML");
    let secret = docs.into_iter().next().expect("one document");
    let data = secret["stringData"].as_object().expect("stringData");
    let text = |key: &str| {
        data.get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let head = export
        .split("stringData:")
        .next()
        .unwrap_or_default()
        .to_owned();
    SshSecretShape {
        head,
        keys: data.keys().cloned().collect(),
        key_type: text("identity.pub")
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_owned(),
        private_key_header: text("identity")
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        known_hosts: text("known_hosts"),
        password: data
            .get("password")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    }
}

#[test]
fn ssh_git_secrets_have_fluxs_shape_and_the_servers_host_key() {
    let differ = Differ::new();
    let server = SshGitServer::start().expect("sshd");
    let url = format!("--url=ssh://git@127.0.0.1:{}/repo.git", server.port());
    let key = differ.write("identity", &server.private_key_pem().expect("a key"));
    let key_flag = format!("--private-key-file={key}");
    #[rustfmt::skip]
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            strings(&["secret", "git", "deploy", &url, "--export"]),
            "ecdsa-sha2-nistp384",
        ),
        (
            strings(&["secret", "git", "deploy", &url, "--ssh-ecdsa-curve=p256", "--label=a=b", "--export"]),
            "ecdsa-sha2-nistp256",
        ),
        (
            strings(&["secret", "git", "deploy", &url, "--ssh-key-algorithm=rsa", "--ssh-rsa-bits=2048", "--export"]),
            "ssh-rsa",
        ),
        (
            strings(&["secret", "git", "deploy", &url, "--ssh-key-algorithm=ed25519", "--export"]),
            "ssh-ed25519",
        ),
        (
            strings(&["secret", "git", "deploy", &url, "--password=unlock", "--export"]),
            "ecdsa-sha2-nistp384",
        ),
    ];
    for (args, key_type) in &cases {
        let flux = run(&differ.flux, args, differ.dir.path());
        let tether = run(&differ.tether, args, differ.dir.path());
        assert!(
            flux.status.success(),
            "flux failed: {}",
            String::from_utf8_lossy(&flux.stderr)
        );
        assert!(
            tether.status.success(),
            "tether failed: {}",
            String::from_utf8_lossy(&tether.stderr)
        );
        let flux_shape = ssh_secret_shape(&String::from_utf8_lossy(&flux.stdout));
        let tether_shape = ssh_secret_shape(&String::from_utf8_lossy(&tether.stdout));
        assert_eq!(flux_shape.key_type, *key_type);
        let comparable = |mut shape: SshSecretShape| {
            // Flux writes Ed25519 keys as PKCS#8, tether (ssh-keygen) in OpenSSH's format.
            if shape.key_type == "ssh-ed25519" {
                shape.private_key_header.clear();
            }
            shape
        };
        assert_eq!(
            comparable(tether_shape),
            comparable(flux_shape),
            "on {}",
            args.join(" ")
        );
    }
    // A key given as a file is stored as it is, with its public half.
    let args = strings(&["secret", "git", "deploy", &url, &key_flag, "--export"]);
    let flux = run(&differ.flux, &args, differ.dir.path());
    let tether = run(&differ.tether, &args, differ.dir.path());
    assert_eq!(
        String::from_utf8_lossy(&tether.stdout),
        String::from_utf8_lossy(&flux.stdout)
    );
    assert!(flux.status.success() && tether.status.success());
}

#[test]
fn sops_secrets_hold_checked_keys_under_fluxs_names() {
    let differ = Differ::new();
    let age = tether_testkit::sops::age_keygen().expect("age-keygen");
    let age_file = differ.write("key.agekey", &age.identity);
    let bad_file = differ.write("bad.agekey", "not a key\n");
    let tether = &differ.tether;
    let export = run(
        tether,
        &strings(&[
            "secret",
            "sops",
            "sops-keys",
            &format!("--age-key-file={age_file}"),
            "--export",
        ]),
        differ.dir.path(),
    );
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let text = String::from_utf8_lossy(&export.stdout);
    let docs = tether_core::yaml::from_str_multi(&text).expect("YAML");
    let data = docs[0]["stringData"].as_object().expect("stringData");
    let (name, value) = data.iter().next().expect("one key");
    assert!(name.ends_with(".agekey"), "{name}");
    assert_eq!(value.as_str(), Some(age.identity.as_str()));
    let refused = run(
        tether,
        &strings(&[
            "secret",
            "sops",
            "sops-keys",
            &format!("--age-key-file={bad_file}"),
            "--export",
        ]),
        differ.dir.path(),
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not an age key file"), "{stderr}");
    assert!(
        !stderr.contains("not a key"),
        "the file's content is not echoed: {stderr}"
    );
}

/// Candidate flags of one kind: each flag with the values a draw picks from.
type Flags<'a> = &'a [(&'a str, &'a [&'a str])];

/// A small xorshift generator: the same seed draws the same flag sets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Flags of one kind with candidate values (some refused by Flux); each draw takes some flags
/// with one value each, in a random order.
fn draw(rng: &mut Rng, head: &[&str], flags: &[(&str, &[&str])]) -> Vec<String> {
    let mut args = strings(head);
    let mut chosen = Vec::new();
    for (flag, values) in flags {
        if !rng.chance(45) {
            continue;
        }
        let value = rng.pick(values);
        if value.is_empty() {
            chosen.push((*flag).to_owned());
        } else {
            chosen.push(format!("{flag}={value}"));
        }
    }
    for i in (1..chosen.len()).rev() {
        chosen.swap(i, rng.below(i + 1));
    }
    args.extend(chosen);
    args.push("--export".into());
    args
}

#[test]
fn random_flag_sets_export_as_flux_exports_them() {
    let differ = Differ::new();
    let seed = std::env::var("TETHER_CREATE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005e_edf1_u64);
    let mut rng = Rng(seed);
    #[rustfmt::skip]
    let common: &[(&str, &[&str])] = &[
        ("--interval", &["1m", "90s", "1h30m", "2h", "0.5h", "10m0s"]),
        (
            "--label",
            &["a=b", "team=apps,tier=web", "example.com/x=y", "k="],
        ),
        ("--namespace", &["apps", "flux-system"]),
    ];
    #[rustfmt::skip]
    let git: &[(&str, &[&str])] = &[
        (
            "--url",
            &["https://github.com/org/repo", "ssh://git@h/org/repo", "http://h/r"],
        ),
        ("--branch", &["main", "release/v1"]),
        ("--tag", &["v1.0.0"]),
        ("--tag-semver", &[">=1.0.0 <2.0.0"]),
        ("--ref-name", &["refs/heads/main"]),
        ("--commit", &["0123456789abcdef"]),
        ("--secret-ref", &["creds"]),
        ("--proxy-secret-ref", &["proxy"]),
        ("--provider", &["generic", "github", "aws", "azure"]),
        ("--recurse-submodules", &["", "true", "false"]),
        ("--ignore-paths", &["a/,b/", "*.md"]),
        ("--sparse-checkout-paths", &["apps,infra"]),
        ("--fetch-timeout", &["30s", "2m"]),
    ];
    #[rustfmt::skip]
    let oci: &[(&str, &[&str])] = &[
        ("--url", &["oci://ghcr.io/org/manifests"]),
        ("--tag", &["latest", "v2"]),
        ("--tag-semver", &["1.x"]),
        ("--digest", &["sha256:0123"]),
        ("--provider", &["generic", "aws", "gcp", "azure"]),
        ("--secret-ref", &["regcred"]),
        ("--service-account", &["puller"]),
        ("--cert-ref", &["certs"]),
        ("--insecure", &["", "true"]),
        (
            "--layer-selector",
            &["application/vnd.cncf.flux.content.v1.tar+gzip:extract"],
        ),
        ("--ignore-paths", &["x,y"]),
    ];
    #[rustfmt::skip]
    let ks: &[(&str, &[&str])] = &[
        (
            "--source",
            &["podinfo", "GitRepository/podinfo", "OCIRepository/podinfo.flux-system", "bucket/data"],
        ),
        ("--path", &["./deploy", "deploy/prod", "./a/../b/"]),
        ("--prune", &["", "true", "false"]),
        ("--wait", &["", "true"]),
        (
            "--health-check",
            &["Deployment/web.apps", "StatefulSet/db.data,DaemonSet/agent.system"],
        ),
        ("--health-check-timeout", &["3m", "45s"]),
        ("--depends-on", &["infra", "team/base"]),
        ("--service-account", &["deployer"]),
        ("--decryption-provider", &["sops"]),
        ("--decryption-secret", &["sops-age"]),
        ("--target-namespace", &["apps"]),
        ("--kubeconfig-secret-ref", &["remote"]),
        ("--retry-interval", &["1m", "30s"]),
    ];
    #[rustfmt::skip]
    let hr: &[(&str, &[&str])] = &[
        (
            "--source",
            &["HelmRepository/charts", "GitRepository/repo.infra", "Bucket/b"],
        ),
        ("--chart", &["podinfo", "./charts/app"]),
        ("--chart-version", &["6.x", ">=1.0.0"]),
        ("--release-name", &["web"]),
        ("--target-namespace", &["apps"]),
        ("--storage-namespace", &["helm"]),
        ("--create-target-namespace", &["", "true"]),
        ("--service-account", &["helm"]),
        ("--reconcile-strategy", &["ChartVersion", "Revision"]),
        ("--chart-interval", &["5m"]),
        ("--crds", &["Skip", "Create", "CreateReplace"]),
        ("--depends-on", &["infra,team/db"]),
        ("--values-from", &["Secret/values", "ConfigMap/more"]),
        ("--kubeconfig-secret-ref", &["remote"]),
    ];
    #[rustfmt::skip]
    let policy: &[(&str, &[&str])] = &[
        ("--image-ref", &["podinfo"]),
        ("--select-semver", &["1.x", ">=5.0.0"]),
        ("--select-alpha", &["asc", "desc"]),
        ("--select-numeric", &["asc", "desc"]),
        ("--filter-regex", &["^v(?P<version>.*)$", "^main-"]),
        ("--filter-extract", &["$version", "$1"]),
        ("--reflect-digest", &["Never", "IfNotPresent", "Always"]),
    ];
    #[rustfmt::skip]
    let update: &[(&str, &[&str])] = &[
        ("--git-repo-ref", &["flux-system"]),
        ("--git-repo-namespace", &["infra"]),
        ("--git-repo-path", &["./clusters/prod"]),
        ("--checkout-branch", &["main"]),
        ("--push-branch", &["auto"]),
        ("--commit-template", &["Update images"]),
        ("--author-name", &["flux"]),
        ("--author-email", &["flux@example.com"]),
        ("--signing-key-secret", &["signing"]),
        ("--signing-key-type", &["gpg", "ssh"]),
    ];
    let kinds: &[(&[&str], Flags)] = &[
        (&["source", "git", "app"], git),
        (&["source", "oci", "app"], oci),
        (&["kustomization", "app"], ks),
        (&["helmrelease", "app"], hr),
        (&["image", "policy", "app"], policy),
        (&["image", "update", "app"], update),
    ];
    let mut succeeded = 0;
    for round in 0..120 {
        let (head, flags) = kinds[round % kinds.len()];
        let all: Vec<(&str, &[&str])> = flags.iter().chain(common).copied().collect();
        let args = draw(&mut rng, head, &all);
        if differ.same(&args).success {
            succeeded += 1;
        }
    }
    eprintln!("{succeeded} of 120 draws were valid flag sets (seed {seed:#x})");
    // About a third of the draws are valid; the rest compare Flux's refusals.
    assert!(
        succeeded >= 20,
        "only {succeeded} draws were valid flag sets (seed {seed:#x})"
    );
}

#[test]
fn github_app_secrets_export_as_flux_exports_them() {
    let differ = Differ::new();
    let key = differ.write(
        "app.pem",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    );
    let empty = differ.write("empty.pem", "");
    let key_flag = format!("--app-private-key={key}");
    let empty_flag = format!("--app-private-key={empty}");
    #[rustfmt::skip]
    let cases: Vec<Vec<&str>> = vec![
        vec!["secret", "githubapp", "app-auth", "--app-id=1", "--app-installation-id=2", &key_flag, "--export"],
        vec!["secret", "githubapp", "app-auth", "--app-id=1", "--app-installation-owner=org", "--app-base-url=https://github.example.com/api/v3", &key_flag, "--label=a=b", "-n", "apps", "--export"],
        vec!["secret", "githubapp", "app-auth", "--app-id=1", &key_flag, "--export"],
        vec!["secret", "githubapp", "app-auth", "--app-id=1", "--app-installation-id=2", "--app-installation-owner=org", &key_flag, "--export"],
        vec!["secret", "githubapp", "app-auth", "--app-installation-id=2", &key_flag, "--export"],
        vec!["secret", "githubapp", "app-auth", "--app-id=1", "--app-installation-id=2", &empty_flag, "--export"],
        vec!["secret", "githubapp", "app-auth", "--app-id=1", "--app-installation-id=2", "--app-private-key=missing.pem", "--export"],
        vec!["secret", "githubapp", "app-auth", "--app-id=1", "--app-installation-id=2", "--export"],
        vec!["secret", "githubapp", "--app-id=1", "--app-installation-id=2", &key_flag, "--export"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let outcome = differ.same(&strings(case));
        assert_eq!(outcome.success, i < 2, "{case:?}: {outcome:?}");
    }
}

/// `create secret notation`: the Secret (one key per CA file, the policy as given), and
/// every trust policy notation-go refuses, refused with its words (JSON type errors, version,
/// statements, levels and overrides, trust stores, identities and subjects, registry scopes).
#[test]
fn notation_secrets_export_as_flux_exports_them() {
    let differ = Differ::new();
    let crt = differ.write("ca.crt", "ca-data-crt");
    let pem = differ.write("ca.pem", "ca-data-pem");
    let p12 = differ.write("ca.p12", "ca-data");
    let statement = |extra: &str| {
        format!(
            r#"{{"version": "1.0", "trustPolicies": [{{"name": "a", "registryScopes": ["*"], {extra}}}]}}"#
        )
    };
    let strict = |identities: &str| {
        statement(&format!(
            r#""signatureVerification": {{"level": "strict"}}, "trustStores": ["ca:x"], "trustedIdentities": [{identities}]"#
        ))
    };
    #[rustfmt::skip]
    let policies: Vec<String> = vec![
        strict(r#""*""#),
        strict(r#""x509.subject:C=US, ST=WA, O=Acme""#),
        r#""""#.into(),
        "[]".into(),
        "null".into(),
        r#"{"version": "1.0","#.into(),
        r#"{"version": 1}"#.into(),
        r#"{"version": "1.0", "trustPolicies": {}}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{"name": "a", "trustStores": [true]}]}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{"signatureVerification": {"override": {"expiry": 1}}}]}"#.into(),
        "{}".into(),
        r#"{"version": "2.0"}"#.into(),
        r#"{"version": "1.0"}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{}]}"#.into(),
        statement(r#""signatureVerification": {"level": "bogus"}"#),
        statement(r#""signatureVerification": {"level": "skip", "override": {"expiry": "log"}}"#),
        statement(r#""signatureVerification": {"level": "strict", "override": {"integrity": "log"}}, "trustStores": ["ca:x"], "trustedIdentities": ["*"]"#),
        statement(r#""signatureVerification": {"level": "strict", "override": {"expiry": "skip"}}, "trustStores": ["ca:x"], "trustedIdentities": ["*"]"#),
        statement(r#""signatureVerification": {"level": "strict", "override": {"foo": "log"}}, "trustStores": ["ca:x"], "trustedIdentities": ["*"]"#),
        statement(r#""signatureVerification": {"level": "skip"}, "trustStores": ["ca:x"]"#),
        statement(r#""signatureVerification": {"level": "strict"}"#),
        statement(r#""signatureVerification": {"level": "strict"}, "trustStores": ["x"], "trustedIdentities": ["*"]"#),
        statement(r#""signatureVerification": {"level": "strict"}, "trustStores": ["foo:x"], "trustedIdentities": ["*"]"#),
        statement(r#""signatureVerification": {"level": "strict"}, "trustStores": ["ca:x/y"], "trustedIdentities": ["*"]"#),
        strict(r#""*", "x509.subject:C=US,ST=WA,O=x""#),
        strict(r#""""#),
        strict(r#""abc""#),
        strict(r#""x509.subject:""#),
        strict(r#""x509.subject:foo""#),
        strict(r#""x509.subject:=US,ST=WA,O=x""#),
        strict(r#""x509.subject:C=US,O=x""#),
        strict(r#""x509.subject:C=US+ST=WA,O=x""#),
        strict(r#""x509.subject:C=US,C=UK,ST=WA,O=x""#),
        strict(r#""x509.subject:C=US,ST=WA,O=x,CN=a", "x509.subject:C=US,ST=WA,O=x""#),
        r#"{"version": "1.0", "trustPolicies": [{"name": "a", "signatureVerification": {"level": "skip"}}]}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["*", "a.io/b"], "signatureVerification": {"level": "skip"}}]}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["a.io/b*"], "signatureVerification": {"level": "skip"}}]}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["a.io/B"], "signatureVerification": {"level": "skip"}}]}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["a.io/b"], "signatureVerification": {"level": "skip"}}, {"name": "b", "registryScopes": ["a.io/b"], "signatureVerification": {"level": "skip"}}]}"#.into(),
        r#"{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["a.io/b"], "signatureVerification": {"level": "skip"}}, {"name": "a", "registryScopes": ["a.io/c"], "signatureVerification": {"level": "skip"}}]}"#.into(),
    ];
    for (i, policy) in policies.iter().enumerate() {
        let file = differ.write(&format!("policy-{i}.json"), policy);
        let args = [
            "secret",
            "notation",
            "notary",
            "--ca-cert-file",
            &crt,
            "--trust-policy-file",
            &file,
            "--export",
        ];
        let outcome = differ.same(&strings(&args));
        assert_eq!(outcome.success, i < 2, "{policy}: {outcome:?}");
    }
    let policy = differ.write("policy.json", &strict(r#""*""#));
    let policy_flag = format!("--trust-policy-file={policy}");
    #[rustfmt::skip]
    let cases: Vec<Vec<String>> = vec![
        strings(&["secret", "notation", "notary", &format!("--ca-cert-file={crt},{pem}"), &policy_flag, "--label=a=b", "-n", "apps", "--export"]),
        strings(&["secret", "notation", "notary", &format!("--ca-cert-file={pem}"), &format!("--ca-cert-file={crt}"), &policy_flag, "--export"]),
        strings(&["secret", "notation", "notary", &format!("--ca-cert-file={p12}"), "--ca-cert-file=missing.crt", &policy_flag, "--export"]),
        strings(&["secret", "notation", "notary", "--ca-cert-file=.", &policy_flag, "--export"]),
        strings(&["secret", "notation", "notary", &policy_flag, "--export"]),
        strings(&["secret", "notation", "notary", &format!("--ca-cert-file={crt}"), "--export"]),
        strings(&["secret", "notation", "notary", &format!("--ca-cert-file={crt}"), "--trust-policy-file=missing.json", "--export"]),
        strings(&["secret", "notation", &format!("--ca-cert-file={crt}"), &policy_flag, "--export"]),
    ];
    for (i, case) in cases.iter().enumerate() {
        let outcome = differ.same(case);
        assert_eq!(outcome.success, i < 2, "{case:?}: {outcome:?}");
    }
}

#[test]
fn tenants_export_as_flux_exports_them() {
    let differ = Differ::new();
    #[rustfmt::skip]
    let cases: &[&[&str]] = &[
        &["tenant", "dev-team", "--with-namespace=apps,web", "--label=a=b", "--export"],
        &["tenant", "dev-team", "--with-namespace=apps", "--with-namespace=web", "--with-service-account=deployer", "--cluster-role=edit", "--skip-namespace", "--export"],
        &["tenant", "dev-team", "--export"],
        &["tenant", "dev-team", "--with-namespace=apps", "--cluster-role=", "--export"],
        &["tenant", "dev-team", "--with-namespace=bad_ns_", "--export"],
        &["tenant", "dev-team", "--with-namespace=a/b/c", "--export"],
        &["tenant", "dev-team", "--with-namespace=/x", "--export"],
        &["tenant", "dev-team", "--with-namespace=apps", "--with-service-account=-sa", "--export"],
        &["tenant", "--with-namespace=apps", "--export"],
        &["tenant", "Bad_Name", "--with-namespace=apps", "--export"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let outcome = differ.same(&strings(case));
        assert_eq!(outcome.success, i < 2, "{case:?}: {outcome:?}");
    }
}
