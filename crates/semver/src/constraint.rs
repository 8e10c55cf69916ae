//! Version ranges in the grammar of `github.com/Masterminds/semver/v3` `NewConstraint` (the
//! `spec.policy.semver.range` of a Flux ImagePolicy and the `semver:` tag pattern of Flux v1):
//! comparison operators, `||` alternatives, comma- or space-separated AND, `~`, `^`, wildcards
//! `x`/`X`/`*`, hyphen ranges `1.2 - 1.4.5`, partial versions, and the prerelease rule (a
//! prerelease version satisfies an AND group only when a bound in that group has a prerelease).
//!
//! The parser is written here because Cargo's range grammar (the `semver` crate) is a different
//! language: it has no `||`, no hyphen ranges, no `!=`, reads `1.2` as `^1.2`, and admits
//! prereleases differently. The grammar below is Masterminds' token grammar expressed as RE2
//! regular expressions, which the `regex` crate evaluates with the same leftmost-first
//! semantics as Go, so edge cases (which strings are rejected, how `1.x-beta` is read) agree.
//!
//! Two dialects: [`Dialect::Current`] is Masterminds v3.5 (Flux v2's ImagePolicy);
//! [`Dialect::Fluxd`] is v3.1.1 as vendored by Flux v1's fluxd, which judged prereleases per
//! term instead of per AND group, needed no separator between terms, and had a looser `^0.0.z`.

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::version::{Version, VersionError, compare_prerelease};

/// Why a range is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// An `||` alternative is not a sequence of `<operator><version>` terms.
    #[error("improper constraint: {segment:?}")]
    Improper {
        /// The offending alternative, after hyphen ranges were rewritten.
        segment: String,
    },
    /// A term has the shape of a constraint but its version does not parse (e.g. `1x`).
    #[error("improper constraint: {term:?}: {source}")]
    InvalidVersion {
        /// The offending term.
        term: String,
        /// Why its version does not parse.
        source: VersionError,
    },
}

/// Go's `\s` (ASCII only; the `regex` crate's `\s` would also accept Unicode spaces).
const WS: &str = r"[\t\n\f\r ]";
/// The operators, in Masterminds' alternation order (it decides which one a prefix binds to).
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
const NUMBER: &str = r"[0-9|xX*]+";
const IDENTS: &str = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*";

/// A version inside a constraint; with `named`, its parts are captured as `major`, `minor`,
/// `patch` (each with its leading dot) and `pre` (with its leading hyphen).
fn version_pattern(named: bool) -> String {
    let group = |name: &str| match named {
        true => format!("(?P<{name}>"),
        false => "(?:".to_string(),
    };
    format!(
        r"v?{major}{NUMBER})(?:{minor}\.{NUMBER}))?(?:{patch}\.{NUMBER}))?(?:{pre}-{IDENTS}))?(?:\+{IDENTS})?",
        major = group("major"),
        minor = group("minor"),
        patch = group("patch"),
        pre = group("pre"),
    )
}

fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this module; the unit tests compile every one of them.
    Regex::new(pattern).expect("constant constraint grammar compiles")
}

static HYPHEN_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let v = version_pattern(false);
    compile(&format!(r"{WS}*(?P<from>{v}){WS}+-{WS}+(?P<to>{v}){WS}*"))
});

/// Which Masterminds release's semantics to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Masterminds semver v3.5, as pinned by Flux v2.9's image-reflector-controller.
    #[default]
    Current,
    /// Masterminds semver v3.1.1, as vendored by Flux v1 (fluxd) for `semver:` tag patterns.
    Fluxd,
}

static VALID_GROUP_FLUXD: LazyLock<Regex> = LazyLock::new(|| {
    let v = version_pattern(false);
    compile(&format!(r"^(?:{WS}*(?:{OPS}){WS}*{v}{WS}*,?)+$"))
});

static VALID_GROUP: LazyLock<Regex> = LazyLock::new(|| {
    let v = version_pattern(false);
    compile(&format!(
        r"^(?:{WS}*(?:{OPS}){WS}*{v}{WS}*)(?:(?:{WS}+|,{WS}*)(?:{OPS}){WS}*{v}{WS}*)*$"
    ))
});

static TERM: LazyLock<Regex> = LazyLock::new(|| {
    let v = version_pattern(false);
    compile(&format!(r"(?:{OPS}){WS}*{v}"))
});

static ONE_TERM: LazyLock<Regex> = LazyLock::new(|| {
    let v = version_pattern(true);
    compile(&format!(r"^{WS}*(?P<op>{OPS}){WS}*(?P<version>{v}){WS}*$"))
});

