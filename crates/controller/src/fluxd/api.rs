//! fluxd's HTTP API as fluxctl 1.25 calls it (fluxcd/flux `pkg/http`): the same routes under
//! `/api/flux` and at the root. Errors are fluxd's JSON errors (`type`, `help`, `error`) when
//! the client accepts JSON, plain text otherwise; an unknown route is 404, a retired API
//! version 410, a malformed body 400.

use super::Daemon;
use super::wire::{
    ApiError, Change, Container, Fingerprint, GitConfig, GitRemote, ImageInfo, ImageStatus,
    PublicKey, UpdateSpec,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tether_workloads::{ResourceId, Workload};
use tokio_util::sync::CancellationToken;

type Shared = State<Arc<Daemon>>;
type Params = Query<HashMap<String, String>>;

/// Serves the API on `listener` until `shutdown`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    daemon: Arc<Daemon>,
    shutdown: CancellationToken,
) {
    let app = Router::new()
        .nest("/api/flux", routes())
        .merge(routes())
        .fallback(not_found)
        .with_state(daemon);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(error) = served {
        tracing::error!(component = "api", "API server failed: {error}");
    }
}

fn routes() -> Router<Arc<Daemon>> {
    let mut router = Router::new()
        .route("/v11/ping", get(|| async { StatusCode::NO_CONTENT }))
        .route("/v11/version", get(version))
        .route("/v11/notify", post(notify))
        .route("/v6/services", get(list_services))
        .route("/v11/services", get(list_services))
        .route("/v6/images", get(list_images))
        .route("/v10/images", get(list_images))
        .route("/v9/update-manifests", post(update_manifests))
        .route("/v6/jobs", get(job_status))
        .route("/v6/sync", get(sync_status))
        .route("/v9/git-repo-config", post(git_repo_config))
        .route("/v6/identity.pub", get(public_key))
        .route("/v6/export", get(export))
        .fallback(not_found);
    for version in ["v1", "v2", "v3", "v4", "v5"] {
        router = router.route(&format!("/{version}/{{*rest}}"), axum::routing::any(gone));
    }
    router
}

/// A JSON body as fluxd wrote it (`application/json; charset=utf-8`).
pub(crate) struct Json<T>(T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                body,
            )
                .into_response(),
            Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
        }
    }
}

/// An error response as fluxd wrote it.
struct Failure {
    code: StatusCode,
    kind: &'static str,
    message: String,
    wants_json: bool,
}

impl Failure {
    fn new(headers: &HeaderMap, code: StatusCode, message: impl Into<String>) -> Self {
        let kind = match code {
            StatusCode::NOT_FOUND => "missing",
            StatusCode::INTERNAL_SERVER_ERROR => "server",
            _ => "user",
        };
        let wants_json = headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
        Self {
            code,
            kind,
            message: message.into(),
            wants_json,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        if !self.wants_json {
            return (self.code, format!("{}\n", self.message)).into_response();
        }
        let body = ApiError {
            kind: self.kind,
            help: format!("Error: {}\n", self.message),
            error: self.message,
        };
        (self.code, Json(body)).into_response()
    }
}

async fn not_found(headers: HeaderMap, uri: Uri) -> Failure {
    let path = uri.path();
    Failure::new(
        &headers,
        StatusCode::NOT_FOUND,
        format!("API endpoint not found: {path} is not a route of the Flux v1 API (fluxctl 1.25)"),
    )
}

async fn gone(headers: HeaderMap) -> Failure {
    Failure::new(
        &headers,
        StatusCode::GONE,
        "this API version is deprecated; use a newer fluxctl",
    )
}

async fn version(State(daemon): Shared) -> Json<String> {
    Json(daemon.options.version.clone())
}

fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        Failure::new(
            headers,
            StatusCode::BAD_REQUEST,
            format!("malformed request body: {e}"),
        )
    })
}

