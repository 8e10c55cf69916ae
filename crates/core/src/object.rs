//! Object identity: the group, version, kind, namespace and name of a Kubernetes object read from
//! its JSON, and the `Kind/namespace/name` form Flux uses to name objects in messages and events.

use std::fmt;

use serde_json::Value;

/// Errors raised while reading an object's identity from its JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// The JSON value is not an object (a map).
    #[error("object is not a JSON map")]
    NotAnObject,
    /// A required identity field is absent, empty or not a string.
    #[error("object has no {0}")]
    MissingField(&'static str),
    /// `apiVersion` has more than one `/`.
    #[error("unexpected GroupVersion string: {0}")]
    InvalidApiVersion(String),
}

/// The identity of an object without its version: what Flux calls `ObjMetadata`. Two objects
/// with the same id are the same object even when they were applied at different versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// API group; empty for the core group.
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
}

impl fmt::Display for ObjectId {
    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// An API group and kind, e.g. (`apps`, `Deployment`); the group is empty for the core group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKind {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

impl GroupKind {
    /// Builds a group and kind from borrowed parts.
    pub fn new(group: &str, kind: &str) -> Self {
        Self {
            group: group.to_owned(),
            kind: kind.to_owned(),
        }
    }
}

/// Anything that carries an object reference: lets the ordering and inventory functions work on
/// references, change set entries, or a caller's own (reference, object) pairs alike.
pub trait AsObjectRef {
    /// The reference of the object.
    fn object_ref(&self) -> &ObjectRef;
}

impl AsObjectRef for ObjectRef {
    fn object_ref(&self) -> &ObjectRef {
        self
    }
}

/// The full reference to an object: its id plus the version it is served at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// API group; empty for the core group.
    pub group: String,
    /// API version within the group, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// Reads the identity of `object` from its `apiVersion`, `kind`, `metadata.name` and
    /// `metadata.namespace`. `apiVersion`, `kind` and `name` must be non-empty strings.
    pub fn from_object(object: &Value) -> Result<Self, ObjectError> {
        let map = object.as_object().ok_or(ObjectError::NotAnObject)?;
        let api_version = required_str(map.get("apiVersion"), "apiVersion")?;
        let kind = required_str(map.get("kind"), "kind")?;
        let metadata = map.get("metadata");
        let name = required_str(metadata.and_then(|m| m.get("name")), "metadata.name")?;
        let namespace = metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (group, version) = split_api_version(api_version)?;
        Ok(Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The identity without the version.
    pub fn id(&self) -> ObjectId {
        ObjectId {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            group: self.group.clone(),
            kind: self.kind.clone(),
        }
    }

    /// The group and kind.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(&self.group, &self.kind)
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether the object lives in a namespace.
    pub fn is_namespaced(&self) -> bool {
        !self.namespace.is_empty()
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects (Flux's subject form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Splits an `apiVersion` into group and version the way Kubernetes does: `apps/v1` is
/// (`apps`, `v1`), `v1` is (``, `v1`), and more than one `/` is an error.
pub fn split_api_version(api_version: &str) -> Result<(&str, &str), ObjectError> {
    match api_version.split_once('/') {
        None => Ok(("", api_version)),
        Some((group, version)) if !version.contains('/') => Ok((group, version)),
        Some(_) => Err(ObjectError::InvalidApiVersion(api_version.to_owned())),
    }
}

fn required_str<'a>(value: Option<&'a Value>, field: &'static str) -> Result<&'a str, ObjectError> {
    match value.and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ObjectError::MissingField(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "apps"}})
    }

    #[test]
    fn reads_namespaced_object() -> Result<(), ObjectError> {
        let r = ObjectRef::from_object(&deployment())?;
        assert_eq!(r.group, "apps");
        assert_eq!(r.version, "v1");
        assert_eq!(r.kind, "Deployment");
        assert_eq!(r.namespace, "apps");
        assert_eq!(r.name, "web");
        assert_eq!(r.to_string(), "Deployment/apps/web");
        assert_eq!(r.id().to_string(), "Deployment/apps/web");
        assert_eq!(r.api_version(), "apps/v1");
        assert!(r.is_namespaced());
        Ok(())
    }

    #[test]
    fn reads_cluster_scoped_core_object() -> Result<(), ObjectError> {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}});
        let r = ObjectRef::from_object(&ns)?;
        assert_eq!(r.group, "");
        assert_eq!(r.version, "v1");
        assert_eq!(r.to_string(), "Namespace/apps");
        assert_eq!(r.api_version(), "v1");
        assert!(!r.is_namespaced());
        Ok(())
    }

    #[test]
    fn rejects_missing_fields() {
        let no_kind = json!({"apiVersion": "v1", "metadata": {"name": "x"}});
        assert_eq!(
            ObjectRef::from_object(&no_kind),
            Err(ObjectError::MissingField("kind"))
        );
        let no_name = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
        assert_eq!(
            ObjectRef::from_object(&no_name),
            Err(ObjectError::MissingField("metadata.name"))
        );
        let empty_version =
            json!({"apiVersion": "", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert_eq!(
            ObjectRef::from_object(&empty_version),
            Err(ObjectError::MissingField("apiVersion"))
        );
        assert_eq!(
            ObjectRef::from_object(&json!([1])),
            Err(ObjectError::NotAnObject)
        );
    }

    #[test]
    fn rejects_api_version_with_two_slashes() {
        let bad = json!({"apiVersion": "a/b/c", "kind": "X", "metadata": {"name": "x"}});
        assert_eq!(
            ObjectRef::from_object(&bad),
            Err(ObjectError::InvalidApiVersion("a/b/c".into()))
        );
    }
}
