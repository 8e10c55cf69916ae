//! `tether logs`, as `flux logs`: the logs of the controller pods in `--flux-namespace` (one
//! pod per Deployment labelled `app.kubernetes.io/part-of=flux`, the one `kubectl logs` would
//! pick), each JSON line with Flux's keys (what `tether controller --log-encoding=json`
//! writes) filtered by `--level`, `--kind`, `--name` and the namespace (`-n`, or `-A` for
//! all) and printed as Flux prints it: `TS LEVEL Kind/name.namespace - MSG ERROR`.

use super::cluster::{self, block_on};
use crate::cli::LogsArgs;
use anyhow::bail;
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde::Deserialize;

/// The label Flux's (and tether's) install manifests put on their Deployments.
const PART_OF_FLUX: &str = "app.kubernetes.io/part-of=flux";
/// The container read when a pod has several.
const CONTROLLER_CONTAINER: &str = "manager";

pub fn run(args: LogsArgs) -> anyhow::Result<()> {
    block_on(logs(args))
}

async fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let client = cluster::client(&args.cluster).await?;
    if !args.args.is_empty() {
        bail!("no argument required");
    }
    let pods = controller_pods(&client, &args.flux_namespace).await?;
    let params = log_params(&args)?;
    let api: Api<Pod> = Api::namespaced(client, &args.flux_namespace);
    let filter = Filter::of(&args);
    let requests = pods.iter().map(|pod| {
        let mut params = params.clone();
        let containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());
        if containers > 1 {
            params.container = Some(CONTROLLER_CONTAINER.to_owned());
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let (api, filter) = (&api, &filter);
        async move { print_log(api, &name, &params, filter).await }
    });
    if args.follow && pods.len() > 1 {
        let results: Vec<anyhow::Result<()>> = futures::future::join_all(requests).await;
        for error in results.into_iter().filter_map(Result::err) {
            eprintln!("failed getting logs: {error:#}");
        }
        return Ok(());
    }
    let mut failed = false;
    for request in requests {
        if let Err(error) = request.await {
            eprintln!("failed getting logs: {error:#}");
            failed = true;
        }
    }
    if failed {
        bail!("failed to collect logs from all Flux pods");
    }
    Ok(())
}

/// One pod of each Flux Deployment, as Flux picks them; an error when there is none.
async fn controller_pods(client: &kube::Client, namespace: &str) -> anyhow::Result<Vec<Pod>> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = deployments
        .list(&ListParams::default().labels(PART_OF_FLUX))
        .await
        .map_err(kube_message)?;
    let mut chosen = Vec::new();
    for deployment in list.items {
        let template = deployment.spec.and_then(|s| s.template.metadata);
        let labels = template.and_then(|m| m.labels).unwrap_or_default();
        let selector: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let found = pods
            .list(&ListParams::default().labels(&selector.join(",")))
            .await
            .map_err(kube_message)?;
        if let Some(pod) = found.items.into_iter().min_by_key(logging_rank) {
            chosen.push(pod);
        }
    }
    if chosen.is_empty() {
        bail!("no Flux pods found in namespace {namespace:?}");
    }
    Ok(chosen)
}

/// kubectl's `ByLogging` order, first the pod to read: scheduled, running, ready, oldest.
fn logging_rank(pod: &Pod) -> (bool, bool, bool, Option<String>) {
    let status = pod.status.as_ref();
    let scheduled = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_ref())
        .is_some();
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    let conditions = status.and_then(|s| s.conditions.as_ref());
    let ready = conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let created = pod.metadata.creation_timestamp.as_ref();
    (
        !scheduled,
        !running,
        !ready,
        created.map(|t| t.0.to_string()),
    )
}

/// The request's options from `--follow`, `--tail`, `--since` and `--since-time`.
fn log_params(args: &LogsArgs) -> anyhow::Result<LogParams> {
    let mut params = LogParams {
        follow: args.follow,
        tail_lines: (args.tail > -1).then_some(args.tail),
        ..LogParams::default()
    };
    if !args.since_time.is_empty() && args.since.is_some_and(|d| !d.is_zero()) {
        bail!("at most one of `sinceTime` or `sinceDuration` may be specified");
    }
    if !args.since_time.is_empty() {
        let since = chrono::DateTime::parse_from_rfc3339(&args.since_time)
            .map_err(|_| anyhow::anyhow!("{} is not a valid (RFC3339) time", args.since_time))?;
        let elapsed = chrono::Utc::now().signed_duration_since(since);
        params.since_seconds = Some(elapsed.num_seconds().max(1));
    }
    if let Some(since) = args.since.filter(|d| !d.is_zero()) {
        params.since_seconds = Some(since.as_secs_f64().round() as i64);
    }
    Ok(params)
}

