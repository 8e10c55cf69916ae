//! The CRD YAML checked in under `config/crd/bases/` must be what the types generate.
//! Run with `TETHER_BLESS=1` to rewrite the files after changing a type.

use std::{env, fs, path::PathBuf};

use tether_api::crd::{crd_file_name, crd_yaml, crds};

fn bases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/crd/bases")
}

#[test]
fn checked_in_crd_yaml_matches_the_types() -> Result<(), Box<dyn std::error::Error>> {
    let bless = env::var("TETHER_BLESS").is_ok_and(|v| v == "1");
    let dir = bases_dir();
    let mut stale = Vec::new();
    for crd in crds() {
        let path = dir.join(crd_file_name(&crd));
        let expected = crd_yaml(&crd);
        if bless {
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
        "checked-in CRD YAML differs from what crates/api generates: {}\n\
         regenerate with: TETHER_BLESS=1 cargo test -p tether-api --test crd_yaml_is_current",
        stale.join(", ")
    );
    Ok(())
}
