//! Notifications end to end against the local control plane: events of a failing
//! Kustomization reach Providers through Alerts, and a signed webhook call to a Receiver makes
//! a GitRepository fetch at once.
//!
//! The Providers' SaaS endpoints (Slack, ...) cannot be reached from here: every Provider's
//! address is a recording HTTP server on loopback, which is the wire the real endpoint would
//! see. Receivers are called as GitHub calls them: a push payload signed with the Secret's
//! token in `X-Hub-Signature-256`.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use common::{InProcessController, SyncedApp};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::{
    GitSourceFixture, WAIT, create, deployment_yaml, dynamic_api, kustomization, kustomizations,
    merge_patch, wait_ready_where,
};
use tether_testkit::git::closed_loopback_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the recording server received.
#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    authorization: String,
    body: Vec<u8>,
}

/// An HTTP server on loopback answering 200 to everything and keeping what it got; the body
/// of the answer is empty, or the JSON set with [`RecordingServer::answer`] for a `GET` of a
/// path (what a forge API would answer, for providers that read before they write).
#[derive(Clone, Default)]
struct RecordingServer {
    requests: Arc<Mutex<Vec<Recorded>>>,
    answers: Arc<Mutex<std::collections::HashMap<String, Value>>>,
}

impl RecordingServer {
    /// Starts the server; returns it and its base URL.
    async fn start() -> anyhow::Result<(Self, String)> {
        let server = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new()
            .fallback(record)
            .with_state(server.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((server, url))
    }

    /// Answers `GET path` with `json` from now on.
    fn answer(&self, path: &str, json: Value) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(path.to_owned(), json);
        }
    }

    fn received(&self, path: &str) -> Vec<Recorded> {
        self.requests
            .lock()
            .map(|r| r.iter().filter(|r| r.path == path).cloned().collect())
            .unwrap_or_default()
    }

    /// Waits until `path` received a request, and returns the first.
    async fn first_at(&self, path: &str) -> anyhow::Result<Recorded> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(first) = self.received(path).into_iter().next() {
                return Ok(first);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "nothing was sent to {path}; sent: {:?}",
                self.requests
                    .lock()
                    .map(|r| r.iter().map(|r| r.path.clone()).collect::<Vec<_>>())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn record(
    State(server): State<RecordingServer>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    if let Ok(mut requests) = server.requests.lock() {
        requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_owned(),
            authorization: authorization.unwrap_or_default().to_owned(),
            body: body.to_vec(),
        });
    }
    let answer = server
        .answers
        .lock()
        .ok()
        .filter(|_| method == axum::http::Method::GET)
        .and_then(|answers| answers.get(uri.path()).map(Value::to_string));
    (StatusCode::OK, answer.unwrap_or_default())
}

fn notification_api(
    client: &kube::Client,
    ns: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    dynamic_api(client, ns, "notification.toolkit.fluxcd.io", version, kind)
}

