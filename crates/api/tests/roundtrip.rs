//! Every manifest under `testdata/` deserializes into its typed Rust form and serializes back to
//! exactly the same JSON: no field lost, none added, no value rewritten.

use std::{fs, path::PathBuf};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tether_api::{kustomize, source};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn read_testdata(name: &str) -> Result<String, std::io::Error> {
    fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name),
    )
}

/// Parses `name` as `K`, re-serializes it and compares with the untyped parse of the same file.
fn assert_lossless<K: DeserializeOwned + Serialize>(
    name: &str,
) -> Result<K, Box<dyn std::error::Error>> {
    let text = read_testdata(name)?;
    let untyped: Value = serde_saphyr::from_str(&text)?;
    let typed: K = serde_saphyr::from_str(&text)?;
    let reserialized = serde_json::to_value(&typed)?;
    assert_eq!(
        reserialized,
        untyped,
        "{name} changed in a round trip through {}",
        std::any::type_name::<K>()
    );
    Ok(typed)
}

#[test]
fn flux_tutorial_gitrepository_v1beta1() -> TestResult {
    let repo: source::v1beta1::GitRepository =
        assert_lossless("gitrepository-v1beta1-tutorial.yaml")?;
    assert_eq!(repo.metadata.name.as_deref(), Some("gitops-demo-app"));
    assert_eq!(
        repo.spec.interval.to_std()?,
        std::time::Duration::from_secs(30)
    );
    let branch = repo.spec.reference.and_then(|r| r.branch);
    assert_eq!(branch.as_deref(), Some("master"));
    assert_eq!(
        repo.spec.secret_ref.map(|s| s.name).as_deref(),
        Some("ssh-credentials")
    );
    Ok(())
}

#[test]
fn flux_tutorial_kustomization_v1beta2() -> TestResult {
    let ks: kustomize::v1beta2::Kustomization =
        assert_lossless("kustomization-v1beta2-tutorial.yaml")?;
    assert_eq!(
        ks.spec.source_ref.kind,
        kustomize::v1beta2::SourceKind::GitRepository
    );
    assert_eq!(ks.spec.path.as_deref(), Some("./kustomize"));
    assert!(ks.spec.prune);
    assert_eq!(ks.spec.target_namespace.as_deref(), Some("default"));
    Ok(())
}

#[test]
fn full_gitrepository_v1() -> TestResult {
    let repo: source::v1::GitRepository = assert_lossless("gitrepository-v1-full.yaml")?;
    assert_eq!(repo.spec.provider, Some(source::v1::GitProvider::Azure));
    let verify = repo.spec.verification.ok_or("verify is set")?;
    assert!(verify.mode_or_default().verifies_tag());
    let status = repo.status.ok_or("status is set")?;
    let artifact = status.artifact.ok_or("artifact is set")?;
    assert!(artifact.has_revision("master@sha1:363a6a8fe6a7f13e05d34c163b0ef02a777da20a"));
    Ok(())
}

#[test]
fn full_gitrepository_v1beta2() -> TestResult {
    assert_lossless::<source::v1beta2::GitRepository>("gitrepository-v1beta2-full.yaml")?;
    Ok(())
}

#[test]
fn full_gitrepository_v1beta1() -> TestResult {
    assert_lossless::<source::v1beta1::GitRepository>("gitrepository-v1beta1-full.yaml")?;
    Ok(())
}

#[test]
fn full_kustomization_v1() -> TestResult {
    let ks: kustomize::v1::Kustomization = assert_lossless("kustomization-v1-full.yaml")?;
    assert_eq!(
        ks.spec.effective_timeout()?,
        std::time::Duration::from_secs(300)
    );
    assert_eq!(
        ks.spec.effective_retry_interval()?,
        std::time::Duration::from_secs(120)
    );
    assert_eq!(
        ks.spec.substitute_strategy_or_default(),
        kustomize::v1::SubstituteStrategy::Always
    );
    let status = ks.status.ok_or("status is set")?;
    let inventory = status.inventory.ok_or("inventory is set")?;
    assert_eq!(inventory.entries[1].id, "apps_podinfo_apps_Deployment");
    Ok(())
}

#[test]
fn full_kustomization_v1beta2_keeps_opaque_patches() -> TestResult {
    let ks: kustomize::v1beta2::Kustomization = assert_lossless("kustomization-v1beta2-full.yaml")?;
    let ops = &ks.spec.patches_json6902.ok_or("patchesJson6902 is set")?[0].patch;
    assert_eq!(ops[0].op, kustomize::v1beta2::Json6902Op::Test);
    assert_eq!(
        ops[2].value,
        Some(serde_json::json!(["--port", 8080, {"nested": [true, null]}]))
    );
    Ok(())
}

#[test]
fn full_kustomization_v1beta1() -> TestResult {
    assert_lossless::<kustomize::v1beta1::Kustomization>("kustomization-v1beta1-full.yaml")?;
    Ok(())
}

#[test]
fn an_unknown_enum_value_is_rejected() {
    let parsed = serde_json::from_value::<kustomize::v1::CrossNamespaceSourceReference>(
        serde_json::json!({ "kind": "HelmRepository", "name": "x" }),
    );
    assert!(parsed.is_err());
    let err = "HelmRepository".parse::<kustomize::v1::SourceKind>().err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("\"HelmRepository\" is not a valid SourceKind")
    );
}
