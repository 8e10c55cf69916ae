//! `create secret git|helm|oci|tls|sops`: the Secrets Flux's sources and decryption read, built
//! as Flux's `sourcesecret` and `runtime/secrets` packages build them (keys, `type`,
//! `stringData`), printed with `--export` as `flux create secret --export` prints them, or
//! created/updated in the cluster (Flux's `upsertSecret`: `stringData` replaced, labels and
//! annotations merged).
//!
//! `--export` prints the secret values: that is what the user asked for, and Flux does the same.
//! Nothing else prints them: the progress lines name the Secret, and a generated SSH key shows
//! only its public half.

use super::flags::{self, object_name};
use super::ssh::{self, KeyAlgorithm, KeyPair};
use crate::cli::{
    CreateArgs, CreateSecretGitArgs, CreateSecretGithubAppArgs, CreateSecretHelmArgs,
    CreateSecretKind, CreateSecretOciArgs, CreateSecretProxyArgs, CreateSecretSopsArgs,
    CreateSecretTlsArgs, TlsFileArgs,
};
use crate::commands::cluster;
use crate::commands::output::{action, generate};
use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use std::collections::BTreeMap;

pub use super::ssh::confirm_deploy_key;

pub fn run(args: &CreateArgs, kind: &CreateSecretKind) -> anyhow::Result<()> {
    match kind {
        CreateSecretKind::Git(git) => create_git(args, git),
        CreateSecretKind::Helm(helm) => create_helm(args, helm),
        CreateSecretKind::Oci(oci) => create_oci(args, oci),
        CreateSecretKind::Tls(tls) => create_tls(args, tls),
        CreateSecretKind::Proxy(proxy) => create_proxy(args, proxy),
        CreateSecretKind::GithubApp(app) => create_github_app(args, app),
        CreateSecretKind::Sops(sops) => create_sops(args, sops),
        CreateSecretKind::Notation(notation) => super::notation::create_notation(args, notation),
    }
}

/// A file's content, or Flux's `<what>: open <path>: <error>`.
pub fn read_file(path: &str, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{what}: {}", flags::go_open_error(path, &e)))
}

/// `stringData[key]`.
pub fn string_data<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret.string_data.as_ref()?.get(key).map(String::as_str)
}

/// Whether the Secret holds any value.
pub fn has_data(secret: &Secret) -> bool {
    secret.string_data.as_ref().is_some_and(|d| !d.is_empty())
}

pub(super) fn make_secret(
    name: &str,
    namespace: &str,
    labels: Option<BTreeMap<String, String>>,
    type_: Option<&str>,
    data: BTreeMap<String, String>,
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels,
            ..ObjectMeta::default()
        },
        type_: type_.map(str::to_owned),
        string_data: (!data.is_empty()).then_some(data),
        ..Secret::default()
    }
}

/// SSH settings of a Git secret.
pub struct SshOptions {
    /// The key to store; generated with `algorithm` when `None`.
    pub keypair: Option<KeyPair>,
    pub algorithm: KeyAlgorithm,
    /// The server whose host key goes into `known_hosts`.
    pub hostname: String,
}

/// What a Git secret holds (Flux's `sourcesecret.Options` for `GenerateGit`).
pub struct GitSecretOptions<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: Option<BTreeMap<String, String>>,
    pub username: &'a str,
    pub password: &'a str,
    pub bearer_token: &'a str,
    pub ca_crt: Option<String>,
    pub ssh: Option<SshOptions>,
}

/// Flux's `GenerateGit`: basic auth when both username and password are set, else over SSH
/// a key pair (given or generated) with the server's host key; a bearer token and a CA.
pub fn git_secret(options: GitSecretOptions) -> anyhow::Result<Secret> {
    let basic_auth = !options.username.is_empty() && !options.password.is_empty();
    let mut data = BTreeMap::new();
    if basic_auth {
        data.insert("username".into(), options.username.to_owned());
        data.insert("password".into(), options.password.to_owned());
    }
    if !options.bearer_token.is_empty() {
        data.insert("bearerToken".into(), options.bearer_token.to_owned());
    }
    if let Some(ca) = options.ca_crt.filter(|ca| !ca.is_empty()) {
        data.insert("ca.crt".into(), ca);
    }
    if let Some(ssh) = options.ssh.filter(|_| !basic_auth) {
        let keypair = match ssh.keypair {
            Some(keypair) => keypair,
            None => ssh::generate(ssh.algorithm)?,
        };
        let known_hosts = ssh::scan_host_key(&ssh.hostname)?;
        data.insert("identity".into(), keypair.private_key);
        data.insert("identity.pub".into(), keypair.public_key);
        data.insert("known_hosts".into(), known_hosts);
        if !options.password.is_empty() {
            data.insert("password".into(), options.password.to_owned());
        }
    }
    Ok(make_secret(
        options.name,
        options.namespace,
        options.labels,
        None,
        data,
    ))
}

