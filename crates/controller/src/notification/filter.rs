//! Receiver CEL filters, as notification-controller v1.9 evaluates them: the Receiver's
//! `resourceFilter` and each entry's `resources[].filter` stack (an object is asked to
//! reconcile only when every one of them is true). Each is compiled with the variables `res`
//! (the object's metadata: `apiVersion`, `kind`, `metadata`) and `req` (the request body when
//! it is JSON, else an empty map); a body that claims JSON but does not parse fails the call.
//! A generic-oidc Receiver's filters also see `claims`, the verified token's claims.

use serde_json::{Map, Value};
use tether_api::notification::v1::{Receiver, ReceiverResource, ReceiverType};
use tether_cel::{CelError, Expression};

/// The variables a filter may use.
const VARIABLES: &[&str] = &["res", "req"];
/// The variables a generic-oidc Receiver's filter may use.
const OIDC_VARIABLES: &[&str] = &["res", "req", "claims"];

/// The variables `receiver`'s filters may use.
fn variables_of(receiver: &Receiver) -> &'static [&'static str] {
    if receiver.spec.receiver_type == ReceiverType::GenericOidc {
        OIDC_VARIABLES
    } else {
        VARIABLES
    }
}

/// Why the filters of a call cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The body says it is JSON and is not.
    #[error("failed to parse request body as JSON: {0}")]
    Body(serde_json::Error),
    /// An expression does not compile (the Receiver was validated, so it changed since).
    #[error(transparent)]
    Cel(#[from] CelError),
}

/// Checks that every filter compiles (Flux's order: `resourceFilter`, then the entries); the
/// reconcile's terminal message for the first that does not.
pub fn validate(receiver: &Receiver) -> Result<(), String> {
    let variables = variables_of(receiver);
    if let Some(filter) = non_empty(receiver.spec.resource_filter.as_deref()) {
        Expression::compile_bool(filter, variables)
            .map_err(|e| format!("invalid resourceFilter expression: {e}"))?;
    }
    for (index, resource) in receiver.spec.resources.iter().enumerate() {
        if let Some(filter) = non_empty(resource.filter.as_deref()) {
            Expression::compile_bool(filter, variables).map_err(|e| {
                format!(
                    "invalid filter expression for resources[{index}] (kind={:?}, name={:?}): {e}",
                    resource.kind, resource.name
                )
            })?;
        }
    }
    Ok(())
}

fn non_empty(expression: Option<&str>) -> Option<&str> {
    expression.filter(|e| !e.is_empty())
}

/// Whether the Receiver has any filter, so that the body must be read as `req`.
pub fn has_filters(receiver: &Receiver) -> bool {
    non_empty(receiver.spec.resource_filter.as_deref()).is_some()
        || receiver
            .spec
            .resources
            .iter()
            .any(|r| non_empty(r.filter.as_deref()).is_some())
}

/// `req`: the body decoded when the content type is JSON, an empty map otherwise.
pub fn request_variable(content_type: Option<&str>, body: &[u8]) -> Result<Value, FilterError> {
    if !is_json(content_type.unwrap_or_default()) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(FilterError::Body)
}

