//! Finding workloads in a checkout: multi-document files, `List`s, CronJobs, namespaces,
//! duplicates, Helm chart directories, and confinement to the root.

use std::fs;
use std::path::{Path, PathBuf};

use tether_workloads::{LocateError, ManifestError, locate_workloads, workloads_in_text};

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

const APPS: &str = "\
---
apiVersion: v1
kind: Namespace
metadata:
  name: team
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team
  annotations:
    fluxcd.io/automated: 'true'
    fluxcd.io/tag.app: semver:~1.0
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: acme/migrate:1.0.0
      containers:
      - name: app
        image: acme/web:1.0.0
---
# empty document above is skipped
";

const LIST: &str = "\
apiVersion: v1
kind: DeploymentList
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata:
    name: agent
  spec:
    template:
      spec:
        containers:
        - name: agent
          image: acme/agent:7
- apiVersion: batch/v1
  kind: CronJob
  metadata:
    name: report
    namespace: jobs
    annotations:
      flux.weave.works/locked: \"true\"
  spec:
    jobTemplate:
      spec:
        template:
          spec:
            containers:
            - name: report
              image: acme/report:1
";

#[test]
fn finds_workloads_in_documents_and_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "apps/web.yaml", APPS);
    write(dir.path(), "apps/list.yml", LIST);
    write(dir.path(), "apps/README.md", "kind: Deployment\n");
    let found = locate_workloads(dir.path(), &["apps"]).expect("located");
    let ids: Vec<String> = found.iter().map(|w| w.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "default:daemonset/agent",
            "jobs:cronjob/report",
            "team:deployment/web"
        ]
    );

    let web = &found[2];
    assert_eq!(web.file, PathBuf::from("apps/web.yaml"));
    assert_eq!(web.document, 1);
    assert_eq!(web.item, None);
    assert!(web.policy.automated && !web.policy.locked);
    assert_eq!(web.policy.tag_pattern("app"), "semver:~1.0");
    assert_eq!(web.container_names(), ["app", "migrate"]);
    assert!(web.container("migrate").expect("init").init);
    assert_eq!(web.container("app").expect("app").image, "acme/web:1.0.0");

    let report = &found[1];
    assert_eq!((report.document, report.item), (0, Some(1)));
    assert!(report.policy.locked);
    assert_eq!(report.containers[0].image, "acme/report:1");
}

#[test]
fn whole_root_is_walked_when_no_paths_are_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a/web.yaml", APPS);
    write(dir.path(), "b/c/list.yaml", LIST);
    let none: [&str; 0] = [];
    assert_eq!(
        locate_workloads(dir.path(), &none).expect("located").len(),
        3
    );
    // Overlapping paths read each file once.
    assert_eq!(
        locate_workloads(dir.path(), &[".", "a"])
            .expect("located")
            .len(),
        3
    );
}

#[test]
fn duplicate_definitions_across_files_name_both_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "one/web.yaml", APPS);
    write(dir.path(), "two/web-copy.yaml", APPS);
    let err = locate_workloads(dir.path(), &["one", "two"]).expect_err("duplicate");
    assert!(matches!(err, LocateError::Duplicate { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "duplicate definition of 'team:deployment/web' (in \"one/web.yaml\" and \"two/web-copy.yaml\")"
    );
}

#[test]
fn duplicate_definitions_in_one_file_are_an_error() {
    let text = format!("{APPS}---\n{}", APPS.trim_start_matches("---\n"));
    let err = workloads_in_text(&text, Path::new("dup.yaml")).expect_err("duplicate");
    assert!(matches!(err, ManifestError::Duplicate { .. }), "{err}");
    assert!(err.to_string().contains("team:deployment/web"), "{err}");
}

#[test]
fn implicit_namespace_is_default_and_explicit_default_collides_with_it() {
    let implicit = "kind: Deployment\nmetadata:\n  name: web\n";
    let explicit = "kind: Deployment\nmetadata:\n  name: web\n  namespace: default\n";
    let text = format!("{implicit}---\n{explicit}");
    let err = workloads_in_text(&text, Path::new("x.yaml")).expect_err("same id");
    assert!(err.to_string().contains("default:deployment/web"), "{err}");
}

#[test]
fn other_kinds_and_nameless_objects_are_not_workloads() {
    let text = "kind: Job\nmetadata:\n  name: once\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b}]\n---\nkind: Deployment\nmetadata: {}\n---\nkind: HelmRelease\nmetadata:\n  name: chart\n";
    assert!(
        workloads_in_text(text, Path::new("x.yaml"))
            .expect("parsed")
            .is_empty()
    );
}

#[test]
fn helm_chart_directories_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "charts/web/Chart.yaml", "name: web\n");
    write(dir.path(), "charts/web/values.yaml", "image: x\n");
    write(dir.path(), "charts/web/templates/deploy.yaml", APPS);
    write(dir.path(), "apps/list.yaml", LIST);
    let found = locate_workloads(dir.path(), &["."]).expect("located");
    assert_eq!(found.len(), 2);
}

#[test]
fn invalid_yaml_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "bad.yaml", "kind: [oops\n");
    let err = locate_workloads(dir.path(), &["."]).expect_err("syntax");
    assert!(
        err.to_string()
            .starts_with("parsing YAML in bad.yaml: line"),
        "{err}"
    );
}

#[test]
fn paths_must_stay_inside_the_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "repo/apps/web.yaml", APPS);
    write(dir.path(), "outside/web.yaml", APPS);
    let root = dir.path().join("repo");
    for bad in ["../outside", "apps/../../outside", "/etc"] {
        let err = locate_workloads(&root, &[bad]).expect_err(bad);
        assert!(
            matches!(err, LocateError::PathOutsideRoot { .. }),
            "{bad}: {err}"
        );
    }
    let err = locate_workloads(&root, &["missing"]).expect_err("missing path");
    assert!(matches!(err, LocateError::Io { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_escaping_the_root_are_refused_and_inner_ones_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "repo/apps/web.yaml", APPS);
    write(dir.path(), "outside/list.yaml", LIST);
    let root = dir.path().join("repo");
    std::os::unix::fs::symlink(root.join("apps/web.yaml"), root.join("linked.yaml")).expect("link");
    let found = locate_workloads(&root, &["linked.yaml"]).expect("inner link");
    assert_eq!(found[0].id.to_string(), "team:deployment/web");

    std::os::unix::fs::symlink(
        dir.path().join("outside/list.yaml"),
        root.join("apps/evil.yaml"),
    )
    .expect("link");
    let err = locate_workloads(&root, &["apps"]).expect_err("escaping file link");
    assert!(matches!(err, LocateError::SymlinkEscapes { .. }), "{err}");

    std::os::unix::fs::symlink(dir.path().join("outside"), root.join("out")).expect("link");
    let err = locate_workloads(&root, &["out"]).expect_err("escaping dir link");
    assert!(matches!(err, LocateError::SymlinkEscapes { .. }), "{err}");
}
