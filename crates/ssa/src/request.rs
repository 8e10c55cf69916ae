//! The few API requests the verbs send, on raw JSON: get, server-side apply (optionally dry-run,
//! or telling created from configured by the HTTP status), JSON patch and delete of one object,
//! plus [`RequestError`], the part of a failed request that decides what happens next (not
//! found, immutable field) and goes into messages.

use http::header::{CONTENT_TYPE, HeaderValue};
use kube::Client;
use kube::api::{DeleteParams, GetParams, Patch, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, DynamicObject, Request, Resource};
use serde_json::Value;
use tether_core::object::ObjectRef;

/// A failed API request: HTTP code, Kubernetes reason and message (0 and empty for failures
/// that never reached the API server).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    /// HTTP status code, 0 when the request got no response.
    pub code: u16,
    /// The Kubernetes `Status.reason`, e.g. `Invalid`, `NotFound`.
    pub reason: String,
    /// The API server's message, or the transport error.
    pub message: String,
}

impl RequestError {
    /// Reduces a client error to its status, or to its text when there is no status.
    pub fn from_kube(error: &kube::Error) -> Self {
        match error {
            kube::Error::Api(status) => Self {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => Self {
                code: 0,
                reason: String::new(),
                message: other.to_string(),
            },
        }
    }

    /// Whether the object (or its namespace) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code == 404
    }

    /// Whether the error may come from changing an immutable field, detected as kubectl and
    /// Flux do: any Conflict or Invalid, or a message saying a field is immutable (CEL rules
    /// and admission webhooks). Invalid errors that are not about immutability match too; a
    /// forced recreate of such an object fails again at the apply.
    pub fn is_immutable(&self) -> bool {
        self.code == 409
            || self.reason == "Invalid"
            || self.reason == "Conflict"
            || self.message.contains("is immutable")
            || self.message.contains("immutable field")
    }
}

/// The text of a client error: the API server's message when there is one.
pub(crate) fn describe(error: &kube::Error) -> String {
    RequestError::from_kube(error).message
}

/// Where an object is served: its reference and REST resource.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub object: ObjectRef,
    pub resource: ApiResource,
}

impl Target {
    fn request(&self) -> Request {
        let namespace = Some(self.object.namespace.as_str()).filter(|ns| !ns.is_empty());
        Request::new(DynamicObject::url_path(&self.resource, namespace))
    }
}