/// A Provider `name` of `type_` posting to `address`, and an Alert of the same name sending
/// it the error events of every Kustomization, changed by `alert_spec`.
async fn provider_and_alert(
    client: &kube::Client,
    ns: &str,
    (name, type_, address): (&str, &str, &str),
    alert_spec: Value,
) -> anyhow::Result<()> {
    let providers = notification_api(client, ns, "v1beta3", "Provider");
    create(
        &providers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"type": type_, "address": address}
        }),
    )
    .await?;
    let mut spec = json!({
        "providerRef": {"name": name}, "eventSeverity": "error",
        "eventSources": [{"kind": "Kustomization", "name": "*"}]
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), alert_spec.as_object()) {
        spec.extend(extra.clone());
    }
    let alerts = notification_api(client, ns, "v1beta3", "Alert");
    create(
        &alerts,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": name, "namespace": ns}, "spec": spec
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_kustomization_alerts_generic_and_slack_but_not_excluded_or_suspended_alerts()
-> anyhow::Result<()> {
    let app = SyncedApp::start("notify", "10m").await?;
    let (client, ns) = (&app.source.client, app.source.ns.name.as_str());
    let (recorder, url) = RecordingServer::start().await?;
    let generic = format!("{url}/generic");
    let slack = format!("{url}/slack");
    let excluded = format!("{url}/excluded");
    let suspended = format!("{url}/suspended");
    provider_and_alert(client, ns, ("generic", "generic", &generic), json!({})).await?;
    provider_and_alert(client, ns, ("slack", "slack", &slack), json!({})).await?;
    let drop_all = json!({"exclusionList": [".+"]});
    provider_and_alert(client, ns, ("excluded", "generic", &excluded), drop_all).await?;
    let off = json!({"suspend": true});
    provider_and_alert(client, ns, ("suspended", "generic", &suspended), off).await?;
    let web = json!({"eventSources": [{"kind": "Kustomization", "name": "*",
                                       "matchLabels": {"team": "web"}}],
                     "summary": "web team", "eventMetadata": {"summary": "two sources"}});
    provider_and_alert(
        client,
        ns,
        ("labelled", "generic", &format!("{url}/labelled")),
        web,
    )
    .await?;
    let db = json!({"eventSources": [{"kind": "Kustomization", "name": "*",
                                      "matchLabels": {"team": "db"}}]});
    provider_and_alert(
        client,
        ns,
        ("other-team", "generic", &format!("{url}/other-team")),
        db,
    )
    .await?;
    merge_patch(
        &app.kustomizations,
        "app",
        json!({"metadata": {"labels": {"team": "web"}}}),
    )
    .await?;
    let bad_regex = json!({"exclusionList": ["("]});
    provider_and_alert(
        client,
        ns,
        ("bad-regex", "generic", &format!("{url}/bad-regex")),
        bad_regex,
    )
    .await?;
    let refusing = format!("http://127.0.0.1:{}/", closed_loopback_port()?);
    provider_and_alert(client, ns, ("refusing", "generic", &refusing), json!({})).await?;
    provider_and_alert(client, ns, ("no-secret", "slack", &slack), json!({})).await?;
    let no_secret = json!({"spec": {"secretRef": {"name": "missing"}}});
    notification_api(client, ns, "v1beta3", "Provider")
        .patch(
            "no-secret",
            &PatchParams::default(),
            &Patch::Merge(&no_secret),
        )
        .await?;
    // The dispatcher reads Alerts from a watch cache: give it a moment to see them.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let broken = app.source.repo.commit(
        "master",
        &[(
            "deploy/broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n",
        )],
        "a manifest that does not parse",
    )?;
    wait_ready_where(&app.kustomizations, "app", |status, _, _| status == "False").await?;

    let sent: Value = serde_json::from_slice(&recorder.first_at("/generic").await?.body)?;
    assert_eq!(sent["involvedObject"]["kind"], "Kustomization");
    assert_eq!(sent["involvedObject"]["name"], "app");
    assert_eq!(sent["severity"], "error");
    assert_eq!(sent["reportingController"], "kustomize-controller");
    let revision = sent["metadata"]["revision"].as_str().unwrap_or_default();
    assert!(revision.ends_with(&broken), "{sent}");
    let slack_sent: Value = serde_json::from_slice(&recorder.first_at("/slack").await?.body)?;
    let attachment = &slack_sent["attachments"][0];
    assert_eq!(attachment["color"], "danger", "{slack_sent}");
    assert_eq!(attachment["author_name"], format!("kustomization/app.{ns}"));
    assert_eq!(slack_sent["username"], "kustomize-controller");

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(recorder.received("/generic").len(), 1, "one event, once");
    assert_eq!(
        recorder.received("/slack").len(),
        1,
        "nothing through no-secret"
    );
    assert_eq!(
        recorder.received("/labelled").len(),
        1,
        "matchLabels team=web"
    );
    assert!(recorder.received("/other-team").is_empty());
    assert!(recorder.received("/excluded").is_empty());
    assert!(recorder.received("/suspended").is_empty());
    let failed = alert_warnings(client, ns, "no-secret", "NotificationDispatchFailed").await?;
    assert!(
        failed
            .iter()
            .any(|m| m.contains("secrets \"missing\" not found")),
        "{failed:?}"
    );
    let invalid = alert_warnings(client, ns, "bad-regex", "InvalidConfig").await?;
    assert!(
        invalid.contains(&"failed to compile exclusion regex: (".to_owned()),
        "{invalid:?}"
    );
    let conflicts = alert_warnings(client, ns, "labelled", "MetadataAppendFailed").await?;
    assert!(
        conflicts[0].starts_with("metadata key conflicts detected"),
        "{conflicts:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_status_provider_posts_success_for_the_applied_revisions_commit()
-> anyhow::Result<()> {
    // GitHub cannot be reached from here: the Provider's address is a recording server on
    // loopback, which go-github addresses as a GitHub Enterprise host (`/api/v3/`).
    let source = GitSourceFixture::start("status", "1h").await?;
    let (client, ns) = (&source.client, source.ns.name.as_str());
    let (recorder, url) = RecordingServer::start().await?;
    let controller = InProcessController::start(ns).await?;
    let token: Secret = serde_json::from_value(json!({
        "metadata": {"name": "github-token"}, "stringData": {"token": "ghp-s3cret"}
    }))?;
    source
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &token)
        .await?;
    let providers = notification_api(client, ns, "v1beta3", "Provider");
    create(
        &providers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "github", "namespace": ns},
            "spec": {"type": "github", "address": format!("{url}/tether/app"),
                     "secretRef": {"name": "github-token"}}
        }),
    )
    .await?;
    let alerts = notification_api(client, ns, "v1beta3", "Alert");
    create(
        &alerts,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "github", "namespace": ns},
            "spec": {"providerRef": {"name": "github"}, "eventSeverity": "info",
                     "eventSources": [{"kind": "Kustomization", "name": "app"}]}
        }),
    )
    .await?;
    // The dispatcher reads Alerts from a watch cache: give it a moment to see them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ks = kustomizations(client, ns);
    create(&ks, kustomization("app", ns, ns, "./deploy")).await?;
    wait_ready_where(&ks, "app", |status, _, _| status == "True").await?;

    let commit = source.repo.rev_parse("master")?;
    let path = format!("/api/v3/repos/tether/app/statuses/{commit}");
    let posted = recorder.first_at(&path).await?;
    assert_eq!(posted.authorization, "Bearer ghp-s3cret");
    let status: Value = serde_json::from_slice(&posted.body)?;
    let uid = providers
        .get("github")
        .await?
        .metadata
        .uid
        .unwrap_or_default();
    let uid_part = uid.split('-').next().unwrap_or_default();
    // Flux's status id: `<kind>/<name>/<first part of the Provider's UID>`, lowercased.
    assert_eq!(status["context"], format!("kustomization/app/{uid_part}"));
    assert_eq!(status["state"], "success", "{status}");
    assert!(status["description"].is_string(), "{status}");
    drop(controller);
    Ok(())
}

