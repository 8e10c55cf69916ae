//! Golden tests: every `testdata/health/<case>.json` object is computed at a fixed time and
//! compared with `<case>.expected.json` (`status`, `reason`, `message`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use super::*;

#[derive(Debug, Deserialize)]
struct Expected {
    status: String,
    reason: String,
    message: String,
}

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(1_714_564_800) // 2024-05-01T12:00:00Z
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/health")
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn case_names() -> Result<Vec<String>, String> {
    let entries = fs::read_dir(cases_dir()).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.ends_with(".expected.json"))
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

#[test]
fn golden_cases() -> Result<(), String> {
    let names = case_names()?;
    assert!(
        names.len() >= 40,
        "expected the golden cases, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    for name in names {
        let object: Value = read_json(&cases_dir().join(format!("{name}.json")))?;
        let expected: Expected = read_json(&cases_dir().join(format!("{name}.expected.json")))?;
        let got = compute_or_unknown(&object, now());
        let got_triplet = (got.status.to_string(), got.reason, got.message);
        if got_triplet != (expected.status, expected.reason, expected.message) {
            failures.push(format!("{name}: got {got_triplet:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn errors_are_reported_by_compute() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "status": {"phase": "Weird"}});
    assert_eq!(
        compute(&pod, now()),
        Err(HealthError::UnknownPodPhase("Weird".into()))
    );
    let bad_generation = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "generation": "1"}});
    assert_eq!(
        compute(&bad_generation, now()),
        Err(HealthError::InvalidField {
            path: "metadata.generation",
            expected: "an integer"
        })
    );
}

#[test]
fn unparseable_api_version_uses_generic_rules() -> Result<(), HealthError> {
    let odd = json!({"apiVersion": "a/b/c", "kind": "Deployment", "metadata": {"name": "d"}});
    assert_eq!(compute(&odd, now())?.message, "Resource is current");
    Ok(())
}

#[test]
fn not_found_and_names() {
    let r = HealthResult::not_found();
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(Status::InProgress.to_string(), "InProgress");
    assert_eq!(Status::Terminating.as_str(), "Terminating");
}
