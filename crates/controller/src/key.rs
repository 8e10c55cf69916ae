//! The one key of a reconciled object: its API group, kind, namespace and name, typed. The
//! schedule, the health-wait registry, log fields and Flux's messages
//! (`GitRepository/flux-system/app`) all use it, so the form of a key is decided here and
//! nowhere else. The group tells apart kinds of one name in two groups (helm-operator's
//! `helm.fluxcd.io` HelmRelease and Flux's `helm.toolkit.fluxcd.io` one); messages show the
//! kind only, as Flux's do.

use kube::Resource;
use std::fmt;

/// The identity of an object; shown `Kind/namespace/name`, as Flux names objects in messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    group: String,
    kind: String,
    namespace: String,
    name: String,
}

impl ObjectKey {
    pub fn new(group: &str, kind: impl Into<String>, namespace: &str, name: &str) -> Self {
        Self {
            group: group.to_owned(),
            kind: kind.into(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The key of a typed object.
    pub fn of<K: Resource<DynamicType = ()>>(object: &K) -> Self {
        let meta = object.meta();
        Self::new(
            &K::group(&()),
            K::kind(&()),
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
        )
    }

    /// The key of an object of kind `K` named `name` in `namespace`.
    pub fn of_kind<K: Resource<DynamicType = ()>>(namespace: &str, name: &str) -> Self {
        Self::new(&K::group(&()), K::kind(&()), namespace, name)
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_api::source::v1::GitRepository;

    #[test]
    fn a_typed_object_and_a_reference_to_it_have_the_same_key() {
        let repo: GitRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "flux-system"},
            "spec": {"url": "https://example.invalid/app", "interval": "1m"}
        }))
        .expect("a valid GitRepository");
        let key = ObjectKey::of(&repo);
        assert_eq!(
            key,
            ObjectKey::of_kind::<GitRepository>("flux-system", "app")
        );
        assert_eq!(key.to_string(), "GitRepository/flux-system/app");
    }

    #[test]
    fn kinds_of_one_name_in_two_groups_have_different_keys() {
        let flux = ObjectKey::of_kind::<tether_api::helm::v2::HelmRelease>("default", "rabbit");
        let operator =
            ObjectKey::of_kind::<tether_api::helm_operator::v1::HelmRelease>("default", "rabbit");
        assert_ne!(flux, operator);
        assert_eq!(flux.to_string(), operator.to_string());
    }
}
