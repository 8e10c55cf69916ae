//! Every manifest under `testdata/` deserializes into its typed Rust form and serializes back to
//! exactly the same JSON: no field lost, none added, no value rewritten.

use std::{fs, path::PathBuf};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tether_api::{helm, helm_operator, image, kustomize, source};

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

#[test]
fn full_imagerepository_v1() -> TestResult {
    let repo: image::v1::ImageRepository = assert_lossless("imagerepository-v1-full.yaml")?;
    assert_eq!(
        repo.spec.effective_timeout()?,
        std::time::Duration::from_secs(90)
    );
    assert_eq!(
        repo.spec.exclusion_list_or_default(),
        [r"^.*\.sig$", r"^.*\.att$", "^sha256-.*"]
    );
    assert_eq!(
        repo.spec.provider_or_default(),
        image::v1::ImageProvider::Generic
    );
    let status = repo.status.ok_or("status is set")?;
    let scan = status.last_scan_result.ok_or("lastScanResult is set")?;
    assert_eq!(scan.tag_count, 211);
    assert_eq!(
        scan.latest_tags.map(|t| t.len()),
        Some(image::LATEST_TAGS_SAMPLE_SIZE)
    );
    Ok(())
}

#[test]
fn full_imagerepository_v1beta2() -> TestResult {
    assert_lossless::<image::v1beta2::ImageRepository>("imagerepository-v1beta2-full.yaml")?;
    Ok(())
}

#[test]
fn full_imagerepository_v1beta1() -> TestResult {
    let repo: image::v1beta1::ImageRepository =
        assert_lossless("imagerepository-v1beta1-full.yaml")?;
    assert_eq!(
        repo.spec.effective_timeout()?,
        std::time::Duration::from_secs(30)
    );
    Ok(())
}

#[test]
fn full_imagepolicy_v1() -> TestResult {
    let policy: image::v1::ImagePolicy = assert_lossless("imagepolicy-v1-full.yaml")?;
    assert_eq!(
        policy.spec.image_repository_ref.namespace.as_deref(),
        Some("flux-system")
    );
    assert_eq!(
        policy.spec.requeue_interval()?,
        Some(std::time::Duration::from_secs(600))
    );
    let alphabetical = policy
        .spec
        .policy
        .alphabetical
        .ok_or("alphabetical is set")?;
    assert_eq!(alphabetical.order_or_default(), image::v1::SortOrder::Desc);
    let status = policy.status.ok_or("status is set")?;
    let latest = status.latest_ref.ok_or("latestRef is set")?;
    assert_eq!(
        latest.to_string(),
        "ghcr.io/stefanprodan/podinfo:6.7.1@sha256:1dc5e7d4a4dc6b6f1b1e3e8a7e3d1f1e27d8a4cbbb0c3c0f6ef3b0f2dfcb8e1a"
    );
    Ok(())
}

#[test]
fn full_imagepolicy_v1beta2() -> TestResult {
    assert_lossless::<image::v1beta2::ImagePolicy>("imagepolicy-v1beta2-full.yaml")?;
    Ok(())
}

#[test]
fn full_imagepolicy_v1beta1() -> TestResult {
    let policy: image::v1beta1::ImagePolicy = assert_lossless("imagepolicy-v1beta1-full.yaml")?;
    let status = policy.status.ok_or("status is set")?;
    assert_eq!(
        status.latest_image.as_deref(),
        Some("ghcr.io/stefanprodan/podinfo:5.0.3")
    );
    // An empty pattern round-trips as written.
    let filter = policy.spec.filter_tags.ok_or("filterTags is set")?;
    assert_eq!(filter.pattern.as_deref(), Some(""));
    Ok(())
}

