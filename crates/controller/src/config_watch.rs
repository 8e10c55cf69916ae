//! Reconciles at once on a changed ConfigMap or Secret, as Flux's controllers do since 2.5: one
//! labelled `reconcile.fluxcd.io/watch: Enabled` (Flux's default
//! `--watch-configs-label-selector`) wakes the objects of its namespace that read it (the
//! kubeConfig ConfigMap or Secret, SOPS keys, post-build substitutions, Helm values, webhook
//! tokens). Their next run is due now even though their own spec did not change (also when the
//! change lands while they are running); an unlabelled ConfigMap or Secret is read again only
//! at the next interval, as in Flux.

use crate::context::Context;
use crate::key::ObjectKey;
use crate::reconcile::api_in;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

/// Flux's default `--watch-configs-label-selector`.
pub const WATCH_CONFIGS_SELECTOR: &str = "reconcile.fluxcd.io/watch=Enabled";

/// The ConfigMaps and Secrets, in its own namespace, an object reads.
pub trait ReadsConfigs {
    /// Names of the ConfigMaps it reads.
    fn config_maps(&self) -> Vec<&str>;
    /// Names of the Secrets it reads.
    fn secrets(&self) -> Vec<&str>;
}

/// Wakes the objects of `controller` that read a labelled ConfigMap or Secret when it changes.
pub fn wake_on_configs<K>(controller: Controller<K>, ctx: &Arc<Context>) -> Controller<K>
where
    K: Watched,
{
    let controller = wake_on::<K, ConfigMap>(controller, ctx, K::config_maps);
    wake_on_secrets(controller, ctx)
}

/// Wakes the objects of `controller` that read a labelled Secret when it changes.
pub fn wake_on_secrets<K>(controller: Controller<K>, ctx: &Arc<Context>) -> Controller<K>
where
    K: Watched,
{
    wake_on::<K, Secret>(controller, ctx, K::secrets)
}

/// What a reconciled kind must be to be woken.
pub trait Watched:
    ReadsConfigs + Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

impl<K> Watched for K where
    K: ReadsConfigs
        + Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

fn wake_on<K, C>(
    controller: Controller<K>,
    ctx: &Arc<Context>,
    names: fn(&K) -> Vec<&str>,
) -> Controller<K>
where
    K: Watched,
    C: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let labelled = watcher::Config::default()
        .labels(WATCH_CONFIGS_SELECTOR)
        .any_semantic();
    let (store, woken) = (controller.store(), ctx.clone());
    let configs = api_in::<C>(&ctx.client, ctx.options.watch_namespace.as_deref());
    controller.watches(configs, labelled, move |config: C| {
        let readers = readers_of(&store, &config, names);
        tracing::debug!(
            config = %config.name_any(),
            kind = %C::kind(&()),
            readers = readers.len(),
            "labelled config changed"
        );
        for reader in &readers {
            let namespace = reader.namespace.as_deref().unwrap_or_default();
            woken
                .schedule
                .wake(&ObjectKey::of_kind::<K>(namespace, &reader.name));
        }
        readers
    })
}

/// The objects of the store, in the namespace of `config`, whose `names` include it.
fn readers_of<K, C>(store: &Store<K>, config: &C, names: fn(&K) -> Vec<&str>) -> Vec<ObjectRef<K>>
where
    K: Watched,
    C: Resource,
{
    let (namespace, name) = (config.namespace(), config.name_any());
    store
        .state()
        .iter()
        .filter(|o| o.namespace() == namespace && names(o).contains(&name.as_str()))
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}
