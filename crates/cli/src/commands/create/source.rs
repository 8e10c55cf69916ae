//! `create source git|helm|oci|bucket`: the source objects, with Flux's checks in Flux's order.
//! Without `--secret-ref`, the credentials given on the command line go into a Secret created
//! first (`<name>` for Git, `helm-<name>`, `bucket-<name>`), as `flux create source` does.

use super::flags::{self, some};
use super::secret::{self, GitSecretOptions, HelmSecretOptions};
use super::{Fields, Steps, apply_and_wait, export_value, object_json, typed};
use crate::cli::{
    CreateArgs, CreateSourceArgs, CreateSourceBucketArgs, CreateSourceChartArgs,
    CreateSourceGitArgs, CreateSourceHelmArgs, CreateSourceKind, CreateSourceOciArgs, VerifyArgs,
};
use crate::commands::cluster;
use crate::commands::output::{action, generate, success};
use anyhow::bail;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tether_api::source::v1::{Bucket, GitRepository, HelmChart, HelmRepository, OCIRepository};

pub fn run(args: &CreateArgs, source: &CreateSourceArgs) -> anyhow::Result<()> {
    let fetch_timeout = flags::duration(
        "fetch-timeout",
        source.fetch_timeout.as_deref(),
        Duration::ZERO,
    )?;
    let timeout =
        (!fetch_timeout.is_zero()).then(|| Value::from(flags::go_duration(fetch_timeout)));
    match &source.kind {
        CreateSourceKind::Git(git) => create_git(args, git, timeout),
        CreateSourceKind::Helm(helm) => create_helm(args, helm, timeout),
        CreateSourceKind::Oci(oci) => create_oci(args, oci, timeout),
        CreateSourceKind::Chart(chart) => create_chart(args, chart),
        CreateSourceKind::Bucket(bucket) => create_bucket(args, bucket, timeout),
    }
}

/// `paths` joined with newlines, as `spec.ignore` holds them; `None` when empty.
fn ignore(paths: &[String]) -> Option<Value> {
    (!paths.is_empty()).then(|| Value::from(paths.join("\n")))
}

/// `fetched revision: <revision>` of a ready source, or Flux's error when it has no artifact.
fn fetched_revision(revision: Option<&str>, missing: &str) -> anyhow::Result<String> {
    match revision {
        Some(revision) => Ok(format!("fetched revision: {revision}")),
        None => bail!("{missing}"),
    }
}

