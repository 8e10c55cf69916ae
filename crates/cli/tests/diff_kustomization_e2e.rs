//! `tether diff kustomization` against the real `flux diff kustomization` (v2.9.5) on the same
//! cluster objects: the diff goes on past objects the API server refuses and reports them all
//! (exit status 2, no prune predicted), honours `kustomize.toolkit.fluxcd.io/ssa: Ignore` and
//! `reconcile: disabled` on either side, leaves `spec.ignore` paths out of the comparison and
//! the report, and filters local files with `.sourceignore` and `--ignore-paths`. Each case
//! requires both CLIs to print the same text with the same exit status.

mod common;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::flux::{create, dynamic_api};
use tether_testkit::fluxcli::run_flux;

/// `(exit status, stdout, stderr)` of `tether ARGS` and of `flux ARGS`.
async fn both(args: &[&str]) -> anyhow::Result<[(Option<i32>, String, String); 2]> {
    let tether = common::tether(args).await?;
    let flux = run_flux(args).await?;
    Ok([tether, flux].map(|output| {
        let (stdout, stderr) = common::texts(&output);
        (output.status.code(), stdout, stderr)
    }))
}

fn tree_of(files: &[(&str, &str)]) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(dir.path()))?;
        std::fs::write(path, content)?;
    }
    Ok(dir)
}

fn config_map(name: &str, annotations: Value, data: Value) -> String {
    let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": data});
    if annotations.as_object().is_some_and(|a| !a.is_empty()) {
        object["metadata"]["annotations"] = annotations;
    }
    // JSON is YAML.
    object.to_string()
}

/// A namespace holding the Kustomization `app` (never reconciled: only the diff reads it) and
/// live objects applied as kustomize-controller applies them.
struct Fixture {
    ns: TestNamespace,
}

impl Fixture {
    async fn start(spec: Value) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, "diffks").await?;
        let mut spec = spec;
        spec["interval"] = json!("10m");
        spec["path"] = json!("./deploy");
        spec["targetNamespace"] = json!(ns.name);
        spec["sourceRef"] = json!({"kind": "GitRepository", "name": "app"});
        let api = dynamic_api(
            &client,
            &ns.name,
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "Kustomization",
        );
        create(
            &api,
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization", "metadata": {"name": "app", "namespace": ns.name},
            "spec": spec}),
        )
        .await?;
        Ok(Self { ns })
    }

    async fn apply_live(&self, name: &str, annotations: Value, data: Value) -> anyhow::Result<()> {
        let api: Api<ConfigMap> = self.ns.api();
        let labels = json!({"kustomize.toolkit.fluxcd.io/name": "app",
            "kustomize.toolkit.fluxcd.io/namespace": self.ns.name});
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": self.ns.name, "labels": labels,
                         "annotations": annotations}, "data": data});
        let params = PatchParams::apply("kustomize-controller").force();
        api.patch(name, &params, &Patch::Apply(object)).await?;
        Ok(())
    }
}

