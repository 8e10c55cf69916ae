//! Golden tests of the request each provider type sends: `testdata/<case>/input.json` (the
//! provider type, its settings and an event already merged with the Alert's metadata) beside
//! `request-<n>.http` (method and URL, the headers Flux's code sets, a blank line, the body).
//!
//! The SaaS endpoints (Slack, Teams, PagerDuty, GitHub, ...) cannot be reached from here, so
//! the expected requests are not recordings: they were derived from reading Flux's provider
//! code (notification-controller v1.9.3 `internal/notifier/*.go` and the SDK structs it
//! fills), and each file was checked against that code line by line. Transport headers the
//! HTTP client adds (`User-Agent` of Go's client, `Content-Length`, `Accept-Encoding`) are not
//! part of them. Run with `TETHER_BLESS=1` to rewrite the files after a deliberate change, and
//! review the diff against Flux's code again.

use std::{collections::BTreeMap, env, fs, path::PathBuf};

use serde::Deserialize;
use tether_api::notification::v1beta3::ProviderType;
use tether_notify::{Event, HttpRequest, ProviderSettings, requests_for};

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
    text.push_str(&String::from_utf8_lossy(&request.body));
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
        let requests = requests_for(input.provider, &input.event, &input.settings.into())?;
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
