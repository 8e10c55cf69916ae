//! The generated CRDs against a real kube-apiserver: they are accepted and become Established,
//! manifests from a Flux tutorial (v1beta1 GitRepository, v1beta2 Kustomization) and from Flux's
//! image automation docs (v1beta2 ImageRepository, ImagePolicy, ImageUpdateAutomation) are
//! accepted as they are, v1 objects (including the image kinds with every spec field set)
//! keep every field when read back, and so do the storage-version fields of objects applied at
//! a deprecated version.

use anyhow::Context;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use tether_testkit::cluster::{TestNamespace, client, install_crds};

const TUTORIAL: &str = r#"
apiVersion: source.toolkit.fluxcd.io/v1beta1
kind: GitRepository
metadata: {name: gitops-demo-app, namespace: flux-system}
spec:
  interval: 30s
  url: ssh://git@github.com/pythops/gitops-demo-app
  ref: {branch: master}
  secretRef: {name: ssh-credentials}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata: {name: gitops-demo-app, namespace: flux-system}
spec:
  interval: 30s
  sourceRef: {kind: GitRepository, name: gitops-demo-app}
  path: ./kustomize
  prune: true
  targetNamespace: default
"#;

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

async fn create(client: &kube::Client, ns: &str, mut object: Value) -> anyhow::Result<Value> {
    object["metadata"]["namespace"] = json!(ns);
    let api = dynamic_api(client, ns, &object)?;
    let dynamic: DynamicObject = serde_json::from_value(object.clone())?;
    let created = api
        .create(&PostParams::default(), &dynamic)
        .await
        .with_context(|| format!("the apiserver rejected {}", object["kind"]))?;
    Ok(serde_json::to_value(created)?)
}

#[tokio::test]
async fn tutorial_manifests_are_accepted_as_they_are() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-tutorial").await?;
    let documents: Vec<Value> = serde_saphyr::from_multiple(TUTORIAL)?;
    assert_eq!(documents.len(), 2);
    for document in documents {
        let spec = document["spec"].clone();
        let created = create(&client, &ns.name, document).await?;
        assert_eq!(
            created["spec"],
            with_defaults(&spec, &created["kind"]),
            "spec changed on the way in"
        );
    }
    Ok(())
}

/// The tutorial's spec plus the defaults the CRD schema makes the apiserver fill in.
fn with_defaults(spec: &Value, kind: &Value) -> Value {
    let mut expected = spec.clone();
    let defaults = match kind.as_str() {
        Some("GitRepository") => json!({"timeout": "60s"}),
        _ => json!({"force": false}),
    };
    for (key, value) in defaults.as_object().into_iter().flatten() {
        if expected.get(key).is_none() {
            expected[key] = value.clone();
        }
    }
    expected
}

#[tokio::test]
async fn v1_objects_keep_every_field_when_read_back() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-v1").await?;
    let git_repository = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "gitops-demo-app"},
        "spec": {
            "interval": "30s", "timeout": "60s",
            "url": "ssh://git@github.com/pythops/gitops-demo-app",
            "ref": {"branch": "master"},
            "secretRef": {"name": "ssh-credentials"},
            "ignore": "/*\n!/kustomize\n",
            "recurseSubmodules": true,
            "suspend": false,
            "include": [{"repository": {"name": "other"}, "fromPath": "deploy", "toPath": "other"}],
            "verify": {"mode": "HEAD", "secretRef": {"name": "pgp-keys"}},
            "sparseCheckout": ["kustomize"]
        }
    });
    let kustomization = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "gitops-demo-app"},
        "spec": {
            "interval": "30s", "retryInterval": "1m", "timeout": "3m",
            "sourceRef": {"kind": "GitRepository", "name": "gitops-demo-app"},
            "path": "./kustomize", "prune": true, "wait": true, "force": false,
            "targetNamespace": "default", "namePrefix": "p-", "nameSuffix": "-s",
            "dependsOn": [{"name": "infra"}],
            "commonMetadata": {"labels": {"team": "a"}, "annotations": {"owner": "b"}},
            "images": [{"name": "nginx", "newTag": "1.27"}],
            "patches": [{"patch": "- op: add\n  path: /metadata/labels/x\n  value: y\n",
                         "target": {"kind": "Deployment", "labelSelector": "app=web"}}],
            "postBuild": {"substitute": {"cluster": "dev"},
                          "substituteFrom": [{"kind": "ConfigMap", "name": "vars", "optional": true}]},
            "healthChecks": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "default"}],
            "deletionPolicy": "Delete",
            "suspend": false
        }
    });
    for object in [git_repository, kustomization] {
        let created = create(&client, &ns.name, object.clone()).await?;
        let api = dynamic_api(&client, &ns.name, &object)?;
        let name = object["metadata"]["name"].as_str().context("name")?;
        let read_back = serde_json::to_value(api.get(name).await?)?;
        assert_eq!(read_back["spec"], created["spec"]);
        assert_eq!(
            read_back["spec"], object["spec"],
            "a field was lost or changed"
        );
    }
    Ok(())
}

