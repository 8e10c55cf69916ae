//! `tether get sources git` and `tether get kustomizations`: the status tables of `flux get`
//! (NAME, REVISION, SUSPENDED, READY, MESSAGE; NAMESPACE first with `-A`), with its
//! `--status-selector` and its messages when nothing matches.

use super::cluster;
use super::output::{render_table, truncate_hex};
use super::toolkit::FluxObject;
use crate::cli::{GetArgs, GetKind, GetSourceKind};
use anyhow::{Context, bail};
use kube::api::{Api, ListParams};
use tether_api::kustomize::v1::Kustomization;
use tether_api::source::v1::GitRepository;

const COLUMNS: [&str; 5] = ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"];

pub fn run(args: GetArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        let table = match &args.kind {
            GetKind::Sources(GetSourceKind::Git { name }) => {
                table::<GitRepository>(&args, name.as_deref()).await?
            }
            GetKind::Kustomizations { name } => {
                table::<Kustomization>(&args, name.as_deref()).await?
            }
        };
        print!("{table}");
        Ok(())
    })
}

async fn table<K: FluxObject>(args: &GetArgs, name: Option<&str>) -> anyhow::Result<String> {
    let selector = args
        .status_selector
        .as_deref()
        .map(StatusSelector::parse)
        .transpose()?;
    let objects = list::<K>(args, name).await?;
    let rows: Vec<Vec<String>> = objects
        .iter()
        .filter(|o| selector.as_ref().is_none_or(|s| s.matches(*o)))
        .map(|o| summary_row(o, args.all_namespaces))
        .collect();
    let header = headers(args.all_namespaces);
    Ok(render_table(
        (!args.no_header).then_some(header.as_slice()),
        &rows,
    ))
}

/// The objects in scope, or Flux's error when there are none.
async fn list<K: FluxObject>(args: &GetArgs, name: Option<&str>) -> anyhow::Result<Vec<K>> {
    let client = cluster::client(&args.cluster).await?;
    let namespace = &args.cluster.namespace;
    let api: Api<K> = if args.all_namespaces {
        Api::all(client)
    } else {
        Api::namespaced(client, namespace)
    };
    let mut params = ListParams::default();
    if let Some(name) = name {
        params = params.fields(&format!("metadata.name={name}"));
    }
    let kind = K::kind(&());
    let objects = api
        .list(&params)
        .await
        .with_context(|| format!("cannot list {kind} objects"))?
        .items;
    if objects.is_empty() {
        let scope = if args.all_namespaces {
            "any".to_owned()
        } else {
            format!("{namespace:?}")
        };
        match name {
            Some(name) => bail!("{kind} object '{name}' not found in {scope} namespace"),
            None => bail!("no {kind} objects found in {scope} namespace"),
        }
    }
    Ok(objects)
}

fn headers(include_namespace: bool) -> Vec<&'static str> {
    let namespace = include_namespace.then_some("NAMESPACE");
    namespace.into_iter().chain(COLUMNS).collect()
}

/// One table row: `[NAMESPACE,] NAME, REVISION, SUSPENDED, READY, MESSAGE`.
fn summary_row<K: FluxObject>(object: &K, include_namespace: bool) -> Vec<String> {
    let meta = object.meta();
    let mut row = Vec::with_capacity(6);
    if include_namespace {
        row.push(meta.namespace.clone().unwrap_or_default());
    }
    let (ready, message) = match object.condition("Ready") {
        Some(c) => (c.status.clone(), c.message.clone()),
        None => ("False".to_owned(), "waiting to be reconciled".to_owned()),
    };
    let suspended = if object.suspended() { "True" } else { "False" };
    row.extend([
        meta.name.clone().unwrap_or_default(),
        truncate_hex(object.revision().unwrap_or_default()),
        suspended.to_owned(),
        ready,
        truncate_hex(&message),
    ]);
    row
}

/// `--status-selector type=status` or `type!=status`, both compared case-insensitively.
#[derive(Debug, PartialEq)]
struct StatusSelector {
    condition: String,
    status: String,
    negated: bool,
}

impl StatusSelector {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let (parts, negated) = match text.split_once("!=") {
            Some(parts) => (Some(parts), true),
            None => (text.split_once('='), false),
        };
        let Some((condition, status)) = parts else {
            bail!(
                "expected status selector in type=status or type!=status format, but found: {text}"
            );
        };
        Ok(Self {
            condition: condition.to_owned(),
            status: status.to_owned(),
            negated,
        })
    }

    /// Whether the last condition of the type has the status (or, negated, does not).
    fn matches<K: FluxObject>(&self, object: &K) -> bool {
        let found = object
            .conditions()
            .iter()
            .rev()
            .find(|c| c.type_.eq_ignore_ascii_case(&self.condition))
            .is_some_and(|c| c.status.eq_ignore_ascii_case(&self.status));
        found != self.negated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "67e2c98a60dc92283531412a9e604dd4bae005a9";

    fn kustomization(name: &str, status: serde_json::Value) -> Kustomization {
        let object = serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"interval": "10m", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}},
            "status": status,
        });
        serde_json::from_value(object).expect("a valid Kustomization")
    }

    fn ready(status: &str, message: &str) -> serde_json::Value {
        serde_json::json!({"conditions": [{"type": "Ready", "status": status, "reason": "R",
            "message": message, "lastTransitionTime": "2024-01-01T00:00:00Z"}],
            "lastAppliedRevision": format!("6.3.5@sha1:{SHA}")})
    }

    #[test]
    fn kustomization_table_matches_flux() {
        let ks = kustomization(
            "tkfg",
            ready("True", &format!("Applied revision: 6.3.5@sha1:{SHA}")),
        );
        let table = render_table(Some(&headers(false)), &[summary_row(&ks, false)]);
        // cmd/flux/testdata/kustomization/get_kustomization_from_git.golden
        let expected = concat!(
            "NAME\tREVISION           \tSUSPENDED\tREADY\tMESSAGE                               \n",
            "tkfg\t6.3.5@sha1:67e2c98a\tFalse    \tTrue \tApplied revision: 6.3.5@sha1:67e2c98a\t\n",
        );
        assert_eq!(table, expected);
    }

    #[test]
    fn all_namespaces_puts_the_namespace_first_and_unreconciled_objects_wait() {
        let mut ks = kustomization("app", serde_json::json!({}));
        ks.spec.suspend = Some(true);
        assert_eq!(headers(true)[0], "NAMESPACE");
        assert_eq!(
            summary_row(&ks, true),
            [
                "flux-system",
                "app",
                "",
                "True",
                "False",
                "waiting to be reconciled"
            ]
        );
    }

    #[test]
    fn status_selector_matches_case_insensitively_and_negates() {
        let failed = kustomization("a", ready("False", "boom"));
        let selector = StatusSelector::parse("ready=false").expect("valid");
        assert!(selector.matches(&failed));
        let not_true = StatusSelector::parse("Ready!=True").expect("valid");
        assert!(not_true.negated);
        assert!(not_true.matches(&failed));
        assert!(not_true.matches(&kustomization("b", serde_json::json!({}))));
        assert!(StatusSelector::parse("ready").is_err());
    }
}
