//! `create kustomization` and `create helmrelease`: the objects that apply a source, with
//! Flux's checks in Flux's order; ready when their Ready condition is True for the current
//! generation, then the applied revision is printed.

use super::flags::{self, SourceRef};
use super::{Fields, Steps, export_or_apply, object_json};
use crate::cli::{CreateArgs, CreateHelmReleaseArgs, CreateKustomizationArgs};
use crate::commands::toolkit::FluxObject;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::time::Duration;
use tether_api::helm::v2::HelmRelease;
use tether_api::kustomize::v1::Kustomization;

/// The health check timeout `flux create kustomization` sets with `--wait` or `--health-check`.
const DEFAULT_HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// The kinds `--health-check` accepts.
const HEALTH_CHECK_KINDS: &[&str] = &["Deployment", "DaemonSet", "StatefulSet", "HelmRelease"];

/// A source reference as JSON: kind, name, and the namespace when given.
fn source_ref(source: &SourceRef) -> Value {
    Fields::new()
        .text("kind", &source.kind)
        .always("name", Value::from(source.name.as_str()))
        .text("namespace", source.namespace.as_deref().unwrap_or_default())
        .build()
}

/// `--depends-on` as `spec.dependsOn`; `None` when empty.
fn depends_on(values: &[String]) -> anyhow::Result<Option<Value>> {
    if values.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_value(flags::depends_on(values))?))
}

/// `spec.kubeConfig.secretRef.name`, when given.
fn kube_config(secret: &str) -> Option<Value> {
    (!secret.is_empty()).then(|| json!({ "secretRef": { "name": secret } }))
}

pub fn run_kustomization(args: &CreateArgs, ks: &CreateKustomizationArgs) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let source = flags::kustomization_source(ks.source.as_deref())?;
    let path = ks
        .path
        .as_deref()
        .map_or_else(|| "./".to_owned(), flags::safe_relative_path);
    let prune = flags::go_bool("prune", ks.prune.as_deref())?;
    let wait = flags::go_bool("wait", ks.wait.as_deref())?;
    let health_timeout = flags::duration(
        "health-check-timeout",
        ks.health_check_timeout.as_deref(),
        DEFAULT_HEALTH_CHECK_TIMEOUT,
    )?;
    let decryption = flags::unsupported_choice(
        "decryption-provider",
        "decryption provider",
        &["sops"],
        ks.decryption_provider.as_deref(),
    )?;
    let retry_interval = flags::duration(
        "retry-interval",
        ks.retry_interval.as_deref(),
        Duration::ZERO,
    )?;
    let name = flags::object_name(&ks.name)?;
    let Some(source) = source else {
        bail!("source is required");
    };
    let metadata = args.metadata(&name)?;
    let timeout = Value::from(flags::go_duration(health_timeout));
    let health_checks = if !ks.health_checks.is_empty() && !wait {
        Some(health_checks(&ks.health_checks)?)
    } else {
        None
    };
    let timeout = (health_checks.is_some() || wait).then_some(timeout);
    let decryption = decryption.map(|provider| {
        Fields::new()
            .always("provider", Value::from(provider))
            .reference("secretRef", &ks.decryption_secret)
            .build()
    });
    let spec = Fields::new()
        .always("interval", Value::from(interval))
        .always("path", Value::from(path))
        .always("prune", Value::Bool(prune))
        .always("sourceRef", source_ref(&source))
        .text("targetNamespace", &ks.target_namespace)
        .with("dependsOn", depends_on(&ks.depends_on)?)
        .with("kubeConfig", kube_config(&ks.kubeconfig_secret_ref))
        .with("healthChecks", health_checks)
        .with("timeout", timeout)
        .flag("wait", wait)
        .text("serviceAccountName", &ks.service_account)
        .with("decryption", decryption)
        .with(
            "retryInterval",
            (!retry_interval.is_zero()).then(|| Value::from(flags::go_duration(retry_interval))),
        );
    let kustomization = object_json::<Kustomization>(&metadata, spec.build())?;
    let steps = Steps::plain("Kustomization");
    export_or_apply(args, kustomization, steps, |ready: &Kustomization| {
        Ok(vec![
            format!("Kustomization {name} is ready"),
            ready.success_message(),
        ])
    })
}

/// `--health-check` values, `<kind>/<name>.<namespace>`, as `spec.healthChecks`.
fn health_checks(values: &[String]) -> anyhow::Result<Value> {
    let mut checks = Vec::new();
    for value in values {
        let kind_name: Vec<&str> = value.split('/').collect();
        let [kind, name_namespace] = kind_name[..] else {
            bail!(
                "invalid health check '{value}' must be in the format 'kind/name.namespace' [{}]",
                kind_name.join(" ")
            );
        };
        if !HEALTH_CHECK_KINDS.contains(&kind) {
            bail!(
                "invalid health check kind '{kind}' can be HelmRelease, Deployment, DaemonSet or StatefulSet"
            );
        }
        let parts: Vec<&str> = name_namespace.split('.').collect();
        let [name, namespace] = parts[..] else {
            bail!("invalid health check '{value}' must be in the format 'kind/name.namespace'");
        };
        let api_version = (kind == "HelmRelease").then(|| Value::from("helm.toolkit.fluxcd.io/v2"));
        checks.push(
            Fields::new()
                .with("apiVersion", api_version)
                .always("kind", Value::from(kind))
                .always("name", Value::from(name))
                .text("namespace", namespace)
                .build(),
        );
    }
    Ok(Value::Array(checks))
}

