//! Semver constraints over git tags, in the Masterminds dialect Flux uses, evaluated with the
//! `semver` crate.
//!
//! Translation to `semver::VersionReq`:
//! - `||` separates alternatives (any may match); within one, comparators are separated by
//!   commas or spaces (`>= 1.2 < 2` works), and `a - b` is the inclusive range `>=a, <=b`.
//! - A comparator without an operator means `=` (Masterminds), not `^` (Cargo).
//! - A leading `v` on a version is dropped; `!=x` is evaluated beside the requirement.
//!
//! Remaining differences: pre-releases follow Cargo's rule (a pre-release matches only when a
//! comparator names a pre-release of the same `major.minor.patch`; Masterminds lets any
//! comparator with a pre-release admit pre-releases), and among tags equal but for build
//! metadata the greatest tag name wins, where Flux picks the one whose commit is newest.
//! Tags are read like Flux's `version.ParseVersion`: exactly three dot-separated parts and an
//! optional leading `v`.

use semver::{Version, VersionReq};

/// A parsed constraint: a list of alternatives.
#[derive(Debug, Clone)]
pub struct Constraint {
    alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone)]
struct Alternative {
    required: VersionReq,
    excluded: Vec<VersionReq>,
}

impl Constraint {
    /// Parses a Masterminds-style constraint; the error says which part did not parse.
    pub fn parse(text: &str) -> Result<Self, String> {
        let alternatives = text
            .split("||")
            .map(parse_alternative)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { alternatives })
    }

    /// Whether `version` satisfies any alternative.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|alt| {
            alt.required.matches(version) && !alt.excluded.iter().any(|ex| ex.matches(version))
        })
    }
}

fn parse_alternative(text: &str) -> Result<Alternative, String> {
    let mut required = Vec::new();
    let mut excluded = Vec::new();
    for comparator in comparators(text) {
        let (op, version) = split_operator(&comparator);
        let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
        match op {
            "!=" => excluded.push(parse_req(&format!("={version}"))?),
            // Cargo rejects `=` before a wildcard; a bare wildcard version means the same.
            "" | "=" | "==" if has_wildcard(version) => required.push(version.to_owned()),
            "" | "==" => required.push(format!("={version}")),
            _ => required.push(format!("{op}{version}")),
        }
    }
    let required = if required.is_empty() {
        VersionReq::STAR
    } else {
        parse_req(&required.join(", "))?
    };
    Ok(Alternative { required, excluded })
}

fn has_wildcard(version: &str) -> bool {
    version
        .split('.')
        .any(|part| matches!(part, "x" | "X" | "*"))
}

fn parse_req(text: &str) -> Result<VersionReq, String> {
    VersionReq::parse(text).map_err(|error| format!("'{text}': {error}"))
}

/// Splits one alternative into comparators such as `>=1.2.3`, expanding hyphen ranges and
/// gluing operators written apart from their version (`>= 1.2`).
fn comparators(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let tokens: Vec<&str> = part.split_whitespace().collect();
        let mut i = 0;
        while i < tokens.len() {
            if tokens.get(i + 1) == Some(&"-") && i + 2 < tokens.len() {
                out.push(format!(">={}", tokens[i]));
                out.push(format!("<={}", tokens[i + 2]));
                i += 3;
            } else if is_operator(tokens[i]) && i + 1 < tokens.len() {
                out.push(format!("{}{}", tokens[i], tokens[i + 1]));
                i += 2;
            } else {
                out.push(tokens[i].to_owned());
                i += 1;
            }
        }
    }
    out
}

fn is_operator(token: &str) -> bool {
    !token.is_empty() && token.chars().all(|c| "<>=!~^".contains(c))
}

fn split_operator(comparator: &str) -> (&str, &str) {
    let end = comparator
        .find(|c: char| !"<>=!~^".contains(c))
        .unwrap_or(comparator.len());
    comparator.split_at(end)
}

/// Reads a tag as a version the way Flux does: exactly three dot-separated parts, optional `v`.
pub fn parse_tag_version(tag: &str) -> Option<Version> {
    if tag.splitn(3, '.').count() != 3 {
        return None;
    }
    Version::parse(tag.strip_prefix(['v', 'V']).unwrap_or(tag)).ok()
}

/// The tag with the highest version satisfying `constraint`, if any.
pub fn latest_matching_tag<'a>(
    tags: impl IntoIterator<Item = &'a str>,
    constraint: &Constraint,
) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|tag| parse_tag_version(tag).map(|version| (version, tag)))
        .filter(|(version, _)| constraint.matches(version))
        .max_by(|(a, tag_a), (b, tag_b)| a.cmp_precedence(b).then_with(|| tag_a.cmp(tag_b)))
        .map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick<'a>(tags: &[&'a str], constraint: &str) -> Option<&'a str> {
        let constraint = Constraint::parse(constraint).expect("parses");
        latest_matching_tag(tags.iter().copied(), &constraint)
    }

    const TAGS: &[&str] = &[
        "v0.1.0",
        "v1.0.0",
        "v1.2.3",
        "v1.10.0",
        "2.0.0",
        "v2.1.0-rc.1",
        "latest",
        "v3.0",
    ];

    #[test]
    fn picks_highest_match() {
        assert_eq!(pick(TAGS, ">=1.0.0"), Some("2.0.0"));
        assert_eq!(pick(TAGS, "<2.0.0"), Some("v1.10.0"));
        assert_eq!(pick(TAGS, "~1.2"), Some("v1.2.3"));
        assert_eq!(pick(TAGS, "^1"), Some("v1.10.0"));
        assert_eq!(pick(TAGS, "1.x"), Some("v1.10.0"));
        assert_eq!(pick(TAGS, "*"), Some("2.0.0"));
        assert_eq!(pick(TAGS, ">=5.0.0"), None);
    }

    #[test]
    fn bare_version_means_equal_not_caret() {
        assert_eq!(pick(TAGS, "1.2.3"), Some("v1.2.3"));
        assert_eq!(pick(TAGS, "v1.0.0"), Some("v1.0.0"));
    }

    #[test]
    fn masterminds_syntax_extensions() {
        assert_eq!(pick(TAGS, ">= 1.0.0 < 1.5.0"), Some("v1.2.3"));
        assert_eq!(pick(TAGS, "1.0.0 - 1.2.3"), Some("v1.2.3"));
        assert_eq!(pick(TAGS, "<1.0.0 || ~1.2"), Some("v1.2.3"));
        assert_eq!(pick(TAGS, ">=1.0.0, <2.0.0, !=1.10.0"), Some("v1.2.3"));
    }

    #[test]
    fn prerelease_only_when_asked() {
        assert_eq!(pick(TAGS, ">=2.1.0-rc.0"), Some("v2.1.0-rc.1"));
        assert_eq!(pick(&["v2.1.0-rc.1"], ">=2.0.0"), None);
    }

    #[test]
    fn tag_versions_need_three_parts() {
        assert!(parse_tag_version("v3.0").is_none());
        assert!(parse_tag_version("latest").is_none());
        assert!(parse_tag_version("v1.2.3").is_some());
    }

    #[test]
    fn invalid_constraint_is_an_error() {
        assert!(Constraint::parse(">=abc").is_err());
    }
}
