//! `tether events`: the Kubernetes Events about Flux objects, as `flux events` lists them —
//! oldest first, `LAST SEEN` as kubectl shows it (`14s (x3 over 25s)`), multi-line messages on
//! continuation rows; `--for Kind/name` narrows to one object and adds the events of what it
//! refers to (a Kustomization's source, a HelmRelease's chart and source, an Alert's Provider,
//! an ImagePolicy's ImageRepository), `--types` to Normal or Warning, `-A` to every namespace.

use super::cluster;
use super::output::{failure, render_table};
use crate::cli::EventsArgs;
use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;

/// What `--for` may name, how it is read, and where its reference is.
struct FluxKind {
    kind: &'static str,
    api_version: &'static str,
    /// The JSON pointer of the object's reference (`kind`, `name`, `namespace` under it).
    reference: Option<&'static str>,
    /// The kind referred to, when the reference does not say it.
    referred_kind: Option<&'static str>,
    /// Whether the reference may name another namespace.
    cross_namespace: bool,
}

const fn kind(kind: &'static str, api_version: &'static str) -> FluxKind {
    FluxKind {
        kind,
        api_version,
        reference: None,
        referred_kind: None,
        cross_namespace: false,
    }
}

const fn referring(
    kind: &'static str,
    api_version: &'static str,
    reference: &'static str,
    referred_kind: Option<&'static str>,
    cross_namespace: bool,
) -> FluxKind {
    FluxKind {
        kind,
        api_version,
        reference: Some(reference),
        referred_kind,
        cross_namespace,
    }
}

/// Flux's kinds, as `flux events` knows them (events about other kinds are not listed).
const FLUX_KINDS: [FluxKind; 15] = [
    referring(
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
        "/spec/sourceRef",
        None,
        true,
    ),
    referring(
        "HelmRelease",
        "helm.toolkit.fluxcd.io/v2",
        "/spec/chart/spec/sourceRef",
        None,
        true,
    ),
    referring(
        "Alert",
        "notification.toolkit.fluxcd.io/v1beta3",
        "/spec/providerRef",
        Some("Provider"),
        false,
    ),
    kind("Receiver", "notification.toolkit.fluxcd.io/v1"),
    kind("Provider", "notification.toolkit.fluxcd.io/v1beta3"),
    referring(
        "ImagePolicy",
        "image.toolkit.fluxcd.io/v1",
        "/spec/imageRepositoryRef",
        Some("ImageRepository"),
        true,
    ),
    referring(
        "HelmChart",
        "source.toolkit.fluxcd.io/v1",
        "/spec/sourceRef",
        None,
        true,
    ),
    kind("GitRepository", "source.toolkit.fluxcd.io/v1"),
    kind("OCIRepository", "source.toolkit.fluxcd.io/v1"),
    kind("Bucket", "source.toolkit.fluxcd.io/v1"),
    kind("HelmRepository", "source.toolkit.fluxcd.io/v1"),
    kind("ImageUpdateAutomation", "image.toolkit.fluxcd.io/v1"),
    kind("ImageRepository", "image.toolkit.fluxcd.io/v1"),
    kind("ArtifactGenerator", "source.extensions.fluxcd.io/v1beta1"),
    kind("ExternalArtifact", "source.toolkit.fluxcd.io/v1"),
];

fn flux_kind(name: &str) -> Option<&'static FluxKind> {
    FLUX_KINDS
        .iter()
        .find(|k| k.kind.eq_ignore_ascii_case(name))
}

/// One list of events: a namespace (or all) and an optional `involvedObject` selector.
struct Query {
    namespace: Option<String>,
    fields: Option<String>,
}

