//! Config watchers, as Flux 2.5+ controllers run them: a ConfigMap or Secret labelled
//! `reconcile.fluxcd.io/watch: Enabled` that a Kustomization reads (post-build substitutions
//! here) reconciles it at once when it changes, long before its interval; an unlabelled one is
//! read again only at the next interval. The same for a HelmRelease's `valuesFrom` ConfigMap: a
//! labelled one upgrades the release at once.

mod common;

use common::InProcessController;
use common::helm::{Fixture, replicas};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;
use tether_testkit::cluster::{TestNamespace, wait_for};
use tether_testkit::flux::{GitSourceFixture, WAIT, create, kustomization, kustomizations};

const MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rendered\ndata:\n  greeting: ${greeting}\n  farewell: ${farewell}\n  token: ${token}\n";

const WATCH_LABEL: (&str, &str) = ("reconcile.fluxcd.io/watch", "Enabled");

/// Creates `name` of kind `K` with `data` under `field` (`data`, `stringData`), labelled for
/// the config watchers or not.
async fn variables<K>(
    ns: &TestNamespace,
    name: &str,
    labelled: bool,
    field: &str,
    data: serde_json::Value,
) -> anyhow::Result<()>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let labels = if labelled {
        json!({WATCH_LABEL.0: WATCH_LABEL.1})
    } else {
        json!({})
    };
    let object: K = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        field: data
    }))?;
    ns.api::<K>()
        .create(&PostParams::default(), &object)
        .await?;
    Ok(())
}

/// The value of `key` in the applied ConfigMap `rendered`, once it is `wanted`.
async fn rendered_becomes(ns: &TestNamespace, key: &str, wanted: &str) -> anyhow::Result<()> {
    let key = key.to_owned();
    let wanted = wanted.to_owned();
    wait_for(&ns.api::<ConfigMap>(), "rendered", WAIT, move |cm| {
        cm.data.as_ref().and_then(|d| d.get(&key)) == Some(&wanted)
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_config_map_or_secret_reconciles_its_kustomization_at_once() -> anyhow::Result<()>
{
    let s = GitSourceFixture::start_with(
        "config-watch",
        "1h",
        |repo| {
            repo.commit("master", &[("deploy/rendered.yaml", MANIFEST)], "first")
                .map(drop)
        },
        json!({}),
    )
    .await?;
    let ns = s.ns.name.clone();
    let greeting = json!({"greeting": "hello"});
    variables::<ConfigMap>(&s.ns, "watched", true, "data", greeting).await?;
    let farewell = json!({"farewell": "bye"});
    variables::<ConfigMap>(&s.ns, "unwatched", false, "data", farewell).await?;
    let token = json!({"token": "one"});
    variables::<Secret>(&s.ns, "secret-vars", true, "stringData", token).await?;
    let _controller = InProcessController::start(&ns).await?;
    let ks_api = kustomizations(&s.client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["interval"] = json!("1h");
    app["spec"]["wait"] = json!(false);
    app["spec"]["postBuild"] = json!({"substituteFrom": [
        {"kind": "ConfigMap", "name": "watched"},
        {"kind": "ConfigMap", "name": "unwatched"},
        {"kind": "Secret", "name": "secret-vars"},
    ]});
    create(&ks_api, app).await?;
    rendered_becomes(&s.ns, "greeting", "hello").await?;

    // The unlabelled ConfigMap changes: nothing happens before the interval (an hour).
    let patch = |data: serde_json::Value| Patch::Merge(json!({"data": data}));
    s.ns.api::<ConfigMap>()
        .patch(
            "unwatched",
            &PatchParams::default(),
            &patch(json!({"farewell": "later"})),
        )
        .await?;
    // The labelled one changes: the Kustomization runs at once and sees both.
    s.ns.api::<ConfigMap>()
        .patch(
            "watched",
            &PatchParams::default(),
            &patch(json!({"greeting": "hi"})),
        )
        .await?;
    rendered_becomes(&s.ns, "greeting", "hi").await?;
    let rendered = s.ns.api::<ConfigMap>().get("rendered").await?;
    let farewell = rendered.data.as_ref().and_then(|d| d.get("farewell"));
    assert_eq!(farewell.map(String::as_str), Some("later"));

    // A labelled Secret wakes it too.
    let token = json!({"stringData": {"token": "two"}});
    s.ns.api::<Secret>()
        .patch(
            "secret-vars",
            &PatchParams::default(),
            &Patch::Merge(&token),
        )
        .await?;
    rendered_becomes(&s.ns, "token", "two").await?;

    // An unlabelled change alone is not applied within the time a watched one takes.
    s.ns.api::<ConfigMap>()
        .patch(
            "unwatched",
            &PatchParams::default(),
            &patch(json!({"farewell": "never"})),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rendered = s.ns.api::<ConfigMap>().get("rendered").await?;
    let farewell = rendered.data.as_ref().and_then(|d| d.get("farewell"));
    assert_eq!(farewell.map(String::as_str), Some("later"));
    Ok(())
}

/// Two HelmReleases with an hour's interval read their values from a ConfigMap, one labelled
/// for the config watchers: changing both upgrades the release of the labelled one at once,
/// while the other keeps its values until its interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_values_config_map_upgrades_its_helm_release_at_once() -> anyhow::Result<()> {
    use tether_testkit::flux::wait_ready_where;
    let fx = Fixture::start("config-watch-hr").await?;
    let values = |replicas: u8| json!({"values.yaml": format!("replicas: {replicas}\n")});
    for (name, labelled) in [("watched", true), ("unwatched", false)] {
        variables::<ConfigMap>(&fx.ns, name, labelled, "data", values(2)).await?;
        let spec = json!({"interval": "1h", "valuesFrom": [{"kind": "ConfigMap", "name": name}]});
        create(&fx.releases, fx.release(name, spec)).await?;
        wait_ready_where(&fx.releases, name, |s, r, _| {
            s == "True" && r == "InstallSucceeded"
        })
        .await?;
    }

    let changed = std::time::Instant::now();
    for name in ["watched", "unwatched"] {
        let patch = json!({"data": values(3)});
        fx.ns
            .api::<ConfigMap>()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    wait_ready_where(&fx.releases, "watched", |s, r, _| {
        s == "True" && r == "UpgradeSucceeded"
    })
    .await?;
    let took = changed.elapsed();
    eprintln!("the labelled values ConfigMap upgraded its release in {took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    let upgraded = fx.deployment("watched-web").await?.map(|d| replicas(&d));
    assert_eq!(upgraded, Some(3));
    let kept = fx.deployment("unwatched-web").await?.map(|d| replicas(&d));
    assert_eq!(
        kept,
        Some(2),
        "the unlabelled ConfigMap was read before the interval"
    );
    Ok(())
}
