//! Commit messages: Flux's `TemplateData` built from an [`UpdateResult`] as Go values
//! (`AutomationObject` a `types.NamespacedName` printing as `ns/name`, `Changed` an
//! `update.Result` with `FileChanges` and the `Changes`/`Objects` methods, `Values` the
//! `messageTemplateValues`), and `messageTemplate` rendered with Go's text/template plus sprig's
//! hermetic functions, as image-automation-controller's `templateMsg` does — including its
//! default message and its "removed field" errors for `.Updated` and `.Changed.ImageResult`.

use std::collections::BTreeMap;

use tether_gotemplate::{Map, Struct, Template, TemplateError, Value, sprig};

use crate::result::{Change, ObjectChanges, ObjectIdentifier, UpdateResult};

/// The message Flux commits with when `messageTemplate` is empty.
pub const DEFAULT_MESSAGE_TEMPLATE: &str = "Update from image update automation";

/// Flux names its template "commit message"; errors carry the name.
const TEMPLATE_NAME: &str = "commit message";

/// The ImageUpdateAutomation whose changes are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationObject {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Why a commit message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The template does not parse.
    #[error("unable to create commit message template from spec: {0}")]
    Parse(TemplateError),
    /// The template failed while running.
    #[error("failed to run template from spec: {0}")]
    Exec(TemplateError),
    /// The template uses a field Flux removed (`.Updated`, `.Changed.ImageResult`).
    #[error("{}", removed_field_message(.field))]
    RemovedField {
        /// `.Updated` or `.Changed.ImageResult`.
        field: &'static str,
    },
}

impl MessageError {
    /// Whether retrying cannot help until the spec changes (Flux stalls on removed fields).
    pub fn is_terminal(&self) -> bool {
        matches!(self, MessageError::RemovedField { .. })
    }
}

fn removed_field_message(field: &str) -> String {
    const SEE: &str =
        "See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template";
    match field {
        ".Updated" => {
            format!("template uses removed '.Updated' field. Please use '.Changed' instead. {SEE}")
        }
        ".Changed.ImageResult" => format!(
            "template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or '.Changed.Objects' instead. {SEE}"
        ),
        other => format!("template uses removed '{other}' field. {SEE}"),
    }
}

/// Renders `message_template` (or Flux's default when empty) for a commit of `result`.
pub fn commit_message(
    message_template: &str,
    automation: &AutomationObject,
    result: &UpdateResult,
    values: &BTreeMap<String, String>,
) -> Result<String, MessageError> {
    let text = if message_template.is_empty() {
        DEFAULT_MESSAGE_TEMPLATE
    } else {
        message_template
    };
    let template = Template::parse_with_funcs(TEMPLATE_NAME, text, sprig::hermetic_funcs())
        .map_err(MessageError::Parse)?;
    template
        .execute(&template_data(automation, result, values))
        .map_err(|err| {
            let text = err.to_string();
            if text.contains("can't evaluate field Updated in type source.TemplateData") {
                MessageError::RemovedField { field: ".Updated" }
            } else if text.contains("can't evaluate field ImageResult in type update.Result") {
                MessageError::RemovedField {
                    field: ".Changed.ImageResult",
                }
            } else {
                MessageError::Exec(err)
            }
        })
}

/// Flux's `TemplateData` as Go values, with Go's type names (they appear in template errors).
pub fn template_data(
    automation: &AutomationObject,
    result: &UpdateResult,
    values: &BTreeMap<String, String>,
) -> Value {
    let automation_object = Struct::new("types.NamespacedName")
        .field("Namespace", automation.namespace.as_str())
        .field("Name", automation.name.as_str())
        .stringer(format!("{}/{}", automation.namespace, automation.name));
    Value::Struct(
        Struct::new("source.TemplateData")
            .field("AutomationObject", Value::Struct(automation_object))
            .field("Changed", Value::Struct(result_value(result)))
            .field(
                "Values",
                Value::Map(Map::string_to_string(
                    values.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                )),
            ),
    )
}

fn result_value(result: &UpdateResult) -> Struct {
    let mut files = Map::new(
        "map[string]update.ObjectChanges",
        Value::Map(object_changes_value(&ObjectChanges::new())),
    );
    for (file, objects) in &result.file_changes {
        files.insert(
            Value::str(file.as_str()),
            Value::Map(object_changes_value(objects)),
        );
    }
    Struct::new("update.Result")
        .field("FileChanges", Value::Map(files))
        .method("Changes", changes_value(&result.changes()))
        .method(
            "Objects",
            Value::Map(object_changes_value(&result.objects())),
        )
}

fn object_changes_value(objects: &ObjectChanges) -> Map {
    let mut map = Map::new("update.ObjectChanges", changes_value(&[]));
    for (object, changes) in objects {
        map.insert(object_id_value(object), changes_value(changes));
    }
    map
}

/// `update.ObjectIdentifier{yaml.ResourceIdentifier{TypeMeta, NameMeta}}`, embedded as in
/// kyaml, so `.Kind` works and `%v` prints `{{{apps/v1 Deployment} {name ns}}}`.
fn object_id_value(id: &ObjectIdentifier) -> Value {
    let type_meta = Struct::new("yaml.TypeMeta")
        .field("APIVersion", id.api_version.as_str())
        .field("Kind", id.kind.as_str());
    let name_meta = Struct::new("yaml.NameMeta")
        .field("Name", id.name.as_str())
        .field("Namespace", id.namespace.as_str());
    let resource = Struct::new("yaml.ResourceIdentifier")
        .embed(type_meta)
        .embed(name_meta);
    Value::Struct(Struct::new("update.ObjectIdentifier").embed(resource))
}

fn changes_value(changes: &[Change]) -> Value {
    let items = changes
        .iter()
        .map(|c| {
            Value::Struct(
                Struct::new("update.Change")
                    .field("OldValue", c.old_value.as_str())
                    .field("NewValue", c.new_value.as_str())
                    .field("Setter", c.setter.as_str()),
            )
        })
        .collect();
    Value::slice("[]update.Change", items)
}
