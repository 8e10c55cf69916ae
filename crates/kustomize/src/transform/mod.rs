//! The built-in transformers, run in kustomize's fixed order: strategic-merge patches, patches,
//! namespace, prefix, suffix, labels, annotations, JSON 6902 patches, replicas, images,
//! replacements.

mod images;
mod meta;

use crate::build::Ctx;
use crate::config::TransformerConfig;
use crate::error::Result;
use crate::kustfile::Kustomization;
use crate::resource::Resource;
use crate::{metadata, patch, replacement};

pub use images::{set_images, set_replicas};
pub use meta::{
    Affix, NamespaceMode, Subjects, add_annotations, add_labels, add_prefix_suffix, affix_all,
    set_namespace, set_namespace_with, set_string_entries,
};

/// Runs every transformer the kustomization configures over `acc`.
pub fn run_all(
    ctx: &Ctx<'_>,
    dir: &str,
    k: &Kustomization,
    config: &TransformerConfig,
    acc: &mut Vec<Resource>,
) -> Result<()> {
    let record = |kind: &str, times: usize, acc: &mut Vec<Resource>| {
        metadata::record_transformer(ctx, dir, kind, times, acc);
    };
    patch::apply_strategic_merge_list(ctx, dir, &k.patches_strategic_merge, acc)?;
    let psm = usize::from(!k.patches_strategic_merge.is_empty());
    record("PatchStrategicMergeTransformer", psm, acc);
    for p in &k.patches {
        patch::apply_patch(ctx, dir, p, acc)?;
        record("PatchTransformer", 1, acc);
    }
    if !k.namespace.is_empty() {
        set_namespace(acc, &k.namespace, &config.namespace)?;
        record("NamespaceTransformer", 1, acc);
    }
    add_prefix_suffix(acc, &k.name_prefix, &k.name_suffix, config)?;
    record(
        "PrefixTransformer",
        usize::from(!k.name_prefix.is_empty()),
        acc,
    );
    record(
        "SuffixTransformer",
        usize::from(!k.name_suffix.is_empty()),
        acc,
    );
    add_labels(acc, k, config)?;
    // kustomize runs one label transformer per `labels` entry plus one for commonLabels
    // whenever either is set.
    let any_labels = !k.common_labels.is_empty() || !k.labels.is_empty();
    record(
        "LabelTransformer",
        k.labels.len() + usize::from(any_labels),
        acc,
    );
    if !k.common_annotations.is_empty() {
        add_annotations(acc, &k.common_annotations, &config.common_annotations)?;
        record("AnnotationsTransformer", 1, acc);
    }
    for p in &k.patches_json6902 {
        patch::apply_json6902_entry(ctx, dir, p, acc)?;
        record("PatchJson6902Transformer", 1, acc);
    }
    for r in &k.replicas {
        set_replicas(acc, r, &config.replicas)?;
        record("ReplicaCountTransformer", 1, acc);
    }
    for image in &k.images {
        set_images(acc, image, &config.images)?;
        record("ImageTagTransformer", 1, acc);
    }
    if !k.replacements.is_empty() {
        replacement::apply_all(ctx, dir, &k.replacements, true, acc)?;
        record("ReplacementTransformer", 1, acc);
    }
    Ok(())
}
