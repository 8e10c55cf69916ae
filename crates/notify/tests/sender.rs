//! The sender against a real HTTP server on loopback that records what it receives. The SaaS
//! endpoints cannot be reached from here, so a local server stands in for them: it proves the
//! bytes built by `requests_for` are what goes over the wire, and the retry, timeout and
//! error paths (500s, refused connections, slow answers, Slack's `ok: false`), with the token
//! never appearing in an error.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
};
use tether_api::notification::v1beta3::ProviderType;
use tether_notify::{
    Event, HttpRequest, ProviderSettings, SendError, SendOptions, Sender,
    provider::comment::{ChangeRequestComment, post_comment},
    requests_for,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TOKEN: &str = "tok-7c1e5d";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// Records requests and answers from a script (then 200 once the script runs out).
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<(u16, String)>>,
    delay: Duration,
}

impl Recorder {
    fn scripted(answers: &[(u16, &str)]) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(answers.iter().map(|(s, b)| (*s, b.to_string())).collect()),
            ..Self::default()
        })
    }

    fn seen(&self) -> Vec<Recorded> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn record(
    State(recorder): State<Arc<Recorder>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if let Ok(mut seen) = recorder.seen.lock() {
        seen.push(Recorded {
            method,
            path: uri.to_string(),
            headers,
            body,
        });
    }
    tokio::time::sleep(recorder.delay).await;
    let answer = recorder
        .script
        .lock()
        .ok()
        .and_then(|mut script| script.pop_front());
    let (status, body) = answer.unwrap_or((200, "ok".into()));
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)
}

async fn serve(recorder: Arc<Recorder>) -> Result<SocketAddr, std::io::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = Router::new().fallback(record).with_state(recorder);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

fn fast_options() -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs(10),
        max_retries: 4,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..SendOptions::default()
    }
}

fn event() -> Result<Event, serde_json::Error> {
    serde_json::from_str(
        r#"{"involvedObject":{"kind":"Kustomization","namespace":"apps","name":"web",
            "apiVersion":"kustomize.toolkit.fluxcd.io/v1"},"severity":"error",
            "timestamp":"2026-03-04T05:06:07Z","message":"Health check failed <web> & more",
            "reason":"HealthCheckFailed","metadata":{"revision":"main@sha1:5394cb7f48332b2de7c17dd8b8384bbc84b7e738"},
            "reportingController":"kustomize-controller"}"#,
    )
}

fn generic_hmac_request(address: SocketAddr) -> Result<HttpRequest, Box<dyn std::error::Error>> {
    let settings = ProviderSettings {
        address: format!("http://{address}/hook?team=web"),
        token: TOKEN.into(),
        ..ProviderSettings::default()
    };
    let mut requests = requests_for(ProviderType::GenericHmac, &event()?, &settings)?;
    requests.pop().ok_or_else(|| "no request".into())
}

#[tokio::test]
async fn the_built_request_arrives_byte_for_byte() -> TestResult {
    let recorder = Recorder::scripted(&[]);
    let address = serve(recorder.clone()).await?;
    let request = generic_hmac_request(address)?;
    let status = Sender::new(fast_options())?
        .send(&request, &[TOKEN])
        .await?;
    assert_eq!(status, 200);
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    assert_eq!(got.method, Method::POST);
    assert_eq!(got.path, "/hook?team=web");
    assert_eq!(got.body.as_ref(), request.body.as_slice());
    for (name, value) in &request.headers {
        assert_eq!(
            got.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value.as_str()),
            "{name}"
        );
    }
    assert!(got.headers.contains_key("x-signature"));
    Ok(())
}

#[tokio::test]
async fn server_errors_are_retried_until_the_server_accepts() -> TestResult {
    let recorder = Recorder::scripted(&[(500, "boom"), (503, "busy"), (429, "slow down")]);
    let address = serve(recorder.clone()).await?;
    let request = generic_hmac_request(address)?;
    let status = Sender::new(fast_options())?
        .send(&request, &[TOKEN])
        .await?;
    assert_eq!(status, 200);
    assert_eq!(recorder.seen().len(), 4);
    Ok(())
}

