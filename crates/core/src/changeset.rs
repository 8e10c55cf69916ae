//! Change sets: what an apply or prune did to each object (`created`, `configured`, `unchanged`,
//! `deleted`, `skipped`), and the text forms Flux puts in logs and event messages.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::object::{AsObjectRef, ObjectId, ObjectRef};

/// Errors raised while reading an action from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeSetError {
    /// The string is not one of Flux's action names.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
}

/// What was done to an object. Variants are declared in the alphabetical order of their names,
/// so maps keyed by action list them as Go's JSON encoding of a map does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// An existing object was updated.
    Configured,
    /// A new object was created.
    Created,
    /// The object was deleted.
    Deleted,
    /// The object was left alone because it is excluded from reconciliation.
    Skipped,
    /// The object had not drifted, so nothing was written.
    Unchanged,
    /// The action could not be determined.
    Unknown,
}

impl Action {
    /// The lowercase name Flux prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configured => "configured",
            Self::Created => "created",
            Self::Deleted => "deleted",
            Self::Skipped => "skipped",
            Self::Unchanged => "unchanged",
            Self::Unknown => "unknown",
        }
    }

    /// Whether the action wrote to the cluster; `unchanged` and `skipped` did not (Flux's
    /// `HasChanged`, which decides what goes into an event).
    pub fn has_changed(self) -> bool {
        !matches!(self, Self::Unchanged | Self::Skipped)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = ChangeSetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Configured,
            Self::Created,
            Self::Deleted,
            Self::Skipped,
            Self::Unchanged,
            Self::Unknown,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
        .ok_or_else(|| ChangeSetError::UnknownAction(s.to_owned()))
    }
}

/// The result of one action on one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetEntry {
    /// The object acted on.
    pub object: ObjectRef,
    /// What was done.
    pub action: Action,
}

impl ChangeSetEntry {
    /// Builds an entry.
    pub fn new(object: ObjectRef, action: Action) -> Self {
        Self { object, action }
    }

    /// The subject: `Kind/namespace/name`.
    pub fn subject(&self) -> String {
        self.object.to_string()
    }
}

impl AsObjectRef for ChangeSetEntry {
    fn object_ref(&self) -> &ObjectRef {
        &self.object
    }
}

impl fmt::Display for ChangeSetEntry {
    /// `Kind/namespace/name action`, e.g. `Deployment/default/web configured`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.object, self.action)
    }
}

/// The results of an apply or a prune, in the order the objects were handled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The entries, in order.
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    /// An empty change set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one entry.
    pub fn add(&mut self, entry: ChangeSetEntry) {
        self.entries.push(entry);
    }

    /// Appends every entry of `other`, keeping their order.
    pub fn append(&mut self, other: ChangeSet) {
        self.entries.extend(other.entries);
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Subject to action (Flux's `ToMap`); a later entry for the same subject wins.
    pub fn to_map(&self) -> BTreeMap<String, Action> {
        self.entries
            .iter()
            .map(|e| (e.subject(), e.action))
            .collect()
    }

    /// Action to subjects in entry order (Flux's `ToGroupedMap`).
    pub fn to_grouped_map(&self) -> BTreeMap<Action, Vec<String>> {
        let mut grouped: BTreeMap<Action, Vec<String>> = BTreeMap::new();
        for entry in &self.entries {
            grouped
                .entry(entry.action)
                .or_default()
                .push(entry.subject());
        }
        grouped
    }

    /// The ids of all entries, in order (Flux's `ToObjMetadataSet`).
    pub fn ids(&self) -> Vec<ObjectId> {
        self.entries.iter().map(|e| e.object.id()).collect()
    }

    /// The entries that wrote to the cluster.
    pub fn changed(&self) -> impl Iterator<Item = &ChangeSetEntry> {
        self.entries.iter().filter(|e| e.action.has_changed())
    }

    /// The event message kustomize-controller emits after an apply: one `subject action` line per
    /// entry that changed something. Empty when nothing changed (then no event is sent).
    pub fn changed_summary(&self) -> String {
        join_lines(self.changed())
    }
}

impl fmt::Display for ChangeSet {
    /// One `subject action` line per entry, no trailing newline (Flux's `String()`, used for the
    /// garbage-collection event).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join_lines(self.entries.iter()))
    }
}

fn join_lines<'a>(entries: impl Iterator<Item = &'a ChangeSetEntry>) -> String {
    entries
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn sample() -> ChangeSet {
        let mut set = ChangeSet::new();
        set.add(ChangeSetEntry::new(
            obj("Namespace", "", "apps"),
            Action::Unchanged,
        ));
        set.add(ChangeSetEntry::new(
            obj("Service", "apps", "web"),
            Action::Created,
        ));
        set.add(ChangeSetEntry::new(
            obj("ConfigMap", "apps", "cfg"),
            Action::Configured,
        ));
        set.add(ChangeSetEntry::new(
            obj("Secret", "apps", "s"),
            Action::Skipped,
        ));
        set
    }

    #[test]
    fn actions_print_and_parse_lowercase() -> Result<(), ChangeSetError> {
        for (action, text) in [
            (Action::Created, "created"),
            (Action::Configured, "configured"),
            (Action::Unchanged, "unchanged"),
            (Action::Deleted, "deleted"),
            (Action::Skipped, "skipped"),
            (Action::Unknown, "unknown"),
        ] {
            assert_eq!(action.to_string(), text);
            assert_eq!(text.parse::<Action>()?, action);
        }
        assert_eq!(
            "Created".parse::<Action>(),
            Err(ChangeSetError::UnknownAction("Created".into()))
        );
        Ok(())
    }

    #[test]
    fn string_form_lists_every_entry() {
        assert_eq!(
            sample().to_string(),
            "Namespace/apps unchanged\nService/apps/web created\n\
             ConfigMap/apps/cfg configured\nSecret/apps/s skipped"
        );
        assert_eq!(ChangeSet::new().to_string(), "");
    }

    #[test]
    fn changed_summary_drops_unchanged_and_skipped() {
        assert_eq!(
            sample().changed_summary(),
            "Service/apps/web created\nConfigMap/apps/cfg configured"
        );
        let mut quiet = ChangeSet::new();
        quiet.add(ChangeSetEntry::new(
            obj("Service", "a", "b"),
            Action::Unchanged,
        ));
        assert_eq!(quiet.changed_summary(), "");
        assert!(Action::Deleted.has_changed());
    }

    #[test]
    fn maps_group_by_subject_and_action() {
        let set = sample();
        let map = set.to_map();
        assert_eq!(map.get("Service/apps/web"), Some(&Action::Created));
        assert_eq!(map.len(), 4);
        let grouped = set.to_grouped_map();
        let keys: Vec<&str> = grouped.keys().map(|a| a.as_str()).collect();
        assert_eq!(keys, ["configured", "created", "skipped", "unchanged"]);
        assert_eq!(grouped[&Action::Created], ["Service/apps/web"]);
    }

    #[test]
    fn append_keeps_order_and_ids_drop_versions() {
        let mut set = ChangeSet::new();
        set.append(sample());
        set.append(sample());
        assert_eq!(set.entries.len(), 8);
        assert_eq!(set.ids()[1].to_string(), "Service/apps/web");
        assert!(!set.is_empty());
    }
}
