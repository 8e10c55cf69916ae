//! The artifact storage served over HTTP, as source-controller serves it: `GET` (and `HEAD`) of
//! `/<kind>/<namespace>/<name>/<file>` answers the file `status.artifact.url` advertises, so the
//! Flux CLI, other controllers and people can download artifacts. Only regular files below the
//! storage root are served: a path with an empty, `.`, `..` or hidden segment (work directories
//! such as `.checkout-*` live beside the artifacts) or that names a symlink is not found, and
//! nothing is listed.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Routes serving the files under `root`.
pub fn artifact_routes(root: PathBuf) -> Router {
    Router::new()
        .fallback(serve_artifact)
        .with_state(Arc::new(root))
}

async fn serve_artifact(State(root): State<Arc<PathBuf>>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(path) = file_below(&root, request.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The file must be a regular file itself: a symlink could point anywhere.
    let size = match tokio::fs::symlink_metadata(&path).await {
        Ok(meta) if meta.file_type().is_file() => meta.len(),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let headers = [
        (header::CONTENT_TYPE, content_type(&path).to_owned()),
        (header::CONTENT_LENGTH, size.to_string()),
    ];
    if request.method() == Method::HEAD {
        return (headers, Body::empty()).into_response();
    }
    match tokio::fs::File::open(&path).await {
        Ok(file) => (
            headers,
            Body::from_stream(tokio_util::io::ReaderStream::new(file)),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "cannot open artifact");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

/// The file `url_path` names below `root`, or `None` when any segment could leave the root,
/// is hidden or is empty (percent-encoded separators and dots are decoded before the check).
fn file_below(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let mut segments = 0;
    for raw in url_path.trim_start_matches('/').split('/') {
        let segment = percent_decode(raw)?;
        if segment.is_empty() || segment.starts_with('.') || segment.contains(['/', '\\', '\0']) {
            return None;
        }
        path.push(segment);
        segments += 1;
    }
    (segments > 0).then_some(path)
}

/// `%XX` escapes decoded; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        "application/x-gzip"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_stay_below_the_root() {
        let root = Path::new("/storage");
        assert_eq!(
            file_below(root, "/gitrepository/ns/app/abc.tar.gz"),
            Some(PathBuf::from("/storage/gitrepository/ns/app/abc.tar.gz"))
        );
        for escaping in [
            "/gitrepository/../../etc/passwd",
            "/gitrepository/%2e%2e/%2E%2E/etc/passwd",
            "/gitrepository/ns%2f..%2f..%2fetc/passwd",
            "/.checkout-x/secret",
            "/gitrepository//app",
            "/",
            "/bad%zz",
        ] {
            assert_eq!(file_below(root, escaping), None, "{escaping}");
        }
    }
}
