//! A release whose target changed: helm-controller's `ReleaseTargetChanged`. When the storage
//! namespace, release namespace or release name differ from the release the status last
//! recorded, that release is uninstalled before the new one is installed (else the install
//! would meet its objects). A new chart name does the same unless
//! `upgrade.chartNameChangeStrategy` is `InPlaceUpdate`, which upgrades the release in place.

use tether_api::helm::conditions::reasons;
use tether_api::helm::v2::{ChartNameChangeStrategy, HelmRelease, HelmReleaseStatus};
use tether_helm::release::Release;
use tether_helm_actions::{ActionError, ReleaseStore, Target};
use tokio_util::sync::CancellationToken;

use crate::failure::Failure;

/// What about the release's target changed, in helm-controller's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetChange {
    StorageNamespace,
    ReleaseNamespace,
    ReleaseName,
    ChartName,
}

impl TargetChange {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetChange::StorageNamespace => "storage namespace",
            TargetChange::ReleaseNamespace => "release namespace",
            TargetChange::ReleaseName => "release name",
            TargetChange::ChartName => "chart name",
        }
    }
}

/// What changed since the release the status records, for a chart named `chart_name`; nothing
/// when the status records no release or no storage namespace.
pub fn changed(
    hr: &HelmRelease,
    status: &HelmReleaseStatus,
    chart_name: &str,
) -> Option<TargetChange> {
    let recorded_storage = status
        .storage_namespace
        .as_deref()
        .filter(|s| !s.is_empty())?;
    let latest = status.history.as_ref().and_then(|h| h.first())?;
    if hr.storage_namespace() != recorded_storage {
        Some(TargetChange::StorageNamespace)
    } else if hr.release_namespace() != latest.namespace {
        Some(TargetChange::ReleaseNamespace)
    } else if hr.release_name() != latest.name {
        Some(TargetChange::ReleaseName)
    } else if chart_name != latest.chart_name {
        Some(TargetChange::ChartName)
    } else {
        None
    }
}

/// Whether `change` calls for uninstalling the recorded release first.
pub fn uninstalls_first(hr: &HelmRelease, change: TargetChange) -> bool {
    let strategy = hr
        .spec
        .upgrade
        .as_ref()
        .map(|u| u.chart_name_change_strategy_or_default())
        .unwrap_or_default();
    change != TargetChange::ChartName || strategy == ChartNameChangeStrategy::Reinstall
}

/// Uninstalls the release the status records (in its storage namespace, under its name and
/// namespace) and forgets it: history, failure counts, storage namespace and inventory are
/// cleared. Returns helm-controller's success message, for the event; nothing when the status
/// recorded no release.
pub async fn uninstall_recorded(
    hr: &HelmRelease,
    access: &crate::clusters::Access,
    status: &mut HelmReleaseStatus,
    change: TargetChange,
) -> Result<Option<String>, Failure> {
    let (Some(storage), Some(latest)) = (
        status.storage_namespace.clone(),
        status.history.as_ref().and_then(|h| h.first()).cloned(),
    ) else {
        return Ok(None);
    };
    tracing::info!(
        release = %format!("{}/{}", latest.namespace, latest.name),
        "release target configuration changed ({}): running uninstall for current release",
        change.as_str()
    );
    let store = ReleaseStore::new(access.client.clone(), &storage);
    let target = Target {
        name: &latest.name,
        namespace: &latest.namespace,
        store: &store,
        manager: &access.manager,
        cancel: CancellationToken::new(),
    };
    uninstall(hr, &target).await.map_err(|e| {
        Failure::new(
            reasons::UNINSTALL_FAILED,
            format!(
                "Helm uninstall failed for release {}/{} with chart {}@{}: {e}",
                latest.namespace, latest.name, latest.chart_name, latest.chart_version
            ),
        )
    })?;
    status.history = None;
    status.install_failures = None;
    status.upgrade_failures = None;
    status.failures = None;
    status.storage_namespace = None;
    status.inventory = None;
    Ok(Some(format!(
        "Helm uninstall succeeded for release {}/{}.v{} with chart {}@{}",
        latest.namespace, latest.name, latest.version, latest.chart_name, latest.chart_version
    )))
}

/// Uninstalls `target` with the HelmRelease's `spec.uninstall` options.
pub async fn uninstall(
    hr: &HelmRelease,
    target: &Target<'_>,
) -> Result<Option<Release>, ActionError> {
    let uninstall = hr.spec.uninstall.clone().unwrap_or_default();
    let timeout = uninstall
        .timeout
        .as_ref()
        .and_then(|t| t.to_std().ok())
        .unwrap_or(std::time::Duration::from_secs(300));
    tether_helm_actions::actions::uninstall(
        target,
        uninstall.keep_history == Some(true),
        uninstall.disable_hooks == Some(true),
        timeout,
    )
    .await
}
