//! `tether build kustomization NAME --path DIR`: the objects the Kustomization would apply if
//! its source held `DIR`, as `flux build kustomization` prints them — built by the controller's
//! own code (overrides, post-build substitution from the cluster, owner labels), each object a
//! YAML document with sorted keys followed by `---`.

use super::cluster::{self, get_named};
use crate::cli::{BuildCommand, BuildKustomizationArgs};
use anyhow::{Context, bail};
use kube::api::Api;
use tether_api::kustomize::v1::Kustomization;

pub fn run(command: BuildCommand) -> anyhow::Result<()> {
    match command {
        BuildCommand::Kustomization(args) => cluster::block_on(build(args)),
        BuildCommand::Artifact(args) => super::artifact::build_artifact(args),
    }
}

async fn build(args: BuildKustomizationArgs) -> anyhow::Result<()> {
    let dir = std::path::absolute(&args.path)
        .with_context(|| format!("invalid resource path {:?}", args.path.display()))?;
    if !dir.is_dir() {
        bail!("invalid resource path {:?}", dir.display().to_string());
    }
    let client = cluster::client(&args.cluster).await?;
    let namespace = args.cluster.namespace.as_str();
    let api = Api::<Kustomization>::namespaced(client.clone(), namespace);
    let ks = get_named(&api, namespace, &args.name)
        .await
        .context("failed to get kustomization object")?;
    let objects =
        tether_controller::build_kustomization_locally(&client, &ks, &dir, args.strict_substitute)
            .await
            .map_err(anyhow::Error::msg)?;
    // Each document followed by `---`, as Flux's ObjectsToYAML writes them.
    for object in &objects {
        println!("{}---", tether_core::yaml::to_string(object));
    }
    Ok(())
}
