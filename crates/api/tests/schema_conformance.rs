//! The generated CRDs are structural (as kube-apiserver requires), pin the Flux facts that
//! clients depend on, and accept the manifests under `testdata/`: every field is known to the
//! schema (so the API server would not prune it) and every value passes its type, enum,
//! pattern and length rules. The `*-full.yaml` manifests also cover every schema field (for a
//! deprecated version, with its `*-with-<storage>-fields.yaml` sibling); the
//! `*-example.yaml` streams are examples from Flux's docs.
//!
//! CEL rules (`x-kubernetes-validations`) are not evaluated here; a real API server does that.

use std::{collections::BTreeSet, fs, path::PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use regex::Regex;
use serde_json::{Value, json};
use tether_api::crd::{
    alert_crd, bucket_crd, crds, external_artifact_crd, git_repository_crd, helm_chart_crd,
    helm_operator_release_crd, helm_release_crd, helm_repository_crd, image_policy_crd,
    image_repository_crd, image_update_automation_crd, kustomization_crd, oci_repository_crd,
    provider_crd, receiver_crd,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The `openAPIV3Schema` of `version` in `crd`, as JSON.
fn version_schema(crd: &CustomResourceDefinition, version: &str) -> Value {
    let found = crd.spec.versions.iter().find(|v| v.name == version);
    let schema = found
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref());
    schema.map_or(Value::Null, |s| {
        serde_json::to_value(s).unwrap_or(Value::Null)
    })
}

/// Collects violations of the structural-schema rules under `schema`.
fn structural_violations(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Some(node) = schema.as_object() else {
        out.push(format!("{path}: not an object"));
        return;
    };
    for forbidden in [
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "nullable",
        "definitions",
        "title",
    ] {
        if node.contains_key(forbidden) {
            out.push(format!("{path}: has {forbidden}"));
        }
    }
    let preserves = node.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    let int_or_string = node.get("x-kubernetes-int-or-string") == Some(&json!(true));
    if !node.contains_key("type") && !preserves && !int_or_string {
        out.push(format!("{path}: no type"));
    }
    if node.contains_key("properties") && node.contains_key("additionalProperties") {
        out.push(format!("{path}: both properties and additionalProperties"));
    }
    if node.get("type") == Some(&json!("array")) && !node.contains_key("items") {
        out.push(format!("{path}: array without items"));
    }
    if let Some(Value::Object(properties)) = node.get("properties") {
        for (name, child) in properties {
            structural_violations(child, &format!("{path}.{name}"), out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child @ Value::Object(_)) = node.get(key) {
            structural_violations(child, &format!("{path}[{key}]"), out);
        }
    }
}

/// Collects reasons why `value` does not conform to `schema` (types, required, unknown fields,
/// enum, pattern, lengths, minimum).
fn violations(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        out.push(format!("{path}: {value} not in {allowed:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => object_violations(schema, value, path, out),
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    violations(&schema["items"], item, &format!("{path}[{i}]"), out);
                }
            }
            None => out.push(format!("{path}: expected an array")),
        },
        Some("string") => string_violations(schema, value, path, out),
        Some("integer") => match value.as_i64() {
            Some(n)
                if schema
                    .get("minimum")
                    .and_then(Value::as_i64)
                    .is_some_and(|m| n < m) =>
            {
                out.push(format!("{path}: {n} below minimum"));
            }
            Some(_) => {}
            None => out.push(format!("{path}: expected an integer")),
        },
        Some("boolean") if !value.is_boolean() => out.push(format!("{path}: expected a boolean")),
        _ => {}
    }
}

fn object_violations(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(fields) = value.as_object() else {
        out.push(format!("{path}: expected an object"));
        return;
    };
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = required.as_str()
            && !fields.contains_key(name)
        {
            out.push(format!("{path}: missing required field {name}"));
        }
    }
    let preserves = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    for (name, field) in fields {
        let child_path = format!("{path}.{name}");
        if let Some(child) = schema.get("properties").and_then(|p| p.get(name)) {
            violations(child, field, &child_path, out);
        } else if let Some(child) = schema.get("additionalProperties") {
            violations(child, field, &child_path, out);
        } else if !preserves {
            out.push(format!(
                "{child_path}: unknown field, the API server would prune it"
            ));
        }
    }
}

fn string_violations(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(text) = value.as_str() else {
        out.push(format!("{path}: expected a string"));
        return;
    };
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        match Regex::new(pattern) {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => out.push(format!("{path}: {text:?} does not match {pattern}")),
            Err(e) => out.push(format!("{path}: bad pattern {pattern}: {e}")),
        }
    }
    let len = text.chars().count() as u64;
    if schema
        .get("minLength")
        .and_then(Value::as_u64)
        .is_some_and(|m| len < m)
    {
        out.push(format!("{path}: shorter than minLength"));
    }
    if schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .is_some_and(|m| len > m)
    {
        out.push(format!("{path}: longer than maxLength"));
    }
}

/// Every property path the schema declares (arrays as `[]`), below `path`.
fn schema_paths(schema: &Value, path: &str, out: &mut BTreeSet<String>) {
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, child) in properties {
            let child_path = format!("{path}.{name}");
            out.insert(child_path.clone());
            schema_paths(child, &child_path, out);
        }
    }
    if let Some(items) = schema.get("items") {
        schema_paths(items, &format!("{path}[]"), out);
    }
}