#[test]
fn full_imageupdateautomation_v1() -> TestResult {
    let auto: image::v1::ImageUpdateAutomation =
        assert_lossless("imageupdateautomation-v1-full.yaml")?;
    assert_eq!(
        auto.spec.source_ref.to_string(),
        "GitRepository/flux-system/fleet"
    );
    let git = auto.spec.git_spec.ok_or("git is set")?;
    assert!(git.has_refspec());
    let key = git.commit.signing_key.ok_or("signingKey is set")?;
    assert_eq!(key.key_type_or_default(), image::v1::SigningKeyType::Ssh);
    let checkout = git.checkout.ok_or("checkout is set")?;
    assert_eq!(checkout.reference.branch.as_deref(), Some("main"));
    let selector = auto.spec.policy_selector.ok_or("policySelector is set")?;
    assert_eq!(selector.match_expressions.map(|e| e.len()), Some(2));
    let status = auto.status.ok_or("status is set")?;
    let observed = status.observed_policies.ok_or("observedPolicies is set")?;
    assert_eq!(
        observed["redis"].to_string(),
        "docker.io/library/redis:7.2.4"
    );
    Ok(())
}

#[test]
fn full_imageupdateautomation_v1beta2() -> TestResult {
    assert_lossless::<image::v1beta2::ImageUpdateAutomation>(
        "imageupdateautomation-v1beta2-full.yaml",
    )?;
    Ok(())
}

#[test]
fn full_imageupdateautomation_v1beta1() -> TestResult {
    let auto: image::v1beta1::ImageUpdateAutomation =
        assert_lossless("imageupdateautomation-v1beta1-full.yaml")?;
    let update = auto.spec.update.ok_or("update is set")?;
    assert_eq!(update.strategy, image::v1beta1::UpdateStrategyName::Setters);
    Ok(())
}

/// Parses `value` as `K` and checks that it serializes back unchanged.
fn assert_value_lossless<K: DeserializeOwned + Serialize>(
    name: &str,
    value: &Value,
) -> Result<(), Box<dyn std::error::Error>> {
    let typed: K = serde_json::from_value(value.clone())?;
    assert_eq!(
        &serde_json::to_value(&typed)?,
        value,
        "{name}: {} changed in a round trip through {}",
        value["kind"],
        std::any::type_name::<K>()
    );
    Ok(())
}

#[test]
fn flux_doc_image_automation_examples() -> TestResult {
    for name in [
        "image-automation-v1-example.yaml",
        "image-automation-v1beta2-example.yaml",
        "image-automation-v1beta1-example.yaml",
    ] {
        let documents: Vec<Value> = serde_saphyr::from_multiple(&read_testdata(name)?)?;
        for document in &documents {
            let api_version = document["apiVersion"].as_str().unwrap_or_default();
            let kind = document["kind"].as_str().unwrap_or_default();
            match (api_version, kind) {
                ("source.toolkit.fluxcd.io/v1", "GitRepository") => {
                    assert_value_lossless::<source::v1::GitRepository>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1", "ImageRepository") => {
                    assert_value_lossless::<image::v1::ImageRepository>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1", "ImagePolicy") => {
                    assert_value_lossless::<image::v1::ImagePolicy>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation") => {
                    assert_value_lossless::<image::v1::ImageUpdateAutomation>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1beta2", "ImageRepository") => {
                    assert_value_lossless::<image::v1beta2::ImageRepository>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1beta2", "ImagePolicy") => {
                    assert_value_lossless::<image::v1beta2::ImagePolicy>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1beta2", "ImageUpdateAutomation") => {
                    assert_value_lossless::<image::v1beta2::ImageUpdateAutomation>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1beta1", "ImageRepository") => {
                    assert_value_lossless::<image::v1beta1::ImageRepository>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1beta1", "ImagePolicy") => {
                    assert_value_lossless::<image::v1beta1::ImagePolicy>(name, document)
                }
                ("image.toolkit.fluxcd.io/v1beta1", "ImageUpdateAutomation") => {
                    assert_value_lossless::<image::v1beta1::ImageUpdateAutomation>(name, document)
                }
                other => Err(format!("{name}: unexpected {other:?}").into()),
            }?;
        }
    }
    Ok(())
}

