//! `healthCheckExprs` (Kustomization, HelmRelease) as fluxcd/pkg `runtime/cel`'s status reader
//! runs them: one entry per group and kind (a kind-less entry covers its whole group; an entry
//! naming the kind wins over it), the version ignored. An object whose integer
//! `status.observedGeneration` differs from `metadata.generation` is InProgress; otherwise
//! `inProgress`, `failed` and `current` are evaluated in that order (RFC 0009) with the
//! object's top-level fields as variables, and the first that is true decides. None true:
//! InProgress. An evaluation error makes the status Unknown with the error as its message, so
//! the wait goes on and the timeout names the error, as in Flux.

use std::collections::HashMap;

use serde_json::Value;
use tether_api::kustomize::v1::CustomHealthCheck;
use tether_core::health::{CustomHealth, HealthResult, Status};

use crate::expression::{CelError, Expression};

/// Why `healthCheckExprs` cannot be used: Flux's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthRulesError {
    /// Two entries cover the same group and kind.
    #[error("duplicate custom health check for GroupKind {group_kind} at healthchecks[{index}]")]
    Duplicate {
        /// `Kind.group`, as Kubernetes prints a GroupKind.
        group_kind: String,
        /// The second entry's index.
        index: usize,
    },
    /// An entry lacks `current` or has an expression that does not parse.
    #[error("failed to create custom status evaluator for healthchecks[{index}]: {cause}")]
    Invalid {
        /// The entry's index.
        index: usize,
        /// What is wrong with it.
        cause: String,
    },
}

/// A group and a kind; the kind is empty for an entry covering the whole group.
type GroupKind = (String, String);

/// The parsed `healthCheckExprs` of one object.
#[derive(Debug, Default)]
pub struct HealthRules {
    evaluators: HashMap<GroupKind, Evaluator>,
}

#[derive(Debug)]
struct Evaluator {
    current: Expression,
    in_progress: Option<Expression>,
    failed: Option<Expression>,
}

impl HealthRules {
    /// Parses every entry; the first invalid or duplicate one is the error.
    pub fn new(checks: &[CustomHealthCheck]) -> Result<Self, HealthRulesError> {
        let mut evaluators = HashMap::with_capacity(checks.len());
        for (index, check) in checks.iter().enumerate() {
            let group_kind = (
                group_of(&check.api_version).to_owned(),
                check.kind.clone().unwrap_or_default(),
            );
            if evaluators.contains_key(&group_kind) {
                return Err(HealthRulesError::Duplicate {
                    group_kind: display_group_kind(&group_kind),
                    index,
                });
            }
            let evaluator = Evaluator::new(check)
                .map_err(|cause| HealthRulesError::Invalid { index, cause })?;
            evaluators.insert(group_kind, evaluator);
        }
        Ok(Self { evaluators })
    }

    /// Whether no entry was given.
    pub fn is_empty(&self) -> bool {
        self.evaluators.is_empty()
    }

    fn evaluator_for(&self, object: &Value) -> Option<&Evaluator> {
        let api_version = object.get("apiVersion").and_then(Value::as_str)?;
        let kind = object.get("kind").and_then(Value::as_str)?;
        let group = group_of(api_version).to_owned();
        self.evaluators
            .get(&(group.clone(), kind.to_owned()))
            .or_else(|| self.evaluators.get(&(group, String::new())))
    }
}

impl CustomHealth for HealthRules {
    fn status_of(&self, object: &Value) -> Option<HealthResult> {
        let evaluator = self.evaluator_for(object)?;
        Some(
            evaluator
                .evaluate(object)
                .unwrap_or_else(|e| HealthResult::of(Status::Unknown, e.to_string())),
        )
    }
}

impl Evaluator {
    fn new(check: &CustomHealthCheck) -> Result<Self, String> {
        if check.current.is_empty() {
            return Err("expression Current not specified".to_owned());
        }
        let parse = |name: &str, source: &str| {
            Expression::parse(source)
                .map_err(|e| format!("failed to parse the expression {name}: {e}"))
        };
        let optional = |name: &str, source: &Option<String>| match source.as_deref() {
            None | Some("") => Ok(None),
            Some(source) => parse(name, source).map(Some),
        };
        Ok(Self {
            current: parse("Current", &check.current)?,
            failed: optional("Failed", &check.failed)?,
            in_progress: optional("InProgress", &check.in_progress)?,
        })
    }

    fn evaluate(&self, object: &Value) -> Result<HealthResult, CelError> {
        if generation_not_observed(object) {
            return Ok(HealthResult::of(Status::InProgress, ""));
        }
        let variables = object.as_object().map(|fields| {
            fields
                .iter()
                .map(|(name, value)| (name.as_str(), value))
                .collect::<Vec<_>>()
        });
        let variables = variables.unwrap_or_default();
        let ordered = [
            (self.in_progress.as_ref(), Status::InProgress),
            (self.failed.as_ref(), Status::Failed),
            (Some(&self.current), Status::Current),
        ];
        for (expression, status) in ordered {
            let Some(expression) = expression else {
                continue;
            };
            if expression.evaluate_bool(variables.iter().copied())? {
                return Ok(HealthResult::of(status, ""));
            }
        }
        Ok(HealthResult::of(Status::InProgress, ""))
    }
}

/// Whether `status.observedGeneration` and `metadata.generation` are both integers and differ.
/// A non-integer observedGeneration (some CRDs make it a string) skips the check, as in Flux.
fn generation_not_observed(object: &Value) -> bool {
    let observed = object
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64);
    matches!((observed, generation), (Some(o), Some(g)) if o != g)
}

/// The group of an apiVersion: empty for `v1`, and for a malformed one (as Kubernetes parses).
fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, version)) if !version.contains('/') => group,
        _ => "",
    }
}

fn display_group_kind((group, kind): &GroupKind) -> String {
    if group.is_empty() {
        kind.clone()
    } else {
        format!("{kind}.{group}")
    }
}

#[cfg(test)]
mod tests;
