//! Which Alerts an event goes to, what it looks like when sent, and the rate limit on identical
//! events, as notification-controller decides them.

use std::{
    cell::Cell,
    collections::BTreeMap,
    rc::Rc,
    time::{Duration, Instant},
};

use tether_api::notification::v1beta3::{AlertSpec, ProviderType};
use tether_notify::{
    Event,
    alert::{
        AlertMatcher, Skip, clean_arriving_metadata, default_commit_status, drop_internal_metadata,
        event_for_alert, provider_gate,
    },
    ratelimit::{Clock, RateLimiter, event_key},
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn event(severity: &str, message: &str) -> Result<Event, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "involvedObject": {"kind": "Kustomization", "namespace": "apps", "name": "web",
                           "apiVersion": "kustomize.toolkit.fluxcd.io/v1"},
        "severity": severity,
        "timestamp": "2026-03-04T05:06:07Z",
        "message": message,
        "reason": "HealthCheckFailed",
        "metadata": {
            "kustomize.toolkit.fluxcd.io/revision": "main@sha1:abc",
            "kustomize.toolkit.fluxcd.io/token": "t1",
            "kustomize.toolkit.fluxcd.io/digest": "sha256:00",
            "event.toolkit.fluxcd.io/owner": "team-web",
            "unrelated.example.com/x": "y",
        },
        "reportingController": "kustomize-controller",
    }))
}

fn alert(spec: serde_json::Value) -> Result<AlertSpec, serde_json::Error> {
    serde_json::from_value(spec)
}

fn matcher(spec: serde_json::Value, namespace: &str) -> Result<AlertMatcher, serde_json::Error> {
    Ok(AlertMatcher::new(&alert(spec)?, namespace).0)
}

#[test]
fn a_source_without_namespace_means_the_alerts_namespace() -> TestResult {
    let spec = serde_json::json!({"providerRef": {"name": "slack"},
        "eventSources": [{"kind": "Kustomization", "name": "web"}]});
    let error = event("error", "failed")?;
    assert!(matcher(spec.clone(), "apps")?.matches(&error, None));
    assert!(!matcher(spec, "flux-system")?.matches(&error, None));
    Ok(())
}

#[test]
fn a_wildcard_name_matches_every_object_of_the_kind_only() -> TestResult {
    let spec = serde_json::json!({"providerRef": {"name": "slack"},
        "eventSources": [{"kind": "Kustomization", "name": "*", "namespace": "apps"}]});
    let m = matcher(spec, "flux-system")?;
    let mut e = event("info", "applied")?;
    assert!(m.matches(&e, None));
    e.involved_object.kind = "HelmRelease".into();
    assert!(!m.matches(&e, None));
    Ok(())
}

#[test]
fn an_error_severity_alert_drops_info_events() -> TestResult {
    let spec = serde_json::json!({"providerRef": {"name": "slack"}, "eventSeverity": "error",
        "eventSources": [{"kind": "Kustomization", "name": "web"}]});
    let m = matcher(spec, "apps")?;
    assert!(m.matches(&event("error", "failed")?, None));
    assert!(!m.matches(&event("info", "applied")?, None));
    Ok(())
}

#[test]
fn inclusion_and_exclusion_regexes_filter_messages() -> TestResult {
    let spec = serde_json::json!({"providerRef": {"name": "slack"},
        "eventSources": [{"kind": "Kustomization", "name": "web"}],
        "inclusionList": [".*failed.*", "(unclosed"],
        "exclusionList": ["timeout waiting"]});
    let (m, invalid) = AlertMatcher::new(&alert(spec)?, "apps");
    assert_eq!(invalid.len(), 1);
    assert_eq!(
        invalid[0].to_string(),
        "failed to compile inclusion regex: (unclosed"
    );
    assert!(m.matches(&event("error", "health check failed")?, None));
    assert!(!m.matches(&event("error", "applied")?, None));
    assert!(!m.matches(&event("error", "failed: timeout waiting for x")?, None));
    Ok(())
}

#[test]
fn match_labels_need_every_label_and_fail_when_labels_are_unknown() -> TestResult {
    let spec = serde_json::json!({"providerRef": {"name": "slack"},
        "eventSources": [{"kind": "Kustomization", "name": "*", "matchLabels": {"team": "web"}}]});
    let m = matcher(spec, "apps")?;
    let e = event("info", "applied")?;
    assert!(m.needs_labels(&e));
    let labels = BTreeMap::from([
        ("team".to_owned(), "web".to_owned()),
        ("x".into(), "y".into()),
    ]);
    assert!(m.matches(&e, Some(&labels)));
    let other = BTreeMap::from([("team".to_owned(), "db".to_owned())]);
    assert!(!m.matches(&e, Some(&other)));
    assert!(!m.matches(&e, None));
    Ok(())
}

#[test]
fn a_suspended_alert_matches_nothing() -> TestResult {
    let spec = serde_json::json!({"providerRef": {"name": "slack"}, "suspend": true,
        "eventSources": [{"kind": "Kustomization", "name": "*"}]});
    assert!(!matcher(spec, "apps")?.matches(&event("error", "failed")?, None));
    Ok(())
}

#[test]
fn arriving_metadata_keeps_only_the_event_and_object_groups_less_digests() -> TestResult {
    let mut e = event("info", "applied")?;
    clean_arriving_metadata(&mut e);
    let keys: Vec<&str> = e.metadata.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "event.toolkit.fluxcd.io/owner",
            "kustomize.toolkit.fluxcd.io/revision",
            "kustomize.toolkit.fluxcd.io/token"
        ]
    );
    drop_internal_metadata(&mut e);
    assert!(!e.metadata.contains_key("kustomize.toolkit.fluxcd.io/token"));
    Ok(())
}

