//! The CustomResourceDefinitions tether installs: one per kind with every served version
//! (the newest version stored, the older ones served and deprecated, conversion strategy `None` as in Flux),
//! and their YAML, one document per CRD, deterministic.
//!
//! Each deprecated version's schema also declares every field of the storage version
//! ([`accept_storage_fields`]): with conversion `None`, an object applied at an old version keeps
//! that version in its managedFields, and the API server converts every later write's managed
//! fields (the controller's status at the storage version) to it; a field the old schema lacks
//! fails that write with "field not declared in schema".

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceConversion, CustomResourceDefinition, CustomResourceValidation, JSONSchemaProps,
    JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::core::{
    crd::v1::CustomResourceExt,
    object::{HasSpec, HasStatus},
};
use schemars::JsonSchema;

use crate::{
    helm, helm_operator, image, kustomize, notification,
    schema::{root_schema, spec_only_root_schema},
    source,
};

/// Annotation that stops Flux (and tether) post-build substitution from rewriting the CRD
/// itself when it is applied by a Kustomization, since its schema text contains `${...}`-like
/// sequences.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Every CRD this crate defines, in a fixed order; the toolkit's carry Flux's labels
/// ([`flux_labels`]).
pub fn crds() -> Vec<CustomResourceDefinition> {
    let toolkit = [
        (git_repository_crd(), "source-controller"),
        (oci_repository_crd(), "source-controller"),
        (bucket_crd(), "source-controller"),
        (helm_repository_crd(), "source-controller"),
        (helm_chart_crd(), "source-controller"),
        (external_artifact_crd(), "source-controller"),
        (kustomization_crd(), "kustomize-controller"),
        (helm_release_crd(), "helm-controller"),
    ];
    let images_and_notifications = [
        (image_repository_crd(), "image-reflector-controller"),
        (image_policy_crd(), "image-reflector-controller"),
        (image_update_automation_crd(), "image-automation-controller"),
        (provider_crd(), "notification-controller"),
        (alert_crd(), "notification-controller"),
        (receiver_crd(), "notification-controller"),
    ];
    let labelled = |(mut crd, component): (CustomResourceDefinition, &str)| {
        crd.metadata.labels = Some(flux_labels(component, "flux-system"));
        crd
    };
    let mut crds: Vec<_> = toolkit.into_iter().map(labelled).collect();
    // helm-operator's API is Flux v1's, not part of a Flux v2 installation.
    crds.push(helm_operator_release_crd());
    crds.extend(images_and_notifications.into_iter().map(labelled));
    crds
}

/// The Flux release whose APIs tether serves, as Flux's install manifests name it in
/// `app.kubernetes.io/version` (`flux check` prints it as the distribution `flux-<version>`).
pub const FLUX_API_RELEASE: &str = "v2.9.5";

/// The labels Flux puts on its CRDs and install manifests (part-of `flux`, the component that
/// serves them, the instance, the release), so that tools selecting Flux's objects by label
/// (`flux check`, `flux version`, `flux uninstall`) find tether's.
pub fn flux_labels(component: &str, instance: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/component", component),
        ("app.kubernetes.io/instance", instance),
        ("app.kubernetes.io/part-of", "flux"),
        ("app.kubernetes.io/version", FLUX_API_RELEASE),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect()
}

/// The GitRepository CRD with versions v1 (storage), v1beta1 and v1beta2.
pub fn git_repository_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<source::v1::GitRepository>(
            "GitRepository is a Git repository that source-controller fetches on an interval \
             and packages as an artifact for other controllers to consume.",
        ),
        version::<source::v1beta1::GitRepository>(
            "GitRepository is the deprecated v1beta1 form of a Git repository source.",
        ),
        version::<source::v1beta2::GitRepository>(
            "GitRepository is the deprecated v1beta2 form of a Git repository source.",
        ),
    ])
}

/// The OCIRepository CRD with versions v1 (storage) and v1beta2.
pub fn oci_repository_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<source::v1::OCIRepository>(
            "OCIRepository is an OCI repository whose artifact source-controller pulls on an \
             interval and stores as an artifact for other controllers to consume.",
        ),
        version::<source::v1beta2::OCIRepository>(
            "OCIRepository is the deprecated v1beta2 form of an OCI repository source.",
        ),
    ])
}

