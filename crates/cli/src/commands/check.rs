//! `tether check [--pre]`: what `flux check` checks and prints — the Kubernetes version against
//! Flux 2.9's constraint, then the installation: the distribution and bootstrap labels of the
//! GitRepository CRD, every Deployment labelled part-of `flux` in the namespace ready (kstatus)
//! with its images, and every CRD labelled part-of `flux` with its stored version.

use super::cluster;
use super::output::{action, failure, success};
use crate::cli::CheckArgs;
use anyhow::bail;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use std::time::Instant;
use tether_core::health::{Status, compute_or_unknown};
use tether_core::time::Timestamp;

/// The Kubernetes versions Flux 2.9 supports, as `flux check` prints the constraint.
const KUBERNETES_CONSTRAINT: &str = ">=1.33.0-0";
const MINIMUM_MINOR: u64 = 33;
const PART_OF: &str = "app.kubernetes.io/part-of=flux";

pub fn run(args: CheckArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        action("checking prerequisites");
        let client = cluster::client(&args.cluster).await?;
        let mut passed = kubernetes_check(&client).await;
        if args.pre {
            if !passed {
                std::process::exit(1);
            }
            success("prerequisites checks passed");
            return Ok(());
        }
        action("checking version in cluster");
        passed &= cluster_version_check(&client).await;
        action("checking controllers");
        passed &= controllers_check(&client, &args).await;
        action("checking crds");
        passed &= crds_check(&client).await;
        if !passed {
            bail!("check failed");
        }
        success("all checks passed");
        Ok(())
    })
}

async fn kubernetes_check(client: &kube::Client) -> bool {
    let info = match client.apiserver_version().await {
        Ok(info) => info,
        Err(error) => {
            failure(&format!("Kubernetes API call failed: {error}"));
            return false;
        }
    };
    let version = info.git_version.trim_start_matches('v');
    let release = version.split(['-', '+']).next().unwrap_or_default();
    let numbers: Vec<Option<u64>> = release.split('.').map(|n| n.parse().ok()).collect();
    let (major, minor) = match numbers.as_slice() {
        [Some(major), Some(minor), Some(_)] => (*major, *minor),
        _ => {
            failure("Kubernetes version can't be determined");
            return false;
        }
    };
    if major > 1 || (major == 1 && minor >= MINIMUM_MINOR) {
        success(&format!("Kubernetes {version} {KUBERNETES_CONSTRAINT}"));
        true
    } else {
        let original = &info.git_version;
        failure(&format!(
            "Kubernetes version {original} does not match {KUBERNETES_CONSTRAINT}"
        ));
        false
    }
}

/// The distribution (`<part-of>-<version>`) and whether a bootstrap applied the CRDs, read
/// from the GitRepository CRD's labels.
async fn cluster_version_check(client: &kube::Client) -> bool {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = match crds
        .get_metadata("gitrepositories.source.toolkit.fluxcd.io")
        .await
    {
        Ok(crd) => crd,
        Err(error) => {
            failure(&format!("checking failed: {error}"));
            return false;
        }
    };
    let labels = crd.metadata.labels.unwrap_or_default();
    let label = |key: &str| labels.get(key).cloned().unwrap_or_default();
    let version = label("app.kubernetes.io/version");
    let distribution = match label("app.kubernetes.io/part-of") {
        part_of if part_of.is_empty() => version,
        part_of => format!("{part_of}-{version}"),
    };
    if !distribution.is_empty() {
        success(&format!("distribution: {distribution}"));
    }
    let bootstrapped = labels.contains_key("kustomize.toolkit.fluxcd.io/namespace");
    success(&format!("bootstrapped: {bootstrapped}"));
    true
}

/// Every controller Deployment ready within the timeout, each followed by its images.
async fn controllers_check(client: &kube::Client, args: &CheckArgs) -> bool {
    let namespace = args.cluster.namespace.as_str();
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let Ok(listed) = api.list(&ListParams::default().labels(PART_OF)).await else {
        return true;
    };
    if listed.items.is_empty() {
        failure(&format!(
            "no controllers found in the '{namespace}' namespace with the label selector '{PART_OF}'"
        ));
        return false;
    }
    let deadline = Instant::now() + args.cluster.timeout;
    let mut passed = true;
    for deployment in &listed.items {
        let name = deployment.metadata.name.clone().unwrap_or_default();
        match wait_current(&api, &name, deadline, args.poll_interval).await {
            Status::Current => success(&format!("{name}: deployment ready")),
            Status::NotFound => {
                failure(&format!("{name}: deployment not found"));
                passed = false;
            }
            _ => {
                failure(&format!("{name}: deployment not ready"));
                passed = false;
            }
        }
        let pod = deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref());
        for container in pod.map(|p| p.containers.as_slice()).unwrap_or_default() {
            action(container.image.as_deref().unwrap_or_default());
        }
    }
    passed
}

/// The Deployment's kstatus, polled until Current or the deadline.
async fn wait_current(
    api: &Api<Deployment>,
    name: &str,
    deadline: Instant,
    poll: std::time::Duration,
) -> Status {
    loop {
        let status = match api.get_opt(name).await {
            Ok(Some(deployment)) => match serde_json::to_value(&deployment) {
                Ok(mut object) => {
                    object["apiVersion"] = "apps/v1".into();
                    object["kind"] = "Deployment".into();
                    compute_or_unknown(&object, Timestamp::now()).status
                }
                Err(_) => Status::Unknown,
            },
            Ok(None) => Status::NotFound,
            Err(_) => Status::Unknown,
        };
        if status == Status::Current || Instant::now() + poll > deadline {
            return status;
        }
        tokio::time::sleep(poll).await;
    }
}

/// Every CRD labelled part-of `flux`, with its last stored version.
async fn crds_check(client: &kube::Client) -> bool {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let Ok(listed) = api.list(&ListParams::default().labels(PART_OF)).await else {
        return true;
    };
    if listed.items.is_empty() {
        failure(&format!(
            "no crds found with the label selector '{PART_OF}'"
        ));
        return false;
    }
    let mut passed = true;
    for crd in &listed.items {
        let name = crd.metadata.name.as_deref().unwrap_or_default();
        let stored = crd.status.as_ref().and_then(|s| s.stored_versions.as_ref());
        match stored.and_then(|versions| versions.last()) {
            Some(version) => success(&format!("{name}/{version}")),
            None => {
                failure(&format!("no stored versions for {name}"));
                passed = false;
            }
        }
    }
    passed
}
