//! Post-rendering, as Helm v4 runs a `--post-renderer`: the rendered files become one stream of
//! YAML documents, each marked with the file it came from (`postrenderer.helm.sh/postrender-filename`),
//! the renderer transforms the stream, and the result is split back into files (documents the
//! renderer added go to `generated-by-postrender-…` files) before hooks and manifests are sorted.
//! The strategy decides what the renderer sees: everything in one stream (`combined`, Helm 4's
//! default), hooks and templates in two streams (`separate`), or templates only (`nohooks`,
//! Helm 3's behaviour).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::HelmError;
use crate::output;

/// The annotation that carries a document's file through the renderer.
pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// A transformation of a stream of YAML documents (Helm's `postrenderer.PostRenderer`).
pub trait PostRenderer: Send + Sync {
    /// The transformed stream, or why it cannot be transformed.
    fn run(&self, manifests: &str) -> Result<String, String>;
}

/// Which documents go through the renderer, and in how many streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PostRenderStrategy {
    /// Hooks and templates in one stream.
    #[default]
    Combined,
    /// Hooks and templates in separate streams.
    Separate,
    /// Templates only; hooks are left as rendered.
    NoHooks,
}

/// The rendered `files` (NOTES already removed) after `renderer`, as Helm's `renderResources`.
pub(crate) fn post_render(
    files: BTreeMap<String, String>,
    root: &str,
    renderer: &dyn PostRenderer,
    strategy: PostRenderStrategy,
) -> Result<BTreeMap<String, String>, HelmError> {
    if strategy == PostRenderStrategy::Combined {
        let merged = annotate_and_merge(&files)?;
        let rendered = renderer.run(&merged).map_err(|e| {
            HelmError::Render(format!("error while running post render on files: {e}"))
        })?;
        return split_and_deannotate(&rendered, "");
    }
    let sorted = output::sort_manifests(files, root)?;
    let mut hooks = BTreeMap::new();
    for hook in &sorted.hooks {
        append(&mut hooks, &hook.manifest.path, &hook.manifest.content);
    }
    let mut templates = BTreeMap::new();
    for manifest in &sorted.manifests {
        append(&mut templates, &manifest.path, &manifest.content);
    }
    let groups = [
        ("hooks", hooks, strategy == PostRenderStrategy::Separate),
        ("manifests", templates, true),
    ];
    let mut result = BTreeMap::new();
    for (group, files, rendered) in groups {
        if files.is_empty() {
            continue;
        }
        let files = if rendered {
            let merged = annotate_and_merge(&files)?;
            let output = renderer.run(&merged).map_err(|e| {
                HelmError::Render(format!("error while running post render on {group}: {e}"))
            })?;
            split_and_deannotate(&output, group)?
        } else {
            files
        };
        for (path, content) in files {
            append(&mut result, &path, &content);
        }
    }
    Ok(result)
}

fn append(files: &mut BTreeMap<String, String>, path: &str, content: &str) {
    match files.get_mut(path) {
        Some(existing) => {
            existing.push_str("\n---\n");
            existing.push_str(content);
        }
        None => {
            files.insert(path.to_owned(), content.to_owned());
        }
    }
}

/// Every document of every file but partials, in file order, annotated with its file.
fn annotate_and_merge(files: &BTreeMap<String, String>) -> Result<String, HelmError> {
    let mut documents = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in output::split_manifests(content) {
            if doc.trim().is_empty() {
                continue;
            }
            let parsed = tether_core::yaml::from_str_multi(&doc).map_err(|e| {
                HelmError::Render(format!("error merging manifests: parsing {path}: {e}"))
            })?;
            for mut value in parsed.into_iter().filter(|v| !v.is_null()) {
                set_annotation(&mut value, path).map_err(|e| {
                    HelmError::Render(format!("error merging manifests: annotating {path}: {e}"))
                })?;
                documents.push(value);
            }
        }
    }
    Ok(tether_core::yaml::to_multi_doc(&documents))
}

/// The renderer's output grouped back into files by the annotation, which is removed.
fn split_and_deannotate(
    rendered: &str,
    fallback_prefix: &str,
) -> Result<BTreeMap<String, String>, HelmError> {
    let documents = tether_core::yaml::from_str_multi(rendered).map_err(|e| {
        HelmError::Render(format!(
            "error while parsing post rendered output: error parsing YAML: {e}"
        ))
    })?;
    let mut by_file: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (index, mut document) in documents.into_iter().filter(|v| !v.is_null()).enumerate() {
        let file = take_annotation(&mut document).unwrap_or_else(|| {
            if fallback_prefix.is_empty() {
                format!("generated-by-postrender-{index}.yaml")
            } else {
                format!("generated-by-postrender-{fallback_prefix}-{index}.yaml")
            }
        });
        by_file.entry(file).or_default().push(document);
    }
    Ok(by_file
        .into_iter()
        .map(|(file, docs)| (file, tether_core::yaml::to_multi_doc(&docs)))
        .collect())
}

