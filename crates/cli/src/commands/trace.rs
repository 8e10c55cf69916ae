//! `tether trace`: from a cluster object to the Kustomization or HelmRelease that applied it
//! (its owner labels, or those of an owner up its ownerReferences) and on to the source and
//! revision, printed as `flux trace` prints it.

use super::cluster;
use crate::cli::TraceArgs;
use anyhow::{Context, bail};
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use serde_json::Value;
use std::fmt::Write;

pub fn run(args: TraceArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let namespace = args.cluster.namespace.as_str();
        let (resource, name) = target(&client, &args).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        let object = api.get_opt(&name).await?.with_context(|| {
            format!(
                "failed to find object: {}.{} \"{name}\" not found",
                resource.plural, resource.group
            )
        })?;
        let object = serde_json::to_value(object)?;
        let tracer = Tracer {
            client,
            kind: resource.kind.clone(),
        };
        print!("{}", tracer.trace(&object).await?);
        Ok(())
    })
}

/// The resource and name asked for: `--kind` and `--api-version` with a name, or kubectl's
/// `TYPE NAME` / `TYPE/NAME` resolved through discovery.
async fn target(client: &kube::Client, args: &TraceArgs) -> anyhow::Result<(ApiResource, String)> {
    if let Some(kind) = &args.kind {
        let name = args.object.first().context("object name is required")?;
        let api_version = args.api_version.as_deref();
        let api_version = api_version.context("object apiVersion is required (--api-version)")?;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        return Ok((ApiResource::from_gvk(&gvk), name.clone()));
    }
    let (type_, name) = match args.object.as_slice() {
        [one] => one
            .split_once('/')
            .map(|(t, n)| (t.to_owned(), n.to_owned())),
        [type_, name] => Some((type_.clone(), name.clone())),
        _ => None,
    }
    .context("either `<resource>/<name>` or `<resource> <name>` is required as an argument")?;
    let discovery = Discovery::new(client.clone()).run().await?;
    let matches = |r: &ApiResource| {
        [&r.kind, &r.plural]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&type_))
            || r.kind.eq_ignore_ascii_case(type_.trim_end_matches('s'))
    };
    let found = discovery.groups().find_map(|group| {
        let (resource, caps) = group
            .recommended_resources()
            .into_iter()
            .find(|(r, _)| matches(r))?;
        (caps.scope == Scope::Namespaced).then_some(resource)
    });
    let resource =
        found.with_context(|| format!("the server doesn't have a resource type \"{type_}\""))?;
    Ok((resource, name))
}

struct Tracer {
    client: kube::Client,
    kind: String,
}

/// A Kubernetes API object read as JSON, by kind and API version.
async fn read(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Value> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let object = api
        .get(name)
        .await
        .with_context(|| format!("failed to find {kind}"))?;
    Ok(serde_json::to_value(object)?)
}

impl Tracer {
    async fn trace(&self, object: &Value) -> anyhow::Result<String> {
        let (name, namespace) = (
            text(object, "/metadata/name"),
            text(object, "/metadata/namespace"),
        );
        let mut out = format!("\nObject:          {}/{name}\n", self.kind);
        if let Some(ks) = self.applier(object, "kustomize.toolkit.fluxcd.io").await {
            if !namespace.is_empty() {
                let _ = writeln!(out, "Namespace:       {namespace}");
            }
            out.push_str("Status:          Managed by Flux\n");
            return self.kustomization(out, ks).await;
        }
        if let Some(hr) = self.applier(object, "helm.toolkit.fluxcd.io").await {
            let mut out = format!("\nObject:         {}/{name}\n", self.kind);
            if !namespace.is_empty() {
                let _ = writeln!(out, "Namespace:      {namespace}");
            }
            out.push_str("Status:         Managed by Flux\n");
            return self.helm_release(out, hr).await;
        }
        bail!(
            "failed to trace {}/{name} in namespace {namespace}: object not managed by Flux",
            self.kind
        )
    }