/// Every field path set in `value`, in the notation of [`schema_paths`]. Map keys below a
/// schema without properties are not descended into.
fn value_paths(schema: &Value, value: &Value, path: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(fields) if schema.get("properties").is_some() => {
            for (name, field) in fields {
                let child_path = format!("{path}.{name}");
                out.insert(child_path.clone());
                value_paths(&schema["properties"][name], field, &child_path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                value_paths(&schema["items"], item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

fn read_testdata(name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    Ok(serde_saphyr::from_str(&fs::read_to_string(path)?)?)
}

/// Each testdata manifest, its CRD, and the schema paths it may leave unset even when "full".
fn manifests() -> Vec<(
    &'static str,
    CustomResourceDefinition,
    &'static [&'static str],
)> {
    // A kubeConfig names a ConfigMap or a Secret, never both (a CEL rule enforces it).
    const CONFIG_MAP_KUBECONFIG: &[&str] = &[
        ".spec.kubeConfig.configMapRef",
        ".spec.kubeConfig.configMapRef.name",
    ];
    const SECRET_KUBECONFIG: &[&str] = &[
        ".spec.kubeConfig.secretRef",
        ".spec.kubeConfig.secretRef.name",
        ".spec.kubeConfig.secretRef.key",
    ];
    let (git, ks) = (git_repository_crd(), kustomization_crd());
    vec![
        ("gitrepository-v1beta1-tutorial.yaml", git.clone(), &[]),
        ("gitrepository-v1-full.yaml", git.clone(), &[]),
        ("gitrepository-v1beta2-full.yaml", git.clone(), &[]),
        ("gitrepository-v1beta1-full.yaml", git, &[]),
        ("ocirepository-v1-full.yaml", oci_repository_crd(), &[]),
        ("ocirepository-v1beta2-full.yaml", oci_repository_crd(), &[]),
        ("bucket-v1-full.yaml", bucket_crd(), &[]),
        ("bucket-v1beta2-full.yaml", bucket_crd(), &[]),
        (
            "externalartifact-v1-full.yaml",
            external_artifact_crd(),
            &[],
        ),
        ("kustomization-v1beta2-tutorial.yaml", ks.clone(), &[]),
        (
            "kustomization-v1-full.yaml",
            ks.clone(),
            CONFIG_MAP_KUBECONFIG,
        ),
        (
            "kustomization-v1beta2-full.yaml",
            ks.clone(),
            SECRET_KUBECONFIG,
        ),
        ("kustomization-v1beta1-full.yaml", ks, &[]),
        ("imagerepository-v1-full.yaml", image_repository_crd(), &[]),
        (
            "imagerepository-v1beta2-full.yaml",
            image_repository_crd(),
            &[],
        ),
        (
            "imagerepository-v1beta1-full.yaml",
            image_repository_crd(),
            &[],
        ),
        ("imagepolicy-v1-full.yaml", image_policy_crd(), &[]),
        ("imagepolicy-v1beta2-full.yaml", image_policy_crd(), &[]),
        ("imagepolicy-v1beta1-full.yaml", image_policy_crd(), &[]),
        (
            "imageupdateautomation-v1-full.yaml",
            image_update_automation_crd(),
            &[],
        ),
        (
            "imageupdateautomation-v1beta2-full.yaml",
            image_update_automation_crd(),
            &[],
        ),
        (
            "imageupdateautomation-v1beta1-full.yaml",
            image_update_automation_crd(),
            &[],
        ),
        ("provider-v1beta3-full.yaml", provider_crd(), &[]),
        ("provider-v1beta2-full.yaml", provider_crd(), &[]),
        ("provider-v1beta1-full.yaml", provider_crd(), &[]),
        ("alert-v1beta3-full.yaml", alert_crd(), &[]),
        ("alert-v1beta2-full.yaml", alert_crd(), &[]),
        ("alert-v1beta1-full.yaml", alert_crd(), &[]),
        // OIDC providers only go with type generic-oidc, and then no secretRef (CEL rules).
        ("receiver-v1-full.yaml", receiver_crd(), RECEIVER_OIDC),
        ("receiver-v1-oidc.yaml", receiver_crd(), &[]),
        ("receiver-v1beta2-full.yaml", receiver_crd(), &[]),
        ("helmrepository-v1-full.yaml", helm_repository_crd(), &[]),
        ("helmchart-v1-full.yaml", helm_chart_crd(), &[]),
        // A HelmRelease has a chart template or a chartRef, never both (a CEL rule).
        ("helmrelease-v2-full.yaml", helm_release_crd(), HR_CHART_REF),
        ("helmrelease-v2-chartref.yaml", helm_release_crd(), &[]),
        (
            "helmrepository-v1beta2-full.yaml",
            helm_repository_crd(),
            &[],
        ),
        ("helmchart-v1beta2-full.yaml", helm_chart_crd(), &[]),
        (
            "helmrelease-v2beta2-full.yaml",
            helm_release_crd(),
            HR_BETA2_CHART_REF,
        ),
        ("helmrelease-v2beta1-full.yaml", helm_release_crd(), &[]),
        (
            "helmrelease-helm-operator-v1-full.yaml",
            helm_operator_release_crd(),
            HELM_OPERATOR_REPOSITORY_CHART,
        ),
        (
            "helmrelease-helm-operator-v1-rabbit.yaml",
            helm_operator_release_crd(),
            &[],
        ),
        // The deprecated versions' full manifests with every storage-version field added.
        (
            "gitrepository-v1beta2-with-v1-fields.yaml",
            git_repository_crd(),
            &[],
        ),
        (
            "gitrepository-v1beta1-with-v1-fields.yaml",
            git_repository_crd(),
            &[],
        ),
        ("bucket-v1beta2-with-v1-fields.yaml", bucket_crd(), &[]),
        (
            "kustomization-v1beta2-with-v1-fields.yaml",
            kustomization_crd(),
            SECRET_KUBECONFIG,
        ),
        (
            "kustomization-v1beta1-with-v1-fields.yaml",
            kustomization_crd(),
            CONFIG_MAP_KUBECONFIG,
        ),
        (
            "imagerepository-v1beta1-with-v1-fields.yaml",
            image_repository_crd(),
            &[],
        ),
        (
            "imagepolicy-v1beta1-with-v1-fields.yaml",
            image_policy_crd(),
            &[],
        ),
        (
            "imageupdateautomation-v1beta2-with-v1-fields.yaml",
            image_update_automation_crd(),
            &[],
        ),
        (
            "imageupdateautomation-v1beta1-with-v1-fields.yaml",
            image_update_automation_crd(),
            &[],
        ),
        (
            "provider-v1beta2-with-v1beta3-fields.yaml",
            provider_crd(),
            &[],
        ),
        (
            "provider-v1beta1-with-v1beta3-fields.yaml",
            provider_crd(),
            &[],
        ),
        ("alert-v1beta2-with-v1beta3-fields.yaml", alert_crd(), &[]),
        ("alert-v1beta1-with-v1beta3-fields.yaml", alert_crd(), &[]),
        // As receiver-v1-full: OIDC providers go only with type generic-oidc, without secretRef.
        (
            "receiver-v1beta2-with-v1-fields.yaml",
            receiver_crd(),
            RECEIVER_OIDC,
        ),
        (
            "helmrelease-v2beta2-with-v2-fields.yaml",
            helm_release_crd(),
            HR_BETA2_CHART_REF,
        ),
        // v2beta1 names its kubeConfig Secret; the v2 ConfigMap form excludes it (a CEL rule).
        (
            "helmrelease-v2beta1-with-v2-fields.yaml",
            helm_release_crd(),
            CONFIG_MAP_KUBECONFIG,
        ),
    ]
}

/// The chartRef and ConfigMap kubeConfig fields the v2beta2 HelmRelease leaves unset.
const HR_BETA2_CHART_REF: &[&str] = &[
    ".spec.chartRef",
    ".spec.chartRef.apiVersion",
    ".spec.chartRef.kind",
    ".spec.chartRef.name",
    ".spec.chartRef.namespace",
    ".spec.kubeConfig.configMapRef",
    ".spec.kubeConfig.configMapRef.name",
];

/// The Helm repository chart fields a helm-operator release from Git leaves unset.
const HELM_OPERATOR_REPOSITORY_CHART: &[&str] = &[
    ".spec.chart.repository",
    ".spec.chart.name",
    ".spec.chart.version",
    ".spec.chart.chartPullSecret",
    ".spec.chart.chartPullSecret.name",
];

/// The chartRef fields a HelmRelease with a chart template leaves unset.
const HR_CHART_REF: &[&str] = &[
    ".spec.chartRef",
    ".spec.chartRef.apiVersion",
    ".spec.chartRef.kind",
    ".spec.chartRef.name",
    ".spec.chartRef.namespace",
    ".spec.kubeConfig.secretRef",
    ".spec.kubeConfig.secretRef.name",
    ".spec.kubeConfig.secretRef.key",
];

/// The OIDC fields a Receiver with a Secret leaves unset.
const RECEIVER_OIDC: &[&str] = &[
    ".spec.oidcProviders",
    ".spec.oidcProviders[].issuerURL",
    ".spec.oidcProviders[].audience",
    ".spec.oidcProviders[].variables",
    ".spec.oidcProviders[].variables[].name",
    ".spec.oidcProviders[].variables[].expression",
    ".spec.oidcProviders[].validations",
    ".spec.oidcProviders[].validations[].expression",
    ".spec.oidcProviders[].validations[].message",
];

/// Multi-document example streams from Flux's docs.
const EXAMPLES: &[&str] = &[
    "image-automation-v1-example.yaml",
    "image-automation-v1beta2-example.yaml",
    "image-automation-v1beta1-example.yaml",
];

/// The CRD of `kind`, among the ones this crate defines.
fn crd_of_kind(kind: &str) -> Option<CustomResourceDefinition> {
    crds().into_iter().find(|crd| crd.spec.names.kind == kind)
}

/// Violations of `manifest` against the schema of its own apiVersion.
fn manifest_violations(manifest: &Value) -> Vec<String> {
    let kind = manifest["kind"].as_str().unwrap_or_default();
    let Some(crd) = crd_of_kind(kind) else {
        return vec![format!("no CRD for kind {kind:?}")];
    };
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
    let version = api_version.rsplit('/').next().unwrap_or_default();
    let mut out = Vec::new();
    if api_version != format!("{}/{version}", crd.spec.group) {
        out.push(format!("{api_version} is not in group {}", crd.spec.group));
    }
    // The API server validates metadata as ObjectMeta, outside the CRD schema (which at most
    // requires it to be there).
    let mut without_metadata = manifest.clone();
    if let Some(fields) = without_metadata.as_object_mut() {
        fields.insert("metadata".into(), json!({}));
    }
    violations(
        &version_schema(&crd, version),
        &without_metadata,
        "",
        &mut out,
    );
    out
}

#[test]
fn every_crd_schema_is_structural() {
    for crd in crds() {
        for version in &crd.spec.versions {
            let mut out = Vec::new();
            let schema = version_schema(&crd, &version.name);
            structural_violations(
                &schema,
                &format!("{}/{}", crd.spec.names.kind, version.name),
                &mut out,
            );
            assert!(out.is_empty(), "not structural:\n{}", out.join("\n"));
        }
    }
}

#[test]
fn every_default_satisfies_its_own_schema() {
    fn check(schema: &Value, path: &str, out: &mut Vec<String>) {
        if let Some(default) = schema.get("default") {
            violations(schema, default, path, out);
        }
        for (name, child) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            check(child, &format!("{path}.{name}"), out);
        }
        if let Some(items) = schema.get("items") {
            check(items, &format!("{path}[]"), out);
        }
    }
    for crd in crds() {
        for version in &crd.spec.versions {
            let mut out = Vec::new();
            check(
                &version_schema(&crd, &version.name),
                &version.name,
                &mut out,
            );
            assert!(out.is_empty(), "bad defaults:\n{}", out.join("\n"));
        }
    }
}

#[test]
fn testdata_manifests_conform_to_their_version_schema() -> TestResult {
    for (name, crd, _) in manifests() {
        let manifest = read_testdata(name)?;
        let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
        let version = api_version.rsplit('/').next().unwrap_or_default();
        assert_eq!(
            api_version,
            format!("{}/{version}", crd.spec.group),
            "{name}"
        );
        // The API server validates metadata as ObjectMeta, outside the CRD schema (which at
        // most requires it to be there).
        let mut without_metadata = manifest.clone();
        if let Some(fields) = without_metadata.as_object_mut() {
            fields.insert("metadata".into(), json!({}));
        }
        let mut out = Vec::new();
        violations(
            &version_schema(&crd, version),
            &without_metadata,
            "",
            &mut out,
        );
        assert!(
            out.is_empty(),
            "{name} does not conform:\n{}",
            out.join("\n")
        );
    }
    Ok(())
}

#[test]
fn flux_doc_examples_conform_to_their_version_schema() -> TestResult {
    for name in EXAMPLES {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name);
        let documents: Vec<Value> = serde_saphyr::from_multiple(&fs::read_to_string(path)?)?;
        assert!(documents.len() >= 3, "{name}");
        for document in documents {
            let out = manifest_violations(&document);
            assert!(
                out.is_empty(),
                "{name} {} does not conform:\n{}",
                document["kind"],
                out.join("\n")
            );
        }
    }
    Ok(())
}

/// The schema paths `manifest` declares at its version, and those it sets, under spec and status.
fn declared_and_set_paths(
    crd: &CustomResourceDefinition,
    manifest: &Value,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let version = manifest["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit('/').next());
    let schema = version_schema(crd, version.unwrap_or_default());
    let (mut declared, mut set) = (BTreeSet::new(), BTreeSet::new());
    for root in ["spec", "status"] {
        let path = format!(".{root}");
        schema_paths(&schema["properties"][root], &path, &mut declared);
        value_paths(
            &schema["properties"][root],
            &manifest[root],
            &path,
            &mut set,
        );
    }
    (declared, set)
}

/// Each `*-full.yaml` sets every field its version declares. A deprecated version also declares
/// its storage version's fields, which its own Rust type (and so its `-full` manifest, checked
/// lossless in `roundtrip.rs`) does not carry: there the manifest's `-with-<storage>-fields`
/// sibling, which sets everything the `-full` one sets, must set them all.
#[test]
fn full_manifests_set_every_schema_field() -> TestResult {
    let all = manifests();
    let mut gaps = Vec::new();
    for (name, crd, allowed_unset) in &all {
        let Some(prefix) = name.strip_suffix("-full.yaml") else {
            continue;
        };
        let (declared, own) = declared_and_set_paths(crd, &read_testdata(name)?);
        let sibling = all
            .iter()
            .find(|(other, _, _)| other.starts_with(&format!("{prefix}-with-")));
        let (checked, set, allowed_unset) = match sibling {
            Some((with_name, with_crd, with_unset)) => {
                let (_, set) = declared_and_set_paths(with_crd, &read_testdata(with_name)?);
                let dropped: Vec<_> = own.difference(&set).collect();
                if !dropped.is_empty() {
                    gaps.push(format!(
                        "{with_name} leaves out what {name} sets: {dropped:?}"
                    ));
                }
                (*with_name, set, *with_unset)
            }
            None => (*name, own, *allowed_unset),
        };
        let missing: Vec<_> = declared
            .difference(&set)
            .filter(|p| !allowed_unset.contains(&p.as_str()))
            .collect();
        if !missing.is_empty() {
            gaps.push(format!("{checked} leaves unset: {missing:?}"));
        }
    }
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    Ok(())
}

#[test]
fn flux_required_fields_and_defaults_are_pinned() {
    let git = git_repository_crd();
    let ks = kustomization_crd();
    let bucket = bucket_crd();
    let required = |schema: &Value, pointer: &str| schema.pointer(pointer).cloned();
    let cases = [
        (
            version_schema(&bucket, "v1"),
            "/properties/spec/required",
            json!(["bucketName", "endpoint", "interval"]),
        ),
        (
            version_schema(&bucket, "v1beta2"),
            "/properties/spec/required",
            json!(["bucketName", "endpoint", "interval"]),
        ),
        (
            version_schema(&bucket, "v1"),
            "/properties/spec/properties/provider/enum",
            json!(["generic", "aws", "gcp", "azure"]),
        ),
        (
            version_schema(&bucket, "v1"),
            "/properties/spec/properties/provider/default",
            json!("generic"),
        ),
        (
            version_schema(&bucket, "v1"),
            "/properties/spec/properties/timeout/default",
            json!("60s"),
        ),
        (
            version_schema(&bucket, "v1"),
            "/properties/spec/properties/sts/properties/provider/enum",
            json!(["aws", "ldap"]),
        ),
        (
            version_schema(&bucket, "v1"),
            "/properties/spec/properties/sts/required",
            json!(["provider", "endpoint"]),
        ),
        (
            version_schema(&git, "v1"),
            "/properties/spec/required",
            json!(["url", "interval"]),
        ),
        (
            version_schema(&git, "v1beta2"),
            "/properties/spec/required",
            json!(["url", "interval"]),
        ),
        (
            version_schema(&git, "v1beta1"),
            "/properties/spec/required",
            json!(["url", "interval"]),
        ),
        (
            version_schema(&git, "v1"),
            "/properties/status/properties/artifact/required",
            json!(["digest", "path", "url", "revision", "lastUpdateTime"]),
        ),
        (
            version_schema(&git, "v1"),
            "/properties/spec/properties/verify/properties/mode/default",
            json!("HEAD"),
        ),
        (
            version_schema(&git, "v1"),
            "/properties/spec/properties/timeout/default",
            json!("60s"),
        ),
        (
            version_schema(&ks, "v1"),
            "/properties/spec/required",
            json!(["interval", "prune", "sourceRef"]),
        ),
        (
            version_schema(&ks, "v1"),
            "/properties/spec/properties/force/default",
            json!(false),
        ),
        (
            version_schema(&ks, "v1"),
            "/properties/status/properties/inventory/properties/entries/items/required",
            json!(["id", "v"]),
        ),
        (
            version_schema(&ks, "v1"),
            "/properties/spec/properties/sourceRef/properties/kind/enum",
            json!([
                "OCIRepository",
                "GitRepository",
                "Bucket",
                "ExternalArtifact"
            ]),
        ),
        (
            version_schema(&ks, "v1beta1"),
            "/properties/spec/properties/sourceRef/properties/kind/enum",
            json!(["GitRepository", "Bucket"]),
        ),
        (
            version_schema(&ks, "v1beta2"),
            "/properties/spec/properties/patchesStrategicMerge/items/x-kubernetes-preserve-unknown-fields",
            json!(true),
        ),
    ];
    for (schema, pointer, expected) in cases {
        assert_eq!(required(&schema, pointer), Some(expected), "{pointer}");
    }
    for crd in [&git, &ks] {
        for version in ["v1", "v1beta1", "v1beta2"] {
            let status_default = version_schema(crd, version)
                .pointer("/properties/status/default")
                .cloned();
            assert_eq!(
                status_default,
                Some(json!({ "observedGeneration": -1 })),
                "{version}"
            );
        }
    }
}

#[test]
fn crd_level_settings_follow_flux() {
    const ALL_THREE: &[&str] = &["v1", "v1beta1", "v1beta2"];
    for (crd, short, categories, served) in [
        (
            git_repository_crd(),
            "gitrepo",
            ["all", "fluxcd", "fluxcd-sources"],
            ALL_THREE,
        ),
        (
            oci_repository_crd(),
            "ocirepo",
            ["all", "fluxcd", "fluxcd-sources"],
            &["v1", "v1beta2"],
        ),
        (
            kustomization_crd(),
            "ks",
            ["all", "fluxcd", "fluxcd-appliers"],
            ALL_THREE,
        ),
    ] {
        let kind = &crd.spec.names.kind;
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.names.short_names, Some(vec![short.to_owned()]));
        assert_eq!(
            crd.spec.names.categories,
            Some(categories.map(String::from).to_vec())
        );
        assert_eq!(crd.spec.names.list_kind, Some(format!("{kind}List")));
        assert_eq!(
            crd.spec.conversion.as_ref().map(|c| c.strategy.as_str()),
            Some("None")
        );
        let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(versions, served);
        for version in &crd.spec.versions {
            let is_v1 = version.name == "v1";
            assert!(version.served);
            assert_eq!(version.storage, is_v1);
            assert_eq!(version.deprecated, (!is_v1).then_some(true));
            let warning = format!("{} {kind} is deprecated, upgrade to v1", version.name);
            assert_eq!(version.deprecation_warning, (!is_v1).then_some(warning));
            assert!(
                version
                    .subresources
                    .as_ref()
                    .and_then(|s| s.status.as_ref())
                    .is_some()
            );
            let columns = version
                .additional_printer_columns
                .as_deref()
                .unwrap_or_default();
            assert!(
                columns.iter().any(|c| c.name == "Ready"),
                "{kind}/{}",
                version.name
            );
        }
    }
}

/// ExternalArtifact follows source-controller v1.9: v1 only, short name `ea`, the sources'
/// categories, a status subresource, the Source column, no required spec field, and no
/// `observedGeneration` in the status (so no status default either).
#[test]
fn external_artifact_crd_follows_flux() {
    let crd = external_artifact_crd();
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.short_names, Some(vec!["ea".to_owned()]));
    assert_eq!(
        crd.spec.names.categories,
        Some(vec!["all".into(), "fluxcd".into(), "fluxcd-sources".into()])
    );
    assert_eq!(crd.spec.names.plural, "externalartifacts");
    let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(versions, ["v1"]);
    let v1 = &crd.spec.versions[0];
    assert!(v1.served && v1.storage);
    assert!(
        v1.subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some()
    );
    let columns: Vec<_> = v1
        .additional_printer_columns
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| (c.name.as_str(), c.json_path.as_str()))
        .collect();
    assert!(
        columns.contains(&("Source", ".spec.sourceRef.name")),
        "{columns:?}"
    );
    assert!(columns.iter().any(|(name, _)| *name == "Ready"));
    let schema = version_schema(&crd, "v1");
    assert_eq!(schema.pointer("/properties/spec/required"), None);
    assert_eq!(schema.pointer("/properties/status/default"), None);
    assert_eq!(
        schema.pointer("/properties/status/properties/observedGeneration"),
        None
    );
    assert_eq!(
        schema.pointer("/properties/status/properties/artifact/required"),
        Some(&json!([
            "digest",
            "path",
            "url",
            "revision",
            "lastUpdateTime"
        ]))
    );
    assert_eq!(
        schema.pointer("/properties/spec/properties/sourceRef/required"),
        Some(&json!(["kind", "name"]))
    );
}

