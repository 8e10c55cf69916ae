//! Replays fixtures produced by the Go code Flux runs (see `testdata/differential/generate.go`):
//! Masterminds semver ranges, version parsing and ordering, Go's `strconv.ParseFloat` and
//! `regexp.Expand`. Every row must agree.

use std::cmp::Ordering;

use regex::Regex;
use tether_imagepolicy::{Constraints, Dialect, Version, expand_go_template, parse_go_float};

fn fixture(name: &str) -> Vec<Vec<&'static str>> {
    let text: &'static str = match name {
        "ranges" => include_str!("../testdata/differential/ranges.tsv"),
        "ranges-fluxd" => include_str!("../testdata/differential/ranges-fluxd.tsv"),
        "versions" => include_str!("../testdata/differential/versions.tsv"),
        "compare" => include_str!("../testdata/differential/compare.tsv"),
        "floats" => include_str!("../testdata/differential/floats.tsv"),
        "expand" => include_str!("../testdata/differential/expand.tsv"),
        other => panic!("no fixture {other}"),
    };
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split('\t').collect())
        .collect()
}

fn assert_no_mismatch(mismatches: Vec<String>, rows: usize) {
    assert!(rows > 0, "empty fixture");
    assert!(
        mismatches.is_empty(),
        "{} of {rows} rows differ: {mismatches:#?}",
        mismatches.len()
    );
}

fn header_versions() -> Vec<Version> {
    let header = include_str!("../testdata/differential/ranges.tsv")
        .lines()
        .next()
        .and_then(|line| line.split_once("per version: "))
        .and_then(|(_, rest)| rest.split_once(" (E"))
        .map(|(list, _)| list)
        .unwrap_or_default();
    header
        .split(' ')
        .map(|v| Version::parse_lenient(v).unwrap_or_else(|e| panic!("{v}: {e}")))
        .collect()
}

#[test]
fn ranges_agree_with_masterminds_v3_5() {
    assert_ranges_agree("ranges", Dialect::Current);
}

#[test]
fn fluxd_ranges_agree_with_masterminds_v3_1_1() {
    assert_ranges_agree("ranges-fluxd", Dialect::Fluxd);
}

fn assert_ranges_agree(fixture_name: &str, dialect: Dialect) {
    let versions = header_versions();
    assert_eq!(versions.len(), 26);
    let rows = fixture(fixture_name);
    let mut mismatches = Vec::new();
    for row in &rows {
        let [range, expected] = row[..] else {
            panic!("bad row {row:?}")
        };
        let actual = match Constraints::parse_dialect(range, dialect) {
            Err(_) => "E".to_string(),
            Ok(c) => versions
                .iter()
                .map(|v| if c.matches(v) { 'T' } else { 'F' })
                .collect(),
        };
        if actual != expected {
            mismatches.push(format!("{range:?}: go {expected}, tether {actual}"));
        }
    }
    assert_no_mismatch(mismatches, rows.len());
}

fn canonical(parsed: Result<Version, impl std::fmt::Debug>) -> String {
    parsed.map_or_else(|_| "E".to_string(), |v| v.to_string())
}

#[test]
fn version_parsing_agrees_with_masterminds_and_flux() {
    let rows = fixture("versions");
    let mut mismatches = Vec::new();
    for row in &rows {
        let [input, lenient, strict, flux] = row[..] else {
            panic!("bad row {row:?}")
        };
        let actual = [
            canonical(Version::parse_lenient(input)),
            canonical(Version::parse_strict(input)),
            canonical(Version::parse_tag(input)),
        ];
        if actual != [lenient, strict, flux] {
            mismatches.push(format!(
                "{input:?}: go {lenient}/{strict}/{flux}, tether {actual:?}"
            ));
        }
    }
    assert_no_mismatch(mismatches, rows.len());
}

#[test]
fn ordering_agrees_with_masterminds() {
    let rows = fixture("compare");
    let mut mismatches = Vec::new();
    for row in &rows {
        let [a, b, expected] = row[..] else {
            panic!("bad row {row:?}")
        };
        let (Ok(va), Ok(vb)) = (Version::parse_lenient(a), Version::parse_lenient(b)) else {
            panic!("{a} or {b} does not parse")
        };
        let actual = match va.precedence_cmp(&vb) {
            Ordering::Less => "-1",
            Ordering::Equal => "0",
            Ordering::Greater => "1",
        };
        if actual != expected {
            mismatches.push(format!("{a} vs {b}: go {expected}, tether {actual}"));
        }
    }
    assert_no_mismatch(mismatches, rows.len());
}

#[test]
fn float_parsing_agrees_with_go_strconv() {
    let rows = fixture("floats");
    let mut mismatches = Vec::new();
    for row in &rows {
        let [input, expected] = row[..] else {
            panic!("bad row {row:?}")
        };
        let actual = match parse_go_float(input) {
            None => "E".to_string(),
            Some(f) if f.is_nan() => "NaN".to_string(),
            Some(f) => format!("{:016x}", f.to_bits()),
        };
        if actual != expected {
            mismatches.push(format!("{input:?}: go {expected}, tether {actual}"));
        }
    }
    assert_no_mismatch(mismatches, rows.len());
}

#[test]
fn expand_agrees_with_go_regexp() {
    let header = include_str!("../testdata/differential/expand.tsv")
        .lines()
        .next();
    let pattern = header
        .and_then(|h| h.split_once("(pattern "))
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no pattern in header {header:?}"));
    let regex = Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    let rows = fixture("expand");
    let mut mismatches = Vec::new();
    for row in &rows {
        let [subject, template, expected] = row[..] else {
            panic!("bad row {row:?}")
        };
        let caps = regex
            .captures(subject)
            .unwrap_or_else(|| panic!("{subject} does not match"));
        let actual = expand_go_template(&regex, &caps, template);
        if actual != expected {
            mismatches.push(format!(
                "{subject} {template:?}: go {expected:?}, tether {actual:?}"
            ));
        }
    }
    assert_no_mismatch(mismatches, rows.len());
}
