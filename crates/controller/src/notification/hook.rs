//! The Receiver webhook server (`--receiver-addr`), as notification-controller serves it:
//! `POST /hook/<digest>` finds the Receiver whose `status.webhookPath` is the request path
//! (`404` if none), answers `503` while it is suspended or not Ready, verifies the call with
//! `tether_notify::verify` against the Secret's token (the verdict's status on refusal, and
//! nothing annotated; generic-oidc and gcr callers by their signed token, `super::oidc` and
//! `tether_notify::receiver::verify_gcr`), then sets `reconcile.fluxcd.io/requestedAt` on every target of
//! `spec.resources` (names, or `*` with `matchLabels`) that the CEL filters accept
//! (`super::filter`): `200`, or `500` if any target failed.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::Store;
use std::sync::Arc;
use tether_api::meta::RECONCILE_REQUEST_ANNOTATION;
use tether_api::meta::conditions::{READY, is_true};
use tether_api::notification::v1::{Receiver, ReceiverResource, ReceiverType};
use tether_notify::receiver::gcr::{GcrIdentity, GoogleKeys};
use tether_notify::receiver::{MAX_BODY_BYTES, check_body_size, verify_gcr};
use tether_notify::{Headers, ReceiverConfig, Verdict, verify};

use super::filter::{self, Filters};

/// What the webhook handler reads.
pub struct Hooks {
    pub client: kube::Client,
    pub receivers: Store<Receiver>,
    /// Targets in another namespace than the Receiver's are refused.
    pub no_cross_namespace_refs: bool,
    /// Fetches OIDC discovery documents and key sets (generic-oidc, gcr).
    pub http: reqwest::Client,
    /// Where Google's ID token keys are (gcr).
    pub google_keys: GoogleKeys,
}

/// The routes of the receiver server.
pub fn receiver_routes(hooks: Arc<Hooks>) -> Router {
    Router::new()
        .route("/hook/{digest}", post(handle_hook))
        // One more byte than the limit reaches the handler, which answers 413 as Flux does.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
        .with_state(hooks)
}

/// Why a target could not be asked to reconcile.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    #[error("cross-namespace references are not allowed")]
    CrossNamespace,
    #[error("apiVersion must be specified for kind \"{0}\"")]
    NoApiVersion(String),
    #[error("matchLabels field not set when using wildcard '*' as name")]
    WildcardWithoutLabels,
    #[error("unable to annotate {kind} '{namespace}/{name}': {source}")]
    Patch {
        kind: String,
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("failed listing {kind} resources in namespace '{namespace}': {source}")]
    List {
        kind: String,
        namespace: String,
        source: kube::Error,
    },
    #[error("unable to read {kind} \"{namespace}/{name}\" error: {source}")]
    Read {
        kind: String,
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("unable to filter {kind} '{namespace}/{name}': {source}")]
    Judge {
        kind: String,
        namespace: String,
        name: String,
        source: filter::JudgeError,
    },
    #[error(transparent)]
    Filter(#[from] filter::FilterError),
}

fn judge_error(
    target: &Target<'_>,
    metadata: &kube::api::ObjectMeta,
    source: filter::JudgeError,
) -> AnnotateError {
    AnnotateError::Judge {
        kind: target.resource.kind.clone(),
        namespace: metadata.namespace.clone().unwrap_or_default(),
        name: metadata.name.clone().unwrap_or_default(),
        source,
    }
}

