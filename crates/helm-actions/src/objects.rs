//! A release's rendered documents as the Kubernetes objects Helm creates from them: YAML parsed,
//! empty documents dropped, the release namespace given to namespaced objects that name none,
//! and Helm's ownership metadata stamped (`app.kubernetes.io/managed-by: Helm`,
//! `meta.helm.sh/release-name`, `meta.helm.sh/release-namespace`), as Helm's
//! `setMetadataVisitor` does on install and upgrade.

use serde_json::{Map, Value};
use tether_core::object::ObjectRef;
use tether_ssa::ResourceManager;

use crate::error::ActionError;

/// Helm's managed-by label and its value.
pub const MANAGED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/managed-by", "Helm");
/// The annotation naming the release that owns an object.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
/// The annotation naming the namespace of the release that owns an object.
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// Objects carrying this annotation with value `keep` survive upgrades and uninstalls.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

/// Parses the documents of a manifest (one or more YAML documents); empty ones are dropped.
pub fn parse_documents(path: &str, text: &str) -> Result<Vec<Value>, ActionError> {
    let docs =
        tether_core::yaml::from_str_multi(text).map_err(|error| ActionError::InvalidManifest {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
    Ok(docs
        .into_iter()
        .filter(|doc| !doc.is_null() && doc.as_object().is_none_or(|m| !m.is_empty()))
        .collect())
}

/// Fills in the release namespace of namespaced objects that name none. Kinds defined by a
/// CustomResourceDefinition among `objects` take the scope that definition declares; other
/// kinds are looked up through discovery (an unknown kind is left as it is: the apply reports
/// it).
pub async fn default_namespaces(
    manager: &ResourceManager,
    objects: &mut [Value],
    namespace: &str,
) -> Result<(), ActionError> {
    let defined = crd_scopes(objects);
    for object in objects.iter_mut() {
        let Ok(reference) = ObjectRef::from_object(object) else {
            continue;
        };
        if reference.is_namespaced() {
            continue;
        }
        let namespaced = match defined
            .iter()
            .find(|(group, kind, _)| *group == reference.group && *kind == reference.kind)
        {
            Some((_, _, namespaced)) => *namespaced,
            None => match manager
                .discovery()
                .resolve(
                    manager.client(),
                    &reference.group,
                    &reference.version,
                    &reference.kind,
                )
                .await
            {
                Ok(kind) => kind.namespaced,
                Err(tether_ssa::DiscoveryError::NoMatch { .. }) => continue,
                Err(error) => return Err(ActionError::Discovery(error.to_string())),
            },
        };
        if namespaced && let Some(metadata) = metadata_mut(object) {
            metadata.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    }
    Ok(())
}

/// `(group, kind, namespaced)` of every CustomResourceDefinition in `objects`.
fn crd_scopes(objects: &[Value]) -> Vec<(String, String, bool)> {
    objects
        .iter()
        .filter(|o| {
            o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
                && o.get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
        })
        .filter_map(|crd| {
            let spec = crd.get("spec")?;
            let group = spec.get("group")?.as_str()?.to_owned();
            let kind = spec.get("names")?.get("kind")?.as_str()?.to_owned();
            let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
            Some((group, kind, namespaced))
        })
        .collect()
}

/// Stamps Helm's ownership label and annotations for release `name` in `namespace`.
pub fn stamp_ownership(object: &mut Value, name: &str, namespace: &str) {
    let Some(metadata) = metadata_mut(object) else {
        return;
    };
    insert_string(metadata, "labels", MANAGED_BY_LABEL.0, MANAGED_BY_LABEL.1);
    insert_string(metadata, "annotations", RELEASE_NAME_ANNOTATION, name);
    insert_string(
        metadata,
        "annotations",
        RELEASE_NAMESPACE_ANNOTATION,
        namespace,
    );
}

/// Helm's `existingResourceConflict`: every object of `objects` that exists already must carry
/// the ownership metadata of release `name` in `namespace` (objects named by `generateName`
/// are new by definition). Called when taking ownership is disabled.
pub async fn check_ownership(
    manager: &ResourceManager,
    objects: &[Value],
    name: &str,
    namespace: &str,
) -> Result<(), ActionError> {
    for object in objects {
        let Ok(reference) = ObjectRef::from_object(object) else {
            continue;
        };
        if reference.name.is_empty() {
            continue;
        }
        let shown = format!(
            "{} {:?} in namespace {:?}",
            reference.kind, reference.name, reference.namespace
        );
        let live = manager.live(&reference).await.map_err(|e| {
            ActionError::Apply(format!(
                "could not get information about the resource {shown}: {e}"
            ))
        })?;
        let Some(live) = live else {
            continue;
        };
        if let Some(problems) = ownership_problems(&live, name, namespace) {
            return Err(ActionError::Apply(format!(
                "{shown} exists and cannot be imported into the current release: invalid ownership metadata; {problems}"
            )));
        }
    }
    Ok(())
}

/// Helm's `checkOwnership`: what is wrong with `live`'s ownership metadata, if anything.
fn ownership_problems(live: &Value, name: &str, namespace: &str) -> Option<String> {
    let field = |section: &str, key: &str| {
        live.pointer(&format!("/metadata/{section}"))
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
    };
    let require = |section: &str, kind: &str, key: &str, wanted: &str| match field(section, key) {
        None => Some(format!(
            "{kind} validation error: missing key {key:?}: must be set to {wanted:?}"
        )),
        Some(actual) if actual != wanted => Some(format!(
            "{kind} validation error: key {key:?} must equal {wanted:?}: current value is {actual:?}"
        )),
        Some(_) => None,
    };
    let problems: Vec<String> = [
        require("labels", "label", MANAGED_BY_LABEL.0, MANAGED_BY_LABEL.1),
        require("annotations", "annotation", RELEASE_NAME_ANNOTATION, name),
        require(
            "annotations",
            "annotation",
            RELEASE_NAMESPACE_ANNOTATION,
            namespace,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Whether the object asks to be kept when its release no longer renders it or is uninstalled.
pub fn is_kept(object: &Value) -> bool {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(RESOURCE_POLICY_ANNOTATION))
        .and_then(Value::as_str)
        == Some("keep")
}

fn metadata_mut(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = object.as_object_mut()?;
    map.entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

fn insert_string(metadata: &mut Map<String, Value>, field: &str, key: &str, value: &str) {
    let entry = metadata
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Some(map) = entry.as_object_mut() {
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_documents_are_dropped() {
        let docs = parse_documents(
            "c/templates/a.yaml",
            "---\n# only a comment\n---\nkind: A\n",
        )
        .expect("valid YAML");
        assert_eq!(docs, vec![json!({"kind": "A"})]);
    }

    #[test]
    fn broken_yaml_names_the_template() {
        let error = parse_documents("c/templates/a.yaml", "a: [").expect_err("broken YAML");
        assert!(error.to_string().contains("c/templates/a.yaml"), "{error}");
    }

    #[test]
    fn ownership_is_stamped_over_existing_metadata() {
        let mut object = json!({"metadata": {"name": "x", "labels": {"a": "b"}}});
        stamp_ownership(&mut object, "rel", "ns");
        assert_eq!(
            object["metadata"],
            json!({"name": "x",
                "labels": {"a": "b", "app.kubernetes.io/managed-by": "Helm"},
                "annotations": {"meta.helm.sh/release-name": "rel",
                    "meta.helm.sh/release-namespace": "ns"}})
        );
    }

    #[test]
    fn crd_scope_is_read_from_the_definition() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {"group": "x.io", "names": {"kind": "W"}, "scope": "Cluster"}});
        assert_eq!(crd_scopes(&[crd]), vec![("x.io".into(), "W".into(), false)]);
    }

    #[test]
    fn keep_policy_is_recognised() {
        let object = json!({"metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}});
        assert!(is_kept(&object));
        assert!(!is_kept(&json!({"metadata": {}})));
    }
}
