//! The Flux v1 workflow (fluxd and fluxctl) over one Git repository: a working clone, the
//! workloads engine (`fluxcd.io/` annotations, in-place edits, release plans), a registry
//! scanner and tag patterns put together into the operations fluxd performed —
//!
//! - [`automate_once`]: one automation run, `Auto-release ...` pushed when an automated
//!   workload has a newer allowed image;
//! - [`release`]: `fluxctl release`, one `Release ...` commit ([`preview_release`] for
//!   `--dry-run`);
//! - [`set_policy`]: `fluxctl automate/deautomate/lock/unlock/policy`, one commit with fluxd's
//!   policy message;
//! - [`read_workloads`] and [`list_images`]: what `fluxctl list-workloads` and `list-images`
//!   show.
//!
//! Every writing operation clones into a temporary directory, commits with
//! [`CommitSettings`], pushes without force and, when the branch moved meanwhile, starts
//! again from the new tip. Registry credentials come per image from a [`CredentialsLookup`]
//! (anonymous, a docker config secret, or several).
#![forbid(unsafe_code)]

mod automate;
mod choose;
mod error;
mod list;
mod policy;
mod release;
mod repo;
mod scan;
mod store;

pub use automate::{AutomationRun, automate_once};
pub use choose::Skipped;
pub use error::Error;
pub use list::{AvailableTag, ContainerImages, WorkloadImages, list_images};
pub use policy::set_policy;
pub use release::{preview_release, preview_release_containers, release, release_containers};
pub use repo::{CommitSettings, Committed, DEFAULT_PUSH_ATTEMPTS, Repository, read_workloads};
pub use scan::{Anonymous, Catalog, CredentialsLookup, ImageFilter, ImageScanner};
pub use store::{Generated, StoreError, WorkloadStore};
pub use tether_workloads::release::message::CI_SKIP_SUFFIX;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tether_source::{CloneSpec, GitAuth, GitReference};

    fn require_send<T: Send>(_: &T) {}

    /// The controller spawns automation runs on its multi-threaded runtime.
    #[test]
    fn operations_can_run_on_spawned_tasks() {
        let repo = Repository {
            clone: CloneSpec {
                url: "https://example.invalid/repo.git".into(),
                checkout: GitReference::branch("main"),
                push_branch: None,
                auth: GitAuth::default(),
                timeout: Duration::from_secs(1),
            },
            paths: Vec::new(),
            target_namespace: None,
            store: None,
        };
        let scanner = ImageScanner::new(tether_registry::RegistryClient::default(), Anonymous);
        let settings = CommitSettings::default();
        require_send(&automate_once(&repo, &scanner, &settings));
        let spec = tether_workloads::release::ReleaseSpec {
            workloads: tether_workloads::release::WorkloadSelector::All,
            excludes: Vec::new(),
            image: tether_workloads::release::ImageSelector::AllLatest,
            force: false,
        };
        require_send(&release(&repo, &scanner, &spec, None, &settings));
        require_send(&set_policy(&repo, &[], None, &settings));
    }
}
