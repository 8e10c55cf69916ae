//! The GitRepository's `spec.verify` step: read the trusted keys from `verify.secretRef`, have
//! `tether-source` verify the checkout's tag and/or commit, and say what that means for the
//! `SourceVerified` condition and `status.sourceVerificationMode`, as source-controller does.
//! A checkout that fails verification never becomes an artifact.

use crate::context::Context;
use crate::failure::Failure;
use crate::secrets::secret_data;
use kube::ResourceExt;
use tether_api::source::conditions as source_conditions;
use tether_api::source::v1::{GitRepository, GitRepositoryStatus, GitVerificationMode};
use tether_source::{Checkout, TrustedKeys, Verification, VerifyMode, verify_checkout};

/// A verification that passed: the mode it covered and Flux's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub mode: GitVerificationMode,
    pub message: String,
}

/// Verifies `checkout` as `repo.spec.verify` asks; `Ok(None)` when verification is off.
pub async fn verify(
    repo: &GitRepository,
    ctx: &Context,
    checkout: &Checkout,
) -> Result<Option<Verified>, Failure> {
    let Some(spec) = &repo.spec.verification else {
        return Ok(None);
    };
    let namespace = repo.namespace().unwrap_or_default();
    let data = secret_data(&ctx.client, &namespace, &spec.secret_ref.name)
        .await
        .map_err(|error| {
            Failure::new(
                source_conditions::reasons::VERIFICATION_ERROR,
                format!("public keys secret error: {error}"),
            )
        })?;
    let keys = TrustedKeys::from_secret_data(&data);
    let mode = spec.mode_or_default();
    let wanted = VerifyMode {
        head: mode.verifies_head(),
        tag: mode.verifies_tag(),
    };
    let checkout = checkout.clone();
    let verification: Verification =
        tokio::task::spawn_blocking(move || verify_checkout(&checkout, wanted, &keys))
            .await
            .map_err(|error| {
                Failure::new(
                    source_conditions::reasons::VERIFICATION_ERROR,
                    format!("verification worker failed: {error}"),
                )
            })?
            .map_err(|error| {
                Failure::new(error.reason(), error.to_string()).terminal_if(error.is_terminal())
            })?;
    Ok(Some(Verified {
        mode,
        message: verification.to_string(),
    }))
}

/// Whether the stored artifact must be verified again before it counts as current: the spec
/// verifies, and the last verification did not cover what it asks for (Flux's
/// `requiresVerification`).
pub fn requires_verification(repo: &GitRepository) -> bool {
    let Some(spec) = &repo.spec.verification else {
        return false;
    };
    let observed = repo
        .status
        .as_ref()
        .and_then(|s| s.source_verification_mode);
    let wanted = spec.mode_or_default();
    match observed {
        None => true,
        Some(observed) => {
            (wanted.verifies_head() && !observed.verifies_head())
                || (wanted.verifies_tag() && !observed.verifies_tag())
        }
    }
}

/// Records a new artifact's verification: `SourceVerified=True` and the mode, or, with
/// verification off, neither.
pub fn record_verified(
    status: &mut GitRepositoryStatus,
    conditions: &mut crate::status::ConditionSet,
    verified: Option<&Verified>,
) {
    match verified {
        Some(verified) => {
            conditions.set(
                source_conditions::SOURCE_VERIFIED,
                true,
                tether_api::meta::conditions::reasons::SUCCEEDED,
                verified.message.clone(),
            );
            status.source_verification_mode = Some(verified.mode);
        }
        None => {
            conditions.remove(source_conditions::SOURCE_VERIFIED);
            status.source_verification_mode = None;
        }
    }
}
