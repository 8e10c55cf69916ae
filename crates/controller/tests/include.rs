//! `GitRepository.spec.include` end to end: another GitRepository's artifact (a directory of
//! it) is copied into this one's artifact, which keeps its own commit's revision; a missing
//! include is reported as `IncludeUnavailable`; a new commit in the included repository makes
//! a new artifact here and the Kustomization applies it.

mod common;

use anyhow::Result;
use common::InProcessController;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, dynamic_api, kustomization, kustomizations,
    merge_patch, wait_ready_where,
};
use tether_testkit::git::GitRepoFixture;

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

fn git_repositories(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    )
}

async fn wait_object(
    api: &Api<DynamicObject>,
    name: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let object = wait_for(api, name, WAIT, |o| {
        check(&serde_json::to_value(o).unwrap_or_default())
    })
    .await?;
    Ok(serde_json::to_value(object)?)
}

async fn wait_config_value(client: &kube::Client, ns: &str, name: &str, value: &str) -> Result<()> {
    let api = Api::<ConfigMap>::namespaced(client.clone(), ns);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let found = api.get_opt(name).await?;
        if found.and_then(|c| c.data?.get("value").cloned()).as_deref() == Some(value) {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "ConfigMap {name} never got value {value}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_included_repository_is_copied_in_and_its_new_commits_reach_the_cluster() -> Result<()> {
    let source = GitSourceFixture::start_with(
        "include",
        "1m",
        |repo| {
            let app = config_map("app", "app-1");
            repo.commit("master", &[("deploy/app.yaml", app.as_str())], "app")
                .map(drop)
        },
        json!({"include": [{"repository": {"name": "lib"}, "fromPath": "manifests",
                            "toPath": "deploy/lib"}]}),
    )
    .await?;
    let (client, ns) = (source.client.clone(), source.ns.name.clone());
    let _controller = InProcessController::start(&ns).await?;
    let sources = git_repositories(&client, &ns);

    // Waits for the final message: while another test installs the CRDs, a read can fail
    // with a transient error, reported (as Flux does) under the same reason.
    let missing = "could not get resource for include 'lib': gitrepositories.source.toolkit.fluxcd.io \"lib\" not found";
    let app = wait_object(&sources, "app", |o| {
        condition(o, "IncludeUnavailable")
            .is_some_and(|c| c.0 == "True" && c.1 == "NotFound" && c.2 == missing)
    })
    .await?;
    assert_eq!(
        condition(&app, "Ready").map(|c| c.0).as_deref(),
        Some("False")
    );

    let lib = GitRepoFixture::new("lib")?;
    let lib_config = config_map("lib", "lib-1");
    let lib_first = lib.commit(
        "master",
        &[
            ("manifests/lib.yaml", lib_config.as_str()),
            ("README.md", "not copied: outside fromPath\n"),
        ],
        "lib",
    )?;
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "lib", "namespace": ns},
               "spec": {"url": source.url_of(&lib), "interval": "2s",
                        "ref": {"branch": "master"}, "secretRef": {"name": "ssh-credentials"}}}),
    )
    .await?;
    let app_commit = source.repo.rev_parse("refs/heads/master")?;
    let app = wait_ready_where(&sources, "app", |s, _, _| s == "True").await?;
    assert!(condition(&app, "IncludeUnavailable").is_none());
    assert_eq!(
        app["status"]["artifact"]["revision"],
        format!("master@sha1:{app_commit}")
    );
    assert_eq!(
        app["status"]["includedArtifacts"][0]["revision"],
        format!("master@sha1:{lib_first}")
    );
    assert_eq!(app["status"]["observedInclude"][0]["toPath"], "deploy/lib");
    let first_digest = app["status"]["artifact"]["digest"].clone();

    let kustomizations = kustomizations(&client, &ns);
    let mut ks = kustomization("app", &ns, &ns, "./deploy");
    ks["spec"]["interval"] = json!("1m");
    create(&kustomizations, ks).await?;
    wait_ready_where(&kustomizations, "app", |s, _, _| s == "True").await?;
    wait_config_value(&client, &ns, "app", "app-1").await?;
    wait_config_value(&client, &ns, "lib", "lib-1").await?;

    // A new lib commit wakes app (no interval passes: app polls every minute).
    let lib_config = config_map("lib", "lib-2");
    let lib_second = lib.commit(
        "master",
        &[("manifests/lib.yaml", lib_config.as_str())],
        "lib 2",
    )?;
    let app = wait_object(&sources, "app", |o| {
        o["status"]["includedArtifacts"][0]["revision"] == format!("master@sha1:{lib_second}")
    })
    .await?;
    assert_eq!(
        app["status"]["artifact"]["revision"],
        format!("master@sha1:{app_commit}")
    );
    assert_ne!(app["status"]["artifact"]["digest"], first_digest);
    wait_config_value(&client, &ns, "lib", "lib-2").await?;

    // A copy that would overwrite the including repository's own files is refused by name.
    merge_patch(
        &sources,
        "app",
        json!({"spec": {"include": [{"repository": {"name": "lib"}, "toPath": "deploy"}]}}),
    )
    .await?;
    let app = wait_object(&sources, "app", |o| {
        condition(o, "StorageOperationFailed").is_some_and(|c| c.0 == "True")
    })
    .await?;
    assert_eq!(
        condition(&app, "StorageOperationFailed").map(|c| (c.1, c.2)),
        Some((
            "CopyFailure".into(),
            "failed to copy 'lib' include from  to deploy: 'deploy' already exists in the repository and is not an empty directory".into()
        ))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submodules_are_checked_out_into_the_artifact_with_recurse_submodules() -> Result<()> {
    let lib = GitRepoFixture::new("lib")?;
    let lib_config = config_map("lib", "from-submodule");
    lib.commit(
        "master",
        &[("manifests/lib.yaml", lib_config.as_str())],
        "lib",
    )?;
    let source = GitSourceFixture::start_with(
        "submodule",
        "1m",
        |repo| {
            // The submodule URL is relative, as git resolves it: next to the superproject.
            let copy = repo.projects_root().join("lib.git");
            let cloned = std::process::Command::new("git")
                .args(["clone", "--quiet", "--bare"])
                .arg(lib.bare_path())
                .arg(&copy)
                .status()?;
            anyhow::ensure!(cloned.success(), "git clone --bare failed");
            let app = config_map("app", "app-1");
            repo.commit("master", &[("deploy/app.yaml", app.as_str())], "app")?;
            repo.add_submodule("master", "deploy/vendor", &copy, "../lib.git")
                .map(drop)
        },
        json!({"recurseSubmodules": true}),
    )
    .await?;
    let (client, ns) = (source.client.clone(), source.ns.name.clone());
    let _controller = InProcessController::start(&ns).await?;
    let sources = git_repositories(&client, &ns);
    let app = wait_ready_where(&sources, "app", |s, _, _| s == "True").await?;
    assert_eq!(app["status"]["observedRecurseSubmodules"], true);
    let kustomizations = kustomizations(&client, &ns);
    create(&kustomizations, kustomization("app", &ns, &ns, "./deploy")).await?;
    wait_ready_where(&kustomizations, "app", |s, _, _| s == "True").await?;
    wait_config_value(&client, &ns, "lib", "from-submodule").await?;
    wait_config_value(&client, &ns, "app", "app-1").await?;
    Ok(())
}

/// While a changed include is built in, the including GitRepository says so, as
/// source-controller does: `ArtifactOutdated=True` with reason `IncludeChange` and Ready
/// Unknown "building artifact: ..."; the condition is gone once the new artifact is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_include_marks_the_artifact_outdated_until_it_is_rebuilt() -> Result<()> {
    use futures::StreamExt;
    let source = GitSourceFixture::start_with(
        "includechange",
        "1h",
        |repo| {
            let app = config_map("app", "app-1");
            repo.commit("master", &[("deploy/app.yaml", app.as_str())], "app")
                .map(drop)
        },
        json!({"include": [{"repository": {"name": "lib"}, "toPath": "deploy/lib"}]}),
    )
    .await?;
    let (client, ns) = (source.client.clone(), source.ns.name.clone());
    let lib = GitRepoFixture::new("lib")?;
    let lib_config = config_map("lib", "lib-1");
    lib.commit("master", &[("lib.yaml", lib_config.as_str())], "lib")?;
    let sources = git_repositories(&client, &ns);
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "lib", "namespace": ns},
               "spec": {"url": source.url_of(&lib), "interval": "2s",
                        "ref": {"branch": "master"}, "secretRef": {"name": "ssh-credentials"}}}),
    )
    .await?;
    let _controller = InProcessController::start(&ns).await?;
    let first = wait_ready_where(&sources, "app", |s, _, _| s == "True").await?;
    assert!(condition(&first, "ArtifactOutdated").is_none(), "{first}");

    // Every write to app from now on, as a watch sees them.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let recorder = {
        let (seen, api) = (seen.clone(), sources.clone());
        let config = kube::runtime::watcher::Config::default().fields("metadata.name=app");
        tokio::spawn(async move {
            let mut events = Box::pin(kube::runtime::watcher(api, config));
            while let Some(Ok(event)) = events.next().await {
                if let kube::runtime::watcher::Event::Apply(object) = event
                    && let (Ok(value), Ok(mut seen)) = (serde_json::to_value(object), seen.lock())
                {
                    seen.push(value);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lib_config = config_map("lib", "lib-2");
    let second = lib.commit("master", &[("lib.yaml", lib_config.as_str())], "lib 2")?;
    let rebuilt = wait_object(&sources, "app", |o| {
        o["status"]["includedArtifacts"][0]["revision"] == format!("master@sha1:{second}")
    })
    .await?;
    recorder.abort();
    assert!(
        condition(&rebuilt, "ArtifactOutdated").is_none(),
        "{rebuilt}"
    );
    assert_eq!(
        condition(&rebuilt, "Ready").map(|c| c.0).as_deref(),
        Some("True")
    );

    let differ = "included artifacts differ from last observed includes";
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let outdated = seen
        .iter()
        .find(|o| condition(o, "ArtifactOutdated").is_some())
        .ok_or_else(|| anyhow::anyhow!("ArtifactOutdated never seen in {seen:?}"))?;
    assert_eq!(
        condition(outdated, "ArtifactOutdated"),
        Some(("True".into(), "IncludeChange".into(), differ.into()))
    );
    assert_eq!(
        condition(outdated, "Ready"),
        Some((
            "Unknown".into(),
            "Progressing".into(),
            format!("building artifact: {differ}")
        ))
    );
    assert_eq!(
        outdated["status"]["artifact"], first["status"]["artifact"],
        "the old artifact is served while the new one is built"
    );
    Ok(())
}
