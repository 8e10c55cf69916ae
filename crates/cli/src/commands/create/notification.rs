//! `create alert|alert-provider|receiver`: Flux's notification objects. An Alert or Provider
//! has no reconciler, so it is ready once stored; a Receiver is ready when its Ready condition
//! is True for the current generation, and its webhook path is printed.
//!
//! One difference: `--type` of a Provider is checked here against the types tether serves (Flux
//! leaves that to the API server's schema, so its `--export` prints any string).

use super::flags::{non_empty, object_name, parse_kind_name, parse_kind_name_namespace};
use super::{Steps, export_or_apply};
use crate::cli::{CreateArgs, CreateKind};
use anyhow::bail;
use tether_api::meta::LocalObjectReference;
use tether_api::notification::v1::{Receiver, ReceiverResource, ReceiverSpec, ReceiverType};
use tether_api::notification::v1beta3::{
    Alert, AlertSpec, CrossNamespaceObjectReference, EventSeverity, Provider, ProviderSpec,
    ProviderType,
};

/// Dispatched from `create::run` for the three notification kinds only.
fn unreachable_kind() -> anyhow::Result<()> {
    bail!("not a notification kind")
}

pub fn run(args: &CreateArgs) -> anyhow::Result<()> {
    match &args.kind {
        CreateKind::Alert {
            name,
            provider_ref,
            event_severity,
            event_sources,
        } => {
            let name = object_name(name)?;
            let metadata = args.metadata(&name)?;
            let spec = alert_spec(provider_ref, event_severity, event_sources)?;
            let alert = Alert { metadata, spec };
            export_or_apply(
                args,
                serde_json::to_value(&alert)?,
                Steps::plain("Alert"),
                |_: &Alert| Ok(vec![format!("Alert {name} is ready")]),
            )
        }
        CreateKind::AlertProvider {
            name,
            provider_type,
            channel,
            username,
            address,
            secret_ref,
        } => {
            let name = object_name(name)?;
            let metadata = args.metadata(&name)?;
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
            let provider = Provider { metadata, spec };
            export_or_apply(
                args,
                serde_json::to_value(&provider)?,
                Steps::plain("Provider"),
                |_: &Provider| Ok(vec![format!("Provider {name} is ready")]),
            )
        }
        CreateKind::Receiver {
            name,
            receiver_type,
            secret_ref,
            events,
            resources,
        } => {
            let name = object_name(name)?;
            let metadata = args.metadata(&name)?;
            let spec = receiver_spec(receiver_type, secret_ref, events, resources)?;
            let receiver = Receiver {
                metadata,
                spec,
                status: None,
            };
            export_or_apply(
                args,
                serde_json::to_value(&receiver)?,
                Steps::plain("Receiver"),
                |ready: &Receiver| {
                    let mut lines = vec![format!("Receiver {name} is ready")];
                    if let Some(path) = ready.status.as_ref().and_then(|s| s.webhook_path.clone()) {
                        lines.push(format!("generated webhook URL {path}"));
                    }
                    Ok(lines)
                },
            )
        }
        _ => unreachable_kind(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::create::export;
    use crate::commands::create::flags::parse_labels;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

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
}
