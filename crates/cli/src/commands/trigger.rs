//! `tether trigger receiver NAME --url URL --token TOKEN` (Flux 2.9's `flux trigger receiver`):
//! POST the payload to `<url>/hook/<sha256 of token+name+namespace>` without reading the
//! cluster; generic-hmac signs the body in `X-Signature`, generic-oidc sends a bearer token.
//! Connection errors and 404/408/429/500/502/503/504 are retried `--retries` times,
//! `--retry-delay` apart; any other failure ends the command at once.
//!
//! Not supported yet: `--oidc-provider` (fetching the token from GitHub or Forgejo Actions);
//! `--oidc-token` or `$FLUX_TRIGGER_RECEIVER_OIDC_TOKEN` work.

use super::cluster;
use super::output::{action, success, waiting};
use crate::cli::{TriggerCommand, TriggerReceiverArgs};
use anyhow::bail;
use http::StatusCode;
use std::time::{Duration, Instant};
use tether_notify::send::{SendError, SendOptions, Sender};
use tether_notify::{HttpRequest, webhook_path};

const GENERIC: &str = "generic";
const GENERIC_HMAC: &str = "generic-hmac";
const GENERIC_OIDC: &str = "generic-oidc";
const OIDC_TOKEN_ENV: &str = "FLUX_TRIGGER_RECEIVER_OIDC_TOKEN";

pub fn run(command: TriggerCommand) -> anyhow::Result<()> {
    match command {
        TriggerCommand::Receiver(args) => trigger_receiver(&args),
    }
}

fn trigger_receiver(args: &TriggerReceiverArgs) -> anyhow::Result<()> {
    if args.url.is_empty() {
        bail!("--url is required");
    }
    validate(args)?;
    let request = webhook_request(args, &oidc_token_from_env)?;
    let (namespace, name) = (&args.namespace, &args.name);
    cluster::block_on(async {
        let deadline = Instant::now() + args.timeout;
        action(&format!("triggering Receiver {namespace}/{name}"));
        send_with_retries(args, &request, deadline).await?;
        success(&format!("Receiver {namespace}/{name} triggered"));
        Ok(())
    })
}

/// Flux's checks of the type and of the token and OIDC flags, with its messages.
fn validate(args: &TriggerReceiverArgs) -> anyhow::Result<()> {
    let type_ = args.receiver_type.as_str();
    if ![GENERIC, GENERIC_HMAC, GENERIC_OIDC].contains(&type_) {
        bail!(
            "invalid --type {type_:?}, must be one of: {GENERIC}, {GENERIC_HMAC}, {GENERIC_OIDC}"
        );
    }
    let any_oidc_flag = !(args.oidc_provider.is_empty()
        && args.oidc_token.is_empty()
        && args.oidc_audience.is_empty());
    if type_ != GENERIC_OIDC {
        if args.token.is_empty() {
            bail!("--token is required for --type={type_}");
        }
        if any_oidc_flag {
            bail!(
                "--oidc-provider, --oidc-token and --oidc-audience can only be set for --type={GENERIC_OIDC}"
            );
        }
        return Ok(());
    }
    if !args.token.is_empty() {
        bail!(
            "--token must not be set for --type={GENERIC_OIDC}, the Receiver of this type has no secret"
        );
    }
    if !args.oidc_provider.is_empty() && !args.oidc_token.is_empty() {
        bail!("--oidc-provider and --oidc-token are mutually exclusive");
    }
    match args.oidc_provider.as_str() {
        "" => {}
        "github" | "forgejo" => bail!(
            "fetching the OIDC token from {} Actions is not supported yet: pass --oidc-token or set {OIDC_TOKEN_ENV}",
            args.oidc_provider
        ),
        other => bail!("invalid --oidc-provider {other:?}, must be one of: github, forgejo"),
    }
    if !args.oidc_audience.is_empty() {
        bail!("--oidc-audience can only be set together with --oidc-provider");
    }
    Ok(())
}

fn oidc_token_from_env() -> Option<String> {
    std::env::var(OIDC_TOKEN_ENV).ok().filter(|t| !t.is_empty())
}

