//! `tether create alert|alert-provider|receiver NAME`: build the object from Flux's flags, then
//! print it (`--export`, the YAML `flux create --export` prints) or create/update it and wait
//! as `flux create` does: an Alert or Provider has no reconciler, so it is ready once stored; a
//! Receiver is ready when its Ready condition is True for the current generation, and its
//! webhook path is printed.
//!
//! One difference: `--type` of a Provider is checked here against the types tether serves (Flux
//! leaves that to the API server's schema, so its `--export` prints any string).

use super::cluster::{self, get_named, object_label};
use super::output::{action, generate, success, waiting};
use super::reconcile::not_ready_message;
use super::toolkit::FluxObject;
use crate::cli::{CreateArgs, CreateKind};
use anyhow::{Context, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tether_api::meta::LocalObjectReference;
use tether_api::notification::v1::{Receiver, ReceiverResource, ReceiverSpec, ReceiverType};
use tether_api::notification::v1beta3::{
    Alert, AlertSpec, CrossNamespaceObjectReference, EventSeverity, Provider, ProviderSpec,
    ProviderType,
};

/// How often the object is read while waiting.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

pub fn run(args: CreateArgs) -> anyhow::Result<()> {
    let name = match &args.kind {
        CreateKind::Alert { name, .. }
        | CreateKind::AlertProvider { name, .. }
        | CreateKind::Receiver { name, .. } => name,
    };
    if !is_valid_object_name(name) {
        bail!(
            "name '{name}' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'"
        );
    }
    let metadata = ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(args.cluster.namespace.clone()),
        labels: parse_labels(&args.labels)?,
        ..ObjectMeta::default()
    };
    match &args.kind {
        CreateKind::Alert {
            provider_ref,
            event_severity,
            event_sources,
            ..
        } => {
            let spec = alert_spec(provider_ref, event_severity, event_sources)?;
            let alert = Alert { metadata, spec };
            export_or_apply(&args, alert)
        }
        CreateKind::AlertProvider {
            provider_type,
            channel,
            username,
            address,
            secret_ref,
            ..
        } => {
            let Some(provider_type) = provider_type.as_deref().filter(|t| !t.is_empty()) else {
                bail!("Provider type is required");
            };
            let spec = ProviderSpec {
                provider_type: parse_provider_type(provider_type)?,
                channel: non_empty(channel),
                username: non_empty(username),
                address: non_empty(address),
                secret_ref: non_empty(secret_ref).map(|name| LocalObjectReference { name }),
                ..provider_spec_defaults()
            };
            export_or_apply(&args, Provider { metadata, spec })
        }
        CreateKind::Receiver {
            receiver_type,
            secret_ref,
            events,
            resources,
            ..
        } => {
            let spec = receiver_spec(receiver_type, secret_ref, events, resources)?;
            let receiver = Receiver {
                metadata,
                spec,
                status: None,
            };
            export_or_apply(&args, receiver)
        }
    }
}

/// Flux's `validateObjectName`: lower-case alphanumerics and `-`, 2 to 63 characters,
/// alphanumeric at both ends.
fn is_valid_object_name(name: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (2..=63).contains(&name.len())
        && name.chars().all(|c| alphanumeric(c) || c == '-')
        && name.starts_with(alphanumeric)
        && name.ends_with(alphanumeric)
}

/// `--label key=value` flags as labels (none: `None`, as Go omits an empty map).
fn parse_labels(labels: &[String]) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    let mut parsed = BTreeMap::new();
    for label in labels {
        let parts: Vec<&str> = label.split('=').collect();
        let [key, value] = parts[..] else {
            bail!("invalid label format '{label}', must be key=value");
        };
        if !is_qualified_name(key) {
            bail!(
                "invalid label '{key}': a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'"
            );
        }
        if !(value.is_empty() || is_label_name_part(value)) {
            bail!(
                "invalid label value '{value}': a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
            );
        }
        parsed.insert(key.to_owned(), value.to_owned());
    }
    Ok((!parsed.is_empty()).then_some(parsed))
}

/// Kubernetes' `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain.
fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name_part(name),
        None => is_label_name_part(key),
    }
}

/// At most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
fn is_label_name_part(text: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_alphanumeric();
    (1..=63).contains(&text.len())
        && text.chars().all(|c| alphanumeric(c) || "-_.".contains(c))
        && text.starts_with(alphanumeric)
        && text.ends_with(alphanumeric)
}

fn is_dns_subdomain(text: &str) -> bool {
    let label = |part: &str| {
        let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        !part.is_empty()
            && part.chars().all(|c| alphanumeric(c) || c == '-')
            && part.starts_with(alphanumeric)
            && part.ends_with(alphanumeric)
    };
    text.len() <= 253 && text.split('.').all(label)
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.is_empty())
}

