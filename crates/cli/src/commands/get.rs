//! `tether get sources git|oci|helm|chart`, `tether get kustomizations|helmreleases` and `tether get images
//! repository|policy|update|all`: the status tables of `flux get` (NAME and each kind's columns;
//! NAMESPACE first with `-A`; `kind/name` names in `images all`), with its `--status-selector`
//! and its messages when nothing matches.
//! `tether get sources git|oci|helm|chart`, `tether get kustomizations`, `tether get images
//! repository|policy|update|all` and `tether get alerts|alert-providers|receivers`: the status
//! tables of `flux get` (NAME and each kind's columns; NAMESPACE first with `-A`; `kind/name`
//! names in `images all`), with its `--status-selector` and its messages when nothing matches.

use super::cluster;
use super::output::{failure, render_table};
use super::toolkit::FluxObject;
use crate::cli::{GetArgs, GetImageKind, GetKind, GetSourceKind};
use anyhow::{Context, bail};
use k8s_openapi::jiff::tz::TimeZone;
use kube::api::{Api, ListParams};
use tether_api::helm::v2::HelmRelease;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_api::kustomize::v1::Kustomization;
use tether_api::notification::v1::Receiver;
use tether_api::notification::v1beta3::{Alert, Provider};
use tether_api::source::v1::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, OCIRepository,
};

pub fn run(args: GetArgs) -> anyhow::Result<()> {
    let all = matches!(
        args.kind,
        GetKind::All | GetKind::Sources(GetSourceKind::All) | GetKind::Images(GetImageKind::All)
    );
    if args.watch && all {
        bail!("expected a single resource type, but found all");
    }
    cluster::block_on(async {
        let table = match &args.kind {
            GetKind::Sources(GetSourceKind::Git { name }) => {
                table::<GitRepository>(&args, name.as_deref()).await?
            }
            GetKind::Sources(GetSourceKind::Oci { name }) => {
                table::<OCIRepository>(&args, name.as_deref()).await?
            }
            GetKind::Sources(GetSourceKind::Bucket { name }) => {
                table::<Bucket>(&args, name.as_deref()).await?
            }
            GetKind::Sources(GetSourceKind::Helm { name }) => {
                table::<HelmRepository>(&args, name.as_deref()).await?
            }
            GetKind::Sources(GetSourceKind::Chart { name }) => {
                table::<HelmChart>(&args, name.as_deref()).await?
            }
            GetKind::Sources(GetSourceKind::External { name }) => {
                table::<ExternalArtifact>(&args, name.as_deref()).await?
            }
            GetKind::Sources(GetSourceKind::All) => {
                print_tables(all_source_tables(&args).await);
                return Ok(());
            }
            GetKind::All => return print_everything(&args).await,
            GetKind::Kustomizations { name } => {
                table::<Kustomization>(&args, name.as_deref()).await?
            }
            GetKind::Helmreleases { name } => table::<HelmRelease>(&args, name.as_deref()).await?,
            GetKind::Images(GetImageKind::Repository { name }) => {
                table::<ImageRepository>(&args, name.as_deref()).await?
            }
            GetKind::Images(GetImageKind::Policy { name }) => {
                table::<ImagePolicy>(&args, name.as_deref()).await?
            }
            GetKind::Images(GetImageKind::Update { name }) => {
                table::<ImageUpdateAutomation>(&args, name.as_deref()).await?
            }
            GetKind::Images(GetImageKind::All) => return print_all_images(&args).await,
            GetKind::Alerts { name } => table::<Alert>(&args, name.as_deref()).await?,
            GetKind::AlertProviders { name } => table::<Provider>(&args, name.as_deref()).await?,
            GetKind::Receivers { name } => table::<Receiver>(&args, name.as_deref()).await?,
        };
        print!("{table}");
        Ok(())
    })
}

/// `flux get images all`: one table per kind, each followed by a blank line; kinds without
/// objects print nothing, and a kind that cannot be listed is reported and skipped.
async fn print_all_images(args: &GetArgs) -> anyhow::Result<()> {
    print_tables(all_image_tables(args).await);
    Ok(())
}

/// `flux get all`: the sources, the image automation objects, then HelmReleases,
/// Kustomizations, Receivers, Providers and Alerts, in Flux's order.
async fn print_everything(args: &GetArgs) -> anyhow::Result<()> {
    print_tables(all_source_tables(args).await);
    print_tables(all_image_tables(args).await);
    print_tables([
        table_of_all::<HelmRelease>(args).await,
        table_of_all::<Kustomization>(args).await,
        table_of_all::<Receiver>(args).await,
        table_of_all::<Provider>(args).await,
        table_of_all::<Alert>(args).await,
    ]);
    Ok(())
}

