//! `dependsOn[].readyExpr`: a dependency judged ready by a CEL expression over `self` (the
//! object being reconciled) and `dep` (the dependency), as kustomize-controller and
//! helm-controller evaluate it. The expression replaces the built-in check (Ready at the current
//! generation); Flux's `AdditiveCELDependencyCheck` feature gate, which runs both, is off by
//! default there and absent here.

use serde::Serialize;
use tether_api::meta::conditions::reasons;
use tether_cel::Expression;

use crate::failure::Failure;

/// Ok when `expression` holds for `this` and `dep` (named `shown`, `namespace/name`). An
/// expression that does not compile is a terminal failure; one that does not evaluate, or
/// yields false, is retried.
pub fn ready_by_expr(
    expression: &str,
    this: &impl Serialize,
    dep: &impl Serialize,
    dep_name: &str,
    shown: &str,
) -> Result<(), Failure> {
    let compiled = Expression::compile(expression, &["self", "dep"]).map_err(|error| {
        Failure::terminal(
            reasons::DEPENDENCY_NOT_READY,
            format!("failed to evaluate dependency {dep_name}: {error}"),
        )
    })?;
    let encoding_failed = |error: serde_json::Error| {
        Failure::new(
            reasons::DEPENDENCY_NOT_READY,
            format!("failed to convert {dep_name} to a map: {error}"),
        )
    };
    let this = serde_json::to_value(this).map_err(encoding_failed)?;
    let dep = serde_json::to_value(dep).map_err(encoding_failed)?;
    let ready = compiled
        .evaluate_bool([("self", &this), ("dep", &dep)])
        .map_err(|error| Failure::new(reasons::DEPENDENCY_NOT_READY, error.to_string()))?;
    if !ready {
        return Err(Failure::new(
            reasons::DEPENDENCY_NOT_READY,
            format!("dependency '{shown}' is not ready according to readyExpr eval"),
        ));
    }
    Ok(())
}