/// Whether one of the comma-separated media types is `application/json` (Go's `mime`
/// parsing: parameters ignored, case-insensitive).
fn is_json(content_type: &str) -> bool {
    content_type.split(',').any(|media| {
        media
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Why the filters could not judge an object.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The object's metadata does not serialize.
    #[error("failed to marshal PartialObjectMetadata from resource for CEL expression: {0}")]
    Metadata(#[from] serde_json::Error),
    /// A filter failed to evaluate.
    #[error(transparent)]
    Cel(#[from] CelError),
}

/// The filters of one `resources` entry, with the request (and claims) they judge.
pub struct Filters<'a> {
    expressions: Vec<Expression>,
    request: &'a Value,
    claims: Option<&'a Value>,
}

impl<'a> Filters<'a> {
    /// The Receiver's filter and `resource`'s; `None` when neither is set. `claims` are a
    /// generic-oidc caller's verified claims.
    pub fn for_resource(
        receiver: &Receiver,
        resource: &ReceiverResource,
        request: &'a Value,
        claims: Option<&'a Value>,
    ) -> Result<Option<Self>, FilterError> {
        let variables = if claims.is_some() {
            OIDC_VARIABLES
        } else {
            VARIABLES
        };
        let expressions = [
            receiver.spec.resource_filter.as_deref(),
            resource.filter.as_deref(),
        ]
        .into_iter()
        .filter_map(non_empty)
        .map(|source| Expression::compile_bool(source, variables))
        .collect::<Result<Vec<_>, _>>()?;
        Ok((!expressions.is_empty()).then_some(Self {
            expressions,
            request,
            claims,
        }))
    }

    /// Whether every filter accepts the object of `api_version` and `kind` with `metadata`.
    pub fn accept_object(
        &self,
        api_version: &str,
        kind: &str,
        metadata: &kube::api::ObjectMeta,
    ) -> Result<bool, JudgeError> {
        // `res` is the object's metadata as Flux marshals the `PartialObjectMetadata` it read.
        let res = serde_json::json!({
            "kind": kind,
            "apiVersion": api_version,
            "metadata": serde_json::to_value(metadata)?,
        });
        Ok(self.accept(&res)?)
    }

    /// Whether every filter accepts the object whose metadata is `res`.
    pub fn accept(&self, res: &Value) -> Result<bool, CelError> {
        let empty = Value::Object(Map::new());
        let claims = self.claims.unwrap_or(&empty);
        for expression in &self.expressions {
            let accepted = if self.claims.is_some() {
                expression.evaluate_bool([
                    ("res", res),
                    ("req", self.request),
                    ("claims", claims),
                ])?
            } else {
                expression.evaluate_bool([("res", res), ("req", self.request)])?
            };
            if !accepted {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn receiver(spec: Value) -> Result<Receiver, serde_json::Error> {
        serde_json::from_value(json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "hook", "namespace": "apps"},
            "spec": spec,
        }))
    }

    #[test]
    fn the_receiver_and_entry_filters_must_both_accept() -> Result<(), Box<dyn std::error::Error>> {
        let receiver = receiver(json!({
            "type": "generic", "secretRef": {"name": "token"},
            "resourceFilter": "req.app == res.metadata.labels['app']",
            "resources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "a"},
                           "filter": "res.metadata.name != 'skipped'"}],
        }))?;
        let request = request_variable(
            Some("application/json; charset=utf-8"),
            br#"{"app": "web"}"#,
        )?;
        let Some(filters) =
            Filters::for_resource(&receiver, &receiver.spec.resources[0], &request, None)?
        else {
            panic!("two filters are set");
        };
        let res = |name: &str, app: &str| {
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": name, "labels": {"app": app}}})
        };
        assert!(filters.accept(&res("web", "web"))?);
        assert!(!filters.accept(&res("web", "api"))?);
        assert!(!filters.accept(&res("skipped", "web"))?);
        Ok(())
    }

    #[test]
    fn a_body_that_is_not_declared_json_is_an_empty_map() -> Result<(), FilterError> {
        assert_eq!(
            request_variable(Some("text/plain"), b"not json")?,
            json!({})
        );
        assert_eq!(request_variable(None, b"{}")?, json!({}));
        assert!(request_variable(Some("application/json"), b"not json").is_err());
        Ok(())
    }

    #[test]
    fn invalid_filters_are_named_as_flux_names_them() -> Result<(), serde_json::Error> {
        let bad_top = receiver(json!({
            "type": "generic", "secretRef": {"name": "token"},
            "resourceFilter": "res.metadata.name ==",
            "resources": [{"kind": "GitRepository", "name": "app"}],
        }))?;
        let message = validate(&bad_top).err().unwrap_or_default();
        assert!(
            message.starts_with(
                "invalid resourceFilter expression: failed to parse the CEL expression"
            ),
            "{message}"
        );
        let bad_entry = receiver(json!({
            "type": "generic", "secretRef": {"name": "token"},
            "resources": [{"kind": "GitRepository", "name": "app", "filter": "body.ref == 'main'"}],
        }))?;
        let message = validate(&bad_entry).err().unwrap_or_default();
        assert!(
            message.starts_with(
                "invalid filter expression for resources[0] (kind=\"GitRepository\", name=\"app\"): "
            ) && message.contains("undeclared reference to 'body'"),
            "{message}"
        );
        Ok(())
    }
}