/// The example of Flux's image-automation-controller v1beta2 docs: a GitRepository and the
/// v1beta2 ImageRepository, ImagePolicy and ImageUpdateAutomation using it.
const IMAGE_AUTOMATION_V1BETA2: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../api/testdata/image-automation-v1beta2-example.yaml"
));

/// v1 image objects setting every spec field.
const IMAGE_V1_FULL: [&str; 3] = [
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../api/testdata/imagerepository-v1-full.yaml"
    )),
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../api/testdata/imagepolicy-v1-full.yaml"
    )),
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../api/testdata/imageupdateautomation-v1-full.yaml"
    )),
];

/// The docs example's spec plus the defaults the image CRD schemas make the apiserver fill in.
fn with_image_defaults(spec: &Value, kind: &str) -> Value {
    let mut expected = spec.clone();
    match kind {
        "GitRepository" => expected["timeout"] = json!("60s"),
        "ImageRepository" => {
            expected["exclusionList"] = json!(["^.*\\.sig$"]);
            expected["provider"] = json!("generic");
        }
        "ImagePolicy" => expected["digestReflectionPolicy"] = json!("Never"),
        "ImageUpdateAutomation" => expected["update"]["strategy"] = json!("Setters"),
        _ => {}
    }
    expected
}

#[tokio::test]
async fn image_automation_docs_example_is_accepted_as_it_is() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-image-v1beta2").await?;
    let documents: Vec<Value> = serde_saphyr::from_multiple(IMAGE_AUTOMATION_V1BETA2)?;
    assert_eq!(documents.len(), 4);
    for document in documents {
        let kind = document["kind"].as_str().context("kind")?.to_owned();
        let spec = document["spec"].clone();
        let created = create(&client, &ns.name, document).await?;
        assert_eq!(
            created["spec"],
            with_image_defaults(&spec, &kind),
            "{kind} spec changed on the way in"
        );
    }
    Ok(())
}

#[tokio::test]
async fn v1_image_objects_keep_every_field_when_read_back() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-image-v1").await?;
    for text in IMAGE_V1_FULL {
        let mut object: Value = serde_saphyr::from_str(text)?;
        // Status is a subresource: the apiserver ignores it on create, so it is patched after.
        let status = object
            .as_object_mut()
            .and_then(|fields| fields.remove("status"))
            .context("status")?;
        object["metadata"] = json!({"name": object["metadata"]["name"].clone()});
        let created = create(&client, &ns.name, object.clone()).await?;
        let api = dynamic_api(&client, &ns.name, &object)?;
        let name = object["metadata"]["name"].as_str().context("name")?;
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .with_context(|| format!("the apiserver rejected the {} status", object["kind"]))?;
        let read_back = serde_json::to_value(api.get(name).await?)?;
        assert_eq!(read_back["spec"], created["spec"]);
        assert_eq!(
            read_back["spec"], object["spec"],
            "a {} spec field was lost or changed",
            object["kind"]
        );
        assert_eq!(
            read_back["status"], status,
            "a {} status field was lost or changed",
            object["kind"]
        );
    }
    Ok(())
}

