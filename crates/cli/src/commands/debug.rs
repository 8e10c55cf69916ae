//! `tether debug helmrelease NAME --show-status|--show-values|--show-history`, as `flux debug
//! hr`: the status or the history as YAML under Flux's documentation line, or the release's
//! final values — `valuesFrom` in order, then `values` — composed by the controller's own code
//! (`tether_controller::helm_values`). Values read from Secrets are printed like any other, as
//! Flux prints them: the command exists to show what the release gets.

use super::cluster::{self, get_named};
use crate::cli::{DebugArgs, DebugKind};
use anyhow::{Context, bail};
use kube::api::Api;
use serde_json::Value as Json;
use tether_api::helm::v2::HelmRelease;

const STATUS_DOCUMENTATION: &str = "# Status documentation: https://fluxcd.io/flux/components/helm/helmreleases/#helmrelease-status";
const HISTORY_DOCUMENTATION: &str =
    "# History documentation: https://fluxcd.io/flux/components/helm/helmreleases/#history";

/// What `debug helmrelease` prints.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shown {
    Status,
    Values,
    History,
}

pub fn run(args: DebugArgs) -> anyhow::Result<()> {
    let DebugKind::Helmrelease {
        name,
        show_status,
        show_values,
        show_history,
    } = &args.kind;
    let shown = chosen(*show_status, *show_values, *show_history)?;
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        let namespace = args.cluster.namespace.as_str();
        let api = Api::<HelmRelease>::namespaced(client.clone(), namespace);
        let release = get_named(&api, namespace, name).await?;
        let text = match shown {
            Shown::Status => status_text(&release)?,
            Shown::History => history_text(&release)?,
            Shown::Values => values_text(&client, &release).await?,
        };
        print!("{text}");
        Ok(())
    })
}

/// The one view asked for; Flux refuses none or several.
fn chosen(status: bool, values: bool, history: bool) -> anyhow::Result<Shown> {
    match (status, values, history) {
        (true, false, false) => Ok(Shown::Status),
        (false, true, false) => Ok(Shown::Values),
        (false, false, true) => Ok(Shown::History),
        _ => bail!("exactly one of --show-status, --show-values, or --show-history must be set"),
    }
}

fn status_text(release: &HelmRelease) -> anyhow::Result<String> {
    let status = serde_json::to_value(release.status.clone().unwrap_or_default())?;
    Ok(format!("{STATUS_DOCUMENTATION}\n{}", yaml(&status)))
}

/// The history, `[]` when there is none.
fn history_text(release: &HelmRelease) -> anyhow::Result<String> {
    let history = release.status.as_ref().and_then(|s| s.history.clone());
    let history = serde_json::to_value(history.unwrap_or_default())?;
    Ok(format!("{HISTORY_DOCUMENTATION}\n{}", yaml(&history)))
}

async fn values_text(client: &kube::Client, release: &HelmRelease) -> anyhow::Result<String> {
    let namespace = release.metadata.namespace.as_deref().unwrap_or_default();
    let values = tether_controller::helm_values::compose(
        client,
        namespace,
        release.spec.values_from.as_deref().unwrap_or_default(),
        release.spec.values.as_ref(),
    )
    .await
    .with_context(|| {
        format!(
            "cannot compose the values of HelmRelease '{namespace}/{}'",
            release.metadata.name.as_deref().unwrap_or_default()
        )
    })?;
    Ok(yaml(&Json::Object(values)))
}

/// `sigs.k8s.io/yaml.Marshal`: keys sorted, go-yaml v2 layout.
fn yaml(value: &Json) -> String {
    tether_core::yaml::to_string(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exactly_one_view_must_be_asked_for() {
        assert_eq!(chosen(false, true, false).expect("one"), Shown::Values);
        for (status, values, history) in [(false, false, false), (true, true, false)] {
            let error = chosen(status, values, history).expect_err("refused");
            assert_eq!(
                error.to_string(),
                "exactly one of --show-status, --show-values, or --show-history must be set"
            );
        }
    }

    #[test]
    fn values_print_as_flux_prints_them() {
        // cmd/flux/testdata/debug_helmrelease/values-from.golden.yaml
        let values = json!({"override": "secret", "image": {"tag": "5.0.0",
            "repository": "stefanprodan/podinfo"}, "secret": "test", "cm": "test",
            "aFlatValue": "some-flat-value"});
        let expected = "\
aFlatValue: some-flat-value
cm: test
image:
  repository: stefanprodan/podinfo
  tag: 5.0.0
override: secret
secret: test
";
        assert_eq!(yaml(&values), expected);
    }

    #[test]
    fn an_empty_history_prints_an_empty_list() {
        let release: HelmRelease = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"interval": "5m", "chartRef": {"kind": "OCIRepository", "name": "web"}},
        }))
        .expect("a valid HelmRelease");
        // cmd/flux/testdata/debug_helmrelease/history-empty.golden.yaml
        assert_eq!(
            history_text(&release).expect("history"),
            format!("{HISTORY_DOCUMENTATION}\n[]\n")
        );
    }
}
