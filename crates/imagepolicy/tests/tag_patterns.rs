//! Flux v1 `fluxcd.io/tag.<container>` patterns: parsing, matching, the `latest` rule, and
//! fluxd's newest-first order (semver by version, glob/regexp by image creation time).

use chrono::{DateTime, TimeZone, Utc};
use tether_imagepolicy::{PatternError, TagInfo, TagPattern};

fn pattern(value: &str) -> TagPattern {
    TagPattern::parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
}

fn at(seconds: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(seconds, 0).single()
}

fn assert_matches(value: &str, yes: &[&str], no: &[&str]) {
    let p = pattern(value);
    for tag in yes {
        assert!(p.matches(tag), "{value} should match {tag:?}");
    }
    for tag in no {
        assert!(!p.matches(tag), "{value} should not match {tag:?}");
    }
}

#[test]
fn prefixes_select_the_kind_and_render_back() {
    for (value, rendered, timestamp) in [
        ("*", "glob:*", true),
        ("glob:*", "glob:*", true),
        ("master-*", "glob:master-*", true),
        ("", "glob:", true),
        ("semver:~1", "semver:~1", false),
        ("regexp:^v", "regexp:^v", true),
        ("regex:^v", "regexp:^v", true),
        ("Semver:1", "glob:Semver:1", true),
    ] {
        let p = pattern(value);
        assert_eq!(p.to_string(), rendered);
        assert_eq!(p.requires_timestamp(), timestamp, "{value}");
    }
    assert_eq!(TagPattern::all().to_string(), "glob:*");
}

#[test]
fn glob_matching() {
    assert_matches("*", &["", "1", "foo", "latest"], &[]);
    assert_matches("glob:*", &["", "1", "foo"], &[]);
    assert_matches("master-*", &["master-", "master-foo"], &["", "foo-master"]);
    assert_matches(
        "*-prod-*",
        &["web-prod-1", "-prod-"],
        &["web-prod", "prod-1"],
    );
    assert_matches("v1.?", &["v1.?"], &["v1.2", "v1."]);
    assert_matches("release", &["release"], &["release-1", "Release"]);
}

#[test]
fn semver_matching_parses_tags_leniently() {
    assert_matches(
        "semver:*",
        &["1", "1.0", "v1.0.3"],
        &["", "latest", "2.0.1-alpha.1"],
    );
    assert_matches(
        "semver:~1",
        &["v1", "1", "1.2", "1.2.3"],
        &["", "latest", "2.0.0"],
    );
    assert_matches("semver:2.0.1-alpha.1", &["2.0.1-alpha.1"], &["2.0.1"]);
    assert_matches(
        "semver:>=1.0, <2",
        &["01.5", "1.9.9"],
        &["2.0.0", "1.9.9-rc.1"],
    );
}

#[test]
fn regexp_matching_is_unanchored() {
    assert_matches("regexp:(.*?)", &["", "1", "foo"], &[]);
    assert_matches(
        "regexp:^([a-zA-Z]+)$",
        &["foo", "BAR", "fooBAR"],
        &["1", "foo-1"],
    );
    assert_matches(
        r"regex:^\w{7}(?:\w)?$",
        &["af14eb2", "bb73ed94"],
        &["1", "946427ff-foo"],
    );
    assert_matches("regexp:prod", &["web-prod-1"], &["web-dev-1"]);
}

#[test]
fn invalid_patterns_are_reported() {
    let err = TagPattern::parse("semver:>= bar").err();
    assert!(
        matches!(&err, Some(PatternError::InvalidSemver { pattern, .. }) if pattern == "semver:>= bar")
    );
    let err = TagPattern::parse("regexp:(").err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.starts_with("invalid tag pattern \"regexp:(\"")));
}

