//! The YAML round trip Flux puts each object through: written as go-yaml v2 writes JSON, then
//! read back with go-yaml v2's typing. Substitution happens on the text in between.

mod emit;
mod load;
mod resolve;

pub(crate) use emit::to_yaml;
pub(crate) use load::{LoadError, from_yaml};

#[cfg(test)]
mod golden {
    use std::fs;
    use std::path::Path;

    /// The emitter writes byte for byte what go-yaml wrote for each recorded object (their
    /// keys are pre-sorted, so go-yaml's key sorting does not show).
    #[test]
    fn emitter_matches_go_yaml() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/objects");
        let mut checked = 0;
        for entry in fs::read_dir(root).expect("testdata/objects").flatten() {
            let dir = entry.path();
            let input = fs::read_to_string(dir.join("input.json")).expect("input.json");
            let input: serde_json::Value = serde_json::from_str(&input).expect("JSON");
            let want = fs::read_to_string(dir.join("emitted.yaml")).expect("emitted.yaml");
            assert_eq!(super::to_yaml(&input), want, "{}", dir.display());
            checked += 1;
        }
        assert!(checked >= 25);
    }
}
