//! e2e: Helm's release actions against the real local control plane — install with a hook,
//! upgrade that removes an object, a failing hook recorded as a failed revision with the
//! cluster left as it was, rollback, recovery of a release left pending by a crash, uninstall —
//! and the Go-built `helm` reading what tether recorded.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};
use tether_helm::release::Status;
use tether_helm::{ReleaseOptions, TemplateOptions, load, template_for_release};
use tether_helm_actions::actions::{self, CrdPolicy, Desired, RunOptions, Target};
use tether_helm_actions::{ActionError, ReleaseStore};
use tether_ssa::ResourceManager;
use tether_testkit::cluster::{self, TestNamespace};
use tokio_util::sync::CancellationToken;

/// A chart: a ConfigMap per entry of `.Values.maps`, and hooks as the values ask.
fn write_chart(dir: &Path) -> anyhow::Result<()> {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: shelf\nversion: 1.0.0\nappVersion: \"2.0\"\n",
        ),
        ("values.yaml", "maps: [a, b]\ncolor: red\nbadHook: false\n"),
        (
            "templates/maps.yaml",
            "{{- range .Values.maps }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ $.Release.Name }}-{{ . }}\ndata:\n  color: {{ $.Values.color | quote }}\n{{- end }}\n",
        ),
        (
            "templates/hook.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-1\"\n{{- if .Values.badHook }}\ndata:\n  bad: [1]\n{{- else }}\ndata:\n  revision: {{ .Release.Revision | quote }}\n{{- end }}\n",
        ),
        ("templates/NOTES.txt", "shelf {{ .Release.Name }} is up\n"),
    ];
    for (path, text) in files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().context("parent")?)?;
        std::fs::write(file, text)?;
    }
    Ok(())
}

struct Fixture {
    _dir: tempfile::TempDir,
    chart_dir: std::path::PathBuf,
    ns: TestNamespace,
    store: ReleaseStore,
    manager: ResourceManager,
}

impl Fixture {
    async fn new(prefix: &str) -> anyhow::Result<Self> {
        let client = cluster::client().await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let dir = tempfile::tempdir()?;
        let chart_dir = dir.path().join("shelf");
        write_chart(&chart_dir)?;
        Ok(Fixture {
            store: ReleaseStore::new(client.clone(), &ns.name),
            manager: ResourceManager::new(client).with_field_manager("helm-controller"),
            _dir: dir,
            chart_dir,
            ns,
        })
    }

    fn target(&self) -> Target<'_> {
        Target {
            name: "shelf",
            namespace: &self.ns.name,
            store: &self.store,
            manager: &self.manager,
            cancel: CancellationToken::new(),
        }
    }

    /// Renders the chart for revision `revision` with `values` and runs `action` on it.
    async fn with_rendering<T>(
        &self,
        values: Value,
        revision: i64,
        action: impl AsyncFnOnce(&Desired<'_>) -> T,
    ) -> anyhow::Result<T> {
        let chart = load::load_dir(&self.chart_dir, load::Limits::default())?;
        let config = values.as_object().cloned().unwrap_or_default();
        let options = TemplateOptions {
            release: ReleaseOptions {
                name: "shelf".into(),
                namespace: self.ns.name.clone(),
                revision,
                is_upgrade: revision > 1,
            },
            values: config.clone(),
            ..TemplateOptions::default()
        };
        let (rendered, chart) = template_for_release(chart, &options)?;
        let desired = Desired {
            chart: &chart,
            sorted: &rendered.sorted,
            config,
            crds: Vec::new(),
        };
        Ok(action(&desired).await)
    }

    async fn map(&self, name: &str) -> anyhow::Result<Option<ConfigMap>> {
        Ok(self.ns.api::<ConfigMap>().get_opt(name).await?)
    }

    async fn statuses(&self) -> anyhow::Result<Vec<(i64, String)>> {
        let history = self.store.history("shelf").await?;
        Ok(history
            .records()
            .iter()
            .map(|r| (r.version, r.status().as_str().to_owned()))
            .collect())
    }
}

fn options() -> RunOptions {
    RunOptions {
        timeout: Duration::from_secs(60),
        crds: CrdPolicy::Create,
        ..RunOptions::default()
    }
}

