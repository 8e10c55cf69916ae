//! `tether create ...`: build a Flux object (or Secret) from `flux create`'s flags, then print
//! it (`--export`, the YAML `flux create --export` prints, byte for byte) or create/update it
//! in the cluster and wait as `flux create` does, printing Flux's progress lines: `✚
//! generating`, `► applying`, `✔ created`, `◎ waiting for reconciliation`, then `✔` with the
//! revision, or the failure.
//!
//! Each kind lives in its module (`source`, `workload`, `image`, `notification`, `secret`);
//! the flag rules they share are in `flags`, the apply-and-wait flow here.

pub mod flags;
mod image;
mod notation;
mod notification;
pub mod secret;
mod source;
pub mod ssh;
mod tenant;
mod workload;

use super::cluster::{self, get_named, object_label};
use super::output::{action, generate, success, waiting};
use super::reconcile::not_ready_message;
use super::toolkit::FluxObject;
use crate::cli::{CreateArgs, CreateKind};
use anyhow::{Context, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How often the object is read while waiting (Flux's `--poll-interval` default is 2s).
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The interval `flux create` gives objects when `--interval` is not set.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

pub fn run(args: CreateArgs) -> anyhow::Result<()> {
    match &args.kind {
        CreateKind::Alert { .. }
        | CreateKind::AlertProvider { .. }
        | CreateKind::Receiver { .. } => notification::run(&args),
        CreateKind::Source(source) => source::run(&args, source),
        CreateKind::Kustomization(kustomization) => {
            workload::run_kustomization(&args, kustomization)
        }
        CreateKind::Helmrelease(release) => workload::run_helm_release(&args, release),
        CreateKind::Image(image) => image::run(&args, image),
        CreateKind::Secret(secret) => secret::run(&args, secret),
        CreateKind::Tenant(tenant) => tenant::run(&args, tenant),
    }
}

impl CreateArgs {
    /// `--interval`, 1m by default, as `metav1.Duration` prints it.
    fn interval(&self) -> anyhow::Result<String> {
        let interval = flags::duration("interval", self.interval.as_deref(), DEFAULT_INTERVAL)?;
        Ok(flags::go_duration(interval))
    }

    /// The metadata of the object `name` in the namespace of `--namespace`, with `--label`s.
    fn metadata(&self, name: &str) -> anyhow::Result<ObjectMeta> {
        Ok(ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.cluster.namespace.clone()),
            labels: flags::parse_labels(&self.labels)?,
            ..ObjectMeta::default()
        })
    }

    fn namespace(&self) -> &str {
        &self.cluster.namespace
    }
}

/// `---` and the object as `sigs.k8s.io/yaml` prints it, as `flux create --export` does.
#[cfg(test)]
fn export<K: serde::Serialize>(object: &K) -> anyhow::Result<String> {
    let value = serde_json::to_value(object).context("cannot encode the object")?;
    Ok(export_value(&value))
}

/// `---` and the object as `sigs.k8s.io/yaml` prints it, as `flux create --export` does. The
/// JSON Flux's structs would marshal is printed as it is, even where the API server would
/// refuse it (a HelmRelease chart without a source), as Flux prints it.
fn export_value(value: &Value) -> String {
    super::export::export_text(value)
}

/// A typed object from the JSON Flux's Go structs would marshal, checked against tether's
/// API types on the way.
fn typed<K: serde::de::DeserializeOwned>(value: Value) -> anyhow::Result<K> {
    serde_json::from_value(value).context("cannot build the object")
}

/// The words of Flux's progress lines for one kind.
struct Steps {
    /// `generating GitRepository source` (`None`: Flux prints no such line).
    generating: Option<String>,
    /// `applying GitRepository source`.
    applying: String,
    /// What `created` / `updated` follow: `GitRepository source`, `source`, `Kustomization`.
    stored: String,
    /// `waiting for GitRepository source reconciliation`.
    waiting: String,
}

impl Steps {
    /// The lines of `flux create` kinds that use its generic `upsertAndWait` (and Alerts,
    /// Kustomizations...): `generating <kind>`, `applying <kind>`, `<kind> created`.
    fn plain(kind: &str) -> Self {
        Steps {
            generating: Some(format!("generating {kind}")),
            applying: format!("applying {kind}"),
            stored: kind.to_owned(),
            waiting: format!("waiting for {kind} reconciliation"),
        }
    }

    fn print_generating(&self) {
        if let Some(line) = &self.generating {
            generate(line);
        }
    }
}

/// Creates or updates the object and waits until it is ready, printing Flux's lines from
/// `► applying` to `◎ waiting`; returns the object as last read.
async fn apply_and_wait<K: FluxObject>(
    client: kube::Client,
    namespace: &str,
    object: &K,
    steps: &Steps,
    deadline: Instant,
) -> anyhow::Result<K> {
    let name = object.meta().name.clone().unwrap_or_default();
    let api = Api::<K>::namespaced(client, namespace);
    action(&steps.applying);
    let outcome = upsert(&api, namespace, object).await?;
    success(&format!("{} {outcome}", steps.stored));
    waiting(&steps.waiting);
    wait_ready(&api, namespace, &name, deadline).await
}

