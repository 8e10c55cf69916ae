//! Fetching sources: a GitRepository's artifact is served over HTTP at the URL its status
//! advertises, with the advertised digest; a source that cannot fetch is reported on the
//! Kustomizations that use it, promptly and by name.

mod common;

use common::InProcessController;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tether_testkit::cluster::{TestNamespace, client, install_crds, wait_for};
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, dynamic_api, kustomization, kustomizations,
    merge_patch, wait_ready_where,
};
use tether_testkit::http::{free_port, http_get_bytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_artifact_is_downloadable_at_its_advertised_url() -> anyhow::Result<()> {
    let s = GitSourceFixture::start("artifact", "1m").await?;
    let controller = InProcessController::start(&s.ns.name).await?;
    let sources = dynamic_api(
        &s.client,
        &s.ns.name,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    let ready = wait_for(&sources, "app", WAIT, |o| {
        let value = serde_json::to_value(o).unwrap_or_default();
        condition(&value, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await?;
    let artifact = serde_json::to_value(ready)?["status"]["artifact"].clone();
    let url = artifact["url"].as_str().unwrap_or_default().to_owned();
    assert!(
        url.starts_with(&format!(
            "{}/gitrepository/{}/app/",
            controller.storage_url, s.ns.name
        )),
        "{url}"
    );
    let download = url.clone();
    let (code, body) = tokio::task::spawn_blocking(move || http_get_bytes(&download))
        .await?
        .ok_or_else(|| anyhow::anyhow!("nothing answers at {url}"))?;
    assert_eq!(code, 200, "GET {url}");
    let digest = format!("sha256:{:x}", Sha256::digest(&body));
    assert_eq!(artifact["digest"].as_str(), Some(digest.as_str()));
    assert_eq!(artifact["size"].as_u64(), Some(body.len() as u64));

    let outside = format!(
        "{}/gitrepository/{}/app/..%2F..%2F..%2Fetc%2Fpasswd",
        controller.storage_url, s.ns.name
    );
    let refused = tokio::task::spawn_blocking(move || http_get_bytes(&outside)).await?;
    assert_eq!(refused.map(|(code, _)| code), Some(404));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_cannot_fetch_is_reported_on_its_kustomization() -> anyhow::Result<()> {
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "unfetched").await?;
    let unreachable = format!("http://127.0.0.1:{}/app.git", free_port()?);
    let sources = dynamic_api(
        &client,
        &ns.name,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": ns.name},
            "spec": {"url": unreachable, "interval": "1h", "timeout": "5s",
                     "ref": {"branch": "main"}}}),
    )
    .await?;
    // A suspended source that never fetched has nothing to wait for either.
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "held", "namespace": ns.name},
            "spec": {"url": "http://127.0.0.1:1/held.git", "interval": "1h", "suspend": true,
                     "ref": {"branch": "main"}}}),
    )
    .await?;
    let ks_api = kustomizations(&client, &ns.name);
    create(
        &ks_api,
        kustomization("app", &ns.name, &ns.name, "./deploy"),
    )
    .await?;
    let mut on_held = kustomization("on-held", &ns.name, &ns.name, "./deploy");
    on_held["spec"]["sourceRef"]["name"] = json!("held");
    create(&ks_api, on_held).await?;
    let _controller = InProcessController::start(&ns.name).await?;
    let started = std::time::Instant::now();

    // The Kustomization waits for its source's first fetch without a report of its own; the
    // failed fetch wakes it (well before the dependency requeue), and it says what it waits for.
    let failed = wait_ready_where(&ks_api, "app", |status, reason, _| {
        status == "False" && reason == "ArtifactFailed"
    })
    .await?;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "reported after {:?}",
        started.elapsed()
    );
    let expected = format!(
        "Source 'GitRepository/{}/app' is not ready, artifact not found",
        ns.name
    );
    assert!(
        condition(&failed, "Ready").is_some_and(|c| c.2 == expected),
        "{failed}"
    );
    wait_ready_where(&ks_api, "on-held", |status, reason, message| {
        status == "False" && reason == "ArtifactFailed" && message.contains("is not ready")
    })
    .await?;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the Kustomization of a suspended source reported after {:?}",
        started.elapsed()
    );
    Ok(())
}

/// The file names in the artifact the GitRepository's status advertises.
async fn artifact_files(artifact: &serde_json::Value) -> anyhow::Result<Vec<String>> {
    let url = artifact["url"].as_str().unwrap_or_default().to_owned();
    let download = url.clone();
    let (code, body) = tokio::task::spawn_blocking(move || http_get_bytes(&download))
        .await?
        .ok_or_else(|| anyhow::anyhow!("nothing answers at {url}"))?;
    anyhow::ensure!(code == 200, "GET {url}: {code}");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(body.as_slice()));
    let mut names = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        if entry.header().entry_type().is_file() {
            names.push(entry.path()?.display().to_string());
        }
    }
    names.sort();
    Ok(names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sparse_checkout_keeps_only_its_directories() -> anyhow::Result<()> {
    let s = GitSourceFixture::start_with(
        "sparse",
        "1h",
        |repo| {
            repo.commit(
                "master",
                &[
                    ("README.md", "hello\n"),
                    ("deploy/app.yaml", "kind: ConfigMap\n"),
                    ("deploy/nested/more.yaml", "kind: ConfigMap\n"),
                    ("other/config.yaml", "kind: Secret\n"),
                ],
                "first",
            )
            .map(drop)
        },
        json!({"sparseCheckout": ["./deploy"]}),
    )
    .await?;
    let _controller = InProcessController::start(&s.ns.name).await?;
    let sources = dynamic_api(
        &s.client,
        &s.ns.name,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    let ready = wait_ready_where(&sources, "app", |status, _, _| status == "True").await?;
    assert_eq!(
        ready["status"]["observedSparseCheckout"],
        json!(["./deploy"])
    );
    let first = ready["status"]["artifact"].clone();
    assert_eq!(
        artifact_files(&first).await?,
        ["deploy/app.yaml", "deploy/nested/more.yaml"]
    );

    // A directory the commit does not have fails the fetch by name; the artifact stays.
    merge_patch(
        &sources,
        "app",
        json!({"spec": {"sparseCheckout": ["missing"]}}),
    )
    .await?;
    let failed = wait_ready_where(&sources, "app", |status, _, message| {
        status == "False" && message.contains("sparse checkout dir 'missing'")
    })
    .await?;
    let (_, reason, message) = condition(&failed, "Ready").unwrap_or_default();
    assert_eq!(reason, "GitOperationFailed");
    assert_eq!(
        message,
        "failed to sparse checkout directories : sparse checkout dir 'missing' does not exist in repository"
    );
    assert_eq!(failed["status"]["artifact"], first);

    // Another list rebuilds the artifact at the same revision.
    merge_patch(
        &sources,
        "app",
        json!({"spec": {"sparseCheckout": ["other"]}}),
    )
    .await?;
    let other = wait_for(&sources, "app", WAIT, |o| {
        let value = serde_json::to_value(o).unwrap_or_default();
        value["status"]["observedSparseCheckout"] == json!(["other"])
            && condition(&value, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await?;
    let other = serde_json::to_value(other)?;
    assert_eq!(
        other["status"]["artifact"]["revision"], first["revision"],
        "same commit"
    );
    assert_eq!(
        artifact_files(&other["status"]["artifact"]).await?,
        ["other/config.yaml"]
    );
    Ok(())
}