/// The messages of `reason` events on Alert `name`, once there are some.
async fn alert_warnings(
    client: &kube::Client,
    ns: &str,
    name: &str,
    reason: &str,
) -> anyhow::Result<Vec<String>> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + WAIT;
    loop {
        let messages: Vec<String> = events
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .filter_map(|e| e.note)
            .collect();
        if !messages.is_empty() {
            return Ok(messages);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no dispatch failure on Alert {name}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An event as helm-controller posts it to notification-controller.
fn helm_release_event(ns: &str) -> Value {
    json!({
        "involvedObject": {"kind": "HelmRelease", "namespace": ns, "name": "podinfo",
                           "apiVersion": "helm.toolkit.fluxcd.io/v2"},
        "severity": "info", "timestamp": "2026-01-02T03:04:05Z",
        "message": "Helm install succeeded for release podinfo", "reason": "InstallSucceeded",
        "metadata": {"helm.toolkit.fluxcd.io/revision": "6.5.0",
                     "helm.toolkit.fluxcd.io/checksum": "abc", "other.io/x": "y"},
        "reportingController": "helm-controller"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_posted_by_other_flux_controllers_are_admitted_as_notification_controller_does()
-> anyhow::Result<()> {
    let client = tether_testkit::cluster::client().await?;
    tether_testkit::cluster::install_crds(&client, tether_api::crds()).await?;
    let namespace = tether_testkit::cluster::TestNamespace::create(&client, "events").await?;
    let ns = namespace.name.as_str();
    let controller = InProcessController::start(ns).await?;
    let (recorder, url) = RecordingServer::start().await?;
    let generic = format!("{url}/generic");
    let helm = json!({"eventSeverity": "info",
                      "eventSources": [{"kind": "HelmRelease", "name": "*"}]});
    provider_and_alert(&client, ns, ("generic", "generic", &generic), helm).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let event = helm_release_event(ns).to_string();
    let events_url = controller.events_url.as_str();
    let json_type = [("Content-Type", "application/json")];
    assert_eq!(post(events_url, &json_type, event.as_bytes()).await?, 202);
    assert_eq!(
        post(events_url, &json_type, event.as_bytes()).await?,
        429,
        "duplicate"
    );
    assert_eq!(post(events_url, &json_type, b"not an event").await?, 400);
    let oversized = vec![b' '; 3 * 1024 * 1024 + 1];
    assert_eq!(post(events_url, &json_type, &oversized).await?, 413);

    let sent: Value = serde_json::from_slice(&recorder.first_at("/generic").await?.body)?;
    assert_eq!(sent["reportingController"], "helm-controller");
    assert_eq!(sent["metadata"], json!({"revision": "6.5.0"}), "{sent}");
    Ok(())
}

/// Sends `body` to `url` with `headers`, returns the status code.
async fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> anyhow::Result<u16> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let mut request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    // A server refusing an oversized body may answer and close before reading all of it.
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split(' ').nth(1).unwrap_or_default();
    Ok(status.parse()?)
}

fn requested_at(repo: &DynamicObject) -> Option<String> {
    repo.metadata
        .annotations
        .as_ref()?
        .get("reconcile.fluxcd.io/requestedAt")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_github_push_to_a_receiver_applies_the_new_commit_without_waiting()
-> anyhow::Result<()> {
    // Polling once an hour: only the webhook can bring the new commit in within the test.
    let source = GitSourceFixture::start("receiver", "1h").await?;
    let (client, ns) = (&source.client, source.ns.name.as_str());
    let controller = InProcessController::start(ns).await?;
    let ks = kustomizations(client, ns);
    create(&ks, kustomization("app", ns, ns, "./deploy")).await?;
    wait_ready_where(&ks, "app", |status, _, _| status == "True").await?;

    let receivers = notification_api(client, ns, "v1", "Receiver");
    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "github", "namespace": ns},
            "spec": {"type": "github", "events": ["push"], "secretRef": {"name": "webhook-token"},
                     "resources": [{"kind": "GitRepository", "name": "app"},
                                   {"kind": "GitRepository", "name": "*",
                                    "matchLabels": {"webhook": "github"}}]}
        }),
    )
    .await?;
    let no_token =
        |status: &str, reason: &str, _: &str| status == "False" && reason == "TokenNotFound";
    wait_ready_where(&receivers, "github", no_token).await?;
    // Labelled as Flux's --watch-configs-label-selector wants: the Receiver notices at once
    // instead of at its next retry.
    let token = "webhook-s3cret";
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "webhook-token", "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
        "stringData": {"token": token}
    }))?;
    let created = Instant::now();
    source
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let ready = wait_ready_where(&receivers, "github", |status, _, _| status == "True").await?;
    assert!(
        created.elapsed() < Duration::from_secs(10),
        "{:?}",
        created.elapsed()
    );
    let sources = dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    for (name, labels) in [
        ("labelled", json!({"webhook": "github"})),
        ("unlabelled", json!({})),
    ] {
        let repo = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"url": "https://example.invalid/app.git", "interval": "1h", "suspend": true}
        });
        create(&sources, repo).await?;
    }
    let path = tether_notify::webhook_path(token, "github", ns);
    assert_eq!(ready["status"]["webhookPath"], path.as_str());

    let pushed = source.repo.commit(
        "master",
        &[("deploy/deployment.yaml", &deployment_yaml(3))],
        "three replicas",
    )?;
    let body = json!({"ref": "refs/heads/master", "after": pushed,
                      "repository": {"full_name": "tether/app"}})
    .to_string();
    let url = format!("{}{path}", controller.receiver_url);
    let forged = tether_notify::receiver::signature::sign_sha256(body.as_bytes(), "not-the-token");
    let call = |signature: String| {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let headers = [
                ("Content-Type", "application/json"),
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature-256", signature.as_str()),
            ];
            post(&url, &headers, body.as_bytes()).await
        }
    };
    assert_eq!(call(forged).await?, 400, "a wrong HMAC is refused");
    let sources = dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    assert_eq!(
        requested_at(&sources.get("app").await?),
        None,
        "nothing annotated"
    );
    let unknown = format!("{}/hook/0000", controller.receiver_url);
    assert_eq!(post(&unknown, &[], b"{}").await?, 404);

    let called = Instant::now();
    let signed = tether_notify::receiver::signature::sign_sha256(body.as_bytes(), token);
    assert_eq!(call(signed).await?, 200);
    assert!(requested_at(&sources.get("app").await?).is_some());
    assert!(requested_at(&sources.get("labelled").await?).is_some());
    assert_eq!(requested_at(&sources.get("unlabelled").await?), None);
    assert!(requested_at(&sources.get("labelled").await?).is_some());
    assert_eq!(requested_at(&sources.get("unlabelled").await?), None);
    wait_for(&source.ns.api::<Deployment>(), "web", WAIT, |d| {
        d.spec.as_ref().and_then(|s| s.replicas) == Some(3)
    })
    .await?;
    eprintln!("webhook call to applied: {:?}", called.elapsed());

    let suspend = json!({"spec": {"suspend": true}});
    merge_patch(&receivers, "github", suspend).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let signed = tether_notify::receiver::signature::sign_sha256(body.as_bytes(), token);
    while call(signed.clone()).await? != 503 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "a suspended Receiver still accepts calls"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn has_flux_finalizer(object: &DynamicObject) -> bool {
    object
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == "finalizers.fluxcd.io"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_holds_the_flux_finalizer_until_deleted_and_an_old_alert_loses_it()
-> anyhow::Result<()> {
    let client = tether_testkit::cluster::client().await?;
    tether_testkit::cluster::install_crds(&client, tether_api::crds()).await?;
    let namespace = tether_testkit::cluster::TestNamespace::create(&client, "finalizers").await?;
    let ns = namespace.name.as_str();
    let _controller = InProcessController::start(ns).await?;
    let providers = notification_api(&client, ns, "v1beta3", "Provider");
    provider_and_alert(
        &client,
        ns,
        ("chat", "slack", "https://hooks.slack.invalid/x"),
        json!({}),
    )
    .await?;
    wait_for(&providers, "chat", WAIT, has_flux_finalizer).await?;
    providers.delete("chat", &Default::default()).await?;
    tether_testkit::flux::wait_for_gone(&providers, "chat").await?;

    // An Alert as Flux before v2.1 left it: with a finalizer.
    let alerts = notification_api(&client, ns, "v1beta3", "Alert");
    create(
        &alerts,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "old", "namespace": ns,
                         "finalizers": ["finalizers.fluxcd.io"]},
            "spec": {"providerRef": {"name": "chat"},
                     "eventSources": [{"kind": "Kustomization", "name": "*"}]}
        }),
    )
    .await?;
    wait_for(&alerts, "old", WAIT, |a| !has_flux_finalizer(a)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_status_expr_sets_the_status_id_posted_for_the_commit() -> anyhow::Result<()> {
    // GitHub cannot be reached from here: the Provider's address is a recording server on
    // loopback, which go-github addresses as a GitHub Enterprise host (`/api/v3/`).
    let source = GitSourceFixture::start("statusexpr", "1h").await?;
    let (client, ns) = (&source.client, source.ns.name.as_str());
    let (recorder, url) = RecordingServer::start().await?;
    let _controller = InProcessController::start(ns).await?;
    let token: Secret = serde_json::from_value(json!({
        "metadata": {"name": "github-token"}, "stringData": {"token": "ghp-s3cret"}
    }))?;
    source
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &token)
        .await?;
    let providers = notification_api(client, ns, "v1beta3", "Provider");
    let expression = "(event.involvedObject.kind + '/' + event.involvedObject.name + '/' + alert.metadata.name + '/' + provider.metadata.uid.split('-').first().value()).lowerAscii()";
    create(
        &providers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "github", "namespace": ns},
            "spec": {"type": "github", "address": format!("{url}/tether/app"),
                     "secretRef": {"name": "github-token"}, "commitStatusExpr": expression}
        }),
    )
    .await?;
    let alerts = notification_api(client, ns, "v1beta3", "Alert");
    create(
        &alerts,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "status-alert", "namespace": ns},
            "spec": {"providerRef": {"name": "github"}, "eventSeverity": "info",
                     "eventSources": [{"kind": "Kustomization", "name": "app"}]}
        }),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ks = kustomizations(client, ns);
    create(&ks, kustomization("app", ns, ns, "./deploy")).await?;
    wait_ready_where(&ks, "app", |status, _, _| status == "True").await?;

    let commit = source.repo.rev_parse("master")?;
    let path = format!("/api/v3/repos/tether/app/statuses/{commit}");
    let status: Value = serde_json::from_slice(&recorder.first_at(&path).await?.body)?;
    let uid = providers
        .get("github")
        .await?
        .metadata
        .uid
        .unwrap_or_default();
    let uid_part = uid.split('-').next().unwrap_or_default();
    assert_eq!(
        status["context"],
        format!("kustomization/app/status-alert/{uid_part}"),
        "{status}"
    );
    assert_eq!(status["state"], "success", "{status}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receivers_resource_filter_selects_which_matching_objects_reconcile() -> anyhow::Result<()>
{
    let source = GitSourceFixture::start("filter", "1h").await?;
    let (client, ns) = (&source.client, source.ns.name.as_str());
    let controller = InProcessController::start(ns).await?;
    let token = "filter-s3cret";
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "webhook-token"}, "stringData": {"token": token}
    }))?;
    source
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let sources = dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    for name in ["frontend", "backend"] {
        let repo = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": ns, "labels": {"team": "web"}},
            "spec": {"url": "https://example.invalid/app.git", "interval": "1h", "suspend": true}
        });
        create(&sources, repo).await?;
    }
    let receivers = notification_api(client, ns, "v1", "Receiver");
    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "generic", "namespace": ns},
            "spec": {"type": "generic", "secretRef": {"name": "webhook-token"},
                     "resourceFilter": "res.metadata.name == req.component",
                     "resources": [{"kind": "GitRepository", "name": "*",
                                    "matchLabels": {"team": "web"}}]}
        }),
    )
    .await?;
    wait_ready_where(&receivers, "generic", |status, _, _| status == "True").await?;
    let url = format!(
        "{}{}",
        controller.receiver_url,
        tether_notify::webhook_path(token, "generic", ns)
    );
    let json_body = [("Content-Type", "application/json")];
    assert_eq!(
        post(&url, &json_body, br#"{"component": "backend"}"#).await?,
        200
    );
    assert!(requested_at(&sources.get("backend").await?).is_some());
    assert_eq!(requested_at(&sources.get("frontend").await?), None);
    // A body that says it is JSON and is not cannot be filtered on.
    assert_eq!(post(&url, &json_body, b"not json").await?, 500);

    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "invalid", "namespace": ns},
            "spec": {"type": "generic", "secretRef": {"name": "webhook-token"},
                     "resourceFilter": "body.component == 'backend'",
                     "resources": [{"kind": "GitRepository", "name": "backend"}]}
        }),
    )
    .await?;
    let stalled = wait_ready_where(&receivers, "invalid", |status, reason, _| {
        status == "False" && reason == "InvalidCELExpression"
    })
    .await?;
    let message = tether_testkit::flux::condition(&stalled, "Ready")
        .map(|c| c.2)
        .unwrap_or_default();
    assert!(
        message.starts_with("Reconciliation failed terminally due to configuration error: invalid resourceFilter expression: ")
            && message.contains("undeclared reference to 'body'"),
        "{message}"
    );
    Ok(())
}

