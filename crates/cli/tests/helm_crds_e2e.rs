//! The Helm CRDs (HelmRepository, HelmChart, both HelmRelease groups) against a real
//! kube-apiserver: the full testdata manifests of every served version are accepted as they
//! are and keep every spec field their storage version has (fields only a deprecated version
//! has are pruned, as with Flux's CRDs), the API server fills in Flux's defaults, and the CEL
//! rules reject what Flux's reject.

use std::path::PathBuf;

use anyhow::Context;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{Value, json};
use tether_testkit::cluster::{TestNamespace, client, install_crds};

fn dynamic_api(
    client: &kube::Client,
    ns: &str,
    object: &Value,
) -> anyhow::Result<Api<DynamicObject>> {
    let api_version = object["apiVersion"].as_str().context("apiVersion")?;
    let kind = object["kind"].as_str().context("kind")?;
    let (group, version) = api_version.split_once('/').context("group/version")?;
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Ok(Api::namespaced_with(client.clone(), ns, &resource))
}

/// Creates `object` (without its status) in `ns` and returns what the API server stored.
async fn create(client: &kube::Client, ns: &str, mut object: Value) -> anyhow::Result<Value> {
    object["metadata"] = json!({"name": object["metadata"]["name"], "namespace": ns});
    if let Some(fields) = object.as_object_mut() {
        fields.remove("status");
    }
    let api = dynamic_api(client, ns, &object)?;
    let dynamic: DynamicObject = serde_json::from_value(object.clone())?;
    let created = api
        .create(&PostParams::default(), &dynamic)
        .await
        .with_context(|| {
            format!(
                "the apiserver rejected {} {}",
                object["apiVersion"], object["kind"]
            )
        })?;
    Ok(serde_json::to_value(created)?)
}

/// The spec schema of the storage version of the CRD serving `object`'s kind in its group.
fn storage_spec_schema(object: &Value) -> anyhow::Result<Value> {
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map(|(g, _)| g);
    let crd = tether_api::crds()
        .into_iter()
        .find(|crd| Some(crd.spec.group.as_str()) == group && object["kind"] == crd.spec.names.kind)
        .context("no CRD for the object")?;
    let storage = crd
        .spec
        .versions
        .into_iter()
        .find(|v| v.storage)
        .context("no storage version")?;
    let schema = serde_json::to_value(storage.schema.context("no schema")?.open_api_v3_schema)?;
    Ok(schema["properties"]["spec"].clone())
}

/// `value` without the fields `schema` does not declare, as the API server prunes them.
fn pruned(schema: &Value, value: &Value) -> Value {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true)) {
        return value.clone();
    }
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter_map(|(name, field)| {
                    let child = schema["properties"]
                        .get(name)
                        .or(schema.get("additionalProperties"))?;
                    Some((name.clone(), pruned(child, field)))
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| pruned(&schema["items"], i)).collect())
        }
        other => other.clone(),
    }
}

fn testdata(name: &str) -> anyhow::Result<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../api/testdata")
        .join(name);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(serde_saphyr::from_str(&text)?)
}

#[tokio::test]
async fn helm_manifests_of_every_version_keep_every_spec_field() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-helm").await?;
    for name in [
        "helmrepository-v1-full.yaml",
        "helmrepository-v1beta2-full.yaml",
        "helmchart-v1-full.yaml",
        "helmchart-v1beta2-full.yaml",
        "helmrelease-v2-full.yaml",
        "helmrelease-v2-chartref.yaml",
        "helmrelease-v2beta2-full.yaml",
        "helmrelease-v2beta1-full.yaml",
        "helmrelease-helm-operator-v1-full.yaml",
        "helmrelease-helm-operator-v1-rabbit.yaml",
    ] {
        let mut manifest = testdata(name)?;
        // One object per manifest: the beta versions share names with the v1 and v2 ones.
        manifest["metadata"]["name"] = json!(name.trim_end_matches(".yaml"));
        let expected = pruned(&storage_spec_schema(&manifest)?, &manifest["spec"]);
        let created = create(&client, &ns.name, manifest.clone()).await?;
        assert_eq!(
            created["spec"], expected,
            "{name}: spec changed on the way in"
        );
    }
    Ok(())
}

