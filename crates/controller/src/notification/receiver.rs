//! The Receiver reconciler, as notification-controller v1.9 runs it: read the token from the
//! Secret of `secretRef`, publish the webhook path (`tether_notify::webhook_path`) in
//! `status.webhookPath` with `Ready=True` (`Succeeded`, "Receiver initialized for path: ..."),
//! or `Ready=False` with `TokenNotFound` (retried) and no path. Spec errors Flux reports
//! terminally (`ValidationFailed`, and `InvalidCELExpression` for a filter or an OIDC provider
//! expression that does not compile) are `Stalled`. A generic-oidc Receiver has no Secret: its
//! path is made with an empty token, as Flux makes it.
//! Calls to the path are served by `super::hook`. A change to a Secret labelled
//! `reconcile.fluxcd.io/watch: Enabled` (Flux's default `--watch-configs-label-selector`)
//! reconciles the Receivers using it at once.

use crate::context::Context;
use crate::events::Origin;
use crate::failure::Failure;
use crate::reconcile::{HasConditions, Reconcile};
use crate::status::{ConditionSet, requested_at};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::Controller;
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tether_api::meta::conditions::{RECONCILING, reasons as meta_reasons};
use tether_api::notification::DEFAULT_RECEIVER_INTERVAL;
use tether_api::notification::conditions::reasons;
use tether_api::notification::v1::{Receiver, ReceiverStatus, ReceiverType};

impl HasConditions for ReceiverStatus {
    fn conditions(&self) -> Option<&[Condition]> {
        self.conditions.as_deref()
    }
}

impl Reconcile for Receiver {
    type Status = ReceiverStatus;
    /// The webhook path.
    type Outcome = Result<String, Failure>;
    const ORIGIN: Origin = Origin::Notification;
    const FINALIZES: bool = true;

    fn suspended(&self) -> bool {
        self.spec.is_suspended()
    }

    fn interval(&self) -> Duration {
        self.spec
            .effective_interval()
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_RECEIVER_INTERVAL)
    }

    async fn run(&self, ctx: &Context) -> Self::Outcome {
        validate(self)?;
        let token = token(self, ctx).await?;
        Ok(tether_notify::webhook_path(
            &token,
            &self.name_any(),
            &self.namespace().unwrap_or_default(),
        ))
    }

    fn current_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn next_status(&self, outcome: &Self::Outcome) -> Self::Status {
        next_status(self, outcome)
    }

    /// A changed labelled Secret makes the next run of its Receivers due now.
    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        crate::config_watch::wake_on_secrets(controller, ctx)
    }

    /// Flux tells every successful reconcile, with the next run in Go's duration form.
    fn success_event(&self, outcome: &Self::Outcome) -> Option<(&'static str, String)> {
        outcome.as_ref().ok().map(|_| {
            let interval = tether_api::meta::Duration::from_std(self.interval());
            (
                meta_reasons::SUCCEEDED,
                format!("Reconciliation finished, next run in {interval}"),
            )
        })
    }
}

impl crate::config_watch::ReadsConfigs for Receiver {
    fn config_maps(&self) -> Vec<&str> {
        Vec::new()
    }

    fn secrets(&self) -> Vec<&str> {
        self.spec
            .secret_ref
            .iter()
            .map(|s| s.name.as_str())
            .collect()
    }
}

/// The spec checks Flux makes before reading the token; all are terminal.
fn validate(receiver: &Receiver) -> Result<(), Failure> {
    if let Err(invalid) = super::filter::validate(receiver) {
        return Err(terminal(meta_reasons::INVALID_CEL_EXPRESSION, &invalid));
    }
    let spec = &receiver.spec;
    let oidc = spec.receiver_type == ReceiverType::GenericOidc;
    let has_oidc_providers = spec.oidc_providers.as_ref().is_some_and(|p| !p.is_empty());
    let invalid = if oidc && !has_oidc_providers {
        Some("generic-oidc receiver requires at least one oidcProvider")
    } else if !oidc && has_oidc_providers {
        Some("oidcProviders can only be set when type is generic-oidc")
    } else if oidc && spec.secret_ref.is_some() {
        Some("secretRef cannot be set when type is generic-oidc")
    } else if !oidc && spec.secret_ref.is_none() {
        Some("secretRef is required when type is not generic-oidc")
    } else {
        None
    };
    if let Some(invalid) = invalid {
        return Err(terminal(reasons::VALIDATION_FAILED, invalid));
    }
    let providers = spec.oidc_providers.as_deref().unwrap_or_default();
    if !providers.is_empty() {
        super::oidc::validate_providers(providers)
            .map_err(|e| terminal(reasons::VALIDATION_FAILED, &e))?;
        super::oidc::compile_providers(providers)
            .map_err(|e| terminal(meta_reasons::INVALID_CEL_EXPRESSION, &e))?;
    }
    Ok(())
}

