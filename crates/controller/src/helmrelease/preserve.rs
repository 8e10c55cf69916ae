//! `upgrade.preserveValues`: an upgrade keeps the current release's values, the composed values
//! merged over them, as helm-controller asks Helm to (`ReuseValues`; Helm's `--reuse-values`).
//! The config digest the release is compared with stays that of the composed values, so an
//! unchanged HelmRelease finds its release in sync and a no-op resync upgrades nothing
//! (helm-controller digests the merged values there and upgrades at every reconcile,
//! fluxcd/helm-controller#1371).

use serde_json::{Map as JsonMap, Value as Json};
use tether_api::helm::conditions::reasons;
use tether_api::helm::v2::{HelmRelease, ReleaseAction};
use tether_helm::release::Release;

use crate::failure::Failure;

/// The values an action renders and stores.
pub struct ActionValues {
    /// Stored with the release (`helm get values`).
    pub config: JsonMap<String, Json>,
    /// The chart defaults rendered with, in place of the chart's own when reused.
    pub chart_defaults: Option<JsonMap<String, Json>>,
}

/// The values of `action`: the composed `config`, or for an upgrade with `preserveValues` the
/// reuse of `current`'s (the deployed release, else the newest one, as Helm's upgrade picks it).
pub fn for_action(
    hr: &HelmRelease,
    action: ReleaseAction,
    config: &JsonMap<String, Json>,
    current: Option<&Release>,
) -> Result<ActionValues, Failure> {
    let composed = || ActionValues {
        config: config.clone(),
        chart_defaults: None,
    };
    let (ReleaseAction::Upgrade, true, Some(current)) = (action, preserves_values(hr), current)
    else {
        return Ok(composed());
    };
    let current_chart_values = current
        .chart
        .as_ref()
        .and_then(|c| c.values.clone())
        .unwrap_or_default();
    let reused = tether_helm::values::reuse_values(&current_chart_values, &current.config, config)
        .map_err(|e| {
            Failure::new(
                reasons::UPGRADE_FAILED,
                format!("failed to rebuild old values: {e}"),
            )
        })?;
    Ok(ActionValues {
        config: reused.config,
        chart_defaults: Some(reused.chart_defaults),
    })
}

fn preserves_values(hr: &HelmRelease) -> bool {
    hr.spec.upgrade.as_ref().and_then(|u| u.preserve_values) == Some(true)
}
