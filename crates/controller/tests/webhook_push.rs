//! A push reaching the cluster the way a forge makes it: the local git server's `post-receive`
//! hook POSTs GitHub's push event, signed with the Receiver's token, to the controller's
//! webhook; the Receiver asks the GitRepository to fetch, and the Kustomization applies the
//! new commit. Both poll once an hour, so only the hook can bring a push in.
//!
//! `push_to_applied_latency_over_100_pushes` is the benchmark of `bench/webhook/run.sh`
//! (ignored in the test suite): it prints p50 and p99 and asserts nothing about them.

mod common;

use common::InProcessController;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;
use std::time::{Duration, Instant};
use tether_testkit::flux::{
    GitSourceFixture, WAIT, create, kustomization, kustomizations, receivers, wait_ready_where,
};

const TOKEN: &str = "push-hook-s3cret";

/// A ConfigMap `pushed` whose `count` is `count`, as YAML.
fn config_map_yaml(count: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pushed\ndata:\n  count: \"{count}\"\n"
    )
}

/// The repository's `config/` applied by a Kustomization polling hourly, a GitHub Receiver
/// for the GitRepository, and the repository's hook calling that Receiver on every push.
async fn hooked_repository(
    prefix: &str,
) -> anyhow::Result<(GitSourceFixture, InProcessController)> {
    let source = GitSourceFixture::start(prefix, "1h").await?;
    let (client, ns) = (&source.client, source.ns.name.clone());
    source.repo.commit(
        "master",
        &[("config/pushed.yaml", &config_map_yaml(0))],
        "count 0",
    )?;
    let controller = InProcessController::start(&ns).await?;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "webhook-token"}, "stringData": {"token": TOKEN}
    }))?;
    source
        .ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let receivers = receivers(client, &ns);
    create(
        &receivers,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "github", "namespace": ns},
            "spec": {"type": "github", "events": ["push"], "secretRef": {"name": "webhook-token"},
                     "resources": [{"kind": "GitRepository", "name": "app"}]}
        }),
    )
    .await?;
    let ready = wait_ready_where(&receivers, "github", |status, _, _| status == "True").await?;
    let path = ready["status"]["webhookPath"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(path.starts_with("/hook/"), "no webhook path: {ready}");
    let ks = kustomizations(client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./config");
    app["spec"]["interval"] = json!("1h");
    app["spec"]["wait"] = json!(false);
    create(&ks, app).await?;
    wait_ready_where(&ks, "app", |status, _, _| status == "True").await?;
    let url = format!("{}{path}", controller.receiver_url);
    source.repo.send_github_push_events(&url, TOKEN)?;
    Ok((source, controller))
}

/// Waits until the ConfigMap's `count` is `count`, reading it every 10 ms.
async fn wait_count(api: &Api<ConfigMap>, count: usize) -> anyhow::Result<()> {
    let want = count.to_string();
    let deadline = Instant::now() + WAIT;
    loop {
        let current = api.get_opt("pushed").await?;
        let value = current.as_ref().and_then(|c| c.data.as_ref()?.get("count"));
        if value == Some(&want) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "count {want} not applied, still {value:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Commits `count`, pushes it and returns how long the push took to reach the cluster.
async fn push_and_wait(
    source: &GitSourceFixture,
    config_maps: &Api<ConfigMap>,
    count: usize,
) -> anyhow::Result<(String, Duration)> {
    let files = [("config/pushed.yaml", config_map_yaml(count))];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let sha = source
        .repo
        .commit_unpushed("master", &files, &format!("count {count}"))?;
    let pushed = Instant::now();
    source.repo.push("master")?;
    let hooked = pushed.elapsed();
    wait_count(config_maps, count).await?;
    if std::env::var_os("TETHER_BENCH_VERBOSE").is_some() {
        eprintln!("push {count}: pushed and hook answered after {hooked:?}");
    }
    Ok((sha, pushed.elapsed()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_reaches_the_cluster_through_the_git_servers_post_receive_hook() -> anyhow::Result<()>
{
    let (source, _controller) = hooked_repository("hook").await?;
    let config_maps = source.ns.api::<ConfigMap>();
    wait_count(&config_maps, 0).await?;
    let (sha, took) = push_and_wait(&source, &config_maps, 1).await?;
    eprintln!("push to applied: {took:?}");
    let log = source.repo.webhook_log();
    assert_eq!(
        log,
        format!("refs/heads/master {sha} 200\n"),
        "the hook's calls"
    );
    Ok(())
}

/// The `p`-th percentile (nearest rank) of sorted `samples`.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: bench/webhook/run.sh runs it"]
async fn push_to_applied_latency_over_100_pushes() -> anyhow::Result<()> {
    let pushes: usize = std::env::var("PUSHES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(100);
    let (source, _controller) = hooked_repository("hook-bench").await?;
    let config_maps = source.ns.api::<ConfigMap>();
    wait_count(&config_maps, 0).await?;
    let mut samples = Vec::with_capacity(pushes);
    for count in 1..=pushes {
        let (_, took) = push_and_wait(&source, &config_maps, count).await?;
        samples.push(took);
    }
    let failed = source
        .repo
        .webhook_log()
        .lines()
        .filter(|l| !l.ends_with(" 200"))
        .count();
    samples.sort_unstable();
    let mean = samples.iter().sum::<Duration>() / pushes as u32;
    println!(
        "webhook push-to-applied over {pushes} pushes: p50 {:?}, p99 {:?}, min {:?}, max {:?}, mean {mean:?}, failed hook calls {failed}",
        percentile(&samples, 50),
        percentile(&samples, 99),
        samples[0],
        samples[pushes - 1],
    );
    Ok(())
}
