//! Setting a container's image (`containers[]` or `initContainers[]`, by name) in place.

use granit_parser::ScalarStyle;
use serde_json::Value;

use super::text::{Splice, apply_splices, scalar_like};
use super::{EditError, find_workload, unsupported, verify};
use crate::id::ResourceId;
use crate::manifest::{container_nodes, pod_spec};
use crate::yaml_tree::{NodeKind, parse_documents};

/// Returns `file_text` with the image of `container` in workload `id` set to `new_image`,
/// changing only the bytes of that value (its quoting style kept when it can hold the new
/// value). Unchanged text comes back when the image is already `new_image`.
pub fn set_container_image(
    file_text: &str,
    id: &ResourceId,
    container: &str,
    new_image: &str,
) -> Result<String, EditError> {
    let documents = parse_documents(file_text)?;
    let located = find_workload(&documents, id)?;
    let not_found = || EditError::ContainerNotFound {
        id: id.clone(),
        container: container.to_string(),
    };
    let pod = pod_spec(located.node).ok_or_else(not_found)?;
    let (container_node, init) = container_nodes(pod)
        .into_iter()
        .find(|(c, _)| c.get("name").and_then(|n| n.as_str()) == Some(container))
        .ok_or_else(not_found)?;
    let image = container_node
        .get("image")
        .ok_or_else(|| unsupported(id, format!("container {container:?} has no image field")))?;
    let NodeKind::Scalar { value, style } = &image.kind else {
        return Err(unsupported(
            id,
            format!("image of {container:?} is not a string"),
        ));
    };
    if image.aliased || image.anchored {
        return Err(unsupported(
            id,
            format!("image of {container:?} is shared through a YAML anchor"),
        ));
    }
    if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
        return Err(unsupported(
            id,
            format!("image of {container:?} is a block scalar"),
        ));
    }
    if value == new_image {
        return Ok(file_text.to_string());
    }
    let splice = Splice {
        start: image.start,
        end: image.end,
        text: scalar_like(new_image, *style),
    };
    let edited = apply_splices(file_text, vec![splice])
        .ok_or_else(|| unsupported(id, "overlapping edits"))?;
    let list = if init { "initContainers" } else { "containers" };
    let cron = located.node.get("kind").and_then(|k| k.as_str()) == Some("CronJob");
    verify(
        id,
        file_text,
        &edited,
        (located.document, located.item),
        |object| {
            let spec = object.get_mut("spec")?;
            let owner = if cron {
                spec.get_mut("jobTemplate")?.get_mut("spec")?
            } else {
                spec
            };
            let containers = owner
                .get_mut("template")?
                .get_mut("spec")?
                .get_mut(list)?
                .as_array_mut()?;
            let target = containers
                .iter_mut()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(container))?;
            *target.get_mut("image")? = Value::String(new_image.to_string());
            Some(())
        },
    )?;
    Ok(edited)
}