/// `<kind>/<name>` with an optional `.<namespace>` after the last dot (Flux's
/// `ParseObjectKindNameNamespace`); no kind when there is no single `/`.
fn parse_kind_name_namespace(input: &str) -> (String, String, Option<String>) {
    let (kind, name) = parse_kind_name(input);
    match name.rsplit_once('.') {
        Some((name, namespace)) => (kind, name.to_owned(), Some(namespace.to_owned())),
        None => (kind, name, None),
    }
}

/// `<kind>/<name>` (Flux's `ParseObjectKindName`): no kind unless there is exactly one `/`.
fn parse_kind_name(input: &str) -> (String, String) {
    let parts: Vec<&str> = input.split('/').collect();
    match parts[..] {
        [kind, name] => (kind.to_owned(), name.to_owned()),
        _ => (String::new(), input.to_owned()),
    }
}

fn alert_spec(
    provider_ref: &Option<String>,
    event_severity: &Option<String>,
    event_sources: &[String],
) -> anyhow::Result<AlertSpec> {
    let Some(provider) = non_empty(provider_ref) else {
        bail!("provider ref is required");
    };
    let mut sources = Vec::new();
    for source in event_sources {
        let (kind, name, namespace) = parse_kind_name_namespace(source);
        if kind.is_empty() {
            bail!("invalid event source '{source}', must be in format <kind>/<name>");
        }
        sources.push(CrossNamespaceObjectReference {
            api_version: None,
            kind,
            name,
            namespace,
            match_labels: None,
        });
    }
    if sources.is_empty() {
        bail!("at least one event source is required");
    }
    let event_severity = non_empty(event_severity)
        .map(|s| parse_enum::<EventSeverity>(&s, "event severity", EventSeverity::ALL))
        .transpose()?;
    Ok(AlertSpec {
        provider_ref: LocalObjectReference { name: provider },
        event_severity,
        event_sources: sources,
        inclusion_list: None,
        event_metadata: None,
        exclusion_list: None,
        summary: None,
        suspend: None,
    })
}

fn parse_provider_type(text: &str) -> anyhow::Result<ProviderType> {
    parse_enum(text, "Provider type", ProviderType::ALL)
}

/// One of the values of a string enum, or an error listing them.
fn parse_enum<T>(text: &str, what: &str, all: &[T]) -> anyhow::Result<T>
where
    T: std::str::FromStr + std::fmt::Display,
{
    text.parse().map_err(|_| {
        let values: Vec<String> = all.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(
            "{what} '{text}' is not supported, must be one of: {}",
            values.join(", ")
        )
    })
}

fn provider_spec_defaults() -> ProviderSpec {
    ProviderSpec {
        provider_type: ProviderType::Generic,
        interval: None,
        channel: None,
        username: None,
        address: None,
        timeout: None,
        proxy: None,
        proxy_secret_ref: None,
        secret_ref: None,
        service_account_name: None,
        cert_secret_ref: None,
        suspend: None,
        commit_status_expr: None,
    }
}

fn receiver_spec(
    receiver_type: &Option<String>,
    secret_ref: &Option<String>,
    events: &[String],
    resources: &[String],
) -> anyhow::Result<ReceiverSpec> {
    let Some(receiver_type) = non_empty(receiver_type) else {
        bail!("Receiver type is required");
    };
    let Some(secret) = non_empty(secret_ref) else {
        bail!("secret ref is required");
    };
    let mut targets = Vec::new();
    for resource in resources {
        let (kind, name) = parse_kind_name(resource);
        if kind.is_empty() {
            bail!("invalid event source '{resource}', must be in format <kind>/<name>");
        }
        targets.push(ReceiverResource {
            kind,
            name,
            ..ReceiverResource::default()
        });
    }
    if targets.is_empty() {
        bail!("atleast one resource is required");
    }
    Ok(ReceiverSpec {
        receiver_type: parse_enum(&receiver_type, "receiver type", ReceiverType::ALL)?,
        interval: None,
        events: (!events.is_empty()).then(|| events.to_vec()),
        resources: targets,
        resource_filter: None,
        secret_ref: Some(LocalObjectReference { name: secret }),
        oidc_providers: None,
        suspend: None,
    })
}

/// Prints the object (`--export`) or applies it and waits until it is ready.
fn export_or_apply<K: FluxObject>(args: &CreateArgs, object: K) -> anyhow::Result<()> {
    if args.export {
        print!("{}", export(&object)?);
        return Ok(());
    }
    let kind = K::kind(&());
    generate(&format!("generating {kind}"));
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let namespace = args.cluster.namespace.as_str();
        let name = object.meta().name.clone().unwrap_or_default();
        let api = Api::<K>::namespaced(client, namespace);
        action(&format!("applying {kind}"));
        let outcome = upsert(&api, namespace, &object).await?;
        success(&format!("{kind} {outcome}"));
        waiting(&format!("waiting for {kind} reconciliation"));
        let deadline = Instant::now() + args.cluster.timeout;
        let ready = wait_ready(&api, namespace, &name, deadline).await?;
        success(&format!("{kind} {name} is ready"));
        if let Some(path) = webhook_path(&ready) {
            success(&format!("generated webhook URL {path}"));
        }
        Ok(())
    })
}