fn create_git(
    args: &CreateArgs,
    git: &CreateSourceGitArgs,
    timeout: Option<Value>,
) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let provider = flags::GIT_PROVIDER.parse(git.provider.as_deref())?;
    let key_algorithm = super::ssh::KeyAlgorithm::from_flags(&git.ssh)?;
    let recurse_submodules =
        flags::go_bool("recurse-submodules", git.recurse_submodules.as_deref())?;
    let silent = flags::go_bool("silent", git.silent.as_deref())?;
    let name = flags::object_name(&git.name)?;
    if git.url.is_empty() {
        bail!("url is required");
    }
    let (scheme, host) = flags::url_scheme_host(&git.url);
    if !["ssh", "http", "https"].contains(&scheme.as_str()) {
        bail!("git URL scheme '{scheme}' not supported, can be: ssh, http and https");
    }
    let refs = [
        &git.branch,
        &git.tag,
        &git.tag_semver,
        &git.commit,
        &git.ref_name,
    ];
    if refs.iter().all(|r| r.is_empty()) {
        bail!(
            "a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver"
        );
    }
    if !git.ca_file.is_empty() && scheme == "ssh" {
        bail!("specifying a CA file is not supported for Git over SSH");
    }
    let metadata = args.metadata(&name)?;
    let reference = if !git.commit.is_empty() {
        Fields::new()
            .text("commit", &git.commit)
            .text("branch", &git.branch)
    } else if !git.ref_name.is_empty() {
        Fields::new().text("name", &git.ref_name)
    } else if !git.tag_semver.is_empty() {
        Fields::new().text("semver", &git.tag_semver)
    } else if !git.tag.is_empty() {
        Fields::new().text("tag", &git.tag)
    } else {
        Fields::new().text("branch", &git.branch)
    };
    let spec = Fields::new()
        .always("url", Value::from(git.url.as_str()))
        .always("interval", Value::from(interval))
        .flag("recurseSubmodules", recurse_submodules)
        .always("ref", reference.build())
        .with("ignore", ignore(&git.ignore_paths))
        .with(
            "sparseCheckout",
            (!git.sparse_checkout_paths.is_empty()).then(|| json!(git.sparse_checkout_paths)),
        )
        .with("timeout", timeout)
        .reference("secretRef", &git.secret_ref)
        .reference("proxySecretRef", &git.proxy_secret_ref)
        .with("provider", provider.map(Value::from));
    let value = object_json::<GitRepository>(&metadata, spec.build())?;
    if args.export {
        print!("{}", export_value(&value));
        return Ok(());
    }
    let mut repository: GitRepository = typed(value)?;
    let ca_crt = if scheme == "https" && !git.ca_file.is_empty() {
        Some(secret::read_file(
            &git.ca_file,
            "unable to read TLS CA file",
        )?)
    } else {
        None
    };
    let keypair = if scheme == "ssh" && git.secret_ref.is_empty() {
        super::ssh::load_key_pair(git.ssh.private_key_file.as_deref(), &git.password)?
    } else {
        None
    };
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let deadline = Instant::now() + args.cluster.timeout;
        generate("generating GitRepository source");
        if git.secret_ref.is_empty() {
            if scheme == "http" {
                eprintln!("⚠️ insecure configuration: credentials configured for an HTTP URL");
            }
            let ssh = (scheme == "ssh").then(|| secret::SshOptions {
                keypair,
                algorithm: key_algorithm,
                hostname: host.clone(),
            });
            let options = GitSecretOptions {
                name: &name,
                namespace: args.namespace(),
                labels: None,
                username: if scheme == "ssh" { "" } else { &git.username },
                password: &git.password,
                bearer_token: "",
                ca_crt,
                ssh,
            };
            let credentials = secret::git_secret(options)?;
            if secret::has_data(&credentials) {
                if let Some(known_hosts) = secret::string_data(&credentials, "known_hosts") {
                    success(&format!(
                        "collected public key from SSH server:\n{known_hosts}"
                    ));
                }
                if let Some(public_key) = secret::string_data(&credentials, "identity.pub") {
                    generate(&format!("deploy key: {public_key}"));
                    if !silent {
                        secret::confirm_deploy_key()?;
                    }
                }
                action("applying secret with repository credentials");
                secret::upsert_secret(client.clone(), &credentials).await?;
                repository.spec.secret_ref =
                    Some(tether_api::meta::LocalObjectReference { name: name.clone() });
                success("authentication configured");
            }
        }
        let steps = Steps {
            generating: None,
            applying: "applying GitRepository source".into(),
            stored: "GitRepository source".into(),
            waiting: "waiting for GitRepository source reconciliation".into(),
        };
        let ready = apply_and_wait(client, args.namespace(), &repository, &steps, deadline).await?;
        success("GitRepository source reconciliation completed");
        let revision = ready.status.as_ref().and_then(|s| s.artifact.as_ref());
        success(&fetched_revision(
            revision.map(|a| a.revision.as_str()),
            "GitRepository source reconciliation completed but no artifact was found",
        )?);
        Ok(())
    })
}

