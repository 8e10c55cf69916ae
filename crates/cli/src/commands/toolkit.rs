//! What the Flux verbs need to know of each toolkit kind (GitRepository, OCIRepository,
//! Bucket, HelmRepository, HelmChart, Kustomization, HelmRelease, ImageRepository, ImagePolicy,
//! ImageUpdateAutomation, Alert, Provider, Receiver): how Flux names it in messages, its
//! suspension, conditions, handled reconcile request, the cells of its `flux get` row and what
//! `flux reconcile` prints on success.

use super::output::truncate_hex;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::serde::Serialize;
use k8s_openapi::serde::de::DeserializeOwned;
use std::fmt::Debug;
use tether_api::helm::v2::HelmRelease;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_api::kustomize::v1::Kustomization;
use tether_api::notification::v1::Receiver;
use tether_api::notification::v1beta3::{Alert, Provider};
use tether_api::source::v1::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, HelmRepositoryType,
    OCIRepository,
};

/// A namespaced Flux object the verbs work on.
pub trait FluxObject:
    kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
{
    /// How `flux suspend` / `flux resume` name the kind: `kustomization`, `source git`,
    /// `image repository`.
    const HUMAN_KIND: &'static str;
    /// The headers `flux get` prints after NAME (upper-cased, as its table printer does).
    const SUMMARY_HEADERS: &'static [&'static str];

    /// Whether `spec.suspend` is set.
    fn suspended(&self) -> bool;
    /// `status.conditions`, empty before the first reconcile.
    fn conditions(&self) -> &[Condition];
    /// `status.lastHandledReconcileAt`.
    fn last_handled_reconcile_at(&self) -> Option<&str>;
    /// `status.observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// The cells of the `flux get` row after NAME, one per [`Self::SUMMARY_HEADERS`]; times are
    /// shown in `zone`, as Go shows them in the local zone.
    fn summary(&self, zone: &TimeZone) -> Vec<String>;
    /// What Flux prints after a successful reconcile: `fetched revision …`, `scan fetched N tags`.
    fn success_message(&self) -> String;

    /// Whether no controller reconciles the object (Flux's `isStatic`: an OCI HelmRepository).
    fn is_static(&self) -> bool {
        false
    }

    /// Whether `--status-selector type=status` selects the object: its last condition of the
    /// type (compared case-insensitively) has the status. An object without a reconciler is
    /// only ever `Ready=True` (Flux's `readyStatusMatches`).
    fn status_matches(&self, type_: &str, status: &str) -> bool {
        if self.is_static() {
            return type_.eq_ignore_ascii_case("Ready") && status.eq_ignore_ascii_case("True");
        }
        self.conditions()
            .iter()
            .rev()
            .find(|c| c.type_.eq_ignore_ascii_case(type_))
            .is_some_and(|c| c.status.eq_ignore_ascii_case(status))
    }

    /// The last condition of `type_`, as Flux's `FindStatusCondition` finds it.
    fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions().iter().find(|c| c.type_ == type_)
    }

    /// The Ready condition's status and message, `False` / `waiting to be reconciled` without
    /// one (Flux's `statusAndMessage`).
    fn ready_and_message(&self) -> (String, String) {
        match self.condition("Ready") {
            Some(c) => (c.status.clone(), c.message.clone()),
            None => ("False".to_owned(), "waiting to be reconciled".to_owned()),
        }
    }
}

const REVISION_HEADERS: &[&str] = &["REVISION", "SUSPENDED", "READY", "MESSAGE"];

/// `True` / `False`, as Flux title-cases a Go bool.
fn title_case(value: bool) -> String {
    let text = if value { "True" } else { "False" };
    text.to_owned()
}

/// Go's `time.RFC3339` in `zone`: seconds precision, `Z` for UTC, else `+hh:mm`.
pub fn rfc3339(time: &Time, zone: &TimeZone) -> String {
    let zoned = time.0.to_zoned(zone.clone());
    let local = zoned.strftime("%Y-%m-%dT%H:%M:%S");
    if zoned.offset().seconds() == 0 {
        format!("{local}Z")
    } else {
        format!("{local}{}", zoned.strftime("%:z"))
    }
}

