//! Directory walks over real temporary trees: the Flux tutorial layout against a golden tree,
//! files left untouched, and update-path confinement.

use std::path::{Path, PathBuf};

use tether_setters::{ImageRef, ObjectIdentifier, PolicyRef, SettersError, update_with_setters};

fn podinfo(tag: &str) -> PolicyRef {
    PolicyRef {
        namespace: "flux-system".into(),
        name: "podinfo".into(),
        latest: Some(ImageRef {
            name: "ghcr.io/stefanprodan/podinfo".into(),
            tag: tag.into(),
            digest: String::new(),
        }),
    }
}

fn testdata(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(case)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Every file under `dir`, relative, with its contents.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn flux_tutorial_layout_matches_golden_tree() {
    let work = tempfile::tempdir().expect("tempdir");
    copy_tree(&testdata("flux-tutorial/input"), work.path());
    let result = update_with_setters(work.path(), "./", &[podinfo("5.0.3")]).expect("update");

    assert_eq!(
        snapshot(work.path()),
        snapshot(&testdata("flux-tutorial/expected"))
    );
    assert_eq!(
        result.files_written(),
        [
            "clusters/my-cluster/flux-system/kustomization.yaml",
            "clusters/my-cluster/podinfo-deployment.yaml",
            "clusters/my-cluster/values.yml"
        ]
    );
    assert_eq!(
        result.problem_files,
        ["charts/app/templates/deployment.yaml"]
    );
    let deployment = ObjectIdentifier {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "podinfo".into(),
        namespace: "default".into(),
    };
    let changes = &result.file_changes["clusters/my-cluster/podinfo-deployment.yaml"][&deployment];
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old_value, "ghcr.io/stefanprodan/podinfo:5.0.0");
    assert_eq!(changes[0].new_value, "ghcr.io/stefanprodan/podinfo:5.0.3");
    assert_eq!(changes[0].setter, "flux-system:podinfo");
    let tags: Vec<_> = result
        .changes()
        .into_iter()
        .filter(|c| c.setter.ends_with(":tag"))
        .collect();
    assert_eq!(
        tags.len(),
        1,
        "the same tag change in two files counts once: {tags:?}"
    );
}

#[test]
fn nothing_written_when_up_to_date() {
    let work = tempfile::tempdir().expect("tempdir");
    copy_tree(&testdata("flux-tutorial/expected"), work.path());
    let file = work
        .path()
        .join("clusters/my-cluster/podinfo-deployment.yaml");
    let before = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .expect("mtime");
    let result = update_with_setters(work.path(), "clusters", &[podinfo("5.0.3")]).expect("update");
    assert!(result.is_empty(), "{result:?}");
    assert_eq!(
        std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .expect("mtime"),
        before
    );
    assert_eq!(
        snapshot(work.path()),
        snapshot(&testdata("flux-tutorial/expected"))
    );
}

#[test]
fn paths_are_relative_to_the_update_path() {
    let work = tempfile::tempdir().expect("tempdir");
    copy_tree(&testdata("flux-tutorial/input"), work.path());
    let result = update_with_setters(
        work.path(),
        "clusters/my-cluster/flux-system",
        &[podinfo("5.0.3")],
    )
    .expect("update");
    assert_eq!(result.files_written(), ["kustomization.yaml"]);
    let untouched = std::fs::read_to_string(
        work.path()
            .join("clusters/my-cluster/podinfo-deployment.yaml"),
    )
    .expect("read");
    assert!(untouched.contains("podinfo:5.0.0"));
}

#[test]
fn update_path_may_name_a_file() {
    let work = tempfile::tempdir().expect("tempdir");
    copy_tree(&testdata("flux-tutorial/input"), work.path());
    let result = update_with_setters(
        work.path(),
        "/clusters/my-cluster/values.yml",
        &[podinfo("5.0.3")],
    )
    .expect("update");
    assert_eq!(result.files_written(), ["values.yml"]);
    assert_eq!(
        result.file_changes["values.yml"][&ObjectIdentifier::default()].len(),
        1
    );
}

#[test]
fn parent_components_are_refused() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(work.path().join("a")).expect("mkdir");
    for path in ["../", "a/../../etc", "a/.."] {
        let err = update_with_setters(work.path(), path, &[podinfo("1")]).expect_err(path);
        assert!(
            matches!(err, SettersError::PathEscapes { .. }),
            "{path}: {err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_neither_followed_nor_written() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("outside.yaml");
    let marked = "image: old:1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n";
    std::fs::write(&secret, marked).expect("write");
    let work = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(outside.path(), work.path().join("linked-dir")).expect("symlink");
    std::os::unix::fs::symlink(&secret, work.path().join("linked.yaml")).expect("symlink");
    std::fs::write(work.path().join("inside.yaml"), marked).expect("write");

    let result = update_with_setters(work.path(), ".", &[podinfo("5.0.3")]).expect("update");
    assert_eq!(result.files_written(), ["inside.yaml"]);
    assert_eq!(std::fs::read_to_string(&secret).expect("read"), marked);

    let err =
        update_with_setters(work.path(), "linked-dir", &[podinfo("5.0.3")]).expect_err("escapes");
    assert!(matches!(err, SettersError::PathEscapes { .. }), "{err}");
}

#[test]
fn missing_update_path_is_an_io_error_naming_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let err = update_with_setters(work.path(), "nope", &[podinfo("1")]).expect_err("missing");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn candidates_are_yaml_yml_and_kustomization_files_outside_git() {
    let work = tempfile::tempdir().expect("tempdir");
    let marked = "image: old:1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n";
    for file in [
        "a.yaml",
        "b.yml",
        "Kustomization",
        "c.json",
        "d.yaml.txt",
        ".git/e.yaml",
        "sub/.hidden.yaml",
    ] {
        let path = work.path().join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, marked).expect("write");
    }
    let result = update_with_setters(work.path(), ".", &[podinfo("2")]).expect("update");
    assert_eq!(
        result.files_written(),
        ["Kustomization", "a.yaml", "b.yml", "sub/.hidden.yaml"]
    );
    for untouched in ["c.json", "d.yaml.txt", ".git/e.yaml"] {
        assert_eq!(
            std::fs::read_to_string(work.path().join(untouched)).expect("read"),
            marked,
            "{untouched}"
        );
    }
}

#[test]
fn files_without_the_token_or_not_utf8_are_not_parsed() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(work.path().join("broken.yaml"), "a: [unclosed\n").expect("write");
    let mut latin1 =
        b"image: old:1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\nnote: caf".to_vec();
    latin1.push(0xE9);
    std::fs::write(work.path().join("latin1.yaml"), &latin1).expect("write");
    let result = update_with_setters(work.path(), ".", &[podinfo("2")]).expect("update");
    assert!(result.file_changes.is_empty());
    assert_eq!(
        result.problem_files,
        ["latin1.yaml"],
        "only screened-in files can be problems"
    );
    assert_eq!(
        std::fs::read(work.path().join("latin1.yaml")).expect("read"),
        latin1
    );
}