/// Streams one pod's log, printing the lines the filter keeps.
async fn print_log(
    api: &Api<Pod>,
    name: &str,
    params: &LogParams,
    filter: &Filter,
) -> anyhow::Result<()> {
    let stream = api.log_stream(name, params).await.map_err(kube_message)?;
    let mut lines = stream.lines();
    while let Some(line) = lines.try_next().await? {
        if !line.starts_with('{') {
            continue;
        }
        let entry: Entry = match serde_json::from_str(&line) {
            Ok(entry) => entry,
            Err(error) => {
                eprintln!("✗ parse error: {error}");
                break;
            }
        };
        if filter.keeps(&entry) {
            println!("{}", entry.render());
        }
    }
    Ok(())
}

/// The API server's message for a failed request, as client-go reports it.
fn kube_message(error: kube::Error) -> anyhow::Error {
    match error {
        kube::Error::Api(status) => anyhow::anyhow!(status.message),
        other => anyhow::anyhow!(other),
    }
}

/// A controller log line, with the keys Flux's controllers write.
#[derive(Deserialize, Default, Debug)]
struct Entry {
    #[serde(default)]
    ts: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    error: String,
    #[serde(default, rename = "reconciler kind")]
    kind: String,
    #[serde(default, rename = "controllerKind")]
    controller_kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

impl Entry {
    /// Flux's `{{.Timestamp}} {{.Level}} {{or .Kind .ControllerKind}}{{if .Name}}/{{.Name}}.
    /// {{.Namespace}}{{end}} - {{.Message}} {{.Error}}`.
    fn render(&self) -> String {
        let kind = if self.kind.is_empty() {
            &self.controller_kind
        } else {
            &self.kind
        };
        let object = if self.name.is_empty() {
            String::new()
        } else {
            format!("/{}.{}", self.name, self.namespace)
        };
        format!(
            "{} {} {kind}{object} - {} {}",
            self.ts, self.level, self.msg, self.error
        )
    }
}

/// `--level`, `--kind`, `--name` and the namespace, as Flux filters lines.
struct Filter {
    level: String,
    kind: String,
    name: String,
    namespace: Option<String>,
}

impl Filter {
    fn of(args: &LogsArgs) -> Self {
        Self {
            level: args.level.clone().unwrap_or_default(),
            kind: args.kind.clone(),
            name: args.name.clone(),
            namespace: (!args.all_namespaces).then(|| args.cluster.namespace.clone()),
        }
    }

    fn keeps(&self, entry: &Entry) -> bool {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        (self.level.is_empty() || self.level == entry.level)
            && (self.kind.is_empty()
                || same(&self.kind, &entry.kind)
                || same(&self.kind, &entry.controller_kind))
            && (self.name.is_empty() || same(&self.name, &entry.name))
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| same(ns, &entry.namespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(line: &str) -> Entry {
        serde_json::from_str(line).unwrap_or_default()
    }

    fn filter(level: &str, kind: &str, name: &str, namespace: Option<&str>) -> Filter {
        Filter {
            level: level.into(),
            kind: kind.into(),
            name: name.into(),
            namespace: namespace.map(str::to_owned),
        }
    }

    #[test]
    fn lines_print_as_flux_prints_them() {
        let failed = entry(
            r#"{"level":"error","ts":"2026-12-08T01:00:00.000Z","msg":"reconcile failed","controllerKind":"kustomization","name":"web","namespace":"apps","error":"boom"}"#,
        );
        assert_eq!(
            failed.render(),
            "2026-12-08T01:00:00.000Z error kustomization/web.apps - reconcile failed boom"
        );
        let serving = entry(r#"{"level":"info","ts":"t","msg":"serving"}"#);
        assert_eq!(serving.render(), "t info  - serving ");
    }

    #[test]
    fn filters_match_kind_and_name_without_case_and_level_exactly() {
        let line = entry(
            r#"{"level":"info","msg":"m","reconciler kind":"GitRepository","name":"Podinfo","namespace":"apps"}"#,
        );
        assert!(filter("", "gitrepository", "podinfo", Some("apps")).keeps(&line));
        assert!(filter("info", "", "", None).keeps(&line));
        assert!(!filter("error", "", "", None).keeps(&line));
        assert!(!filter("", "Kustomization", "", None).keeps(&line));
        assert!(!filter("", "", "", Some("flux-system")).keeps(&line));
    }
}