fn create_helm(
    args: &CreateArgs,
    helm: &CreateSourceHelmArgs,
    timeout: Option<Value>,
) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let pass_credentials = flags::go_bool("pass-credentials", helm.pass_credentials.as_deref())?;
    let name = flags::object_name(&helm.name)?;
    if helm.url.is_empty() {
        bail!("url is required");
    }
    let metadata = args.metadata(&name)?;
    let (scheme, host) = flags::url_scheme_host(&helm.url);
    if !["http", "https", "oci"].contains(&scheme.as_str()) {
        bail!("url scheme '{scheme}' not supported, can be: http, https and oci");
    }
    if host.is_empty() {
        bail!("url host is required");
    }
    let oci = scheme == "oci";
    let spec = Fields::new()
        .always("url", Value::from(helm.url.as_str()))
        .always("interval", Value::from(interval))
        .with("type", oci.then(|| Value::from("oci")))
        .text("provider", if oci { &helm.oci_provider } else { "" })
        .with("timeout", timeout)
        .reference("secretRef", &helm.secret_ref)
        .flag(
            "passCredentials",
            !helm.secret_ref.is_empty() && pass_credentials,
        );
    let value = object_json::<HelmRepository>(&metadata, spec.build())?;
    if args.export {
        print!("{}", export_value(&value));
        return Ok(());
    }
    let mut repository: HelmRepository = typed(value)?;
    let ca_crt = some_file(&helm.ca_file, "unable to read TLS CA file")?;
    let (tls_crt, tls_key) = if !helm.cert_file.is_empty() && !helm.key_file.is_empty() {
        (
            some_file(&helm.cert_file, "failed to read cert file")?,
            some_file(&helm.key_file, "failed to read key file")?,
        )
    } else {
        (None, None)
    };
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let deadline = Instant::now() + args.cluster.timeout;
        generate("generating HelmRepository source");
        if helm.secret_ref.is_empty() {
            let secret_name = format!("helm-{name}");
            let credentials = secret::helm_secret(HelmSecretOptions {
                name: &secret_name,
                namespace: args.namespace(),
                labels: None,
                username: &helm.username,
                password: &helm.password,
                ca_crt,
                tls_crt,
                tls_key,
            })?;
            if secret::has_data(&credentials) {
                action("applying secret with repository credentials");
                secret::upsert_secret(client.clone(), &credentials).await?;
                repository.spec.secret_ref =
                    Some(tether_api::meta::LocalObjectReference { name: secret_name });
                repository.spec.pass_credentials = pass_credentials.then_some(true);
                success("authentication configured");
            }
        }
        let steps = Steps {
            generating: None,
            applying: "applying HelmRepository source".into(),
            stored: "source".into(),
            waiting: "waiting for HelmRepository source reconciliation".into(),
        };
        let ready = apply_and_wait(client, args.namespace(), &repository, &steps, deadline).await?;
        success("HelmRepository source reconciliation completed");
        if oci {
            return Ok(());
        }
        let revision = ready.status.as_ref().and_then(|s| s.artifact.as_ref());
        success(&fetched_revision(
            revision.map(|a| a.revision.as_str()),
            "HelmRepository source reconciliation completed but no artifact was found",
        )?);
        Ok(())
    })
}

/// The content of `path`, `None` when no path is given.
fn some_file(path: &str, what: &str) -> anyhow::Result<Option<String>> {
    some(path)
        .map(|path| secret::read_file(&path, what))
        .transpose()
}

/// Flux's `parseLayerSelector`: `<media-type>:<operation>`, operation `extract` or `copy`.
fn layer_selector(selector: &str) -> anyhow::Result<Option<Value>> {
    if selector.is_empty() {
        return Ok(None);
    }
    let quoted = flags::go_quote(selector);
    let Some((media_type, operation)) = selector
        .split_once(':')
        .filter(|(m, o)| !m.is_empty() && !o.is_empty())
    else {
        bail!(
            "invalid --layer-selector {quoted}: must be in the format '<media-type>:<operation>'"
        );
    };
    if operation != "extract" && operation != "copy" {
        bail!("invalid --layer-selector {quoted}: operation must be \"extract\" or \"copy\"");
    }
    Ok(Some(
        json!({ "mediaType": media_type, "operation": operation }),
    ))
}

