//! `tether diff kustomization NAME --path DIR`, as `flux diff kustomization`: the local build
//! (shared with `build kustomization`) dry-run against the cluster with the controller's field
//! manager; each object that would be created, changed or skipped is printed as
//! `► Kind/namespace/name created|drifted|skipped`, a drift followed by dyff's report of the
//! live object against the dry-run result (Secret values masked), then the inventory objects
//! a prune would delete. Exit status 1 when anything would change, 2 when the diff failed.
//! `diff artifact` lives with the other artifact verbs.

use super::build::{LocalBuilder, nested_kustomization, required_name, resource_dir};
use super::cluster::{self, block_on};
use super::dyff::human_report;
use super::{ExitStatus, artifact};
use crate::cli::{DiffCommand, DiffKustomizationArgs};
use anyhow::Context;
use serde_json::Value;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use tether_api::kustomize::v1::Kustomization;
use tether_core::changeset::Action;
use tether_core::object::{ObjectId, ObjectRef};
use tether_ssa::{ApplyOptions, ObjectDiff, ResourceManager};

/// What Flux writes in place of Secret values in a diff.
const MASK: &str = "***";

pub fn run(command: DiffCommand) -> anyhow::Result<()> {
    match command {
        DiffCommand::Artifact(args) => artifact::run_diff_artifact(args),
        DiffCommand::Kustomization(args) => block_on(diff_kustomization(args)),
    }
}

async fn diff_kustomization(args: DiffKustomizationArgs) -> anyhow::Result<()> {
    let name = required_name(args.name.as_deref())?;
    let dir = resource_dir(&args.local.path).map_err(ExitStatus::failed)?;
    let client = cluster::client(&args.cluster).await?;
    let builder = LocalBuilder::new(Some(client), &args.local, args.ignore_not_found)
        .map_err(ExitStatus::failed)?;
    let spinner = args.progress_bar.then(Spinner::start);
    let differ = Differ {
        builder: &builder,
        recursive: args.local.recursive,
    };
    let result = async {
        let ks = builder
            .kustomization(name, &args.cluster.namespace, false)
            .await?;
        differ.diff(&ks, &dir).await
    }
    .await;
    drop(spinner);
    let (output, changed) = result.map_err(ExitStatus::failed)?;
    print!("{output}");
    if changed {
        return Err(ExitStatus::new(
            1,
            anyhow::anyhow!("identified at least one change, exiting with non-zero exit code"),
        )
        .into());
    }
    Ok(())
}

struct Differ<'a> {
    builder: &'a LocalBuilder,
    recursive: bool,
}

impl Differ<'_> {
    /// The report for `ks` built from `dir`, and whether anything would change.
    async fn diff(&self, ks: &Kustomization, dir: &Path) -> anyhow::Result<(String, bool)> {
        let client = self
            .builder
            .client()
            .context("client is required for live run")?;
        let objects = self.builder.build(ks, dir).await?;
        let manager = ResourceManager::new(client.clone())
            .with_field_manager(tether_ssa::DEFAULT_FIELD_MANAGER);
        let diffs = manager
            .diff_objects(objects.clone(), &ApplyOptions::default())
            .await?;
        let by_id: HashMap<ObjectId, ObjectDiff> = diffs
            .into_iter()
            .map(|d| (d.entry.object.id(), d))
            .collect();
        let (mut out, mut changed) = (String::new(), false);
        let mut applied = tether_core::inventory::Inventory::new();
        for object in &objects {
            let Some(diff) = lookup(&by_id, object) else {
                continue;
            };
            applied
                .entries
                .push(tether_core::inventory::InventoryEntry::from_ref(
                    &diff.entry.object,
                ));
            changed |= write_change(&mut out, object, diff);
            if self.recursive && diff.entry.action != Action::Created {
                changed |= self.diff_nested(&mut out, object, ks).await?;
            }
        }
        if ks.spec.prune {
            let old = tether_controller::kustomization_inventory(
                ks.status.as_ref().and_then(|s| s.inventory.as_ref()),
            );
            for stale in old.diff(&applied)? {
                out.push_str(&format!("► {stale} deleted\n"));
                changed = true;
            }
        }
        Ok((out, changed))
    }

    /// The diff of a Kustomization found in the output, from its source's local copy.
    async fn diff_nested(
        &self,
        out: &mut String,
        object: &Value,
        parent: &Kustomization,
    ) -> anyhow::Result<bool> {
        let Some(child) = nested_kustomization(object, parent)? else {
            return Ok(false);
        };
        let subject = ObjectRef::from_object(object)?;
        if child.spec.kube_config.is_some() {
            out.push_str(&format!(
                "⚠️ {subject} skipped: diff not supported for remote clusters\n"
            ));
            return Ok(false);
        }
        let live = self.builder.nested(&child, false, false).await?;
        let dir = self.builder.local_dir(&child)?;
        let (nested, changed) = Box::pin(self.diff(&live, &dir)).await?;
        if changed {
            out.push_str(&format!("📁 {subject} changed\n{nested}"));
        }
        Ok(changed)
    }
}