fn set_annotation(document: &mut Value, file: &str) -> Result<(), String> {
    let Value::Object(object) = document else {
        return Err("a document is not a mapping".into());
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    if metadata.is_null() {
        *metadata = Value::Object(Default::default());
    }
    let Value::Object(metadata) = metadata else {
        return Err("metadata is not a mapping".into());
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if annotations.is_null() {
        *annotations = Value::Object(Default::default());
    }
    let Value::Object(annotations) = annotations else {
        return Err("metadata.annotations is not a mapping".into());
    };
    annotations.insert(FILENAME_ANNOTATION.into(), Value::String(file.into()));
    Ok(())
}

/// Removes the file annotation (and an annotations mapping it leaves empty), returning it.
fn take_annotation(document: &mut Value) -> Option<String> {
    let metadata = document.get_mut("metadata")?.as_object_mut()?;
    let annotations = metadata.get_mut("annotations")?.as_object_mut()?;
    let file = annotations.remove(FILENAME_ANNOTATION)?;
    if annotations.is_empty() {
        metadata.remove("annotations");
    }
    file.as_str().filter(|f| !f.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds a label to every document, and one document of its own.
    struct Labeller;

    impl PostRenderer for Labeller {
        fn run(&self, manifests: &str) -> Result<String, String> {
            let mut docs =
                tether_core::yaml::from_str_multi(manifests).map_err(|e| e.to_string())?;
            for doc in &mut docs {
                doc["metadata"]["labels"] = serde_json::json!({"post": "rendered"});
            }
            docs.push(serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "added"}
            }));
            Ok(tether_core::yaml::to_multi_doc(&docs))
        }
    }

    fn files() -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "c/templates/cm.yaml".into(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n".into(),
            ),
            (
                "c/templates/hook.yaml".into(),
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: pre-install\n".into(),
            ),
            ("c/templates/_helpers.tpl".into(), "{{/* partial */}}".into()),
        ])
    }

    #[test]
    fn combined_post_rendering_keeps_each_document_in_its_file_and_names_added_ones() {
        let out = post_render(files(), "c", &Labeller, PostRenderStrategy::Combined)
            .expect("post-rendered");
        let keys: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "c/templates/cm.yaml",
                "c/templates/hook.yaml",
                "generated-by-postrender-3.yaml"
            ]
        );
        assert!(out["c/templates/cm.yaml"].contains("name: b"));
        assert!(out["c/templates/hook.yaml"].contains("post: rendered"));
        assert!(!out.values().any(|f| f.contains(FILENAME_ANNOTATION)));
        let sorted = output::sort_manifests(out, "c").expect("sorted");
        assert_eq!(sorted.hooks.len(), 1);
        assert_eq!(sorted.manifests.len(), 3);
    }

    #[test]
    fn nohooks_post_rendering_leaves_hooks_as_rendered() {
        let out = post_render(files(), "c", &Labeller, PostRenderStrategy::NoHooks)
            .expect("post-rendered");
        assert!(!out["c/templates/hook.yaml"].contains("post: rendered"));
        assert!(out["c/templates/cm.yaml"].contains("post: rendered"));
        assert!(out.contains_key("generated-by-postrender-manifests-2.yaml"));
    }

    #[test]
    fn separate_post_rendering_runs_hooks_in_their_own_stream() {
        let out = post_render(files(), "c", &Labeller, PostRenderStrategy::Separate)
            .expect("post-rendered");
        assert!(out["c/templates/hook.yaml"].contains("post: rendered"));
        assert!(out.contains_key("generated-by-postrender-hooks-1.yaml"));
        assert!(out.contains_key("generated-by-postrender-manifests-2.yaml"));
    }

    #[test]
    fn a_failing_renderer_is_reported() {
        struct Failing;
        impl PostRenderer for Failing {
            fn run(&self, _: &str) -> Result<String, String> {
                Err("patch target not found".into())
            }
        }
        let error =
            post_render(files(), "c", &Failing, PostRenderStrategy::Combined).expect_err("fails");
        assert_eq!(
            error.to_string(),
            "error while running post render on files: patch target not found"
        );
    }
}