#[test]
fn image_spec_defaults_follow_flux() -> TestResult {
    // The v1 docs example: no timeout, exclusion list or digest policy.
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&read_testdata("image-automation-v1-example.yaml")?)?;
    let repo: image::v1::ImageRepository = serde_json::from_value(documents[1].clone())?;
    assert_eq!(
        repo.spec.effective_timeout()?,
        std::time::Duration::from_secs(5 * 3600)
    );
    assert_eq!(
        repo.spec.exclusion_list_or_default(),
        image::DEFAULT_EXCLUSION_LIST
    );
    let policy: image::v1::ImagePolicy = serde_json::from_value(documents[2].clone())?;
    assert_eq!(
        policy.spec.digest_reflection_policy_or_default(),
        image::v1::ReflectionPolicy::Never
    );
    assert_eq!(policy.spec.requeue_interval()?, None);
    let auto: image::v1::ImageUpdateAutomation = serde_json::from_value(documents[3].clone())?;
    let update = auto.spec.update_or_default();
    assert_eq!(
        update.strategy_or_default(),
        image::v1::UpdateStrategyName::Setters
    );
    assert_eq!(update.path.as_deref(), Some("./"));
    assert!(!auto.spec.git_spec.ok_or("git is set")?.has_refspec());
    // A sourceRef without kind (before the API server defaults it) still parses.
    let source: image::v1::CrossNamespaceSourceReference =
        serde_json::from_value(serde_json::json!({"name": "podinfo"}))?;
    assert_eq!(source.kind, image::v1::SourceKind::GitRepository);
    assert_eq!(source.to_string(), "GitRepository/podinfo");
    // A v1 ImagePolicy with digestReflectionPolicy Always and a zero interval refreshes every
    // ten minutes; with an interval, at that interval.
    let mut always = policy.spec.clone();
    always.digest_reflection_policy = Some(image::v1::ReflectionPolicy::Always);
    always.interval = Some("0s".parse()?);
    assert_eq!(
        always.requeue_interval()?,
        Some(image::DEFAULT_DIGEST_REFRESH_INTERVAL)
    );
    always.interval = Some("90s".parse()?);
    assert_eq!(
        always.requeue_interval()?,
        Some(std::time::Duration::from_secs(90))
    );
    // Scan timeouts never go below one second.
    let mut fast = repo.spec.clone();
    fast.timeout = Some("10ms".parse()?);
    assert_eq!(fast.effective_timeout()?, image::MIN_SCAN_TIMEOUT);
    Ok(())
}

#[test]
fn full_notification_manifests_of_every_version() -> TestResult {
    use tether_api::notification::{v1, v1beta1, v1beta2, v1beta3};
    assert_lossless::<v1beta3::Provider>("provider-v1beta3-full.yaml")?;
    assert_lossless::<v1beta2::Provider>("provider-v1beta2-full.yaml")?;
    assert_lossless::<v1beta1::Provider>("provider-v1beta1-full.yaml")?;
    assert_lossless::<v1beta3::Alert>("alert-v1beta3-full.yaml")?;
    assert_lossless::<v1beta2::Alert>("alert-v1beta2-full.yaml")?;
    assert_lossless::<v1beta1::Alert>("alert-v1beta1-full.yaml")?;
    assert_lossless::<v1::Receiver>("receiver-v1-full.yaml")?;
    assert_lossless::<v1::Receiver>("receiver-v1-oidc.yaml")?;
    assert_lossless::<v1beta2::Receiver>("receiver-v1beta2-full.yaml")?;
    Ok(())
}

#[test]
fn notification_spec_defaults_follow_flux() -> TestResult {
    use std::time::Duration;
    use tether_api::notification::{v1, v1beta3};
    let provider: v1beta3::Provider =
        serde_saphyr::from_str(&read_testdata("provider-v1beta3-full.yaml")?)?;
    assert_eq!(provider.spec.effective_timeout()?, Duration::from_secs(30));
    assert!(provider.spec.provider_type.is_commit_status());
    let mut bare = provider.spec.clone();
    bare.timeout = None;
    assert_eq!(bare.effective_timeout()?, Duration::from_secs(15));
    let alert: v1beta3::Alert = serde_saphyr::from_str(&read_testdata("alert-v1beta3-full.yaml")?)?;
    assert_eq!(
        alert.spec.event_severity_or_default(),
        v1beta3::EventSeverity::Error
    );
    let receiver: v1::Receiver = serde_saphyr::from_str(&read_testdata("receiver-v1-oidc.yaml")?)?;
    assert_eq!(
        receiver.spec.effective_interval()?,
        Duration::from_secs(600)
    );
    let oidc = receiver.spec.oidc_providers.iter().flatten().next();
    assert_eq!(
        oidc.map(v1::OidcProvider::audience_or_default),
        Some("flux")
    );
    Ok(())
}

