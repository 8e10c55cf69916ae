//! Receivers that authenticate callers by a signed token, end to end against the local control
//! plane: a generic-oidc Receiver trusting an OIDC issuer, and a gcr Receiver called as a
//! Pub/Sub push subscription calls it.
//!
//! The issuer (`tether_testkit::oidc`) serves the standard OIDC discovery document and key set
//! on loopback with keys the test generates: the protocol a real issuer speaks, not a fake of
//! a product. For gcr it stands in for Google's certificate URLs, which cannot be reached from
//! here (the controller's `google_keys` are pointed at it; that option is not a flag).

mod common;

use common::InProcessController;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use tether_notify::receiver::gcr::GoogleKeys;
use tether_testkit::cluster::TestNamespace;
use tether_testkit::flux::{condition, create, dynamic_api, receivers, wait_ready_where};
use tether_testkit::oidc::{Issuer, epoch_in};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// POSTs `body` to `url` with an `Authorization: Bearer` header; the status code.
async fn post_bearer(url: &str, token: &str, body: &[u8]) -> anyhow::Result<u16> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    Ok(answer.split(' ').nth(1).unwrap_or_default().parse()?)
}

fn requested_at(repo: &DynamicObject) -> Option<String> {
    repo.metadata
        .annotations
        .as_ref()?
        .get("reconcile.fluxcd.io/requestedAt")
        .cloned()
}

/// Suspended GitRepositories (nothing fetches them) to be asked to reconcile.
async fn git_repositories(
    client: &kube::Client,
    ns: &str,
    owners: &[(&str, &str)],
) -> anyhow::Result<Api<DynamicObject>> {
    let sources = dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    for (name, owner) in owners {
        let repo = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": ns, "labels": {"team": "web", "owner": owner}},
            "spec": {"url": "https://example.invalid/app.git", "interval": "1h", "suspend": true}
        });
        create(&sources, repo).await?;
    }
    Ok(sources)
}

async fn start(
    prefix: &str,
    issuer: &Issuer,
) -> anyhow::Result<(kube::Client, TestNamespace, InProcessController)> {
    let client = tether_testkit::cluster::client().await?;
    tether_testkit::cluster::install_crds(&client, tether_api::crds()).await?;
    let namespace = TestNamespace::create(&client, prefix).await?;
    let keys = GoogleKeys {
        rs256_url: issuer.jwks_url(),
        es256_url: issuer.jwks_url(),
    };
    let controller = InProcessController::start_with_notifications(
        &namespace.name,
        |_| {},
        |notifications| notifications.google_keys = keys,
    )
    .await?;
    Ok((client, namespace, controller))
}

