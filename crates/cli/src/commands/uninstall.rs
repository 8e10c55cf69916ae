//! `tether uninstall`, in Flux's order (flux2 `cmd/flux/uninstall.go`, `pkg/uninstall`): the
//! controller and its namespaced objects first, so nothing reconciles (or prunes) while the
//! rest goes; then the finalizers of every toolkit object in every namespace, so deleting the
//! CRDs deletes the objects without their finalizers running (the workloads they applied stay);
//! then the toolkit CRDs; then the namespace, unless `--keep-namespace`.
//!
//! Only objects labelled as the installation (`app.kubernetes.io/instance=<namespace>`, or
//! `app.kubernetes.io/part-of=flux` for cluster-scoped ones) are deleted; a namespace that
//! still holds workloads not labelled so is kept, with a note, rather than deleted with them.

use crate::cli::UninstallArgs;
use crate::commands::cluster;
use crate::commands::output::{action, success};
use anyhow::{Context, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams};
use kube::api::{Patch, PatchParams};
use serde_json::json;

const PART_OF: &str = "app.kubernetes.io/part-of=flux";

pub fn run(args: UninstallArgs) -> anyhow::Result<()> {
    if !args.dry_run && !args.silent {
        eprint!(
            "? Are you sure you want to delete Flux and its custom resource definitions [y/N] "
        );
        let mut answer = String::new();
        let read = std::io::stdin().read_line(&mut answer).unwrap_or(0);
        if read == 0 || !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("aborting");
        }
    }
    cluster::block_on(async move {
        let client = cluster::client(&args.cluster).await?;
        let ns = args.cluster.namespace.as_str();
        action(&format!("deleting components in {ns} namespace"));
        components(&client, ns, args.dry_run).await?;
        action("deleting toolkit.fluxcd.io finalizers in all namespaces");
        let crds = toolkit_crds(&client).await?;
        finalizers(&client, &crds, args.dry_run).await?;
        action("deleting toolkit.fluxcd.io custom resource definitions");
        for crd in &crds {
            let name = crd.metadata.name.clone().unwrap_or_default();
            delete(
                &Api::<CustomResourceDefinition>::all(client.clone()),
                &format!("CustomResourceDefinition/{name}"),
                &name,
                args.dry_run,
            )
            .await?;
        }
        if !args.keep_namespace {
            namespace(&client, ns, args.dry_run).await?;
        }
        success("uninstall finished");
        Ok(())
    })
}

fn suffix(dry_run: bool) -> &'static str {
    if dry_run { " (dry run)" } else { "" }
}

fn dynamic(
    client: &kube::Client,
    ns: Option<&str>,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

async fn delete<K>(api: &Api<K>, label: &str, name: &str, dry_run: bool) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = DeleteParams {
        dry_run,
        ..DeleteParams::background()
    };
    match api.delete(name, &params).await {
        Ok(_) => success(&format!("{label} deleted{}", suffix(dry_run))),
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => return Err(error).with_context(|| format!("cannot delete {label}")),
    }
    Ok(())
}

/// The installation's own objects, selected by the instance label the install manifests carry.
async fn components(client: &kube::Client, ns: &str, dry_run: bool) -> anyhow::Result<()> {
    let selector = ListParams::default().labels(&format!("app.kubernetes.io/instance={ns}"));
    let namespaced = [
        ("apps", "v1", "Deployment"),
        ("", "v1", "Service"),
        ("networking.k8s.io", "v1", "NetworkPolicy"),
        ("", "v1", "ServiceAccount"),
        ("rbac.authorization.k8s.io", "v1", "RoleBinding"),
        ("rbac.authorization.k8s.io", "v1", "Role"),
    ];
    for (group, version, kind) in namespaced {
        let api = dynamic(client, Some(ns), group, version, kind);
        delete_listed(&api, kind, Some(ns), &selector, dry_run).await?;
    }
    let cluster_scoped = [
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
        (
            "admissionregistration.k8s.io",
            "v1",
            "MutatingAdmissionPolicyBinding",
        ),
        (
            "admissionregistration.k8s.io",
            "v1",
            "MutatingAdmissionPolicy",
        ),
    ];
    for (group, version, kind) in cluster_scoped {
        let api = dynamic(client, None, group, version, kind);
        delete_listed(&api, kind, None, &selector, dry_run).await?;
    }
    Ok(())
}

