//! HelmRelease fixtures shared by the HelmRelease test files: a chart pushed with the Go-built
//! `helm push` to the real OCI registry and served through an OCIRepository, the in-process
//! controller, and `helm list` read with the Go-built `helm`.

use super::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};
use tether_testkit::chartrepo::{helm_package, push_oci_chart, run_helm};
use tether_testkit::charts::{ChartSpec, write_chart};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{create, dynamic_api};
use tether_testkit::registry::RegistryServer;

pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

pub fn helm_list(namespace: &str) -> anyhow::Result<Vec<Value>> {
    let args = ["list", "-n", namespace, "-o", "json"].map(std::ffi::OsString::from);
    Ok(serde_json::from_str(&run_helm(&args)?)?)
}

pub struct Fixture {
    pub ns: TestNamespace,
    pub client: kube::Client,
    pub releases: Api<DynamicObject>,
    pub registry: RegistryServer,
    _controller: InProcessController,
}

impl Fixture {
    /// A registry holding chart `web` 1.0.0 as `oci://…/charts/web`, an OCIRepository `web`
    /// serving it, and the controller.
    pub async fn start(prefix: &str) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let registry = RegistryServer::start()?;
        let controller = InProcessController::start(&ns.name).await?;
        let releases = dynamic_api(
            &client,
            &ns.name,
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
        );
        let fixture = Self {
            ns,
            client,
            releases,
            registry,
            _controller: controller,
        };
        fixture.publish("web", "1.0.0", |_| Ok(())).await?;
        Ok(fixture)
    }

    /// Pushes chart `web` at `version` (the test chart, changed by `edit`) and creates the
    /// OCIRepository `source` serving that tag.
    pub async fn publish(
        &self,
        source: &str,
        version: &str,
        edit: impl FnOnce(&std::path::Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.publish_chart(source, "web", version, edit).await
    }

    /// Pushes the test chart named `chart` at `version` (changed by `edit`) and creates the
    /// OCIRepository `source` serving that tag.
    pub async fn publish_chart(
        &self,
        source: &str,
        chart: &str,
        version: &str,
        edit: impl FnOnce(&std::path::Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let work = tempfile::tempdir()?;
        let dir = write_chart(work.path(), &ChartSpec::new(chart, version, "6.0.0"))?;
        edit(&dir)?;
        let archive = helm_package(&dir, work.path())?;
        let url = push_oci_chart(&self.registry, &archive, "charts")?;
        let sources = dynamic_api(
            &self.client,
            &self.ns.name,
            "source.toolkit.fluxcd.io",
            "v1",
            "OCIRepository",
        );
        create(
            &sources,
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
                "metadata": {"name": source, "namespace": self.ns.name},
                "spec": {"url": format!("{url}/{chart}"), "interval": "10m", "insecure": true,
                    "ref": {"tag": version},
                    "layerSelector": {"mediaType": HELM_CHART_LAYER, "operation": "copy"}}}),
        )
        .await
    }

    pub fn release(&self, name: &str, spec: Value) -> Value {
        let mut spec_full = json!({"interval": "10m", "timeout": "60s",
            "chartRef": {"kind": "OCIRepository", "name": "web"}});
        if let (Some(base), Some(extra)) = (spec_full.as_object_mut(), spec.as_object()) {
            base.extend(extra.clone());
        }
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": self.ns.name}, "spec": spec_full})
    }

    pub async fn deployment(&self, name: &str) -> anyhow::Result<Option<Deployment>> {
        Ok(self.ns.api::<Deployment>().get_opt(name).await?)
    }
}

pub fn replicas(deployment: &Deployment) -> i32 {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or_default()
}
