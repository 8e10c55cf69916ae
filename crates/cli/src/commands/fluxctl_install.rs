//! `tether fluxctl install`: what `fluxctl install` printed, for a Deployment that runs
//! `tether fluxd` instead of fluxd: the ServiceAccount and its cluster-wide role (fluxd applies
//! whatever the repository holds, so it was given every verb on every resource, and so is
//! this), the Deployment with fluxd's arguments, and the empty deploy-key Secret fluxd fills
//! with a generated key. No memcached: tether's image cache is built in.

use super::install::render_yaml;
use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FluxctlInstallArgs {
    /// URL of the Git repository fluxd syncs.
    #[arg(long)]
    pub git_url: Option<String>,
    /// Branch fluxd syncs.
    #[arg(long, default_value = "master")]
    pub git_branch: String,
    /// Directories of the repository holding the manifests (repeatable, or comma-separated).
    #[arg(long, alias = "git-paths", value_delimiter = ',')]
    pub git_path: Vec<String>,
    /// Tag that marks the last synced commit.
    #[arg(long, default_value = "flux")]
    pub git_label: String,
    /// Name of the committer.
    #[arg(long, default_value = "Flux")]
    pub git_user: String,
    /// Email of the committer.
    #[arg(long)]
    pub git_email: Option<String>,
    /// fluxd only reads the repository: no automation, no commits.
    #[arg(long)]
    pub git_readonly: bool,
    /// Generate manifests with `.flux.yaml`.
    #[arg(long)]
    pub manifest_generation: bool,
    /// Namespace fluxd is installed in (default: the kubeconfig context's, else `default`).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Do not scan registries (no image automation).
    #[arg(long)]
    pub registry_disable_scanning: bool,
    /// Write each manifest to a file in this directory instead of standard output.
    #[arg(long, short = 'o')]
    pub output_dir: Option<PathBuf>,
    /// Add a restrictive security context to the pod.
    #[arg(long, default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub add_security_context: bool,
    /// Container image running `tether fluxd`.
    #[arg(long, default_value = "tether:latest")]
    pub image: String,
}

pub fn run(args: FluxctlInstallArgs) -> anyhow::Result<()> {
    let Some(git_url) = args.git_url.as_deref().filter(|u| !u.is_empty()) else {
        bail!("please supply a valid --git-url argument");
    };
    if args.git_email.as_deref().is_none_or(str::is_empty) {
        bail!("please supply a valid --git-email argument");
    }
    let namespace = match &args.namespace {
        Some(namespace) => namespace.clone(),
        None => context_namespace().unwrap_or_else(|| "default".to_owned()),
    };
    let files = manifests(&args, git_url, &namespace)?;
    match &args.output_dir {
        None => {
            for text in files.values() {
                print!("{text}");
            }
        }
        Some(dir) => {
            if !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
                bail!("{} is not a directory", dir.display());
            }
            for (name, text) in &files {
                let path = dir.join(name);
                eprintln!("writing {}", path.display());
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot output manifest file {name}"))?;
            }
        }
    }
    Ok(())
}

/// The namespace of the kubeconfig's current context, as fluxctl defaulted to it.
fn context_namespace() -> Option<String> {
    let config = kube::config::Kubeconfig::read().ok()?;
    let current = config.current_context.as_deref()?;
    let context = config.contexts.iter().find(|c| c.name == current)?;
    context.context.as_ref()?.namespace.clone()
}

/// The manifests by file name, as fluxctl named them.
pub fn manifests(
    args: &FluxctlInstallArgs,
    git_url: &str,
    ns: &str,
) -> anyhow::Result<BTreeMap<&'static str, String>> {
    let labels = json!({"name": "flux"});
    let account = [
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "flux", "namespace": ns, "labels": labels}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "flux", "labels": labels},
               "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                         {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "flux", "labels": labels},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "flux"},
               "subjects": [{"kind": "ServiceAccount", "name": "flux", "namespace": ns}]}),
    ];
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": "flux-git-deploy", "namespace": ns}});
    Ok(BTreeMap::from([
        ("flux-account.yaml", render_yaml(&account)?),
        (
            "flux-deployment.yaml",
            render_yaml(&[deployment(args, git_url, ns)])?,
        ),
        ("flux-secret.yaml", render_yaml(&[secret])?),
    ]))
}