#[test]
fn only_deprecated_fields_are_expected_to_be_pruned() -> anyhow::Result<()> {
    let chart = testdata("helmchart-v1beta2-full.yaml")?;
    let kept = pruned(&storage_spec_schema(&chart)?, &chart["spec"]);
    let dropped: Vec<_> = chart["spec"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| kept.get(name.as_str()).is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(dropped, ["valuesFile", "accessFrom"]);
    let release = testdata("helmrelease-v2-full.yaml")?;
    assert_eq!(
        pruned(&storage_spec_schema(&release)?, &release["spec"]),
        release["spec"]
    );
    Ok(())
}

#[tokio::test]
async fn the_api_server_fills_in_flux_helm_defaults() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-helm-defaults").await?;
    let repo = create(
        &client,
        &ns.name,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "podinfo"},
            "spec": {"url": "https://stefanprodan.github.io/podinfo"},
        }),
    )
    .await?;
    assert_eq!(repo["spec"]["provider"], "generic");
    assert_eq!(repo["status"], json!({"observedGeneration": -1}));
    let chart = create(
        &client,
        &ns.name,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
            "metadata": {"name": "podinfo"},
            "spec": {"chart": "podinfo", "interval": "5m",
                     "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                     "verify": {"secretRef": {"name": "cosign-pub"}}},
        }),
    )
    .await?;
    assert_eq!(chart["spec"]["reconcileStrategy"], "ChartVersion");
    assert_eq!(chart["spec"]["version"], "*");
    assert_eq!(chart["spec"]["verify"]["provider"], "cosign");
    let release = create(&client, &ns.name, json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "podinfo"},
        "spec": {"interval": "10m", "uninstall": {},
                 "chart": {"spec": {"chart": "podinfo",
                                    "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}},
    }))
    .await?;
    let template = &release["spec"]["chart"]["spec"];
    assert_eq!(template["version"], "*");
    assert_eq!(template["reconcileStrategy"], "ChartVersion");
    assert_eq!(
        release["spec"]["uninstall"]["deletionPropagation"],
        "background"
    );
    assert_eq!(release["status"], json!({"observedGeneration": -1}));
    let operator = create(
        &client,
        &ns.name,
        testdata("helmrelease-helm-operator-v1-rabbit.yaml")?,
    )
    .await?;
    assert_eq!(operator["spec"]["chart"]["name"], "rabbitmq");
    assert_eq!(
        operator.get("status"),
        None,
        "helm-operator's CRD has no status default"
    );
    Ok(())
}

#[tokio::test]
async fn cel_rules_and_enums_reject_what_flux_rejects() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-helm-cel").await?;
    let chart_template = json!({"spec": {"chart": "podinfo",
                                         "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}});
    let chart_ref = json!({"kind": "OCIRepository", "name": "podinfo"});
    let rejected = [
        (
            "both chart and chartRef",
            "either chart or chartRef must be set",
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "both"},
                "spec": {"interval": "5m", "chart": chart_template, "chartRef": chart_ref},
            }),
        ),
        (
            "neither chart nor chartRef",
            "either chart or chartRef must be set",
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "neither"},
                "spec": {"interval": "5m"},
            }),
        ),
        (
            "a retry interval with RemediateOnFailure",
            "retryInterval cannot be set when .name is 'RemediateOnFailure'",
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "retry"},
                "spec": {"interval": "5m", "chartRef": chart_ref,
                         "install": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}},
            }),
        ),
        (
            "an ExternalArtifact chartRef in v2beta2",
            "Unsupported value",
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2beta2", "kind": "HelmRelease",
                "metadata": {"name": "external"},
                "spec": {"interval": "5m",
                         "chartRef": {"kind": "ExternalArtifact", "name": "podinfo"}},
            }),
        ),
        (
            "verify on a Git source",
            "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
                "metadata": {"name": "git"},
                "spec": {"chart": "./charts/podinfo", "interval": "5m",
                         "sourceRef": {"kind": "GitRepository", "name": "podinfo"},
                         "verify": {"provider": "cosign"}},
            }),
        ),
        (
            "an unknown repository type",
            "Unsupported value",
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": {"name": "bad-type"},
                "spec": {"url": "https://charts.example", "type": "git"},
            }),
        ),
        (
            "an unknown helm-operator Helm version",
            "Unsupported value",
            json!({
                "apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
                "metadata": {"name": "bad-helm-version"},
                "spec": {"chart": {"repository": "https://charts.example", "name": "x",
                                   "version": "1.0.0"},
                         "helmVersion": "v4"},
            }),
        ),
    ];
    for (what, reason, object) in rejected {
        let error = match create(&client, &ns.name, object).await {
            Ok(_) => anyhow::bail!("the apiserver accepted {what}"),
            Err(error) => format!("{error:#}"),
        };
        assert!(
            error.contains(reason),
            "{what} rejected for another reason: {error}"
        );
    }
    Ok(())
}
