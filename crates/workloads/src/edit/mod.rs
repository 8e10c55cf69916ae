//! Format-preserving edits of workload manifests, as fluxd's kubeyaml made them: only the
//! bytes of the edited value change; comments, quoting, key order, blank lines and the other
//! documents of the file stay as they were.
//!
//! Each edit finds its target through the span tree ([`crate::yaml_tree`]), splices the text,
//! then re-reads old and new text with an independent reader (`tether-core`'s YAML values) and
//! checks that the new stream equals the old one with exactly the intended change applied.

mod annotations;
mod image;
mod text;

use serde_json::Value;

pub use annotations::{set_annotations, update_policies};
pub use image::set_container_image;

use crate::id::ResourceId;
use crate::manifest::{Located, WORKLOAD_KINDS, object_id, objects};
use crate::yaml_tree::{Node, SyntaxError};

/// Why an edit was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The file is not YAML.
    #[error("parsing YAML: {0}")]
    Syntax(#[from] SyntaxError),
    /// No document (or `List` item) defines the workload.
    #[error("resource {id} not found")]
    WorkloadNotFound {
        /// The workload id.
        id: ResourceId,
    },
    /// The workload has no container by that name.
    #[error("container {container:?} not found in workload {id}")]
    ContainerNotFound {
        /// The workload id.
        id: ResourceId,
        /// The container name.
        container: String,
    },
    /// The manifest is shaped in a way this editor will not splice safely (an alias, a block
    /// scalar image, a missing `image` field, ...).
    #[error("cannot edit {id}: {reason}")]
    Unsupported {
        /// The workload id.
        id: ResourceId,
        /// What stands in the way.
        reason: String,
    },
    /// The edited text did not read back as the original with only the intended change.
    #[error("edit of {id} failed verification: {reason}")]
    Verification {
        /// The workload id.
        id: ResourceId,
        /// What differed.
        reason: String,
    },
}

fn unsupported(id: &ResourceId, reason: impl Into<String>) -> EditError {
    EditError::Unsupported {
        id: id.clone(),
        reason: reason.into(),
    }
}

/// The first object of the stream with this id (kubeyaml edited the first match).
fn find_object<'a>(
    documents: &'a [Option<Node>],
    id: &ResourceId,
) -> Result<Located<'a>, EditError> {
    objects(documents)
        .into_iter()
        .find(|located| object_id(located.node).as_ref() == Some(id))
        .ok_or_else(|| EditError::WorkloadNotFound { id: id.clone() })
}

/// The first workload (a kind fluxd updated, see [`WORKLOAD_KINDS`]) with this id.
fn find_workload<'a>(
    documents: &'a [Option<Node>],
    id: &ResourceId,
) -> Result<Located<'a>, EditError> {
    let located = find_object(documents, id)?;
    let kind = located
        .node
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or("");
    if WORKLOAD_KINDS.contains(&kind) {
        Ok(located)
    } else {
        Err(unsupported(
            id,
            format!("kind {kind} is not a workload fluxd updates"),
        ))
    }
}

/// The JSON value of the object at `document`/`item` in a parsed stream.
fn object_value(values: &mut [Value], document: usize, item: Option<usize>) -> Option<&mut Value> {
    let doc = values.get_mut(document)?;
    match item {
        Some(i) => doc.get_mut("items")?.get_mut(i),
        None => Some(doc),
    }
}

/// Checks that `new_text` reads as `old_text` with `change` applied to the object at
/// `document`/`item`, and nothing else changed.
fn verify(
    id: &ResourceId,
    old_text: &str,
    new_text: &str,
    located: (usize, Option<usize>),
    change: impl FnOnce(&mut Value) -> Option<()>,
) -> Result<(), EditError> {
    let fail = |reason: String| EditError::Verification {
        id: id.clone(),
        reason,
    };
    let read =
        |t: &str| tether_core::yaml::from_str_multi_typed(t, tether_core::yaml::Typing::Yaml11);
    let mut expected = read(old_text).map_err(|e| fail(format!("original unreadable: {e}")))?;
    let actual = read(new_text).map_err(|e| fail(format!("edited text unreadable: {e}")))?;
    let (document, item) = located;
    object_value(&mut expected, document, item)
        .and_then(change)
        .ok_or_else(|| fail("object not found in the original values".to_string()))?;
    if expected.len() != actual.len() {
        return Err(fail(format!(
            "{} documents became {}",
            expected.len(),
            actual.len()
        )));
    }
    match expected.iter().zip(&actual).position(|(e, a)| e != a) {
        Some(i) => Err(fail(format!(
            "document {i} differs from the intended result"
        ))),
        None => Ok(()),
    }
}
