//! Commit messages in fluxd's words: `Auto-release <image>`, `Release <image> to <workloads>`,
//! the policy-change summary, and the `[ci skip]` suffix of `--git-ci-skip`.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{ContainerUpdate, ImageSelector, ReleaseSpec, WorkloadSelector};
use crate::id::ResourceId;
use crate::policy::{AUTOMATED, LOCKED, PolicyUpdate};

/// What fluxd's `--git-ci-skip` appended to every commit message.
pub const CI_SKIP_SUFFIX: &str = "\n\n[ci skip]";

/// `message` with the `[ci skip]` suffix.
pub fn with_ci_skip(message: &str) -> String {
    format!("{message}{CI_SKIP_SUFFIX}")
}

/// The distinct new images of `updates`, sorted.
fn changed_images(updates: &[ContainerUpdate]) -> Vec<&str> {
    let images: BTreeSet<&str> = updates.iter().map(|u| u.new_image.as_str()).collect();
    images.into_iter().collect()
}

/// The message of an automation commit: `Auto-release <image>`, or a list when several images
/// changed.
pub fn auto_release(updates: &[ContainerUpdate]) -> String {
    match changed_images(updates).as_slice() {
        [] => "Auto-release (no images)\n".to_string(),
        [image] => format!("Auto-release {image}"),
        images => {
            let mut message = format!("Auto-release multiple ({}) images\n\n", images.len());
            for image in images {
                message.push_str(&format!(" - {image}\n"));
            }
            message
        }
    }
}

/// The message of a `fluxctl release` commit: `Release <image> to <workloads>`, with
/// `all latest` for `--update-all-images` and `all` for `--all`.
pub fn release(spec: &ReleaseSpec) -> String {
    let image = match &spec.image {
        ImageSelector::Specific(image) => image.as_str(),
        ImageSelector::AllLatest => "all latest",
    };
    let workloads = match &spec.workloads {
        WorkloadSelector::All => "all".to_string(),
        WorkloadSelector::Ids(ids) => ids
            .iter()
            .map(ResourceId::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!("Release {image} to {workloads}")
}

/// The event kinds of a policy update, by fluxd's event type name (which sets their order).
fn policy_event_types(update: &PolicyUpdate) -> BTreeSet<&'static str> {
    let added = update.add.keys().map(|p| match p.as_str() {
        AUTOMATED => "automate",
        LOCKED => "lock",
        _ => "update_policy",
    });
    let removed = update.remove.iter().map(|p| match p.as_str() {
        AUTOMATED => "deautomate",
        LOCKED => "unlock",
        _ => "update_policy",
    });
    added.chain(removed).collect()
}

fn event_title(event_type: &str) -> &'static str {
    match event_type {
        "automate" => "Automated",
        "deautomate" => "Deautomated",
        "lock" => "Locked",
        "unlock" => "Unlocked",
        _ => "Updated policies",
    }
}

/// The message of a policy commit (`fluxctl automate/lock/policy`): one line per kind of
/// change naming the workloads (`Automated: default:deployment/web`), listed under
/// `Updated workload policies` when there are several, or under the user's own message.
pub fn policy_change(updates: &[(ResourceId, PolicyUpdate)], cause: Option<&str>) -> String {
    let mut events: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (id, update) in updates {
        for event_type in policy_event_types(update) {
            events.entry(event_type).or_default().insert(id.to_string());
        }
    }
    let mut message = String::new();
    let mut prefix = "- ";
    match cause.filter(|c| !c.is_empty()) {
        Some(cause) => message.push_str(&format!("{cause}\n\n")),
        None if events.len() > 1 => message.push_str("Updated workload policies\n\n"),
        None => prefix = "",
    }
    for (event_type, ids) in events {
        let ids: Vec<String> = ids.into_iter().collect();
        message.push_str(&format!(
            "{prefix}{}: {}\n",
            event_title(event_type),
            ids.join(", ")
        ));
    }
    message
}

/// The message of an interactive release: `Update image refs in <workloads>`, then each
/// released workload with its new images.
pub fn containers(plan: &super::ReleasePlan) -> String {
    let released: Vec<&ResourceId> = plan
        .results
        .iter()
        .filter(|(_, r)| r.status == super::ReleaseStatus::Success)
        .map(|(id, _)| id)
        .collect();
    let names: Vec<String> = released.iter().map(|id| id.to_string()).collect();
    let mut body = String::new();
    for id in released {
        body.push_str(&format!("\n{id}"));
        for update in plan.updates.iter().filter(|u| &u.workload == id) {
            body.push_str(&format!("\n- {}", update.new_image));
        }
        body.push('\n');
    }
    format!("Update image refs in {}\n{body}", names.join(", "))
}
