//! Pure tests of [`update_text`] on in-memory YAML.

use super::*;
use crate::policy::{ImageRef, PolicyRef};

fn setters() -> Setters {
    let policy = |ns: &str, name: &str, image: &str, tag: &str, digest: &str| PolicyRef {
        namespace: ns.into(),
        name: name.into(),
        latest: Some(ImageRef {
            name: image.into(),
            tag: tag.into(),
            digest: digest.into(),
        }),
    };
    Setters::from_policies(&[
        policy(
            "flux-system",
            "podinfo",
            "ghcr.io/stefanprodan/podinfo",
            "5.0.3",
            "",
        ),
        policy(
            "apps",
            "web",
            "registry.local/web",
            "1.10",
            "sha256:0123abcd",
        ),
    ])
    .expect("valid policies")
}

fn update(text: &str) -> TextUpdate {
    update_text(text, &setters()).expect("parses")
}

const MARK: &str = r#"# {"$imagepolicy": "flux-system:podinfo"}"#;

#[test]
fn plain_scalar_with_marker() {
    let input = format!("image: ghcr.io/stefanprodan/podinfo:5.0.0 {MARK}\n");
    let out = update(&input);
    assert_eq!(
        out.text,
        format!("image: ghcr.io/stefanprodan/podinfo:5.0.3 {MARK}\n")
    );
    assert_eq!(out.changes.len(), 1);
    let (object, change) = &out.changes[0];
    assert_eq!(object, &ObjectIdentifier::default());
    assert_eq!(change.old_value, "ghcr.io/stefanprodan/podinfo:5.0.0");
    assert_eq!(change.new_value, "ghcr.io/stefanprodan/podinfo:5.0.3");
    assert_eq!(change.setter, "flux-system:podinfo");
}

#[test]
fn quoting_is_kept() {
    let single = update(&format!("image: 'old:1'   {MARK}\n"));
    assert_eq!(
        single.text,
        format!("image: 'ghcr.io/stefanprodan/podinfo:5.0.3'   {MARK}\n")
    );
    let double = update(&format!("image: \"old:1\"\t{MARK}\n"));
    assert_eq!(
        double.text,
        format!("image: \"ghcr.io/stefanprodan/podinfo:5.0.3\"\t{MARK}\n")
    );
}

#[test]
fn unchanged_value_records_nothing() {
    let input = format!("image: \"ghcr.io/stefanprodan/podinfo:5.0.3\" {MARK}\n");
    let out = update(&input);
    assert_eq!(out.text, input);
    assert!(out.changes.is_empty());
}

#[test]
fn unknown_policy_and_plain_comments_are_left_alone() {
    let input = "a: x:1 # {\"$imagepolicy\": \"flux-system:nope\"}\nb: y:1 # image\nc: z:1\n";
    let out = update(input);
    assert_eq!(out.text, input);
    assert!(out.changes.is_empty());
}

#[test]
fn marker_must_be_on_the_same_line() {
    let input = format!("image: old:1\n{MARK}\nother: x\n");
    assert_eq!(update(&input).text, input);
}

#[test]
fn tag_name_and_digest_markers() {
    let input = "\
image:
  repository: old/repo # {\"$imagepolicy\": \"flux-system:podinfo:name\"}
  tag: 5.0.0 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}
  digest: sha256:old # {\"$imagepolicy\": \"apps:web:digest\"}
";
    let out = update(input);
    let want = "\
image:
  repository: ghcr.io/stefanprodan/podinfo # {\"$imagepolicy\": \"flux-system:podinfo:name\"}
  tag: 5.0.3 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}
  digest: sha256:0123abcd # {\"$imagepolicy\": \"apps:web:digest\"}
";
    assert_eq!(out.text, want);
    let setters: Vec<&str> = out.changes.iter().map(|(_, c)| c.setter.as_str()).collect();
    assert_eq!(
        setters,
        [
            "flux-system:podinfo:name",
            "flux-system:podinfo:tag",
            "apps:web:digest"
        ]
    );
}

#[test]
fn numeric_looking_tag_is_double_quoted_when_plain() {
    let input = "tag: 1.9 # {\"$imagepolicy\": \"apps:web:tag\"}\nq: '1.9' # {\"$imagepolicy\": \"apps:web:tag\"}\n";
    let out = update(input);
    assert_eq!(
        out.text,
        "tag: \"1.10\" # {\"$imagepolicy\": \"apps:web:tag\"}\nq: '1.10' # {\"$imagepolicy\": \"apps:web:tag\"}\n"
    );
}

#[test]
fn full_reference_with_digest() {
    let out = update("image: web:1 # {\"$imagepolicy\": \"apps:web\"}\n");
    assert_eq!(
        out.text,
        "image: registry.local/web:1.10@sha256:0123abcd # {\"$imagepolicy\": \"apps:web\"}\n"
    );
}

#[test]
fn list_items_and_scalar_sequence_entries() {
    let input = format!(
        "containers:\n  - name: app\n    image: old:1 {MARK}\n  - image: old:2 {MARK}\nimages:\n- old:3 {MARK}\n- untouched:1\n"
    );
    let out = update(&input);
    let new = "ghcr.io/stefanprodan/podinfo:5.0.3";
    assert_eq!(
        out.text,
        format!(
            "containers:\n  - name: app\n    image: {new} {MARK}\n  - image: {new} {MARK}\nimages:\n- {new} {MARK}\n- untouched:1\n"
        )
    );
    assert_eq!(out.changes.len(), 3);
}