/// The Bucket CRD with versions v1 (storage) and v1beta2.
pub fn bucket_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<source::v1::Bucket>(
            "Bucket is an object storage bucket whose objects source-controller downloads on \
             an interval and stores as an artifact for other controllers to consume.",
        ),
        version::<source::v1beta2::Bucket>(
            "Bucket is the deprecated v1beta2 form of an object storage bucket source.",
        ),
    ])
}

/// The HelmRepository CRD with versions v1 (storage) and v1beta2.
pub fn helm_repository_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<source::v1::HelmRepository>(
            "HelmRepository is a Helm chart repository (an index served over HTTP(S), or an \
             OCI registry) that source-controller fetches on an interval for HelmCharts to \
             pull from.",
        ),
        version::<source::v1beta2::HelmRepository>(
            "HelmRepository is the deprecated v1beta2 form of a Helm chart repository source.",
        ),
    ])
}

/// The HelmChart CRD with versions v1 (storage) and v1beta2.
pub fn helm_chart_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<source::v1::HelmChart>(
            "HelmChart is a Helm chart that source-controller pulls from a HelmRepository, or \
             packages from a GitRepository or Bucket, and stores as an artifact.",
        ),
        version::<source::v1beta2::HelmChart>(
            "HelmChart is the deprecated v1beta2 form of a Helm chart source.",
        ),
    ])
}

/// The HelmRelease CRD with versions v2 (storage), v2beta1 and v2beta2.
pub fn helm_release_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<helm::v2::HelmRelease>(
            "HelmRelease installs, upgrades, tests and remediates a Helm release from a chart, \
             with values from the object and from ConfigMaps and Secrets.",
        ),
        version::<helm::v2beta1::HelmRelease>(
            "HelmRelease is the deprecated v2beta1 form of a Helm release.",
        ),
        version::<helm::v2beta2::HelmRelease>(
            "HelmRelease is the deprecated v2beta2 form of a Helm release.",
        ),
    ])
}

/// The Flux v1 Helm Operator's HelmRelease CRD (`helm.fluxcd.io`), with its only version v1,
/// shaped as helm-operator's own: metadata and spec required, no status default.
pub fn helm_operator_release_crd() -> CustomResourceDefinition {
    let mut crd = merge_versions(vec![version::<helm_operator::v1::HelmRelease>(
        "HelmRelease is a Helm release of the Flux v1 Helm Operator: a chart from a Helm \
         repository or a Git repository, installed with values from the object, ConfigMaps, \
         Secrets, URLs and chart files.",
    )]);
    let schemas = crd.spec.versions.iter_mut().filter_map(|v| {
        v.schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
    });
    for schema in schemas {
        schema.required = Some(vec!["metadata".to_owned(), "spec".to_owned()]);
        if let Some(status) = schema.properties.as_mut().and_then(|p| p.get_mut("status")) {
            status.default = None;
        }
    }
    crd
}

/// The ExternalArtifact CRD with its only version v1. The status has no `observedGeneration`
/// (a third party writes it), so it has no default; the spec defaults to `{}` so that objects
/// created without one still decode.
pub fn external_artifact_crd() -> CustomResourceDefinition {
    let mut crd = merge_versions(vec![version::<source::v1::ExternalArtifact>(
        "ExternalArtifact is an artifact that a third-party controller produces and \
         describes in its status, for Kustomizations and HelmReleases to consume.",
    )]);
    let schemas = crd.spec.versions.iter_mut().filter_map(|v| {
        v.schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
    });
    for schema in schemas {
        let Some(properties) = schema.properties.as_mut() else {
            continue;
        };
        if let Some(status) = properties.get_mut("status") {
            status.default = None;
        }
        if let Some(spec) = properties.get_mut("spec") {
            spec.default = Some(
                k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON(
                    serde_json::json!({}),
                ),
            );
        }
    }
    crd
}

/// The Kustomization CRD with versions v1 (storage), v1beta1 and v1beta2.
pub fn kustomization_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<kustomize::v1::Kustomization>(
            "Kustomization builds the manifests at a path of a source artifact and applies \
             them to the cluster, pruning what was removed and assessing health.",
        ),
        version::<kustomize::v1beta1::Kustomization>(
            "Kustomization is the deprecated v1beta1 form of a kustomize applier.",
        ),
        version::<kustomize::v1beta2::Kustomization>(
            "Kustomization is the deprecated v1beta2 form of a kustomize applier.",
        ),
    ])
}