/// The row of sources and Kustomizations: revision and message with digests shortened.
fn revision_summary<K: FluxObject>(object: &K, revision: Option<&str>) -> Vec<String> {
    let (ready, message) = object.ready_and_message();
    vec![
        truncate_hex(revision.unwrap_or_default()),
        title_case(object.suspended()),
        ready,
        truncate_hex(&message),
    ]
}

/// The accessors every Flux kind shares: `spec.suspend` and the status fields of the same names.
macro_rules! shared_accessors {
    () => {
        fn suspended(&self) -> bool {
            self.spec.suspend.unwrap_or(false)
        }

        fn conditions(&self) -> &[Condition] {
            let conditions = self.status.as_ref().and_then(|s| s.conditions.as_deref());
            conditions.unwrap_or_default()
        }

        fn last_handled_reconcile_at(&self) -> Option<&str> {
            self.status.as_ref()?.last_handled_reconcile_at.as_deref()
        }

        fn observed_generation(&self) -> Option<i64> {
            self.status.as_ref()?.observed_generation
        }
    };
}

impl FluxObject for GitRepository {
    const HUMAN_KIND: &'static str = "source git";
    const SUMMARY_HEADERS: &'static [&'static str] = REVISION_HEADERS;

    shared_accessors!();

    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        revision_summary(self, artifact_revision(self))
    }

    fn success_message(&self) -> String {
        let revision = artifact_revision(self).unwrap_or_default();
        format!("fetched revision {revision}")
    }
}

fn artifact_revision(source: &GitRepository) -> Option<&str> {
    Some(source.status.as_ref()?.artifact.as_ref()?.revision.as_str())
}

impl FluxObject for OCIRepository {
    const HUMAN_KIND: &'static str = "source oci";
    const SUMMARY_HEADERS: &'static [&'static str] = REVISION_HEADERS;

    shared_accessors!();

    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        revision_summary(self, oci_artifact_revision(self))
    }

    fn success_message(&self) -> String {
        let revision = oci_artifact_revision(self).unwrap_or_default();
        format!("fetched revision {revision}")
    }
}

fn oci_artifact_revision(source: &OCIRepository) -> Option<&str> {
    Some(source.status.as_ref()?.artifact.as_ref()?.revision.as_str())
}

impl FluxObject for Bucket {
    const HUMAN_KIND: &'static str = "source bucket";
    const SUMMARY_HEADERS: &'static [&'static str] = REVISION_HEADERS;

    shared_accessors!();

    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        revision_summary(self, bucket_artifact_revision(self))
    }

    fn success_message(&self) -> String {
        let revision = bucket_artifact_revision(self).unwrap_or_default();
        format!("fetched revision {revision}")
    }
}

fn bucket_artifact_revision(source: &Bucket) -> Option<&str> {
    Some(source.status.as_ref()?.artifact.as_ref()?.revision.as_str())
}

/// An ExternalArtifact has no `suspend` and no reconcile request: its producer writes it.
impl FluxObject for ExternalArtifact {
    const HUMAN_KIND: &'static str = "source external";
    const SUMMARY_HEADERS: &'static [&'static str] = &["REVISION", "SOURCE", "READY", "MESSAGE"];

    fn suspended(&self) -> bool {
        false
    }

    fn conditions(&self) -> &[Condition] {
        let conditions = self.status.as_ref().and_then(|s| s.conditions.as_deref());
        conditions.unwrap_or_default()
    }

    fn last_handled_reconcile_at(&self) -> Option<&str> {
        None
    }

    fn observed_generation(&self) -> Option<i64> {
        None
    }

    /// Revision, `Kind/namespace/name` of the source reference, Ready and message.
    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        let artifact = self.status.as_ref().and_then(|s| s.artifact.as_ref());
        let revision = artifact.map(|a| a.revision.as_str()).unwrap_or_default();
        let source = self.spec.source_ref.as_ref().map(|r| {
            let namespace = r.namespace.as_deref().unwrap_or_default();
            format!("{}/{namespace}/{}", r.kind, r.name)
        });
        let (ready, message) = self.ready_and_message();
        vec![
            truncate_hex(revision),
            source.unwrap_or_default(),
            ready,
            truncate_hex(&message),
        ]
    }

    fn success_message(&self) -> String {
        let artifact = self.status.as_ref().and_then(|s| s.artifact.as_ref());
        let revision = artifact.map(|a| a.revision.as_str()).unwrap_or_default();
        format!("fetched revision {revision}")
    }
}