async fn handle_hook(
    State(hooks): State<Arc<Hooks>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri.path();
    let Some(receiver) = hooks
        .receivers
        .find(|r| r.status.as_ref().and_then(|s| s.webhook_path.as_deref()) == Some(path))
    else {
        return StatusCode::NOT_FOUND;
    };
    let name = receiver.name_any();
    let namespace = receiver.namespace().unwrap_or_default();
    let ready = receiver
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .is_some_and(|c| is_true(c, READY));
    if receiver.spec.is_suspended() || !ready {
        tracing::warn!(receiver = %name, %namespace, "receiver is suspended or not ready");
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let claims = match verify_call(&hooks, &receiver, &headers, &body).await {
        Ok(claims) => claims,
        Err(status) => return status,
    };
    let request = match request_variable(&receiver, &headers, &body) {
        Ok(request) => request,
        Err(error) => {
            tracing::warn!(receiver = %name, %namespace, %error, "unable to create resource filters");
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    };
    let mut failed = false;
    for resource in &receiver.spec.resources {
        let target = Target {
            resource,
            receiver_namespace: &namespace,
            no_cross_namespace_refs: hooks.no_cross_namespace_refs,
        };
        let filters = Filters::for_resource(&receiver, resource, &request, claims.as_ref());
        let result = match filters {
            Ok(filters) => request_reconcile(&hooks.client, &target, filters.as_ref()).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = result {
            tracing::warn!(receiver = %name, %namespace, %error, "unable to request reconciliation");
            failed = true;
        }
    }
    if failed {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// `req` for the filters: the body (for gcr, the GCR event it carries) when the Receiver has
/// filters and it is JSON.
fn request_variable(
    receiver: &Receiver,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, filter::FilterError> {
    if !filter::has_filters(receiver) {
        return Ok(serde_json::Value::Null);
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if receiver.spec.receiver_type == ReceiverType::Gcr {
        // Verified already, so the push decodes: its GCR event is what the filters read.
        let event = tether_notify::receiver::gcr_event(body).unwrap_or_default();
        return filter::request_variable(content_type, &event);
    }
    filter::request_variable(content_type, body)
}

/// Reads the Secret and verifies the call; the verified claims of a generic-oidc caller, or
/// the refusal's status.
async fn verify_call(
    hooks: &Hooks,
    receiver: &Receiver,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<serde_json::Value>, StatusCode> {
    let name = receiver.name_any();
    let namespace = receiver.namespace().unwrap_or_default();
    if let Err(verdict) = check_body_size(body.len()) {
        return Err(refused(&name, &namespace, verdict));
    }
    let secret = match &receiver.spec.secret_ref {
        None => None,
        Some(secret) => Some(
            crate::secrets::secret_data(&hooks.client, &namespace, &secret.name)
                .await
                .map_err(|_| {
                    tracing::warn!(receiver = %name, %namespace, "unable to read secret");
                    StatusCode::BAD_REQUEST
                })?,
        ),
    };
    let token = match &secret {
        None => String::new(),
        Some(data) => data
            .get("token")
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .ok_or_else(|| {
                tracing::warn!(receiver = %name, %namespace, "secret has no 'token'");
                StatusCode::BAD_REQUEST
            })?,
    };
    let headers = Headers::new(headers.iter().map(|(k, v)| {
        (
            k.as_str(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    }));
    let events = receiver.spec.events.clone().unwrap_or_default();
    let verdict = match receiver.spec.receiver_type {
        ReceiverType::GenericOidc => {
            let providers = receiver.spec.oidc_providers.as_deref().unwrap_or_default();
            match super::oidc::authenticate(&hooks.http, providers, headers.get("Authorization"))
                .await
            {
                Ok(claims) => {
                    tracing::info!(receiver = %name, %namespace, "handling generic-oidc call");
                    return Ok(Some(claims));
                }
                Err(reason) => Verdict::Refuse {
                    status: 400,
                    reason,
                },
            }
        }
        ReceiverType::Gcr => {
            let field = |key: &str| {
                secret
                    .as_ref()
                    .and_then(|data| data.get(key))
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default()
            };
            let (email, audience) = (field("email"), field("audience"));
            let identity = GcrIdentity {
                email: &email,
                audience: &audience,
            };
            verify_gcr(&hooks.http, &hooks.google_keys, &headers, body, identity).await
        }
        receiver_type => {
            let config = ReceiverConfig {
                receiver_type,
                events: &events,
                token: &token,
            };
            verify(config, &headers, body)
        }
    };
    match verdict {
        Verdict::Accept { event } => {
            tracing::info!(receiver = %name, %namespace, ?event, "handling webhook");
            Ok(None)
        }
        refusal => Err(refused(&name, &namespace, refusal)),
    }
}

/// Logs a refusal (the reason never holds the token) and gives its status.
fn refused(name: &str, namespace: &str, verdict: Verdict) -> StatusCode {
    if let Verdict::Refuse { reason, .. } = &verdict {
        tracing::warn!(receiver = %name, %namespace, %reason, "webhook refused");
    }
    StatusCode::from_u16(verdict.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// The API version of a target: its own, or Flux's default for the kind.
fn api_version_of(resource: &ReceiverResource) -> Option<String> {
    if let Some(version) = resource.api_version.as_deref().filter(|v| !v.is_empty()) {
        return Some(version.to_owned());
    }
    let default = match resource.kind.as_str() {
        "Bucket" | "HelmChart" | "HelmRepository" | "GitRepository" | "OCIRepository" => {
            "source.toolkit.fluxcd.io/v1"
        }
        "ImageRepository" => "image.toolkit.fluxcd.io/v1",
        "ArtifactGenerator" => "source.extensions.fluxcd.io/v1beta1",
        _ => return None,
    };
    Some(default.to_owned())
}

/// One entry of a Receiver's `spec.resources`, and where it may reach.
struct Target<'a> {
    resource: &'a ReceiverResource,
    receiver_namespace: &'a str,
    no_cross_namespace_refs: bool,
}

impl Target<'_> {
    /// The target's namespace (the Receiver's unless it names one); `None` when it is
    /// another and cross-namespace references are blocked.
    fn namespace(&self) -> Option<&str> {
        match self.resource.namespace.as_deref().filter(|n| !n.is_empty()) {
            None => Some(self.receiver_namespace),
            Some(other) if self.no_cross_namespace_refs && other != self.receiver_namespace => None,
            Some(namespace) => Some(namespace),
        }
    }
}

/// Annotates the target(s) of a resource entry that `filters` accept, in its namespace or the
/// Receiver's.
async fn request_reconcile(
    client: &kube::Client,
    target: &Target<'_>,
    filters: Option<&Filters<'_>>,
) -> Result<(), AnnotateError> {
    let resource = target.resource;
    let namespace = target.namespace().ok_or(AnnotateError::CrossNamespace)?;
    let api_version = api_version_of(resource)
        .ok_or_else(|| AnnotateError::NoApiVersion(resource.kind.clone()))?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    let gvk = GroupVersionKind::gvk(group, version, &resource.kind);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk));
    let judge = |metadata: &kube::api::ObjectMeta| {
        let Some(filters) = filters else {
            return Ok(true);
        };
        let accepted = filters.accept_object(&api_version, &resource.kind, metadata);
        if accepted.as_ref().is_ok_and(|a| !a) {
            tracing::debug!(kind = %resource.kind, namespace, name = ?metadata.name, "resource NOT annotated because CEL expression returned false");
        }
        accepted
    };
    if resource.name != "*" {
        if filters.is_some() {
            let found =
                api.get_metadata(&resource.name)
                    .await
                    .map_err(|source| AnnotateError::Read {
                        kind: resource.kind.clone(),
                        namespace: namespace.to_owned(),
                        name: resource.name.clone(),
                        source,
                    })?;
            if !judge(&found.metadata).map_err(|e| judge_error(target, &found.metadata, e))? {
                return Ok(());
            }
        }
        return annotate(&api, &resource.kind, namespace, &resource.name).await;
    }
    let labels = resource
        .match_labels
        .as_ref()
        .ok_or(AnnotateError::WildcardWithoutLabels)?;
    let selector = labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let found = api
        .list_metadata(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| AnnotateError::List {
            kind: resource.kind.clone(),
            namespace: namespace.to_owned(),
            source,
        })?;
    if found.items.is_empty() {
        tracing::warn!(kind = %resource.kind, namespace, selector, "no resources found with matching labels");
    }
    for object in found.items {
        if judge(&object.metadata).map_err(|e| judge_error(target, &object.metadata, e))? {
            annotate(&api, &resource.kind, namespace, &object.name_any()).await?;
        }
    }
    Ok(())
}

/// Sets `requestedAt` to now, written as Go's `metav1.Now().String()` writes it.
async fn annotate(
    api: &Api<DynamicObject>,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<(), AnnotateError> {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC");
    let patch = serde_json::json!({
        "metadata": {"annotations": {RECONCILE_REQUEST_ANNOTATION: now.to_string()}}
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| AnnotateError::Patch {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        })?;
    tracing::info!(kind, namespace, name, "resource annotated");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: &str, api_version: Option<&str>) -> ReceiverResource {
        ReceiverResource {
            kind: kind.to_owned(),
            name: "app".to_owned(),
            api_version: api_version.map(str::to_owned),
            ..ReceiverResource::default()
        }
    }

    #[test]
    fn source_kinds_default_their_api_version_and_others_need_one() {
        assert_eq!(
            api_version_of(&resource("GitRepository", None)).as_deref(),
            Some("source.toolkit.fluxcd.io/v1")
        );
        assert_eq!(api_version_of(&resource("Kustomization", None)), None);
        assert_eq!(
            api_version_of(&resource(
                "Kustomization",
                Some("kustomize.toolkit.fluxcd.io/v1")
            ))
            .as_deref(),
            Some("kustomize.toolkit.fluxcd.io/v1")
        );
    }

    #[test]
    fn cross_namespace_targets_are_refused_only_when_blocked() {
        let in_namespace = |namespace: Option<&str>| ReceiverResource {
            namespace: namespace.map(str::to_owned),
            ..resource("GitRepository", None)
        };
        let namespace_of = |resource: &ReceiverResource, blocked| {
            let target = Target {
                resource,
                receiver_namespace: "apps",
                no_cross_namespace_refs: blocked,
            };
            target.namespace().map(str::to_owned)
        };
        let elsewhere = in_namespace(Some("other"));
        assert_eq!(namespace_of(&elsewhere, false).as_deref(), Some("other"));
        assert_eq!(namespace_of(&elsewhere, true), None);
        assert_eq!(
            namespace_of(&in_namespace(None), true).as_deref(),
            Some("apps")
        );
        let same = in_namespace(Some("apps"));
        assert_eq!(namespace_of(&same, true).as_deref(), Some("apps"));
    }

    #[test]
    fn flux_kinds_map_to_their_plural_resources() {
        let plural =
            |kind: &str| ApiResource::from_gvk(&GroupVersionKind::gvk("g", "v1", kind)).plural;
        assert_eq!(plural("GitRepository"), "gitrepositories");
        assert_eq!(plural("ImagePolicy"), "imagepolicies");
        assert_eq!(plural("Kustomization"), "kustomizations");
    }
}