/// The dry-run result of a built object (cluster-scoped objects lose their namespace).
fn lookup<'a>(by_id: &'a HashMap<ObjectId, ObjectDiff>, object: &Value) -> Option<&'a ObjectDiff> {
    let mut reference = ObjectRef::from_object(object).ok()?;
    by_id.get(&reference.id()).or_else(|| {
        reference.namespace.clear();
        by_id.get(&reference.id())
    })
}

/// Writes one object's line (and report); whether it would change the cluster.
fn write_change(out: &mut String, built: &Value, diff: &ObjectDiff) -> bool {
    let subject = diff.entry.subject();
    match diff.entry.action {
        Action::Skipped => {
            out.push_str(&format!("► {subject} skipped\n"));
            false
        }
        Action::Created => {
            out.push_str(&format!("► {subject} created\n"));
            true
        }
        Action::Configured => {
            let (Some(live), Some(merged)) = (&diff.live, &diff.merged) else {
                return false;
            };
            let (mut live, mut merged) = (comparable(live), comparable(merged));
            if built["kind"] == "Secret" {
                mask_secret_data(&mut live, &mut merged);
                if holds_sops_mask(built) && same_keys(&mut live, &mut merged) {
                    return false;
                }
            }
            out.push_str(&format!("► {subject} drifted\n"));
            out.push_str(&human_report(&live, &merged));
            out.push('\n');
            true
        }
        _ => false,
    }
}

/// The object without `metadata.managedFields`.
fn comparable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    object
}

/// Secret values replaced as Flux's diff shows them: `*** (before)` / `*** (after)` where a
/// value changed, `***` elsewhere.
fn mask_secret_data(live: &mut Value, merged: &mut Value) {
    let old = live.get("data").and_then(Value::as_object).cloned();
    let new = merged.get("data").and_then(Value::as_object).cloned();
    let (Some(old), new) = (old, new.unwrap_or_default()) else {
        if let Some(Value::Object(data)) = merged.get_mut("data") {
            data.values_mut().for_each(|v| *v = MASK.into());
        }
        return;
    };
    let mask = |value: &mut Value, key: &str, text: &str| {
        if let Some(slot) = value.get_mut("data").and_then(|d| d.get_mut(key)) {
            *slot = text.into();
        }
    };
    for (key, value) in &old {
        match new.get(key) {
            Some(other) if other != value => {
                mask(live, key, "*** (before)");
                mask(merged, key, "*** (after)");
            }
            Some(_) => {
                mask(live, key, MASK);
                mask(merged, key, MASK);
            }
            None => mask(live, key, MASK),
        }
    }
    for key in new.keys().filter(|k| !old.contains_key(*k)) {
        mask(merged, key, MASK);
    }
}

/// Whether the built Secret holds values Flux's build masked as SOPS-encrypted.
fn holds_sops_mask(built: &Value) -> bool {
    use base64::Engine;
    let data = built.get("data").and_then(Value::as_object);
    data.into_iter().flatten().any(|(_, value)| {
        let decoded = value
            .as_str()
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
        decoded.is_some_and(|bytes| bytes.windows(8).any(|w| w == b"**SOPS**"))
    })
}

/// Compares a SOPS Secret by its keys only, as Flux does (the values cannot be compared):
/// both sides' values become `*****`; true when the keys are the same.
fn same_keys(live: &mut Value, merged: &mut Value) -> bool {
    let keys = |object: &mut Value| -> Vec<String> {
        let Some(Value::Object(data)) = object.get_mut("data") else {
            return Vec::new();
        };
        data.values_mut().for_each(|v| *v = "*****".into());
        let mut keys: Vec<String> = data.keys().cloned().collect();
        keys.sort();
        keys
    };
    keys(live) == keys(merged)
}

/// A spinner on standard error while the dry-run runs, when standard error is a terminal
/// (Flux's progress bar); stopped and erased when dropped.
struct Spinner {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start() -> Self {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
                for frame in frames.iter().cycle() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    eprint!("\r{frame} Kustomization diffing... running dry-run");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                eprint!("\r\x1b[K");
            })
        });
        Self { stop, thread }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