#[test]
fn image_required_fields_and_defaults_are_pinned() {
    let (repo, policy, auto) = (
        image_repository_crd(),
        image_policy_crd(),
        image_update_automation_crd(),
    );
    let cases = [
        (
            &repo,
            "v1",
            "/properties/spec/required",
            json!(["image", "interval"]),
        ),
        (
            &repo,
            "v1beta1",
            "/properties/spec/required",
            json!(["image", "interval"]),
        ),
        (
            &repo,
            "v1",
            "/properties/spec/properties/exclusionList/default",
            json!(["^.*\\.sig$"]),
        ),
        (
            &repo,
            "v1",
            "/properties/spec/properties/exclusionList/maxItems",
            json!(25),
        ),
        (
            &repo,
            "v1",
            "/properties/spec/properties/provider/default",
            json!("generic"),
        ),
        (
            &repo,
            "v1beta2",
            "/properties/spec/properties/provider/enum",
            json!(["generic", "aws", "azure", "gcp"]),
        ),
        (
            &repo,
            "v1",
            "/properties/spec/properties/timeout/pattern",
            json!("^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"),
        ),
        (
            &repo,
            "v1",
            "/properties/spec/properties/serviceAccountName/maxLength",
            json!(253),
        ),
        (
            &repo,
            "v1",
            "/properties/status/properties/lastScanResult/required",
            json!(["tagCount"]),
        ),
        (
            &repo,
            "v1",
            "/properties/status/properties/lastScanResult/properties/tagCount",
            json!({"description": "How many tags the scan found (after exclusions).", "type": "integer"}),
        ),
        (
            &policy,
            "v1",
            "/properties/spec/required",
            json!(["imageRepositoryRef", "policy"]),
        ),
        (
            &policy,
            "v1",
            "/properties/spec/properties/digestReflectionPolicy/default",
            json!("Never"),
        ),
        (
            &policy,
            "v1",
            "/properties/spec/properties/digestReflectionPolicy/enum",
            json!(["Always", "IfNotPresent", "Never"]),
        ),
        (
            &policy,
            "v1",
            "/properties/spec/properties/policy/properties/alphabetical/properties/order/default",
            json!("asc"),
        ),
        (
            &policy,
            "v1",
            "/properties/spec/properties/policy/properties/semver/required",
            json!(["range"]),
        ),
        (
            &policy,
            "v1",
            "/properties/status/properties/latestRef/required",
            json!(["name", "tag"]),
        ),
        (
            &policy,
            "v1beta1",
            "/properties/status/properties/latestImage/type",
            json!("string"),
        ),
        (
            &auto,
            "v1",
            "/properties/spec/required",
            json!(["sourceRef", "interval"]),
        ),
        (
            &auto,
            "v1",
            "/properties/spec/properties/sourceRef/required",
            json!(["kind", "name"]),
        ),
        (
            &auto,
            "v1",
            "/properties/spec/properties/sourceRef/properties/kind/default",
            json!("GitRepository"),
        ),
        (
            &auto,
            "v1",
            "/properties/spec/properties/update/default",
            json!({"strategy": "Setters"}),
        ),
        (
            &auto,
            "v1beta1",
            "/properties/spec/properties/update/required",
            json!(["strategy"]),
        ),
        (
            &auto,
            "v1",
            "/properties/spec/properties/git/properties/commit/properties/signingKey/properties/type/enum",
            json!(["gpg", "ssh"]),
        ),
        (
            &auto,
            "v1",
            "/properties/spec/properties/policySelector/x-kubernetes-map-type",
            json!("atomic"),
        ),
        (
            &auto,
            "v1",
            "/properties/spec/properties/policySelector/properties/matchExpressions/x-kubernetes-list-type",
            json!("atomic"),
        ),
        (
            &auto,
            "v1",
            "/properties/status/properties/observedPolicies/additionalProperties/required",
            json!(["name", "tag"]),
        ),
    ];
    for (crd, version, pointer, expected) in cases {
        let schema = version_schema(crd, version);
        assert_eq!(
            schema.pointer(pointer).cloned(),
            Some(expected),
            "{} {version} {pointer}",
            crd.spec.names.kind
        );
    }
    // v1 fields the deprecated versions also declare, so that the controller's writes at v1 of
    // an object applied at an old version convert to that version's managed fields.
    let declared_from_v1 = [
        (&repo, "v1beta1", "/properties/spec/properties/provider"),
        (
            &repo,
            "v1beta1",
            "/properties/status/properties/observedExclusionList",
        ),
        (
            &policy,
            "v1beta1",
            "/properties/spec/properties/digestReflectionPolicy",
        ),
        (
            &auto,
            "v1beta1",
            "/properties/spec/properties/policySelector",
        ),
        (
            &auto,
            "v1beta2",
            "/properties/spec/properties/git/properties/commit/properties/signingKey/properties/type",
        ),
    ];
    for (crd, version, pointer) in declared_from_v1 {
        let schema = version_schema(crd, version);
        assert!(
            schema.pointer(pointer).is_some(),
            "{} {version} {pointer}",
            crd.spec.names.kind
        );
    }
    // A field only an older version had is not taken into the others.
    let absent = [
        (
            &policy,
            "v1beta2",
            "/properties/status/properties/latestImage",
        ),
        (&policy, "v1", "/properties/status/properties/latestImage"),
    ];
    for (crd, version, pointer) in absent {
        let schema = version_schema(crd, version);
        assert!(
            schema.pointer(pointer).is_none(),
            "{} {version} {pointer}",
            crd.spec.names.kind
        );
    }
    let rules = version_schema(&policy, "v1")
        .pointer("/properties/spec/x-kubernetes-validations")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(rules, 2);
    for crd in [&repo, &policy, &auto] {
        for version in ["v1", "v1beta1", "v1beta2"] {
            assert_eq!(
                version_schema(crd, version).pointer("/properties/status/default"),
                Some(&json!({ "observedGeneration": -1 })),
                "{version}"
            );
        }
    }
}