/// The POST Flux sends: JSON content type, its user agent, and the type's authentication.
fn webhook_request(
    args: &TriggerReceiverArgs,
    env_token: &dyn Fn() -> Option<String>,
) -> anyhow::Result<HttpRequest> {
    // A generic-oidc Receiver has no Secret: its path is salted with an empty token.
    let path_token = match args.receiver_type.as_str() {
        GENERIC_OIDC => "",
        _ => args.token.as_str(),
    };
    let path = webhook_path(path_token, &args.name, &args.namespace);
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    let body = args.payload.as_bytes().to_vec();
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        (
            "User-Agent".to_owned(),
            format!("flux/v{}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    match args.receiver_type.as_str() {
        GENERIC_HMAC => {
            let signature = tether_notify::receiver::signature::sign_sha256(&body, &args.token);
            headers.push(("X-Signature".to_owned(), signature));
        }
        GENERIC_OIDC => {
            let token = match args.oidc_token.as_str() {
                "" => env_token().ok_or_else(|| {
                    anyhow::anyhow!(
                        "no OIDC token provided: set --oidc-provider, --oidc-token or the {OIDC_TOKEN_ENV} environment variable"
                    )
                })?,
                token => token.to_owned(),
            };
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        _ => {}
    }
    Ok(HttpRequest {
        method: "POST",
        url,
        headers,
        body,
    })
}

/// One attempt per `--retry-delay` until success, a failure not worth retrying, the last
/// retry or the deadline.
async fn send_with_retries(
    args: &TriggerReceiverArgs,
    request: &HttpRequest,
    deadline: Instant,
) -> anyhow::Result<()> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let sender = Sender::new(SendOptions {
        timeout: remaining.max(Duration::from_millis(1)),
        max_retries: 0,
        ..SendOptions::default()
    })?;
    let secrets = [args.token.as_str(), args.oidc_token.as_str()];
    let secrets: Vec<&str> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    let mut attempt = 0;
    loop {
        let error = match sender.send(request, &secrets).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let (retryable, message) = describe(&error, &request.url);
        if !retryable || attempt >= args.retries {
            bail!("{message}");
        }
        if Instant::now() + args.retry_delay >= deadline {
            bail!("{message}; no time left to retry within --timeout");
        }
        attempt += 1;
        let delay = format_go_duration(args.retry_delay);
        waiting(&format!(
            "{message}; retrying in {delay} ({attempt}/{})",
            args.retries
        ));
        tokio::time::sleep(args.retry_delay).await;
    }
}

/// Whether the failure is worth retrying, and Flux's message for it.
fn describe(error: &SendError, url: &str) -> (bool, String) {
    match error {
        SendError::Status { status, body, .. } => {
            let reason = StatusCode::from_u16(*status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or_default();
            let status_text = format!("{status} {reason}");
            let retryable = matches!(status, 404 | 408 | 429 | 500 | 502 | 503 | 504);
            let message = match body.trim() {
                "" => format!("request to {url} failed with status {status_text}"),
                body => format!("request to {url} failed with status {status_text}: {body}"),
            };
            (retryable, message)
        }
        SendError::Connect { detail, .. } => (true, format!("request to {url} failed: {detail}")),
        other => (false, other.to_string()),
    }
}

/// Go's `time.Duration` text (`10s`, `1m30s`, `500ms`).
fn format_go_duration(duration: Duration) -> String {
    tether_api::meta::Duration::from_std(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> TriggerReceiverArgs {
        let mut argv = vec![
            "tether",
            "trigger",
            "receiver",
            "app",
            "--url",
            "http://h/base/",
        ];
        argv.extend_from_slice(extra);
        let cli = crate::cli::Cli::try_parse_from(argv).expect("valid flags");
        match cli.command {
            crate::cli::Command::Trigger(TriggerCommand::Receiver(args)) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
        let found = request.headers.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_url_is_the_base_and_the_receivers_webhook_path() {
        let args = args(&["--token", "s3cret", "-n", "apps"]);
        validate(&args).expect("valid");
        let request = webhook_request(&args, &|| None).expect("a request");
        let path = webhook_path("s3cret", "app", "apps");
        assert_eq!(request.url, format!("http://h/base{path}"));
        assert_eq!(request.body, b"{}");
        assert_eq!(header(&request, "Content-Type"), Some("application/json"));
        assert_eq!(header(&request, "X-Signature"), None);
    }

    #[test]
    fn generic_hmac_signs_the_payload_with_the_token() {
        let args = args(&[
            "--type",
            "generic-hmac",
            "--token",
            "k",
            "--payload",
            r#"{"a":1}"#,
        ]);
        let request = webhook_request(&args, &|| None).expect("a request");
        let signature = header(&request, "X-Signature").expect("signed");
        let verified =
            tether_notify::receiver::signature::verify_prefixed(signature, br#"{"a":1}"#, "k");
        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn generic_oidc_salts_the_path_with_no_token_and_sends_a_bearer() {
        let args = args(&["--type", "generic-oidc", "--oidc-token", "jwt"]);
        validate(&args).expect("valid");
        let request = webhook_request(&args, &|| None).expect("a request");
        assert!(
            request
                .url
                .ends_with(&webhook_path("", "app", "flux-system"))
        );
        assert_eq!(header(&request, "Authorization"), Some("Bearer jwt"));
        let from_env = args_without_token();
        let request = webhook_request(&from_env, &|| Some("env-jwt".into())).expect("a request");
        assert_eq!(header(&request, "Authorization"), Some("Bearer env-jwt"));
        assert!(webhook_request(&from_env, &|| None).is_err());
    }

    fn args_without_token() -> TriggerReceiverArgs {
        args(&["--type", "generic-oidc"])
    }

    #[test]
    fn flag_combinations_are_checked_as_flux_does() {
        let message = |extra: &[&str]| validate(&args(extra)).err().map(|e| e.to_string());
        assert_eq!(
            message(&[]).as_deref(),
            Some("--token is required for --type=generic")
        );
        assert_eq!(
            message(&["--type", "github", "--token", "t"]).as_deref(),
            Some(r#"invalid --type "github", must be one of: generic, generic-hmac, generic-oidc"#)
        );
        assert!(message(&["--token", "t", "--oidc-token", "x"]).is_some());
        assert!(message(&["--type", "generic-oidc", "--token", "t"]).is_some());
        assert!(message(&["--type", "generic-oidc", "--oidc-audience", "a"]).is_some());
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |status: u16| SendError::Status {
            url: "u".into(),
            status,
            body: "no".into(),
        };
        let (retry, message) = describe(&status(404), "http://h/hook/x");
        assert!(retry);
        assert_eq!(
            message,
            "request to http://h/hook/x failed with status 404 Not Found: no"
        );
        assert!(!describe(&status(400), "u").0);
        assert!(describe(&status(503), "u").0);
        assert_eq!(format_go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_millis(500)), "500ms");
    }
}