/// `flux get sources all`'s tables, in its order.
async fn all_source_tables(args: &GetArgs) -> [anyhow::Result<Option<String>>; 6] {
    [
        table_of_all::<OCIRepository>(args).await,
        table_of_all::<Bucket>(args).await,
        table_of_all::<GitRepository>(args).await,
        table_of_all::<HelmRepository>(args).await,
        table_of_all::<HelmChart>(args).await,
        table_of_all::<ExternalArtifact>(args).await,
    ]
}

async fn all_image_tables(args: &GetArgs) -> [anyhow::Result<Option<String>>; 3] {
    [
        table_of_all::<ImageRepository>(args).await,
        table_of_all::<ImagePolicy>(args).await,
        table_of_all::<ImageUpdateAutomation>(args).await,
    ]
}

/// Each table followed by a blank line; a kind that could not be listed is reported.
fn print_tables(tables: impl IntoIterator<Item = anyhow::Result<Option<String>>>) {
    for table in tables {
        match table {
            Ok(Some(table)) => println!("{table}"),
            Ok(None) => {}
            Err(error) => failure(&format!("{error:#}")),
        }
    }
}

/// The table of one kind, or Flux's error when no object is in scope. With `--watch`, the
/// rows are printed as the objects change, until the timeout.
async fn table<K: FluxObject>(args: &GetArgs, name: Option<&str>) -> anyhow::Result<String> {
    if args.watch {
        watch::<K>(args, name).await?;
        return Ok(String::new());
    }
    let selector = parse_selector(args)?;
    let objects = list::<K>(args, name).await?;
    if objects.is_empty() {
        let kind = K::kind(&());
        let scope = namespace_scope(args);
        match name {
            Some(name) => bail!("{kind} object '{name}' not found in {scope} namespace"),
            None => bail!("no {kind} objects found in {scope} namespace"),
        }
    }
    let rows = rows(&objects, selector.as_ref(), args.all_namespaces, false);
    Ok(render(args, K::SUMMARY_HEADERS, &rows))
}

/// The table of one kind within `get images all`: `None` when there is nothing to show, the
/// kind not being served included.
async fn table_of_all<K: FluxObject>(args: &GetArgs) -> anyhow::Result<Option<String>> {
    let selector = parse_selector(args)?;
    let objects = match list::<K>(args, None).await {
        Err(error) if is_not_served(&error) => return Ok(None),
        listed => listed?,
    };
    let rows = rows(&objects, selector.as_ref(), args.all_namespaces, true);
    Ok((!rows.is_empty()).then(|| render(args, K::SUMMARY_HEADERS, &rows)))
}

fn parse_selector(args: &GetArgs) -> anyhow::Result<Option<StatusSelector>> {
    let selector = args.status_selector.as_deref();
    selector.map(StatusSelector::parse).transpose()
}

fn rows<K: FluxObject>(
    objects: &[K],
    selector: Option<&StatusSelector>,
    include_namespace: bool,
    include_kind: bool,
) -> Vec<Vec<String>> {
    let zone = TimeZone::system();
    objects
        .iter()
        .filter(|o| selector.is_none_or(|s| s.matches(*o)))
        .map(|o| summary_row(o, include_namespace, include_kind, &zone))
        .collect()
}

