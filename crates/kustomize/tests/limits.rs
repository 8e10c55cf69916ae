//! Bounded input: a file larger than `max_file_bytes`, or a build reading more than
//! `max_total_bytes` in all, fails with an error naming the file and the limit, whatever the
//! filesystem (kustomize has no such bound, so these are not differential cases).

use tether_kustomize::{DiskFs, Kustomizer, MemFs, Options};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ";

fn big_configmap(bytes: usize) -> String {
    format!("{CM}{}\n", "x".repeat(bytes))
}

fn build_mem(files: &[(&str, String)], options: Options) -> Result<usize, String> {
    let mut fs = MemFs::new();
    for (path, text) in files {
        fs.add(path, text.as_bytes().to_vec());
    }
    Kustomizer::new(options)
        .build(&fs, "")
        .map(|m| m.objects().count())
        .map_err(|e| e.to_string())
}

#[test]
fn a_file_over_the_per_file_limit_is_refused_by_name() {
    let files = [
        ("kustomization.yaml", "resources: [big.yaml]\n".to_string()),
        ("big.yaml", big_configmap(4096)),
    ];
    let options = Options {
        max_file_bytes: 1024,
        ..Options::default()
    };
    let err = build_mem(&files, options).err().unwrap_or_default();
    assert!(err.contains("big.yaml"), "{err}");
    assert!(err.contains("1024 bytes"), "{err}");
    assert_eq!(build_mem(&files, Options::default()), Ok(1));
}

#[test]
fn a_build_over_the_total_limit_is_refused() {
    let mut files = vec![(
        "kustomization.yaml",
        "resources: [a.yaml, b.yaml, c.yaml]\n".to_string(),
    )];
    for name in ["a.yaml", "b.yaml", "c.yaml"] {
        let text = big_configmap(600).replace("name: big", &format!("name: {}", &name[..1]));
        files.push((name, text));
    }
    let options = Options {
        max_total_bytes: 1500,
        ..Options::default()
    };
    let err = build_mem(&files, options).err().unwrap_or_default();
    assert!(err.contains("c.yaml"), "{err}");
    assert!(err.contains("1500 bytes"), "{err}");
}

#[test]
fn disk_reads_check_the_size_before_reading() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text);
    assert!(write("kustomization.yaml", "resources: [big.yaml]\n").is_ok());
    assert!(write("big.yaml", &big_configmap(4096)).is_ok());
    let fs = DiskFs::new(dir.path(), 2048);
    let err = fs
        .and_then(|fs| Kustomizer::new(Options::default()).build(&fs, ""))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("big.yaml"), "{err}");
    assert!(err.contains("2048 bytes"), "{err}");
}
