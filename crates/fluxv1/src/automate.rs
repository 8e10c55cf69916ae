//! One run of fluxd's image automation over a repository: every automated, unlocked, not
//! ignored workload gets the newest image its containers' tag patterns allow, in one
//! `Auto-release ...` commit that is pushed (redone from the new tip when the branch moved).

use std::path::Path;

use tether_workloads::Workload;
use tether_workloads::release::{ContainerUpdate, message, plan_automated};

use crate::choose::{Choices, MissingTimes, Skipped};
use crate::error::Error;
use crate::repo::{CommitSettings, Repository, edit_commit_push, workloads_in};
use crate::scan::{Catalog, ImageScanner};
use tether_source::{Edit, Edited};

/// What an automation run did.
#[derive(Debug)]
pub struct AutomationRun {
    /// The pushed commit, `None` when every automated container was up to date.
    pub commit: Option<String>,
    /// The containers moved to a new image.
    pub updates: Vec<ContainerUpdate>,
    /// Containers passed over because their image could not be scanned or their pattern is
    /// invalid; the others were still updated.
    pub skipped: Vec<Skipped>,
}

/// Runs fluxd's automation once over `repo`: clones it, finds newer allowed tags for the
/// automated workloads through `scanner`, edits the manifests in place, commits with
/// `settings` (`Auto-release <image>`) and pushes. No commit when nothing changed.
pub async fn automate_once(
    repo: &Repository,
    scanner: &ImageScanner,
    settings: &CommitSettings,
) -> Result<AutomationRun, Error> {
    let mut edit = AutomationEdit {
        repo,
        scanner,
        catalog: Catalog::default(),
    };
    let committed = edit_commit_push(repo, settings, &mut edit).await?;
    let (updates, skipped) = committed.report;
    Ok(AutomationRun {
        commit: committed.commit,
        updates,
        skipped,
    })
}

struct AutomationEdit<'a> {
    repo: &'a Repository,
    scanner: &'a ImageScanner,
    catalog: Catalog,
}

impl Edit for AutomationEdit<'_> {
    type Report = (Vec<ContainerUpdate>, Vec<Skipped>);
    type Error = Error;

    async fn apply(&mut self, root: &Path) -> Result<Edited<Self::Report>, Error> {
        let found = workloads_in(self.repo, root)?;
        let workloads = &found.workloads;
        let candidates: Vec<&Workload> = workloads
            .iter()
            .filter(|w| w.policy.is_automation_candidate())
            .collect();
        let choices = Choices::look_up(
            &candidates,
            self.scanner,
            &mut self.catalog,
            MissingTimes::Skip,
        )
        .await;
        let updates = plan_automated(workloads, |repo, current, pattern| {
            choices.choose(repo, current, pattern)
        });
        let message = if updates.is_empty() {
            None
        } else {
            found.write_images(root, &updates)?;
            Some(message::auto_release(&updates))
        };
        Ok(Edited {
            message,
            report: (updates, choices.skipped),
        })
    }
}