/// What a Helm repository secret holds (Flux's `GenerateHelm`).
pub struct HelmSecretOptions<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: Option<BTreeMap<String, String>>,
    pub username: &'a str,
    pub password: &'a str,
    pub ca_crt: Option<String>,
    pub tls_crt: Option<String>,
    pub tls_key: Option<String>,
}

/// Flux's `GenerateHelm`: a TLS secret when a client certificate or key is given, else basic
/// auth (with the CA), else a CA-only TLS secret, else an empty Secret.
pub fn helm_secret(options: HelmSecretOptions) -> anyhow::Result<Secret> {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let (ca, crt, key) = (
        nonempty(&options.ca_crt),
        nonempty(&options.tls_crt),
        nonempty(&options.tls_key),
    );
    let basic_auth = !options.username.is_empty() || !options.password.is_empty();
    let mut secret = if crt.is_some() || key.is_some() {
        tls_secret(options.name, options.namespace, crt, key, ca)?
    } else if basic_auth {
        if options.username.is_empty() {
            bail!("username is required");
        }
        if options.password.is_empty() {
            bail!("password is required");
        }
        let mut data = BTreeMap::from([
            ("username".to_owned(), options.username.to_owned()),
            ("password".to_owned(), options.password.to_owned()),
        ]);
        if let Some(ca) = ca {
            data.insert("ca.crt".into(), ca);
        }
        let basic = Some("kubernetes.io/basic-auth");
        make_secret(options.name, options.namespace, None, basic, data)
    } else if ca.is_some() {
        tls_secret(options.name, options.namespace, None, None, ca)?
    } else {
        make_secret(options.name, options.namespace, None, None, BTreeMap::new())
    };
    secret.metadata.labels = options.labels;
    Ok(secret)
}

/// Flux's `MakeTLSSecret`: a certificate pair (checked to match) and/or a CA.
fn tls_secret(
    name: &str,
    namespace: &str,
    crt: Option<String>,
    key: Option<String>,
    ca: Option<String>,
) -> anyhow::Result<Secret> {
    let mut data = BTreeMap::new();
    let type_ = match (crt, key) {
        (Some(crt), Some(key)) => {
            check_key_pair(&crt, &key)?;
            data.insert("tls.crt".into(), crt);
            data.insert("tls.key".into(), key);
            "kubernetes.io/tls"
        }
        (Some(_), None) => bail!("found certificate but missing private key"),
        (None, Some(_)) => bail!("found private key but missing certificate"),
        (None, None) if ca.is_none() => bail!("no CA certificate or client certificate pair found"),
        (None, None) => "Opaque",
    };
    if let Some(ca) = ca {
        data.insert("ca.crt".into(), ca);
    }
    Ok(make_secret(name, namespace, None, Some(type_), data))
}

/// Go's `tls.X509KeyPair` check: PEM certificate and key that belong together.
fn check_key_pair(crt: &str, key: &str) -> anyhow::Result<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |why: &str| anyhow::anyhow!("invalid TLS certificate and key pair: tls: {why}");
    let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(crt.as_bytes())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(invalid("failed to find any PEM data in certificate input"));
    }
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
        .map_err(|_| invalid("failed to find any PEM data in key input"))?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(certs, key, &provider)
        .map(|_| ())
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => invalid("private key does not match public key"),
            _ => invalid("failed to parse private key"),
        })
}

/// The bucket credentials of `create source bucket` (no `type`, with the source's labels).
pub fn bucket_secret(
    name: &str,
    namespace: &str,
    labels: &Option<BTreeMap<String, String>>,
    access_key: &str,
    secret_key: &str,
) -> Secret {
    let data = BTreeMap::from([
        ("accesskey".to_owned(), access_key.to_owned()),
        ("secretkey".to_owned(), secret_key.to_owned()),
    ]);
    let mut secret = make_secret(name, namespace, labels.clone(), None, data);
    secret.metadata.labels = labels.clone();
    secret
}

