//! Condition types and reasons specific to HelmRelease (helm-controller). The generic ones
//! (`Ready`, `Reconciling`, `Stalled`, ...) are in [`crate::meta::conditions`].

/// The outcome of the last release attempt (install or upgrade, with its tests) against the
/// latest desired state.
pub const RELEASED: &str = "Released";
/// The outcome of the last test run against the latest desired state.
pub const TEST_SUCCESS: &str = "TestSuccess";
/// The outcome of the last remediation (rollback or uninstall) of a failed release attempt.
pub const REMEDIATED: &str = "Remediated";
/// Whether the deployed release has drifted from the desired state.
pub const DRIFTED: &str = "Drifted";

/// Condition reasons helm-controller uses.
pub mod reasons {
    /// The Helm install succeeded.
    pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
    /// The Helm install failed.
    pub const INSTALL_FAILED: &str = "InstallFailed";
    /// The Helm upgrade succeeded.
    pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
    /// The Helm upgrade failed.
    pub const UPGRADE_FAILED: &str = "UpgradeFailed";
    /// The Helm tests succeeded.
    pub const TEST_SUCCEEDED: &str = "TestSucceeded";
    /// The Helm tests failed.
    pub const TEST_FAILED: &str = "TestFailed";
    /// The Helm rollback succeeded.
    pub const ROLLBACK_SUCCEEDED: &str = "RollbackSucceeded";
    /// The Helm rollback failed.
    pub const ROLLBACK_FAILED: &str = "RollbackFailed";
    /// The Helm uninstall succeeded.
    pub const UNINSTALL_SUCCEEDED: &str = "UninstallSucceeded";
    /// The Helm uninstall failed.
    pub const UNINSTALL_FAILED: &str = "UninstallFailed";
    /// Getting the chart artifact failed.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// The chart source (HelmChart, OCIRepository, ExternalArtifact) has no artifact to use
    /// yet: not at its latest generation, stalled, or without an artifact.
    pub const SOURCE_NOT_READY: &str = "SourceNotReady";
    /// Initializing the Helm action configuration failed (v2beta1).
    pub const INIT_FAILED: &str = "InitFailed";
    /// Reading the last release from the Helm storage failed (v2beta1).
    pub const GET_LAST_RELEASE_FAILED: &str = "GetLastReleaseFailed";
    /// A dependency is not ready.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// The deployed release has drifted from the desired state.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// The deployed release matches the desired state.
    pub const NO_DRIFT_DETECTED: &str = "NoDriftDetected";
    /// Building the inventory of the release's objects failed.
    pub const INVENTORY_BUILD_FAILED: &str = "InventoryBuildFailed";
    /// The namespace-scope check of the release's objects was skipped (REST mapping failed).
    pub const NAMESPACE_CHECK_SKIPPED: &str = "NamespaceCheckSkipped";
    /// The reconciliation succeeded (v2beta1).
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// The reconciliation failed (v2beta1).
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
}