/// A Secret `name` holding `token`.
async fn token_secret(source: &GitSourceFixture, name: &str, token: &str) -> anyhow::Result<()> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name}, "stringData": {"token": token}
    }))?;
    source
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_request_comment_zoom_sentry_and_otel_providers_get_the_event_of_one_alert_each()
-> anyhow::Result<()> {
    // GitHub, Zoom and Sentry cannot be reached from here, nor is there an OpenTelemetry
    // collector: every Provider posts to a recording server on loopback (go-github addresses
    // it as a GitHub Enterprise host, `/api/v3/`; the Sentry DSN names it). It answers the
    // forge's reads (who am I, the pull request's comments) as GitHub documents them.
    let source = GitSourceFixture::start("prcomment", "1h").await?;
    let (client, ns) = (&source.client, source.ns.name.as_str());
    let (recorder, url) = RecordingServer::start().await?;
    let controller = InProcessController::start(ns).await?;
    token_secret(&source, "github-token", "ghp-s3cret").await?;
    token_secret(&source, "zoom-token", "zoom-verification-s3cret").await?;
    let providers = notification_api(client, ns, "v1beta3", "Provider");
    let alerts = notification_api(client, ns, "v1beta3", "Alert");
    let dsn = url.replacen("http://", "http://sentrykey@", 1);
    for (name, type_, address, secret) in [
        (
            "pr",
            "githubpullrequestcomment",
            format!("{url}/tether/app"),
            Some("github-token"),
        ),
        (
            "zoom",
            "zoom",
            format!("{url}/zoom/hook"),
            Some("zoom-token"),
        ),
        ("sentry", "sentry", format!("{dsn}/17"), None),
        ("otel", "otel", format!("{url}/v1/traces"), None),
    ] {
        let mut spec = json!({"type": type_, "address": address});
        if let Some(secret) = secret {
            spec["secretRef"] = json!({"name": secret});
        }
        create(
            &providers,
            json!({
                "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
                "metadata": {"name": name, "namespace": ns}, "spec": spec
            }),
        )
        .await?;
        create(
            &alerts,
            json!({
                "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"providerRef": {"name": name}, "eventSeverity": "info",
                         "eventSources": [{"kind": "Kustomization", "name": "app"}]}
            }),
        )
        .await?;
    }
    let uid = providers.get("pr").await?.metadata.uid.unwrap_or_default();
    let marker = format!("<!-- flux-pr-comment-key:{uid}/Kustomization/{ns}/app -->");
    recorder.answer("/api/v3/user", json!({"login": "flux-bot", "id": 1}));
    recorder.answer(
        "/api/v3/repos/tether/app/issues/42/comments",
        json!([
            {"id": 7, "body": format!("{marker}\n\nby someone else"), "user": {"login": "alice"}},
            {"id": 9, "body": format!("{marker}\n\nold status"), "user": {"login": "flux-bot"}}
        ]),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ks = kustomizations(client, ns);
    let mut app = kustomization("app", ns, ns, "./deploy");
    app["metadata"]["annotations"] = json!({"event.toolkit.fluxcd.io/change_request": "42"});
    create(&ks, app).await?;
    wait_ready_where(&ks, "app", |status, _, _| status == "True").await?;

    // The comment flux-bot wrote with this Provider's key is edited, not a new one created.
    let edited = recorder
        .first_at("/api/v3/repos/tether/app/issues/comments/9")
        .await?;
    assert_eq!(edited.method, "PATCH");
    assert_eq!(edited.authorization, "Bearer ghp-s3cret");
    let comment: Value = serde_json::from_slice(&edited.body)?;
    let text = comment["body"].as_str().unwrap_or_default();
    assert!(
        text.starts_with(&format!("{marker}\n\n## Flux Status\n\n")),
        "{text}"
    );
    assert!(!text.contains("change_request"), "{text}");
    assert!(
        recorder
            .received("/api/v3/repos/tether/app/issues/42/comments")
            .iter()
            .all(|r| r.method == "GET")
    );
    assert!(
        recorder
            .received("/api/v3/repos/tether/app/issues/comments/7")
            .is_empty()
    );

    let zoom = recorder.first_at("/zoom/hook").await?;
    assert_eq!(zoom.authorization, "zoom-verification-s3cret");
    let message: Value = serde_json::from_slice(&zoom.body)?;
    assert_eq!(
        message["content"]["head"]["text"],
        format!("kustomization/app.{ns}")
    );
    assert_eq!(message["content"]["head"]["sub_head"]["text"], "info");
    assert_eq!(message["content"]["body"][0]["type"], "message");

    // Sentry: the info event as a transaction envelope.
    let envelope = recorder.first_at("/api/17/envelope/").await?;
    let text = String::from_utf8_lossy(&envelope.body).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let item: Value = serde_json::from_str(lines[1])?;
    assert_eq!(item["type"], "transaction", "{text}");
    let transaction: Value = serde_json::from_str(lines[2])?;
    assert_eq!(
        transaction["transaction"],
        format!("Kustomization: {ns}/app")
    );
    assert_eq!(transaction["tags"]["change_request"], "42");

    // OpenTelemetry: a protobuf export naming the Alert as the service.
    let export = recorder.first_at("/v1/traces").await?;
    let service = format!("{ns}/otel");
    let contains = |needle: &[u8]| export.body.windows(needle.len()).any(|w| w == needle);
    assert!(contains(service.as_bytes()), "{:?}", export.body);
    assert!(contains(format!("Kustomization: {ns}/app").as_bytes()));
    drop(controller);
    Ok(())
}
