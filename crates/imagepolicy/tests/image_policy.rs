//! ImagePolicy selection as image-reflector-controller v2.9 does it: semver, alphabetical and
//! numerical policies, filterTags with extract, and the errors a reconciler reports.

use tether_imagepolicy::{
    FilterTagsSpec, OrderSpec, Policy, PolicyError, PolicySpec, Selection, SemverSpec,
};

fn semver(range: &str) -> PolicySpec {
    PolicySpec {
        semver: Some(SemverSpec {
            range: range.into(),
        }),
        ..PolicySpec::default()
    }
}

fn alphabetical(order: &str) -> PolicySpec {
    PolicySpec {
        alphabetical: Some(OrderSpec {
            order: order.into(),
        }),
        ..PolicySpec::default()
    }
}

fn numerical(order: &str) -> PolicySpec {
    PolicySpec {
        numerical: Some(OrderSpec {
            order: order.into(),
        }),
        ..PolicySpec::default()
    }
}

fn filtered(mut spec: PolicySpec, pattern: &str, extract: &str) -> PolicySpec {
    spec.filter_tags = Some(FilterTagsSpec {
        pattern: pattern.into(),
        extract: extract.into(),
    });
    spec
}

fn select(spec: &PolicySpec, tags: &[&str]) -> Result<Selection, PolicyError> {
    Policy::new(spec)
        .unwrap_or_else(|e| panic!("{spec:?}: {e}"))
        .select(tags)
}

fn latest(spec: &PolicySpec, tags: &[&str]) -> String {
    select(spec, tags)
        .map(|s| s.tag)
        .unwrap_or_else(|e| panic!("{tags:?}: {e}"))
}

#[test]
fn semver_picks_the_highest_version_in_range() {
    let tags = ["1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0", "0.1.0"];
    assert_eq!(latest(&semver("1.0.x"), &tags), "1.0.1");
    assert_eq!(
        latest(&semver("v1.2.3 || 0.1"), &["v1.2.3", "0.1.0", "1.2.3"]),
        "v1.2.3"
    );
    assert_eq!(
        latest(&semver("1.0.x"), &["v1.2.3", "v1.0.0", "v0.1.0"]),
        "v1.0.0"
    );
    assert_eq!(
        latest(&semver(">=1.0.0 <2.0.0"), &["1.9.0", "2.0.0", "1.10.0"]),
        "1.10.0"
    );
    assert_eq!(
        latest(&semver("1.2 - 1.4.5"), &["1.4.5", "1.4.6", "1.3.0"]),
        "1.4.5"
    );
    assert_eq!(
        latest(&semver("*"), &["3.0.0", "10.0.0", "9.9.9"]),
        "10.0.0"
    );
}

#[test]
fn semver_tags_must_be_full_versions() {
    // Flux parses tags strictly (a leading `v` aside): partial tags are not candidates.
    assert_eq!(
        latest(&semver(">=1.0"), &["1.2", "v1.3", "1.1.0", "01.5.0"]),
        "1.1.0"
    );
    let err = select(&semver("1.0.x"), &["b1.2.3", "b1.0.0", "b0.1.0"]).err();
    assert!(
        matches!(err, Some(PolicyError::NoMatch { total: 3, .. })),
        "{err:?}"
    );
}

#[test]
fn semver_prereleases_only_with_a_prerelease_range() {
    let tags = ["1.0.0", "1.1.0-rc.1", "0.9.0"];
    assert_eq!(latest(&semver(">=1.0.0"), &tags), "1.0.0");
    assert_eq!(latest(&semver(">=1.0.0-0"), &tags), "1.1.0-rc.1");
    assert_eq!(
        latest(&semver(">=1.0.0-0"), &["1.1.0-rc.1", "1.1.0"]),
        "1.1.0"
    );
    assert_eq!(
        latest(&semver(">=1.0.0-0"), &["1.1.0-rc.2", "1.1.0-rc.10"]),
        "1.1.0-rc.10"
    );
}