/// A CRD with its short names, categories and (v1 and v1beta2) printer column names.
type CrdNames = (
    CustomResourceDefinition,
    &'static [&'static str],
    Option<&'static [&'static str]>,
    &'static [&'static str],
);

#[test]
fn image_crd_level_settings_follow_flux() {
    let cases: [CrdNames; 3] = [
        (
            image_repository_crd(),
            &["imgrepo", "imagerepo"],
            None,
            &["Image", "Tags", "Ready", "Status", "Last scan", "Age"],
        ),
        (
            image_policy_crd(),
            &["imgpol", "imagepol"],
            None,
            &["Image", "Tag", "Ready", "Status", "Age"],
        ),
        (
            image_update_automation_crd(),
            &["iua", "imgupd", "imgauto"],
            Some(&["all", "fluxcd", "fluxcd-images"]),
            &["Ready", "Status", "Last run", "Age"],
        ),
    ];
    for (crd, short, categories, v1_columns) in cases {
        let kind = &crd.spec.names.kind;
        assert_eq!(crd.spec.group, "image.toolkit.fluxcd.io");
        assert_eq!(crd.spec.scope, "Namespaced");
        let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(crd.spec.names.short_names, Some(owned(short)));
        assert_eq!(crd.spec.names.categories, categories.map(owned));
        assert_eq!(crd.spec.names.list_kind, Some(format!("{kind}List")));
        assert_eq!(
            crd.spec.conversion.as_ref().map(|c| c.strategy.as_str()),
            Some("None")
        );
        let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(versions, ["v1", "v1beta1", "v1beta2"]);
        for version in &crd.spec.versions {
            let is_v1 = version.name == "v1";
            assert!(version.served);
            assert_eq!(version.storage, is_v1);
            assert_eq!(version.deprecated, (!is_v1).then_some(true));
            let warning = format!("{} {kind} is deprecated, upgrade to v1", version.name);
            assert_eq!(version.deprecation_warning, (!is_v1).then_some(warning));
            assert!(
                version
                    .subresources
                    .as_ref()
                    .and_then(|s| s.status.as_ref())
                    .is_some()
            );
            let columns: Vec<_> = version
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|c| c.name.as_str())
                .collect();
            if version.name != "v1beta1" {
                assert_eq!(columns, v1_columns, "{kind}/{}", version.name);
            } else {
                assert!(!columns.is_empty(), "{kind}/v1beta1");
            }
        }
    }
}