async fn notify(
    State(daemon): Shared,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Failure> {
    let change: Change = parse_json(&headers, &body)?;
    match change.kind.as_str() {
        "git" => daemon.sync_now.notify_one(),
        "image" => {}
        other => {
            return Err(Failure::new(
                &headers,
                StatusCode::BAD_REQUEST,
                format!("unknown kind of change {other:?}"),
            ));
        }
    }
    Ok(StatusCode::ACCEPTED)
}

/// The namespaces a request may see: the one asked for (when allowed), else the allowed ones.
fn visible_namespaces(daemon: &Daemon, asked: Option<&str>) -> Option<BTreeSet<String>> {
    let allowed = &daemon.options.allowed_namespaces;
    match asked.filter(|n| !n.is_empty()) {
        Some(ns) if allowed.is_empty() || allowed.contains(ns) => {
            Some(BTreeSet::from([ns.to_owned()]))
        }
        Some(_) => None,
        None => Some(allowed.clone()),
    }
}

async fn list_services(
    State(daemon): Shared,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let Some(namespaces) = visible_namespaces(&daemon, params.get("namespace").map(String::as_str))
    else {
        return Ok(Json(Vec::<()>::new()).into_response());
    };
    let wanted = selected_ids(&headers, params.get("services"))?;
    let in_git = tether_fluxv1::read_workloads(&daemon.repository()).await;
    let read_only = in_git.is_err();
    let in_git = in_git.unwrap_or_default();
    let mut listed = super::workloads::list_live(&daemon.client, &namespaces, &in_git)
        .await
        .map_err(|e| Failure::new(&headers, StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    listed.retain(|w| wanted.as_ref().is_none_or(|ids| ids.contains(&w.id)));
    if read_only {
        for workload in &mut listed {
            workload.read_only = "NoRepo".into();
        }
    }
    Ok(Json(listed).into_response())
}

fn selected_ids(
    headers: &HeaderMap,
    services: Option<&String>,
) -> Result<Option<BTreeSet<String>>, Failure> {
    let Some(services) = services.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    services
        .split(',')
        .map(|s| {
            s.parse::<ResourceId>()
                .map(|id| id.to_string())
                .map_err(|e| {
                    Failure::new(
                        headers,
                        StatusCode::BAD_REQUEST,
                        format!("parsing service spec {s:?}: {e}"),
                    )
                })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

async fn list_images(
    State(daemon): Shared,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Json<Vec<ImageStatus>>, Failure> {
    let service = params.get("service").map_or("<all>", String::as_str);
    let service = if service.is_empty() { "<all>" } else { service };
    let wanted = if service == "<all>" {
        None
    } else {
        selected_ids(&headers, Some(&service.to_owned()))?
    };
    let namespaces = visible_namespaces(&daemon, params.get("namespace").map(String::as_str));
    let workloads = tether_fluxv1::read_workloads(&daemon.repository())
        .await
        .map_err(|e| Failure::new(&headers, StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let shown: Vec<Workload> = workloads
        .into_iter()
        .filter(|w| {
            wanted
                .as_ref()
                .is_none_or(|ids| ids.contains(&w.id.to_string()))
        })
        .filter(|w| {
            namespaces
                .as_ref()
                .is_some_and(|ns| ns.is_empty() || ns.contains(w.id.namespace()))
        })
        .collect();
    let images = tether_fluxv1::list_images(&shown, &daemon.scanner).await;
    Ok(Json(images.iter().map(image_status).collect()))
}

fn image_status(images: &tether_fluxv1::WorkloadImages) -> ImageStatus {
    let containers = images
        .containers
        .iter()
        .map(|c| {
            let info = |tag: &tether_fluxv1::AvailableTag| ImageInfo {
                id: format!("{}:{}", c.repository, tag.tag),
                created_at: tag.created.map(|t| t.to_rfc3339()),
            };
            let mut container = Container {
                name: c.container.clone(),
                current: ImageInfo {
                    id: c.image.clone(),
                    created_at: None,
                },
                ..Container::default()
            };
            match &c.available {
                Ok(tags) => {
                    container.available = tags.iter().map(info).collect();
                    container.latest_filtered = tags.first().map(info);
                    container.available_images_count = tags.len();
                    container.filtered_images_count = tags.len();
                    let newer = tags.iter().take_while(|t| !t.current).count();
                    container.new_available_images_count = newer;
                    container.new_filtered_images_count = newer;
                }
                Err(error) => container.available_error = error.to_string(),
            }
            container
        })
        .collect();
    ImageStatus {
        id: images.workload.to_string(),
        containers,
    }
}

async fn update_manifests(
    State(daemon): Shared,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<String>, Failure> {
    let spec: UpdateSpec = parse_json(&headers, &body)?;
    if !matches!(
        spec.kind.as_str(),
        "image" | "policy" | "sync" | "containers" | "auto"
    ) {
        return Err(Failure::new(
            &headers,
            StatusCode::BAD_REQUEST,
            format!("unknown spec type: {}", spec.kind),
        ));
    }
    Ok(Json(daemon.jobs.enqueue(spec)))
}

async fn job_status(
    State(daemon): Shared,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Json<super::wire::JobStatus>, Failure> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    daemon.jobs.status(id).map(Json).ok_or_else(|| {
        Failure::new(
            &headers,
            StatusCode::NOT_FOUND,
            format!("unknown job {id:?}"),
        )
    })
}

/// The commits of `ref` not yet applied (`git rev-list <sync tag>..<ref> -- <paths>`): empty
/// once it is.
async fn sync_status(
    State(daemon): Shared,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Json<Vec<String>>, Failure> {
    let reference = params.get("ref").cloned().unwrap_or_default();
    if reference.is_empty() {
        return Err(Failure::new(
            &headers,
            StatusCode::BAD_REQUEST,
            "ref is required",
        ));
    }
    daemon
        .unsynced_commits(&reference)
        .await
        .map(Json)
        .map_err(|error| {
            Failure::new(
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                error.to_string(),
            )
        })
}

fn public_key_of(daemon: &Daemon) -> PublicKey {
    let key = daemon.key();
    let fingerprint = |hash: String| Fingerprint {
        hash,
        randomart: String::new(),
    };
    PublicKey {
        key: format!("{}\n", key.public_line.trim()),
        fingerprints: BTreeMap::from([
            ("md5".to_owned(), fingerprint(key.md5_fingerprint())),
            ("sha256".to_owned(), fingerprint(key.sha256_fingerprint())),
        ]),
    }
}

async fn git_repo_config(
    State(daemon): Shared,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<GitConfig>, Failure> {
    let regenerate: bool = if body.is_empty() {
        false
    } else {
        parse_json(&headers, &body)?
    };
    if regenerate {
        daemon.regenerate_key().await.map_err(|error| {
            Failure::new(
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                error.to_string(),
            )
        })?;
    }
    let state = daemon.repo_state();
    let options = &daemon.options;
    Ok(Json(GitConfig {
        remote: GitRemote {
            url: super::gc::safe_url(&options.git_url),
            branch: options.git_branch.clone(),
            path: options.git_paths.join(","),
        },
        public_ssh_key: public_key_of(&daemon),
        status: state.status.to_owned(),
        errors: state.error,
    }))
}

/// `fluxctl save`: the YAML of the allowed namespaces and their workloads, as a JSON string of
/// base64 (Go's encoding of the `[]byte` fluxd answered with).
async fn export(State(daemon): Shared, headers: HeaderMap) -> Result<Json<String>, Failure> {
    use base64::Engine;
    let yaml = super::workloads::export(&daemon.client, &daemon.options.allowed_namespaces)
        .await
        .map_err(|e| Failure::new(&headers, StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(
        base64::engine::general_purpose::STANDARD.encode(yaml.as_bytes()),
    ))
}

async fn public_key(State(daemon): Shared) -> Json<PublicKey> {
    Json(public_key_of(&daemon))
}
