//! `tether diff kustomization NAME --path DIR`, as `flux diff kustomization`: the local build
//! (shared with `build kustomization`) dry-run against the cluster with the controller's field
//! manager; each object that would be created, changed or skipped is printed as
//! `► Kind/namespace/name created|drifted|skipped`, a drift followed by dyff's report of the
//! live object against the dry-run result (Secret values masked), then the inventory objects
//! a prune would delete. As Flux's, each object is dry-run on its own: one the API server
//! refuses is reported at the end with the others and the diff goes on (no prune is predicted
//! then); `kustomize.toolkit.fluxcd.io/ssa: Ignore` and `reconcile: disabled` (on the local or
//! the live object) skip it; the paths of the Kustomization's `spec.ignore` rules are left
//! out of the comparison and of the report. Exit status 1 when anything would change, 2 when
//! the diff failed. `diff artifact` lives with the other artifact verbs.

use super::build::{LocalBuilder, nested_kustomization, required_name, resource_dir};
use super::cluster::{self, block_on};
use super::dyff::human_report;
use super::{ExitStatus, artifact};
use crate::cli::{DiffCommand, DiffKustomizationArgs};
use anyhow::Context;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::Path;
use tether_api::kustomize::v1::Kustomization;
use tether_core::changeset::Action;
use tether_core::object::ObjectRef;
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
    let report = result.map_err(ExitStatus::failed)?;
    print!("{}", report.out);
    if let Some(error) = report.error() {
        return Err(ExitStatus::failed(anyhow::anyhow!(error)));
    }
    if report.changed {
        return Err(ExitStatus::new(
            1,
            anyhow::anyhow!("identified at least one change, exiting with non-zero exit code"),
        )
        .into());
    }
    Ok(())
}

/// What a diff printed, whether anything would change, and the objects that could not be
/// diffed (the diff goes on past them, as Flux's does, and a prune is then not predicted).
#[derive(Default)]
struct Report {
    out: String,
    changed: bool,
    errors: Vec<String>,
}

impl Report {
    /// The failures as one message: the only one, or all (each once) in brackets, as
    /// Kubernetes' error aggregate words them.
    fn error(&self) -> Option<String> {
        let mut distinct: Vec<&str> = Vec::new();
        for error in &self.errors {
            if !distinct.contains(&error.as_str()) {
                distinct.push(error);
            }
        }
        match distinct.as_slice() {
            [] => None,
            [one] => Some((*one).to_owned()),
            many => Some(format!("[{}]", many.join(", "))),
        }
    }
}

struct Differ<'a> {
    builder: &'a LocalBuilder,
    recursive: bool,
}

impl Differ<'_> {
    /// The report for `ks` built from `dir`: each object dry-run on its own, in build order.
    async fn diff(&self, ks: &Kustomization, dir: &Path) -> anyhow::Result<Report> {
        let client = self
            .builder
            .client()
            .context("client is required for live run")?;
        let objects = self.builder.build(ks, dir).await?;
        let options = diff_options(ks, &objects)?;
        let manager = ResourceManager::new(client.clone())
            .with_field_manager(tether_ssa::DEFAULT_FIELD_MANAGER);
        let mut report = Report::default();
        let mut applied = tether_core::inventory::Inventory::new();
        for object in &objects {
            let diff = match manager.diff_objects(vec![object.clone()], &options).await {
                Ok(diffs) => diffs.into_iter().next(),
                Err(error) => {
                    report.errors.push(error.to_string());
                    continue;
                }
            };
            let Some(diff) = diff else {
                continue;
            };
            applied
                .entries
                .push(tether_core::inventory::InventoryEntry::from_ref(
                    &diff.entry.object,
                ));
            if diff.entry.action == Action::Skipped {
                let subject = skipped_subject(&manager, &diff.entry.object).await;
                report.out.push_str(&format!("► {subject} skipped\n"));
            }
            report.changed |= write_change(&mut report.out, object, &diff);
            if self.recursive && diff.entry.action != Action::Created {
                self.diff_nested(&mut report, object, ks).await?;
            }
        }
        if ks.spec.prune && report.errors.is_empty() {
            let old = tether_controller::kustomization_inventory(
                ks.status.as_ref().and_then(|s| s.inventory.as_ref()),
            );
            for stale in old.diff(&applied)? {
                report.out.push_str(&format!("► {stale} deleted\n"));
                report.changed = true;
            }
        }
        Ok(report)
    }

    /// The diff of a Kustomization found in the output, from its source's local copy; a
    /// failure to diff it is reported with the others.
    async fn diff_nested(
        &self,
        report: &mut Report,
        object: &Value,
        parent: &Kustomization,
    ) -> anyhow::Result<()> {
        let Some(child) = nested_kustomization(object, parent)? else {
            return Ok(());
        };
        let subject = ObjectRef::from_object(object)?;
        if child.spec.kube_config.is_some() {
            report.out.push_str(&format!(
                "⚠️ {subject} skipped: diff not supported for remote clusters\n"
            ));
            return Ok(());
        }
        let nested = async {
            let live = self.builder.nested(&child, false, false).await?;
            let dir = self.builder.local_dir(&child)?;
            Box::pin(self.diff(&live, &dir)).await
        };
        match nested.await {
            Ok(nested) => {
                if nested.changed {
                    report.changed = true;
                    report
                        .out
                        .push_str(&format!("📁 {subject} changed\n{}", nested.out));
                }
                report.errors.extend(nested.errors);
            }
            Err(error) => report.errors.push(format!("{error:#}")),
        }
        Ok(())
    }
}

/// The subject Flux prints for a skipped object: the live object's, so `Kind/` alone when
/// there is no live object (Flux names the object it failed to read).
async fn skipped_subject(manager: &ResourceManager, object: &ObjectRef) -> String {
    match manager.live(object).await {
        Ok(Some(_)) => object.to_string(),
        _ => format!("{}/", object.kind),
    }
}

/// kustomize-controller's apply options, with the fields `spec.ignore` leaves out of the
/// comparison.
fn diff_options(ks: &Kustomization, objects: &[Value]) -> anyhow::Result<ApplyOptions> {
    let rules = ks.spec.ignore.as_deref().unwrap_or_default();
    let rules = rules
        .iter()
        .map(|r| (r.paths.as_slice(), r.target.as_ref()));
    let ignored_fields = tether_controller::drift_ignore::ignored_fields(rules, objects)
        .map_err(anyhow::Error::msg)?;
    Ok(ApplyOptions {
        ignored_fields,
        ..ApplyOptions::default()
    })
}

/// Writes one object's line (and report); whether it would change the cluster.
fn write_change(out: &mut String, built: &Value, diff: &ObjectDiff) -> bool {
    let subject = diff.entry.subject();
    match diff.entry.action {
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