#[test]
fn notification_crds_serve_the_versions_flux_served_with_their_columns() {
    let age_ready_status = ["Age", "Ready", "Status"];
    let cases: [(CustomResourceDefinition, &str, &[&str]); 3] = [
        (
            provider_crd(),
            "v1beta3",
            &["v1beta1", "v1beta2", "v1beta3"],
        ),
        (alert_crd(), "v1beta3", &["v1beta1", "v1beta2", "v1beta3"]),
        (receiver_crd(), "v1", &["v1", "v1beta2"]),
    ];
    for (crd, storage, served) in cases {
        let kind = crd.spec.names.kind.clone();
        assert_eq!(crd.spec.group, "notification.toolkit.fluxcd.io");
        assert_eq!(crd.spec.scope, "Namespaced");
        let categories = ["all", "fluxcd", "fluxcd-notifications"].map(String::from);
        assert_eq!(crd.spec.names.categories, Some(categories.to_vec()));
        assert_eq!(crd.spec.names.short_names, None);
        let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(versions, served, "{kind}");
        for version in &crd.spec.versions {
            let stored = version.name == storage;
            assert!(version.served);
            assert_eq!(version.storage, stored, "{kind}/{}", version.name);
            let warning = format!(
                "{} {kind} is deprecated, upgrade to {storage}",
                version.name
            );
            assert_eq!(version.deprecation_warning, (!stored).then_some(warning));
            let columns: Vec<_> = version
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|c| c.name.as_str())
                .collect();
            // v1beta3 Provider and Alert have no status, hence only an age column.
            let has_status = storage == "v1" || !stored;
            let expected: &[&str] = if has_status {
                &age_ready_status
            } else {
                &["Age"]
            };
            assert_eq!(columns, expected, "{kind}/{}", version.name);
            let status_subresource = version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref());
            assert_eq!(
                status_subresource.is_some(),
                has_status,
                "{kind}/{}",
                version.name
            );
        }
    }
}