#[test]
fn semver_ties_keep_the_first_equal_version() {
    assert_eq!(latest(&semver("*"), &["1.0.0", "v1.0.0"]), "1.0.0");
    assert_eq!(latest(&semver("*"), &["v1.0.0", "1.0.0"]), "v1.0.0");
    assert_eq!(
        latest(&semver("*"), &["1.0.0+b", "1.0.0+a", "0.9.0"]),
        "1.0.0+b"
    );
}

#[test]
fn alphabetical_asc_picks_last_and_desc_first() {
    let calver = ["16.04", "16.04.1", "16.10", "20.04", "20.10"];
    let names = ["xenial", "yakkety", "zesty", "artful", "bionic"];
    let stamps = [
        "2021-01-08T21-18-21Z",
        "2020-05-08T21-18-21Z",
        "1990-01-08T00-20-00Z",
    ];
    for (order, tags, expected) in [
        ("", &calver[..], "20.10"),
        ("asc", &calver[..], "20.10"),
        ("desc", &calver[..], "16.04"),
        ("", &names[..], "zesty"),
        ("DESC", &names[..], "artful"),
        ("Asc", &stamps[..], "2021-01-08T21-18-21Z"),
        ("desc", &stamps[..], "1990-01-08T00-20-00Z"),
        ("asc", &["Zeta", "alpha", "Alpha"][..], "alpha"),
        ("asc", &["9", "10", "100"][..], "9"),
    ] {
        assert_eq!(
            latest(&alphabetical(order), tags),
            expected,
            "{order} {tags:?}"
        );
    }
}

#[test]
fn numerical_orders_by_float_value() {
    let ints = [
        "-62", "-88", "73", "72", "15", "16", "15", "29", "-33", "-91",
    ];
    let floats = [
        "47.40896403322944",
        "-27.8520927455902",
        "53.47333823144817",
        "3.2",
    ];
    let stamps = ["1606234201", "1606364286", "1606334092", "1606334284"];
    for (order, tags, expected) in [
        ("asc", &ints[..], "73"),
        ("desc", &ints[..], "-91"),
        ("", &floats[..], "53.47333823144817"),
        ("desc", &floats[..], "-27.8520927455902"),
        ("asc", &stamps[..], "1606364286"),
        ("desc", &stamps[..], "1606234201"),
        ("asc", &["1"][..], "1"),
        ("asc", &["9", "10", "1e2", "0x1p4"][..], "1e2"),
        ("asc", &["1_000", "999"][..], "1_000"),
    ] {
        assert_eq!(
            latest(&numerical(order), tags),
            expected,
            "{order} {tags:?}"
        );
    }
}

#[test]
fn numerical_equal_values_go_to_the_later_tag() {
    assert_eq!(latest(&numerical("asc"), &["1", "1.0", "0"]), "1.0");
    assert_eq!(latest(&numerical("desc"), &["0", "1", "0.0"]), "0.0");
}

#[test]
fn numerical_fails_on_any_non_number() {
    let err = select(&numerical("asc"), &["0", "1a", "b"]).err();
    assert_eq!(
        err,
        Some(PolicyError::NotANumber {
            value: "1a".into(),
            tag: "1a".into()
        })
    );
    let err = select(&numerical("asc"), &["5", "latest"]).err();
    assert!(matches!(&err, Some(e) if !e.is_terminal()));
}

#[test]
fn filter_tags_extracts_the_compared_value_but_returns_the_tag() {
    let spec = filtered(numerical("asc"), "^master-[a-f0-9]+-(?P<ts>[0-9]+)", "$ts");
    let tags = [
        "master-abc1234-1700000000",
        "master-fed9876-1700000500",
        "master-0a1b2c3-1699999999",
        "feature-x-1800000000",
        "latest",
        "v1.0.0",
    ];
    let selection = select(&spec, &tags);
    assert_eq!(
        selection,
        Ok(Selection {
            tag: "master-fed9876-1700000500".into(),
            compared_value: "1700000500".into(),
        })
    );
    let desc = filtered(
        numerical("desc"),
        "^master-[a-f0-9]+-(?P<ts>[0-9]+)",
        "${ts}",
    );
    assert_eq!(latest(&desc, &tags), "master-0a1b2c3-1699999999");
}

