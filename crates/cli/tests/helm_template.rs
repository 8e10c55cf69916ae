//! `tether helm template` on the command line prints what the Go-built `helm template` prints
//! (`TETHER_HELM`, or the testbin build; skipped with a message when neither exists outside
//! CI): the `helm create` scaffold as a directory and as the archive `helm package` makes,
//! with values files, `--set-file`, `--show-only` and capability flags; and a failing chart
//! exits 1 with Helm's message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn helm_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TETHER_HELM") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var("HOME").ok().and_then(|home| {
        std::fs::read_dir(Path::new(&home).join(".cache/tether/testbin"))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("helm"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "TETHER_HELM is unset in CI"
        );
        println!("no helm binary (TETHER_HELM unset, dev/testbin.sh not run); skipping");
    }
    found
}

fn run(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env("HELM_CACHE_HOME", dir.join(".h/cache"))
        .env("HELM_CONFIG_HOME", dir.join(".h/config"))
        .env("HELM_DATA_HOME", dir.join(".h/data"))
        .output()
        .expect("runs")
}

fn tether(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["helm", "template"];
    all.extend_from_slice(args);
    run(Path::new(env!("CARGO_BIN_EXE_tether")), dir, &all)
}

#[test]
fn tether_helm_template_prints_what_helm_template_prints() {
    let Some(helm) = helm_binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    assert!(run(&helm, d, &["create", "web"]).status.success());
    assert!(run(&helm, d, &["package", "web"]).status.success());
    std::fs::write(
        d.join("prod.yaml"),
        "replicaCount: 3\ningress:\n  enabled: true\n",
    )
    .expect("write");
    std::fs::write(d.join("motd.txt"), "hello\nworld\n").expect("write");
    let cases: Vec<Vec<&str>> = vec![
        vec!["web"],
        vec!["rel", "web-0.1.0.tgz"],
        vec![
            "rel",
            "web",
            "-f",
            "prod.yaml",
            "--set",
            "service.type=NodePort",
        ],
        vec!["rel", "web", "--set-file", "podAnnotations.motd=motd.txt"],
        vec![
            "rel",
            "web",
            "-s",
            "templates/service.yaml",
            "--namespace",
            "ns",
        ],
        vec![
            "rel",
            "web",
            "--kube-version",
            "1.29.0",
            "-a",
            "example.com/v1",
            "--is-upgrade",
        ],
        vec!["rel", "web", "--skip-tests", "--include-crds"],
    ];
    for case in cases {
        let mut helm_args = vec!["template"];
        helm_args.extend_from_slice(&case);
        let want = run(&helm, d, &helm_args);
        let got = tether(d, &case);
        assert!(want.status.success(), "helm {case:?}");
        assert!(
            got.status.success(),
            "{case:?}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{case:?}"
        );
    }
}

#[test]
fn a_failing_chart_exits_1_with_helms_message() {
    let Some(helm) = helm_binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("bad/templates")).expect("mkdir");
    std::fs::write(
        d.join("bad/Chart.yaml"),
        "apiVersion: v2\nname: bad\nversion: 1.0.0\n",
    )
    .expect("write");
    std::fs::write(
        d.join("bad/templates/x.yaml"),
        "x: {{ required \"x is required\" .Values.x }}\n",
    )
    .expect("write");
    let want = run(&helm, d, &["template", "bad"]);
    let got = tether(d, &["bad"]);
    assert_eq!(got.status.code(), Some(1));
    assert!(got.stdout.is_empty());
    let message = "execution error at (bad/templates/x.yaml:1:6): x is required";
    assert!(String::from_utf8_lossy(&want.stderr).contains(message));
    assert!(String::from_utf8_lossy(&got.stderr).contains(message));
}
