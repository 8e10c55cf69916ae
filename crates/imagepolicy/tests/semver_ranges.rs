//! Masterminds semver v3 range semantics, case by case: operators, partial versions,
//! wildcards, tilde and caret, hyphen ranges, AND/OR, the prerelease rule, and what is rejected.

use tether_imagepolicy::{ConstraintError, Constraints, Version};

fn check(range: &str, version: &str) -> bool {
    let constraints = Constraints::parse(range).unwrap_or_else(|e| panic!("{range:?}: {e}"));
    let version = Version::parse_lenient(version).unwrap_or_else(|e| panic!("{version:?}: {e}"));
    constraints.matches(&version)
}

fn assert_cases(cases: &[(&str, &str, bool)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter(|(range, version, expected)| check(range, version) != *expected)
        .map(|(range, version, expected)| format!("{range:?} vs {version}: expected {expected}"))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn equality_partial_versions_and_wildcards() {
    assert_cases(&[
        ("=2.1.3", "2.1.3", true),
        ("2.1.3", "2.1.4", false),
        ("2.1.3", "2.1.3+build.7", true),
        ("v2.1.3", "2.1.3", true),
        ("= 2.0", "2.0.0", true),
        ("= 2.0", "2.0.9", true),
        ("= 2.0", "1.2.3", false),
        ("2.1", "2.1.7", true),
        ("2.1", "2.2.0", false),
        ("2", "2.5.1", true),
        ("2", "3.0.0", false),
        ("1.x", "1.9.9", true),
        ("1.x", "2.0.0", false),
        ("1.x", "0.9.0", false),
        ("1.2.*", "1.2.9", true),
        ("1.2.X", "1.3.0", false),
        ("*", "1.2.3", true),
        ("x", "0.0.1", true),
        ("X.x.x", "5.6.7", true),
        ("0.x.x", "1.2.3", false),
        ("0.0.x", "1.2.3", false),
        ("0.0.0", "1.2.3", false),
        ("1.x.3", "1.7.0", true),
    ]);
}

#[test]
fn comparison_operators_respect_partial_bounds() {
    assert_cases(&[
        (">1.2.3", "1.2.4", true),
        (">1.2.3", "1.2.3", false),
        (">1.2", "1.2.9", false),
        (">1.2", "1.3.0", true),
        (">1", "1.9.9", false),
        (">1", "2.0.0", true),
        (">11", "11.1.0", false),
        (">=1.2", "1.2.0", true),
        (">=1.2", "1.1.9", false),
        ("=>1.0", "1.0.0", true),
        ("<1.2.3", "1.2.2", true),
        ("<1.2.3", "1.2.3", false),
        ("<1.2", "1.1.99", true),
        ("<1.2", "1.2.0", false),
        ("<1.x", "0.1.1", true),
        ("<1.x", "1.1.1", false),
        ("<1.1.x", "1.0.500", true),
        ("<1.1.x", "1.1.500", false),
        ("<=1.2", "1.2.99", true),
        ("<=1.2", "1.3.0", false),
        ("<=1", "1.99.0", true),
        ("<=1", "2.0.0", false),
        ("<=1.2.3", "1.2.4", false),
        ("=<1.0", "1.0.5", true),
        ("<=4.5", "3.7.0", true),
        ("<=4.5", "4.6.3", false),
        ("!=1.2.3", "1.2.4", true),
        ("!=1.2.3", "1.2.3", false),
        ("!=1.2", "1.2.5", false),
        ("!=1.2", "1.3.0", true),
        ("!=1", "1.5.0", false),
        ("!=1", "2.0.0", true),
        ("!=4.x", "5.1.0", true),
        ("!=4.1-alpha", "4.1.0", true),
        ("!=*", "0.0.0", false),
        ("!=*", "0.0.1", true),
    ]);
}

#[test]
fn tilde_and_caret_ranges() {
    assert_cases(&[
        ("~1.2.3", "1.2.9", true),
        ("~1.2.3", "1.3.0", false),
        ("~1.2.3", "1.2.2", false),
        ("~1.2", "1.2.0", true),
        ("~1.2", "1.3.0", false),
        ("~1", "1.9.0", true),
        ("~1", "2.0.0", false),
        ("~>1.2", "1.2.5", true),
        ("~ 1.2", "1.2.5", true),
        ("~0", "0.5.0", true),
        ("~0", "1.0.0", false),
        ("~0.2", "0.2.9", true),
        ("~0.2", "0.3.0", false),
        ("~0.0.0", "3.4.5", true),
        ("~*", "3.4.5", true),
        ("^1.2.3", "1.9.9", true),
        ("^1.2.3", "2.0.0", false),
        ("^1.2.3", "1.2.2", false),
        ("^1.x", "1.5.0", true),
        ("^2.x", "1.1.1", false),
        ("^0.2.3", "0.2.9", true),
        ("^0.2.3", "0.3.0", false),
        ("^0.0.3", "0.0.3", true),
        ("^0.0.3", "0.0.4", false),
        ("^0.0", "0.0.9", true),
        ("^0.0", "0.1.0", false),
        ("^0", "0.9.9", true),
        ("^0", "1.0.0", false),
        // Masterminds' code (not its comment) reads `^*` as `^0.0.0`.
        ("^*", "0.0.0", true),
        ("^*", "1.0.0", false),
        ("^0.0.0", "1.2.3", false),
    ]);
}

#[test]
fn hyphen_ranges_and_boolean_combinations() {
    assert_cases(&[
        ("1.2 - 1.4.5", "1.2.0", true),
        ("1.2 - 1.4.5", "1.4.5", true),
        ("1.2 - 1.4.5", "1.4.6", false),
        ("1.2 - 1.4.5", "1.1.9", false),
        ("1.2.3 - 2", "2.9.9", true),
        ("1.2.3 - 2", "3.0.0", false),
        ("1 - 2 || 4", "4.3.0", true),
        ("1 - 2 || 4", "3.0.0", false),
        ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
        // Without spaces the hyphen starts a prerelease: `=1.1.0-3`, a tilde range.
        ("1.1-3", "1.1.5", true),
        ("1.1-3", "4.3.2", false),
        (">1.1, <2", "1.5.0", true),
        (">1.1 <2", "2.0.0", false),
        (">=1.1,<2", "1.5.0", true),
        (">= 1.0 , < 2.0", "1.9.0", true),
        (">1.1    <3", "4.3.2", false),
        (">=1.1, <2, !=1.2.3", "1.2.3", false),
        (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
        (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
        (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true),
        (">=1 <2 || >=3 <4", "3.5.0", true),
        (">=1 <2 || >=3 <4", "2.5.0", false),
        ("=1.0.0 || =2.0.0", "2.0.0", true),
    ]);
}

#[test]
fn prereleases_need_a_prerelease_bound_in_the_same_and_group() {
    assert_cases(&[
        (">=1.0.0", "1.1.0-rc.1", false),
        ("*", "1.2.3-alpha", false),
        ("<1.0.0", "1.0.0-rc.1", false),
        (">=1.0.0-0", "1.1.0-rc.1", true),
        (">=1.0.0-0", "1.1.0", true),
        (">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true),
        (">=1.0.0-alpha, <2.0.0", "1.5.0-beta", true),
        (">=1.0.0-alpha || >=2.0.0", "2.1.0-beta", true),
        (">=2.0.0 || >=1.0.0-alpha", "2.1.0-beta", true),
        (">=2.0.0 || <1.0.0", "2.1.0-beta", false),
        (">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false),
        (
            ">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3",
            "1.0.1-beta",
            false,
        ),
        ("<1.0.0-rc.2", "1.0.0-rc.1", true),
        ("<1.0.0-0", "1.0.0-rc.1", false),
        ("~1.2.3-beta.2", "1.2.3-beta.4", true),
        ("~1.2.3-beta.2", "1.2.4-beta.1", true),
        ("~1.2.3-beta.2", "1.3.0-beta", false),
        ("~1.1.1-beta", "1.1.1-alpha", false),
        ("^1.1.2-alpha", "1.2.1-beta1", true),
        ("^1.2.x-alpha", "1.1.1-beta1", false),
        ("1.2.3-beta", "1.2.3-beta", true),
        ("1.2.3-beta", "1.2.3-beta+build", true),
        ("!=4.1-alpha", "4.1.0-alpha", false),
        ("!=4.1-alpha", "4.1.1-alpha", false),
        ("<=1.1-a", "0.1.0-alpha", true),
    ]);
}

#[test]
fn valid_ranges_parse() {
    for range in [
        ">= 1.1",
        ">40.50.60, < 50.70",
        "2.0",
        "v2.3.5-20161202202307-sha.e8fc5e5",
        "v1.2.3-0abc",
        ">= 1.2.3 < 2.0 || => 3.0 < 4",
        "3 - 4 || => 3.0, < 4",
        "12.3.34 ~1.2.3",
        "1.0.0 - 2.0.0, <=2.0.0",
        "1.0.x",
        "^1.0",
        ">0,<2.0",
        "  >= 1.0  ",
    ] {
        assert!(Constraints::parse(range).is_ok(), "{range:?} rejected");
    }
}

#[test]
fn malformed_ranges_are_rejected() {
    for range in [
        "",
        " ",
        "foo",
        ">= bar",
        "BAR >= 1.2.3",
        "1.0.0p",
        "1x",
        "x1",
        "-1",
        "a",
        "12.3.4.1234",
        "12.3.34~ 1.2.3",
        "1.2 ||",
        "|| 1.2",
        ">=1.0,,<2",
        "v1.2.3-beta.01",
        ">=1.0.0 <",
        "1 | 2",
        "1.2.3 -",
        "~ >1.2",
        ">>1",
        "1.2.3 && 1.4",
    ] {
        assert!(Constraints::parse(range).is_err(), "{range:?} accepted");
    }
}

#[test]
fn errors_name_the_offending_part() {
    let err = Constraints::parse(">=1.0 || foo").err();
    assert_eq!(
        err,
        Some(ConstraintError::Improper {
            segment: " foo".into()
        })
    );
    let message = Constraints::parse("1x").err().map(|e| e.to_string());
    assert_eq!(
        message.as_deref(),
        Some("improper constraint: \"1x\": invalid semantic version")
    );
}
