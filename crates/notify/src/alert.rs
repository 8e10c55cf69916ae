//! Which Alerts an event goes to and what it looks like when it gets there, as
//! notification-controller decides: event sources (kind, name or `*`, namespace defaulting to
//! the Alert's, `matchLabels` against labels the caller looked up), severity, inclusion and
//! exclusion regexes, the metadata cleanup on arrival, the metadata merge of RFC 0008
//! (`eventMetadata`, `summary`, annotation metadata) and the per-provider gates (commit status
//! and change request events).

use std::collections::BTreeMap;

use regex::Regex;
use tether_api::notification::v1beta3::{
    AlertSpec, CrossNamespaceObjectReference, EventSeverity, ProviderType,
};

use crate::event::{EVENT_GROUP, Event, metadata_keys, severity};

/// An inclusion or exclusion pattern that is not a valid regular expression; Flux records an
/// `InvalidConfig` event on the Alert and skips the pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to compile {list} regex: {pattern}")]
pub struct InvalidRegex {
    /// `inclusion` or `exclusion`.
    pub list: &'static str,
    /// The pattern as written.
    pub pattern: String,
}

/// An Alert ready to match events: its spec with the regexes compiled.
#[derive(Debug, Clone)]
pub struct AlertMatcher {
    namespace: String,
    sources: Vec<CrossNamespaceObjectReference>,
    severity: EventSeverity,
    inclusions: Vec<Regex>,
    exclusions: Vec<Regex>,
    suspended: bool,
}

impl AlertMatcher {
    /// Compiles the Alert named in `namespace`; invalid patterns are left out and returned.
    pub fn new(spec: &AlertSpec, namespace: &str) -> (Self, Vec<InvalidRegex>) {
        let mut invalid = Vec::new();
        let inclusions = compile("inclusion", spec.inclusion_list.as_deref(), &mut invalid);
        let exclusions = compile("exclusion", spec.exclusion_list.as_deref(), &mut invalid);
        let matcher = Self {
            namespace: namespace.to_owned(),
            sources: spec.event_sources.clone(),
            severity: spec.event_severity_or_default(),
            inclusions,
            exclusions,
            suspended: spec.is_suspended(),
        };
        (matcher, invalid)
    }

    /// Whether a source of this Alert that could match `event` needs the involved object's
    /// labels to decide; the caller then looks them up and passes them to [`Self::matches`].
    pub fn needs_labels(&self, event: &Event) -> bool {
        self.effective_sources()
            .any(|s| s.match_labels.is_some() && self.source_matches_without_labels(event, &s))
    }

    /// Whether `event` goes to this Alert (Flux's `filterAlertsForEvent`). `labels` are the
    /// involved object's labels, `None` when they could not be read (then a source with
    /// `matchLabels` does not match, as in Flux).
    pub fn matches(&self, event: &Event, labels: Option<&BTreeMap<String, String>>) -> bool {
        !self.suspended
            && self.effective_sources().any(|source| {
                self.source_matches_without_labels(event, &source)
                    && labels_match(source.match_labels.as_ref(), labels)
            })
            && self.message_is_included(&event.message)
            && !self.message_is_excluded(&event.message)
    }

    /// The sources with their namespace defaulted to the Alert's.
    fn effective_sources(&self) -> impl Iterator<Item = CrossNamespaceObjectReference> + '_ {
        self.sources.iter().map(|source| {
            let mut source = source.clone();
            if source.namespace.as_deref().is_none_or(str::is_empty) {
                source.namespace = Some(self.namespace.clone());
            }
            source
        })
    }

    fn source_matches_without_labels(
        &self,
        event: &Event,
        source: &CrossNamespaceObjectReference,
    ) -> bool {
        let object = &event.involved_object;
        source.namespace.as_deref() == Some(object.namespace.as_str())
            && source.kind == object.kind
            && (self.severity == EventSeverity::Info || event.severity == self.severity.as_str())
            && (source.name == "*" || source.name == object.name)
    }

    fn message_is_included(&self, message: &str) -> bool {
        self.inclusions.is_empty() || self.inclusions.iter().any(|r| r.is_match(message))
    }

    fn message_is_excluded(&self, message: &str) -> bool {
        self.exclusions.iter().any(|r| r.is_match(message))
    }
}

fn compile(
    list: &'static str,
    patterns: Option<&[String]>,
    invalid: &mut Vec<InvalidRegex>,
) -> Vec<Regex> {
    let mut compiled = Vec::new();
    for pattern in patterns.unwrap_or_default() {
        match Regex::new(pattern) {
            Ok(regex) => compiled.push(regex),
            Err(_) => invalid.push(InvalidRegex {
                list,
                pattern: pattern.clone(),
            }),
        }
    }
    compiled
}

/// Every `matchLabels` pair is among the object's labels.
fn labels_match(
    wanted: Option<&BTreeMap<String, String>>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    match (wanted, labels) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wanted), Some(labels)) => wanted.iter().all(|(k, v)| labels.get(k) == Some(v)),
    }
}