fn render(args: &GetArgs, summary_headers: &[&'static str], rows: &[Vec<String>]) -> String {
    let header = headers(args.all_namespaces, summary_headers);
    render_table((!args.no_header).then_some(header.as_slice()), rows)
}

/// The objects in scope (all namespaces with `-A`), only `name` when given.
async fn list<K: FluxObject>(args: &GetArgs, name: Option<&str>) -> anyhow::Result<Vec<K>> {
    let client = cluster::client(&args.cluster).await?;
    let api: Api<K> = if args.all_namespaces {
        Api::all(client)
    } else {
        Api::namespaced(client, &args.cluster.namespace)
    };
    let mut params = ListParams::default();
    if let Some(name) = name {
        params = params.fields(&format!("metadata.name={name}"));
    }
    let kind = K::kind(&());
    let listed = api.list(&params).await;
    Ok(listed
        .with_context(|| format!("cannot list {kind} objects"))?
        .items)
}

/// `flux get --watch`: one row per event (the objects there are first, then every change),
/// the header before the first, each row padded on its own; fails with Flux's message when
/// the timeout ends the watch.
async fn watch<K: FluxObject>(args: &GetArgs, name: Option<&str>) -> anyhow::Result<()> {
    use futures::{StreamExt, TryStreamExt};
    use kube::api::{WatchEvent, WatchParams};
    use std::io::Write;
    let selector = parse_selector(args)?;
    let client = cluster::client(&args.cluster).await?;
    let api: Api<K> = if args.all_namespaces {
        Api::all(client)
    } else {
        Api::namespaced(client, &args.cluster.namespace)
    };
    let mut params = WatchParams::default();
    if let Some(name) = name {
        params = params.fields(&format!("metadata.name={name}"));
    }
    let kind = K::kind(&());
    let events = api.watch(&params, "0").await;
    let mut events = events
        .with_context(|| format!("cannot watch {kind} objects"))?
        .boxed();
    let deadline = tokio::time::sleep(args.cluster.timeout);
    tokio::pin!(deadline);
    let mut first = true;
    loop {
        let event = tokio::select! {
            _ = &mut deadline => bail!("timed out waiting for the condition"),
            event = events.try_next() => event?,
        };
        let object = match event {
            Some(WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o)) => o,
            Some(WatchEvent::Bookmark(_)) => continue,
            Some(WatchEvent::Error(status)) => bail!("{}", status.message),
            None => return Ok(()),
        };
        let rows = rows(&[object], selector.as_ref(), args.all_namespaces, false);
        let header = headers(args.all_namespaces, K::SUMMARY_HEADERS);
        let header = (first && !args.no_header).then_some(header.as_slice());
        print!("{}", render_table(header, &rows));
        std::io::stdout().flush()?;
        first = false;
    }
}

/// Whether listing failed because the API server does not serve the kind (no CRD).
fn is_not_served(error: &anyhow::Error) -> bool {
    let api_error = error.downcast_ref::<kube::Error>();
    matches!(api_error, Some(kube::Error::Api(status)) if status.code == 404)
}

/// `"namespace"` in Flux's messages, or `any` with `-A`.
fn namespace_scope(args: &GetArgs) -> String {
    if args.all_namespaces {
        "any".to_owned()
    } else {
        format!("{:?}", args.cluster.namespace)
    }
}

