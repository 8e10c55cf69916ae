//! Properties over generated inputs: a selection is always one of the given tags and no
//! admissible tag outranks it; parsers never panic; globs agree with an equivalent regex; Go
//! float parsing agrees with Rust's on the numbers both read.

use proptest::prelude::*;
use std::cmp::Ordering;
use tether_imagepolicy::{
    Constraints, FilterTagsSpec, OrderSpec, Policy, PolicyError, PolicySpec, SemverSpec, TagInfo,
    TagPattern, Version, parse_go_float,
};

fn version_tag() -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        0u64..4,
        0u64..4,
        0u64..4,
        prop::option::of(prop::sample::select(vec!["alpha", "beta.1", "rc.2", "0"])),
    )
        .prop_map(|(v, major, minor, patch, pre)| {
            let prefix = if v { "v" } else { "" };
            match pre {
                Some(pre) => format!("{prefix}{major}.{minor}.{patch}-{pre}"),
                None => format!("{prefix}{major}.{minor}.{patch}"),
            }
        })
}

fn any_tag() -> impl Strategy<Value = String> {
    prop_oneof![version_tag(), "[a-z0-9._-]{0,12}"]
}

fn range() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["", "=", "!=", ">", "<", ">=", "<=", "~", "^"]);
    let part = prop::sample::select(vec!["0", "1", "2", "3", "x"]);
    (op, part.clone(), prop::option::of(part), prop::bool::ANY).prop_map(
        |(op, major, minor, pre)| {
            let minor = minor.map(|m| format!(".{m}")).unwrap_or_default();
            let pre = if pre { "-0" } else { "" };
            format!("{op}{major}{minor}{pre}")
        },
    )
}

proptest! {
    #[test]
    fn semver_selection_is_a_maximal_member(
        tags in prop::collection::vec(any_tag(), 0..12),
        range in range(),
    ) {
        let Ok(constraints) = Constraints::parse(&range) else { return Ok(()) };
        let spec = PolicySpec { semver: Some(SemverSpec { range }), ..PolicySpec::default() };
        let policy = Policy::new(&spec).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let admissible: Vec<Version> = tags
            .iter()
            .filter_map(|t| Version::parse_tag(t).ok())
            .filter(|v| constraints.matches(v))
            .collect();
        match policy.select(&tags) {
            Ok(selection) => {
                prop_assert!(tags.contains(&selection.tag));
                let chosen = Version::parse_tag(&selection.tag)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(constraints.matches(&chosen));
                for other in &admissible {
                    prop_assert_ne!(other.precedence_cmp(&chosen), Ordering::Greater);
                }
            }
            Err(PolicyError::NoMatch { total, .. }) => {
                prop_assert!(admissible.is_empty());
                prop_assert_eq!(total, tags.len());
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }

    #[test]
    fn alphabetical_selection_is_the_extreme_string(
        tags in prop::collection::vec("[ -~]{0,10}", 1..12),
        desc in prop::bool::ANY,
    ) {
        let order = if desc { "desc" } else { "asc" };
        let spec = PolicySpec { alphabetical: Some(OrderSpec { order: order.into() }), ..PolicySpec::default() };
        let policy = Policy::new(&spec).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let selection = policy.select(&tags).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected = if desc { tags.iter().min() } else { tags.iter().max() };
        prop_assert_eq!(Some(&selection.tag), expected);
    }

    #[test]
    fn numerical_selection_is_the_extreme_number(
        values in prop::collection::vec(-1_000_000i64..1_000_000, 1..12),
        desc in prop::bool::ANY,
    ) {
        let tags: Vec<String> = values.iter().map(|v| format!("build-{v}")).collect();
        let spec = PolicySpec {
            numerical: Some(OrderSpec { order: if desc { "DESC" } else { "ASC" }.into() }),
            filter_tags: Some(FilterTagsSpec { pattern: "^build-(?P<n>-?[0-9]+)$".into(), extract: "$n".into() }),
            ..PolicySpec::default()
        };
        let policy = Policy::new(&spec).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let selection = policy.select(&tags).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected = if desc { values.iter().min() } else { values.iter().max() };
        prop_assert_eq!(Some(format!("build-{}", selection.compared_value)), expected.map(|v| format!("build-{v}")));
        prop_assert!(tags.contains(&selection.tag));
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,24}") {
        let _ = Constraints::parse(&text);
        let _ = Version::parse_lenient(&text);
        let _ = Version::parse_tag(&text);
        let _ = TagPattern::parse(&text);
        let _ = parse_go_float(&text);
    }

    #[test]
    fn selection_on_arbitrary_tags_never_panics(tags in prop::collection::vec("\\PC{0,12}", 0..8)) {
        for spec in [
            PolicySpec { semver: Some(SemverSpec { range: ">=0.0.0-0".into() }), ..PolicySpec::default() },
            PolicySpec { numerical: Some(OrderSpec::default()), ..PolicySpec::default() },
            PolicySpec { alphabetical: Some(OrderSpec::default()), ..PolicySpec::default() },
        ] {
            let policy = Policy::new(&spec).map_err(|e| TestCaseError::fail(e.to_string()))?;
            if let Ok(selection) = policy.select(&tags) {
                prop_assert!(tags.contains(&selection.tag));
            }
        }
    }

    #[test]
    fn glob_agrees_with_the_equivalent_anchored_regex(
        pieces in prop::collection::vec("[ab.?]{0,3}", 1..4),
        subject in "[ab.?]{0,8}",
    ) {
        let glob = pieces.join("*");
        let anchored = format!(
            "(?s)^{}$",
            pieces.iter().map(|p| regex::escape(p)).collect::<Vec<_>>().join(".*")
        );
        let regex = regex::Regex::new(&anchored).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let pattern = TagPattern::parse(&format!("glob:{glob}"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(pattern.matches(&subject), regex.is_match(&subject), "glob {:?}", glob);
    }

    #[test]
    fn newest_is_admitted_and_not_outranked(
        tags in prop::collection::vec(("[a-c]{1,3}", prop::option::of(0i64..5)), 0..8),
    ) {
        let candidates: Vec<TagInfo> = tags
            .iter()
            .map(|(t, s)| TagInfo::new(t.clone(), s.and_then(|s| chrono::DateTime::from_timestamp(s, 0))))
            .collect();
        let pattern = TagPattern::all();
        match pattern.newest(&candidates) {
            Some(newest) => {
                for other in &candidates {
                    prop_assert_ne!(pattern.cmp_newest_first(other, newest), Ordering::Less);
                }
            }
            None => prop_assert!(candidates.is_empty()),
        }
    }

    #[test]
    fn go_float_agrees_with_rust_on_plain_numbers(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        prop_assert_eq!(parse_go_float(&format!("{x}")), Some(x));
        prop_assert_eq!(parse_go_float(&format!("{x:e}")), Some(x));
        prop_assert_eq!(parse_go_float(&format!("{x:E}")), Some(x));
    }
}