/// Keeps only the metadata notification-controller uses on arrival (Flux's
/// `cleanupMetadata`): keys under the event group or the involved object's group, less the
/// object group's `checksum` and `digest` (compared case-insensitively).
pub fn clean_arriving_metadata(event: &mut Event) {
    let event_prefix = format!("{EVENT_GROUP}/");
    let object_prefix = format!("{}/", event.involved_object.group());
    let excluded = [
        format!("{object_prefix}{}", metadata_keys::CHECKSUM),
        format!("{object_prefix}{}", metadata_keys::DIGEST),
    ];
    event.metadata.retain(|key, _| {
        !excluded.iter().any(|e| e.eq_ignore_ascii_case(key))
            && (key.starts_with(&event_prefix) || key.starts_with(&object_prefix))
    });
}

/// Removes the object group's `token` key once it served rate limiting (Flux's
/// `excludeInternalMetadata`).
pub fn drop_internal_metadata(event: &mut Event) {
    let key = format!("{}/{}", event.involved_object.group(), metadata_keys::TOKEN);
    event.metadata.remove(&key);
}

/// A metadata key set by more than one source; Flux logs these and records a
/// `MetadataAppendFailed` warning on the Alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataConflict {
    /// The key, without prefix.
    pub key: String,
    /// The sources, lowest precedence first.
    pub sources: Vec<&'static str>,
}

/// The event as sent for `alert`: metadata rebuilt from, lowest precedence first, event-group
/// keys (annotations), the Alert's `eventMetadata`, its `summary`, and object-group keys (the
/// controller's own), all without prefix (Flux's `combineEventMetadata`). The conflicts are
/// sorted by key.
pub fn event_for_alert(event: &Event, alert: &AlertSpec) -> (Event, Vec<MetadataConflict>) {
    const EVENT_GROUP_SOURCE: &str = "involved object annotations";
    const ALERT_METADATA_SOURCE: &str = "Alert object .spec.eventMetadata";
    const ALERT_SUMMARY_SOURCE: &str = "Alert object .spec.summary";
    const OBJECT_GROUP_SOURCE: &str = "involved object controller metadata";

    let mut metadata = BTreeMap::new();
    let mut sources: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut put = |key: &str, value: &str, source: &'static str| {
        metadata.insert(key.to_owned(), value.to_owned());
        sources.entry(key.to_owned()).or_default().push(source);
    };
    let event_prefix = format!("{EVENT_GROUP}/");
    for (key, value) in &event.metadata {
        if let Some(key) = key.strip_prefix(&event_prefix) {
            put(key, value, EVENT_GROUP_SOURCE);
        }
    }
    for (key, value) in alert.event_metadata.iter().flatten() {
        put(key, value, ALERT_METADATA_SOURCE);
    }
    if let Some(summary) = alert.summary.as_deref().filter(|s| !s.is_empty()) {
        put(metadata_keys::SUMMARY, summary, ALERT_SUMMARY_SOURCE);
    }
    let object_prefix = format!("{}/", event.involved_object.group());
    for (key, value) in &event.metadata {
        if let Some(key) = key.strip_prefix(&object_prefix) {
            put(key, value, OBJECT_GROUP_SOURCE);
        }
    }
    let conflicts = sources
        .into_iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(key, sources)| MetadataConflict { key, sources })
        .collect();
    let mut sent = event.clone();
    if !metadata.is_empty() {
        sent.metadata = metadata;
    }
    (sent, conflicts)
}

/// Why an event matched by an Alert is not sent through its Provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The Provider is suspended.
    ProviderSuspended,
    /// A commit status update goes only to commit-status and generic providers.
    CommitStatusUpdateForOtherProvider,
    /// A commit-status provider needs the commit key, a commit status update or an error.
    MissingCommitMetadata,
    /// A change request provider needs the change request key.
    MissingChangeRequestMetadata,
}

/// Whether `event` (as it arrived, metadata keys still prefixed) is sent through a Provider of
/// type `provider`, as `getNotificationParams` decides.
pub fn provider_gate(event: &Event, provider: ProviderType, suspended: bool) -> Result<(), Skip> {
    let status_update = event.object_metadata(metadata_keys::COMMIT_STATUS)
        == Some(metadata_keys::COMMIT_STATUS_UPDATE);
    let commit_key = format!("{EVENT_GROUP}/{}", metadata_keys::COMMIT);
    let has_commit = event
        .metadata
        .get(&commit_key)
        .is_some_and(|c| !c.is_empty());
    let change_key = format!("{EVENT_GROUP}/{}", metadata_keys::CHANGE_REQUEST);
    if suspended {
        Err(Skip::ProviderSuspended)
    } else if !provider.is_commit_status() && !provider.is_generic() && status_update {
        Err(Skip::CommitStatusUpdateForOtherProvider)
    } else if provider.is_commit_status()
        && !has_commit
        && !status_update
        && event.severity != severity::ERROR
    {
        Err(Skip::MissingCommitMetadata)
    } else if provider.is_change_request()
        && event.metadata.get(&change_key).is_none_or(String::is_empty)
    {
        Err(Skip::MissingChangeRequestMetadata)
    } else {
        Ok(())
    }
}

/// The commit status id Flux uses when a Provider has no `commitStatusExpr`:
/// `<kind>/<name>/<first part of the Provider UID>`, lowercased.
pub fn default_commit_status(provider_uid: &str, event: &Event) -> String {
    let uid_part = provider_uid.split('-').next().unwrap_or_default();
    let object = &event.involved_object;
    format!("{}/{}/{uid_part}", object.kind, object.name).to_lowercase()
}