impl FluxObject for HelmRepository {
    const HUMAN_KIND: &'static str = "source helm";
    const SUMMARY_HEADERS: &'static [&'static str] = REVISION_HEADERS;

    shared_accessors!();

    fn is_static(&self) -> bool {
        self.spec.type_or_default() == HelmRepositoryType::Oci
    }

    /// An OCI repository has no status: Flux shows it Ready.
    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        if self.is_static() {
            return vec![
                String::new(),
                title_case(self.suspended()),
                "True".to_owned(),
                "Helm repository is Ready".to_owned(),
            ];
        }
        revision_summary(self, helm_artifact_revision(self))
    }

    /// An OCI repository has no artifact: its Ready message (none: nothing).
    fn success_message(&self) -> String {
        if self.is_static() {
            return self
                .condition("Ready")
                .map(|c| c.message.clone())
                .unwrap_or_default();
        }
        let revision = helm_artifact_revision(self).unwrap_or_default();
        format!("fetched revision {revision}")
    }
}

fn helm_artifact_revision(source: &HelmRepository) -> Option<&str> {
    Some(source.status.as_ref()?.artifact.as_ref()?.revision.as_str())
}

impl FluxObject for HelmChart {
    const HUMAN_KIND: &'static str = "source chart";
    const SUMMARY_HEADERS: &'static [&'static str] = REVISION_HEADERS;

    shared_accessors!();

    /// The revision is a chart version: not shortened as digests are.
    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        let (ready, message) = self.ready_and_message();
        vec![
            chart_artifact_revision(self).unwrap_or_default().to_owned(),
            title_case(self.suspended()),
            ready,
            truncate_hex(&message),
        ]
    }

    fn success_message(&self) -> String {
        let revision = chart_artifact_revision(self).unwrap_or_default();
        format!("fetched revision {revision}")
    }
}

fn chart_artifact_revision(source: &HelmChart) -> Option<&str> {
    Some(source.status.as_ref()?.artifact.as_ref()?.revision.as_str())
}

impl FluxObject for Kustomization {
    const HUMAN_KIND: &'static str = "kustomization";
    const SUMMARY_HEADERS: &'static [&'static str] = REVISION_HEADERS;

    shared_accessors!();

    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        revision_summary(self, applied_revision(self))
    }

    fn success_message(&self) -> String {
        let revision = applied_revision(self).unwrap_or_default();
        format!("applied revision {revision}")
    }
}

fn applied_revision(kustomization: &Kustomization) -> Option<&str> {
    kustomization
        .status
        .as_ref()?
        .last_applied_revision
        .as_deref()
}

impl FluxObject for HelmRelease {
    const HUMAN_KIND: &'static str = "helmrelease";
    const SUMMARY_HEADERS: &'static [&'static str] = REVISION_HEADERS;

    shared_accessors!();

    /// The chart version of the newest release; neither it nor the message is shortened.
    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        let (ready, message) = self.ready_and_message();
        vec![
            release_revision(self).to_owned(),
            title_case(self.suspended()),
            ready,
            message,
        ]
    }

    fn success_message(&self) -> String {
        format!("applied revision {}", release_revision(self))
    }
}

/// Flux's `getHelmReleaseRevision`: the chart version of the newest history snapshot, else the
/// last attempted revision.
fn release_revision(release: &HelmRelease) -> &str {
    let Some(status) = release.status.as_ref() else {
        return "";
    };
    match status.history.as_deref().and_then(<[_]>::first) {
        Some(newest) => &newest.chart_version,
        None => status
            .last_attempted_revision
            .as_deref()
            .unwrap_or_default(),
    }
}

