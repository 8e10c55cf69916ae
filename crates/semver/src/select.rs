//! Choosing the newest version that satisfies a constraint, as Flux's controllers do.
//!
//! - [`select_chart_version`]: a HelmChart's `spec.version` against a chart's versions in a Helm
//!   repository index, or against the tags of an OCI chart repository (source-controller's
//!   `getChartVersion` / `getLastMatchingVersionOrConstraint`, which refine Helm's
//!   `IndexFile.Get`): an exact string match wins; an empty request or `*` means the latest
//!   stable version; otherwise the Masterminds constraint, which admits prereleases only when a
//!   bound of the same AND group names one. Versions are read like Flux's
//!   `version.ParseVersion` (strict semver, optional leading `v`); others are skipped. Among
//!   versions of equal precedence (differing in build metadata) the newest `created` wins.
//! - [`latest_matching_tag`]: GitRepository and OCIRepository `ref.semver` over tag names.

use std::cmp::Ordering;

use crate::constraint::{ConstraintError, Constraints};
use crate::version::Version;

/// The newest of `items` whose version satisfies `requested`, with Flux's HelmChart rules
/// (module docs). `version_of` reads an item's version string; `created_of` orders items whose
/// versions have equal precedence (greater is newer). `Ok(None)` when nothing matches; an error
/// when `requested` is neither an exact version present nor a valid constraint.
pub fn select_chart_version<'a, T, K: Ord>(
    items: &'a [T],
    requested: &str,
    version_of: impl Fn(&T) -> &str,
    created_of: impl Fn(&T) -> K,
) -> Result<Option<&'a T>, ConstraintError> {
    let requested = requested.trim();
    if !requested.is_empty()
        && let Some(exact) = items.iter().find(|item| version_of(item) == requested)
    {
        return Ok(Some(exact));
    }
    let constraint = match requested {
        "" | "*" => Constraints::parse("*")?,
        range => Constraints::parse(range)?,
    };
    let mut best: Option<(&T, Version)> = None;
    for item in items {
        let Ok(version) = Version::parse_tag(version_of(item)) else {
            continue;
        };
        if !constraint.matches(&version) {
            continue;
        }
        let newer = match &best {
            None => true,
            Some((held, held_version)) => match version.precedence_cmp(held_version) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => created_of(item) > created_of(held),
            },
        };
        if newer {
            best = Some((item, version));
        }
    }
    Ok(best.map(|(item, _)| item))
}

/// The tag with the highest version satisfying `constraint`, tags read like Flux's
/// `version.ParseVersion`; among tags of equal precedence the greatest name wins.
pub fn latest_matching_tag<'a>(
    tags: impl IntoIterator<Item = &'a str>,
    constraint: &Constraints,
) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|tag| Version::parse_tag(tag).ok().map(|version| (version, tag)))
        .filter(|(version, _)| constraint.matches(version))
        .max_by(|(a, tag_a), (b, tag_b)| a.precedence_cmp(b).then_with(|| tag_a.cmp(tag_b)))
        .map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHART: &[&str] = &[
        "62.0.0-rc.1",
        "61.2.0",
        "61.1.0",
        "61.0.0",
        "60.5.0",
        "1.2.3",
        "1.2.9",
        "1.3.0",
        "not-a-version",
        "v0.9.0",
    ];

    fn pick(requested: &str) -> Option<&'static str> {
        select_chart_version(CHART, requested, |v| v, |_| 0)
            .expect("valid request")
            .copied()
    }

    #[test]
    fn empty_and_star_mean_latest_stable() {
        assert_eq!(pick(""), Some("61.2.0"));
        assert_eq!(pick("*"), Some("61.2.0"));
    }

    #[test]
    fn ranges_pick_the_newest_match() {
        assert_eq!(pick("61.x"), Some("61.2.0"));
        assert_eq!(pick("61.0.x"), Some("61.0.0"));
        assert_eq!(pick(">=1.2 <2"), Some("1.3.0"));
        assert_eq!(pick("~1.2"), Some("1.2.9"));
        assert_eq!(pick("^1"), Some("1.3.0"));
        assert_eq!(pick("^0.9"), Some("v0.9.0"));
        assert_eq!(pick("<61 || >=62"), Some("60.5.0"));
        assert_eq!(pick(">=100"), None);
    }

    #[test]
    fn exact_version_matches_itself_even_when_prerelease() {
        assert_eq!(pick("1.2.3"), Some("1.2.3"));
        assert_eq!(pick("62.0.0-rc.1"), Some("62.0.0-rc.1"));
        assert_eq!(pick("not-a-version"), Some("not-a-version"));
    }

    #[test]
    fn prereleases_only_when_a_bound_names_one() {
        assert_eq!(pick(">=62"), None);
        assert_eq!(pick(">=62.0.0-0"), Some("62.0.0-rc.1"));
        assert_eq!(pick(">=61.0.0-0"), Some("62.0.0-rc.1"));
    }

    #[test]
    fn invalid_constraint_is_an_error() {
        assert!(select_chart_version(CHART, ">=abc", |v| v, |_| 0).is_err());
    }

    #[test]
    fn equal_precedence_is_decided_by_creation_time() {
        let items = [("1.0.0+a", 2), ("1.0.0+b", 5), ("1.0.0+c", 1)];
        let chosen = select_chart_version(&items, "", |i| i.0, |i| i.1).expect("valid");
        assert_eq!(chosen.map(|i| i.0), Some("1.0.0+b"));
    }

    #[test]
    fn latest_tag_reads_tags_strictly() {
        let tags = [
            "v0.1.0",
            "v1.2.3",
            "v1.10.0",
            "2.0.0",
            "v2.1.0-rc.1",
            "v3.0",
        ];
        let constraint = Constraints::parse(">=1.0.0").expect("parses");
        assert_eq!(latest_matching_tag(tags, &constraint), Some("2.0.0"));
        let constraint = Constraints::parse("~1.2").expect("parses");
        assert_eq!(latest_matching_tag(tags, &constraint), Some("v1.2.3"));
    }
}