#[test]
fn multi_document_files_name_each_object() {
    let input = format!(
        "# leading comment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n      - name: podinfod\n        image: ghcr.io/stefanprodan/podinfo:5.0.0 {MARK}\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm}}\ndata:\n  IMAGE: old {MARK}\n...\n---\n# empty document above\nkind: Other\n"
    );
    let out = update(&input);
    assert_eq!(
        out.text,
        input
            .replace(
                "ghcr.io/stefanprodan/podinfo:5.0.0",
                "ghcr.io/stefanprodan/podinfo:5.0.3"
            )
            .replace("IMAGE: old", "IMAGE: ghcr.io/stefanprodan/podinfo:5.0.3")
    );
    let objects: Vec<(&str, &str, &str, &str)> = out
        .changes
        .iter()
        .map(|(o, _)| {
            (
                o.api_version.as_str(),
                o.kind.as_str(),
                o.name.as_str(),
                o.namespace.as_str(),
            )
        })
        .collect();
    assert_eq!(
        objects,
        [
            ("apps/v1", "Deployment", "podinfo", "default"),
            ("v1", "ConfigMap", "cm", "")
        ]
    );
}

#[test]
fn nested_helm_values_in_a_helmrelease() {
    let input = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  values:
    image:
      repository: ghcr.io/stefanprodan/podinfo # {\"$imagepolicy\": \"flux-system:podinfo:name\"}

      tag: 5.0.0  # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}
    # a comment
    replicas: 2
";
    let out = update(input);
    assert_eq!(out.text, input.replace("tag: 5.0.0", "tag: 5.0.3"));
    assert_eq!(out.changes.len(), 1, "the name already matches");
    assert_eq!(out.changes[0].0.kind, "HelmRelease");
}

#[test]
fn crlf_line_endings_are_kept() {
    let input = format!("kind: A\r\nimage: old:1 {MARK}\r\nnext: 1\r\n");
    let out = update(&input);
    assert_eq!(
        out.text,
        format!("kind: A\r\nimage: ghcr.io/stefanprodan/podinfo:5.0.3 {MARK}\r\nnext: 1\r\n")
    );
}

#[test]
fn flow_mapping_value_before_closing_brace_is_not_marked() {
    let input = format!("c: {{image: old:1}} {MARK}\n");
    assert_eq!(update(&input).text, input);
}

#[test]
fn flow_sequence_over_lines() {
    let input = format!("images: [\n  old:1, {MARK}\n  old:2 {MARK}\n]\n");
    let out = update(&input);
    assert_eq!(
        out.text,
        format!("images: [\n  old:1, {MARK}\n  ghcr.io/stefanprodan/podinfo:5.0.3 {MARK}\n]\n")
    );
}

#[test]
fn keys_are_never_set() {
    let input = format!("old:1: {MARK}\n  x: 1\n");
    assert_eq!(update(&input).text, input);
}

#[test]
fn anchored_scalar_keeps_its_anchor() {
    let input = format!("a: &img old:1 {MARK}\nb: *img\n");
    let out = update(&input);
    assert_eq!(
        out.text,
        format!("a: &img ghcr.io/stefanprodan/podinfo:5.0.3 {MARK}\nb: *img\n")
    );
}

#[test]
fn unicode_before_the_scalar_keeps_byte_offsets() {
    let input = format!("note: \"héllo wörld ✓\"\nimage: old:1 {MARK}\n");
    let out = update(&input);
    assert_eq!(
        out.text,
        format!("note: \"héllo wörld ✓\"\nimage: ghcr.io/stefanprodan/podinfo:5.0.3 {MARK}\n")
    );
}

#[test]
fn non_mapping_documents_and_bad_yaml_are_errors() {
    let setters = setters();
    assert_eq!(
        update_text("- a\n- b\n", &setters),
        Err(DocumentError::NotAMapping { index: 0 })
    );
    assert!(matches!(
        update_text("a: 1\n---\njust text\n", &setters),
        Err(DocumentError::NotAMapping { index: 1 })
    ));
    assert!(matches!(
        update_text("a: [1\n", &setters),
        Err(DocumentError::Parse(_))
    ));
    assert!(
        update_text("", &setters)
            .expect("empty is fine")
            .changes
            .is_empty()
    );
    assert!(
        update_text("---\n---\n", &setters)
            .expect("empty docs are fine")
            .changes
            .is_empty()
    );
}

#[test]
fn block_scalars_are_not_set() {
    let input = format!("image: | {MARK}\n  old:1\n");
    assert_eq!(update(&input).text, input);
}

#[test]
fn a_lone_list_document_is_unwrapped_into_its_items() {
    let input = format!(
        "apiVersion: v1\nkind: List\nmetadata:\n  annotations:\n    img: old:0 {MARK}\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: a, namespace: x}}\n  spec: {{image: old:1}} \n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: b\n  image: old:2 {MARK}\n"
    );
    let out = update(&input);
    assert_eq!(
        out.text,
        input.replace("old:2", "ghcr.io/stefanprodan/podinfo:5.0.3"),
        "only items are visited"
    );
    assert_eq!(out.changes.len(), 1);
    assert_eq!(
        out.changes[0].0,
        ObjectIdentifier {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "b".into(),
            namespace: String::new()
        }
    );
}

#[test]
fn a_list_among_other_documents_is_an_ordinary_object() {
    let input = format!("kind: List\nitems:\n- image: old:1 {MARK}\n---\nkind: Other\n");
    let out = update(&input);
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].0.kind, "List");
}
