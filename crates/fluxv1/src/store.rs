//! Where workloads come from when a repository's manifests are generated (fluxd's
//! `--manifest-generation`, `.flux.yaml`): a [`WorkloadStore`] generates the workloads of the
//! paths it governs and writes their updates its own way (a patch file, updater commands);
//! the paths it leaves alone are read and edited as plain YAML files.

use std::path::{Path, PathBuf};

use tether_workloads::release::ContainerUpdate;
use tether_workloads::{PolicyUpdate, Workload};

/// Why a store could not generate or update manifests; its text names the config file.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// The workloads a store generates, and the paths it leaves to plain files.
#[derive(Debug, Default)]
pub struct Generated {
    /// Generated workloads; their `file` names where they came from (the `.flux.yaml`).
    pub workloads: Vec<Workload>,
    /// Paths whose workloads are plain files, edited in place.
    pub plain_paths: Vec<PathBuf>,
}

/// Generates workloads and writes their updates; every method works on the clone at `root`.
pub trait WorkloadStore: Send + Sync + std::fmt::Debug {
    /// The workloads generated for `paths` (relative to `root`), and the paths left alone.
    fn workloads(&self, root: &Path, paths: &[PathBuf]) -> Result<Generated, StoreError>;

    /// Moves a generated workload's container to a new image.
    fn set_image(
        &self,
        root: &Path,
        workload: &Workload,
        update: &ContainerUpdate,
    ) -> Result<(), StoreError>;

    /// Applies a policy update to a generated workload; whether anything changed.
    fn update_policies(
        &self,
        root: &Path,
        workload: &Workload,
        update: &PolicyUpdate,
    ) -> Result<bool, StoreError>;
}