pub fn run_helm_release(args: &CreateArgs, hr: &CreateHelmReleaseArgs) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let source = flags::helm_chart_source(hr.source.as_deref())?;
    let create_namespace = flags::go_bool(
        "create-target-namespace",
        hr.create_target_namespace.as_deref(),
    )?;
    let chart_interval = flags::duration(
        "chart-interval",
        hr.chart_interval.as_deref(),
        Duration::ZERO,
    )?;
    let crds = flags::unsupported_choice(
        "crds",
        "upgrade CRDs policy",
        &["Skip", "Create", "CreateReplace"],
        hr.crds.as_deref(),
    )?;
    let name = flags::object_name(&hr.name)?;
    let storage_namespace = if hr.storage_namespace.is_empty() {
        &hr.target_namespace
    } else {
        &hr.storage_namespace
    };
    if hr.chart.is_empty() && hr.chart_ref.is_empty() {
        bail!("chart or chart-ref is required");
    }
    if !hr.chart.is_empty() && !hr.chart_ref.is_empty() {
        bail!("cannot use --chart in combination with --chart-ref");
    }
    let metadata = args.metadata(&name)?;
    if !["Revision", "ChartVersion"].contains(&hr.reconcile_strategy.as_str()) {
        bail!(
            "'{}' is an invalid reconcile strategy(valid: Revision, ChartVersion)",
            hr.reconcile_strategy
        );
    }
    let (chart, chart_ref) = if hr.chart.is_empty() {
        (None, Some(chart_ref(&hr.chart_ref)?))
    } else {
        let source = source.unwrap_or(SourceRef {
            kind: String::new(),
            name: String::new(),
            namespace: None,
        });
        let spec = Fields::new()
            .always("chart", Value::from(hr.chart.as_str()))
            .text("version", &hr.chart_version)
            .always("sourceRef", source_ref(&source))
            .with(
                "interval",
                (!chart_interval.is_zero())
                    .then(|| Value::from(flags::go_duration(chart_interval))),
            )
            .text("reconcileStrategy", &hr.reconcile_strategy);
        (Some(json!({ "spec": spec.build() })), None)
    };
    let install = Fields::new()
        .flag("createNamespace", create_namespace)
        .text("crds", if crds.is_some() { "Create" } else { "" })
        .build();
    let has_install = create_namespace || crds.is_some();
    let spec = Fields::new()
        .text("releaseName", &hr.release_name)
        .always("interval", Value::from(interval))
        .text("targetNamespace", &hr.target_namespace)
        .text("storageNamespace", storage_namespace)
        .with("dependsOn", depends_on(&hr.depends_on)?)
        .with("chart", chart)
        .with("chartRef", chart_ref)
        .with("kubeConfig", kube_config(&hr.kubeconfig_secret_ref))
        .with("install", has_install.then_some(install))
        .text("serviceAccountName", &hr.service_account)
        .with("upgrade", crds.map(|crds| json!({ "crds": crds })))
        .with("values", values(&hr.values_files)?)
        .with("valuesFrom", values_from(&hr.values_from)?);
    let release = object_json::<HelmRelease>(&metadata, spec.build())?;
    let steps = Steps::plain("HelmRelease");
    export_or_apply(args, release, steps, |ready: &HelmRelease| {
        Ok(vec![
            format!("HelmRelease {name} is ready"),
            ready.success_message(),
        ])
    })
}

/// `--chart-ref`: `<kind>/<name>[.<namespace>]`, kind OCIRepository or HelmChart.
fn chart_ref(text: &str) -> anyhow::Result<Value> {
    let (kind, name, namespace) = flags::parse_kind_name_namespace(text);
    if kind != "HelmChart" && kind != "OCIRepository" {
        bail!(
            "chart reference kind '{kind}' is not supported, must be one of: OCIRepository, HelmChart"
        );
    }
    Ok(source_ref(&SourceRef {
        kind,
        name,
        namespace,
    }))
}

/// `--values` files merged in order (nested maps merged, other values replaced).
fn values(files: &[String]) -> anyhow::Result<Option<Value>> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut merged = Value::Object(serde_json::Map::new());
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| {
            anyhow::anyhow!(
                "reading values from {file} failed: {}",
                flags::go_open_error(file, &e)
            )
        })?;
        let documents = tether_core::yaml::from_str_multi(&text)
            .with_context(|| format!("converting values to JSON from {file} failed"))?;
        let values = documents.into_iter().next().unwrap_or(Value::Null);
        match values {
            Value::Object(_) => merge(&mut merged, values),
            Value::Null => {}
            _ => bail!(
                "unmarshaling values from {file} failed: json: cannot unmarshal into Go value of type map[string]interface {{}}"
            ),
        }
    }
    Ok(Some(merged))
}

/// Helm's `MergeMaps`: maps merged key by key, anything else replaced.
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value);
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// `--values-from`: `<kind>/<name>`, kind Secret or ConfigMap (any case).
fn values_from(values: &[String]) -> anyhow::Result<Option<Value>> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut references = Vec::new();
    for value in values {
        let (kind, name) = flags::parse_kind_name(value);
        if kind.is_empty() {
            bail!("invalid Kubernetes object reference '{value}', must be in format <kind>/<name>");
        }
        let Some(kind) = ["Secret", "ConfigMap"]
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&kind))
        else {
            bail!("reference kind '{kind}' is not supported, must be one of: Secret, ConfigMap");
        };
        references.push(json!({ "kind": kind, "name": name }));
    }
    Ok(Some(Value::Array(references)))
}