    /// The `(namespace, name)` of the Kustomization or HelmRelease (`group`) that applied the
    /// object or one of its owners.
    async fn applier(&self, object: &Value, group: &str) -> Option<(String, String)> {
        let mut current = object.clone();
        for _ in 0..8 {
            let labels = &current["metadata"]["labels"];
            if let Some(name) = labels[format!("{group}/name")].as_str() {
                let namespace = labels[format!("{group}/namespace")]
                    .as_str()
                    .unwrap_or_default();
                return Some((namespace.to_owned(), name.to_owned()));
            }
            let owner = current["metadata"]["ownerReferences"].get(0)?.clone();
            let namespace = text(&current, "/metadata/namespace");
            let (api_version, kind) = (text(&owner, "/apiVersion"), text(&owner, "/kind"));
            current = read(
                &self.client,
                &api_version,
                &kind,
                &namespace,
                &text(&owner, "/name"),
            )
            .await
            .ok()?;
        }
        None
    }

    async fn kustomization(
        &self,
        mut out: String,
        (ns, name): (String, String),
    ) -> anyhow::Result<String> {
        let ks = read(
            &self.client,
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            &ns,
            &name,
        )
        .await?;
        out.push_str("---\n");
        let _ = writeln!(out, "Kustomization:   {name}\nNamespace:       {ns}");
        if let Some(target) = ks["spec"]["targetNamespace"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            let _ = writeln!(out, "Target:          {target}");
        }
        let _ = writeln!(out, "Path:            {}", text(&ks, "/spec/path"));
        let _ = writeln!(
            out,
            "Revision:        {}",
            text(&ks, "/status/lastAppliedRevision")
        );
        ready_lines(&mut out, &ks, 17, false);
        let source = &ks["spec"]["sourceRef"];
        let kind = text(source, "/kind");
        let source_ns = source["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(&ns);
        let source_name = text(source, "/name");
        let source = read(
            &self.client,
            "source.toolkit.fluxcd.io/v1",
            &kind,
            source_ns,
            &source_name,
        )
        .await?;
        out.push_str("---\n");
        let header = format!("{kind}:");
        let _ = writeln!(
            out,
            "{header:<17}{source_name}\nNamespace:       {source_ns}"
        );
        match kind.as_str() {
            "GitRepository" | "OCIRepository" => {
                let _ = writeln!(out, "URL:             {}", text(&source, "/spec/url"));
                reference_line(&mut out, &source, 17);
                if let Some(revision) = source["status"]["artifact"]["revision"].as_str() {
                    let _ = writeln!(out, "Revision:        {revision}");
                }
                if kind == "OCIRepository" {
                    origin_lines(&mut out, &source);
                }
            }
            _ => {
                let from = &source["spec"]["sourceRef"];
                let (k, n, name) = (
                    text(from, "/kind"),
                    text(from, "/namespace"),
                    text(from, "/name"),
                );
                let _ = writeln!(out, "Source:          {k}/{n}/{name}");
                if let Some(revision) = source["status"]["artifact"]["revision"].as_str() {
                    let _ = writeln!(out, "Revision:        {revision}");
                }
                origin_lines(&mut out, &source);
            }
        }
        ready_lines(&mut out, &source, 17, true);
        Ok(out)
    }

    async fn helm_release(
        &self,
        mut out: String,
        (ns, name): (String, String),
    ) -> anyhow::Result<String> {
        let hr = read(
            &self.client,
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            &ns,
            &name,
        )
        .await?;
        out.push_str("---\n");
        let _ = writeln!(out, "HelmRelease:    {name}\nNamespace:      {ns}");
        if let Some(target) = hr["spec"]["targetNamespace"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            let _ = writeln!(out, "Target:         {target}");
        }
        let _ = writeln!(
            out,
            "Revision:       {}",
            text(&hr, "/status/lastAttemptedRevision")
        );
        ready_lines(&mut out, &hr, 16, false);
        if let Some((chart_ns, chart_name)) = hr["status"]["helmChart"]
            .as_str()
            .and_then(|c| c.split_once('/'))
        {
            let chart = read(
                &self.client,
                "source.toolkit.fluxcd.io/v1",
                "HelmChart",
                chart_ns,
                chart_name,
            )
            .await?;
            out.push_str("---\n");
            let _ = writeln!(
                out,
                "HelmChart:      {chart_name}\nNamespace:      {chart_ns}"
            );
            let _ = writeln!(out, "Chart:          {}", text(&chart, "/spec/chart"));
            let _ = writeln!(out, "Version:        {}", text(&chart, "/spec/version"));
            if let Some(revision) = chart["status"]["artifact"]["revision"].as_str() {
                let _ = writeln!(out, "Revision:       {revision}");
            }
            ready_lines(&mut out, &chart, 16, false);
        }
        let source = &hr["spec"]["chart"]["spec"]["sourceRef"];
        let kind = text(source, "/kind");
        let source_ns = source["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(&ns)
            .to_owned();
        let source_name = text(source, "/name");
        match kind.as_str() {
            "HelmRepository" => {
                let repo = read(
                    &self.client,
                    "source.toolkit.fluxcd.io/v1",
                    &kind,
                    &source_ns,
                    &source_name,
                )
                .await?;
                out.push_str("---\n");
                let _ = writeln!(
                    out,
                    "HelmRepository: {source_name}\nNamespace:      {source_ns}"
                );
                let _ = writeln!(out, "URL:            {}", text(&repo, "/spec/url"));
                if let Some(revision) = repo["status"]["artifact"]["revision"].as_str() {
                    let _ = writeln!(out, "Revision:       {revision}");
                }
                ready_lines(&mut out, &repo, 16, false);
            }
            "GitRepository" => {
                let git = read(
                    &self.client,
                    "source.toolkit.fluxcd.io/v1",
                    &kind,
                    &source_ns,
                    &source_name,
                )
                .await?;
                out.push_str("---\n");
                let _ = writeln!(
                    out,
                    "GitRepository: {source_name}\nNamespace:     {source_ns}"
                );
                let _ = writeln!(out, "URL:           {}", text(&git, "/spec/url"));
                reference_line(&mut out, &git, 15);
                if let Some(revision) = git["status"]["artifact"]["revision"].as_str() {
                    let _ = writeln!(out, "Revision:      {revision}");
                }
                ready_lines(&mut out, &git, 15, true);
            }
            _ => {}
        }
        Ok(out)
    }
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `Tag:` (tag or semver), `Branch:` or `Digest:` of a source's `spec.ref`.
fn reference_line(out: &mut String, source: &Value, width: usize) {
    let reference = &source["spec"]["ref"];
    let shown = [
        ("tag", "Tag:"),
        ("semver", "Tag:"),
        ("branch", "Branch:"),
        ("digest", "Digest:"),
    ]
    .into_iter()
    .find_map(|(key, label)| {
        reference[key]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(|v| (label, v))
    });
    if let Some((label, value)) = shown {
        let _ = writeln!(out, "{label:<width$}{value}");
    }
}

/// `Origin Revision:` and `Origin Source:` from an artifact's metadata, when it has any; as
/// Flux's template does, an annotation that is missing leaves an empty line.
fn origin_lines(out: &mut String, source: &Value) {
    let metadata = &source["status"]["artifact"]["metadata"];
    if metadata.as_object().is_none_or(|m| m.is_empty()) {
        return;
    }
    for (label, key) in [
        ("Origin Revision: ", "org.opencontainers.image.revision"),
        ("Origin Source:   ", "org.opencontainers.image.source"),
    ] {
        match metadata[key].as_str() {
            Some(value) => {
                let _ = writeln!(out, "{label}{value}");
            }
            None => out.push('\n'),
        }
    }
}

/// `Status:` and `Message:` of the Ready condition (`Unknown` without one); with
/// `says_failed`, a False condition reads "Last reconciliation failed at".
fn ready_lines(out: &mut String, object: &Value, width: usize, says_failed: bool) {
    let conditions = object["status"]["conditions"].as_array();
    let ready = conditions.and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let Some(ready) = ready else {
        let _ = writeln!(out, "{:<width$}Unknown", "Status:");
        return;
    };
    let at = go_time(&text(ready, "/lastTransitionTime"));
    let verb = match says_failed && ready["status"] == "False" {
        true => "Last reconciliation failed at",
        false => "Last reconciled at",
    };
    let _ = writeln!(out, "{:<width$}{verb} {at}", "Status:");
    let _ = writeln!(out, "{:<width$}{}", "Message:", text(ready, "/message"));
}

/// An RFC 3339 time as Go prints a `metav1.Time` (`2006-01-02 15:04:05 +0000 UTC`), in the
/// local zone as Go converts it.
fn go_time(rfc3339: &str) -> String {
    match rfc3339.parse::<Timestamp>() {
        Ok(time) => time
            .to_zoned(TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S %z %Z")
            .to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}