fn github_actions_claims(issuer: &Issuer, audience: &str, owner: &str, exp: i64) -> Value {
    json!({"iss": issuer.url(), "aud": audience, "exp": exp, "iat": epoch_in(0),
           "sub": format!("repo:{owner}/app:ref:refs/heads/main"),
           "repository": format!("{owner}/app"), "repository_owner": owner})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_oidc_receiver_accepts_only_verified_tokens_that_pass_its_validations()
-> anyhow::Result<()> {
    let issuer = Issuer::start().await?;
    let (client, namespace, controller) = start("oidc", &issuer).await?;
    let (client, ns) = (&client, namespace.name.as_str());
    let sources =
        git_repositories(client, ns, &[("acme-app", "acme"), ("other-app", "other")]).await?;
    let receivers = receivers(client, ns);
    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "ci", "namespace": ns},
            "spec": {
                "type": "generic-oidc",
                "oidcProviders": [{
                    "issuerURL": issuer.url(), "audience": "tether-hooks",
                    "variables": [{"name": "owner", "expression": "claims.repository.split('/')[0]"}],
                    "validations": [{"expression": "vars.owner in ['acme', 'other']",
                                     "message": "repository owner is not trusted"}],
                }],
                // The verified claims reach the filter: only the caller's own repository.
                "resourceFilter": "res.metadata.labels['owner'] == claims.repository_owner",
                "resources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "web"}}],
            }
        }),
    )
    .await?;
    let ready = wait_ready_where(&receivers, "ci", |status, _, _| status == "True").await?;
    // No Secret: the path is made with an empty token, as Flux makes it.
    let path = tether_notify::webhook_path("", "ci", ns);
    assert_eq!(ready["status"]["webhookPath"], path.as_str(), "{ready}");
    let url = format!("{}{path}", controller.receiver_url);

    let later = epoch_in(300);
    let claims = |audience: &str, owner: &str, exp: i64| {
        github_actions_claims(&issuer, audience, owner, exp)
    };
    let refused = [
        (
            "wrong audience",
            issuer.sign(&claims("notification-controller", "acme", later))?,
        ),
        (
            "expired",
            issuer.sign(&claims("tether-hooks", "acme", epoch_in(-30)))?,
        ),
        (
            "bad signature",
            issuer.sign_forged(&claims("tether-hooks", "acme", later))?,
        ),
        (
            "unknown key",
            issuer.sign_with_unknown_key(&claims("tether-hooks", "acme", later))?,
        ),
        (
            "failed validation",
            issuer.sign(&claims("tether-hooks", "evil", later))?,
        ),
    ];
    for (why, token) in &refused {
        assert_eq!(post_bearer(&url, token, b"{}").await?, 400, "{why}");
    }
    for name in ["acme-app", "other-app"] {
        assert_eq!(
            requested_at(&sources.get(name).await?),
            None,
            "{name} was annotated"
        );
    }

    let valid = issuer.sign(&claims("tether-hooks", "acme", later))?;
    assert_eq!(post_bearer(&url, &valid, b"{}").await?, 200);
    assert!(requested_at(&sources.get("acme-app").await?).is_some());
    assert_eq!(requested_at(&sources.get("other-app").await?), None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gcr_receiver_accepts_a_pubsub_push_signed_for_its_service_account() -> anyhow::Result<()>
{
    use base64::Engine as _;
    let issuer = Issuer::start().await?;
    let (client, namespace, controller) = start("gcr", &issuer).await?;
    let (client, ns) = (&client, namespace.name.as_str());
    let sources = git_repositories(client, ns, &[("images", "acme")]).await?;
    let (email, audience) = (
        "push@p.iam.gserviceaccount.com",
        "https://hooks.example/gcr",
    );
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "gcr-token"},
        "stringData": {"token": "gcr-s3cret", "email": email, "audience": audience}
    }))?;
    namespace
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let receivers = receivers(client, ns);
    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "gcr", "namespace": ns},
            "spec": {"type": "gcr", "secretRef": {"name": "gcr-token"},
                     // Flux's filters read the GCR event the push carries, not the envelope.
                     "resourceFilter": "req.action == 'INSERT' && req.tag == 'gcr.io/p/app:1.0'",
                     "resources": [{"kind": "GitRepository", "name": "images"}]}
        }),
    )
    .await?;
    wait_ready_where(&receivers, "gcr", |status, _, _| status == "True").await?;
    let url = format!(
        "{}{}",
        controller.receiver_url,
        tether_notify::webhook_path("gcr-s3cret", "gcr", ns)
    );
    let data = base64::engine::general_purpose::STANDARD.encode(
        br#"{"action":"INSERT","digest":"gcr.io/p/app@sha256:00","tag":"gcr.io/p/app:1.0"}"#,
    );
    let push = format!(r#"{{"message":{{"data":"{data}","messageId":"1"}},"subscription":"s"}}"#);
    let google = |aud: &str, exp: i64| {
        json!({"iss": "https://accounts.google.com", "aud": aud, "exp": exp, "iat": epoch_in(0),
               "email": email, "email_verified": true, "sub": "1234"})
    };
    let later = epoch_in(300);
    let refused = [
        (
            "wrong audience",
            issuer.sign_rs256(&google("https://other", later))?,
        ),
        (
            "expired",
            issuer.sign_rs256(&google(audience, epoch_in(-30)))?,
        ),
        (
            "bad signature",
            issuer.sign_forged(&google(audience, later))?,
        ),
        (
            "unknown key",
            issuer.sign_with_unknown_key(&google(audience, later))?,
        ),
    ];
    for (why, token) in &refused {
        assert_eq!(
            post_bearer(&url, token, push.as_bytes()).await?,
            400,
            "{why}"
        );
    }
    assert_eq!(requested_at(&sources.get("images").await?), None);
    let valid = issuer.sign_rs256(&google(audience, later))?;
    assert_eq!(post_bearer(&url, &valid, push.as_bytes()).await?, 200);
    assert!(requested_at(&sources.get("images").await?).is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_with_uncompilable_or_non_bool_expressions_stall() -> anyhow::Result<()> {
    let issuer = Issuer::start().await?;
    let (client, namespace, _controller) = start("oidc-bad", &issuer).await?;
    let (client, ns) = (&client, namespace.name.as_str());
    let receivers = receivers(client, ns);
    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "bad", "namespace": ns},
            "spec": {"type": "generic-oidc",
                     "oidcProviders": [{"issuerURL": issuer.url(),
                         "validations": [{"expression": "token.sub == 'x'", "message": "m"}]}],
                     "resources": [{"kind": "GitRepository", "name": "app"}]}
        }),
    )
    .await?;
    let stalled = wait_ready_where(&receivers, "bad", |status, reason, _| {
        status == "False" && reason == "InvalidCELExpression"
    })
    .await?;
    let message = condition(&stalled, "Ready")
        .map(|c| c.2)
        .unwrap_or_default();
    assert!(
        message.contains("oidcProviders[0]") && message.contains("undeclared reference to 'token'"),
        "{message}"
    );

    // A resourceFilter that can never be a bool is refused when compiled, as cel-go's checker
    // refuses it, not when a call arrives.
    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "not-bool", "namespace": ns},
            "spec": {"type": "generic-oidc",
                     "oidcProviders": [{"issuerURL": issuer.url(),
                         "validations": [{"expression": "claims.sub == 'x'", "message": "m"}]}],
                     "resourceFilter": "claims.sub.lowerAscii()",
                     "resources": [{"kind": "GitRepository", "name": "app"}]}
        }),
    )
    .await?;
    let stalled = wait_ready_where(&receivers, "not-bool", |status, reason, _| {
        status == "False" && reason == "InvalidCELExpression"
    })
    .await?;
    let message = condition(&stalled, "Ready")
        .map(|c| c.2)
        .unwrap_or_default();
    assert!(
        message.contains("invalid resourceFilter expression: CEL expression output type mismatch: expected bool, got string"),
        "{message}"
    );
    Ok(())
}