/// Prints the object (`--export`), or applies it (as the typed `K`) with the steps of its kind
/// and prints what `done` says about the ready object.
fn export_or_apply<K: FluxObject>(
    args: &CreateArgs,
    value: Value,
    steps: Steps,
    done: impl FnOnce(&K) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<()> {
    if args.export {
        print!("{}", export_value(&value));
        return Ok(());
    }
    let object: K = typed(value)?;
    steps.print_generating();
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let deadline = Instant::now() + args.cluster.timeout;
        let ready = apply_and_wait(client, args.namespace(), &object, &steps, deadline).await?;
        for line in done(&ready)? {
            success(&line);
        }
        Ok(())
    })
}

/// Creates the object, or replaces the labels and spec of the one stored (Flux's `upsert`);
/// returns `created` or `updated`.
async fn upsert<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    object: &K,
) -> anyhow::Result<&'static str> {
    let name = object.meta().name.clone().unwrap_or_default();
    let label = || object_label::<K>(namespace, &name);
    let existing = api
        .get_opt(&name)
        .await
        .with_context(|| format!("cannot read {}", label()))?;
    let Some(existing) = existing else {
        api.create(&PostParams::default(), object)
            .await
            .with_context(|| format!("cannot create {}", label()))?;
        return Ok("created");
    };
    let desired = serde_json::to_value(object)?;
    let mut updated = serde_json::to_value(&existing)?;
    updated["metadata"]["labels"] = desired["metadata"]["labels"].clone();
    updated["spec"] = desired["spec"].clone();
    if updated["metadata"]["labels"] == Value::Null
        && let Some(metadata) = updated["metadata"].as_object_mut()
    {
        metadata.remove("labels");
    }
    let updated: K = serde_json::from_value(updated)?;
    api.replace(&name, &PostParams::default(), &updated)
        .await
        .with_context(|| format!("cannot update {}", label()))?;
    Ok("updated")
}

/// Reads the object until it is ready: at once for a kind without reconciler, else when Ready
/// is True for the current generation; fails when it stalls or at the deadline.
async fn wait_ready<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    deadline: Instant,
) -> anyhow::Result<K> {
    loop {
        let object = get_named(api, namespace, name).await?;
        if object.is_static() {
            return Ok(object);
        }
        let current = object.observed_generation() == object.meta().generation;
        let not_ready = not_ready_message(&object);
        if current && not_ready.is_none() {
            return Ok(object);
        }
        if let Some(stalled) = object.condition("Stalled").filter(|c| c.status == "True") {
            bail!(
                "{} is stalled: {}",
                object_label::<K>(namespace, name),
                stalled.message
            );
        }
        if Instant::now() >= deadline {
            let why = not_ready.unwrap_or_else(|| "status not up to date".to_owned());
            bail!(
                "timed out waiting for {} to be ready: {why}",
                object_label::<K>(namespace, name)
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A JSON object built as Go marshals a struct with `omitempty` fields: empty strings, false
/// and absent values are left out.
#[derive(Default)]
struct Fields(serde_json::Map<String, Value>);

impl Fields {
    fn new() -> Self {
        Fields::default()
    }

    /// `key: value` unless `value` is empty.
    fn text(mut self, key: &str, value: &str) -> Self {
        if !value.is_empty() {
            self.0.insert(key.to_owned(), Value::from(value));
        }
        self
    }

    /// `key: true`, or nothing.
    fn flag(mut self, key: &str, value: bool) -> Self {
        if value {
            self.0.insert(key.to_owned(), Value::Bool(true));
        }
        self
    }

    /// `key: value` unless `None`.
    fn with(mut self, key: &str, value: Option<Value>) -> Self {
        if let Some(value) = value {
            self.0.insert(key.to_owned(), value);
        }
        self
    }

    /// `key: value`, always (a Go field without `omitempty`).
    fn always(mut self, key: &str, value: Value) -> Self {
        self.0.insert(key.to_owned(), value);
        self
    }

    /// `key: {name: <name>}` unless the name is empty (a `LocalObjectReference`).
    fn reference(self, key: &str, name: &str) -> Self {
        let value = (!name.is_empty()).then(|| serde_json::json!({ "name": name }));
        self.with(key, value)
    }

    fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// The whole object: `apiVersion`, `kind`, the metadata and the spec.
fn object_json<K: kube::Resource<DynamicType = ()>>(
    metadata: &ObjectMeta,
    spec: Value,
) -> anyhow::Result<Value> {
    Ok(serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": serde_json::to_value(metadata)?,
        "spec": spec,
    }))
}
