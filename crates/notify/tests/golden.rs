//! Golden tests of the request each provider type sends: `testdata/<case>/input.json` (the
//! provider type, its settings and an event already merged with the Alert's metadata) beside
//! `request-<n>.http` (method and URL, the headers Flux's code sets, a blank line, the body).
//!
//! The SaaS endpoints (Slack, Teams, PagerDuty, GitHub, ...) cannot be reached from here, so
//! the expected requests are not recordings: they were derived from reading Flux's provider
//! code (notification-controller v1.9.3 `internal/notifier/*.go` and the SDK structs it
//! fills), and each file was checked against that code line by line. Pub/Sub and Event Hubs
//! are sent by Flux over gRPC and AMQP; their cases are the REST form of the same message
//! (see `tether_notify::provider::cloud`), also not recordings. Sentry's envelopes were
//! derived from Flux's `sentry.go` and the sentry-go v0.46.2 code it calls (`prepareEvent`,
//! the default integrations, `Event.MarshalJSON`, the envelope and its `X-Sentry-Auth`);
//! what the SDK reports about the Go process is left out (see `provider::sentry`).
//! OpenTelemetry bodies are protobuf, written in base64 (`base64:` then the bytes). Transport headers the
//! HTTP client adds (`User-Agent` of Go's client, `Content-Length`, `Accept-Encoding`) are not
//! part of them. Run with `TETHER_BLESS=1` to rewrite the files after a deliberate change, and
//! review the diff against Flux's code again.

use std::{collections::BTreeMap, env, fs, path::PathBuf};

use serde::Deserialize;
use tether_api::notification::v1beta3::ProviderType;
use tether_notify::{
    Event, HttpRequest, PayloadError, ProviderSettings,
    provider::{
        AlertIdentity, cloud::CloudEndpoints, comment::ChangeRequestComment, otel::OtelRun,
        requests_to, sentry::SentryRun,
    },
    requests_for,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    provider: ProviderType,
    settings: Settings,
    event: Event,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Settings {
    address: String,
    channel: String,
    username: String,
    password: String,
    token: String,
    headers: BTreeMap<String, String>,
    commit_status: String,
    provider_uid: String,
    alert: AlertIdentity,
}

impl From<Settings> for ProviderSettings {
    fn from(s: Settings) -> Self {
        Self {
            address: s.address,
            channel: s.channel,
            username: s.username,
            password: s.password,
            token: s.token,
            headers: s.headers,
            commit_status: s.commit_status,
            provider_uid: s.provider_uid,
            alert: s.alert,
        }
    }
}

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testdata")
}

/// A request as the golden files write it: headers sorted by name, the order in which Go's
/// client writes them.
fn render(request: &HttpRequest) -> String {
    let mut text = format!("{} {}\n", request.method, request.url);
    let mut headers = request.headers.clone();
    headers.sort();
    for (name, value) in &headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push('\n');
    match std::str::from_utf8(&request.body) {
        Ok(body) => text.push_str(body),
        Err(_) => {
            use base64::Engine as _;
            text.push_str("base64:");
            text.push_str(&base64::engine::general_purpose::STANDARD.encode(&request.body));
        }
    }
    text
}