/// A parsed range: alternatives (`||`) of AND groups.
#[derive(Debug, Clone)]
pub struct Constraints {
    source: String,
    dialect: Dialect,
    groups: Vec<AndGroup>,
}

#[derive(Debug, Clone)]
struct AndGroup {
    terms: Vec<Term>,
    /// A bound in this group names a prerelease, so prerelease versions are considered.
    admits_prereleases: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// No operator or `=`: equality, or a tilde range when the version has wildcards.
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    /// `~` or `~>`.
    Tilde,
    Caret,
}

/// One `<operator><version>` term.
#[derive(Debug, Clone)]
struct Term {
    op: Op,
    bound: Version,
    /// Some part is a wildcard or missing (`1.2`, `1.x`, `*`).
    dirty: bool,
    /// The minor part (and so the patch) is a wildcard or missing.
    minor_dirty: bool,
    /// The patch part is a wildcard or missing.
    patch_dirty: bool,
}

impl Constraints {
    /// Parses a range in the current dialect. An empty range is an error, as in Masterminds.
    pub fn parse(range: &str) -> Result<Constraints, ConstraintError> {
        Constraints::parse_dialect(range, Dialect::Current)
    }

    /// Parses a range with the given release's semantics.
    pub fn parse_dialect(range: &str, dialect: Dialect) -> Result<Constraints, ConstraintError> {
        if is_exact_pin(range) {
            // The usual pin of a chart dependency (`1.2.3`) is one equality term in either
            // dialect; compiling the grammar's expressions would cost more than rendering a
            // small chart (`helm template` runs once per process).
            let term = parse_exact(range)?;
            return Ok(Constraints {
                source: range.to_string(),
                dialect,
                groups: vec![AndGroup {
                    admits_prereleases: !term.bound.prerelease().is_empty(),
                    terms: vec![term],
                }],
            });
        }
        Constraints::parse_by_grammar(range, dialect)
    }

    fn parse_by_grammar(range: &str, dialect: Dialect) -> Result<Constraints, ConstraintError> {
        let replacement = match dialect {
            Dialect::Current => ">= $from, <= $to ",
            Dialect::Fluxd => ">= $from, <= $to",
        };
        let rewritten = HYPHEN_RANGE.replace_all(range, replacement);
        let groups = rewritten
            .split("||")
            .map(|segment| parse_group(segment, dialect))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Constraints {
            source: range.to_string(),
            dialect,
            groups,
        })
    }

    /// Whether the version satisfies some alternative.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups.iter().any(|group| {
            group.terms.iter().all(|term| {
                let prereleases_considered = match self.dialect {
                    Dialect::Current => group.admits_prereleases,
                    Dialect::Fluxd => term.fluxd_considers_prereleases(),
                };
                term.admits(version, prereleases_considered, self.dialect)
            })
        })
    }

    /// The range as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Constraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// `MAJOR.MINOR.PATCH` in ASCII digits and nothing else.