#[test]
fn latest_is_a_candidate_only_for_the_latest_pattern() {
    for value in ["*", "glob:*", "regexp:.*", "lat*"] {
        let p = pattern(value);
        for tag in ["latest", "LATEST", "Latest"] {
            assert!(!p.admits(tag), "{value} admitted {tag}");
        }
        assert!(p.admits("latest-1"), "{value} refused latest-1");
    }
    for value in ["latest", "glob:latest"] {
        let p = pattern(value);
        assert!(p.admits("latest"));
        assert!(!p.admits("latest-1"));
    }
    let candidates = [
        TagInfo::new("latest", at(2_000)),
        TagInfo::new("1.0", at(1_000)),
    ];
    assert_eq!(
        pattern("*").newest(&candidates).map(|t| t.tag.as_str()),
        Some("1.0")
    );
}

#[test]
fn glob_and_regexp_order_by_creation_time() {
    let candidates = [
        TagInfo::new("b", at(100)),
        TagInfo::new("z", at(300)),
        TagInfo::new("a", at(300)),
        TagInfo::new("old", at(50)),
        TagInfo::new("unknown", None),
    ];
    let glob = pattern("*");
    let order: Vec<&str> = glob
        .sorted_newest_first(&candidates)
        .iter()
        .map(|t| t.tag.as_str())
        .collect();
    assert_eq!(order, ["a", "z", "b", "old", "unknown"]);
    assert_eq!(glob.newest(&candidates).map(|t| t.tag.as_str()), Some("a"));
    let regexp = pattern("regexp:^[bo]");
    assert_eq!(
        regexp.newest(&candidates).map(|t| t.tag.as_str()),
        Some("b")
    );
    let untimed = [TagInfo::new("m", None), TagInfo::new("k", None)];
    assert_eq!(glob.newest(&untimed).map(|t| t.tag.as_str()), Some("k"));
}

#[test]
fn semver_orders_by_version_ignoring_time() {
    let candidates = [
        TagInfo::new("1.9.0", at(900)),
        TagInfo::new("1.10", at(1)),
        TagInfo::new("1.10.0", at(2)),
        TagInfo::new("2.0.0", at(3)),
        TagInfo::new("1.11.0-rc.1", at(5)),
        TagInfo::new("latest", at(1_000)),
    ];
    let p = pattern("semver:~1");
    let order: Vec<&str> = p
        .sorted_newest_first(&candidates)
        .iter()
        .map(|t| t.tag.as_str())
        .collect();
    assert_eq!(order, ["1.10.0", "1.10", "1.9.0"]);
    let p = pattern("semver:^1.0.0-0");
    assert_eq!(
        p.newest(&candidates).map(|t| t.tag.as_str()),
        Some("1.11.0-rc.1")
    );
    let equal = [TagInfo::new("1.0.0", None), TagInfo::new("v1.0.0", None)];
    assert_eq!(
        pattern("semver:*").newest(&equal).map(|t| t.tag.as_str()),
        Some("v1.0.0")
    );
    assert_eq!(pattern("semver:>=3").newest(&candidates), None);
}

#[test]
fn semver_patterns_keep_fluxd_range_semantics() {
    // fluxd's Masterminds v3.1.1 judged prereleases per term: `<2.0.0` has none, so it refuses.
    assert_matches(
        "semver:>=1.0.0-alpha, <2.0.0",
        &["1.5.0"],
        &["1.5.0-beta", "1.0.0-beta"],
    );
    assert_matches(
        "semver:>=1.0.0-alpha, <2.0.0-0",
        &["1.5.0-beta"],
        &["2.0.0-beta"],
    );
    // A plain `!=` did not look at prereleases.
    assert_matches("semver:!=1.2.3", &["1.2.4-rc.1", "1.2.4"], &["1.2.3"]);
    // `^0.0.3` also admitted other minors with the same patch.
    assert_matches("semver:^0.0.3", &["0.0.3", "0.1.3"], &["0.0.4", "1.0.3"]);
    // Terms needed no separator.
    assert_matches("semver:>1.2<2", &["1.5.0"], &["2.0.0", "1.2.0"]);
}
