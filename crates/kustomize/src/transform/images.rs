//! The `images` and `replicas` transformers.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fieldspec::{self, Create, FieldSpec};
use crate::kustfile::{Image, Replica};
use crate::resource::Resource;

/// kustomize's ReplicaCountTransformer: objects whose current or earlier name matches.
pub fn set_replicas(acc: &mut [Resource], replica: &Replica, fields: &[FieldSpec]) -> Result<()> {
    let mut found = false;
    for spec in fields {
        for r in acc.iter_mut() {
            let ids = r.prev_ids().into_iter().chain(std::iter::once(r.cur_id()));
            let matched = ids
                .into_iter()
                .any(|id| id.name == replica.name && id.gvk.is_selected_by(&spec.gvk()));
            if !matched {
                continue;
            }
            found = true;
            let gvk = r.gvk();
            fieldspec::apply(&mut r.obj, &gvk, spec, Create::Scalar, &mut |v| {
                *v = Value::from(replica.count);
                Ok(())
            })?;
        }
    }
    if !found {
        let gvks: Vec<String> = fields.iter().map(|f| f.gvk().sort_string()).collect();
        return Err(Error::transform(format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            replica.name,
            gvks.join(" ")
        )));
    }
    Ok(())
}

/// kustomize's ImageTagTransformer: every `containers`/`initContainers` list anywhere, then the
/// image field specs.
pub fn set_images(acc: &mut [Resource], image: &Image, fields: &[FieldSpec]) -> Result<()> {
    let pattern = image_pattern(&image.name)?;
    for r in acc.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        update_container_lists(&mut r.obj, image, &pattern)?;
        let gvk = r.gvk();
        for spec in fields {
            fieldspec::apply(&mut r.obj, &gvk, spec, Create::Nothing, &mut |v| {
                update_image_value(v, image, &pattern)
            })?;
        }
    }
    Ok(())
}

fn image_pattern(name: &str) -> Result<regex::Regex> {
    regex::Regex::new(&format!(
        "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
    ))
    .map_err(|e| Error::transform(format!("invalid image name '{name}': {e}")))
}

fn update_container_lists(node: &mut Value, image: &Image, pattern: &regex::Regex) -> Result<()> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                update_container_lists(value, image, pattern)?;
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(items) = value
                {
                    for item in items.iter_mut() {
                        if let Some(v) = item.get_mut("image") {
                            update_image_value(v, image, pattern)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                update_container_lists(item, image, pattern)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn update_image_value(v: &mut Value, image: &Image, pattern: &regex::Regex) -> Result<()> {
    let current = match v {
        Value::String(s) => s.clone(),
        Value::Null => return Ok(()),
        Value::Number(_) | Value::Bool(_) => tether_core::yaml::to_compact_string(v),
        _ => {
            return Err(Error::transform(
                "wrong node kind: expected ScalarNode for image",
            ));
        }
    };
    if !pattern.is_match(&current) {
        return Ok(());
    }
    let (mut name, mut tag, mut digest) = split_image(&current);
    if !image.new_name.is_empty() {
        name = image.new_name.clone();
    }
    if !image.new_tag.is_empty() && !image.digest.is_empty() {
        tag = image.new_tag.clone();
        digest = image.digest.clone();
    } else if !image.new_tag.is_empty() {
        tag = image.new_tag.clone();
        digest.clear();
    } else if !image.digest.is_empty() {
        tag.clear();
        digest = image.digest.clone();
    } else if !image.tag_suffix.is_empty() {
        tag.push_str(&image.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    *v = Value::String(name);
    Ok(())
}

/// Splits `registry/name:tag@digest` the way kustomize does (the first `:` or `@` after the
/// first `/`).
pub fn split_image(image: &str) -> (String, String, String) {
    let offset = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(d)) if c.is_none_or(|c| d < c) => (
            image[..d].to_string(),
            String::new(),
            image[d + 1..].to_string(),
        ),
        (Some(c), Some(d)) => (
            image[..c].to_string(),
            image[c + 1..d].to_string(),
            image[d + 1..].to_string(),
        ),
        (Some(c), None) => (
            image[..c].to_string(),
            image[c + 1..].to_string(),
            String::new(),
        ),
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_kustomize() {
        let s = |x: &str| split_image(x);
        assert_eq!(s("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            s("reg:5000/nginx:1.2"),
            ("reg:5000/nginx".into(), "1.2".into(), "".into())
        );
        assert_eq!(
            s("nginx@sha256:ab"),
            ("nginx".into(), "".into(), "sha256:ab".into())
        );
        assert_eq!(
            s("nginx:1@sha256:ab"),
            ("nginx".into(), "1".into(), "sha256:ab".into())
        );
    }
}
