//! A smart-HTTP git server on 127.0.0.1: axum checks `Authorization: Basic` against one
//! configured account and hands authenticated requests to `git http-backend` as a CGI program,
//! streaming the request body into it and its output back. Fetch and push both work.

use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use futures::StreamExt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const HTTP_BACKEND: &str = "/usr/lib/git-core/git-http-backend";

/// A running smart-HTTP server; stopped when dropped.
pub struct HttpGitServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Config {
    project_root: PathBuf,
    username: String,
    password: String,
}

impl HttpGitServer {
    /// Serves every repository under `project_root` to requests authenticated as
    /// `username`/`password`. Runs on its own thread and runtime, so it works from sync and
    /// async tests alike.
    pub fn start(project_root: &Path, username: &str, password: &str) -> anyhow::Result<Self> {
        let config = Arc::new(Config {
            project_root: project_root.to_path_buf(),
            username: username.to_owned(),
            password: password.to_owned(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (shutdown, on_shutdown) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("git-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = Router::new().fallback(serve_git).with_state(config);
                    let server = axum::serve(listener, app).with_graceful_shutdown(async {
                        let _ = on_shutdown.await;
                    });
                    if let Err(error) = server.await {
                        tracing::warn!(%error, "git http server stopped");
                    }
                });
            })?;
        Ok(Self {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of repository `<name>.git` under the project root, without credentials.
    pub fn repo_url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.base_url())
    }

    /// Like [`Self::repo_url`] with `user:password@` in it, for the `git` CLI.
    pub fn repo_url_with_credentials(&self, name: &str, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}/{name}.git", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve_git(State(config): State<Arc<Config>>, request: Request) -> Response {
    let Some(user) = authenticated_user(&config, request.headers()) else {
        return unauthorized();
    };
    match run_backend(&config, &user, request).await {
        Ok(response) => response,
        Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    }
}

fn authenticated_user(config: &Config, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (user == config.username && password == config.password).then(|| user.to_owned())
}

fn unauthorized() -> Response {
    let mut response = plain(StatusCode::UNAUTHORIZED, "authentication required".into());
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"tether-test\""),
    );
    response
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

async fn run_backend(config: &Config, user: &str, request: Request) -> anyhow::Result<Response> {
    let (parts, body) = request.into_parts();
    let header_str = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut command = Command::new(HTTP_BACKEND);
    command
        .env_clear()
        .env("GIT_PROJECT_ROOT", &config.project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("CONTENT_TYPE", header_str("content-type"))
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("GIT_PROTOCOL", header_str("git-protocol"))
        .env("HTTP_GIT_PROTOCOL", header_str("git-protocol"))
        .env("HTTP_CONTENT_ENCODING", header_str("content-encoding"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let content_length = header_str("content-length");
    if !content_length.is_empty() {
        command.env("CONTENT_LENGTH", content_length);
    }
    let mut child = command.spawn().context("spawning git http-backend")?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    let stdout = child.stdout.take().context("no stdout")?;
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        while let Some(Ok(chunk)) = stream.next().await {
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(stdout);
    let mut response = read_cgi_head(&mut reader).await?;
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    *response.body_mut() = Body::from_stream(stream_reader(reader));
    Ok(response)
}

/// Reads CGI headers up to the blank line; `Status:` becomes the response status.
async fn read_cgi_head<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> anyhow::Result<Response> {
    let mut response = Response::new(Body::empty());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            anyhow::bail!("git http-backend ended before its headers were complete");
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(response);
        }
        let Some((name, value)) = line.split_once(':') else {
            anyhow::bail!("malformed CGI header line {line:?}");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or_default();
            *response.status_mut() = StatusCode::from_bytes(code.as_bytes())?;
        } else {
            response.headers_mut().append(
                header::HeaderName::from_bytes(name.as_bytes())?,
                HeaderValue::from_str(value)?,
            );
        }
    }
}

fn stream_reader<R: AsyncRead + Unpin + Send + 'static>(
    reader: R,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send {
    futures::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(reader)))
            }
            Err(error) => Some((Err(error), None)),
        }
    })
}