pub fn run(args: EventsArgs) -> anyhow::Result<()> {
    for type_ in &args.types {
        if !["Normal", "Warning"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(type_))
        {
            bail!("type '{type_}' not supported. Supported types are Normal, Warning");
        }
    }
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let namespace = args.cluster.namespace.as_str();
        let scope = (!args.all_namespaces).then(|| namespace.to_owned());
        let mut queries = vec![Query {
            namespace: scope.clone(),
            fields: None,
        }];
        let mut other_namespace = false;
        if let Some(selector) = &args.for_ {
            let (kind, name) = match selector.split_once('/') {
                Some((kind, name)) => (kind, Some(name)),
                None => (selector.as_str(), None),
            };
            if kind.is_empty() {
                bail!("--for selector must be of format <kind>[/<name>]");
            }
            let flux = flux_kind(kind)
                .with_context(|| format!("'{kind}' is not a recognized Flux kind"))?;
            queries[0].fields = Some(involved(flux.kind, name));
            if let Some(name) = name {
                for (kind, name, ns) in references(&client, flux, name, namespace).await? {
                    other_namespace |= scope.as_deref() != Some(ns.as_str());
                    let fields = Some(involved(&kind, Some(&name)));
                    let namespace = Some(ns);
                    queries.push(Query { namespace, fields });
                }
            }
        }
        let show_namespace = args.all_namespaces || other_namespace;
        let mut events = Vec::new();
        for query in &queries {
            events.extend(list(&client, query).await?);
        }
        events.sort_by_key(event_time);
        let now = Timestamp::now();
        let rows: Vec<Vec<String>> = events
            .iter()
            .filter(|e| listed(e, &args.types))
            .map(|e| row(e, show_namespace, now))
            .collect();
        if rows.is_empty() {
            match args.all_namespaces {
                true => failure("No events found."),
                false => failure(&format!("No events found in {namespace} namespace.")),
            }
            return Ok(());
        }
        let mut header = vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
        if show_namespace {
            header.insert(0, "NAMESPACE");
        }
        print!("{}", render_table(Some(&header), &rows));
        Ok(())
    })
}

/// The field selector of events about `kind` (named `name`).
fn involved(kind: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("involvedObject.kind={kind},involvedObject.name={name}"),
        None => format!("involvedObject.kind={kind}"),
    }
}

/// What the object refers to, as `(kind, name, namespace)`: its reference, and for a
/// HelmRelease also the HelmChart made for it.
async fn references(
    client: &kube::Client,
    flux: &FluxKind,
    name: &str,
    namespace: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let Some(pointer) = flux.reference else {
        return Ok(Vec::new());
    };
    let (group, version) = match flux.api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", flux.api_version),
    };
    let resource = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
        group, version, flux.kind,
    ));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let object = api
        .get(name)
        .await
        .with_context(|| format!("cannot read {} '{namespace}/{name}'", flux.kind))?;
    let object = serde_json::to_value(object)?;
    let field = |key: &str| {
        object
            .pointer(&format!("{pointer}/{key}"))
            .and_then(Value::as_str)
    };
    let missing = |key: &str| {
        let path = format!("{pointer}/{key}")
            .trim_start_matches('/')
            .replace('/', ".");
        format!("field '{path}' for '{namespace}/{name}' not found")
    };
    let kind = match flux.referred_kind {
        Some(kind) => kind,
        None => field("kind").with_context(|| missing("kind"))?,
    };
    let referred = field("name").with_context(|| missing("name"))?;
    let ns = match field("namespace") {
        Some(ns) if flux.cross_namespace => ns,
        _ => namespace,
    };
    let mut refs = vec![(kind.to_owned(), referred.to_owned(), ns.to_owned())];
    if flux.kind == "HelmRelease" {
        refs.push((
            "HelmChart".into(),
            format!("{namespace}-{name}"),
            ns.to_owned(),
        ));
    }
    Ok(refs)
}

