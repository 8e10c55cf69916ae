//! Flux v1 tag patterns: the value of a `fluxcd.io/tag.<container>` workload annotation, and
//! how fluxd filtered and ordered a repository's images with it.
//!
//! - `glob:<p>` (or a bare `<p>`): `github.com/ryanuber/go-glob` semantics — only `*` is special
//!   (any run of characters, including none); `?` and `[` are literal; the whole tag must match.
//!   `*` admits every tag; `latest` admits only the tag `latest`.
//! - `semver:<range>`: tags that parse leniently (`v1`, `1.2`) and satisfy the range, read with
//!   the semantics of the Masterminds release fluxd vendored ([`Dialect::Fluxd`]).
//! - `regexp:<re>` or `regex:<re>`: tags the expression matches anywhere.
//!
//! A tag named `latest` (in any case) is never a candidate unless the pattern is exactly
//! `latest` / `glob:latest`. Semver patterns order by version (equal versions: the greater tag
//! string is newer, so `1.10.0` beats `1.10`); glob and regexp patterns order by image creation
//! time, newest first (ties and missing times: the smaller tag string first; a missing time is
//! older than any time).
//!
//! fluxd let an unparseable range or expression through and then matched every tag with it;
//! here [`TagPattern::parse`] reports it, as fluxd's policy update (`fluxctl policy`) did.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use regex::Regex;

use tether_semver::Version;
use tether_semver::{ConstraintError, Constraints, Dialect};

const GLOB_PREFIX: &str = "glob:";
const SEMVER_PREFIX: &str = "semver:";
const REGEXP_PREFIX: &str = "regexp:";
const REGEX_ALT_PREFIX: &str = "regex:";

/// Why an annotation value is not a usable pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The `semver:` range does not parse.
    #[error("invalid tag pattern {pattern:?}: {source}")]
    InvalidSemver {
        /// The annotation value.
        pattern: String,
        /// Why the range does not parse.
        source: ConstraintError,
    },
    /// The `regexp:`/`regex:` expression does not compile.
    #[error("invalid tag pattern {pattern:?}: {reason}")]
    InvalidRegexp {
        /// The annotation value.
        pattern: String,
        /// The regex compiler's explanation.
        reason: String,
    },
}

/// An image tag with the creation time of the image it points at, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    /// The tag.
    pub tag: String,
    /// When the image was created (from its config blob), if known.
    pub created: Option<DateTime<Utc>>,
}

impl TagInfo {
    /// A tag with an optional creation time.
    pub fn new(tag: impl Into<String>, created: Option<DateTime<Utc>>) -> TagInfo {
        TagInfo {
            tag: tag.into(),
            created,
        }
    }
}

/// A parsed `fluxcd.io/tag.<container>` value.
#[derive(Debug, Clone)]
pub enum TagPattern {
    /// `glob:<pattern>` or a bare value.
    Glob(String),
    /// `semver:<range>`.
    Semver(Constraints),
    /// `regexp:<re>` or `regex:<re>`.
    Regexp(Regex),
}

impl TagPattern {
    /// Parses an annotation value; a value without a known prefix is a glob.
    pub fn parse(value: &str) -> Result<TagPattern, PatternError> {
        if let Some(range) = value.strip_prefix(SEMVER_PREFIX) {
            return Constraints::parse_dialect(range, Dialect::Fluxd)
                .map(TagPattern::Semver)
                .map_err(|source| PatternError::InvalidSemver {
                    pattern: value.to_string(),
                    source,
                });
        }
        let expression = value
            .strip_prefix(REGEXP_PREFIX)
            .or_else(|| value.strip_prefix(REGEX_ALT_PREFIX));
        if let Some(expression) = expression {
            return Regex::new(expression).map(TagPattern::Regexp).map_err(|e| {
                PatternError::InvalidRegexp {
                    pattern: value.to_string(),
                    reason: e.to_string(),
                }
            });
        }
        let glob = value.strip_prefix(GLOB_PREFIX).unwrap_or(value);
        Ok(TagPattern::Glob(glob.to_string()))
    }

    /// The pattern of a container without annotation: every tag (`glob:*`).
    pub fn all() -> TagPattern {
        TagPattern::Glob("*".to_string())
    }

    /// Whether the pattern itself matches the tag (fluxd's `Pattern.Matches`).
    pub fn matches(&self, tag: &str) -> bool {
        match self {
            TagPattern::Glob(glob) => glob_matches(glob, tag),
            TagPattern::Semver(constraints) => {
                Version::parse_lenient(tag).is_ok_and(|v| constraints.matches(&v))
            }
            TagPattern::Regexp(regex) => regex.is_match(tag),
        }
    }