fn is_exact_pin(range: &str) -> bool {
    let mut parts = range.split('.');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

/// The equality term the grammar makes of an exact pin (see [`parse_term`]).
fn parse_exact(text: &str) -> Result<Term, ConstraintError> {
    let bound = Version::parse_lenient(text).map_err(|source| ConstraintError::InvalidVersion {
        term: text.to_string(),
        source,
    })?;
    Ok(Term {
        op: Op::TildeOrEqual,
        bound,
        dirty: false,
        minor_dirty: false,
        patch_dirty: false,
    })
}

fn parse_group(segment: &str, dialect: Dialect) -> Result<AndGroup, ConstraintError> {
    let valid = match dialect {
        Dialect::Current => &VALID_GROUP,
        Dialect::Fluxd => &VALID_GROUP_FLUXD,
    };
    if !valid.is_match(segment) {
        return Err(ConstraintError::Improper {
            segment: segment.to_string(),
        });
    }
    let terms = TERM
        .find_iter(segment)
        .map(|term| parse_term(term.as_str(), dialect))
        .collect::<Result<Vec<_>, _>>()?;
    let admits_prereleases = terms.iter().any(|t| !t.bound.prerelease().is_empty());
    Ok(AndGroup {
        terms,
        admits_prereleases,
    })
}

fn parse_term(text: &str, dialect: Dialect) -> Result<Term, ConstraintError> {
    let improper = || ConstraintError::Improper {
        segment: text.to_string(),
    };
    let caps = ONE_TERM.captures(text).ok_or_else(improper)?;
    let part = |name: &str| caps.name(name).map_or("", |m| m.as_str());
    let op = match part("op") {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        _ => return Err(improper()),
    };
    let (major, minor, patch, pre) = (part("major"), part("minor"), part("patch"), part("pre"));
    let is_wild = |p: &str| matches!(p.trim_start_matches('.'), "" | "x" | "X" | "*");
    // Wildcards and missing parts become zeros; the dirty flags remember them. The build
    // metadata of a partial bound is dropped, as in Masterminds.
    let (text_version, minor_dirty, patch_dirty, dirty) = if is_wild(major) {
        // v3.1.1 dropped the prerelease of a wildcard major (`x-beta` is `0.0.0`).
        let pre = if dialect == Dialect::Fluxd { "" } else { pre };
        (format!("0.0.0{pre}"), false, false, true)
    } else if is_wild(minor) {
        (format!("{major}.0.0{pre}"), true, false, true)
    } else if is_wild(patch) {
        (format!("{major}{minor}.0{pre}"), false, true, true)
    } else {
        (part("version").to_string(), false, false, false)
    };
    let bound = Version::parse_lenient(&text_version).map_err(|source| {
        ConstraintError::InvalidVersion {
            term: text.to_string(),
            source,
        }
    })?;
    Ok(Term {
        op,
        bound,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Term {
    /// v3.1.1's rule: a prerelease version passes a term only if the term's bound has a
    /// prerelease, except that a non-wildcard `!=` does not look at prereleases at all.
    fn fluxd_considers_prereleases(&self) -> bool {
        !self.bound.prerelease().is_empty() || (self.op == Op::NotEqual && !self.dirty)
    }

    fn admits(&self, v: &Version, prereleases_considered: bool, dialect: Dialect) -> bool {
        if !v.prerelease().is_empty() && !prereleases_considered {
            return false;
        }
        let cmp = v.precedence_cmp(&self.bound);
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v, cmp),
            Op::TildeOrEqual => cmp == Ordering::Equal,
            Op::NotEqual => self.not_equal(v, cmp),
            Op::Greater => self.greater(v, cmp),
            Op::Less => cmp == Ordering::Less,
            Op::GreaterEqual => cmp != Ordering::Less,
            Op::LessEqual => self.less_equal(v, cmp),
            Op::Tilde => self.tilde(v, cmp),
            Op::Caret => self.caret(v, cmp, dialect),
        }
    }

    fn not_equal(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.bound;
        if self.dirty {
            if c.major() != v.major() {
                return true;
            }
            if c.minor() != v.minor() && !self.minor_dirty {
                return true;
            }
            if self.minor_dirty {
                return false;
            }
            if c.patch() != v.patch() && !self.patch_dirty {
                return true;
            }
            if self.patch_dirty {
                return (!v.prerelease().is_empty() || !c.prerelease().is_empty())
                    && compare_prerelease(v.prerelease(), c.prerelease()) != Ordering::Equal;
            }
        }
        cmp != Ordering::Equal
    }

    /// `>1` means `>=2.0.0` and `>1.1` means `>=1.2.0`: a partial bound excludes its whole span.
    fn greater(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.bound;
        if !self.dirty {
            return cmp == Ordering::Greater;
        }
        match v.major().cmp(&c.major()) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal if self.minor_dirty => false,
            Ordering::Equal if self.patch_dirty => v.minor() > c.minor(),
            Ordering::Equal => cmp == Ordering::Greater,
        }
    }

    /// `<=1.1` admits all of `1.1.x`.
    fn less_equal(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.bound;
        if !self.dirty {
            return cmp != Ordering::Greater;
        }
        !(v.major() > c.major()
            || (v.major() == c.major() && v.minor() > c.minor() && !self.minor_dirty))
    }

    /// `~1.2.3` is `>=1.2.3 <1.3.0`; `~1` is `>=1.0.0 <2.0.0`; `~0.0.0` and `~*` admit all.
    fn tilde(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.bound;
        if cmp == Ordering::Less {
            return false;
        }
        let zero_bound = c.major() == 0 && c.minor() == 0 && c.patch() == 0;
        if zero_bound && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major() == c.major() && (v.minor() == c.minor() || self.minor_dirty)
    }

    /// `^1.2.3` is `>=1.2.3 <2.0.0`; `^0.2.3` is `>=0.2.3 <0.3.0`; `^0.0.3` is `=0.0.3`.
    fn caret(&self, v: &Version, cmp: Ordering, dialect: Dialect) -> bool {
        let c = &self.bound;
        if cmp == Ordering::Less {
            return false;
        }
        if c.major() > 0 || self.minor_dirty {
            return v.major() == c.major();
        }
        if v.major() > 0 {
            return false;
        }
        if c.minor() > 0 || self.patch_dirty {
            return v.minor() == c.minor();
        }
        // v3.1.1 lacked this check, so its `^0.0.3` also admitted `0.1.3`.
        if v.minor() > 0 && dialect == Dialect::Current {
            return false;
        }
        v.patch() == c.patch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pins_parse_as_the_grammar_parses_them() {
        let pins = [
            "0.1.0",
            "1.2.3",
            "01.2.3",
            "1.02.3",
            "10.20.30",
            "0.0.0",
            "99999999999999999999.0.0",
        ];
        let versions = [
            "0.1.0",
            "1.2.3",
            "1.2.3-rc.1",
            "1.2.3+build",
            "v1.2.3",
            "1.2",
            "1.2.4",
            "01.2.3",
            "10.20.30",
            "0.0.0",
            "0.1.0-alpha",
        ];
        for dialect in [Dialect::Current, Dialect::Fluxd] {
            for pin in pins {
                assert!(is_exact_pin(pin), "{pin}");
                let fast = Constraints::parse_dialect(pin, dialect);
                let slow = Constraints::parse_by_grammar(pin, dialect);
                match (fast, slow) {
                    (Ok(fast), Ok(slow)) => {
                        for version in versions {
                            let Ok(v) = Version::parse_lenient(version) else {
                                continue;
                            };
                            assert_eq!(fast.matches(&v), slow.matches(&v), "{pin} vs {version}");
                        }
                    }
                    (fast, slow) => assert_eq!(
                        fast.map(|c| c.to_string()).map_err(|e| e.to_string()),
                        slow.map(|c| c.to_string()).map_err(|e| e.to_string()),
                        "{pin}"
                    ),
                }
            }
        }
        for not_a_pin in [
            "1.2", "1.2.3.4", "v1.2.3", "=1.2.3", " 1.2.3", "1.2.x", "1..3", "",
        ] {
            assert!(!is_exact_pin(not_a_pin), "{not_a_pin}");
        }
    }

    #[test]
    fn grammar_regexes_compile() {
        for regex in [
            &HYPHEN_RANGE,
            &VALID_GROUP,
            &VALID_GROUP_FLUXD,
            &TERM,
            &ONE_TERM,
        ] {
            assert!(!regex.as_str().is_empty());
        }
    }

    #[test]
    fn hyphen_ranges_are_rewritten_in_place() {
        for (input, expected) in [
            ("2 - 3", ">= 2, <= 3 "),
            ("2 - 3, 2 - 3", ">= 2, <= 3 ,>= 2, <= 3 "),
            ("2 - 3, 4.0.0 - 5.1", ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "),
            ("2 - 3 4.0.0 - 5.1", ">= 2, <= 3 >= 4.0.0, <= 5.1 "),
            ("1.0.0 - 2.0.0 <=2.0.0", ">= 1.0.0, <= 2.0.0 <=2.0.0"),
            ("1.1-3", "1.1-3"),
        ] {
            assert_eq!(
                HYPHEN_RANGE.replace_all(input, ">= $from, <= $to "),
                expected
            );
        }
    }

    #[test]
    fn terms_bind_the_longest_operator_and_zero_fill_partial_versions() {
        for (input, op, bound) in [
            (">= 1.2", Op::GreaterEqual, "1.2.0"),
            ("1.0", Op::TildeOrEqual, "1.0.0"),
            ("<= 1.2", Op::LessEqual, "1.2.0"),
            ("=< 1.2", Op::LessEqual, "1.2.0"),
            ("=> 1.2", Op::GreaterEqual, "1.2.0"),
            ("v1.2", Op::TildeOrEqual, "1.2.0"),
            ("=1.5", Op::TildeOrEqual, "1.5.0"),
            ("> 1.3", Op::Greater, "1.3.0"),
            ("< 1.4.1", Op::Less, "1.4.1"),
            ("~> 1.4", Op::Tilde, "1.4.0"),
            ("^1.x-beta", Op::Caret, "1.0.0-beta"),
            ("!=x.2.3", Op::NotEqual, "0.0.0"),
        ] {
            let term = parse_term(input, Dialect::Current).expect("term parses");
            assert_eq!(
                (term.op, term.bound.to_string()),
                (op, bound.to_string()),
                "{input}"
            );
        }
    }
}