fn terminal(reason: &'static str, cause: &str) -> Failure {
    Failure::configuration(reason, cause)
}

/// The Secret's `token`, with Flux's messages when it cannot be read.
async fn token(receiver: &Receiver, ctx: &Context) -> Result<String, Failure> {
    let Some(secret) = &receiver.spec.secret_ref else {
        return Ok(String::new());
    };
    let namespace = receiver.namespace().unwrap_or_default();
    let data = crate::secrets::secret_data(&ctx.client, &namespace, &secret.name)
        .await
        .map_err(|error| {
            Failure::new(
                reasons::TOKEN_NOT_FOUND,
                format!(
                    "unable to read token from secret '{namespace}/{}' error: {error}",
                    secret.name
                ),
            )
        })?;
    let token = data.get("token").ok_or_else(|| {
        Failure::new(
            reasons::TOKEN_NOT_FOUND,
            format!(
                "invalid '{namespace}/{}' secret data: required fields 'token'",
                secret.name
            ),
        )
    })?;
    Ok(String::from_utf8_lossy(token).into_owned())
}

fn next_status(receiver: &Receiver, outcome: &Result<String, Failure>) -> ReceiverStatus {
    let previous = receiver.status.clone().unwrap_or_default();
    let generation = receiver.meta().generation;
    let mut conditions = ConditionSet::new(previous.conditions.as_ref(), generation);
    let mut observed_generation = previous.observed_generation;
    let webhook_path = match outcome {
        Ok(path) => {
            conditions.ready(
                meta_reasons::SUCCEEDED,
                format!("Receiver initialized for path: {path}"),
            );
            observed_generation = generation;
            Some(path.clone())
        }
        Err(failure) => {
            conditions.failed(failure.reason, failure.message.clone(), failure.terminal);
            if failure.terminal {
                observed_generation = generation;
            } else {
                conditions.set(
                    RECONCILING,
                    true,
                    meta_reasons::PROGRESSING_WITH_RETRY,
                    "Reconciliation in progress",
                );
            }
            None
        }
    };
    ReceiverStatus {
        last_handled_reconcile_at: requested_at(receiver).or(previous.last_handled_reconcile_at),
        conditions: Some(conditions.into_sorted()),
        webhook_path,
        observed_generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_api::meta::conditions::{READY, find};

    fn receiver(spec: serde_json::Value) -> Result<Receiver, serde_json::Error> {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "hook", "namespace": "flux-system", "generation": 3},
            "spec": spec,
        }))
    }

    fn github() -> Result<Receiver, serde_json::Error> {
        receiver(serde_json::json!({
            "type": "github", "secretRef": {"name": "token"},
            "resources": [{"kind": "GitRepository", "name": "app"}],
        }))
    }

    #[test]
    fn a_ready_receiver_publishes_its_path_and_generation() -> Result<(), serde_json::Error> {
        let receiver = github()?;
        let status = next_status(&receiver, &Ok("/hook/abc".to_owned()));
        assert_eq!(status.webhook_path.as_deref(), Some("/hook/abc"));
        assert_eq!(status.observed_generation, Some(3));
        let ready = status.conditions.as_deref().and_then(|c| find(c, READY));
        assert_eq!(
            ready.map(|c| (c.status.as_str(), c.reason.as_str(), c.message.as_str())),
            Some((
                "True",
                "Succeeded",
                "Receiver initialized for path: /hook/abc"
            ))
        );
        Ok(())
    }

    #[test]
    fn a_missing_token_clears_the_path_and_is_retried() -> Result<(), serde_json::Error> {
        let mut receiver = github()?;
        receiver.status = Some(next_status(&receiver, &Ok("/hook/abc".to_owned())));
        let failure = Failure::new(reasons::TOKEN_NOT_FOUND, "no token");
        let status = next_status(&receiver, &Err(failure));
        assert_eq!(status.webhook_path, None);
        let conditions = status.conditions.unwrap_or_default();
        assert_eq!(
            find(&conditions, READY).map(|c| c.reason.as_str()),
            Some("TokenNotFound")
        );
        assert_eq!(
            find(&conditions, RECONCILING).map(|c| c.reason.as_str()),
            Some("ProgressingWithRetry")
        );
        Ok(())
    }

    #[test]
    fn a_receiver_without_secret_ref_fails_validation_terminally() -> Result<(), serde_json::Error>
    {
        let receiver = receiver(serde_json::json!({
            "type": "github", "resources": [{"kind": "GitRepository", "name": "app"}],
        }))?;
        let failure = validate(&receiver).err();
        assert_eq!(failure.as_ref().map(|f| f.reason), Some("ValidationFailed"));
        assert_eq!(failure.map(|f| f.terminal), Some(true));
        assert!(validate(&github()?).is_ok());
        Ok(())
    }
}