#[test]
fn notification_required_fields_and_defaults_are_pinned() {
    let provider = version_schema(&provider_crd(), "v1beta3");
    assert_eq!(provider["properties"]["spec"]["required"], json!(["type"]));
    let types = &provider["properties"]["spec"]["properties"]["type"]["enum"];
    // Flux v2.9's 34 provider types, zoom and incident.io the newest.
    assert_eq!(types.as_array().map(Vec::len), Some(34));
    for newest in ["zoom", "incident.io"] {
        assert!(types.as_array().is_some_and(|t| t.contains(&json!(newest))));
    }
    assert!(provider["properties"].get("status").is_none());
    let alert = version_schema(&alert_crd(), "v1beta3");
    let alert_spec = &alert["properties"]["spec"];
    assert_eq!(
        alert_spec["required"],
        json!(["providerRef", "eventSources"])
    );
    assert_eq!(
        alert_spec["properties"]["eventSeverity"]["default"],
        json!("info")
    );
    assert_eq!(
        alert_spec["properties"]["eventSeverity"]["enum"],
        json!(["info", "error"])
    );
    let source = &alert_spec["properties"]["eventSources"]["items"];
    assert_eq!(source["required"], json!(["kind", "name"]));
    assert_eq!(source["properties"]["name"]["maxLength"], json!(253));
    let receiver = version_schema(&receiver_crd(), "v1");
    let receiver_spec = &receiver["properties"]["spec"];
    assert_eq!(receiver_spec["required"], json!(["type", "resources"]));
    assert_eq!(
        receiver_spec["properties"]["interval"]["default"],
        json!("10m")
    );
    assert_eq!(
        receiver["properties"]["status"]["default"],
        json!({"observedGeneration": -1})
    );
    assert!(receiver["properties"]["status"]["properties"]["webhookPath"].is_object());
    let beta = version_schema(&receiver_crd(), "v1beta2");
    assert_eq!(
        beta["properties"]["spec"]["required"],
        json!(["type", "resources", "secretRef"])
    );
    let beta_source = &beta["properties"]["spec"]["properties"]["resources"]["items"];
    assert_eq!(beta_source["properties"]["name"]["maxLength"], json!(53));
}

