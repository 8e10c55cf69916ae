//! Annotation edits in every shape `metadata.annotations` can take, checked byte for byte.

use tether_workloads::{
    AnnotationChange, EditError, PolicyUpdate, ResourceId, set_annotations, update_policies,
};

fn id(s: &str) -> ResourceId {
    s.parse().expect("valid id")
}

fn set(key: &str, value: &str) -> AnnotationChange {
    AnnotationChange {
        key: key.to_string(),
        value: Some(value.to_string()),
    }
}

fn remove(key: &str) -> AnnotationChange {
    AnnotationChange {
        key: key.to_string(),
        value: None,
    }
}

const WEB: &str = "default:deployment/web";

const EXISTING: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    # owned by the platform team
    team: platform   # keep
    fluxcd.io/tag.app: 'glob:1.*'
  labels:
    app: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: acme/web:1.0
      - name: proxy
        image: acme/proxy:3
";

#[test]
fn adds_to_an_existing_block_after_the_last_entry() {
    let out =
        set_annotations(EXISTING, &id(WEB), &[set("fluxcd.io/automated", "true")]).expect("edited");
    assert_eq!(
        out,
        EXISTING.replace(
            "    fluxcd.io/tag.app: 'glob:1.*'\n",
            "    fluxcd.io/tag.app: 'glob:1.*'\n    fluxcd.io/automated: \"true\"\n"
        )
    );
}

#[test]
fn updates_a_value_in_place_keeping_single_quotes() {
    let out = set_annotations(
        EXISTING,
        &id(WEB),
        &[set("fluxcd.io/tag.app", "semver:~1.2")],
    )
    .expect("edited");
    assert_eq!(out, EXISTING.replace("'glob:1.*'", "'semver:~1.2'"));
}

#[test]
fn updates_a_plain_value_as_a_quoted_string() {
    let out = set_annotations(EXISTING, &id(WEB), &[set("team", "apps")]).expect("edited");
    assert_eq!(
        out,
        EXISTING.replace("team: platform   # keep", "team: \"apps\"   # keep")
    );
}

#[test]
fn removes_one_entry_and_keeps_the_rest() {
    let out = set_annotations(EXISTING, &id(WEB), &[remove("fluxcd.io/tag.app")]).expect("edited");
    assert_eq!(
        out,
        EXISTING.replace("    fluxcd.io/tag.app: 'glob:1.*'\n", "")
    );
}

#[test]
fn removing_every_annotation_removes_the_key() {
    let out = set_annotations(
        EXISTING,
        &id(WEB),
        &[remove("fluxcd.io/tag.app"), remove("team")],
    )
    .expect("edited");
    let expected = EXISTING.replace(
        "  annotations:\n    # owned by the platform team\n    team: platform   # keep\n    fluxcd.io/tag.app: 'glob:1.*'\n",
        "",
    );
    assert_eq!(out, expected);
    assert!(out.contains("  name: web\n  labels:\n"), "{out}");
}

#[test]
fn no_op_changes_leave_the_text_alone() {
    let out = set_annotations(
        EXISTING,
        &id(WEB),
        &[set("team", "platform"), remove("absent")],
    )
    .expect("no-op");
    assert_eq!(out, EXISTING);
}

const EMPTY_FLOW: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
    name: web
    annotations: {}
spec:
    template:
        spec:
            containers:
            - name: app
              image: acme/web:1.0
";

#[test]
fn empty_flow_mapping_becomes_a_block_in_the_document_indentation() {
    let out = set_annotations(
        EMPTY_FLOW,
        &id(WEB),
        &[
            set("fluxcd.io/automated", "true"),
            set("fluxcd.io/tag.app", "glob:1.*"),
        ],
    )
    .expect("edited");
    assert_eq!(
        out,
        EMPTY_FLOW.replace(
            "    annotations: {}\n",
            "    annotations:\n        fluxcd.io/automated: \"true\"\n        fluxcd.io/tag.app: \"glob:1.*\"\n"
        )
    );
}

