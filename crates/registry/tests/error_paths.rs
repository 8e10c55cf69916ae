//! e2e: failures distribution's real registry cannot be made to produce — 429 with
//! `Retry-After`, 5xx, a body that is not JSON, a pagination link to another host — from a tiny
//! axum responder that answers only those; and a timeout against a socket that never answers.
//! Everything a real registry can do is tested in `scan.rs` and `bearer.rs` instead.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use std::net::SocketAddr;
use std::time::Duration;
use tether_registry::{ImageName, RegistryClient, ScanError, ScanOptions};

async fn respond(uri: axum::http::Uri) -> axum::response::Response {
    let mut headers = HeaderMap::new();
    match uri.path() {
        "/v2/" => StatusCode::OK.into_response(),
        "/v2/throttled/tags/list" => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
            (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response()
        }
        "/v2/broken/tags/list" => (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"errors":[{"code":"UNAVAILABLE","message":"storage offline"}]}"#,
        )
            .into_response(),
        "/v2/garbage/tags/list" => (StatusCode::OK, "<html>proxy login</html>").into_response(),
        "/v2/escape/tags/list" => {
            headers.insert(
                header::LINK,
                HeaderValue::from_static(r#"<http://169.254.169.254/v2/x/tags/list>; rel="next""#),
            );
            (StatusCode::OK, headers, r#"{"name":"escape","tags":["a"]}"#).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn start_responder() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().fallback(respond)).await;
    });
    Ok(addr)
}

async fn list(addr: SocketAddr, repo: &str) -> anyhow::Result<ScanError> {
    let name = ImageName::parse(&format!("{addr}/{repo}"))?;
    let result = RegistryClient::default()
        .list_tags(&name, &ScanOptions::default())
        .await;
    match result {
        Ok(tags) => anyhow::bail!("{repo}: expected an error, got tags {tags:?}"),
        Err(error) => Ok(error),
    }
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() -> anyhow::Result<()> {
    let addr = start_responder().await?;
    let error = list(addr, "throttled").await?;
    assert!(
        matches!(error, ScanError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(error.suggested_backoff(), Some(Duration::from_secs(7)));
    assert_eq!(
        error.to_string(),
        format!("{addr}/throttled: rate limited by the registry; retry after 7s")
    );
    Ok(())
}

#[tokio::test]
async fn server_errors_are_retryable_and_quote_the_registry() -> anyhow::Result<()> {
    let addr = start_responder().await?;
    let error = list(addr, "broken").await?;
    assert!(
        matches!(error, ScanError::Server { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(
        error.to_string(),
        format!("{addr}/broken: registry error (503): UNAVAILABLE: storage offline")
    );
    Ok(())
}

#[tokio::test]
async fn a_body_that_is_not_json_is_an_invalid_response() -> anyhow::Result<()> {
    let addr = start_responder().await?;
    let error = list(addr, "garbage").await?;
    assert!(
        matches!(error, ScanError::InvalidResponse { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("not JSON"), "{error}");
    assert!(!error.is_retryable());
    Ok(())
}

#[tokio::test]
async fn pagination_links_may_not_leave_the_registry() -> anyhow::Result<()> {
    let addr = start_responder().await?;
    let error = list(addr, "escape").await?;
    assert!(
        error
            .to_string()
            .contains("pagination link leaves the registry"),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn a_registry_that_never_answers_times_out() -> anyhow::Result<()> {
    // A bound socket that is never accepted from: the connection opens, no answer comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let name = ImageName::parse(&format!("{}/app", silent.local_addr()?))?;
    let options = ScanOptions {
        insecure: true,
        timeout: Duration::from_millis(300),
        ..ScanOptions::default()
    };
    let error = RegistryClient::default()
        .list_tags(&name, &options)
        .await
        .expect_err("nobody answers");
    assert!(matches!(error, ScanError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        error.to_string().ends_with("timed out after 0.3s"),
        "{error}"
    );
    Ok(())
}
