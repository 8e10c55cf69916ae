//! The ImagePolicy decision of Flux's image-reflector-controller (v2.9): `spec.policy` (semver
//! range, alphabetical or numerical order) applied to the tags of a repository after the
//! optional `spec.filterTags`, yielding the latest tag.
//!
//! Faithful to Flux, including where it is surprising: semver tags must be full `X.Y.Z`
//! versions (an optional leading `v` aside); the numerical policy fails when any considered tag
//! is not a number (use `filterTags` to keep only numeric ones); an order is accepted in any
//! case. Where Flux leaves a choice to Go's map order (two tags extracting to the same value,
//! or equal values), the result here is deterministic: see [`Policy::select`].

use std::cmp::Ordering;
use std::fmt;

use indexmap::IndexMap;

use crate::filter::TagFilter;
use crate::gofloat::parse_go_float;
use tether_semver::Version;
use tether_semver::{ConstraintError, Constraints};

/// `spec.policy` and `spec.filterTags` of an ImagePolicy, field for field. When several
/// policies are set, semver wins over alphabetical over numerical, as in Flux.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySpec {
    /// `spec.policy.semver`.
    pub semver: Option<SemverSpec>,
    /// `spec.policy.alphabetical`.
    pub alphabetical: Option<OrderSpec>,
    /// `spec.policy.numerical`.
    pub numerical: Option<OrderSpec>,
    /// `spec.filterTags`.
    pub filter_tags: Option<FilterTagsSpec>,
}

/// `spec.policy.semver`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SemverSpec {
    /// `range`: a Masterminds semver v3 constraint.
    pub range: String,
}

/// `spec.policy.alphabetical` or `spec.policy.numerical`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderSpec {
    /// `order`: `asc` (the default when empty) or `desc`, in any case.
    pub order: String,
}

/// `spec.filterTags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterTagsSpec {
    /// `pattern`: a regular expression; empty matches every tag.
    pub pattern: String,
    /// `extract`: a template such as `$ts`; empty compares the tag itself.
    pub extract: String,
}

/// Sort direction of the alphabetical and numerical policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The greatest value is the latest.
    Asc,
    /// The smallest value is the latest.
    Desc,
}

/// The ordering rule of a policy.
#[derive(Debug, Clone)]
pub enum Rule {
    /// The highest version within the range.
    Semver(Constraints),
    /// Byte-wise string order.
    Alphabetical(Order),
    /// Order of the values read as Go float64s.
    Numerical(Order),
}

/// Why no tag could be chosen, or why the spec is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// None of semver, alphabetical, numerical is set.
    #[error("invalid policy: spec.policy must set one of semver, alphabetical, numerical")]
    NoPolicyChoice,
    /// `spec.policy.semver.range` does not parse.
    #[error("invalid policy: spec.policy.semver.range '{range}': {source}")]
    InvalidSemverRange {
        /// The range as written.
        range: String,
        /// Why it does not parse.
        source: ConstraintError,
    },
    /// `spec.policy.<field>.order` is not asc or desc.
    #[error("invalid policy: spec.policy.{field}.order '{order}' must be one of: asc, desc")]
    InvalidOrder {
        /// `alphabetical` or `numerical`.
        field: &'static str,
        /// The order as written.
        order: String,
    },
    /// `spec.filterTags.pattern` is not a valid regular expression.
    #[error("invalid policy: spec.filterTags.pattern '{pattern}': {reason}")]
    InvalidFilterPattern {
        /// The pattern as written.
        pattern: String,
        /// The regex compiler's explanation.
        reason: String,
    },
    /// No tag satisfies the policy.
    #[error("no tag matches policy {policy} among {total} tags{}", filtered_note(*.filtered, .filter.as_deref()))]
    NoMatch {
        /// The policy, as `semver range '>=2.0.0'`.
        policy: String,
        /// How many tags were given.
        total: usize,
        /// How many passed `filterTags` (None without a filter).
        filtered: Option<usize>,
        /// The filter pattern, when one was set.
        filter: Option<String>,
    },
    /// The numerical policy met a value that is not a number.
    #[error("numerical policy: failed to parse invalid numeric value '{value}' (tag '{tag}')")]
    NotANumber {
        /// The compared value.
        value: String,
        /// The tag it came from.
        tag: String,
    },
}

fn filtered_note(filtered: Option<usize>, filter: Option<&str>) -> String {
    match (filtered, filter) {
        (Some(kept), Some(pattern)) => {
            format!(" ({kept} passed spec.filterTags.pattern '{pattern}')")
        }
        _ => String::new(),
    }
}

impl PolicyError {
    /// Whether retrying without a spec change is pointless.
    pub fn is_terminal(&self) -> bool {
        !matches!(
            self,
            PolicyError::NoMatch { .. } | PolicyError::NotANumber { .. }
        )
    }
}

/// The latest tag and the value it was compared by (the `extract` result, or the tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The original tag.
    pub tag: String,
    /// The value the policy compared.
    pub compared_value: String,
}

/// A validated policy, ready to select from tag lists.
#[derive(Debug, Clone)]
pub struct Policy {
    rule: Rule,
    filter: Option<TagFilter>,
}