async fn delete_listed(
    api: &Api<DynamicObject>,
    kind: &str,
    ns: Option<&str>,
    selector: &ListParams,
    dry_run: bool,
) -> anyhow::Result<()> {
    let list = match api.list(selector).await {
        Ok(list) => list,
        // A kind the cluster does not serve (an older API server): nothing to delete.
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(error) => return Err(error).with_context(|| format!("cannot list {kind}s")),
    };
    for object in list.items {
        let name = object.metadata.name.clone().unwrap_or_default();
        let label = match ns {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        };
        delete(api, &label, &name, dry_run).await?;
    }
    Ok(())
}

/// The CRDs of the toolkit groups that the installation labelled as part of Flux.
async fn toolkit_crds(client: &kube::Client) -> anyhow::Result<Vec<CustomResourceDefinition>> {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let list = api
        .list(&ListParams::default().labels(PART_OF))
        .await
        .context("cannot list CustomResourceDefinitions")?;
    Ok(list
        .items
        .into_iter()
        .filter(|crd| {
            crd.spec.group.ends_with("toolkit.fluxcd.io") || crd.spec.group == "helm.fluxcd.io"
        })
        .collect())
}

/// Clears `metadata.finalizers` of every object of every toolkit kind, in every namespace.
async fn finalizers(
    client: &kube::Client,
    crds: &[CustomResourceDefinition],
    dry_run: bool,
) -> anyhow::Result<()> {
    for crd in crds {
        let Some(version) = crd.spec.versions.iter().find(|v| v.storage) else {
            continue;
        };
        let kind = crd.spec.names.kind.as_str();
        let api = dynamic(client, None, &crd.spec.group, &version.name, kind);
        let list = api
            .list(&ListParams::default())
            .await
            .with_context(|| format!("cannot list {kind}s"))?;
        for object in list.items {
            if object
                .metadata
                .finalizers
                .as_ref()
                .is_none_or(Vec::is_empty)
            {
                continue;
            }
            let name = object.metadata.name.clone().unwrap_or_default();
            let ns = object.metadata.namespace.clone().unwrap_or_default();
            let label = format!("{kind}/{ns}/{name}");
            let namespaced = dynamic(client, Some(&ns), &crd.spec.group, &version.name, kind);
            let params = PatchParams {
                dry_run,
                ..PatchParams::default()
            };
            let patch = json!({"metadata": {"finalizers": null}});
            namespaced
                .patch(&name, &params, &Patch::Merge(&patch))
                .await
                .with_context(|| format!("cannot remove the finalizers of {label}"))?;
            success(&format!("{label} finalizers deleted{}", suffix(dry_run)));
        }
    }
    Ok(())
}

/// Deletes the namespace, unless it still holds workloads the installation did not create.
async fn namespace(client: &kube::Client, ns: &str, dry_run: bool) -> anyhow::Result<()> {
    let mut foreign = Vec::new();
    for (group, version, kind) in [
        ("apps", "v1", "Deployment"),
        ("apps", "v1", "StatefulSet"),
        ("apps", "v1", "DaemonSet"),
        ("batch", "v1", "CronJob"),
    ] {
        let api = dynamic(client, Some(ns), group, version, kind);
        let list = api
            .list(&ListParams::default())
            .await
            .with_context(|| format!("cannot list {kind}s in {ns}"))?;
        for object in list.items {
            let ours = object
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("app.kubernetes.io/part-of"))
                .is_some_and(|v| v == "flux");
            let gone = object.metadata.deletion_timestamp.is_some();
            if !ours && !gone {
                foreign.push(format!(
                    "{kind}/{ns}/{}",
                    object.metadata.name.unwrap_or_default()
                ));
            }
        }
    }
    if !foreign.is_empty() {
        action(&format!(
            "keeping Namespace/{ns}: it holds workloads not installed by Flux ({})",
            foreign.join(", ")
        ));
        return Ok(());
    }
    let api = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone());
    delete(&api, &format!("Namespace/{ns}"), ns, dry_run).await
}
