//! Semantic versions as `github.com/Masterminds/semver/v3` parses and orders them: the lenient
//! `NewVersion` (partial versions `1.2`, leading `v`, leading zeros), the strict
//! `StrictNewVersion`, and Flux's tag parser (`fluxcd/pkg/version.ParseVersion`: strict, but a
//! leading `v` is allowed).
//!
//! Written here rather than taken from the `semver` crate: that crate parses Cargo's strict
//! grammar only (no `v`, no partial versions, no leading zeros), and Masterminds keeps the
//! original text, which Flux reports as the selected tag.

use std::cmp::Ordering;
use std::fmt;

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The input is empty.
    #[error("version string empty")]
    Empty,
    /// The input does not have the shape of a semantic version.
    #[error("invalid semantic version")]
    Invalid,
    /// A numeric segment holds something other than digits.
    #[error("invalid characters in version")]
    InvalidCharacters,
    /// A numeric segment (or numeric prerelease identifier) has a leading zero.
    #[error("version segment starts with 0")]
    SegmentStartsZero,
    /// A numeric segment does not fit in 64 bits.
    #[error("version segment out of range")]
    SegmentOutOfRange,
    /// The prerelease part is malformed.
    #[error("invalid prerelease string")]
    InvalidPrerelease,
    /// The build metadata part is malformed.
    #[error("invalid metadata string")]
    InvalidMetadata,
}

/// A parsed version. Precedence ([`Version::precedence_cmp`]) ignores build metadata and the
/// original text, so two distinct tags (`1.0.0` and `v1.0.0`) can have equal precedence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

impl Version {
    /// Parses like Masterminds' `NewVersion` (with its default `CoerceNewVersion`): a leading
    /// `v`, one to three dot-separated numbers (missing ones are 0, leading zeros are accepted),
    /// then an optional `-prerelease` and `+metadata`.
    pub fn parse_lenient(input: &str) -> Result<Version, VersionError> {
        let rest = input.strip_prefix('v').unwrap_or(input);
        let numbers_end = rest.find(['-', '+']).unwrap_or(rest.len());
        let (numbers, extra) = rest.split_at(numbers_end);
        let mut segments = [0_u64; 3];
        for (index, part) in numbers.split('.').enumerate() {
            let slot = segments.get_mut(index).ok_or(VersionError::Invalid)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::Invalid);
            }
            *slot = part.parse().map_err(|_| VersionError::SegmentOutOfRange)?;
        }
        let (pre, metadata) = split_extra(extra)?;
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        Ok(Version {
            major: segments[0],
            minor: segments[1],
            patch: segments[2],
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: input.to_string(),
        })
    }

    /// Parses like Masterminds' `StrictNewVersion`: exactly `MAJOR.MINOR.PATCH`, no leading
    /// zeros, no `v`, optional `-prerelease` and `+metadata`.
    pub fn parse_strict(input: &str) -> Result<Version, VersionError> {
        if input.is_empty() {
            return Err(VersionError::Empty);
        }
        let mut parts = input.splitn(3, '.');
        let (Some(major), Some(minor), Some(last)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VersionError::Invalid);
        };
        // Metadata is cut off first, so a `-` inside it does not start a prerelease.
        let (last, metadata) = match last.split_once('+') {
            Some((last, metadata)) => {
                validate_metadata(metadata)?;
                (last, metadata)
            }
            None => (last, ""),
        };
        let (patch, pre) = match last.split_once('-') {
            Some((patch, pre)) => {
                validate_prerelease(pre)?;
                (patch, pre)
            }
            None => (last, ""),
        };
        let mut segments = [0_u64; 3];
        for (slot, part) in segments.iter_mut().zip([major, minor, patch]) {
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::InvalidCharacters);
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(VersionError::SegmentStartsZero);
            }
            *slot = part.parse().map_err(|_| match part.is_empty() {
                true => VersionError::Invalid,
                false => VersionError::SegmentOutOfRange,
            })?;
        }
        Ok(Version {
            major: segments[0],
            minor: segments[1],
            patch: segments[2],
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: input.to_string(),
        })
    }

    /// Parses an image tag the way Flux's ImagePolicy does (`fluxcd/pkg/version.ParseVersion`):
    /// the tag without one leading `v` must be a strict semantic version. `1.2` and `v1` are
    /// therefore not versions here, although a semver *range* may be written `1.2`.
    pub fn parse_tag(tag: &str) -> Result<Version, VersionError> {
        Version::parse_strict(tag.strip_prefix('v').unwrap_or(tag))?;
        Version::parse_lenient(tag)
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor number (0 when the input omitted it).
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch number (0 when the input omitted it).
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease, without its leading `-` (empty when none).
    pub fn prerelease(&self) -> &str {
        &self.pre
    }

    /// The build metadata, without its leading `+` (empty when none).
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// The text this version was parsed from.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Orders by semver precedence as Masterminds' `Compare`: numbers, then a release above
    /// any of its prereleases, then prerelease identifiers; build metadata is ignored.
    pub fn precedence_cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            })
    }
}

/// Canonical rendering `MAJOR.MINOR.PATCH[-pre][+metadata]` (no `v`), as Masterminds' `String`.
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