impl FluxObject for ImageRepository {
    const HUMAN_KIND: &'static str = "image repository";
    const SUMMARY_HEADERS: &'static [&'static str] =
        &["LAST SCAN", "SUSPENDED", "READY", "MESSAGE"];

    shared_accessors!();

    fn summary(&self, zone: &TimeZone) -> Vec<String> {
        let scan = self
            .status
            .as_ref()
            .and_then(|s| s.last_scan_result.as_ref());
        let last_scan = scan.and_then(|s| s.scan_time.as_ref());
        let (ready, message) = self.ready_and_message();
        vec![
            last_scan.map(|t| rfc3339(t, zone)).unwrap_or_default(),
            title_case(self.suspended()),
            ready,
            message,
        ]
    }

    fn success_message(&self) -> String {
        let scan = self
            .status
            .as_ref()
            .and_then(|s| s.last_scan_result.as_ref());
        let tags = scan.map_or(0, |s| s.tag_count);
        format!("scan fetched {tags} tags")
    }
}

impl FluxObject for ImagePolicy {
    const HUMAN_KIND: &'static str = "image policy";
    const SUMMARY_HEADERS: &'static [&'static str] = &["IMAGE", "TAG", "READY", "MESSAGE"];

    shared_accessors!();

    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        let latest = self.status.as_ref().and_then(|s| s.latest_ref.as_ref());
        let (ready, message) = self.ready_and_message();
        vec![
            latest.map(|r| r.name.clone()).unwrap_or_default(),
            latest.map(|r| r.tag.clone()).unwrap_or_default(),
            ready,
            message,
        ]
    }

    fn success_message(&self) -> String {
        let latest = self.status.as_ref().and_then(|s| s.latest_ref.as_ref());
        let reference = latest.map(ToString::to_string).unwrap_or_default();
        format!("selected ref {reference}")
    }
}

impl FluxObject for ImageUpdateAutomation {
    const HUMAN_KIND: &'static str = "image update automation";
    const SUMMARY_HEADERS: &'static [&'static str] = &["LAST RUN", "SUSPENDED", "READY", "MESSAGE"];

    shared_accessors!();

    fn summary(&self, zone: &TimeZone) -> Vec<String> {
        let last_run = self
            .status
            .as_ref()
            .and_then(|s| s.last_automation_run_time.as_ref());
        let (ready, message) = self.ready_and_message();
        vec![
            last_run.map(|t| rfc3339(t, zone)).unwrap_or_default(),
            title_case(self.suspended()),
            ready,
            message,
        ]
    }

    /// The Ready message (`repository up-to-date`, `pushed commit …`), else when it last ran.
    fn success_message(&self) -> String {
        if let Some(ready) = self.condition("Ready") {
            return ready.message.clone();
        }
        let last_run = self
            .status
            .as_ref()
            .and_then(|s| s.last_automation_run_time.as_ref());
        match last_run {
            Some(time) => format!("last run {}", rfc3339(time, &TimeZone::system())),
            None => "automation not yet run".to_owned(),
        }
    }
}

/// The accessors of a kind without status (Alert, Provider): nothing reconciles it.
macro_rules! static_accessors {
    () => {
        fn suspended(&self) -> bool {
            self.spec.suspend.unwrap_or(false)
        }

        fn conditions(&self) -> &[Condition] {
            &[]
        }

        fn last_handled_reconcile_at(&self) -> Option<&str> {
            None
        }

        fn observed_generation(&self) -> Option<i64> {
            None
        }

        fn is_static(&self) -> bool {
            true
        }
    };
}

impl FluxObject for Alert {
    const HUMAN_KIND: &'static str = "alert";
    const SUMMARY_HEADERS: &'static [&'static str] = &["SUSPENDED", "READY", "MESSAGE"];

    static_accessors!();

    /// Always Ready, as Flux shows a kind without status.
    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        let ready = ["True", "Alert is Ready"].map(str::to_owned);
        let mut row = vec![title_case(self.suspended())];
        row.extend(ready);
        row
    }

    fn success_message(&self) -> String {
        "Alert reconciliation completed".to_owned()
    }
}

