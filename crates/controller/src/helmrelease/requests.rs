//! The one-off requests a HelmRelease takes through annotations, as helm-controller handles
//! them: `reconcile.fluxcd.io/forceAt` (install or upgrade once, even when the release is in
//! sync or out of retries) and `reconcile.fluxcd.io/resetAt` (clear the failure counters, so a
//! release stalled on exhausted retries tries again). `flux reconcile hr --force|--reset` sets
//! them to the value it gives `reconcile.fluxcd.io/requestedAt`.
//!
//! A request is honoured only when its value equals `requestedAt`, that reconcile request has
//! not been handled yet, and the request itself has not been either. Its value is recorded in
//! `status.lastHandledForceAt` / `lastHandledResetAt` whenever the annotation is there, honoured
//! or not, so a request is never honoured twice.

use kube::ResourceExt;
use tether_api::helm::RESET_REQUEST_ANNOTATION;
use tether_api::helm::v2::{HelmRelease, HelmReleaseStatus};
use tether_api::meta::{FORCE_REQUEST_ANNOTATION, RECONCILE_REQUEST_ANNOTATION};

/// Whether a force request is to be honoured now; records it in `status.lastHandledForceAt`.
pub fn take_force_request(hr: &HelmRelease, status: &mut HelmReleaseStatus) -> bool {
    let handled_reconcile = status.last_handled_reconcile_at.clone();
    take_request(
        hr,
        FORCE_REQUEST_ANNOTATION,
        &mut status.last_handled_force_at,
        handled_reconcile.as_deref(),
    )
}

/// Whether a reset request is to be honoured now; records it in `status.lastHandledResetAt`.
pub fn take_reset_request(hr: &HelmRelease, status: &mut HelmReleaseStatus) -> bool {
    let handled_reconcile = status.last_handled_reconcile_at.clone();
    take_request(
        hr,
        RESET_REQUEST_ANNOTATION,
        &mut status.last_handled_reset_at,
        handled_reconcile.as_deref(),
    )
}

/// Flux's `HandleAnnotationRequest`.
fn take_request(
    hr: &HelmRelease,
    annotation: &str,
    last_handled: &mut Option<String>,
    handled_reconcile: Option<&str>,
) -> bool {
    let annotations = hr.annotations();
    let Some(request) = annotations.get(annotation) else {
        return false;
    };
    let previous = last_handled.replace(request.clone());
    let reconcile = annotations.get(RECONCILE_REQUEST_ANNOTATION);
    reconcile == Some(request)
        && handled_reconcile != Some(request.as_str())
        && previous.as_ref() != Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn release(annotations: serde_json::Value) -> HelmRelease {
        serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps", "annotations": annotations},
            "spec": {"interval": "10m", "chartRef": {"kind": "OCIRepository", "name": "web"}},
        }))
        .expect("a valid HelmRelease")
    }

    const AT: &str = "2026-12-07T01:00:00.123456789Z";

    #[test]
    fn a_force_request_matching_a_new_reconcile_request_is_honoured_once() {
        let hr = release(json!({RECONCILE_REQUEST_ANNOTATION: AT, FORCE_REQUEST_ANNOTATION: AT}));
        let mut status = HelmReleaseStatus::default();
        assert!(take_force_request(&hr, &mut status));
        assert_eq!(status.last_handled_force_at.as_deref(), Some(AT));
        assert!(!take_force_request(&hr, &mut status), "already handled");
    }

    #[test]
    fn a_request_is_recorded_but_not_honoured_when_it_does_not_match_requested_at() {
        let hr =
            release(json!({RECONCILE_REQUEST_ANNOTATION: "later", RESET_REQUEST_ANNOTATION: AT}));
        let mut status = HelmReleaseStatus::default();
        assert!(!take_reset_request(&hr, &mut status));
        assert_eq!(status.last_handled_reset_at.as_deref(), Some(AT));
    }

    #[test]
    fn a_request_whose_reconcile_request_was_handled_is_not_honoured() {
        let hr = release(json!({RECONCILE_REQUEST_ANNOTATION: AT, RESET_REQUEST_ANNOTATION: AT}));
        let mut status = HelmReleaseStatus {
            last_handled_reconcile_at: Some(AT.to_owned()),
            ..HelmReleaseStatus::default()
        };
        assert!(!take_reset_request(&hr, &mut status));
    }

    #[test]
    fn without_the_annotation_nothing_is_recorded() {
        let hr = release(json!({RECONCILE_REQUEST_ANNOTATION: AT}));
        let mut status = HelmReleaseStatus {
            last_handled_force_at: Some("earlier".to_owned()),
            ..HelmReleaseStatus::default()
        };
        assert!(!take_force_request(&hr, &mut status));
        assert_eq!(status.last_handled_force_at.as_deref(), Some("earlier"));
    }
}