/// The finalizer policy of `tether install --admission-policy`, renamed and bound to the
/// namespaces labelled `label`, so that the test affects nothing else in the shared cluster.
fn finalizer_policy_for(label: &str) -> anyhow::Result<Vec<Value>> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["install", "--export", "--admission-policy"])
        .output()?;
    anyhow::ensure!(output.status.success(), "tether install failed");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8(output.stdout)?)?;
    let mut policy: Vec<Value> = documents
        .into_iter()
        .filter(|d| d["apiVersion"] == "admissionregistration.k8s.io/v1")
        .collect();
    anyhow::ensure!(policy.len() == 2, "policy and binding: {policy:?}");
    let name = format!("tether-finalizers-{label}");
    policy[0]["metadata"]["name"] = json!(name);
    policy[1]["metadata"]["name"] = json!(name);
    policy[1]["spec"]["policyName"] = json!(name);
    policy[1]["spec"]["matchResources"] =
        json!({"namespaceSelector": {"matchLabels": {"tether-e2e-finalizers": label}}});
    Ok(policy)
}

fn cluster_api(client: &kube::Client, object: &Value) -> anyhow::Result<Api<DynamicObject>> {
    let kind = object["kind"].as_str().context("kind")?;
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "admissionregistration.k8s.io",
        "v1",
        kind,
    ));
    Ok(Api::all_with(client.clone(), &resource))
}

#[tokio::test]
async fn the_admission_policy_gives_new_objects_their_finalizer() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-finalizers").await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let label = json!({"metadata": {"labels": {"tether-e2e-finalizers": ns.name}}});
    namespaces
        .patch(&ns.name, &PatchParams::default(), &Patch::Merge(&label))
        .await?;
    let policy = finalizer_policy_for(&ns.name)?;
    for object in &policy {
        let dynamic: DynamicObject = serde_json::from_value(object.clone())?;
        cluster_api(&client, object)?
            .create(&PostParams::default(), &dynamic)
            .await
            .with_context(|| format!("the apiserver rejected {}", object["kind"]))?;
    }

    let kustomization = |name: &str, finalizers: Value| {
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "finalizers": finalizers},
            "spec": {"interval": "1h", "path": "./", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}}})
    };
    // The policy takes effect once the apiserver has loaded it: probe with dry-run creates.
    let probe = kustomization("probe", json!(null));
    let api = dynamic_api(&client, &ns.name, &probe)?;
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let mut probe = serde_json::from_value::<DynamicObject>(probe)?;
    probe.metadata.namespace = Some(ns.name.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while api
        .create(&dry_run, &probe)
        .await?
        .metadata
        .finalizers
        .is_none()
    {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the policy never applied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let plain = create(&client, &ns.name, kustomization("plain", json!(null))).await?;
    let shared = create(
        &client,
        &ns.name,
        kustomization("shared", json!(["example.com/other"])),
    )
    .await?;
    let source = create(
        &client,
        &ns.name,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app"},
            "spec": {"url": "https://example.test/app.git", "interval": "1h"}}),
    )
    .await?;
    let helm_release = create(
        &client,
        &ns.name,
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "app"},
            "spec": {"interval": "1h", "chartRef": {"kind": "OCIRepository", "name": "app"}}}),
    )
    .await?;
    let finalizers = |o: &Value| o["metadata"]["finalizers"].clone();
    let cleanup = async {
        for object in policy.iter().rev() {
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            let _ = cluster_api(&client, object)?
                .delete(name, &Default::default())
                .await;
        }
        let release = json!({"metadata": {"finalizers": null}});
        for object in [&plain, &shared, &source, &helm_release] {
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            dynamic_api(&client, &ns.name, object)?
                .patch(name, &PatchParams::default(), &Patch::Merge(&release))
                .await?;
        }
        anyhow::Ok(())
    };
    let checks = (finalizers(&plain), finalizers(&shared), finalizers(&source));
    let helm_finalizers = finalizers(&helm_release);
    cleanup.await?;
    assert_eq!(helm_finalizers, json!(["finalizers.fluxcd.io"]));
    assert_eq!(checks.0, json!(["finalizers.fluxcd.io"]));
    assert_eq!(
        checks.1,
        json!(["example.com/other", "finalizers.fluxcd.io"])
    );
    assert_eq!(checks.2, json!(["finalizers.fluxcd.io"]));
    Ok(())
}

