//! Hostile repository content against the in-process controller: a kustomization `resources:`
//! entry climbing out of the root, a symlink to a file outside it, a billion-laughs YAML and a
//! YAML nested past the depth limit each fail their own Kustomization with a condition naming
//! the cause, while another Kustomization of the same source keeps syncing new commits. A
//! repository with a 1 GiB file and one with 100k files each fail their own GitRepository,
//! with the controller's memory bounded, while another source keeps syncing. The tests print
//! the process's peak RSS (controller and test together).

mod common;

use anyhow::Result;
use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::json;
use std::time::Duration;
use tether_testkit::flux::{
    GitSourceFixture, create, deployment_yaml, dynamic_api, kustomization, kustomizations,
    wait_ready_where,
};
use tether_testkit::git::GitRepoFixture;

fn billion_laughs() -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let letters = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in letters.windows(2) {
        let aliases = vec![format!("*{}", pair[0]); 9].join(",");
        text.push_str(&format!("  {}: &{} [{aliases}]\n", pair[1], pair[1]));
    }
    text
}

fn deeply_nested(depth: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_content_fails_its_own_kustomization_and_the_others_keep_syncing() -> Result<()> {
    let bomb = billion_laughs();
    let deep = deeply_nested(100_000);
    let source = GitSourceFixture::start_with(
        "hostile",
        "2s",
        |repo| {
            let deployment = deployment_yaml(1);
            repo.commit(
                "master",
                &[
                    ("deploy/deployment.yaml", deployment.as_str()),
                    (
                        "escape/kustomization.yaml",
                        "resources:\n- ../../../../../../etc/passwd\n",
                    ),
                    ("link/kustomization.yaml", "resources:\n- passwd.yaml\n"),
                    ("bomb/lol.yaml", bomb.as_str()),
                    ("deep/deep.yaml", deep.as_str()),
                ],
                "hostile content",
            )?;
            repo.commit_symlink("master", "link/passwd.yaml", "/etc/passwd", "symlink out")
                .map(drop)
        },
        json!({}),
    )
    .await?;
    let (client, ns) = (source.client.clone(), source.ns.name.clone());
    let _controller = InProcessController::start(&ns).await?;
    let api = kustomizations(&client, &ns);
    for (name, path) in [
        ("app", "./deploy"),
        ("escape", "./escape"),
        ("link", "./link"),
        ("bomb", "./bomb"),
        ("deep", "./deep"),
    ] {
        let mut ks = kustomization(name, &ns, &ns, path);
        ks["spec"]["interval"] = json!("2s");
        ks["spec"]["wait"] = json!(false);
        create(&api, ks).await?;
    }
    wait_ready_where(&api, "app", |s, _, _| s == "True").await?;
    let refused = [
        ("escape", "etc/passwd"),
        ("link", "passwd.yaml"),
        ("bomb", "document contains excessive aliasing"),
        ("deep", "recursion limit exceeded"),
    ];
    for (name, cause) in refused {
        let ks = wait_ready_where(&api, name, |s, _, m| s == "False" && m.contains(cause)).await?;
        let message = &ks["status"]["conditions"][0]["message"];
        println!("{name}: {message}");
        assert!(
            !message.as_str().unwrap_or_default().contains("root:x:0:0"),
            "{name} leaked /etc/passwd"
        );
    }

    scale_and_wait(&source, 3).await?;
    println!("peak RSS of the test process: {} KiB", peak_rss_kib());
    Ok(())
}

/// Commits `replicas` for `web` into the fixture's repository and waits until the cluster has it.
async fn scale_and_wait(source: &GitSourceFixture, wanted: i32) -> Result<()> {
    source.repo.commit(
        "master",
        &[(
            "deploy/deployment.yaml",
            deployment_yaml(wanted.unsigned_abs()).as_str(),
        )],
        "scale",
    )?;
    let deployments: Api<Deployment> = Api::namespaced(source.client.clone(), &source.ns.name);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let replicas = deployments
            .get_opt("web")
            .await?
            .and_then(|d| d.spec?.replicas);
        if replicas == Some(wanted) {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the healthy Kustomization stopped syncing (replicas {replicas:?})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_file_or_too_many_files_fail_their_own_source_and_the_others_keep_syncing()
-> Result<()> {
    let size: u64 = std::env::var("TETHER_BIG_FILE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let source = GitSourceFixture::start("hugerepo", "2s").await?;
    let huge = GitRepoFixture::new("huge")?;
    huge.commit_zero_file("master", "assets/big.bin", size, "zeros")?;
    let many = GitRepoFixture::new("many")?;
    let names: Vec<String> = (0..100_000)
        .map(|i| format!("m/{}/{i}.yaml", i % 100))
        .collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
    many.commit("master", &files, "100k files")?;
    let (client, ns) = (source.client.clone(), source.ns.name.clone());
    let _controller = InProcessController::start(&ns).await?;
    let api = kustomizations(&client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["interval"] = json!("2s");
    app["spec"]["wait"] = json!(false);
    create(&api, app).await?;
    wait_ready_where(&api, "app", |s, _, _| s == "True").await?;
    let before = peak_rss_kib();

    let sources = dynamic_api(
        &client,
        &ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    );
    for repo in [&huge, &many] {
        let name = repo.bare_path();
        let name = name
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        create(
            &sources,
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": name, "namespace": ns},
                   "spec": {"url": source.url_of(repo), "interval": "1h", "timeout": "300s",
                            "ref": {"branch": "master"},
                            "secretRef": {"name": "ssh-credentials"}}}),
        )
        .await?;
    }
    let limit = tether_source::CheckoutLimits::DEFAULT;
    let refused = [
        (
            "huge",
            format!(
                "refused: the fetched pack holds an object larger than the limit of {} bytes",
                limit.max_file_bytes
            ),
        ),
        (
            "many",
            format!("refused: the tree has more than {} files", limit.max_files),
        ),
    ];
    for (name, cause) in refused {
        let repo = wait_ready_where(&sources, name, |s, r, m| {
            s == "False" && r == "GitOperationFailed" && m.contains(&cause)
        })
        .await?;
        println!("{name}: {}", repo["status"]["conditions"][0]["message"]);
    }
    let after = peak_rss_kib();
    scale_and_wait(&source, 3).await?;
    println!(
        "peak RSS of the test process: {before} KiB before the hostile sources, {after} KiB after refusing a {size}-byte file and 100k files"
    );
    assert!(
        after.saturating_sub(before) < limit.max_file_bytes / 1024,
        "peak RSS grew from {before} KiB to {after} KiB"
    );
    Ok(())
}
