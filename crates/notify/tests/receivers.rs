//! Webhook calls verified the way notification-controller verifies them: each case builds the
//! request a forge or registry sends (GitHub's signed push, GitLab's token header, ...) and
//! checks the answer: accepted, or refused with Flux's status code.

use tether_api::notification::v1::ReceiverType;
use tether_notify::{
    Headers, ReceiverConfig, Verdict,
    receiver::{MAX_BODY_BYTES, check_body_size, signature::sign_sha256},
    verify, webhook_path,
};

const TOKEN: &str = "s3cr3t-token";

const PUSH: &[u8] = br#"{"ref":"refs/heads/main","after":"5394cb7f48332b2de7c17dd8b8384bbc84b7e738","repository":{"full_name":"org/app"}}"#;

fn config<'a>(receiver_type: ReceiverType, events: &'a [String]) -> ReceiverConfig<'a> {
    ReceiverConfig {
        receiver_type,
        events,
        token: TOKEN,
    }
}

fn github_push_headers(signature: &str, event: &str) -> Headers {
    Headers::new([
        ("Content-Type", "application/json"),
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("X-Hub-Signature-256", signature),
    ])
}

fn is_refused_with(verdict: &Verdict, status: u16) -> bool {
    matches!(verdict, Verdict::Refuse { status: s, .. } if *s == status)
}

#[test]
fn the_webhook_path_is_the_sha256_of_token_name_and_namespace() {
    assert_eq!(
        webhook_path("test-token", "flux-system", "flux-system"),
        "/hook/fe5c4c8856ddefc41af426c9c440b2985a0d87291cc7a41a4b92ec3ce6e9511f"
    );
    assert_eq!(
        webhook_path("token", "github-receiver", "flux-system"),
        "/hook/8ed710969b945c0dc10d6d0b5084e120ec2228353d1fe42d56be5ba88500e684"
    );
}

#[test]
fn a_correctly_signed_github_push_is_accepted() {
    let events = vec!["push".to_owned()];
    let headers = github_push_headers(&sign_sha256(PUSH, TOKEN), "push");
    let verdict = verify(config(ReceiverType::GitHub, &events), &headers, PUSH);
    assert_eq!(
        verdict,
        Verdict::Accept {
            event: Some("push".into())
        }
    );
    assert_eq!(verdict.status(), 200);
}

#[test]
fn a_github_push_signed_with_another_key_is_refused_with_400() {
    let headers = github_push_headers(&sign_sha256(PUSH, "wrong-key"), "push");
    let verdict = verify(config(ReceiverType::GitHub, &[]), &headers, PUSH);
    assert!(is_refused_with(&verdict, 400), "{verdict:?}");
    let tampered = [PUSH, b" "].concat();
    let headers = github_push_headers(&sign_sha256(PUSH, TOKEN), "push");
    let verdict = verify(config(ReceiverType::GitHub, &[]), &headers, &tampered);
    assert!(is_refused_with(&verdict, 400), "{verdict:?}");
    if let Verdict::Refuse { reason, .. } = verdict {
        assert!(!reason.contains(TOKEN), "{reason}");
    }
}

#[test]
fn a_github_call_without_signature_is_refused_when_a_token_is_set() {
    let headers = Headers::new([
        ("Content-Type", "application/json"),
        ("X-GitHub-Event", "push"),
    ]);
    let verdict = verify(config(ReceiverType::GitHub, &[]), &headers, PUSH);
    assert!(is_refused_with(&verdict, 400), "{verdict:?}");
}

#[test]
fn the_legacy_sha1_github_signature_is_accepted_when_sha256_is_absent() {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).expect("any key length");
    mac.update(PUSH);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let headers = Headers::new([
        ("Content-Type", "application/json; charset=utf-8"),
        ("X-GitHub-Event", "push"),
        ("X-Hub-Signature", &format!("sha1={hex}")),
    ]);
    let verdict = verify(config(ReceiverType::GitHub, &[]), &headers, PUSH);
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
}

#[test]
fn a_github_ping_passes_only_when_the_events_filter_allows_it() {
    let headers = github_push_headers(&sign_sha256(PUSH, TOKEN), "ping");
    let push_only = vec!["push".to_owned()];
    let verdict = verify(config(ReceiverType::GitHub, &push_only), &headers, PUSH);
    assert!(is_refused_with(&verdict, 400), "{verdict:?}");
    let verdict = verify(config(ReceiverType::GitHub, &[]), &headers, PUSH);
    assert!(matches!(verdict, Verdict::Accept { .. }));
    let with_ping = vec!["Ping".to_owned(), "push".to_owned()];
    let verdict = verify(config(ReceiverType::GitHub, &with_ping), &headers, PUSH);
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
}

#[test]
fn a_github_call_with_an_unsupported_content_type_is_refused() {
    let headers = Headers::new([
        ("Content-Type", "text/plain"),
        ("X-GitHub-Event", "push"),
        ("X-Hub-Signature-256", &sign_sha256(PUSH, TOKEN)),
    ]);
    let verdict = verify(config(ReceiverType::GitHub, &[]), &headers, PUSH);
    assert!(is_refused_with(&verdict, 400), "{verdict:?}");
}

#[test]
fn an_oversized_body_is_refused_with_413_before_any_check() {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let headers = github_push_headers(&sign_sha256(&body, TOKEN), "push");
    let verdict = verify(config(ReceiverType::GitHub, &[]), &headers, &body);
    assert!(is_refused_with(&verdict, 413), "{verdict:?}");
    assert!(check_body_size(MAX_BODY_BYTES).is_ok());
    let generic = verify(
        config(ReceiverType::Generic, &[]),
        &Headers::default(),
        &body,
    );
    assert!(is_refused_with(&generic, 413));
}