async fn list(client: &kube::Client, query: &Query) -> anyhow::Result<Vec<Event>> {
    let api: Api<Event> = match &query.namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let mut params = ListParams::default().limit(500);
    if let Some(fields) = &query.fields {
        params = params.fields(fields);
    }
    let mut events = Vec::new();
    loop {
        let page = api.list(&params).await.context("error getting events")?;
        events.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(events),
        }
    }
}

/// Whether the event is about a Flux kind and of a type asked for.
fn listed(event: &Event, types: &[String]) -> bool {
    let kind = event.involved_object.kind.as_deref().unwrap_or_default();
    let type_ = event.type_.as_deref().unwrap_or_default();
    flux_kind(kind).is_some()
        && (types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(type_)))
}

/// When the event was last seen, for ordering (kubectl's `eventTime`).
fn event_time(event: &Event) -> Option<Timestamp> {
    let series = event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref());
    let last = event.last_timestamp.as_ref().map(|t| t.0);
    let series = series.map(|t| t.0);
    series.or(last).or(event.event_time.as_ref().map(|t| t.0))
}

fn row(event: &Event, show_namespace: bool, now: Timestamp) -> Vec<String> {
    let object = &event.involved_object;
    let mut row = Vec::with_capacity(6);
    if show_namespace {
        row.push(event.metadata.namespace.clone().unwrap_or_default());
    }
    row.push(last_seen(event, now));
    row.push(event.type_.clone().unwrap_or_default());
    row.push(event.reason.clone().unwrap_or_default());
    let (kind, name) = (object.kind.as_deref(), object.name.as_deref());
    row.push(format!(
        "{}/{}",
        kind.unwrap_or_default(),
        name.unwrap_or_default()
    ));
    row.push(event.message.clone().unwrap_or_default());
    row
}

/// kubectl's LAST SEEN: the age, and `(xN over <age of the first>)` for a repeated event.
fn last_seen(event: &Event, now: Timestamp) -> String {
    let since = |time: Option<Timestamp>| match time {
        Some(time) => human_duration(now.duration_since(time).as_secs()),
        None => "<unknown>".to_owned(),
    };
    let first = match event.event_time.as_ref() {
        Some(time) => since(Some(time.0)),
        None => since(event.first_timestamp.as_ref().map(|t| t.0)),
    };
    if let Some(series) = &event.series {
        let last = since(series.last_observed_time.as_ref().map(|t| t.0));
        return format!(
            "{last} (x{} over {first})",
            series.count.unwrap_or_default()
        );
    }
    match event.count {
        Some(count) if count > 1 => {
            let last = since(event.last_timestamp.as_ref().map(|t| t.0));
            format!("{last} (x{count} over {first})")
        }
        _ => first,
    }
}

/// A duration in seconds as Kubernetes' `duration.HumanDuration` shows an age: seconds up to
/// two minutes, then minutes (with seconds under ten minutes), hours, days and years.
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let seconds = seconds.max(0);
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    let with_rest = |major: i64, unit: &str, minor: i64, minor_unit: &str| match minor {
        0 => format!("{major}{unit}"),
        _ => format!("{major}{unit}{minor}{minor_unit}"),
    };
    match () {
        _ if seconds < 120 => format!("{seconds}s"),
        _ if minutes < 10 => with_rest(minutes, "m", seconds % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => with_rest(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => with_rest(hours / 24, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 => with_rest(hours / 24 / 365, "y", (hours / 24) % 365, "d"),
        _ => format!("{}y", hours / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (50 * 3600, "2d2h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (seconds, shown) in cases {
            assert_eq!(human_duration(seconds), shown, "{seconds}");
        }
    }

    #[test]
    fn for_names_a_kind_case_insensitively_and_rejects_others() {
        assert_eq!(
            flux_kind("kustomization").map(|k| k.kind),
            Some("Kustomization")
        );
        assert!(flux_kind("Deployment").is_none());
        assert_eq!(
            involved("GitRepository", Some("app")),
            "involvedObject.kind=GitRepository,involvedObject.name=app"
        );
    }
}
