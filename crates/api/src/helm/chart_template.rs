//! The HelmChart a v2 HelmRelease's chart template stands for, built as helm-controller builds
//! it: named `<release namespace>-<release name>`, in the namespace of the template's source,
//! with the template's labels and annotations and its interval falling back to the release's.
//! The owner labels ([`super::NAME_LABEL`], [`super::NAMESPACE_LABEL`]) are the applier's to
//! add, as helm-controller adds them at apply time.

use kube::api::ObjectMeta;

use super::v2::{ChartSourceKind, ChartVerificationProvider, HelmRelease};
use crate::source::v1::{
    HelmChart, HelmChartSourceKind, HelmChartSpec, HelmChartVerification,
    HelmChartVerificationProvider, LocalHelmChartSourceReference,
};

impl HelmRelease {
    /// The HelmChart generated from `spec.chart`, or `None` for a release with a chartRef.
    pub fn helm_chart_from_template(&self) -> Option<HelmChart> {
        let template = self.spec.chart.as_ref()?;
        let spec = &template.spec;
        let namespace = spec
            .source_ref
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .or_else(|| self.metadata.namespace.clone());
        let metadata = ObjectMeta {
            name: Some(self.helm_chart_name()),
            namespace,
            labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
            annotations: template
                .metadata
                .as_ref()
                .and_then(|m| m.annotations.clone()),
            ..ObjectMeta::default()
        };
        let verify = spec.verify.as_ref().map(|verify| HelmChartVerification {
            provider: match verify.provider {
                ChartVerificationProvider::Cosign => HelmChartVerificationProvider::Cosign,
                ChartVerificationProvider::Notation => HelmChartVerificationProvider::Notation,
            },
            secret_ref: verify.secret_ref.clone(),
            match_oidc_identity: None,
        });
        let chart_spec = HelmChartSpec {
            chart: spec.chart.clone(),
            version: spec.version.clone(),
            source_ref: LocalHelmChartSourceReference {
                api_version: None,
                kind: match spec.source_ref.kind {
                    ChartSourceKind::HelmRepository => HelmChartSourceKind::HelmRepository,
                    ChartSourceKind::GitRepository => HelmChartSourceKind::GitRepository,
                    ChartSourceKind::Bucket => HelmChartSourceKind::Bucket,
                },
                name: spec.source_ref.name.clone(),
            },
            interval: spec
                .interval
                .clone()
                .unwrap_or_else(|| self.spec.interval.clone()),
            reconcile_strategy: spec.reconcile_strategy,
            values_files: spec.values_files.clone(),
            ignore_missing_values_files: spec.ignore_missing_values_files,
            suspend: None,
            verify,
        };
        Some(HelmChart {
            metadata,
            spec: chart_spec,
            status: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn release(chart: serde_json::Value) -> Result<HelmRelease, serde_json::Error> {
        serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "podinfo", "namespace": "apps"},
            "spec": {"interval": "10m", "chart": chart},
        }))
    }

    #[test]
    fn the_chart_lives_with_its_source_and_inherits_the_release_interval()
    -> Result<(), Box<dyn std::error::Error>> {
        let hr = release(json!({
            "metadata": {"labels": {"team": "web"}},
            "spec": {"chart": "podinfo", "version": "6.x",
                     "sourceRef": {"kind": "HelmRepository", "name": "podinfo",
                                   "namespace": "flux-system"},
                     "verify": {"provider": "notation", "secretRef": {"name": "trust"}}},
        }))?;
        let chart = hr.helm_chart_from_template().ok_or("a chart template")?;
        assert_eq!(chart.metadata.name.as_deref(), Some("apps-podinfo"));
        assert_eq!(chart.metadata.namespace.as_deref(), Some("flux-system"));
        let labels = chart.metadata.labels.unwrap_or_default();
        assert_eq!(labels.get("team").map(String::as_str), Some("web"));
        assert_eq!(chart.spec.interval.as_str(), "10m");
        assert_eq!(chart.spec.version_or_default(), "6.x");
        assert_eq!(
            chart.spec.source_ref.kind,
            HelmChartSourceKind::HelmRepository
        );
        let verify = chart.spec.verify.ok_or("verify is carried over")?;
        assert_eq!(verify.provider, HelmChartVerificationProvider::Notation);
        Ok(())
    }

    #[test]
    fn without_a_source_namespace_the_chart_lives_with_the_release()
    -> Result<(), Box<dyn std::error::Error>> {
        let hr = release(json!({
            "spec": {"chart": "./charts/podinfo", "interval": "1m",
                     "sourceRef": {"kind": "GitRepository", "name": "repo"}},
        }))?;
        let chart = hr.helm_chart_from_template().ok_or("a chart template")?;
        assert_eq!(chart.metadata.namespace.as_deref(), Some("apps"));
        assert_eq!(chart.spec.interval.as_str(), "1m");
        assert_eq!(chart.spec.version_or_default(), "*");
        Ok(())
    }
}
