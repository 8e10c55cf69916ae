//! The Prometheus registry the controller exposes on `/metrics`, in the metric names Flux's
//! dashboards read (`gotk_reconcile_duration_seconds`, `controller_runtime_reconcile_total`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Labels of a per-object reconcile duration sample, as Flux's `gotk_reconcile_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// Labels of a reconcile result counter, as controller-runtime's `controller_runtime_reconcile_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub controller: String,
    pub result: String,
}

/// Labels of an API request counter sample.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub verb: String,
    pub dry_run: String,
}

/// Labels of the constant `tether_build_info` gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// Every metric the controller records, registered once and shared by the reconcilers.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub reconcile_duration: Family<ObjectLabels, Histogram>,
    pub reconcile_total: Family<ResultLabels, Counter>,
    pub api_requests: Family<RequestLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconcile_duration =
            Family::<ObjectLabels, Histogram>::new_with_constructor(duration_histogram);
        registry.register(
            "gotk_reconcile_duration_seconds",
            "The duration in seconds of a GitOps Toolkit resource reconciliation.",
            reconcile_duration.clone(),
        );
        let reconcile_total = Family::<ResultLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            reconcile_total.clone(),
        );
        let api_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "tether_api_requests",
            "Requests made to the Kubernetes API server, by verb and dry-run.",
            api_requests.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register(
            "tether_build_info",
            "The running tether version.",
            build_info,
        );
        Self {
            registry: Arc::new(registry),
            reconcile_duration,
            reconcile_total,
            api_requests,
        }
    }

    /// Records one reconcile of `object` (of `kind`) by `controller` with `result`.
    pub fn observe<K: kube::Resource>(
        &self,
        kind: &str,
        object: &K,
        controller: &str,
        result: &str,
        elapsed: std::time::Duration,
    ) {
        let labels = ObjectLabels {
            kind: kind.to_owned(),
            name: object.meta().name.clone().unwrap_or_default(),
            namespace: object.meta().namespace.clone().unwrap_or_default(),
        };
        self.reconcile_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        let result = ResultLabels {
            controller: controller.to_owned(),
            result: result.to_owned(),
        };
        self.reconcile_total.get_or_create(&result).inc();
    }

    /// The registry in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an error here would mean a bug in the encoder.
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_flux_metric_names() {
        let metrics = Metrics::new();
        let labels = ObjectLabels {
            kind: "Kustomization".into(),
            name: "apps".into(),
            namespace: "flux-system".into(),
        };
        metrics
            .reconcile_duration
            .get_or_create(&labels)
            .observe(0.3);
        let result = ResultLabels {
            controller: "kustomization".into(),
            result: "success".into(),
        };
        metrics.reconcile_total.get_or_create(&result).inc();
        let text = metrics.render();
        assert!(text.contains("gotk_reconcile_duration_seconds_count{kind=\"Kustomization\",name=\"apps\",namespace=\"flux-system\"} 1"), "{text}");
        assert!(text.contains("controller_runtime_reconcile_total{controller=\"kustomization\",result=\"success\"} 1"), "{text}");
    }
}