/// `---` and the Secret as `sigs.k8s.io/yaml` prints it, with the trailing newline Flux's
/// `Println` adds (`newline`) or not.
fn export(secret: &Secret, newline: bool) -> anyhow::Result<String> {
    let value = serde_json::to_value(secret).context("cannot encode the Secret")?;
    let yaml = tether_core::yaml::to_string(&value);
    let end = if newline { "\n" } else { "" };
    Ok(format!("---\n{yaml}{end}"))
}

/// Flux's `upsertSecret`: creates the Secret, or replaces the stored one's `stringData` and
/// merges in its labels and annotations.
pub async fn upsert_secret(client: kube::Client, secret: &Secret) -> anyhow::Result<()> {
    let namespace = secret.metadata.namespace.clone().unwrap_or_default();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let api = Api::<Secret>::namespaced(client, &namespace);
    let label = format!("Secret '{namespace}/{name}'");
    let existing = api
        .get_opt(&name)
        .await
        .with_context(|| format!("cannot read {label}"))?;
    let Some(mut existing) = existing else {
        api.create(&PostParams::default(), secret)
            .await
            .with_context(|| format!("cannot create {label}"))?;
        return Ok(());
    };
    existing.string_data = secret.string_data.clone();
    for (field, extra) in [
        (&mut existing.metadata.labels, &secret.metadata.labels),
        (
            &mut existing.metadata.annotations,
            &secret.metadata.annotations,
        ),
    ] {
        if let Some(extra) = extra {
            field
                .get_or_insert_with(BTreeMap::new)
                .extend(extra.clone());
        }
    }
    api.replace(&name, &PostParams::default(), &existing)
        .await
        .with_context(|| format!("cannot update {label}"))?;
    Ok(())
}

/// Prints the Secret (`--export`) or stores it and prints `► <what> secret '<name>' created in
/// '<namespace>' namespace`.
pub(super) fn export_or_store(
    args: &CreateArgs,
    secret: Secret,
    what: &str,
    newline: bool,
) -> anyhow::Result<()> {
    if args.export {
        print!("{}", export(&secret, newline)?);
        return Ok(());
    }
    let name = secret.metadata.name.clone().unwrap_or_default();
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        upsert_secret(client, &secret).await?;
        action(&format!(
            "{what} secret '{name}' created in '{}' namespace",
            args.namespace()
        ));
        Ok(())
    })
}

fn create_git(args: &CreateArgs, git: &CreateSecretGitArgs) -> anyhow::Result<()> {
    let algorithm = KeyAlgorithm::from_flags(&git.ssh)?;
    let name = object_name(&git.name)?;
    if git.url.is_empty() {
        bail!("url is required");
    }
    let (scheme, host) = flags::url_scheme_host(&git.url);
    let labels = flags::parse_labels(&args.labels)?;
    let mut options = GitSecretOptions {
        name: &name,
        namespace: args.namespace(),
        labels,
        username: "",
        password: &git.password,
        bearer_token: "",
        ca_crt: None,
        ssh: None,
    };
    match scheme.as_str() {
        "ssh" => {
            options.ssh = Some(SshOptions {
                keypair: ssh::load_key_pair(git.ssh.private_key_file.as_deref(), &git.password)?,
                algorithm,
                hostname: host,
            });
        }
        "http" | "https" => {
            let basic_auth = !git.username.is_empty() && !git.password.is_empty();
            if !basic_auth && git.bearer_token.is_empty() {
                bail!(
                    "for Git over HTTP/S the username and password, or a bearer token is required"
                );
            }
            if basic_auth && !git.bearer_token.is_empty() {
                bail!("user credentials and bearer token cannot be used together");
            }
            options.username = &git.username;
            options.bearer_token = &git.bearer_token;
            if !git.ca_crt_file.is_empty() {
                options.ca_crt = Some(read_file(&git.ca_crt_file, "unable to read TLS CA file")?);
            }
        }
        other => bail!("git URL scheme '{other}' not supported, can be: ssh, http and https"),
    }
    let secret = git_secret(options)?;
    if !args.export
        && let Some(public_key) = string_data(&secret, "identity.pub")
    {
        generate(&format!("deploy key: {public_key}"));
    }
    export_or_store(args, secret, "git", true)
}