#[tokio::test]
async fn retries_stop_after_the_last_one_with_the_last_status() -> TestResult {
    let recorder = Recorder::scripted(&[(500, "a"), (500, "b"), (502, "c")]);
    let address = serve(recorder.clone()).await?;
    let request = generic_hmac_request(address)?;
    let options = SendOptions {
        max_retries: 2,
        ..fast_options()
    };
    let error = Sender::new(options)?.send(&request, &[TOKEN]).await;
    assert!(
        matches!(&error, Err(SendError::Status { status: 502, body, .. }) if body == "c"),
        "{error:?}"
    );
    assert_eq!(recorder.seen().len(), 3);
    Ok(())
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_the_echoed_token_is_masked() -> TestResult {
    let echo = format!("bad token {TOKEN}");
    let recorder = Recorder::scripted(&[(401, echo.as_str())]);
    let address = serve(recorder.clone()).await?;
    let request = generic_hmac_request(address)?;
    let error = Sender::new(fast_options())?.send(&request, &[TOKEN]).await;
    let text = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(recorder.seen().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_refused_connection_fails_after_every_retry_without_the_token() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    drop(listener);
    // The token in the URL path and userinfo, as Telegram's API and some webhooks carry it.
    let request = HttpRequest {
        method: "POST",
        url: format!("http://user:{TOKEN}@{address}/bot{TOKEN}/sendMessage"),
        headers: vec![("Authorization".into(), format!("Bearer {TOKEN}"))],
        body: b"{}".to_vec(),
    };
    let options = SendOptions {
        max_retries: 2,
        ..fast_options()
    };
    let error = Sender::new(options)?.send(&request, &[TOKEN]).await;
    let Err(error) = error else {
        return Err("a refused connection was reported as delivered".into());
    };
    assert!(
        matches!(error, SendError::Connect { attempts: 3, .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!error.is_terminal());
    Ok(())
}

#[tokio::test]
async fn a_slow_endpoint_times_out_within_the_provider_timeout() -> TestResult {
    let recorder = Arc::new(Recorder {
        delay: Duration::from_secs(5),
        ..Recorder::default()
    });
    let address = serve(recorder).await?;
    let request = generic_hmac_request(address)?;
    let options = SendOptions {
        timeout: Duration::from_millis(200),
        ..fast_options()
    };
    let error = Sender::new(options)?.send(&request, &[TOKEN]).await;
    assert!(matches!(error, Err(SendError::Timeout { .. })), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn an_unusable_ca_bundle_is_a_terminal_settings_error() {
    let options = SendOptions {
        ca_pem: Some(b"not a certificate".to_vec()),
        ..fast_options()
    };
    let error = Sender::new(options).err();
    assert!(matches!(&error, Some(e) if e.is_terminal()), "{error:?}");
}

#[tokio::test]
async fn a_proxy_receives_the_request_for_the_provider_address() -> TestResult {
    let proxy = Recorder::scripted(&[]);
    let proxy_address = serve(proxy.clone()).await?;
    let request = HttpRequest {
        method: "POST",
        url: "http://hooks.example.invalid/flux".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: b"{}".to_vec(),
    };
    let options = SendOptions {
        proxy: Some(format!("http://proxy-user:{TOKEN}@{proxy_address}")),
        ..fast_options()
    };
    let sender = Sender::new(options)?;
    assert!(!format!("{sender:?}").contains(TOKEN));
    sender.send(&request, &[TOKEN]).await?;
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "http://hooks.example.invalid/flux");
    assert!(seen[0].headers.contains_key("proxy-authorization"));
    Ok(())
}

fn comment_settings(address: SocketAddr) -> ProviderSettings {
    ProviderSettings {
        address: format!("http://{address}/org/app"),
        token: TOKEN.into(),
        provider_uid: "5b1c0e2a-0000-4000-8000-000000000001".into(),
        ..ProviderSettings::default()
    }
}

#[tokio::test]
async fn a_gitea_comment_is_created_after_asking_who_am_i_and_listing_the_comments() -> TestResult {
    let recorder = Recorder::scripted(&[
        (200, r#"{"id":1,"login":"flux-bot"}"#),
        (
            200,
            r#"[{"id":5,"body":"hello","user":{"login":"flux-bot"}}]"#,
        ),
        (201, "{}"),
    ]);
    let address = serve(recorder.clone()).await?;
    let mut event = event()?;
    event.metadata.insert("change_request".into(), "3".into());
    let provider = ProviderType::GiteaPullRequestComment;
    let comment = ChangeRequestComment::new(provider, &event, &comment_settings(address))?;
    post_comment(&Sender::new(fast_options())?, &comment, &[TOKEN]).await?;
    let seen: Vec<(String, String)> = recorder
        .seen()
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    let expected = [
        ("GET", "/api/v1/user"),
        (
            "GET",
            "/api/v1/repos/org/app/issues/3/comments?limit=100&page=1",
        ),
        ("POST", "/api/v1/repos/org/app/issues/3/comments"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(seen, expected);
    Ok(())
}

#[tokio::test]
async fn a_comment_whose_forge_refuses_the_token_fails_without_showing_it() -> TestResult {
    let echo = format!(r#"{{"message":"bad credentials {TOKEN}"}}"#);
    let recorder = Recorder::scripted(&[(401, echo.as_str())]);
    let address = serve(recorder.clone()).await?;
    let mut event = event()?;
    event.metadata.insert("change_request".into(), "3".into());
    let provider = ProviderType::GitLabMergeRequestComment;
    let comment = ChangeRequestComment::new(provider, &event, &comment_settings(address))?;
    let error = post_comment(&Sender::new(fast_options())?, &comment, &[TOKEN])
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.starts_with("failed to get authenticated user info: "),
        "{error}"
    );
    assert!(error.contains("401"), "{error}");
    assert!(!error.contains(TOKEN), "{error}");
    assert!(!format!("{comment:?}").contains(TOKEN));
    assert_eq!(
        recorder.seen().len(),
        1,
        "nothing is written after a failed read"
    );
    Ok(())
}
