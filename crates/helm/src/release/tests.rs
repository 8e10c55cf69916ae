//! Round trips of whole records through Go's JSON form.

use serde_json::json;

use super::*;

fn helm_written() -> Json {
    json!({
        "name": "web",
        "info": {
            "first_deployed": "2026-12-06T22:20:05.123456789+01:00",
            "last_deployed": "2026-12-06T22:21:00Z",
            "deleted": "",
            "description": "Upgrade complete",
            "status": "deployed",
            "notes": "hello <world>",
            "from_the_future": {"x": 1}
        },
        "chart": {
            "metadata": {"name": "web", "version": "1.0.0", "apiVersion": "v2", "appVersion": "2"},
            "lock": null,
            "templates": [{"name": "templates/a.yaml", "data": "YTogMQo=", "modtime": "2026-01-01T00:00:00Z"}],
            "values": {"replicaCount": 1, "image": {"tag": ""}},
            "schema": null,
            "schemamodtime": "0001-01-01T00:00:00Z",
            "files": null
        },
        "config": {"replicaCount": 2},
        "manifest": "---\n# Source: web/templates/a.yaml\na: 1\n",
        "hooks": [{
            "name": "init",
            "kind": "Job",
            "path": "web/templates/job.yaml",
            "manifest": "kind: Job",
            "events": ["pre-install", "pre-upgrade"],
            "last_run": {"started_at": "2026-12-06T22:20:06Z", "completed_at": "2026-12-06T22:20:07.5Z", "phase": "Succeeded"},
            "weight": -1,
            "delete_policies": ["hook-succeeded"]
        }],
        "version": 2,
        "namespace": "apps",
        "apply_method": "csa",
        "new_field": [true]
    })
}

#[test]
fn a_helm_record_reads_field_for_field() -> Result<(), ReleaseError> {
    let r = Release::from_json(helm_written())?;
    assert_eq!(r.name, "web");
    assert_eq!(r.version, 2);
    let info = r
        .info
        .as_ref()
        .ok_or(ReleaseError::Json("no info".into()))?;
    assert_eq!(info.status, Status::Deployed);
    assert!(info.deleted.is_zero());
    assert_eq!(
        info.first_deployed.to_rfc3339_nano(),
        "2026-12-06T22:20:05.123456789+01:00"
    );
    assert_eq!(r.hooks[0].last_run.phase, "Succeeded");
    assert_eq!(r.hooks[0].weight, -1);
    assert_eq!(r.chart.as_ref().map(ReleaseChart::name), Some("web"));
    assert_eq!(r.config_json(), json!({"replicaCount": 2.0}));
    assert_eq!(r.unknown_fields.get("new_field"), Some(&json!([true])));
    Ok(())
}