    /// Whether the tag is a candidate for automation: it matches, and it is not `latest`
    /// unless the pattern asks for `latest` itself.
    pub fn admits(&self, tag: &str) -> bool {
        let latest_wanted = matches!(self, TagPattern::Glob(g) if g == "latest");
        (latest_wanted || !tag.eq_ignore_ascii_case("latest")) && self.matches(tag)
    }

    /// Whether the order uses creation times (glob and regexp). fluxd skipped an update when
    /// the current or the newest image had no creation time under such a pattern.
    pub fn requires_timestamp(&self) -> bool {
        !matches!(self, TagPattern::Semver(_))
    }

    /// Orders two images newest first, as fluxd's `NewerBySemver` / `NewerByCreated`.
    pub fn cmp_newest_first(&self, a: &TagInfo, b: &TagInfo) -> Ordering {
        match self {
            TagPattern::Semver(_) => semver_newest_first(&a.tag, &b.tag),
            _ => b.created.cmp(&a.created).then_with(|| a.tag.cmp(&b.tag)),
        }
    }

    /// The admitted images, newest first.
    pub fn sorted_newest_first<'a>(&self, candidates: &'a [TagInfo]) -> Vec<&'a TagInfo> {
        let mut admitted: Vec<&TagInfo> =
            candidates.iter().filter(|c| self.admits(&c.tag)).collect();
        admitted.sort_by(|a, b| self.cmp_newest_first(a, b));
        admitted
    }

    /// The newest admitted image, if any.
    pub fn newest<'a>(&self, candidates: &'a [TagInfo]) -> Option<&'a TagInfo> {
        candidates
            .iter()
            .filter(|c| self.admits(&c.tag))
            .min_by(|a, b| self.cmp_newest_first(a, b))
    }
}

/// The annotation form with its prefix (`glob:*`, `semver:~1`, `regexp:^v`), as fluxd writes.
impl fmt::Display for TagPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagPattern::Glob(glob) => write!(f, "{GLOB_PREFIX}{glob}"),
            TagPattern::Semver(constraints) => write!(f, "{SEMVER_PREFIX}{constraints}"),
            TagPattern::Regexp(regex) => write!(f, "{REGEXP_PREFIX}{}", regex.as_str()),
        }
    }
}

/// Parseable versions first, higher first, equal versions by greater tag; then unparseable
/// tags by smaller tag.
fn semver_newest_first(a: &str, b: &str) -> Ordering {
    match (Version::parse_lenient(a), Version::parse_lenient(b)) {
        (Ok(va), Ok(vb)) => vb.precedence_cmp(&va).then_with(|| b.cmp(a)),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// go-glob's match: split on `*`; the first piece must be a prefix, the middle pieces must
/// appear in order (leftmost first), the last must be a suffix of what remains.
pub fn glob_matches(pattern: &str, subject: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == subject;
    }
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, middle, last) = match pieces.as_slice() {
        [first, middle @ .., last] => (*first, middle, *last),
        _ => return pattern == subject,
    };
    let Some(mut rest) = subject.strip_prefix(first) else {
        return false;
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn glob_follows_go_glob() {
        let subject = "this is a ϗѾ test";
        for pattern in [
            "*test",
            "this*",
            "this*test",
            "*is *",
            "*is*a*",
            "**test**",
            "**is**a***test*",
            "* *",
            "*",
            "**********",
            "*Ѿ*",
            "*is a ϗѾ *",
        ] {
            assert!(glob_matches(pattern, subject), "{pattern}");
        }
        for pattern in [
            "test*",
            "*is",
            "*no*",
            " ",
            "* ",
            " *",
            "*ʤ*",
            "this*this is a test",
            "this?is*",
        ] {
            assert!(!glob_matches(pattern, "this is a test"), "{pattern}");
        }
        assert!(glob_matches("", ""));
        assert!(!glob_matches("", "x"));
        assert!(glob_matches("***", ""));
        for pattern in ["x*", "*x", "x*x"] {
            assert!(!glob_matches(pattern, ""), "{pattern}");
        }
        assert!(glob_matches("v1.?", "v1.?"));
        assert!(!glob_matches("v1.?", "v1.2"));
        assert!(!glob_matches("a*a", "a"));
    }
}