/// The object, or `None` when it does not exist.
pub(crate) async fn get(client: &Client, target: &Target) -> Result<Option<Value>, RequestError> {
    let request = target
        .request()
        .get(&target.object.name, &GetParams::default())
        .map_err(build_error)?;
    match client.request::<Value>(request).await {
        Ok(object) => Ok(Some(object)),
        Err(e) => {
            let error = RequestError::from_kube(&e);
            if error.is_not_found() {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

/// Server-side apply of `body` with force for `manager`; `dry_run` asks the server to compute
/// the result without persisting it. Returns the (would-be) object.
pub(crate) async fn server_side_apply(
    client: &Client,
    target: &Target,
    body: &Value,
    manager: &str,
    dry_run: bool,
) -> Result<Value, RequestError> {
    let request = apply_request(target, body, manager, dry_run)?;
    send(client, request).await
}

/// What a persisted apply answered.
pub(crate) struct Applied {
    /// Whether the object was created (201 Created) rather than updated (200 OK).
    pub created: bool,
    /// The object's new `resourceVersion`; empty if the answer did not carry one.
    pub resource_version: String,
    /// The whole object as the apply left it, when asked for.
    pub object: Option<Value>,
}

/// Server-side apply of `body` with force for `manager`, persisted. Of the answer, only the
/// status and the `resourceVersion` are read, unless `whole` asks for the whole object.
pub(crate) async fn server_side_apply_created(
    client: &Client,
    target: &Target,
    body: &Value,
    manager: &str,
    whole: bool,
) -> Result<Applied, RequestError> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Meta {
        #[serde(default)]
        resource_version: String,
    }
    #[derive(serde::Deserialize, Default)]
    struct Answer {
        #[serde(default)]
        metadata: Meta,
    }
    let request = apply_request(target, body, manager, false)?;
    let response = client
        .send(request.map(kube::client::Body::from))
        .await
        .map_err(|e| RequestError::from_kube(&e))?;
    let status = response.status();
    let text = response
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| RequestError::from_kube(&e))?;
    if status.is_success() {
        let created = status == http::StatusCode::CREATED;
        if whole && let Ok(object) = serde_json::from_slice::<Value>(&text) {
            return Ok(Applied {
                created,
                resource_version: crate::metadata::meta_str(&object, "resourceVersion").to_owned(),
                object: Some(object),
            });
        }
        let answer: Answer = serde_json::from_slice(&text).unwrap_or_default();
        return Ok(Applied {
            created,
            resource_version: answer.metadata.resource_version,
            object: None,
        });
    }
    Err(error_of_response(status, &text))
}

fn apply_request(
    target: &Target,
    body: &Value,
    manager: &str,
    dry_run: bool,
) -> Result<http::Request<Vec<u8>>, RequestError> {
    let params = PatchParams {
        dry_run,
        force: true,
        field_manager: Some(manager.to_owned()),
        field_validation: None,
    };
    target
        .request()
        .patch(&target.object.name, &params, &Patch::Apply(body))
        .map_err(build_error)
}

/// The error of a failed response: its `Status` when the body is one, else its text.
fn error_of_response(status: http::StatusCode, body: &[u8]) -> RequestError {
    match serde_json::from_slice::<kube::core::Status>(body) {
        Ok(parsed) => RequestError {
            code: if parsed.code == 0 {
                status.as_u16()
            } else {
                parsed.code
            },
            reason: parsed.reason,
            message: parsed.message,
        },
        Err(_) => RequestError {
            code: status.as_u16(),
            reason: String::new(),
            message: String::from_utf8_lossy(body).trim().to_owned(),
        },
    }
}

/// An RFC 6902 JSON patch sent as `manager`.
pub(crate) async fn json_patch(
    client: &Client,
    target: &Target,
    patch: &Value,
    manager: &str,
) -> Result<Value, RequestError> {
    let params = PatchParams {
        field_manager: Some(manager.to_owned()),
        ..PatchParams::default()
    };
    let mut request = target
        .request()
        .patch(&target.object.name, &params, &Patch::Merge(patch))
        .map_err(build_error)?;
    request.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json-patch+json"),
    );
    send(client, request).await
}

/// Deletes the object; `Ok(false)` when it was already gone.
pub(crate) async fn delete(
    client: &Client,
    target: &Target,
    propagation: PropagationPolicy,
) -> Result<bool, RequestError> {
    let params = DeleteParams {
        propagation_policy: Some(propagation),
        ..DeleteParams::default()
    };
    let request = target
        .request()
        .delete(&target.object.name, &params)
        .map_err(build_error)?;
    match send(client, request).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

async fn send(client: &Client, request: http::Request<Vec<u8>>) -> Result<Value, RequestError> {
    client
        .request::<Value>(request)
        .await
        .map_err(|e| RequestError::from_kube(&e))
}

fn build_error(error: kube::core::request::Error) -> RequestError {
    RequestError {
        code: 0,
        reason: String::new(),
        message: format!("cannot build request: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: u16, reason: &str, message: &str) -> RequestError {
        RequestError {
            code,
            reason: reason.into(),
            message: message.into(),
        }
    }

    #[test]
    fn immutable_errors_are_recognised_like_kubectl() {
        assert!(
            err(
                422,
                "Invalid",
                "spec.clusterIPs[0]: may not change once set"
            )
            .is_immutable()
        );
        assert!(err(409, "Conflict", "x").is_immutable());
        assert!(err(500, "", "admission webhook: field is immutable").is_immutable());
        assert!(err(400, "BadRequest", "uses an immutable field").is_immutable());
        assert!(!err(400, "BadRequest", "json: cannot unmarshal").is_immutable());
        assert!(!err(404, "NotFound", "x").is_immutable());
        assert!(err(404, "NotFound", "x").is_not_found());
    }

    #[test]
    fn failed_responses_keep_the_status_or_the_text() {
        let status = br#"{"kind":"Status","status":"Failure","code":422,"reason":"Invalid",
            "message":"Deployment.apps \"web\" is invalid"}"#;
        let error = error_of_response(http::StatusCode::UNPROCESSABLE_ENTITY, status);
        assert_eq!(
            error,
            err(422, "Invalid", "Deployment.apps \"web\" is invalid")
        );
        let error = error_of_response(http::StatusCode::BAD_GATEWAY, b" upstream down\n");
        assert_eq!(error, err(502, "", "upstream down"));
    }
}