#[test]
fn unknown_fields_survive_a_rewrite() -> Result<(), ReleaseError> {
    let mut r = Release::from_json(helm_written())?;
    r.set_status(Status::Superseded, "superseded by new release");
    let again = Release::from_json_bytes(r.to_json_string().as_bytes())?;
    assert_eq!(again, r);
    let text = r.to_json_string();
    assert!(text.contains(r#""new_field":[true]"#), "{text}");
    assert!(text.contains(r#""from_the_future":{"x":1}"#), "{text}");
    assert!(
        text.contains(r#""modtime":"2026-01-01T00:00:00Z""#),
        "{text}"
    );
    Ok(())
}

#[test]
fn empty_fields_are_left_out_as_go_omitempty_does() {
    let r = Release {
        name: "x".into(),
        info: Some(Info {
            status: Status::PendingInstall,
            ..Info::default()
        }),
        hooks: vec![Hook {
            name: "h".into(),
            ..Hook::default()
        }],
        version: 1,
        ..Release::default()
    };
    assert_eq!(
        r.to_json_string(),
        r#"{"name":"x","info":{"status":"pending-install"},"hooks":[{"name":"h","last_run":{"phase":""}}],"version":1}"#
    );
}

#[test]
fn statuses_read_and_print_as_helm_names_them() {
    for s in [
        "unknown",
        "deployed",
        "uninstalled",
        "superseded",
        "failed",
        "uninstalling",
        "pending-install",
        "pending-upgrade",
        "pending-rollback",
        "from-the-future",
    ] {
        assert_eq!(Status::parse(s).as_str(), s);
    }
    assert!(Status::PendingRollback.is_pending());
    assert!(!Status::Failed.is_pending());
}

#[test]
fn a_record_with_the_wrong_types_is_refused() {
    assert!(Release::from_json(json!({"version": "1"})).is_err());
    assert!(Release::from_json(json!({"hooks": [null]})).is_err());
    assert!(Release::from_json(json!({"info": {"first_deployed": "yesterday"}})).is_err());
    assert!(Release::from_json(json!([1])).is_err());
}

fn deployed(version: i64, first: &str) -> Result<Release, ReleaseError> {
    let t = GoTime::parse(first).map_err(|e| ReleaseError::Json(e.to_string()))?;
    Ok(Release {
        name: "web".into(),
        namespace: "apps".into(),
        version,
        info: Some(Info {
            first_deployed: t,
            last_deployed: t,
            status: Status::Deployed,
            notes: format!("notes of {version}"),
            ..Info::default()
        }),
        labels: [("team", "a"), ("tier", "web")]
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        manifest: format!("manifest of {version}"),
        ..Release::default()
    })
}

#[test]
fn an_upgrade_record_continues_the_last_one() -> Result<(), ReleaseError> {
    let v1 = deployed(1, "2026-01-01T00:00:00Z")?;
    let history = storage::History::new(vec![v1]);
    let chart = crate::Chart::default();
    let sorted = Sorted {
        notes: "new notes".into(),
        ..Sorted::default()
    };
    let now =
        GoTime::parse("2026-02-02T00:00:00Z").map_err(|e| ReleaseError::Json(e.to_string()))?;
    let record = NewRecord {
        chart: &chart,
        sorted: &sorted,
        config: JsonMap::new(),
        now,
        apply_method: ApplyMethod::ServerSide,
    };
    let labels: BTreeMap<String, String> = [("tier", "null"), ("zone", "b")]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let v2 = Release::for_upgrade(history.upgrade_base("web")?, record, &labels)?;
    assert_eq!(v2.version, 2);
    assert_eq!(v2.status(), Status::PendingUpgrade);
    assert_eq!(v2.apply_method, "ssa");
    let info = v2
        .info
        .as_ref()
        .ok_or(ReleaseError::Json("no info".into()))?;
    assert_eq!(
        info.first_deployed.to_rfc3339_nano(),
        "2026-01-01T00:00:00Z"
    );
    assert_eq!(info.last_deployed, now);
    assert_eq!(
        (info.description.as_str(), info.notes.as_str()),
        ("Preparing upgrade", "new notes")
    );
    assert_eq!(
        v2.labels.keys().map(String::as_str).collect::<Vec<_>>(),
        ["team", "zone"]
    );
    Ok(())
}

#[test]
fn a_rollback_record_replays_the_target_as_a_new_revision() -> Result<(), ReleaseError> {
    let v1 = deployed(1, "2026-01-01T00:00:00Z")?;
    let mut v2 = deployed(2, "2026-01-01T00:00:00Z")?;
    v2.labels.clear();
    let now = GoTime::now();
    let v3 = Release::for_rollback(&v2, &v1, now, ApplyMethod::ClientSide);
    assert_eq!(v3.version, 3);
    assert_eq!(v3.manifest, "manifest of 1");
    assert_eq!(v3.labels, v1.labels);
    let info = v3
        .info
        .as_ref()
        .ok_or(ReleaseError::Json("no info".into()))?;
    assert_eq!(info.status, Status::PendingRollback);
    assert_eq!(info.description, "Rollback to 1");
    assert_eq!(info.rollback_revision, 1);
    assert_eq!(info.notes, "notes of 1");
    assert_eq!(info.last_deployed, now);
    Ok(())
}

#[test]
fn an_uninstall_marks_the_record_deleted() -> Result<(), ReleaseError> {
    let mut r = deployed(4, "2026-01-01T00:00:00Z")?;
    let now = GoTime::now();
    r.mark_uninstalling(now);
    assert_eq!(r.status(), Status::Uninstalling);
    assert_eq!(r.info.as_ref().map(|i| i.deleted), Some(now));
    r.mark_uninstalled(None);
    let info = r
        .info
        .as_ref()
        .ok_or(ReleaseError::Json("no info".into()))?;
    assert_eq!(
        (info.status.clone(), info.description.as_str()),
        (Status::Uninstalled, "Uninstallation complete")
    );
    Ok(())
}