#[test]
fn gitlab_calls_need_the_token_header_and_an_allowed_event() {
    let events = vec!["Push Hook".to_owned()];
    let good = Headers::new([("X-Gitlab-Token", TOKEN), ("X-Gitlab-Event", "push hook")]);
    let verdict = verify(config(ReceiverType::GitLab, &events), &good, b"{}");
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
    let wrong = Headers::new([("X-Gitlab-Token", "nope"), ("X-Gitlab-Event", "Push Hook")]);
    assert!(is_refused_with(
        &verify(config(ReceiverType::GitLab, &events), &wrong, b"{}"),
        400
    ));
    let tag = Headers::new([
        ("X-Gitlab-Token", TOKEN),
        ("X-Gitlab-Event", "Tag Push Hook"),
    ]);
    assert!(is_refused_with(
        &verify(config(ReceiverType::GitLab, &events), &tag, b"{}"),
        400
    ));
}

#[test]
fn generic_hmac_calls_need_an_x_signature_of_the_body() {
    let body = br#"{"anything":true}"#;
    let signed = Headers::new([("X-Signature", sign_sha256(body, TOKEN))]);
    let verdict = verify(config(ReceiverType::GenericHmac, &[]), &signed, body);
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
    let unsigned = Headers::default();
    let verdict = verify(config(ReceiverType::GenericHmac, &[]), &unsigned, body);
    assert!(is_refused_with(&verdict, 400));
    let generic = verify(config(ReceiverType::Generic, &[]), &unsigned, body);
    assert!(matches!(generic, Verdict::Accept { event: None }));
}

#[test]
fn bitbucket_server_calls_are_signed_like_github_and_filtered_by_event_key() {
    let events = vec!["repo:refs_changed".to_owned()];
    let headers = Headers::new([
        ("Content-Type", "application/json"),
        ("X-Event-Key", "repo:refs_changed"),
        ("X-Hub-Signature", &sign_sha256(PUSH, TOKEN)),
    ]);
    let verdict = verify(config(ReceiverType::Bitbucket, &events), &headers, PUSH);
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
}

#[test]
fn harbor_calls_carry_the_token_as_authorization() {
    let good = Headers::new([("Authorization", TOKEN)]);
    assert!(matches!(
        verify(config(ReceiverType::Harbor, &[]), &good, b"{}"),
        Verdict::Accept { .. }
    ));
    let bearer = Headers::new([("Authorization", format!("Bearer {TOKEN}"))]);
    assert!(is_refused_with(
        &verify(config(ReceiverType::Harbor, &[]), &bearer, b"{}"),
        400
    ));
}

#[test]
fn registry_payloads_must_decode_as_flux_decodes_them() {
    let cases: [(ReceiverType, &[u8], bool); 8] = [
        (
            ReceiverType::Quay,
            br#"{"docker_url":"quay.io/org/app","updated_tags":["1.0"]}"#,
            true,
        ),
        (ReceiverType::Quay, br#"{"docker_url":42}"#, false),
        (ReceiverType::Quay, b"not json", false),
        (
            ReceiverType::DockerHub,
            br#"{"push_data":{"tag":"1.0"},"repository":{"repo_url":"u"}} trailing"#,
            true,
        ),
        (ReceiverType::DockerHub, br#"{"push_data":"1.0"}"#, false),
        (
            ReceiverType::Acr,
            br#"{"action":"push","target":{"repository":"app","tag":"1.0"}}"#,
            true,
        ),
        (ReceiverType::Acr, br#"[1,2]"#, false),
        (ReceiverType::Acr, b"null", true),
    ];
    for (receiver_type, body, accepted) in cases {
        let verdict = verify(config(receiver_type, &[]), &Headers::default(), body);
        assert_eq!(
            matches!(verdict, Verdict::Accept { .. }),
            accepted,
            "{receiver_type} {}: {verdict:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn nexus_calls_need_the_hex_hmac_sha1_of_the_body() {
    use hmac::{Hmac, Mac};
    let body = br#"{"action":"CREATED","repositoryName":"docker-hosted"}"#;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signed = Headers::new([("X-Nexus-Webhook-Signature", hex.as_str())]);
    let verdict = verify(config(ReceiverType::Nexus, &[]), &signed, body);
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
    let upper = Headers::new([("X-Nexus-Webhook-Signature", hex.to_uppercase())]);
    assert!(is_refused_with(
        &verify(config(ReceiverType::Nexus, &[]), &upper, body),
        400
    ));
    let missing = verify(config(ReceiverType::Nexus, &[]), &Headers::default(), body);
    assert!(is_refused_with(&missing, 400));
}

#[test]
fn cdevents_need_an_event_envelope_and_an_allowed_ce_type() {
    let body = br#"{"context":{"version":"0.4.1","id":"1","source":"ci","type":"dev.cdevents.artifact.published.0.2.0","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"pkg:oci/app","content":{}}}"#;
    let events = vec!["dev.cdevents.artifact.published.0.2.0".to_owned()];
    let headers = Headers::new([("Ce-Type", "dev.cdevents.artifact.published.0.2.0")]);
    let verdict = verify(config(ReceiverType::CdEvents, &events), &headers, body);
    assert!(matches!(verdict, Verdict::Accept { .. }), "{verdict:?}");
    let other = Headers::new([("Ce-Type", "dev.cdevents.build.started.0.2.0")]);
    assert!(is_refused_with(
        &verify(config(ReceiverType::CdEvents, &events), &other, body),
        400
    ));
    let not_cdevent = verify(config(ReceiverType::CdEvents, &[]), &headers, br#"{"x":1}"#);
    assert!(is_refused_with(&not_cdevent, 400));
}
