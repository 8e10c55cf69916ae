//! What an update changed, shaped like Flux's `update.Result`: file → object → changes, with the
//! `Changes()` and `Objects()` views. Maps are ordered (file path, then object identifier in
//! Go's field order), so every view is deterministic where Flux's follows Go map iteration.

use std::collections::BTreeMap;

/// Identifies an object in a file, like kyaml's `ResourceIdentifier` (empty fields where the
/// document has none, e.g. a Helm values file). Field order is Go's, so the derived ordering is
/// the order Go's `fmtsort` gives the struct keys when a template ranges over them.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectIdentifier {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
}

/// One field set by a setter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Change {
    /// The value before the update.
    pub old_value: String,
    /// The value written.
    pub new_value: String,
    /// The setter that wrote it: `<ns>:<name>` or `<ns>:<name>:tag|name|digest`.
    pub setter: String,
}

/// Changes per object.
pub type ObjectChanges = BTreeMap<ObjectIdentifier, Vec<Change>>;

/// The outcome of an update: changes per file (paths relative to the update path, `/`-separated),
/// and the files that were screened in but could not be parsed (left alone, as Flux does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateResult {
    /// File → object → changes, in document order within an object.
    pub file_changes: BTreeMap<String, ObjectChanges>,
    /// Files carrying the marker token that did not parse as YAML objects.
    pub problem_files: Vec<String>,
}

impl UpdateResult {
    /// Records changes for an object in a file.
    pub fn add_change(&mut self, file: &str, object: ObjectIdentifier, changes: Vec<Change>) {
        self.file_changes
            .entry(file.to_owned())
            .or_default()
            .entry(object)
            .or_default()
            .extend(changes);
    }

    /// The files written (every file with at least one change).
    pub fn files_written(&self) -> Vec<&str> {
        self.file_changes.keys().map(String::as_str).collect()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.file_changes.is_empty()
    }

    /// Every distinct change, first occurrence first (Flux's `Result.Changes()`).
    pub fn changes(&self) -> Vec<Change> {
        let mut seen = std::collections::HashSet::new();
        let all = self
            .file_changes
            .values()
            .flat_map(|objects| objects.values().flatten());
        all.filter(|c| seen.insert(*c)).cloned().collect()
    }

    /// Changes per object regardless of file (Flux's `Result.Objects()`).
    pub fn objects(&self) -> ObjectChanges {
        let mut merged = ObjectChanges::new();
        for objects in self.file_changes.values() {
            for (object, changes) in objects {
                merged
                    .entry(object.clone())
                    .or_default()
                    .extend(changes.iter().cloned());
            }
        }
        merged
    }
}