/// The deprecated versions' full manifests with every storage-version field added
/// (`crates/api/testdata/*-with-*-fields.yaml`), as JSON.
fn deprecated_with_storage_fields() -> anyhow::Result<Vec<(String, Value)>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/testdata");
    let mut manifests = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.contains("-with-") && name.ends_with("-fields.yaml") {
            let text = std::fs::read_to_string(&path)?;
            manifests.push((name, serde_saphyr::from_str(&text)?));
        }
    }
    manifests.sort_by(|a, b| a.0.cmp(&b.0));
    anyhow::ensure!(!manifests.is_empty(), "no manifests in {}", dir.display());
    Ok(manifests)
}

/// The `openAPIV3Schema` of the storage version of `object`'s kind, as JSON.
fn storage_schema(object: &Value) -> Value {
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'));
    let crd = tether_api::crds().into_iter().find(|crd| {
        Some(crd.spec.group.as_str()) == group.map(|g| g.0) && object["kind"] == crd.spec.names.kind
    });
    let version = crd.and_then(|crd| crd.spec.versions.into_iter().find(|v| v.storage));
    let schema = version
        .and_then(|v| v.schema)
        .and_then(|s| s.open_api_v3_schema);
    serde_json::to_value(schema).unwrap_or_default()
}

/// `value` without the fields `schema` does not declare (what the apiserver prunes from an
/// object stored at that schema's version).
fn declared_only(value: &Value, schema: &Value) -> Value {
    match value {
        Value::Object(fields) if schema["properties"].is_object() => fields
            .iter()
            .filter(|(name, _)| schema["properties"].get(name.as_str()).is_some())
            .map(|(name, field)| {
                (
                    name.clone(),
                    declared_only(field, &schema["properties"][name]),
                )
            })
            .collect(),
        Value::Object(fields) if schema["additionalProperties"].is_object() => fields
            .iter()
            .map(|(name, field)| {
                (
                    name.clone(),
                    declared_only(field, &schema["additionalProperties"]),
                )
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| declared_only(item, &schema["items"]))
            .collect(),
        _ => value.clone(),
    }
}

/// An object applied at a deprecated version may carry any storage-version field (the
/// controller writes them at v1 and the apiserver converts its managedFields to the old
/// version): the apiserver accepts them all, CEL rules included, and prunes none.
#[tokio::test]
async fn deprecated_objects_keep_every_storage_field_when_read_back() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "crd-deprecated").await?;
    for (file, mut object) in deprecated_with_storage_fields()? {
        let status = object
            .as_object_mut()
            .and_then(|fields| fields.remove("status"));
        // Named after the file: several versions of one kind share a namespace here.
        object["metadata"] = json!({"name": file.trim_end_matches(".yaml")});
        let created = create(&client, &ns.name, object.clone())
            .await
            .with_context(|| file.clone())?;
        let api = dynamic_api(&client, &ns.name, &object)?;
        let name = object["metadata"]["name"].as_str().context("name")?;
        if let Some(status) = &status {
            api.patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .with_context(|| format!("the apiserver rejected the status of {file}"))?;
        }
        // Every field the storage version declares is kept; fields only the old version has
        // are pruned once stored, as with Flux's CRDs (conversion None).
        let stored = storage_schema(&object);
        let read_back = serde_json::to_value(api.get(name).await?)?;
        assert_eq!(read_back["spec"], created["spec"], "{file}");
        assert_eq!(
            read_back["spec"],
            declared_only(&object["spec"], &stored["properties"]["spec"]),
            "{file}: a storage-version spec field was lost or changed"
        );
        // Alert and Provider are stored at v1beta3, which has no status at all.
        let status_schema = &stored["properties"]["status"];
        if let Some(status) = status.filter(|_| !status_schema.is_null()) {
            assert_eq!(
                read_back["status"],
                declared_only(&status, status_schema),
                "{file}: a storage-version status field was lost or changed"
            );
        }
    }
    Ok(())
}
