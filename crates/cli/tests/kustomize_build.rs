//! `tether kustomize build DIR` prints byte for byte what `kustomize build DIR` printed for a
//! few differential cases (their `expected.yaml`), fails with exit code 1 and a message naming
//! the cause on a broken one, and honours `--load-restrictor`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kustomize/testdata")
        .join(name)
}

fn tether_build(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["kustomize", "build"])
        .arg(dir)
        .args(extra)
        .output()
        .expect("tether runs")
}

#[test]
fn prints_what_kustomize_prints() {
    for name in [
        "g-full-combo-namespace+prefix+generators",
        "g-web-smp-file",
        "f-replacements-field-to-field",
        "f-sort-fifo",
        "f-yaml11-bools",
    ] {
        let root = case(name);
        let dir = ["input/overlay", "input"]
            .iter()
            .map(|d| root.join(d))
            .find(|d| d.join("kustomization.yaml").is_file())
            .expect("case has a kustomization");
        let out = tether_build(&dir, &[]);
        let want = std::fs::read_to_string(root.join("expected.yaml")).expect("expected.yaml");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{name}");
    }
}

#[test]
fn broken_kustomization_exits_1_naming_the_cause() {
    let out = tether_build(&case("e-missing-resource").join("input"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let wanted = std::fs::read_to_string(case("e-missing-resource").join("expected-error.txt"))
        .expect("expected-error.txt");
    for line in wanted.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(stderr.contains(line), "`{stderr}` lacks `{line}`");
    }
}

#[test]
fn load_restrictor_none_reads_files_outside_the_root() {
    let dir = case("e-path-escapes-root").join("input/overlay");
    let refused = tether_build(&dir, &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not in or below"));
    let allowed = tether_build(&dir, &["--load-restrictor", "LoadRestrictionsNone"]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert!(String::from_utf8_lossy(&allowed.stdout).contains("kind: "));
    let bad = tether_build(&dir, &["--load-restrictor", "Sometimes"]);
    assert_eq!(bad.status.code(), Some(2));
}