/// The certificate, key and CA files of `--tls-crt-file`, `--tls-key-file`, `--ca-crt-file`.
fn tls_files(tls: &TlsFileArgs) -> anyhow::Result<[Option<String>; 3]> {
    let read = |path: &str, what| flags::some(path).map(|p| read_file(&p, what)).transpose();
    let ca = read(&tls.ca_crt_file, "unable to read TLS CA file")?;
    let crt = read(&tls.tls_crt_file, "failed to read cert file")?;
    let key = read(&tls.tls_key_file, "failed to read key file")?;
    Ok([crt, key, ca])
}

fn create_helm(args: &CreateArgs, helm: &CreateSecretHelmArgs) -> anyhow::Result<()> {
    let name = object_name(&helm.name)?;
    let labels = flags::parse_labels(&args.labels)?;
    let [tls_crt, tls_key, ca_crt] = tls_files(&helm.tls)?;
    let secret = helm_secret(HelmSecretOptions {
        name: &name,
        namespace: args.namespace(),
        labels,
        username: &helm.username,
        password: &helm.password,
        ca_crt,
        tls_crt,
        tls_key,
    })?;
    export_or_store(args, secret, "helm", true)
}

fn create_tls(args: &CreateArgs, tls: &CreateSecretTlsArgs) -> anyhow::Result<()> {
    let name = object_name(&tls.name)?;
    let labels = flags::parse_labels(&args.labels)?;
    let [crt, key, ca] = tls_files(&tls.tls)?;
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let mut secret = tls_secret(
        &name,
        args.namespace(),
        nonempty(crt),
        nonempty(key),
        nonempty(ca),
    )?;
    secret.metadata.labels = labels;
    export_or_store(args, secret, "tls", false)
}

fn create_oci(args: &CreateArgs, oci: &CreateSecretOciArgs) -> anyhow::Result<()> {
    let name = object_name(&oci.name)?;
    if oci.url.is_empty() {
        bail!("--url is required");
    }
    if oci.username.is_empty() {
        bail!("--username is required");
    }
    if oci.password.is_empty() {
        bail!("--password is required");
    }
    if let Err(e) = tether_registry::name::ImageRef::parse(&oci.url) {
        bail!("error parsing url: '{e}'");
    }
    let secret = registry_secret(
        &name,
        args.namespace(),
        &oci.url,
        &oci.username,
        &oci.password,
    )?;
    export_or_store(args, secret, "oci", true)
}