#[test]
fn full_helmrepository_and_helmchart_v1() -> TestResult {
    let repo: source::v1::HelmRepository = assert_lossless("helmrepository-v1-full.yaml")?;
    assert_eq!(
        repo.spec.type_or_default(),
        source::v1::HelmRepositoryType::Oci
    );
    assert_eq!(
        repo.spec.provider_or_default(),
        source::v1::HelmRepositoryProvider::Aws
    );
    let chart: source::v1::HelmChart = assert_lossless("helmchart-v1-full.yaml")?;
    assert_eq!(
        chart.spec.source_ref.kind,
        source::v1::HelmChartSourceKind::HelmRepository
    );
    assert_eq!(chart.spec.version_or_default(), ">=6.0.0 <7.0.0");
    let status = chart.status.ok_or("status is set")?;
    assert_eq!(status.observed_chart_name.as_deref(), Some("podinfo"));
    Ok(())
}

#[test]
fn helm_source_defaults_follow_flux() -> TestResult {
    use std::time::Duration;
    let repo: source::v1::HelmRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "podinfo"},
        "spec": {"url": "https://stefanprodan.github.io/podinfo"},
    }))?;
    assert_eq!(
        repo.spec.type_or_default(),
        source::v1::HelmRepositoryType::Default
    );
    assert_eq!(
        repo.spec.provider_or_default(),
        source::v1::HelmRepositoryProvider::Generic
    );
    assert_eq!(repo.spec.effective_interval()?, Duration::from_secs(60));
    assert_eq!(repo.spec.effective_timeout()?, Duration::from_secs(60));
    let chart: source::v1::HelmChart = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
        "metadata": {"name": "podinfo"},
        "spec": {"chart": "podinfo", "interval": "5m",
                 "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}},
    }))?;
    assert_eq!(chart.spec.version_or_default(), "*");
    assert_eq!(
        chart.spec.reconcile_strategy_or_default(),
        source::v1::ReconcileStrategy::ChartVersion
    );
    Ok(())
}

#[test]
fn full_helmrelease_v2_with_chart_template() -> TestResult {
    let hr: helm::v2::HelmRelease = assert_lossless("helmrelease-v2-full.yaml")?;
    let chart = hr.spec.chart.as_ref().ok_or("chart is set")?;
    assert_eq!(chart.spec.version.as_deref(), Some("61.x"));
    assert_eq!(
        chart.spec.source_ref.kind,
        helm::v2::ChartSourceKind::HelmRepository
    );
    assert_eq!(hr.release_name(), "prometheus");
    assert_eq!(hr.release_namespace(), "observability");
    assert_eq!(hr.helm_chart_name(), "monitoring-kube-prometheus-stack");
    assert_eq!(
        hr.spec.drift_detection_mode(),
        helm::v2::DriftDetectionMode::Enabled
    );
    let from = hr.spec.values_from.as_deref().unwrap_or_default();
    assert_eq!(from[0].values_key_or_default(), "values.yaml");
    assert_eq!(
        from[1].target_path.as_deref(),
        Some("grafana.adminPassword")
    );
    let values = hr.spec.values.as_ref().ok_or("values are set")?;
    assert_eq!(values["prometheus"]["prometheusSpec"]["replicas"], 2);
    assert!(values["alertmanager"].is_null());
    let patches = hr.spec.post_renderers.as_deref().unwrap_or_default()[0]
        .kustomize
        .as_ref()
        .and_then(|k| k.patches.as_ref())
        .ok_or("patches are set")?;
    assert!(patches[0].patch.contains("priorityClassName"));
    let status = hr.status.as_ref().ok_or("status is set")?;
    let latest = status.latest_snapshot().ok_or("history is set")?;
    assert_eq!(latest.full_release_name(), "observability/prometheus.v4");
    assert_eq!(latest.action, Some(helm::v2::ReleaseAction::Upgrade));
    assert!(latest.has_been_tested());
    assert!(!latest.has_test_in_phase(helm::v2::TEST_PHASE_FAILED));
    let history = status.history.as_deref().unwrap_or_default();
    assert!(
        history
            .iter()
            .all(helm::v2::Snapshot::is_deployed_or_superseded)
    );
    // An empty map of test hooks means the chart selected no tests: tested.
    assert!(history[1].has_been_tested());
    assert_eq!(
        status.helm_chart_namespace_name(),
        Some(("flux-system", "monitoring-kube-prometheus-stack"))
    );
    Ok(())
}

