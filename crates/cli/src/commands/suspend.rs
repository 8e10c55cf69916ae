//! `tether suspend` and `tether resume` (`kustomization NAME`, `helmrelease NAME`,
//! `source git|oci|helm|chart NAME`, `image repository|policy|update NAME`): set or clear
//! `tether suspend` and `tether resume` (`kustomization NAME`, `source git NAME`,
//! `image repository|policy|update NAME`, `alert|alert-provider|receiver NAME`): set or clear
//! `spec.suspend`; resume also requests a reconcile in the same write and waits for its result,
//! printing Flux's lines.

use super::cluster::{self, get_named};
use super::output::{action, success, waiting};
use super::reconcile::{not_ready_message, request_reconcile, wait_handled};
use super::toolkit::FluxObject;
use crate::cli::{ImageTarget, SourceTarget, SuspendArgs, SuspendKind};
use anyhow::bail;
use kube::api::Api;
use serde_json::json;
use std::time::Instant;
use tether_api::helm::v2::HelmRelease;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_api::kustomize::v1::Kustomization;
use tether_api::notification::v1::Receiver;
use tether_api::notification::v1beta3::{Alert, Provider};
use tether_api::source::v1::{Bucket, GitRepository, HelmChart, HelmRepository, OCIRepository};

pub fn run_suspend(args: SuspendArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let namespace = args.cluster.namespace.as_str();
        match &args.kind {
            SuspendKind::Source(SourceTarget::Git { name }) => {
                suspend::<GitRepository>(client, namespace, name).await
            }
            SuspendKind::Source(SourceTarget::Oci { name }) => {
                suspend::<OCIRepository>(client, namespace, name).await
            }
            SuspendKind::Source(SourceTarget::Bucket { name }) => {
                suspend::<Bucket>(client, namespace, name).await
            }
            SuspendKind::Source(SourceTarget::Helm { name }) => {
                suspend::<HelmRepository>(client, namespace, name).await
            }
            SuspendKind::Source(SourceTarget::Chart { name }) => {
                suspend::<HelmChart>(client, namespace, name).await
            }
            SuspendKind::Kustomization { name } => {
                suspend::<Kustomization>(client, namespace, name).await
            }
            SuspendKind::Helmrelease { name } => {
                suspend::<HelmRelease>(client, namespace, name).await
            }
            SuspendKind::Image(ImageTarget::Repository { name }) => {
                suspend::<ImageRepository>(client, namespace, name).await
            }
            SuspendKind::Image(ImageTarget::Policy { name }) => {
                suspend::<ImagePolicy>(client, namespace, name).await
            }
            SuspendKind::Image(ImageTarget::Update { name }) => {
                suspend::<ImageUpdateAutomation>(client, namespace, name).await
            }
            SuspendKind::Alert { name } => suspend::<Alert>(client, namespace, name).await,
            SuspendKind::AlertProvider { name } => {
                suspend::<Provider>(client, namespace, name).await
            }
            SuspendKind::Receiver { name } => suspend::<Receiver>(client, namespace, name).await,
        }
    })
}

pub fn run_resume(args: SuspendArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let deadline = Instant::now() + args.cluster.timeout;
        let namespace = args.cluster.namespace.as_str();
        match &args.kind {
            SuspendKind::Source(SourceTarget::Git { name }) => {
                resume::<GitRepository>(client, namespace, name, deadline).await
            }
            SuspendKind::Source(SourceTarget::Oci { name }) => {
                resume::<OCIRepository>(client, namespace, name, deadline).await
            }
            SuspendKind::Source(SourceTarget::Bucket { name }) => {
                resume::<Bucket>(client, namespace, name, deadline).await
            }
            SuspendKind::Source(SourceTarget::Helm { name }) => {
                resume::<HelmRepository>(client, namespace, name, deadline).await
            }
            SuspendKind::Source(SourceTarget::Chart { name }) => {
                resume::<HelmChart>(client, namespace, name, deadline).await
            }
            SuspendKind::Kustomization { name } => {
                resume::<Kustomization>(client, namespace, name, deadline).await
            }
            SuspendKind::Helmrelease { name } => {
                resume::<HelmRelease>(client, namespace, name, deadline).await
            }
            SuspendKind::Image(ImageTarget::Repository { name }) => {
                resume::<ImageRepository>(client, namespace, name, deadline).await
            }
            SuspendKind::Image(ImageTarget::Policy { name }) => {
                resume::<ImagePolicy>(client, namespace, name, deadline).await
            }
            SuspendKind::Image(ImageTarget::Update { name }) => {
                resume::<ImageUpdateAutomation>(client, namespace, name, deadline).await
            }
            SuspendKind::Alert { name } => resume::<Alert>(client, namespace, name, deadline).await,
            SuspendKind::AlertProvider { name } => {
                resume::<Provider>(client, namespace, name, deadline).await
            }
            SuspendKind::Receiver { name } => {
                resume::<Receiver>(client, namespace, name, deadline).await
            }
        }
    })
}

async fn suspend<K: FluxObject>(
    client: kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<()> {
    let api = Api::<K>::namespaced(client, namespace);
    get_named(&api, namespace, name).await?;
    let human = K::HUMAN_KIND;
    action(&format!(
        "suspending {human} {name} in {namespace} namespace"
    ));
    cluster::merge_patch(&api, namespace, name, &json!({"spec": {"suspend": true}})).await?;
    success(&format!("{human} suspended"));
    Ok(())
}

async fn resume<K: FluxObject>(
    client: kube::Client,
    namespace: &str,
    name: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    let api = Api::<K>::namespaced(client, namespace);
    get_named(&api, namespace, name).await?;
    let (human, kind) = (K::HUMAN_KIND, K::kind(&()));
    action(&format!("resuming {human} {name} in {namespace} namespace"));
    let unsuspend = json!({"suspend": null});
    let requested = request_reconcile(&api, namespace, name, Some(unsuspend), &[]).await?;
    success(&format!("{human} resumed"));
    waiting(&format!("waiting for {kind} reconciliation"));
    let object = get_named(&api, namespace, name).await?;
    if object.is_static() {
        // No controller acts on it (an OCI HelmRepository): it is ready as it is.
        success(&format!("{kind} {name} reconciliation completed"));
        success(&object.success_message());
        return Ok(());
    }
    let object = wait_handled(&api, namespace, name, &requested, deadline).await?;
    if let Some(message) = not_ready_message(&object) {
        bail!("{kind} {name} reconciliation failed: {message}");
    }
    success(&format!("{kind} {name} reconciliation completed"));
    success(&object.success_message());
    Ok(())
}
