//! Commit messages over an [`UpdateResult`]: every Go-recorded case of gotemplate's table that
//! runs on Flux's `TemplateData` must come out the same when the data is built from a real
//! result by [`template_data`]; plus Flux's default message and removed-field errors.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use tether_setters::{
    AutomationObject, Change, DEFAULT_MESSAGE_TEMPLATE, MessageError, ObjectIdentifier,
    UpdateResult, commit_message,
};

fn id(api_version: &str, kind: &str, name: &str, namespace: &str) -> ObjectIdentifier {
    ObjectIdentifier {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        namespace: namespace.into(),
    }
}

fn change(old: &str, new: &str, setter: &str) -> Change {
    Change {
        old_value: old.into(),
        new_value: new.into(),
        setter: setter.into(),
    }
}

/// The same changes as the Go fixture the table was recorded with.
fn result() -> UpdateResult {
    let mut r = UpdateResult::default();
    let deploy = "clusters/prod/deploy.yaml";
    r.add_change(
        deploy,
        id("apps/v1", "Deployment", "podinfo", "default"),
        vec![change(
            "ghcr.io/stefanprodan/podinfo:5.0.0",
            "ghcr.io/stefanprodan/podinfo:5.0.3",
            "flux-system:podinfo",
        )],
    );
    r.add_change(
        deploy,
        id("apps/v1", "Deployment", "backend", "apps"),
        vec![
            change(
                "registry.local/backend:1.0",
                "registry.local/backend:1.1",
                "apps:backend",
            ),
            change("1.0", "1.1", "apps:backend:tag"),
        ],
    );
    r.add_change(
        "clusters/prod/values.yaml",
        ObjectIdentifier::default(),
        vec![change("5.0.0", "5.0.3", "flux-system:podinfo:tag")],
    );
    r
}

fn automation() -> AutomationObject {
    AutomationObject {
        namespace: "flux-system".into(),
        name: "podinfo-automation".into(),
    }
}

fn values() -> BTreeMap<String, String> {
    [("cluster", "prod"), ("env", "staging")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

#[test]
fn flux_cases_recorded_from_go_render_identically() {
    let table: Vec<Json> = serde_json::from_str(include_str!(
        "../../gotemplate/tests/testdata/go_cases.json"
    ))
    .expect("valid table");
    let flux_cases: Vec<&Json> = table
        .iter()
        .filter(|c| c["data"] == "flux" && c["funcs"] == "sprig")
        .collect();
    assert!(flux_cases.len() >= 20, "{} flux cases", flux_cases.len());
    for case in flux_cases {
        let template = case["template"].as_str().unwrap_or_default();
        let got = commit_message(template, &automation(), &result(), &values());
        match (got, case["error"].as_str()) {
            (Ok(out), None) => assert_eq!(
                out,
                case["output"].as_str().unwrap_or_default(),
                "{}",
                case["name"]
            ),
            (Err(MessageError::Exec(e) | MessageError::Parse(e)), Some(want)) => {
                assert_eq!(e.to_string(), want, "{}", case["name"])
            }
            (Err(MessageError::RemovedField { field }), Some(want)) => {
                assert!(
                    want.contains(&format!(
                        "can't evaluate field {}",
                        field.rsplit('.').next().unwrap_or_default()
                    )),
                    "{want}"
                );
            }
            (got, want) => panic!("{}: got {got:?}, want error {want:?}", case["name"]),
        }
    }
}

#[test]
fn empty_template_gives_flux_default_message() {
    let msg = commit_message("", &automation(), &result(), &BTreeMap::new()).expect("renders");
    assert_eq!(msg, DEFAULT_MESSAGE_TEMPLATE);
    assert_eq!(msg, "Update from image update automation");
}

#[test]
fn removed_fields_are_terminal_with_flux_messages() {
    let err = commit_message(
        "{{ range .Updated.Images }}{{ . }}{{ end }}",
        &automation(),
        &result(),
        &values(),
    )
    .expect_err("removed");
    assert_eq!(err, MessageError::RemovedField { field: ".Updated" });
    assert!(err.is_terminal());
    assert!(
        err.to_string()
            .starts_with("template uses removed '.Updated' field. Please use '.Changed' instead.")
    );
    let err = commit_message(
        "{{ .Changed.ImageResult }}",
        &automation(),
        &result(),
        &values(),
    )
    .expect_err("removed");
    assert_eq!(
        err,
        MessageError::RemovedField {
            field: ".Changed.ImageResult"
        }
    );
}

#[test]
fn parse_and_exec_errors_are_wrapped_as_flux_wraps_them() {
    let err =
        commit_message("{{ .Changed.Nope", &automation(), &result(), &values()).expect_err("parse");
    assert_eq!(
        err.to_string(),
        "unable to create commit message template from spec: template: commit message:1: unclosed action"
    );
    assert!(!err.is_terminal());
    let err =
        commit_message("{{ fail \"no\" }}", &automation(), &result(), &values()).expect_err("exec");
    assert_eq!(
        err.to_string(),
        "failed to run template from spec: template: commit message:1:3: executing \"commit message\" at <fail \"no\">: error calling fail: no"
    );
}

#[test]
fn message_from_a_real_update() {
    let work = tempfile::tempdir().expect("tempdir");
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n      - name: podinfod\n        image: ghcr.io/stefanprodan/podinfo:5.0.0 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n";
    std::fs::write(work.path().join("deploy.yaml"), yaml).expect("write");
    let policy = tether_setters::PolicyRef {
        namespace: "flux-system".into(),
        name: "podinfo".into(),
        latest: Some(tether_setters::ImageRef {
            name: "ghcr.io/stefanprodan/podinfo".into(),
            tag: "5.0.3".into(),
            digest: String::new(),
        }),
    };
    let result = tether_setters::update_with_setters(work.path(), "", &[policy]).expect("update");
    let template = "{{ range $o, $cs := .Changed.Objects }}{{ $o.Kind }}/{{ $o.Namespace }}/{{ $o.Name }}:{{ range $cs }} {{ .OldValue }} -> {{ .NewValue }}{{ end }}{{ end }}";
    let msg = commit_message(template, &automation(), &result, &BTreeMap::new()).expect("renders");
    assert_eq!(
        msg,
        "Deployment/default/podinfo: ghcr.io/stefanprodan/podinfo:5.0.0 -> ghcr.io/stefanprodan/podinfo:5.0.3"
    );
}