/// The ImageRepository CRD with versions v1 (storage), v1beta1 and v1beta2.
pub fn image_repository_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<image::v1::ImageRepository>(
            "ImageRepository is an image repository that image-reflector-controller scans for \
             tags on an interval, for ImagePolicies to elect the latest image from.",
        ),
        version::<image::v1beta1::ImageRepository>(
            "ImageRepository is the deprecated v1beta1 form of an image repository scan.",
        ),
        version::<image::v1beta2::ImageRepository>(
            "ImageRepository is the deprecated v1beta2 form of an image repository scan.",
        ),
    ])
}

/// The ImagePolicy CRD with versions v1 (storage), v1beta1 and v1beta2.
pub fn image_policy_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<image::v1::ImagePolicy>(
            "ImagePolicy elects the latest image among the tags an ImageRepository scanned, \
             by semver range, alphabetical or numerical order.",
        ),
        version::<image::v1beta1::ImagePolicy>(
            "ImagePolicy is the deprecated v1beta1 form of an image policy.",
        ),
        version::<image::v1beta2::ImagePolicy>(
            "ImagePolicy is the deprecated v1beta2 form of an image policy.",
        ),
    ])
}

/// The ImageUpdateAutomation CRD with versions v1 (storage), v1beta1 and v1beta2.
pub fn image_update_automation_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<image::v1::ImageUpdateAutomation>(
            "ImageUpdateAutomation writes the images elected by ImagePolicies into the \
             manifests of a Git repository, and commits and pushes the change.",
        ),
        version::<image::v1beta1::ImageUpdateAutomation>(
            "ImageUpdateAutomation is the deprecated v1beta1 form of an image update automation.",
        ),
        version::<image::v1beta2::ImageUpdateAutomation>(
            "ImageUpdateAutomation is the deprecated v1beta2 form of an image update automation.",
        ),
    ])
}

/// The Provider CRD with versions v1beta3 (storage), v1beta1 and v1beta2.
pub fn provider_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        spec_only_version::<notification::v1beta3::Provider>(
            "Provider is a destination for alerts: a chat, an incident tool, a forge's commit \
             statuses.",
        ),
        version::<notification::v1beta1::Provider>(
            "Provider is the deprecated v1beta1 form of an alert destination.",
        ),
        version::<notification::v1beta2::Provider>(
            "Provider is the deprecated v1beta2 form of an alert destination.",
        ),
    ])
}

/// The Alert CRD with versions v1beta3 (storage), v1beta1 and v1beta2.
pub fn alert_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        spec_only_version::<notification::v1beta3::Alert>(
            "Alert sends the events of some Flux objects, filtered by severity and message, \
             to a Provider.",
        ),
        version::<notification::v1beta1::Alert>(
            "Alert is the deprecated v1beta1 form of an alerting rule.",
        ),
        version::<notification::v1beta2::Alert>(
            "Alert is the deprecated v1beta2 form of an alerting rule.",
        ),
    ])
}

/// The Receiver CRD with versions v1 (storage) and v1beta2.
pub fn receiver_crd() -> CustomResourceDefinition {
    merge_versions(vec![
        version::<notification::v1::Receiver>(
            "Receiver is a webhook that verifies calls from forges and registries and asks \
             Flux objects to reconcile now.",
        ),
        version::<notification::v1beta2::Receiver>(
            "Receiver is the deprecated v1beta2 form of a webhook receiver.",
        ),
    ])
}

/// The file name Flux gives a CRD's YAML: `<group>_<plural>.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// One CRD as a YAML document, starting with `---`.
///
/// # Panics
///
/// Panics if the CRD cannot be represented as YAML, which no CRD built by this crate triggers.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> String {
    // A CRD is plain data (maps, strings, numbers, booleans); serializing it cannot fail, and
    // `crds_yaml_renders_every_crd` exercises it.
    let body = serde_saphyr::to_string(crd).expect("a CustomResourceDefinition serializes to YAML");
    format!("---\n{body}")
}