/// `---` and the object as `sigs.k8s.io/yaml` prints it, as `flux create --export` does.
fn export<K: FluxObject>(object: &K) -> anyhow::Result<String> {
    let value = serde_json::to_value(object).context("cannot encode the object")?;
    Ok(super::export::export_text(&value))
}

/// The Receiver's `status.webhookPath`; `None` for other kinds.
fn webhook_path<K: FluxObject>(object: &K) -> Option<String> {
    let value = serde_json::to_value(object).ok()?;
    let path = value.pointer("/status/webhookPath")?.as_str()?;
    Some(path.to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("flux-system".to_owned()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn alert_export_is_flux_yaml() {
        let spec = alert_spec(
            &Some("slack".into()),
            &Some("info".into()),
            &[
                "GitRepository/*".into(),
                "Kustomization/apps.tenants".into(),
            ],
        )
        .expect("valid flags");
        let alert = Alert {
            metadata: metadata("flux-system"),
            spec,
        };
        // The shape of cmd/flux/testdata/export/alert.yaml: keys sorted, `*` quoted, no status.
        let expected = "---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: flux-system
  namespace: flux-system
spec:
  eventSeverity: info
  eventSources:
  - kind: GitRepository
    name: '*'
  - kind: Kustomization
    name: apps
    namespace: tenants
  providerRef:
    name: slack
";
        assert_eq!(export(&alert).expect("encodes"), expected);
    }

    #[test]
    fn provider_export_is_flux_yaml() {
        let provider = Provider {
            metadata: metadata("slack"),
            spec: ProviderSpec {
                provider_type: parse_provider_type("slack").expect("a type"),
                channel: Some("A channel with spacess".into()),
                address: Some("https://hooks.slack.com/services/mock".into()),
                ..provider_spec_defaults()
            },
        };
        // cmd/flux/testdata/export/provider.yaml, namespace filled in.
        let expected = "---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: slack
  namespace: flux-system
spec:
  address: https://hooks.slack.com/services/mock
  channel: A channel with spacess
  type: slack
";
        assert_eq!(export(&provider).expect("encodes"), expected);
    }

    #[test]
    fn receiver_export_is_flux_yaml_with_labels() {
        let spec = receiver_spec(
            &Some("github".into()),
            &Some("webhook-token".into()),
            &["ping".into(), "push".into()],
            &["GitRepository/flux-system".into()],
        )
        .expect("valid flags");
        let mut metadata = metadata("flux-system");
        metadata.labels = parse_labels(&["team=apps".into()]).expect("a label");
        let receiver = Receiver {
            metadata,
            spec,
            status: None,
        };
        let expected = "---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  labels:
    team: apps
  name: flux-system
  namespace: flux-system
spec:
  events:
  - ping
  - push
  resources:
  - kind: GitRepository
    name: flux-system
  secretRef:
    name: webhook-token
  type: github
";
        assert_eq!(export(&receiver).expect("encodes"), expected);
    }

    #[test]
    fn missing_or_malformed_flags_give_fluxs_errors() {
        let error = |result: anyhow::Result<AlertSpec>| result.err().map(|e| e.to_string());
        assert_eq!(
            error(alert_spec(&None, &None, &["Kustomization/a".into()])).as_deref(),
            Some("provider ref is required")
        );
        assert_eq!(
            error(alert_spec(&Some("p".into()), &None, &[])).as_deref(),
            Some("at least one event source is required")
        );
        assert_eq!(
            error(alert_spec(
                &Some("p".into()),
                &None,
                &["flux-system".into()]
            ))
            .as_deref(),
            Some("invalid event source 'flux-system', must be in format <kind>/<name>")
        );
        let receiver = receiver_spec(&Some("github".into()), &Some("t".into()), &[], &[]);
        assert_eq!(
            receiver.err().map(|e| e.to_string()).as_deref(),
            Some("atleast one resource is required")
        );
        let no_secret = receiver_spec(&Some("github".into()), &None, &[], &[]);
        assert_eq!(
            no_secret.err().map(|e| e.to_string()).as_deref(),
            Some("secret ref is required")
        );
        assert!(parse_provider_type("carrier-pigeon").is_err());
        assert!(parse_labels(&["a=b=c".into()]).is_err());
        assert!(parse_labels(&["-a=b".into()]).is_err());
        assert!(parse_labels(&["example.com/a=".into()]).is_ok());
    }

    #[test]
    fn object_names_follow_rfc_1123_as_flux_checks_them() {
        assert!(is_valid_object_name("flux-system"));
        assert!(is_valid_object_name("a1"));
        assert!(!is_valid_object_name("a"));
        assert!(!is_valid_object_name("Flux"));
        assert!(!is_valid_object_name("-flux"));
        assert!(!is_valid_object_name("flux.system"));
        assert!(!is_valid_object_name(&"a".repeat(64)));
    }
}
