//! Expression cases recorded from fluxcd/pkg/envsubst v1.7.0 (`testdata/envsubst.json`): each
//! input, variables and mode with the output or error message the Go library produced.

use std::collections::BTreeMap;

use serde_json::Value;
use tether_postbuild::envsubst::expand;

#[test]
fn every_recorded_case_matches_flux() {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../testdata/envsubst.json")).expect("valid JSON");
    assert!(cases.len() > 80, "the table went missing");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default();
        let input = case["input"].as_str().unwrap_or_default();
        let strict = case["strict"].as_bool().unwrap_or_default();
        let vars: BTreeMap<String, String> =
            serde_json::from_value(case["vars"].clone()).expect("vars map");
        let got =
            expand(input, |n| vars.get(n).map(String::as_str), strict).map_err(|e| e.to_string());
        let want = match (case.get("output"), case.get("error")) {
            (Some(out), _) => Ok(out.as_str().unwrap_or_default().to_owned()),
            (_, Some(err)) => Err(err.as_str().unwrap_or_default().to_owned()),
            _ => panic!("case {name} has neither output nor error"),
        };
        if got != want {
            failures.push(format!(
                "{name}: {input:?} gave {got:?}, Flux gives {want:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