/// All CRDs as one multi-document YAML stream.
pub fn crds_yaml() -> String {
    crds().iter().map(crd_yaml).collect()
}

/// A single-version CRD for `K`, with its schema generated from `K`'s spec and status types.
fn version<K>(description: &str) -> CustomResourceDefinition
where
    K: CustomResourceExt + HasSpec + HasStatus,
    K::Spec: JsonSchema,
    K::Status: JsonSchema,
{
    let mut crd = K::crd();
    for version in &mut crd.spec.versions {
        version.schema = Some(CustomResourceValidation {
            open_api_v3_schema: Some(root_schema::<K::Spec, K::Status>(description)),
        });
    }
    crd
}

/// A single-version CRD for a kind without a status (v1beta3 Provider and Alert), with its
/// schema generated from `K`'s spec type.
fn spec_only_version<K>(description: &str) -> CustomResourceDefinition
where
    K: CustomResourceExt + HasSpec,
    K::Spec: JsonSchema,
{
    let mut crd = K::crd();
    for version in &mut crd.spec.versions {
        version.schema = Some(CustomResourceValidation {
            open_api_v3_schema: Some(spec_only_root_schema::<K::Spec>(description)),
        });
    }
    crd
}

/// Folds single-version CRDs of one kind into the first one (the storage version), ordering
/// versions by name as controller-gen does, makes every older version accept the storage
/// version's fields, and adds the CRD-level settings Flux uses.
fn merge_versions(crds: Vec<CustomResourceDefinition>) -> CustomResourceDefinition {
    let mut crds = crds.into_iter();
    let mut merged = crds.next().unwrap_or_default();
    let storage_schema = merged
        .spec
        .versions
        .first()
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.clone());
    for mut older in crds.flat_map(|crd| crd.spec.versions) {
        let older_schema = older
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut());
        if let (Some(older_schema), Some(storage_schema)) = (older_schema, &storage_schema) {
            accept_storage_fields(older_schema, storage_schema);
        }
        merged.spec.versions.push(older);
    }
    merged.spec.versions.sort_by(|a, b| a.name.cmp(&b.name));
    merged.spec.names.list_kind = Some(format!("{}List", merged.spec.names.kind));
    merged.spec.conversion = Some(CustomResourceConversion {
        strategy: "None".into(),
        webhook: None,
    });
    merged.metadata.annotations = Some(BTreeMap::from([(
        SUBSTITUTE_ANNOTATION.to_owned(),
        "disabled".to_owned(),
    )]));
    merged
}

