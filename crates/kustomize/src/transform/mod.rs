//! The built-in transformers, run in kustomize's fixed order: strategic-merge patches, patches,
//! namespace, prefix, suffix, labels, annotations, JSON 6902 patches, replicas, images,
//! replacements.

mod images;
mod meta;

use crate::build::Ctx;
use crate::error::Result;
use crate::kustfile::Kustomization;
use crate::resource::Resource;
use crate::{patch, replacement};

pub use images::{set_images, set_replicas};
pub use meta::{add_annotations, add_labels, add_prefix_suffix, set_namespace};

/// Runs every transformer the kustomization configures over `acc`.
pub fn run_all(ctx: &Ctx<'_>, dir: &str, k: &Kustomization, acc: &mut Vec<Resource>) -> Result<()> {
    patch::apply_strategic_merge_list(ctx, dir, &k.patches_strategic_merge, acc)?;
    for p in &k.patches {
        patch::apply_patch(ctx, dir, p, acc)?;
    }
    if !k.namespace.is_empty() {
        set_namespace(acc, &k.namespace)?;
    }
    add_prefix_suffix(acc, &k.name_prefix, &k.name_suffix)?;
    add_labels(acc, k)?;
    if !k.common_annotations.is_empty() {
        add_annotations(acc, &k.common_annotations)?;
    }
    for p in &k.patches_json6902 {
        patch::apply_json6902_entry(ctx, dir, p, acc)?;
    }
    for r in &k.replicas {
        set_replicas(acc, r)?;
    }
    for image in &k.images {
        set_images(acc, image)?;
    }
    if !k.replacements.is_empty() {
        replacement::apply_all(ctx, dir, &k.replacements, acc)?;
    }
    Ok(())
}