fn create_oci(
    args: &CreateArgs,
    oci: &CreateSourceOciArgs,
    timeout: Option<Value>,
) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let provider = flags::OCI_PROVIDER.parse(oci.provider.as_deref())?;
    let verify_provider =
        flags::OCI_VERIFY_PROVIDER.parse(oci.verify.verify_provider.as_deref())?;
    let insecure = flags::go_bool("insecure", oci.insecure.as_deref())?;
    let name = flags::object_name(&oci.name)?;
    if oci.url.is_empty() {
        bail!("url is required");
    }
    if oci.tag_semver.is_empty() && oci.tag.is_empty() && oci.digest.is_empty() {
        bail!("--tag, --tag-semver or --digest is required");
    }
    let layer_selector = layer_selector(&oci.layer_selector)?;
    let metadata = args.metadata(&name)?;
    let reference = Fields::new()
        .text("digest", &oci.digest)
        .text("semver", &oci.tag_semver)
        .text("tag", &oci.tag);
    let verify = verification(verify_provider, &oci.verify, true)?;
    let spec = Fields::new()
        .text("provider", provider.as_deref().unwrap_or("generic"))
        .always("url", Value::from(oci.url.as_str()))
        .flag("insecure", insecure)
        .always("interval", Value::from(interval))
        .always("ref", reference.build())
        .with("ignore", ignore(&oci.ignore_paths))
        .with("layerSelector", layer_selector)
        .with("timeout", timeout)
        .text("serviceAccountName", &oci.service_account)
        .reference("secretRef", &oci.secret_ref)
        .reference("proxySecretRef", &oci.proxy_secret_ref)
        .reference("certSecretRef", &oci.cert_ref)
        .with("verify", verify);
    let repository = object_json::<OCIRepository>(&metadata, spec.build())?;
    let steps = Steps {
        generating: None,
        applying: "applying OCIRepository".into(),
        stored: "OCIRepository".into(),
        waiting: "waiting for OCIRepository reconciliation".into(),
    };
    super::export_or_apply(args, repository, steps, |ready: &OCIRepository| {
        let revision = ready.status.as_ref().and_then(|s| s.artifact.as_ref());
        Ok(vec![
            "OCIRepository reconciliation completed".to_owned(),
            fetched_revision(
                revision.map(|a| a.revision.as_str()),
                "no artifact was found",
            )?,
        ])
    })
}

fn create_bucket(
    args: &CreateArgs,
    bucket: &CreateSourceBucketArgs,
    timeout: Option<Value>,
) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let provider = flags::BUCKET_PROVIDER.parse(bucket.provider.as_deref())?;
    let insecure = flags::go_bool("insecure", bucket.insecure.as_deref())?;
    let name = flags::object_name(&bucket.name)?;
    if bucket.bucket_name.is_empty() {
        bail!("bucket-name is required");
    }
    if bucket.endpoint.is_empty() {
        bail!("endpoint is required");
    }
    let metadata = args.metadata(&name)?;
    let spec = Fields::new()
        .always("bucketName", Value::from(bucket.bucket_name.as_str()))
        .text("provider", provider.as_deref().unwrap_or("generic"))
        .flag("insecure", insecure)
        .always("endpoint", Value::from(bucket.endpoint.as_str()))
        .text("region", &bucket.region)
        .always("interval", Value::from(interval))
        .with("ignore", ignore(&bucket.ignore_paths))
        .with("timeout", timeout)
        .reference("secretRef", &bucket.secret_ref)
        .reference("proxySecretRef", &bucket.proxy_secret_ref);
    let value = object_json::<Bucket>(&metadata, spec.build())?;
    if args.export {
        print!("{}", export_value(&value));
        return Ok(());
    }
    let mut source: Bucket = typed(value)?;
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let deadline = Instant::now() + args.cluster.timeout;
        generate("generating Bucket source");
        if bucket.secret_ref.is_empty()
            && !bucket.access_key.is_empty()
            && !bucket.secret_key.is_empty()
        {
            let secret_name = format!("bucket-{name}");
            let credentials = secret::bucket_secret(
                &secret_name,
                args.namespace(),
                &metadata.labels,
                &bucket.access_key,
                &bucket.secret_key,
            );
            action("applying secret with the bucket credentials");
            secret::upsert_secret(client.clone(), &credentials).await?;
            source.spec.secret_ref =
                Some(tether_api::meta::LocalObjectReference { name: secret_name });
            success("authentication configured");
        }
        let steps = Steps {
            generating: None,
            applying: "applying Bucket source".into(),
            stored: "Bucket source".into(),
            waiting: "waiting for Bucket source reconciliation".into(),
        };
        let ready = apply_and_wait(client, args.namespace(), &source, &steps, deadline).await?;
        success("Bucket source reconciliation completed");
        let revision = ready.status.as_ref().and_then(|s| s.artifact.as_ref());
        success(&fetched_revision(
            revision.map(|a| a.revision.as_str()),
            "Bucket source reconciliation but no artifact was found",
        )?);
        Ok(())
    })
}