/// Flux's `MakeRegistrySecret`: a `kubernetes.io/dockerconfigjson` Secret for one registry,
/// its JSON indented as Go's `MarshalIndent` indents it.
fn registry_secret(
    name: &str,
    namespace: &str,
    server: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<Secret> {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut auths = serde_json::Map::new();
    auths.insert(
        server.to_owned(),
        serde_json::json!({ "username": username, "password": password, "auth": auth }),
    );
    let config = serde_json::json!({ "auths": auths });
    let json = serde_json::to_string_pretty(&config).context("cannot encode the Docker config")?;
    let data = BTreeMap::from([(".dockerconfigjson".to_owned(), go_html_escape(&json))]);
    let type_ = Some("kubernetes.io/dockerconfigjson");
    Ok(make_secret(name, namespace, None, type_, data))
}

/// `encoding/json` escapes `<`, `>` and `&` in strings.
fn go_html_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Flux's `MakeProxySecret`: an Opaque Secret with `address`, and `username` and `password`
/// when given.
fn create_proxy(args: &CreateArgs, proxy: &CreateSecretProxyArgs) -> anyhow::Result<()> {
    let name = object_name(&proxy.name)?;
    let labels = flags::parse_labels(&args.labels)?;
    if proxy.address.is_empty() {
        bail!("address is required");
    }
    let mut data = BTreeMap::from([("address".to_owned(), proxy.address.clone())]);
    if !proxy.username.is_empty() {
        data.insert("username".into(), proxy.username.clone());
    }
    if !proxy.password.is_empty() {
        data.insert("password".into(), proxy.password.clone());
    }
    let secret = make_secret(&name, args.namespace(), labels, Some("Opaque"), data);
    export_or_store(args, secret, "proxy", true)
}

/// Flux's `MakeGitHubAppSecret`: an Opaque Secret with the App's ID and private key and
/// exactly one of the installation's owner and ID (no labels, as Flux sets none).
fn create_github_app(args: &CreateArgs, app: &CreateSecretGithubAppArgs) -> anyhow::Result<()> {
    let name = object_name(&app.name)?;
    let key = read_file(&app.app_private_key, "unable to read private key file")?;
    if app.app_id.is_empty() {
        bail!("githubAppID is required");
    }
    if key.is_empty() {
        bail!("githubAppPrivateKey is required");
    }
    let mut data = BTreeMap::from([
        ("githubAppID".to_owned(), app.app_id.clone()),
        ("githubAppPrivateKey".to_owned(), key),
    ]);
    for (field, value) in [
        ("githubAppInstallationOwner", &app.app_installation_owner),
        ("githubAppInstallationID", &app.app_installation_id),
        ("githubAppBaseURL", &app.app_base_url),
    ] {
        if !value.is_empty() {
            data.insert(field.to_owned(), value.clone());
        }
    }
    if data.contains_key("githubAppInstallationOwner")
        == data.contains_key("githubAppInstallationID")
    {
        bail!(
            "exactly one of githubAppInstallationOwner or githubAppInstallationID must be provided"
        );
    }
    let secret = make_secret(&name, args.namespace(), None, Some("Opaque"), data);
    export_or_store(args, secret, "githubapp", true)
}

/// `create secret sops`: the Secret a Kustomization's `spec.decryption.secretRef` names, each
/// key file checked to parse and stored under `<adler32 of the key>.agekey` or `.asc`, the
/// names fluxcd/pkg's `MakeSOPSSecret` gives them.
fn create_sops(args: &CreateArgs, sops: &CreateSecretSopsArgs) -> anyhow::Result<()> {
    let name = object_name(&sops.name)?;
    let labels = flags::parse_labels(&args.labels)?;
    if sops.age_key_file.is_empty() && sops.pgp_key_file.is_empty() {
        bail!("at least one key is required: --age-key-file or --pgp-key-file");
    }
    let mut data = BTreeMap::new();
    for path in &sops.age_key_file {
        let key = read_key(path)?;
        tether_sops::Keys::new()
            .import_age(&key)
            .with_context(|| format!("{} is not an age key file", path.display()))?;
        data.insert(format!("{}.agekey", adler32(&key)), key);
    }
    for path in &sops.pgp_key_file {
        let key = read_key(path)?;
        tether_sops::Keys::new()
            .import_pgp(key.as_bytes())
            .with_context(|| format!("{} is not an armored OpenPGP private key", path.display()))?;
        data.insert(format!("{}.asc", adler32(&key)), key);
    }
    let secret = make_secret(&name, args.namespace(), labels, Some("Opaque"), data);
    export_or_store(args, secret, "sops", true)
}

fn read_key(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn adler32(text: &str) -> u32 {
    adler2::adler32_slice(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_basic_auth_secret_is_fluxs() {
        let secret = helm_secret(HelmSecretOptions {
            name: "helm-auth",
            namespace: "flux-system",
            labels: None,
            username: "user",
            password: "pass",
            ca_crt: None,
            tls_crt: None,
            tls_key: None,
        })
        .expect("a secret");
        let expected = "---
apiVersion: v1
kind: Secret
metadata:
  name: helm-auth
  namespace: flux-system
stringData:
  password: pass
  username: user
type: kubernetes.io/basic-auth

";
        assert_eq!(export(&secret, true).expect("encodes"), expected);
    }

    #[test]
    fn tls_secret_needs_both_halves_or_a_ca() {
        let error = |r: anyhow::Result<Secret>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            error(tls_secret("t", "ns", Some("c".into()), None, None)),
            "found certificate but missing private key"
        );
        assert_eq!(
            error(tls_secret("t", "ns", None, None, None)),
            "no CA certificate or client certificate pair found"
        );
        assert_eq!(
            error(tls_secret(
                "t",
                "ns",
                Some("c".into()),
                Some("k".into()),
                None
            )),
            "invalid TLS certificate and key pair: tls: failed to find any PEM data in certificate input"
        );
    }
}
