//! Flux's CEL expressions, evaluated as fluxcd/pkg `runtime/cel` evaluates them: the same
//! environment (the standard library, cel-go's `strings`, `sets` and `encoders` extensions,
//! optional types), the same messages, and evaluation bounded before it starts.
//!
//! - [`Expression`]: one parsed expression, evaluated to a bool or a string over JSON variables;
//!   compiled for a bool result, one whose type is statically known not to be bool is refused
//!   as cel-go's checker refuses it (`check`).
//! - [`HealthRules`]: `healthCheckExprs` of a Kustomization or HelmRelease, a
//!   [`tether_core::health::CustomHealth`] the wait verb consults before kstatus.
#![forbid(unsafe_code)]

mod bound;
mod check;
mod env;
mod expression;
mod functions;
mod health;

pub use expression::{CelError, Expression};
pub use health::{HealthRules, HealthRulesError};