/// `spec.verify` from the verification flags, with Flux's checks. `check_subject`: whether a
/// subject without a provider is refused (`create source chart` lets it pass, as Flux does).
fn verification(
    provider: Option<String>,
    verify: &VerifyArgs,
    check_subject: bool,
) -> anyhow::Result<Option<Value>> {
    let oidc = !verify.verify_issuer.is_empty() || !verify.verify_subject.is_empty();
    match provider {
        Some(provider) => {
            let identity = oidc.then(
                || json!([{ "issuer": verify.verify_issuer, "subject": verify.verify_subject }]),
            );
            Ok(Some(
                Fields::new()
                    .always("provider", Value::from(provider))
                    .reference("secretRef", &verify.verify_secret_ref)
                    .with("matchOIDCIdentity", identity)
                    .build(),
            ))
        }
        None if !verify.verify_secret_ref.is_empty() => {
            bail!("a verification provider must be specified when a secret is specified")
        }
        None if !verify.verify_issuer.is_empty()
            || (check_subject && !verify.verify_subject.is_empty()) =>
        {
            bail!("a verification provider must be specified when OIDC issuer/subject is specified")
        }
        None => Ok(None),
    }
}

fn create_chart(args: &CreateArgs, chart: &CreateSourceChartArgs) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let source = flags::local_helm_chart_source(chart.source.as_deref())?;
    let verify_provider =
        flags::OCI_VERIFY_PROVIDER.parse(chart.verify.verify_provider.as_deref())?;
    let name = flags::object_name(&chart.name)?;
    let Some(source) = source else {
        bail!("chart source is required");
    };
    if chart.chart.is_empty() {
        bail!("chart name or path is required");
    }
    let metadata = args.metadata(&name)?;
    let verify = verification(verify_provider, &chart.verify, false)?;
    let spec = Fields::new()
        .always("chart", Value::from(chart.chart.as_str()))
        .text("version", &chart.chart_version)
        .always(
            "sourceRef",
            json!({ "kind": source.kind, "name": source.name }),
        )
        .always("interval", Value::from(interval))
        .text("reconcileStrategy", &chart.reconcile_strategy)
        .with("verify", verify);
    let helm_chart = object_json::<HelmChart>(&metadata, spec.build())?;
    let steps = Steps {
        generating: Some("generating HelmChart source".into()),
        applying: "applying HelmChart source".into(),
        stored: "HelmChart source".into(),
        waiting: "waiting for HelmChart source reconciliation".into(),
    };
    super::export_or_apply(args, helm_chart, steps, |ready: &HelmChart| {
        let revision = ready.status.as_ref().and_then(|s| s.artifact.as_ref());
        Ok(vec![
            "HelmChart source reconciliation completed".to_owned(),
            fetched_revision(
                revision.map(|a| a.revision.as_str()),
                "HelmChart source reconciliation completed but no artifact was found",
            )?,
        ])
    })
}