#[test]
fn sent_metadata_is_merged_with_the_controllers_keys_winning() -> TestResult {
    let mut e = event("info", "applied")?;
    clean_arriving_metadata(&mut e);
    drop_internal_metadata(&mut e);
    e.metadata.insert(
        "event.toolkit.fluxcd.io/summary".into(),
        "from annotation".into(),
    );
    let spec = alert(serde_json::json!({"providerRef": {"name": "slack"},
        "eventSources": [{"kind": "Kustomization", "name": "web"}],
        "eventMetadata": {"cluster": "prod", "revision": "ignored"},
        "summary": "Production"}))?;
    let (sent, conflicts) = event_for_alert(&e, &spec);
    let expected = BTreeMap::from(
        [
            ("cluster", "prod"),
            ("owner", "team-web"),
            ("revision", "main@sha1:abc"),
            ("summary", "Production"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    assert_eq!(sent.metadata, expected);
    let keys: Vec<&str> = conflicts.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["revision", "summary"]);
    assert_eq!(
        conflicts[1].sources,
        ["involved object annotations", "Alert object .spec.summary"]
    );
    Ok(())
}

#[test]
fn commit_status_events_go_only_to_forges_and_generic_providers() -> TestResult {
    let mut e = event("info", "applied")?;
    assert_eq!(
        provider_gate(&e, ProviderType::GitHub, false),
        Err(Skip::MissingCommitMetadata)
    );
    assert_eq!(provider_gate(&e, ProviderType::Slack, false), Ok(()));
    e.metadata.insert(
        "kustomize.toolkit.fluxcd.io/commit_status".into(),
        "update".into(),
    );
    assert_eq!(provider_gate(&e, ProviderType::GitHub, false), Ok(()));
    assert_eq!(provider_gate(&e, ProviderType::Generic, false), Ok(()));
    assert_eq!(
        provider_gate(&e, ProviderType::Slack, false),
        Err(Skip::CommitStatusUpdateForOtherProvider)
    );
    assert_eq!(
        provider_gate(&e, ProviderType::Slack, true),
        Err(Skip::ProviderSuspended)
    );
    let error = event("error", "failed")?;
    assert_eq!(provider_gate(&error, ProviderType::GitLab, false), Ok(()));
    Ok(())
}

#[test]
fn the_default_commit_status_is_kind_name_and_provider_uid_prefix_lowercased() -> TestResult {
    let e = event("info", "applied")?;
    assert_eq!(
        default_commit_status("0C9C2E41-aaaa-bbbb-cccc-123456789abc", &e),
        "kustomization/web/0c9c2e41"
    );
    Ok(())
}

#[test]
fn the_rate_limit_key_hashes_object_message_revision_and_token() -> TestResult {
    let e = event("error", "Health check failed")?;
    assert_eq!(
        event_key(&e),
        "e0d4d47b65bdece043abd1a8db7584ad4298eedc8a71be13708f0833746d0403"
    );
    let mut other = e.clone();
    other
        .metadata
        .insert("kustomize.toolkit.fluxcd.io/token".into(), "t2".into());
    assert_ne!(event_key(&e), event_key(&other));
    Ok(())
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock {
    start: Instant,
    offset: Rc<Cell<Duration>>,
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.offset.get()
    }
}

#[test]
fn identical_events_pass_once_per_interval_and_stale_keys_are_swept() {
    let clock = ManualClock {
        start: Instant::now(),
        offset: Rc::new(Cell::new(Duration::ZERO)),
    };
    let minute = Duration::from_secs(60);
    let mut limiter = RateLimiter::new(clock.clone(), 5 * minute);
    assert!(limiter.allow("a"));
    assert!(!limiter.allow("a"));
    assert!(limiter.allow("b"));
    clock.offset.set(4 * minute);
    assert!(!limiter.allow("a"));
    clock.offset.set(5 * minute);
    assert!(limiter.allow("a"));
    assert!(!limiter.allow("a"));
    clock.offset.set(21 * minute);
    assert!(limiter.allow("c"));
    assert_eq!(
        limiter.len(),
        1,
        "a and b unused for two intervals are forgotten"
    );
}

#[test]
fn the_events_endpoint_admits_an_event_once_and_answers_as_flux() -> TestResult {
    use tether_notify::intake::{EventIntake, Refusal};
    let clock = ManualClock {
        start: Instant::now(),
        offset: Rc::new(Cell::new(Duration::ZERO)),
    };
    let mut intake = EventIntake::new(clock, Duration::from_secs(300));
    let body = serde_json::to_vec(&event("error", "failed")?)?;
    let admitted = intake.admit(&body)?;
    assert!(
        !admitted
            .metadata
            .contains_key("kustomize.toolkit.fluxcd.io/token")
    );
    assert!(!admitted.metadata.contains_key("unrelated.example.com/x"));
    let again = intake.admit(&body);
    assert_eq!(again.as_ref().map_err(Refusal::status).err(), Some(429));
    let malformed = intake.admit(b"{\"involvedObject\":");
    assert_eq!(malformed.map_err(|e| e.status()).err(), Some(400));
    let huge = vec![b' '; 3 * 1024 * 1024 + 1];
    assert_eq!(intake.admit(&huge).map_err(|e| e.status()).err(), Some(413));
    Ok(())
}
