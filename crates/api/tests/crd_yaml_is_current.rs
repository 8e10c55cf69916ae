//! The CRD YAML checked in under `config/crd/bases/` must be what the types generate, one file
//! per CRD, and `config/crd/kustomization.yaml` must list exactly those files.
//! Run with `TETHER_BLESS=1` to rewrite the files after changing a type.

use std::{env, fs, path::PathBuf};

use tether_api::crd::{crd_file_name, crd_yaml, crds};

fn crd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/crd")
}

fn blessing() -> bool {
    env::var("TETHER_BLESS").is_ok_and(|v| v == "1")
}

const REGENERATE: &str =
    "regenerate with: TETHER_BLESS=1 cargo test -p tether-api --test crd_yaml_is_current";

#[test]
fn checked_in_crd_yaml_matches_the_types() -> Result<(), Box<dyn std::error::Error>> {
    let dir = crd_dir().join("bases");
    let mut stale = Vec::new();
    for crd in crds() {
        let path = dir.join(crd_file_name(&crd));
        let expected = crd_yaml(&crd);
        if blessing() {
            fs::create_dir_all(&dir)?;
            fs::write(&path, &expected)?;
            continue;
        }
        let actual = fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "checked-in CRD YAML differs from what crates/api generates: {}\n{REGENERATE}",
        stale.join(", ")
    );
    Ok(())
}

#[test]
fn crd_kustomization_lists_every_crd() -> Result<(), Box<dyn std::error::Error>> {
    let path = crd_dir().join("kustomization.yaml");
    let mut expected = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for crd in crds() {
        expected.push_str(&format!("- bases/{}\n", crd_file_name(&crd)));
    }
    if blessing() {
        fs::write(&path, &expected)?;
    }
    let actual = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} does not list exactly the generated CRDs\n{REGENERATE}",
        path.display()
    );
    Ok(())
}
