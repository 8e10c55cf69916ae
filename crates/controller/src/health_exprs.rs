//! `spec.healthCheckExprs` of Kustomizations and HelmReleases, as kustomize-controller and
//! helm-controller use them: parsed before anything else is done (an invalid entry stalls the
//! object with `InvalidCELExpression` and Flux's configuration-error message), then given to the
//! object's resource manager, so that every wait of the reconcile judges the kinds they cover
//! by them instead of kstatus (`tether_cel::HealthRules`).

use std::sync::Arc;

use tether_api::kustomize::v1::CustomHealthCheck;
use tether_api::meta::conditions::reasons;
use tether_cel::HealthRules;
use tether_ssa::ResourceManager;

use crate::failure::Failure;

/// The parsed rules, `None` when there are none.
pub fn parse(checks: Option<&[CustomHealthCheck]>) -> Result<Option<Arc<HealthRules>>, Failure> {
    let checks = checks.unwrap_or_default();
    if checks.is_empty() {
        return Ok(None);
    }
    HealthRules::new(checks)
        .map(|rules| Some(Arc::new(rules)))
        .map_err(|e| Failure::configuration(reasons::INVALID_CEL_EXPRESSION, e))
}

/// `manager`, judging the kinds `rules` cover by them.
pub fn judged_by(manager: ResourceManager, rules: Option<Arc<HealthRules>>) -> ResourceManager {
    match rules {
        Some(rules) => manager.with_custom_health(rules),
        None => manager,
    }
}
