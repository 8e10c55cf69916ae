//! The cluster connection of the Flux verbs (get, reconcile, suspend, resume, tree): the
//! kubeconfig and context to use, a small runtime to run them on, and reads that name the object
//! they could not find.

use crate::cli::ClusterArgs;
use anyhow::Context;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::fmt::Debug;
use std::future::Future;

/// Runs one command's future on a single-threaded runtime.
pub fn block_on(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(command)
}

/// A client for `--kubeconfig` / `--context`, else `$KUBECONFIG`, `~/.kube/config` or the
/// in-cluster configuration.
pub async fn client(args: &ClusterArgs) -> anyhow::Result<kube::Client> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match (&args.kubeconfig, &args.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| format!("cannot use kubeconfig {}", path.display()))?
        }
        (None, Some(context)) => kube::Config::from_kubeconfig(&options)
            .await
            .with_context(|| format!("cannot use kubeconfig context {context}"))?,
        (None, None) => kube::Config::infer()
            .await
            .context("cannot load a kubeconfig or the in-cluster configuration")?,
    };
    kube::Client::try_from(config).context("cannot create a Kubernetes client")
}

/// `Kind 'namespace/name'`, how errors name an object.
pub fn object_label<K: kube::Resource<DynamicType = ()>>(namespace: &str, name: &str) -> String {
    format!("{} '{namespace}/{name}'", K::kind(&()))
}

/// The object `name`, or an error naming it when it does not exist.
pub async fn get_named<K>(api: &Api<K>, namespace: &str, name: &str) -> anyhow::Result<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let label = || object_label::<K>(namespace, name);
    api.get_opt(name)
        .await
        .with_context(|| format!("cannot read {}", label()))?
        .with_context(|| format!("{} not found", label()))
}

/// Applies a JSON merge patch to the object `name`, naming it in errors.
pub async fn merge_patch<K>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    patch: &serde_json::Value,
) -> anyhow::Result<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .with_context(|| format!("cannot patch {}", object_label::<K>(namespace, name)))
}