/// Declares in `older` every property of `storage` it lacks, recursively through objects, array
/// items and map values. What `older` declares itself (descriptions, required lists, enums,
/// patterns, defaults, CEL rules) is kept; a field whose type differs between the two keeps the
/// older type, and a schema that already preserves unknown fields without declaring any is left
/// open.
fn accept_storage_fields(older: &mut JSONSchemaProps, storage: &JSONSchemaProps) {
    if older.type_ != storage.type_ {
        return;
    }
    let open = older.x_kubernetes_preserve_unknown_fields == Some(true);
    if let Some(storage_properties) = &storage.properties
        && !(open && older.properties.is_none())
    {
        let properties = older.properties.get_or_insert_with(BTreeMap::new);
        for (name, field) in storage_properties {
            match properties.get_mut(name) {
                Some(existing) => accept_storage_fields(existing, field),
                None => {
                    properties.insert(name.clone(), field.clone());
                }
            }
        }
    }
    if let (
        Some(JSONSchemaPropsOrArray::Schema(older)),
        Some(JSONSchemaPropsOrArray::Schema(storage)),
    ) = (&mut older.items, &storage.items)
    {
        accept_storage_fields(older, storage);
    }
    if let (
        Some(JSONSchemaPropsOrBool::Schema(older)),
        Some(JSONSchemaPropsOrBool::Schema(storage)),
    ) = (
        &mut older.additional_properties,
        &storage.additional_properties,
    ) {
        accept_storage_fields(older, storage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_yaml_parses_back_into_the_same_crds() -> Result<(), serde_saphyr::Error> {
        let parsed: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&crds_yaml())?;
        assert_eq!(parsed, crds());
        Ok(())
    }

    /// Every field path `schema` declares (array items as `[]`, map values as `{}`), with its type.
    fn declared_fields(schema: &JSONSchemaProps, path: &str, out: &mut BTreeMap<String, String>) {
        out.insert(path.to_owned(), schema.type_.clone().unwrap_or_default());
        for (name, field) in schema.properties.iter().flatten() {
            declared_fields(field, &format!("{path}.{name}"), out);
        }
        if let Some(JSONSchemaPropsOrArray::Schema(items)) = &schema.items {
            declared_fields(items, &format!("{path}[]"), out);
        }
        if let Some(JSONSchemaPropsOrBool::Schema(values)) = &schema.additional_properties {
            declared_fields(values, &format!("{path}{{}}"), out);
        }
    }

    #[test]
    fn deprecated_versions_declare_every_storage_field_with_its_type() {
        let mut missing = Vec::new();
        for crd in crds() {
            let schemas: Vec<_> = crd
                .spec
                .versions
                .iter()
                .map(|v| {
                    let mut fields = BTreeMap::new();
                    let schema = v
                        .schema
                        .as_ref()
                        .and_then(|s| s.open_api_v3_schema.as_ref());
                    if let Some(schema) = schema {
                        declared_fields(schema, "", &mut fields);
                    }
                    (v.name.clone(), v.storage, fields)
                })
                .collect();
            let Some((_, _, stored)) = schemas.iter().find(|(_, storage, _)| *storage) else {
                continue;
            };
            for (version, _, fields) in &schemas {
                for (path, type_) in stored {
                    if fields.get(path) != Some(type_) {
                        missing.push(format!("{} {version}: {path}", crd.spec.names.kind));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    /// Whether every key of `own` is in `merged` with the same value, objects compared key by key.
    fn keeps(own: &serde_json::Value, merged: &serde_json::Value) -> bool {
        match (own, merged) {
            (serde_json::Value::Object(own), serde_json::Value::Object(merged)) => own
                .iter()
                .all(|(key, value)| merged.get(key).is_some_and(|m| keeps(value, m))),
            _ => own == merged,
        }
    }

    #[test]
    fn deprecated_versions_keep_their_own_fields_and_validations() {
        let own = version::<kustomize::v1beta1::Kustomization>(
            "Kustomization is the deprecated v1beta1 form of a kustomize applier.",
        );
        let merged = kustomization_crd();
        let schema = |crd: &CustomResourceDefinition| {
            let version = crd.spec.versions.iter().find(|v| v.name == "v1beta1");
            serde_json::to_value(version.and_then(|v| v.schema.as_ref())).unwrap_or_default()
        };
        let (own, merged) = (schema(&own), schema(&merged));
        assert!(
            own.pointer("/openAPIV3Schema/properties/spec/properties/validation")
                .is_some()
        );
        assert!(keeps(&own, &merged));
        assert!(
            merged
                .pointer(
                    "/openAPIV3Schema/properties/spec/properties/kubeConfig/properties/configMapRef"
                )
                .is_some()
        );
    }

    #[test]
    fn crds_yaml_is_deterministic() {
        assert_eq!(crds_yaml(), crds_yaml());
    }

    #[test]
    fn file_names_follow_flux() {
        let names: Vec<_> = crds().iter().map(crd_file_name).collect();
        assert_eq!(
            names,
            [
                "source.toolkit.fluxcd.io_gitrepositories.yaml",
                "source.toolkit.fluxcd.io_ocirepositories.yaml",
                "source.toolkit.fluxcd.io_buckets.yaml",
                "source.toolkit.fluxcd.io_helmrepositories.yaml",
                "source.toolkit.fluxcd.io_helmcharts.yaml",
                "source.toolkit.fluxcd.io_externalartifacts.yaml",
                "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
                "helm.toolkit.fluxcd.io_helmreleases.yaml",
                "helm.fluxcd.io_helmreleases.yaml",
                "image.toolkit.fluxcd.io_imagerepositories.yaml",
                "image.toolkit.fluxcd.io_imagepolicies.yaml",
                "image.toolkit.fluxcd.io_imageupdateautomations.yaml",
                "notification.toolkit.fluxcd.io_providers.yaml",
                "notification.toolkit.fluxcd.io_alerts.yaml",
                "notification.toolkit.fluxcd.io_receivers.yaml",
            ]
        );
    }
}