#[test]
fn helm_required_fields_and_defaults_are_pinned() {
    let (repo, chart, release) = (helm_repository_crd(), helm_chart_crd(), helm_release_crd());
    let cases = [
        (&repo, "v1", "/properties/spec/required", json!(["url"])),
        (
            &repo,
            "v1",
            "/properties/spec/properties/provider/default",
            json!("generic"),
        ),
        (
            &repo,
            "v1",
            "/properties/spec/properties/type/enum",
            json!(["default", "oci"]),
        ),
        (
            &repo,
            "v1",
            "/properties/spec/properties/url/pattern",
            json!("^(http|https|oci)://.*$"),
        ),
        (
            &chart,
            "v1",
            "/properties/spec/required",
            json!(["chart", "sourceRef", "interval"]),
        ),
        (
            &chart,
            "v1",
            "/properties/spec/properties/reconcileStrategy/default",
            json!("ChartVersion"),
        ),
        (
            &chart,
            "v1",
            "/properties/spec/properties/version/default",
            json!("*"),
        ),
        (
            &chart,
            "v1",
            "/properties/spec/properties/sourceRef/properties/kind/enum",
            json!(["HelmRepository", "GitRepository", "Bucket"]),
        ),
        (
            &chart,
            "v1",
            "/properties/spec/properties/verify/properties/provider/default",
            json!("cosign"),
        ),
        (
            &release,
            "v2",
            "/properties/spec/required",
            json!(["interval"]),
        ),
        (
            &release,
            "v2",
            "/properties/spec/properties/chart/properties/spec/properties/version/default",
            json!("*"),
        ),
        (
            &release,
            "v2",
            "/properties/spec/properties/chartRef/properties/kind/enum",
            json!(["OCIRepository", "HelmChart", "ExternalArtifact"]),
        ),
        (
            &release,
            "v2",
            "/properties/spec/properties/releaseName/maxLength",
            json!(53),
        ),
        (
            &release,
            "v2",
            "/properties/spec/properties/uninstall/properties/deletionPropagation/default",
            json!("background"),
        ),
        (
            &release,
            "v2",
            "/properties/spec/properties/upgrade/properties/remediation/properties/strategy/enum",
            json!(["rollback", "uninstall"]),
        ),
        (
            &release,
            "v2",
            "/properties/spec/properties/values/x-kubernetes-preserve-unknown-fields",
            json!(true),
        ),
        (
            &release,
            "v2",
            "/properties/status/properties/lastAttemptedReleaseAction/enum",
            json!(["install", "upgrade"]),
        ),
        (
            &release,
            "v2",
            "/properties/status/properties/history/items/required",
            json!([
                "digest",
                "name",
                "namespace",
                "version",
                "status",
                "chartName",
                "chartVersion",
                "configDigest",
                "firstDeployed",
                "lastDeployed"
            ]),
        ),
    ];
    for (crd, version, pointer, expected) in cases {
        let schema = version_schema(crd, version);
        assert_eq!(
            schema.pointer(pointer).cloned(),
            Some(expected),
            "{} {version} {pointer}",
            crd.spec.names.kind
        );
    }
}