#[test]
fn every_provider_request_matches_its_golden_file() -> TestResult {
    let bless = env::var("TETHER_BLESS").is_ok_and(|v| v == "1");
    let mut mismatches = Vec::new();
    let mut cases = 0;
    for entry in fs::read_dir(testdata())? {
        let dir = entry?.path();
        let input: Input = serde_json::from_str(&fs::read_to_string(dir.join("input.json"))?)?;
        // Token times (Pub/Sub's JWT, Event Hubs' signature) and Sentry's send time are the
        // event's time; Sentry's random ids and host facts are fixed.
        let endpoints = CloudEndpoints {
            now: input.event.timestamp.timestamp(),
            sentry: SentryRun {
                event_id: *b"0123456789abcdef",
                trace_id: [0x5e; 16],
                span_id: [0x7a; 8],
                sent_at: input.event.timestamp + chrono::Duration::milliseconds(1500),
                hostname: "notification-controller-7d9f8b-x2k4q".into(),
                arch: "amd64".into(),
                os: "linux".into(),
                num_cpu: 2,
            },
            otel: OtelRun {
                span_id: [0x3c; 8],
                end_time: input.event.timestamp + chrono::Duration::milliseconds(250),
            },
            ..CloudEndpoints::default()
        };
        let requests = requests_to(
            input.provider,
            &input.event,
            &input.settings.into(),
            &endpoints,
        )?;
        assert!(!requests.is_empty(), "{} sends nothing", dir.display());
        for (index, request) in requests.iter().enumerate() {
            let path = dir.join(format!("request-{}.http", index + 1));
            let actual = render(request);
            if bless {
                fs::write(&path, &actual)?;
            } else if fs::read_to_string(&path).unwrap_or_default() != actual {
                mismatches.push(format!("{}:\n{actual}", path.display()));
            }
        }
        cases += 1;
    }
    assert!(cases >= 25, "only {cases} golden cases found");
    assert!(
        mismatches.is_empty(),
        "requests differ:\n{}",
        mismatches.join("\n")
    );
    Ok(())
}

fn input(case: &str) -> Result<Input, Box<dyn std::error::Error>> {
    let text = fs::read_to_string(testdata().join(case).join("input.json"))?;
    Ok(serde_json::from_str(&text)?)
}

#[test]
fn commit_status_and_pagerduty_providers_send_nothing_for_progressing_events() -> TestResult {
    for case in [
        "github",
        "gitlab",
        "bitbucket",
        "bitbucketserver",
        "azuredevops",
        "pagerduty",
    ] {
        let Input {
            provider,
            settings,
            mut event,
        } = input(case)?;
        event.reason = "Progressing".into();
        let requests = requests_for(provider, &event, &settings.into())?;
        assert!(requests.is_empty(), "{case} sent {requests:?}");
    }
    Ok(())
}