/// `helm history` as (revision, status, description).
fn helm_history(namespace: &str) -> anyhow::Result<Vec<(i64, String, String)>> {
    let args = ["history", "shelf", "-n", namespace, "-o", "json"].map(std::ffi::OsString::from);
    let rows: Vec<Value> = serde_json::from_str(&tether_testkit::chartrepo::run_helm(&args)?)?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default().to_owned(),
                r["description"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

#[tokio::test]
async fn a_release_lives_its_whole_life_as_helm_would_record_it() -> anyhow::Result<()> {
    let fx = Fixture::new("helm-actions-life").await?;
    let target = fx.target();

    // Install: hook first, objects with Helm's ownership metadata, record deployed.
    let release = fx
        .with_rendering(json!({}), 1, async |d| {
            actions::install(&target, d, &options()).await
        })
        .await??;
    ensure!(release.version == 1 && release.status() == Status::Deployed);
    let a = fx.map("shelf-a").await?.context("shelf-a installed")?;
    let annotations = a.metadata.annotations.clone().unwrap_or_default();
    ensure!(
        annotations
            .get("meta.helm.sh/release-name")
            .map(String::as_str)
            == Some("shelf")
    );
    ensure!(
        a.metadata
            .labels
            .unwrap_or_default()
            .get("app.kubernetes.io/managed-by")
            == Some(&"Helm".to_owned())
    );
    let hook = fx.map("shelf-hook").await?.context("hook ran")?;
    ensure!(hook.data.unwrap_or_default().get("revision") == Some(&"1".to_owned()));

    // Upgrade: b dropped from the values is deleted, color changed, v1 superseded.
    fx.with_rendering(json!({"maps": ["a"], "color": "blue"}), 2, async |d| {
        actions::upgrade(&target, d, &options()).await
    })
    .await??;
    ensure!(
        fx.map("shelf-b").await?.is_none(),
        "b is pruned by the upgrade"
    );
    let a = fx.map("shelf-a").await?.context("a stays")?;
    ensure!(a.data.unwrap_or_default().get("color") == Some(&"blue".to_owned()));
    ensure!(
        fx.statuses().await? == vec![(1, "superseded".into()), (2, "deployed".into())],
        "{:?}",
        fx.statuses().await?
    );

    // A failing pre-upgrade hook: revision 3 failed, nothing of it applied.
    let failed = fx
        .with_rendering(
            json!({"maps": ["a"], "color": "green", "badHook": true}),
            3,
            async |d| actions::upgrade(&target, d, &options()).await,
        )
        .await?;
    let error = failed.expect_err("the hook is invalid");
    ensure!(
        matches!(error, ActionError::Hook { .. })
            && error.to_string().contains("shelf/templates/hook.yaml"),
        "{error}"
    );
    let a = fx.map("shelf-a").await?.context("a stays")?;
    ensure!(a.data.unwrap_or_default().get("color") == Some(&"blue".to_owned()));
    ensure!(fx.statuses().await?.last() == Some(&(3, "failed".to_owned())));

    // Rollback to 2 (what remediation does): revision 4 deployed, "Rollback to 2".
    let rolled = actions::rollback(&target, 2, &options()).await?;
    ensure!(rolled.version == 4 && rolled.status() == Status::Deployed);

    // A crash in the middle of an upgrade leaves a pending record: upgrades are refused
    // until it is unlocked; then they work again.
    let mut pending = rolled.clone();
    pending.version = 5;
    pending.set_status(Status::PendingUpgrade, "Preparing upgrade");
    fx.store.create(&pending).await?;
    let refused = fx
        .with_rendering(json!({"maps": ["a", "c"]}), 6, async |d| {
            actions::upgrade(&target, d, &options()).await
        })
        .await?;
    ensure!(
        refused
            .expect_err("locked")
            .to_string()
            .contains("another operation"),
    );
    let unlocked = actions::unlock(&target).await?.context("was pending")?;
    ensure!(unlocked.status() == Status::Failed);
    fx.with_rendering(json!({"maps": ["a", "c"]}), 6, async |d| {
        actions::upgrade(&target, d, &options()).await
    })
    .await??;
    ensure!(fx.map("shelf-c").await?.is_some());

    {
        let history = helm_history(&fx.ns.name)?;
        let statuses: Vec<(i64, &str)> = history.iter().map(|(v, s, _)| (*v, s.as_str())).collect();
        // maxHistory 5: creating revision 6 pruned revision 1, as Helm does.
        ensure!(
            statuses
                == vec![
                    (2, "superseded"),
                    (3, "failed"),
                    (4, "superseded"),
                    (5, "failed"),
                    (6, "deployed")
                ],
            "helm history: {history:?}"
        );
        ensure!(history[2].2 == "Rollback to 2", "{history:?}");
    }

    // Uninstall: objects and records gone.
    actions::uninstall(&target, false, false, Duration::from_secs(60)).await?;
    ensure!(fx.map("shelf-a").await?.is_none() && fx.map("shelf-c").await?.is_none());
    ensure!(fx.statuses().await?.is_empty());
    Ok(())
}