#[test]
fn helm_crd_level_settings_follow_flux() {
    for (crd, short, categories, storage) in [
        (
            helm_repository_crd(),
            "helmrepo",
            ["all", "fluxcd", "fluxcd-sources"],
            "v1",
        ),
        (
            helm_chart_crd(),
            "hc",
            ["all", "fluxcd", "fluxcd-sources"],
            "v1",
        ),
        (
            helm_release_crd(),
            "hr",
            ["all", "fluxcd", "fluxcd-appliers"],
            "v2",
        ),
    ] {
        let served: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        let expected: &[&str] = match storage {
            "v2" => &["v2", "v2beta1", "v2beta2"],
            _ => &["v1", "v1beta2"],
        };
        assert_eq!(served, expected);
        let kind = &crd.spec.names.kind;
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.names.short_names, Some(vec![short.to_owned()]));
        assert_eq!(
            crd.spec.names.categories,
            Some(categories.map(String::from).to_vec())
        );
        assert_eq!(crd.spec.names.list_kind, Some(format!("{kind}List")));
        for version in &crd.spec.versions {
            let stored = version.name == storage;
            assert!(version.served);
            assert_eq!(version.storage, stored, "{kind}/{}", version.name);
            let warning = format!(
                "{} {kind} is deprecated, upgrade to {storage}",
                version.name
            );
            assert_eq!(version.deprecation_warning, (!stored).then_some(warning));
        }
    }
}

#[test]
fn helm_operator_crd_follows_helm_operator() {
    let crd = helm_operator_release_crd();
    assert_eq!(crd.spec.group, "helm.fluxcd.io");
    assert_eq!(
        crd.spec.names.short_names,
        Some(vec!["hr".to_owned(), "hrs".to_owned()])
    );
    assert_eq!(crd.spec.names.categories, None);
    let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(versions, ["v1"]);
    assert!(crd.spec.versions[0].storage);
    let schema = version_schema(&crd, "v1");
    let cases = [
        ("/required", json!(["metadata", "spec"])),
        ("/properties/spec/required", json!(["chart"])),
        ("/properties/status/default", Value::Null),
        (
            "/properties/spec/properties/helmVersion/enum",
            json!(["v2", "v3"]),
        ),
        ("/properties/spec/properties/timeout/format", json!("int64")),
        (
            "/properties/status/properties/conditions/items/required",
            json!(["type", "status"]),
        ),
        (
            "/properties/status/properties/conditions/items/properties/type/enum",
            json!([
                "ChartFetched",
                "Deployed",
                "Released",
                "RolledBack",
                "Tested"
            ]),
        ),
    ];
    for (pointer, expected) in cases {
        let found = schema.pointer(pointer).cloned().unwrap_or(Value::Null);
        assert_eq!(found, expected, "{pointer}");
    }
    let columns: Vec<_> = crd.spec.versions[0]
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        ["Release", "Phase", "ReleaseStatus", "Message", "Age"]
    );
}