#[test]
fn helmrelease_v2_with_chart_ref() -> TestResult {
    let hr: helm::v2::HelmRelease = assert_lossless("helmrelease-v2-chartref.yaml")?;
    let chart_ref = hr.spec.chart_ref.as_ref().ok_or("chartRef is set")?;
    assert_eq!(chart_ref.kind, helm::v2::ChartRefKind::OciRepository);
    assert_eq!(hr.release_name(), "podinfo");
    assert_eq!(hr.storage_namespace(), "apps");
    Ok(())
}

#[test]
fn a_release_name_longer_than_53_characters_is_shortened_as_helm_controller_does() -> TestResult {
    let hr: helm::v2::HelmRelease = serde_json::from_value(serde_json::json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "kube-prometheus-stack", "namespace": "apps"},
        "spec": {"interval": "5m", "targetNamespace": "a-very-long-target-namespace-for-tenants",
                 "chart": {"spec": {"chart": "podinfo",
                                    "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}},
    }))?;
    // The first 40 characters of the 62-character name, and sha256(name)[..12].
    assert_eq!(
        hr.release_name(),
        "a-very-long-target-namespace-for-tenants-c064f6173a04"
    );
    Ok(())
}

#[test]
fn helmrelease_v2_defaults_follow_flux() -> TestResult {
    use helm::v2::{CrdsPolicy, Install, RemediationStrategy, Upgrade, UpgradeRemediation};
    use std::time::Duration;
    let hr: helm::v2::HelmRelease = serde_json::from_value(serde_json::json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "apps"},
        "spec": {"interval": "5m", "targetNamespace": "web",
                 "chart": {"spec": {"chart": "podinfo",
                                    "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}},
    }))?;
    assert_eq!(hr.release_name(), "web-podinfo");
    assert_eq!(hr.storage_namespace(), "apps");
    assert_eq!(hr.spec.effective_timeout()?, Duration::from_secs(300));
    assert_eq!(hr.spec.max_history_or_default(), 5);
    assert!(hr.spec.uses_persistent_client());
    assert_eq!(
        hr.spec.drift_detection_mode(),
        helm::v2::DriftDetectionMode::Disabled
    );
    assert_eq!(Install::default().crds_policy(), CrdsPolicy::Create);
    let skip = Install {
        skip_crds: Some(true),
        ..Install::default()
    };
    assert_eq!(skip.crds_policy(), CrdsPolicy::Skip);
    assert_eq!(Upgrade::default().crds_policy(), CrdsPolicy::Skip);
    let remediation = UpgradeRemediation::default();
    assert_eq!(
        remediation.strategy_or_default(),
        RemediationStrategy::Rollback
    );
    assert!(!remediation.remediates_last_failure());
    let retried = UpgradeRemediation {
        retries: Some(2),
        ..remediation
    };
    assert!(retried.remediates_last_failure());
    assert!(!retried.retries_exhausted(2));
    assert!(retried.retries_exhausted(3));
    let unlimited = UpgradeRemediation {
        retries: Some(-1),
        ..UpgradeRemediation::default()
    };
    assert!(!unlimited.retries_exhausted(100));
    Ok(())
}

#[test]
fn full_helm_sources_v1beta2() -> TestResult {
    let repo: source::v1beta2::HelmRepository =
        assert_lossless("helmrepository-v1beta2-full.yaml")?;
    assert_eq!(
        repo.spec.fields.type_or_default(),
        source::v1beta2::HelmRepositoryType::Oci
    );
    let chart: source::v1beta2::HelmChart = assert_lossless("helmchart-v1beta2-full.yaml")?;
    assert_eq!(
        chart.spec.merged_values_files(),
        ["values.yaml", "values-production.yaml"]
    );
    Ok(())
}