impl Policy {
    /// Validates the spec: the range, the order, and the filter pattern.
    pub fn new(spec: &PolicySpec) -> Result<Policy, PolicyError> {
        let rule = if let Some(semver) = &spec.semver {
            let constraints = Constraints::parse(&semver.range).map_err(|source| {
                PolicyError::InvalidSemverRange {
                    range: semver.range.clone(),
                    source,
                }
            })?;
            Rule::Semver(constraints)
        } else if let Some(alphabetical) = &spec.alphabetical {
            Rule::Alphabetical(parse_order("alphabetical", &alphabetical.order)?)
        } else if let Some(numerical) = &spec.numerical {
            Rule::Numerical(parse_order("numerical", &numerical.order)?)
        } else {
            return Err(PolicyError::NoPolicyChoice);
        };
        let filter = match &spec.filter_tags {
            Some(f) => Some(TagFilter::new(&f.pattern, &f.extract).map_err(|e| {
                PolicyError::InvalidFilterPattern {
                    pattern: f.pattern.clone(),
                    reason: e.to_string(),
                }
            })?),
            None => None,
        };
        Ok(Policy { rule, filter })
    }

    /// The ordering rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// Chooses the latest tag.
    ///
    /// Tags are filtered (and their values extracted) first; when several tags extract the same
    /// value, the last of them is the one selected, as Flux's filter map keeps it. Ties between
    /// distinct values of equal rank go to the first for semver (Flux keeps the first of equal
    /// versions, e.g. `1.0.0` before `v1.0.0` in the registry's sorted tag list) and to the last
    /// for numerical (Flux replaces on equality).
    pub fn select<I, S>(&self, tags: I) -> Result<Selection, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut total = 0;
        let mut candidates: IndexMap<String, String> = IndexMap::new();
        for tag in tags {
            total += 1;
            let tag = tag.as_ref();
            let value = match &self.filter {
                Some(filter) => filter.apply(tag),
                None => Some(tag.to_string()),
            };
            if let Some(value) = value {
                candidates.insert(value, tag.to_string());
            }
        }
        let chosen = match &self.rule {
            Rule::Semver(constraints) => highest_version(constraints, &candidates),
            Rule::Alphabetical(order) => extreme_string(*order, &candidates),
            Rule::Numerical(order) => extreme_number(*order, &candidates)?,
        };
        match chosen {
            Some((value, tag)) => Ok(Selection {
                tag: tag.clone(),
                compared_value: value.clone(),
            }),
            None => Err(PolicyError::NoMatch {
                policy: self.to_string(),
                total,
                filtered: self.filter.as_ref().map(|_| candidates.len()),
                filter: self.filter.as_ref().map(|f| f.pattern().to_string()),
            }),
        }
    }
}

/// `semver range '>=1.0'`, `alphabetical order asc`, `numerical order desc`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = |o: &Order| match o {
            Order::Asc => "asc",
            Order::Desc => "desc",
        };
        match &self.rule {
            Rule::Semver(c) => write!(f, "semver range '{c}'"),
            Rule::Alphabetical(o) => write!(f, "alphabetical order {}", order(o)),
            Rule::Numerical(o) => write!(f, "numerical order {}", order(o)),
        }
    }
}

fn parse_order(field: &'static str, order: &str) -> Result<Order, PolicyError> {
    match order.to_uppercase().as_str() {
        "" | "ASC" => Ok(Order::Asc),
        "DESC" => Ok(Order::Desc),
        _ => Err(PolicyError::InvalidOrder {
            field,
            order: order.to_string(),
        }),
    }
}

type Candidate<'a> = (&'a String, &'a String);

fn highest_version<'a>(
    constraints: &Constraints,
    candidates: &'a IndexMap<String, String>,
) -> Option<Candidate<'a>> {
    let mut best: Option<(Version, Candidate<'a>)> = None;
    for candidate in candidates {
        let Ok(version) = Version::parse_tag(candidate.0) else {
            continue;
        };
        if !constraints.matches(&version) {
            continue;
        }
        let better = best
            .as_ref()
            .is_none_or(|(b, _)| version.precedence_cmp(b) == Ordering::Greater);
        if better {
            best = Some((version, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

fn extreme_string(order: Order, candidates: &IndexMap<String, String>) -> Option<Candidate<'_>> {
    let values = candidates.iter();
    match order {
        Order::Asc => values.max_by(|a, b| a.0.cmp(b.0)),
        Order::Desc => values.min_by(|a, b| a.0.cmp(b.0)),
    }
}

/// Walks the values in order like Flux: a value replaces the current one unless it is strictly
/// worse, so with NaN (which compares false) the later value wins. Any non-number is an error.
fn extreme_number(
    order: Order,
    candidates: &IndexMap<String, String>,
) -> Result<Option<Candidate<'_>>, PolicyError> {
    let mut best: Option<(f64, Candidate<'_>)> = None;
    for candidate in candidates {
        let number = parse_go_float(candidate.0).ok_or_else(|| PolicyError::NotANumber {
            value: candidate.0.clone(),
            tag: candidate.1.clone(),
        })?;
        let worse = best.as_ref().is_some_and(|(b, _)| match order {
            Order::Asc => number < *b,
            Order::Desc => number > *b,
        });
        if !worse {
            best = Some((number, candidate));
        }
    }
    Ok(best.map(|(_, candidate)| candidate))
}
