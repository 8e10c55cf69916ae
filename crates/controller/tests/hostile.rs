//! Hostile repository content against the in-process controller: a kustomization `resources:`
//! entry climbing out of the root, a symlink to a file outside it, a billion-laughs YAML and a
//! YAML nested past the depth limit each fail their own Kustomization with a condition naming
//! the cause, while another Kustomization of the same source keeps syncing new commits. The
//! test prints the process's peak RSS (controller and test together).

mod common;

use anyhow::Result;
use common::InProcessController;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::json;
use std::time::Duration;
use tether_testkit::flux::{
    GitSourceFixture, create, deployment_yaml, kustomization, kustomizations, wait_ready_where,
};

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

    source.repo.commit(
        "master",
        &[("deploy/deployment.yaml", deployment_yaml(3).as_str())],
        "scale",
    )?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let replicas = deployments
            .get_opt("web")
            .await?
            .and_then(|d| d.spec?.replicas);
        if replicas == Some(3) {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the healthy Kustomization stopped syncing (replicas {replicas:?})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    println!("peak RSS of the test process: {} KiB", peak_rss_kib());
    Ok(())
}