#[test]
fn empty_value_becomes_a_block() {
    let text = EMPTY_FLOW.replace("annotations: {}", "annotations:");
    let out = set_annotations(&text, &id(WEB), &[set("fluxcd.io/locked", "true")]).expect("edited");
    assert_eq!(
        out,
        text.replace(
            "    annotations:\n",
            "    annotations:\n        fluxcd.io/locked: \"true\"\n"
        )
    );
    let tilde = EMPTY_FLOW.replace("annotations: {}", "annotations: ~");
    let out =
        set_annotations(&tilde, &id(WEB), &[set("fluxcd.io/locked", "true")]).expect("edited");
    assert_eq!(
        out,
        text.replace(
            "    annotations:\n",
            "    annotations:\n        fluxcd.io/locked: \"true\"\n"
        )
    );
}

const MISSING: &str = "\
# web front end
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web     # selector label

spec:
  template:
    spec:
      containers:
      - name: app
        image: acme/web:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: web
";

#[test]
fn missing_annotations_are_inserted_at_the_end_of_metadata() {
    let out =
        set_annotations(MISSING, &id(WEB), &[set("fluxcd.io/automated", "true")]).expect("edited");
    assert_eq!(
        out,
        MISSING.replace(
            "    app: web     # selector label\n",
            "    app: web     # selector label\n  annotations:\n    fluxcd.io/automated: \"true\"\n"
        )
    );
}

#[test]
fn removing_an_absent_annotation_changes_nothing() {
    let out = set_annotations(MISSING, &id(WEB), &[remove("fluxcd.io/automated")]).expect("no-op");
    assert_eq!(out, MISSING);
}

#[test]
fn non_empty_flow_annotations_stay_flow() {
    let text = "kind: Deployment\nmetadata:\n  name: web\n  annotations: {team: platform, 'fluxcd.io/automated': 'false'}\nspec: {}\n";
    let out = set_annotations(
        text,
        &id(WEB),
        &[
            set("fluxcd.io/automated", "true"),
            set("fluxcd.io/locked", "true"),
        ],
    )
    .expect("edited");
    assert_eq!(
        out,
        "kind: Deployment\nmetadata:\n  name: web\n  annotations: {team: platform, fluxcd.io/automated: \"true\", fluxcd.io/locked: \"true\"}\nspec: {}\n"
    );
    let out = set_annotations(
        text,
        &id(WEB),
        &[remove("team"), remove("fluxcd.io/automated")],
    )
    .expect("edited");
    assert_eq!(out, "kind: Deployment\nmetadata:\n  name: web\nspec: {}\n");
}

#[test]
fn flow_metadata_is_rewritten_from_its_own_entries() {
    let text = "kind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec: {}\n";
    let out =
        set_annotations(text, &id(WEB), &[set("fluxcd.io/automated", "true")]).expect("edited");
    assert_eq!(
        out,
        "kind: Deployment\nmetadata: {name: web, labels: {app: web}, annotations: {fluxcd.io/automated: \"true\"}}\nspec: {}\n"
    );
}

#[test]
fn messages_are_escaped_as_double_quoted_strings() {
    let out = set_annotations(
        MISSING,
        &id(WEB),
        &[set("fluxcd.io/locked_msg", "don't \"touch\"\nuntil Monday")],
    )
    .expect("edited");
    assert!(
        out.contains("    fluxcd.io/locked_msg: \"don't \\\"touch\\\"\\nuntil Monday\"\n"),
        "{out}"
    );
}

#[test]
fn only_the_named_workload_in_a_list_changes() {
    let text = "apiVersion: v1\nkind: List\nitems:\n  - kind: Deployment\n    metadata:\n      name: web\n  - kind: Deployment\n    metadata:\n      name: api\n      annotations:\n        a: b\n";
    let out = set_annotations(
        text,
        &id("default:deployment/api"),
        &[set("fluxcd.io/automated", "true")],
    )
    .expect("edited");
    assert_eq!(
        out,
        text.replace(
            "        a: b\n",
            "        a: b\n        fluxcd.io/automated: \"true\"\n"
        )
    );
    let out =
        set_annotations(text, &id(WEB), &[set("fluxcd.io/automated", "true")]).expect("edited");
    assert_eq!(
        out,
        text.replace(
            "      name: web\n",
            "      name: web\n      annotations:\n        fluxcd.io/automated: \"true\"\n"
        )
    );
}