fn headers(include_namespace: bool, summary_headers: &[&'static str]) -> Vec<&'static str> {
    let namespace = include_namespace.then_some("NAMESPACE");
    let name = std::iter::once("NAME");
    let summary = summary_headers.iter().copied();
    namespace.into_iter().chain(name).chain(summary).collect()
}

/// One table row: `[NAMESPACE,] NAME` (`kind/NAME` with `include_kind`), then the kind's cells.
fn summary_row<K: FluxObject>(
    object: &K,
    include_namespace: bool,
    include_kind: bool,
    zone: &TimeZone,
) -> Vec<String> {
    let meta = object.meta();
    let mut row = Vec::with_capacity(2 + K::SUMMARY_HEADERS.len());
    if include_namespace {
        row.push(meta.namespace.clone().unwrap_or_default());
    }
    let name = meta.name.clone().unwrap_or_default();
    row.push(if include_kind {
        format!("{}/{name}", K::kind(&()).to_lowercase())
    } else {
        name
    });
    row.extend(object.summary(zone));
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

    /// Whether the object's last condition of the type has the status (or, negated, does not).
    fn matches<K: FluxObject>(&self, object: &K) -> bool {
        object.status_matches(&self.condition, &self.status) != self.negated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHA: &str = "67e2c98a60dc92283531412a9e604dd4bae005a9";

    fn kustomization(name: &str, status: serde_json::Value) -> Kustomization {
        let object = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"interval": "10m", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}},
            "status": status,
        });
        serde_json::from_value(object).expect("a valid Kustomization")
    }

    fn ready_condition(status: &str, message: &str) -> serde_json::Value {
        json!([{"type": "Ready", "status": status, "reason": "R", "message": message,
                "lastTransitionTime": "2024-01-01T00:00:00Z"}])
    }

    fn ready(status: &str, message: &str) -> serde_json::Value {
        json!({"conditions": ready_condition(status, message),
               "lastAppliedRevision": format!("6.3.5@sha1:{SHA}")})
    }

    /// The table of `objects` as `flux get <kind>` prints it, times in UTC.
    fn table_of<K: FluxObject>(objects: &[K], all_namespaces: bool, all: bool) -> String {
        let header = headers(all_namespaces, K::SUMMARY_HEADERS);
        let rows: Vec<_> = objects
            .iter()
            .map(|o| summary_row(o, all_namespaces, all, &TimeZone::UTC))
            .collect();
        render_table(Some(&header), &rows)
    }

    #[test]
    fn kustomization_table_matches_flux() {
        let ks = kustomization(
            "tkfg",
            ready("True", &format!("Applied revision: 6.3.5@sha1:{SHA}")),
        );
        // cmd/flux/testdata/kustomization/get_kustomization_from_git.golden
        let expected = concat!(
            "NAME\tREVISION           \tSUSPENDED\tREADY\tMESSAGE                               \n",
            "tkfg\t6.3.5@sha1:67e2c98a\tFalse    \tTrue \tApplied revision: 6.3.5@sha1:67e2c98a\t\n",
        );
        assert_eq!(table_of(&[ks], false, false), expected);
    }

    #[test]
    fn all_namespaces_puts_the_namespace_first_and_unreconciled_objects_wait() {
        let mut ks = kustomization("app", json!({}));
        ks.spec.suspend = Some(true);
        assert_eq!(headers(true, REVISION)[..2], ["NAMESPACE", "NAME"]);
        assert_eq!(
            summary_row(&ks, true, false, &TimeZone::UTC),
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

    const REVISION: &[&str] = &["REVISION", "SUSPENDED", "READY", "MESSAGE"];

    fn policy(name: &str, tag: &str, digest: Option<&str>, message: &str) -> ImagePolicy {
        let mut latest = json!({"name": "ghcr.io/stefanprodan/podinfo", "tag": tag});
        if let Some(digest) = digest {
            latest["digest"] = json!(digest);
        }
        serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"imageRepositoryRef": {"name": "podinfo"},
                     "policy": {"semver": {"range": "5.0.x"}}},
            "status": {"latestRef": latest, "conditions": ready_condition("True", message)},
        }))
        .expect("a valid ImagePolicy")
    }

    #[test]
    fn image_policy_tables_match_flux_goldens() {
        let regex = policy(
            "podinfo-regex",
            "5.0.0",
            None,
            "Latest image tag for ghcr.io/stefanprodan/podinfo resolved to 5.0.0",
        );
        // cmd/flux/testdata/image/get_image_policy_regex.golden
        let expected = concat!(
            "NAME         \tIMAGE                       \tTAG  \tREADY\tMESSAGE                                                             \n",
            "podinfo-regex\tghcr.io/stefanprodan/podinfo\t5.0.0\tTrue \tLatest image tag for ghcr.io/stefanprodan/podinfo resolved to 5.0.0\t\n",
        );
        assert_eq!(table_of(&[regex], false, false), expected);

        let digest = "sha256:8704da90172710d422af855049175c1a8295731cbe2ad3b9a1c1074feecf8c10";
        let semver = policy(
            "podinfo-semver",
            "5.0.3",
            Some(digest),
            &format!(
                "Latest image tag for ghcr.io/stefanprodan/podinfo resolved to 5.0.3 with digest {digest}"
            ),
        );
        // cmd/flux/testdata/image/get_image_policy_semver.golden: digests are not shortened.
        let expected = concat!(
            "NAME          \tIMAGE                       \tTAG  \tREADY\tMESSAGE                                                                                                                                                 \n",
            "podinfo-semver\tghcr.io/stefanprodan/podinfo\t5.0.3\tTrue \tLatest image tag for ghcr.io/stefanprodan/podinfo resolved to 5.0.3 with digest sha256:8704da90172710d422af855049175c1a8295731cbe2ad3b9a1c1074feecf8c10\t\n",
        );
        assert_eq!(table_of(&[semver], false, false), expected);
    }

    fn repository(suspend: bool, status: serde_json::Value) -> ImageRepository {
        serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "podinfo", "namespace": "apps"},
            "spec": {"image": "ghcr.io/stefanprodan/podinfo", "interval": "1m", "suspend": suspend},
            "status": status,
        }))
        .expect("a valid ImageRepository")
    }

    #[test]
    fn image_repository_table_shows_the_scan_time_in_rfc3339() {
        let scanned = repository(
            false,
            json!({"lastScanResult": {"tagCount": 3, "scanTime": "2024-05-01T10:00:00.5Z"},
                   "conditions": ready_condition("True", "successful scan: found 3 tags")}),
        );
        let expected = concat!(
            "NAMESPACE\tNAME   \tLAST SCAN           \tSUSPENDED\tREADY\tMESSAGE                       \n",
            "apps     \tpodinfo\t2024-05-01T10:00:00Z\tFalse    \tTrue \tsuccessful scan: found 3 tags\t\n",
        );
        assert_eq!(table_of(&[scanned], true, false), expected);
        let waiting = repository(true, json!({}));
        assert_eq!(
            summary_row(&waiting, false, false, &TimeZone::UTC),
            ["podinfo", "", "True", "False", "waiting to be reconciled"]
        );
    }

    #[test]
    fn image_update_table_shows_the_last_run_and_all_names_carry_the_kind() {
        let automation: ImageUpdateAutomation = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"interval": "10m", "sourceRef": {"kind": "GitRepository", "name": "app"}},
            "status": {"lastAutomationRunTime": "2024-05-01T10:00:00Z",
                       "conditions": ready_condition("True", "repository up-to-date")},
        }))
        .expect("a valid ImageUpdateAutomation");
        let expected = concat!(
            "NAME                         \tLAST RUN            \tSUSPENDED\tREADY\tMESSAGE               \n",
            "imageupdateautomation/podinfo\t2024-05-01T10:00:00Z\tFalse    \tTrue \trepository up-to-date\t\n",
        );
        assert_eq!(table_of(&[automation], false, true), expected);
    }

    fn helm_release(status: serde_json::Value) -> HelmRelease {
        serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "thrfg", "namespace": "flux-system"},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "podinfo",
                "sourceRef": {"kind": "GitRepository", "name": "thrfg"}}}},
            "status": status,
        }))
        .expect("a valid HelmRelease")
    }

    #[test]
    fn helm_release_table_matches_flux_golden() {
        let message =
            "Helm install succeeded for release thrfg-1/thrfg.v1 with chart podinfo@6.3.5";
        let snapshot = json!({"name": "thrfg", "namespace": "thrfg-1", "version": 1,
            "status": "deployed", "chartName": "podinfo", "chartVersion": "6.3.5",
            "digest": "sha256:0", "configDigest": "sha256:1",
            "firstDeployed": "2024-01-01T00:00:00Z", "lastDeployed": "2024-01-01T00:00:00Z"});
        let installed = helm_release(json!({"history": [snapshot],
            "lastAttemptedRevision": "6.3.4", "conditions": ready_condition("True", message)}));
        // cmd/flux/testdata/helmrelease/get_helmrelease_from_git.golden
        let expected = concat!(
            "NAME \tREVISION\tSUSPENDED\tREADY\tMESSAGE                                                                      \n",
            "thrfg\t6.3.5   \tFalse    \tTrue \tHelm install succeeded for release thrfg-1/thrfg.v1 with chart podinfo@6.3.5\t\n",
        );
        assert_eq!(table_of(&[installed], false, false), expected);
        let attempted = helm_release(json!({"lastAttemptedRevision": "6.3.4"}));
        assert_eq!(
            summary_row(&attempted, false, false, &TimeZone::UTC),
            [
                "thrfg",
                "6.3.4",
                "False",
                "False",
                "waiting to be reconciled"
            ]
        );
    }

    #[test]
    fn only_an_unserved_kind_is_skipped_by_get_all() {
        let api_error = |code: u16| -> anyhow::Result<()> {
            let status: kube::core::Status = serde_json::from_value(json!({
                "status": "Failure", "code": code, "message": "m", "reason": "r"}))
            .expect("a valid Status");
            Err(kube::Error::Api(Box::new(status))).context("cannot list ImagePolicy objects")
        };
        let unserved = api_error(404).expect_err("an error");
        assert!(is_not_served(&unserved));
        let forbidden = api_error(403).expect_err("an error");
        assert!(!is_not_served(&forbidden));
    }

    #[test]
    fn status_selector_matches_case_insensitively_and_negates() {
        let failed = kustomization("a", ready("False", "boom"));
        let selector = StatusSelector::parse("ready=false").expect("valid");
        assert!(selector.matches(&failed));
        let not_true = StatusSelector::parse("Ready!=True").expect("valid");
        assert!(not_true.negated);
        assert!(not_true.matches(&failed));
        assert!(not_true.matches(&kustomization("b", json!({}))));
        assert!(StatusSelector::parse("ready").is_err());
    }
}
