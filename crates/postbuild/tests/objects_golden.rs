//! Whole-object cases recorded from Flux's pipeline (`sigs.k8s.io/yaml` v1.6 JSONToYAML, then
//! fluxcd/pkg/envsubst v1.7.0, then YAMLToJSON): `testdata/objects/<case>/` holds the input
//! object, the variables and mode, and Flux's result (`expected.json`) or error (`error.txt`).

use std::fs;
use std::path::Path;

use serde_json::Value;
use tether_postbuild::{
    Origin, SubstituteError, SubstituteOptions, SubstituteStrategy, Variables, substitute_object,
};

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run_case(dir: &Path) -> Result<(), String> {
    let input = read_json(&dir.join("input.json"));
    let setup = read_json(&dir.join("vars.json"));
    let mut vars = Variables::new();
    for (name, value) in setup["vars"].as_object().into_iter().flatten() {
        let value = value.as_str().unwrap_or_default();
        vars.insert(name, value, &Origin::Inline)
            .map_err(|e| e.to_string())?;
    }
    let options = SubstituteOptions {
        strict: setup["strict"].as_bool().unwrap_or(true),
        strategy: SubstituteStrategy::WithVariables,
    };
    let got = substitute_object(&input, &vars, &options);
    let expected = dir.join("expected.json");
    if expected.exists() {
        let want = read_json(&expected);
        return match got {
            Ok(value) if value == want => Ok(()),
            other => Err(format!("got {other:?}, Flux gives {want}")),
        };
    }
    let flux = fs::read_to_string(dir.join("error.txt")).map_err(|e| e.to_string())?;
    let flux = flux.trim_end();
    match (&got, flux.split_once(": ")) {
        (Err(SubstituteError::Expand { source, .. }), Some(("envsubst", message)))
            if source.to_string() == message =>
        {
            Ok(())
        }
        (Err(SubstituteError::Yaml { .. }), Some(("yaml", _))) => Ok(()),
        _ => Err(format!("got {got:?}, Flux fails with {flux}")),
    }
}

#[test]
fn every_recorded_object_matches_flux() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/objects");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .expect("testdata/objects")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 25, "the recorded cases went missing");
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            run_case(dir)
                .err()
                .map(|e| format!("{}: {e}", dir.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
