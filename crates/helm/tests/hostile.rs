//! Hostile charts are refused with a clear error: archive entries escaping the chart,
//! archives over the size or file-count limit (decompression bombs), runaway `include` and
//! `tpl` recursion, and rendered output over the size limit. `.Files` has no path outside
//! the chart to read.

use std::io::Write as _;

use tether_helm::load::{Limits, load_archive, load_dir};
use tether_helm::{HelmError, TemplateOptions, template};

fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Written raw so that `..` and absolute names reach the loader as an attacker sends them.
        let name = header.as_old_mut().name.as_mut();
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, *data).expect("append");
    }
    let tar = builder.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

const CHART: &[u8] = b"apiVersion: v2\nname: c\nversion: 0.1.0\n";

#[test]
fn archive_entries_that_escape_the_chart_are_refused() {
    for (path, want) in [
        (
            "c/../../etc/passwd",
            "chart illegally references parent directory",
        ),
        (
            "c/templates/../../../x",
            "chart illegally references parent directory",
        ),
        ("Chart.yaml", "chart yaml not in base directory"),
        (
            "c",
            "chart illegally contains content outside the base directory: \"c\"",
        ),
    ] {
        let data = archive(&[("c/Chart.yaml", CHART), (path, b"x")]);
        let err = load_archive(&data, Limits::default())
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(err, Err(want.to_owned()), "{path}");
    }
}

#[test]
fn archives_over_the_size_or_file_count_limit_are_refused() {
    let big = vec![b'a'; 4096];
    let data = archive(&[("c/Chart.yaml", CHART), ("c/files/big", &big)]);
    let small = Limits {
        max_bytes: 1024,
        max_files: 100,
    };
    let err = load_archive(&data, small).map(|_| ());
    assert_eq!(err, Err(HelmError::ArchiveTooLarge { limit: 1024 }));
    let many: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("c/files/{i}"), vec![b'x']))
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("c/Chart.yaml", CHART)];
    entries.extend(many.iter().map(|(p, d)| (p.as_str(), d.as_slice())));
    let few = Limits {
        max_bytes: 1 << 20,
        max_files: 10,
    };
    let err = load_archive(&archive(&entries), few).map(|_| ());
    assert_eq!(err, Err(HelmError::TooManyFiles { limit: 10 }));
}

#[test]
fn a_gzip_bomb_is_cut_off_at_the_limit_without_inflating_it() {
    let zeros = vec![0u8; 8 << 20];
    let data = archive(&[("c/Chart.yaml", CHART), ("c/files/zeros", &zeros)]);
    assert!(data.len() < 64 << 10, "compressed to {} bytes", data.len());
    let limits = Limits {
        max_bytes: 1 << 20,
        max_files: 100,
    };
    let err = load_archive(&data, limits).map(|_| ());
    assert_eq!(err, Err(HelmError::ArchiveTooLarge { limit: 1 << 20 }));
}

fn chart_dir(templates: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
    std::fs::write(dir.path().join("Chart.yaml"), CHART).expect("write");
    for (name, text) in templates {
        std::fs::write(dir.path().join("templates").join(name), text).expect("write");
    }
    dir
}

#[test]
fn runaway_include_recursion_stops_at_helms_limit() {
    let dir = chart_dir(&[(
        "x.yaml",
        "{{ define \"loop\" }}{{ include \"loop\" . }}{{ end }}{{ include \"loop\" . }}",
    )]);
    let chart = load_dir(dir.path(), Limits::default()).expect("loads");
    let err = template(chart, &TemplateOptions::default())
        .map(|_| ())
        .map_err(|e| e.to_string());
    let msg = err.err().unwrap_or_default();
    assert!(
        msg.contains(
            "rendering template has a nested reference name: loop: unable to execute template"
        ),
        "{}",
        &msg[..msg.len().min(400)]
    );
}

#[test]
fn runaway_tpl_recursion_is_refused() {
    let dir = chart_dir(&[("x.yaml", "{{ tpl .Values.t . }}")]);
    std::fs::write(
        dir.path().join("values.yaml"),
        "t: '{{ tpl .Values.t . }}'\n",
    )
    .expect("write");
    let chart = load_dir(dir.path(), Limits::default()).expect("loads");
    let err = template(chart, &TemplateOptions::default())
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(
        err.err()
            .unwrap_or_default()
            .contains("tpl nested more than 1000 levels deep")
    );
}

#[test]
fn output_over_the_size_limit_is_refused() {
    let dir = chart_dir(&[(
        "x.yaml",
        "{{ range until 10000 }}{{ range until 10000 }}0123456789{{ end }}{{ end }}",
    )]);
    let chart = load_dir(dir.path(), Limits::default()).expect("loads");
    let opts = TemplateOptions {
        max_output_bytes: 10_000,
        ..TemplateOptions::default()
    };
    let err = template(chart, &opts).map(|_| ());
    assert_eq!(err, Err(HelmError::OutputTooLarge { limit: 10_000 }));
}

#[test]
fn a_map_that_holds_itself_is_printed_and_encoded_without_overflowing() {
    let dir = chart_dir(&[(
        "x.yaml",
        "{{ $m := dict \"a\" 1 }}{{ $_ := set $m \"self\" $m }}a: {{ len (printf \"%v\" $m) }}\nb: {{ toYaml $m | len }}\nc: {{ toJson $m | len }}\n",
    )]);
    let chart = load_dir(dir.path(), Limits::default()).expect("loads");
    let out = template(chart, &TemplateOptions::default()).map(|r| r.output);
    assert!(out.is_ok(), "{out:?}");
}