#[test]
fn policy_updates_follow_fluxctl() {
    let automated =
        update_policies(EXISTING, &id(WEB), &PolicyUpdate::automate()).expect("automate");
    assert!(
        automated.contains("    fluxcd.io/automated: \"true\"\n"),
        "{automated}"
    );
    let tags = update_policies(EXISTING, &id(WEB), &PolicyUpdate::default().tag_all("2.*"))
        .expect("tag-all");
    assert!(
        tags.contains("    fluxcd.io/tag.app: 'glob:2.*'\n"),
        "{tags}"
    );
    assert!(
        tags.contains("    fluxcd.io/tag.proxy: \"glob:2.*\"\n"),
        "{tags}"
    );
    let cleared =
        update_policies(&tags, &id(WEB), &PolicyUpdate::default().tag_all("*")).expect("tag-all *");
    assert_eq!(
        cleared,
        EXISTING.replace("    fluxcd.io/tag.app: 'glob:1.*'\n", "")
    );
    let locked = update_policies(
        MISSING,
        &id(WEB),
        &PolicyUpdate::lock(Some("jane"), Some("release freeze")),
    )
    .expect("lock");
    let unlocked = update_policies(&locked, &id(WEB), &PolicyUpdate::unlock()).expect("unlock");
    assert_eq!(unlocked, MISSING);
}

#[test]
fn legacy_prefix_is_updated_under_its_own_key() {
    let text = "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n    flux.weave.works/automated: \"true\"\n";
    let out = update_policies(text, &id(WEB), &PolicyUpdate::deautomate()).expect("deautomate");
    assert_eq!(out, "kind: Deployment\nmetadata:\n  name: web\n");
}

#[test]
fn annotations_that_are_not_a_mapping_are_refused() {
    let text = "kind: Deployment\nmetadata:\n  name: web\n  annotations: [a]\n";
    let err = set_annotations(text, &id(WEB), &[set("a", "b")]).expect_err("sequence");
    assert!(matches!(err, EditError::Unsupported { .. }), "{err}");
}

#[test]
fn edits_that_do_not_read_back_as_intended_fail_verification() {
    // go-yaml v2 keeps the later of two `annotations` keys; the editor finds the first, so the
    // change would be invisible to the apiserver: verification must refuse it.
    let text = "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n    a: b\n  annotations:\n    c: d\n";
    let err = set_annotations(text, &id(WEB), &[set("fluxcd.io/automated", "true")])
        .expect_err("duplicate key");
    assert!(matches!(err, EditError::Verification { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("edit of default:deployment/web failed verification"),
        "{err}"
    );
}

#[test]
fn crlf_files_get_crlf_lines() {
    let text = MISSING.replace('\n', "\r\n");
    let out =
        set_annotations(&text, &id(WEB), &[set("fluxcd.io/automated", "true")]).expect("edited");
    let expected = MISSING
        .replace(
            "    app: web     # selector label\n",
            "    app: web     # selector label\n  annotations:\n    fluxcd.io/automated: \"true\"\n",
        )
        .replace('\n', "\r\n");
    assert_eq!(out, expected);
    let existing = EXISTING.replace('\n', "\r\n");
    let out =
        set_annotations(&existing, &id(WEB), &[set("x", "y"), remove("team")]).expect("edited");
    assert_eq!(
        out,
        EXISTING
            .replace("    team: platform   # keep\n", "")
            .replace(
                "    fluxcd.io/tag.app: 'glob:1.*'\n",
                "    fluxcd.io/tag.app: 'glob:1.*'\n    x: \"y\"\n"
            )
            .replace('\n', "\r\n")
    );
}
