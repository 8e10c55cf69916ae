//! Image edits change only the image's bytes: comments, quoting, order, blank lines and the
//! other documents stay exactly as they were.

use tether_workloads::{EditError, ResourceId, set_container_image};

fn id(s: &str) -> ResourceId {
    s.parse().expect("valid id")
}

const TWO_DOCS: &str = r#"# Service in front of the app
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # the app
  namespace: prod
spec:

  template:
    spec:
      initContainers:
        - name: migrate
          image: 'ghcr.io/acme/migrate:1.0'   # schema migrations
      containers:
        - name: app
          # keep in step with migrate
          image: "ghcr.io/acme/web:1.0"
          args: ["--port", "8080"]
        - name: sidecar
          image: envoyproxy/envoy:v1.29.0
"#;

#[test]
fn double_quoted_image_keeps_its_quotes_and_everything_else() {
    let out = set_container_image(
        TWO_DOCS,
        &id("prod:deployment/web"),
        "app",
        "ghcr.io/acme/web:1.1",
    )
    .expect("edited");
    assert_eq!(
        out,
        TWO_DOCS.replace("\"ghcr.io/acme/web:1.0\"", "\"ghcr.io/acme/web:1.1\"")
    );
}

#[test]
fn single_quoted_init_container_image_keeps_its_quotes_and_comment() {
    let out = set_container_image(
        TWO_DOCS,
        &id("prod:deployment/web"),
        "migrate",
        "ghcr.io/acme/migrate:1.1",
    )
    .expect("edited");
    assert_eq!(
        out,
        TWO_DOCS.replace(
            "'ghcr.io/acme/migrate:1.0'   # schema",
            "'ghcr.io/acme/migrate:1.1'   # schema"
        )
    );
}

#[test]
fn plain_image_stays_plain() {
    let out = set_container_image(
        TWO_DOCS,
        &id("prod:Deployment/web"),
        "sidecar",
        "envoyproxy/envoy:v1.30.1",
    )
    .expect("edited");
    assert_eq!(out, TWO_DOCS.replace("envoy:v1.29.0", "envoy:v1.30.1"));
}

#[test]
fn same_image_returns_the_text_unchanged() {
    let out = set_container_image(
        TWO_DOCS,
        &id("prod:deployment/web"),
        "app",
        "ghcr.io/acme/web:1.0",
    )
    .expect("no-op");
    assert_eq!(out, TWO_DOCS);
}

#[test]
fn cronjob_pod_template_is_under_job_template() {
    let text = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: report\nspec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: report\n            image: acme/report:2024.1\n          restartPolicy: OnFailure\n";
    let out = set_container_image(
        text,
        &id("default:cronjob/report"),
        "report",
        "acme/report:2024.2",
    )
    .expect("edited");
    assert_eq!(out, text.replace("2024.1", "2024.2"));
}

#[test]
fn list_items_are_edited_in_place() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: DaemonSet\n  metadata:\n    name: agent\n    namespace: monitoring\n  spec:\n    template:\n      spec:\n        containers:\n        - name: agent\n          image: acme/agent:1\n- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata:\n    name: db\n    namespace: monitoring\n  spec:\n    template:\n      spec:\n        containers:\n        - name: db\n          image: acme/agent:1\n";
    let out = set_container_image(text, &id("monitoring:statefulset/db"), "db", "acme/db:2")
        .expect("edited");
    // Only the second item's image changes; the DaemonSet's identical image stays.
    let at = text.rfind("acme/agent:1").expect("second image");
    let mut expected = text.to_string();
    expected.replace_range(at..at + "acme/agent:1".len(), "acme/db:2");
    assert_eq!(out, expected);
}

#[test]
fn value_that_would_not_read_as_a_string_is_quoted() {
    let text = "kind: Deployment\nmetadata:\n  name: odd\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: x\n";
    let out = set_container_image(text, &id("default:deployment/odd"), "c", "1.0").expect("edited");
    assert!(out.contains("image: \"1.0\"\n"), "{out}");
}

#[test]
fn missing_workload_and_container_are_typed_errors() {
    let err = set_container_image(TWO_DOCS, &id("default:deployment/web"), "app", "x:1")
        .expect_err("namespace differs");
    assert!(matches!(err, EditError::WorkloadNotFound { .. }), "{err}");
    let err = set_container_image(TWO_DOCS, &id("prod:deployment/web"), "nope", "x:1")
        .expect_err("no container");
    assert!(matches!(err, EditError::ContainerNotFound { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "container \"nope\" not found in workload prod:deployment/web"
    );
}

#[test]
fn image_shared_through_an_anchor_is_refused() {
    let text = "kind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n      - name: one\n        image: &img acme/app:1\n      - name: two\n        image: *img\n";
    let err = set_container_image(text, &id("default:deployment/a"), "two", "acme/app:2")
        .expect_err("alias");
    assert!(matches!(err, EditError::Unsupported { .. }), "{err}");
    let err = set_container_image(text, &id("default:deployment/a"), "one", "acme/app:2")
        .expect_err("anchor");
    assert!(matches!(err, EditError::Unsupported { .. }), "{err}");
}

#[test]
fn syntax_errors_are_reported() {
    let err = set_container_image("kind: [unclosed\n", &id("default:deployment/a"), "c", "x:1")
        .expect_err("bad yaml");
    assert!(matches!(err, EditError::Syntax(_)), "{err}");
}

#[test]
fn file_without_trailing_newline_is_handled() {
    let text = "kind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n      - {name: c, image: 'acme/app:1'}";
    let out =
        set_container_image(text, &id("default:deployment/a"), "c", "acme/app:2").expect("edited");
    assert_eq!(out, text.replace("app:1", "app:2"));
}

#[test]
fn duplicate_image_key_fails_verification() {
    let text = "kind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: acme/app:1\n        image: acme/app:1\n";
    let err = set_container_image(text, &id("default:deployment/a"), "c", "acme/app:2")
        .expect_err("later duplicate wins when read back");
    assert!(matches!(err, EditError::Verification { .. }), "{err}");
}

#[test]
fn kinds_fluxd_did_not_update_are_refused() {
    let text = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: acme/app:1\n";
    let err =
        set_container_image(text, &id("default:job/once"), "c", "acme/app:2").expect_err("job");
    assert!(matches!(err, EditError::Unsupported { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "cannot edit default:job/once: kind Job is not a workload fluxd updates"
    );
}