#[test]
fn filter_tags_feeds_every_policy() {
    let spec = filtered(
        semver("^1.20"),
        r"^v?(?P<version>[0-9.]+)-alpine$",
        "$version",
    );
    let tags = [
        "1.21.3-alpine",
        "1.22.0",
        "1.21.4-bookworm",
        "1.20.9-alpine",
        "2.0.0-alpine",
    ];
    assert_eq!(latest(&spec, &tags), "1.21.3-alpine");

    let spec = filtered(alphabetical("asc"), r"^rel-(\d{8})-[a-z]+$", "$1");
    let selection = select(
        &spec,
        &["rel-20240101-b", "rel-20231231-z", "dev-20991231-a"],
    );
    assert_eq!(
        selection.map(|s| (s.tag, s.compared_value)),
        Ok(("rel-20240101-b".into(), "20240101".into()))
    );

    let spec = filtered(alphabetical(""), "^ver", "");
    assert_eq!(latest(&spec, &["ver1", "ver2", "rel9"]), "ver2");
    let spec = filtered(alphabetical(""), "", "");
    assert_eq!(latest(&spec, &["a", "c", "b"]), "c");
}

#[test]
fn tags_extracting_the_same_value_resolve_to_the_last() {
    let spec = filtered(numerical("asc"), r"-(\d+)$", "$1");
    assert_eq!(latest(&spec, &["a-1", "b-2", "c-2"]), "c-2");
    assert_eq!(latest(&spec, &["c-2", "b-2", "a-1"]), "b-2");
}

#[test]
fn no_match_reports_policy_and_counts() {
    let tags = ["1.0.0", "1.5.0", "latest"];
    let err = select(&semver(">=2.0.0"), &tags).err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("no tag matches policy semver range '>=2.0.0' among 3 tags")
    );
    let spec = filtered(numerical("asc"), "^main-(?P<ts>[0-9]+)$", "$ts");
    let err = select(&spec, &tags).err();
    assert!(matches!(
        err,
        Some(PolicyError::NoMatch {
            total: 3,
            filtered: Some(0),
            ..
        })
    ));
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some(
            "no tag matches policy numerical order asc among 3 tags (0 passed spec.filterTags.pattern '^main-(?P<ts>[0-9]+)$')"
        )
    );
    let err = select(&alphabetical("asc"), &[]).err();
    assert!(matches!(&err, Some(e @ PolicyError::NoMatch { total: 0, .. }) if !e.is_terminal()));
}

#[test]
fn invalid_specs_are_terminal_errors_naming_the_field() {
    let cases = [
        (semver(""), "spec.policy.semver.range ''"),
        (semver(">= bar"), "spec.policy.semver.range '>= bar'"),
        (semver("1x"), "spec.policy.semver.range '1x'"),
        (alphabetical("up"), "spec.policy.alphabetical.order 'up'"),
        (
            numerical("ascending"),
            "spec.policy.numerical.order 'ascending'",
        ),
        (
            filtered(alphabetical(""), "(unclosed", ""),
            "spec.filterTags.pattern '(unclosed'",
        ),
        (
            PolicySpec::default(),
            "spec.policy must set one of semver, alphabetical, numerical",
        ),
    ];
    for (spec, field) in cases {
        let err = Policy::new(&spec).err();
        let Some(err) = err else {
            panic!("{spec:?} accepted")
        };
        assert!(err.is_terminal(), "{err}");
        assert!(err.to_string().contains(field), "{err} lacks {field}");
    }
}

#[test]
fn semver_takes_precedence_over_other_choices() {
    let spec = PolicySpec {
        semver: Some(SemverSpec { range: "<2".into() }),
        alphabetical: Some(OrderSpec {
            order: "asc".into(),
        }),
        numerical: Some(OrderSpec {
            order: "bogus".into(),
        }),
        filter_tags: None,
    };
    let policy = Policy::new(&spec).map(|p| p.to_string());
    assert_eq!(policy.as_deref(), Ok("semver range '<2'"));
    assert_eq!(latest(&spec, &["1.5.0", "zzz", "3.0.0"]), "1.5.0");
}