#[tokio::test]
async fn diff_reports_every_refused_object_and_honours_ignores_as_flux_does() -> anyhow::Result<()>
{
    let rule =
        json!([{"paths": ["/data/ignored"], "target": {"kind": "ConfigMap", "name": "settings"}}]);
    let fx = Fixture::start(json!({"prune": true, "ignore": rule})).await?;
    let ns = fx.ns.name.as_str();
    fx.apply_live(
        "settings",
        json!({}),
        json!({"ignored": "live", "kept": "same"}),
    )
    .await?;
    fx.apply_live("pinned", json!({}), json!({"a": "live"}))
        .await?;
    fx.apply_live(
        "manual",
        json!({"kustomize.toolkit.fluxcd.io/reconcile": "disabled"}),
        json!({"a": "live"}),
    )
    .await?;

    // Only ignored fields and excluded objects differ: nothing to report.
    let quiet = tree_of(&[
        (
            "settings.yaml",
            &config_map(
                "settings",
                json!({}),
                json!({"ignored": "local", "kept": "same"}),
            ),
        ),
        (
            "pinned.yaml",
            &config_map(
                "pinned",
                json!({"kustomize.toolkit.fluxcd.io/ssa": "Ignore"}),
                json!({"a": "local"}),
            ),
        ),
        (
            "manual.yaml",
            &config_map("manual", json!({}), json!({"a": "local"})),
        ),
    ])?;
    let path = quiet.path().to_string_lossy().into_owned();
    let [tether, flux] = both(&[
        "diff",
        "ks",
        "app",
        "--path",
        &path,
        "-n",
        ns,
        "--progress-bar=false",
    ])
    .await?;
    for expected in [
        format!("► ConfigMap/{ns}/pinned skipped\n"),
        format!("► ConfigMap/{ns}/manual skipped\n"),
    ] {
        assert!(flux.1.contains(&expected), "{expected} not in {flux:?}");
    }
    assert_eq!(flux.0, Some(0), "{flux:?}");
    assert_eq!(tether, flux);

    // A field outside the rule drifts; its report leaves the ignored field out.
    let drifted = tree_of(&[
        (
            "settings.yaml",
            &config_map(
                "settings",
                json!({}),
                json!({"ignored": "local", "kept": "new"}),
            ),
        ),
        (
            "pinned.yaml",
            &config_map("pinned", json!({}), json!({"a": "live"})),
        ),
        (
            "manual.yaml",
            &config_map("manual", json!({}), json!({"a": "live"})),
        ),
    ])?;
    let path = drifted.path().to_string_lossy().into_owned();
    let [tether, flux] = both(&[
        "diff",
        "ks",
        "app",
        "--path",
        &path,
        "-n",
        ns,
        "--progress-bar=false",
    ])
    .await?;
    assert_eq!(flux.0, Some(1), "{flux:?}");
    assert!(
        flux.1
            .contains(&format!("► ConfigMap/{ns}/settings drifted\n")),
        "{flux:?}"
    );
    assert!(!flux.1.contains("ignored"), "{flux:?}");
    assert_eq!(tether, flux);

    // Objects the API server refuses: each is reported, the others are still diffed.
    let refused = tree_of(&[
        (
            "settings.yaml",
            &config_map(
                "settings",
                json!({}),
                json!({"ignored": "live", "kept": "same"}),
            ),
        ),
        (
            "bad-one.yaml",
            &config_map("Bad_One", json!({}), json!({"a": "b"})),
        ),
        (
            "fresh.yaml",
            &config_map("fresh", json!({}), json!({"a": "b"})),
        ),
        (
            "bad-two.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: portless\nspec:\n  type: ClusterIP\n",
        ),
    ])?;
    let path = refused.path().to_string_lossy().into_owned();
    let [tether, flux] = both(&[
        "diff",
        "ks",
        "app",
        "--path",
        &path,
        "-n",
        ns,
        "--progress-bar=false",
    ])
    .await?;
    assert_eq!(flux.0, Some(2), "{flux:?}");
    assert!(
        flux.2.contains("ConfigMap/") && flux.2.contains("Service/"),
        "{flux:?}"
    );
    assert_eq!(tether.0, flux.0);
    assert_eq!(tether.2, flux.2);
    assert!(
        !tether.1.contains("deleted"),
        "no prune after a failure: {tether:?}"
    );
    assert!(
        tether
            .1
            .contains(&format!("► ConfigMap/{ns}/fresh created\n")),
        "{tether:?}"
    );
    Ok(())
}

#[tokio::test]
async fn build_and_diff_leave_out_what_sourceignore_and_ignore_paths_exclude() -> anyhow::Result<()>
{
    let fx = Fixture::start(json!({"prune": false})).await?;
    let ns = fx.ns.name.as_str();
    let plain = tree_of(&[
        (".sourceignore", "# everything at the top\n/*\n"),
        (
            "kept.yaml",
            &config_map("kept", json!({}), json!({"a": "b"})),
        ),
        (
            "other.yaml",
            &config_map("other", json!({}), json!({"a": "b"})),
        ),
        ("broken.yaml", "this: [is not yaml\n"),
        (
            "sub/deep.yaml",
            &config_map("deep", json!({}), json!({"a": "b"})),
        ),
    ])?;
    let path = plain.path().to_string_lossy().into_owned();
    for ignore in [
        "!kept.yaml",
        "!kept.yaml,!sub/",
        "!other.yaml,!sub/,sub/deep.yaml",
    ] {
        for verb in ["build", "diff"] {
            let mut args = vec![
                verb,
                "ks",
                "app",
                "--path",
                &path,
                "-n",
                ns,
                "--ignore-paths",
                ignore,
            ];
            if verb == "diff" {
                args.push("--progress-bar=false");
            }
            let [tether, flux] = both(&args).await?;
            assert!(flux.0.is_some_and(|c| c < 2), "{args:?}: {flux:?}");
            assert_eq!(tether, flux, "{args:?}");
        }
    }
    // A kustomization.yaml's own entries are filtered too (and empty annotations dropped, as
    // kustomize drops them).
    let bare = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bare\n  annotations: {}\n";
    let kustomized = tree_of(&[
        (
            "kustomization.yaml",
            "resources:\n- kept.yaml\n- skipped.yaml\n- bare.yaml\n",
        ),
        ("bare.yaml", bare),
        (
            "kept.yaml",
            &config_map("kept", json!({}), json!({"a": "b"})),
        ),
        (
            "skipped.yaml",
            &config_map("skipped", json!({}), json!({"a": "b"})),
        ),
    ])?;
    let path = kustomized.path().to_string_lossy().into_owned();
    let args = [
        "build",
        "ks",
        "app",
        "--path",
        &path,
        "-n",
        ns,
        "--ignore-paths",
        "skipped.yaml",
    ];
    let [tether, flux] = both(&args).await?;
    assert_eq!(flux.0, Some(0), "{flux:?}");
    assert!(!flux.1.contains("name: skipped"), "{flux:?}");
    assert_eq!(tether, flux);
    Ok(())
}