#[test]
fn gitea_reports_progressing_events_as_pending() -> TestResult {
    let Input {
        provider,
        settings,
        mut event,
    } = input("gitea")?;
    event.reason = "Progressing".into();
    let requests = requests_for(provider, &event, &settings.into())?;
    let body = String::from_utf8_lossy(&requests[0].body).into_owned();
    assert!(body.starts_with(r#"{"state":"pending","#), "{body}");
    Ok(())
}

#[test]
fn a_commit_status_needs_the_revision_of_a_full_commit() -> TestResult {
    let Input {
        provider,
        settings,
        mut event,
    } = input("github")?;
    let settings: ProviderSettings = settings.into();
    event.metadata.clear();
    let missing = requests_for(provider, &event, &settings).map(|r| r.len());
    assert_eq!(
        missing.map_err(|e| e.to_string()),
        Err("missing revision metadata".to_owned())
    );
    event
        .metadata
        .insert("revision".into(), "main@sha1:5394cb7".into());
    let short = requests_for(provider, &event, &settings).map(|r| r.len());
    assert!(short.is_err());
    Ok(())
}

#[test]
fn payload_errors_never_show_the_token() -> TestResult {
    let Input { event, .. } = input("generic")?;
    let settings = ProviderSettings {
        address: "https://user:hunter22@not a url".into(),
        token: "hunter22".into(),
        ..ProviderSettings::default()
    };
    for provider in [
        ProviderType::Generic,
        ProviderType::Slack,
        ProviderType::GitHub,
        ProviderType::Zoom,
        ProviderType::IncidentIo,
        ProviderType::Sentry,
        ProviderType::GooglePubSub,
        ProviderType::AzureEventHub,
    ] {
        let error = requests_for(provider, &event, &settings)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!error.is_empty(), "{provider} accepted a bad address");
        assert!(!error.contains("hunter22"), "{error}");
    }
    assert!(!format!("{settings:?}").contains("hunter22"));
    Ok(())
}

/// Writes or compares the golden `path` for `request`; a mismatch is pushed to `mismatches`.
fn check_golden(
    path: &std::path::Path,
    request: &HttpRequest,
    mismatches: &mut Vec<String>,
) -> TestResult {
    let actual = render(request);
    if env::var("TETHER_BLESS").is_ok_and(|v| v == "1") {
        fs::write(path, &actual)?;
    } else if fs::read_to_string(path).unwrap_or_default() != actual {
        mismatches.push(format!("{}:\n{actual}", path.display()));
    }
    Ok(())
}

/// Change request comments (`tests/comments/<case>/`): the forge's answers to "who am I" and
/// to the comment listing are `answer-user.json` and `answer-comments.json`, written after
/// the forges' API documentation; the three requests (user, list, edit or create) are
/// `request-<n>.http`, derived from Flux's `*_request_comment.go` and the SDK calls they
/// make (go-github v64 `Users.Get`, `Issues.ListComments|EditComment|CreateComment`; GitLab
/// client-go `Users.CurrentUser`, `Notes.*MergeRequestNote*`; Gitea SDK `GetMyUserInfo`,
/// `ListIssueComments`, `EditIssueComment`, `CreateIssueComment`). No forge is reachable here.
#[test]
fn every_change_request_comment_matches_its_golden_files() -> TestResult {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/comments");
    let mut mismatches = Vec::new();
    let mut cases = 0;
    for entry in fs::read_dir(dir)? {
        let dir = entry?.path();
        let input: Input = serde_json::from_str(&fs::read_to_string(dir.join("input.json"))?)?;
        let comment =
            ChangeRequestComment::new(input.provider, &input.event, &input.settings.into())?;
        let user = fs::read_to_string(dir.join("answer-user.json"))?;
        let listed = fs::read_to_string(dir.join("answer-comments.json"))?;
        let login = comment.user_login(&user)?;
        let write = comment.write_request(&login, &listed)?;
        let requests = [comment.user_request(), comment.list_request(), write];
        for (index, request) in requests.iter().enumerate() {
            let path = dir.join(format!("request-{}.http", index + 1));
            check_golden(&path, request, &mut mismatches)?;
        }
        cases += 1;
    }
    assert!(cases >= 4, "only {cases} comment cases found");
    assert!(
        mismatches.is_empty(),
        "requests differ:\n{}",
        mismatches.join("\n")
    );
    Ok(())
}

#[test]
fn a_change_request_comment_needs_a_numeric_change_request_a_token_and_the_provider_uid()
-> TestResult {
    let Input {
        provider,
        settings,
        mut event,
    } = serde_json::from_str(&fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/comments/github-create/input.json"),
    )?)?;
    let settings: ProviderSettings = settings.into();
    event.metadata.insert("change_request".into(), "abc".into());
    let error = ChangeRequestComment::new(provider, &event, &settings).err();
    assert!(matches!(
        error,
        Some(PayloadError::InvalidChangeRequest { .. })
    ));
    event.metadata.remove("change_request");
    let error = ChangeRequestComment::new(provider, &event, &settings).err();
    assert!(matches!(error, Some(PayloadError::MissingChangeRequest)));
    event.metadata.insert("change_request".into(), "7".into());
    for unusable in [
        ProviderSettings {
            token: String::new(),
            ..settings.clone()
        },
        ProviderSettings {
            provider_uid: String::new(),
            ..settings.clone()
        },
    ] {
        let error = ChangeRequestComment::new(provider, &event, &unusable).err();
        assert!(
            matches!(error, Some(PayloadError::MissingSetting { .. })),
            "{error:?}"
        );
    }
    Ok(())
}
