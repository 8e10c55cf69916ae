//! Differential suite: every `testdata/<case>/` is built by the engine and compared with the
//! output real kustomize produced (`expected.yaml`), or must fail when `expected-error.txt`
//! exists (each of its non-empty lines is a substring the error must contain: the object or
//! file, and the cause; a file without one is a broken case). Counts of
//! byte-identical, only-semantically-equal and different cases are printed; any difference not
//! listed in `testdata/KNOWN_DIFFERENCES` fails the test. When a kustomize binary is available
//! (`TETHER_KUSTOMIZE` or the testbin build), `expected.yaml` is re-checked against it.
//! Cases with a `flux.json` are built as Flux builds `input/` (its overrides applied); their
//! expected output is kustomize's build of `flux-equivalent/`, the kustomization Flux generates.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tether_kustomize::{DiskFs, Kustomizer, Options, build_flux, flux, yaml};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(testdata())
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("input").is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn build_dir(case: &Path) -> String {
    if case.join("flux-equivalent").is_dir() {
        return "flux-equivalent".to_string();
    }
    for d in ["input", "input/overlay", "input/top"] {
        for f in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
            if case.join(d).join(f).is_file() {
                return d.to_string();
            }
        }
    }
    "input".to_string()
}

fn build(case: &Path) -> Result<String, String> {
    let fs = DiskFs::new(case, 1 << 24).map_err(|e| e.to_string())?;
    if let Ok(text) = std::fs::read_to_string(case.join("flux.json")) {
        let overrides = flux_overrides(&text)?;
        return build_flux(&fs, "input", overrides, Options::default())
            .map(|m| m.to_yaml())
            .map_err(|e| e.to_string());
    }
    Kustomizer::new(Options::default())
        .build(&fs, &build_dir(case))
        .map(|m| m.to_yaml())
        .map_err(|e| e.to_string())
}

/// The Flux Kustomization fields a `flux.json` case sets (spec field names).
fn flux_overrides(text: &str) -> Result<flux::Overrides, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let string = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let list = |k: &str| v.get(k).cloned().unwrap_or(Value::Array(Vec::new()));
    Ok(flux::Overrides {
        target_namespace: string("targetNamespace"),
        name_prefix: string("namePrefix"),
        name_suffix: string("nameSuffix"),
        patches: serde_json::from_value(list("patches")).map_err(|e| e.to_string())?,
        images: serde_json::from_value(list("images")).map_err(|e| e.to_string())?,
        components: serde_json::from_value(list("components")).map_err(|e| e.to_string())?,
        common_labels: common_metadata(&v, "labels")?,
        common_annotations: common_metadata(&v, "annotations")?,
        ..flux::Overrides::default()
    })
}

/// `commonMetadata.<field>` of a `flux.json`.
fn common_metadata(v: &Value, field: &str) -> Result<indexmap::IndexMap<String, String>, String> {
    let entries = v
        .pointer(&format!("/commonMetadata/{field}"))
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    serde_json::from_value(entries).map_err(|e| e.to_string())
}

fn known_differences() -> Vec<String> {
    std::fs::read_to_string(testdata().join("KNOWN_DIFFERENCES"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

enum Outcome {
    Identical,
    Semantic,
    Different(String),
}

fn compare(case: &Path) -> Outcome {
    let got = build(case);
    if let Ok(want_err) = std::fs::read_to_string(case.join("expected-error.txt")) {
        let wanted: Vec<&str> = want_err
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if wanted.is_empty() {
            return Outcome::Different("expected-error.txt names no substring".into());
        }
        return match got {
            Err(e) => match wanted.iter().find(|w| !e.contains(**w)) {
                None => Outcome::Identical,
                Some(w) => Outcome::Different(format!("error `{e}` lacks `{w}`")),
            },
            Ok(_) => Outcome::Different("built, but kustomize fails".into()),
        };
    }
    let want = std::fs::read_to_string(case.join("expected.yaml")).unwrap_or_default();
    match got {
        Err(e) => Outcome::Different(format!("error: {e}")),
        Ok(got) if got == want => Outcome::Identical,
        Ok(got) if yaml::from_str_multi(&got).ok() == yaml::from_str_multi(&want).ok() => {
            Outcome::Semantic
        }
        Ok(got) => Outcome::Different(first_difference(&want, &got)),
    }
}

fn first_difference(want: &str, got: &str) -> String {
    let line = want
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(want.lines().count().min(got.lines().count()));
    format!(
        "line {}: want `{}` got `{}`",
        line + 1,
        want.lines().nth(line).unwrap_or("<eof>"),
        got.lines().nth(line).unwrap_or("<eof>")
    )
}

#[test]
fn engine_matches_kustomize() {
    let known = known_differences();
    let (mut identical, mut semantic, mut different, mut unexpected) = (0, 0, 0, Vec::new());
    for case in cases() {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match compare(&case) {
            Outcome::Identical => identical += 1,
            Outcome::Semantic => {
                semantic += 1;
                println!("semantic only: {name}");
            }
            Outcome::Different(why) => {
                different += 1;
                println!("different: {name}: {why}");
                if !known.contains(&name) {
                    unexpected.push(format!("{name}: {why}"));
                }
            }
        }
    }
    println!(
        "cases: {} byte-identical, {semantic} semantically equal, {different} different",
        identical
    );
    assert!(
        unexpected.is_empty(),
        "unexpected differences:\n{}",
        unexpected.join("\n")
    );
}

fn kustomize_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TETHER_KUSTOMIZE") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var("HOME").ok()?;
    let dir = Path::new(&home).join(".cache/tether/testbin");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("kustomize"))
        .find(|p| p.is_file())
}

#[test]
fn expected_outputs_match_real_kustomize() {
    let Some(bin) = kustomize_binary() else {
        println!("no kustomize binary; skipping the re-check");
        return;
    };
    let mut stale = Vec::new();
    for case in cases() {
        let out = std::process::Command::new(&bin)
            .arg("build")
            .arg(case.join(build_dir(&case)))
            .output();
        let Ok(out) = out else {
            continue;
        };
        let expected = std::fs::read(case.join("expected.yaml")).ok();
        let ok = match expected {
            Some(e) => out.status.success() && out.stdout == e,
            None => !out.status.success(),
        };
        if !ok {
            stale.push(case.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "expected outputs disagree with {}: {stale:?}",
        bin.display()
    );
}