#[test]
fn full_helmrelease_v2beta2_keeps_deprecated_patches() -> TestResult {
    let hr: helm::v2beta2::HelmRelease = assert_lossless("helmrelease-v2beta2-full.yaml")?;
    let kustomize = hr.spec.post_renderers.as_deref().unwrap_or_default()[0]
        .kustomize
        .clone()
        .ok_or("kustomize is set")?;
    let json6902 = kustomize.patches_json6902.ok_or("patchesJson6902 is set")?;
    assert_eq!(json6902[0].patch[1].op, helm::v2beta2::Json6902Op::Copy);
    let strategic = kustomize
        .patches_strategic_merge
        .ok_or("patchesStrategicMerge is set")?;
    assert_eq!(strategic[0]["kind"], "Service");
    let chart = hr.spec.chart.ok_or("chart is set")?;
    assert_eq!(chart.spec.values_file.as_deref(), Some("values.yaml"));
    Ok(())
}

#[test]
fn full_helmrelease_v2beta1() -> TestResult {
    let hr: helm::v2beta1::HelmRelease = assert_lossless("helmrelease-v2beta1-full.yaml")?;
    assert_eq!(hr.spec.chart.spec.chart, "ingress-nginx");
    let kube_config = hr.spec.kube_config.ok_or("kubeConfig is set")?;
    assert_eq!(kube_config.secret_ref.name, "edge-kubeconfig");
    Ok(())
}

#[test]
fn helm_operator_rabbit_release_deserializes() -> TestResult {
    use helm_operator::v1::{ChartSourceKind, HelmRelease};
    let hr: HelmRelease = assert_lossless("helmrelease-helm-operator-v1-rabbit.yaml")?;
    assert_eq!(hr.spec.chart.kind(), Some(ChartSourceKind::Repository));
    assert_eq!(hr.spec.chart.name.as_deref(), Some("rabbitmq"));
    assert_eq!(hr.spec.chart.version.as_deref(), Some("3.3.6"));
    assert_eq!(
        hr.spec.chart.clean_repository_url().as_deref(),
        Some("https://charts.example/")
    );
    assert_eq!(hr.release_name(), "rabbitmq");
    assert_eq!(hr.target_namespace(), "mq");
    assert_eq!(hr.effective_timeout(), std::time::Duration::from_secs(300));
    assert_eq!(hr.spec.values, Some(serde_json::json!({"replicas": 1})));
    assert!(!hr.waits());
    assert!(!hr.reuses_values());
    assert_eq!(hr.max_history_or_default(), 10);
    Ok(())
}

#[test]
fn full_helm_operator_release_from_git() -> TestResult {
    use helm_operator::v1::{ChartSourceKind, HelmRelease, HelmReleasePhase};
    let hr: HelmRelease = assert_lossless("helmrelease-helm-operator-v1-full.yaml")?;
    assert_eq!(hr.spec.chart.kind(), Some(ChartSourceKind::Git));
    assert_eq!(hr.spec.chart.git_ref_or("master"), "release-1.x");
    let sources = hr.values_from_sources();
    assert_eq!(sources.len(), 5);
    let legacy = sources[0]
        .secret_key_ref
        .as_ref()
        .ok_or("legacy secret first")?;
    assert_eq!(legacy.name, "podinfo-legacy-values");
    assert_eq!(legacy.key_or_default(), "values.yaml");
    let rollback = hr.spec.rollback.as_ref().ok_or("rollback is set")?;
    assert_eq!(rollback.max_retries_or_default(), 3);
    let status = hr.status.as_ref().ok_or("status is set")?;
    assert_eq!(status.phase, Some(HelmReleasePhase::Succeeded));
    Ok(())
}

#[test]
fn helm_operator_release_names_follow_the_operator() -> TestResult {
    use helm_operator::v1::HelmRelease;
    let release = |namespace: &str, target: Option<&str>| -> Result<String, serde_json::Error> {
        let hr: HelmRelease = serde_json::from_value(serde_json::json!({
            "apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
            "metadata": {"name": "redis", "namespace": namespace},
            "spec": {"chart": {"repository": "https://charts.example", "name": "redis",
                               "version": "1.0.0"},
                     "targetNamespace": target, "test": {"enable": true}},
        }))?;
        assert!(hr.waits());
        Ok(hr.release_name())
    };
    assert_eq!(release("cache", None)?, "cache-redis");
    assert_eq!(release("cache", Some("cache"))?, "cache-redis");
    assert_eq!(release("flux", Some("cache"))?, "flux-cache-redis");
    Ok(())
}