/// The arguments of `tether fluxd`, as fluxctl's template passed them to fluxd.
pub fn fluxd_args(args: &FluxctlInstallArgs, git_url: &str) -> Vec<String> {
    let mut fluxd = vec![
        "fluxd".to_owned(),
        format!("--git-url={git_url}"),
        format!("--git-branch={}", args.git_branch),
    ];
    if !args.git_path.is_empty() {
        fluxd.push(format!("--git-path={}", args.git_path.join(",")));
    }
    fluxd.extend([
        format!("--git-label={}", args.git_label),
        format!("--git-user={}", args.git_user),
        format!(
            "--git-email={}",
            args.git_email.as_deref().unwrap_or_default()
        ),
    ]);
    for (set, flag) in [
        (args.git_readonly, "--git-readonly"),
        (args.manifest_generation, "--manifest-generation"),
        (
            args.registry_disable_scanning,
            "--registry-disable-scanning",
        ),
    ] {
        if set {
            fluxd.push(flag.to_owned());
        }
    }
    fluxd.push("--listen-metrics=:3031".to_owned());
    fluxd
}

fn deployment(args: &FluxctlInstallArgs, git_url: &str, ns: &str) -> Value {
    let probe = json!({"httpGet": {"port": 3030, "path": "/api/flux/v6/identity.pub"},
                       "initialDelaySeconds": 5, "timeoutSeconds": 5});
    let mut container = json!({
        "name": "flux",
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "args": fluxd_args(args, git_url),
        "ports": [{"containerPort": 3030}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
        "livenessProbe": probe,
        "readinessProbe": probe,
        // Clones and the image cache live here.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    });
    let mut pod = json!({
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "serviceAccountName": "flux",
        "containers": [],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    });
    if args.add_security_context {
        container["securityContext"] = json!({"allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}});
        pod["securityContext"] =
            json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    }
    pod["containers"] = json!([container]);
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "flux", "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"name": "flux"}},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": {"name": "flux"},
                             "annotations": {"prometheus.io/port": "3031"}},
                "spec": pod,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> FluxctlInstallArgs {
        let cli = Cli::try_parse_from([&["tether", "fluxctl", "install"][..], args].concat())
            .expect("fluxctl install's flags");
        match cli.command {
            Command::FluxctlGroup(crate::cli::FluxctlGroup::Install(args)) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_deployment_runs_tether_fluxd_with_arguments_it_accepts() {
        let args = parse(&[
            "--git-url=git@example.com:org/fleet",
            "--git-email=me@example.com",
            "--git-path=apps,infra",
            "--git-readonly",
            "--namespace=flux",
        ]);
        let fluxd = fluxd_args(&args, "git@example.com:org/fleet");
        let parsed = Cli::try_parse_from(std::iter::once("tether".to_owned()).chain(fluxd));
        let Ok(Cli {
            command: Command::Fluxd(parsed),
        }) = parsed
        else {
            panic!("tether fluxd refuses the installed arguments: {parsed:?}");
        };
        assert_eq!(parsed.git_url, "git@example.com:org/fleet");
        assert_eq!(parsed.git_path, ["apps", "infra"]);
        assert!(parsed.git_readonly);
        let files = manifests(&args, "git@example.com:org/fleet", "flux").expect("rendered");
        assert_eq!(
            files.keys().copied().collect::<Vec<_>>(),
            [
                "flux-account.yaml",
                "flux-deployment.yaml",
                "flux-secret.yaml"
            ]
        );
        assert!(files["flux-deployment.yaml"].contains("namespace: flux"));
    }
}
