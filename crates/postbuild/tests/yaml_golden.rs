//! The shared YAML writer (`tether_core::yaml`) prints byte for byte what go-yaml v2 printed for
//! each object recorded from Flux (their keys are pre-sorted, so go-yaml's key sorting does not
//! show), and reading that text back gives the object again.

use std::fs;
use std::path::Path;

use tether_core::yaml;

#[test]
fn emitter_matches_go_yaml() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/objects");
    let mut checked = 0;
    for entry in fs::read_dir(root).expect("testdata/objects").flatten() {
        let dir = entry.path();
        let input = fs::read_to_string(dir.join("input.json")).expect("input.json");
        let input: serde_json::Value = serde_json::from_str(&input).expect("JSON");
        let want = fs::read_to_string(dir.join("emitted.yaml")).expect("emitted.yaml");
        assert_eq!(yaml::to_string(&input), want, "{}", dir.display());
        checked += 1;
    }
    assert!(checked >= 25);
}