/// Splits `-pre+meta` (either part optional) after the numbers of a lenient version.
fn split_extra(extra: &str) -> Result<(&str, &str), VersionError> {
    let (pre_part, metadata) = match extra.split_once('+') {
        Some((pre_part, metadata)) => {
            if !identifiers_ok(metadata) {
                return Err(VersionError::Invalid);
            }
            (pre_part, metadata)
        }
        None => (extra, ""),
    };
    if pre_part.is_empty() {
        return Ok(("", metadata));
    }
    match pre_part.strip_prefix('-') {
        Some(pre) if identifiers_ok(pre) => Ok((pre, metadata)),
        _ => Err(VersionError::Invalid),
    }
}

/// Dot-separated, non-empty identifiers of `[0-9A-Za-z-]`.
fn identifiers_ok(text: &str) -> bool {
    text.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn validate_prerelease(pre: &str) -> Result<(), VersionError> {
    for id in pre.split('.') {
        if id.is_empty() {
            return Err(VersionError::InvalidPrerelease);
        }
        if id.bytes().all(|b| b.is_ascii_digit()) {
            if id.len() > 1 && id.starts_with('0') {
                return Err(VersionError::SegmentStartsZero);
            }
        } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(VersionError::InvalidPrerelease);
        }
    }
    Ok(())
}

fn validate_metadata(metadata: &str) -> Result<(), VersionError> {
    match identifiers_ok(metadata) {
        true => Ok(()),
        false => Err(VersionError::InvalidMetadata),
    }
}

/// Compares dot-separated prerelease identifiers; the shorter list is lower when all shared
/// identifiers are equal.
pub(crate) fn compare_prerelease(left: &str, right: &str) -> Ordering {
    let mut lefts = left.split('.');
    let mut rights = right.split('.');
    loop {
        match (lefts.next(), rights.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(l), Some(r)) => match compare_identifier(l, r) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

/// Numeric identifiers (those that parse as u64) rank below alphanumeric ones and compare by
/// value; alphanumeric ones compare bytewise. An empty identifier ranks lowest.
fn compare_identifier(left: &str, right: &str) -> Ordering {
    if left == right {
        return Ordering::Equal;
    }
    if left.is_empty() || right.is_empty() {
        return left.is_empty().cmp(&right.is_empty()).reverse();
    }
    match (left.parse::<u64>(), right.parse::<u64>()) {
        (Ok(l), Ok(r)) => l.cmp(&r),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => left.cmp(right),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_accepts_partial_versions_prefix_and_leading_zeros() {
        for (input, expected) in [
            ("1", "1.0.0"),
            ("1.2", "1.2.0"),
            ("v1.2", "1.2.0"),
            ("1.2.3", "1.2.3"),
            ("01.02.03", "1.2.3"),
            ("1.2-beta.1", "1.2.0-beta.1"),
            ("1.2.3+build.5", "1.2.3+build.5"),
            (
                "1.2.3-rc1-with-hyphen+meta-x",
                "1.2.3-rc1-with-hyphen+meta-x",
            ),
            (
                "v2.3.5-20161202202307-sha.e8fc5e5",
                "2.3.5-20161202202307-sha.e8fc5e5",
            ),
        ] {
            let version = Version::parse_lenient(input);
            assert_eq!(
                version.map(|v| v.to_string()),
                Ok(expected.into()),
                "{input}"
            );
        }
    }

    #[test]
    fn lenient_rejects_malformed_versions() {
        for input in [
            "",
            "v",
            "1.2.3.4",
            "1.",
            ".1",
            "1..2",
            "a",
            "1.2.beta",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-beta..1",
            "1.2.3-01",
            "vv1",
            "V1.2.3",
            "1.2.3 ",
            " 1.2.3",
            "1.2.3-be_ta",
            "99999999999999999999",
        ] {
            assert!(Version::parse_lenient(input).is_err(), "{input:?} parsed");
        }
    }

    #[test]
    fn strict_requires_three_segments_without_leading_zeros() {
        for ok in [
            "1.2.3",
            "0.0.0",
            "1.2.0-x.Y.0+metadata",
            "1.2.0-x.Y.0+metadata-width-hyphen",
        ] {
            assert!(Version::parse_strict(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1.2",
            "v1.2.3",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "1.2.3.4",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-01",
            "1.2.beta",
            "1.2-5",
            ".1.2",
            "1.2.3+me_ta",
        ] {
            assert!(Version::parse_strict(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn tag_parsing_matches_flux_parse_version() {
        for ok in [
            "v1.2.3",
            "1.2.3",
            "v1.2.0-x.Y.0+metadata",
            "v1.2.3-rc1-with-hypen",
        ] {
            assert_eq!(
                Version::parse_tag(ok).map(|v| v.original().to_string()),
                Ok(ok.into())
            );
        }
        for bad in [
            "v1.0",
            "v1",
            "v1.2.beta",
            "v1.2-5",
            "v1.2-beta.5",
            "\nv1.2",
            "v1.2.3.4",
            "vv1.2.3",
        ] {
            assert!(Version::parse_tag(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn precedence_follows_semver_and_ignores_metadata() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            let (a, b) = (
                Version::parse_lenient(pair[0]),
                Version::parse_lenient(pair[1]),
            );
            let (Ok(a), Ok(b)) = (a, b) else {
                panic!("parse {pair:?}")
            };
            assert_eq!(a.precedence_cmp(&b), Ordering::Less, "{pair:?}");
            assert_eq!(b.precedence_cmp(&a), Ordering::Greater, "{pair:?}");
        }
        let (Ok(a), Ok(b)) = (
            Version::parse_lenient("v1.0.0+a"),
            Version::parse_lenient("1.0+b"),
        ) else {
            panic!("parse")
        };
        assert_eq!(a.precedence_cmp(&b), Ordering::Equal);
    }
}