impl FluxObject for Provider {
    const HUMAN_KIND: &'static str = "alert provider";
    const SUMMARY_HEADERS: &'static [&'static str] = &["READY", "MESSAGE"];

    static_accessors!();

    /// Always Ready and without a SUSPENDED column, as Flux shows Providers.
    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        vec!["True".to_owned(), "Provider is Ready".to_owned()]
    }

    fn success_message(&self) -> String {
        "Provider reconciliation completed".to_owned()
    }
}

impl FluxObject for Receiver {
    const HUMAN_KIND: &'static str = "receiver";
    const SUMMARY_HEADERS: &'static [&'static str] = &["SUSPENDED", "READY", "MESSAGE"];

    shared_accessors!();

    /// The Ready message as it is (Flux does not shorten digests here).
    fn summary(&self, _zone: &TimeZone) -> Vec<String> {
        let (ready, message) = self.ready_and_message();
        vec![title_case(self.suspended()), ready, message]
    }

    fn success_message(&self) -> String {
        "Receiver reconciliation completed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn time(text: &str) -> Time {
        Time(text.parse().expect("a valid timestamp"))
    }

    #[test]
    fn rfc3339_is_go_layout_in_the_zone() {
        let at = time("2024-05-01T10:00:00.123456789Z");
        assert_eq!(rfc3339(&at, &TimeZone::UTC), "2024-05-01T10:00:00Z");
        let paris = TimeZone::get("Europe/Paris").expect("tzdb has Europe/Paris");
        assert_eq!(rfc3339(&at, &paris), "2024-05-01T12:00:00+02:00");
        let fixed = TimeZone::fixed(k8s_openapi::jiff::tz::offset(-5));
        assert_eq!(rfc3339(&at, &fixed), "2024-05-01T05:00:00-05:00");
    }

    fn automation(status: serde_json::Value) -> ImageUpdateAutomation {
        serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"interval": "10m", "sourceRef": {"kind": "GitRepository", "name": "app"}},
            "status": status,
        }))
        .expect("a valid ImageUpdateAutomation")
    }

    #[test]
    fn automation_success_is_the_ready_message_else_the_run() {
        let ready = automation(json!({"conditions": [{"type": "Ready", "status": "True",
            "reason": "Succeeded", "message": "repository up-to-date",
            "lastTransitionTime": "2024-01-01T00:00:00Z"}]}));
        assert_eq!(ready.success_message(), "repository up-to-date");
        assert_eq!(
            automation(json!({})).success_message(),
            "automation not yet run"
        );
        let ran = automation(json!({"lastAutomationRunTime": "2024-01-01T00:00:00Z"}));
        assert!(ran.success_message().starts_with("last run 2024-01-01T"));
    }

    #[test]
    fn repository_and_policy_success_messages() {
        let repository: ImageRepository = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"image": "ghcr.io/stefanprodan/podinfo", "interval": "1m"},
            "status": {"lastScanResult": {"tagCount": 42}},
        }))
        .expect("a valid ImageRepository");
        assert_eq!(repository.success_message(), "scan fetched 42 tags");
        let policy: ImagePolicy = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": "podinfo-semver", "namespace": "flux-system"},
            "spec": {"imageRepositoryRef": {"name": "podinfo"},
                     "policy": {"semver": {"range": "5.0.x"}}},
            "status": {"latestRef": {"name": "ghcr.io/stefanprodan/podinfo", "tag": "5.0.3",
                "digest": "sha256:8704da90172710d422af855049175c1a8295731cbe2ad3b9a1c1074feecf8c10"}},
        }))
        .expect("a valid ImagePolicy");
        // cmd/flux/testdata/image/reconcile_image_policy.golden, last line.
        assert_eq!(
            policy.success_message(),
            "selected ref ghcr.io/stefanprodan/podinfo:5.0.3@sha256:8704da90172710d422af855049175c1a8295731cbe2ad3b9a1c1074feecf8c10"
        );
    }
}
