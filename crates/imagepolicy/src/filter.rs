//! `spec.filterTags` of a Flux ImagePolicy: a regular expression that keeps only the tags it
//! matches (anywhere in the tag, unanchored), and an `extract` template that turns each kept tag
//! into the value the policy compares (`$ts`, `${ts}`, `$1`), with Go's `regexp.Expand` rules.
//!
//! Go's RE2 syntax is what the `regex` crate accepts. Its Unicode classes (`\w`, `\d`) are
//! wider than Go's ASCII ones, which cannot matter for image tags: a tag is ASCII by the OCI
//! grammar. The template expansion is written here because `regex`'s own `Captures::expand`
//! reads `$01` as group 1, where Go reads a name `01` (which expands to nothing).

use regex::{Captures, Regex};

/// A compiled tag filter.
#[derive(Debug, Clone)]
pub struct TagFilter {
    regex: Regex,
    extract: String,
}

impl TagFilter {
    /// Compiles the pattern; `extract` empty means the tag itself is compared.
    pub fn new(pattern: &str, extract: &str) -> Result<TagFilter, regex::Error> {
        Ok(TagFilter {
            regex: Regex::new(pattern)?,
            extract: extract.to_string(),
        })
    }

    /// The value to compare for `tag`, or `None` when the pattern does not match it.
    pub fn apply(&self, tag: &str) -> Option<String> {
        let caps = self.regex.captures(tag)?;
        if self.extract.is_empty() {
            return Some(tag.to_string());
        }
        Some(expand_go_template(&self.regex, &caps, &self.extract))
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// The extract template as written.
    pub fn extract(&self) -> &str {
        &self.extract
    }
}

/// Expands `template` as Go's `Regexp.ExpandString`: `$$` is a `$`; `$name` takes the longest
/// run of letters, digits and `_`; `${name}` is braced; an all-digit name without a leading zero
/// is a group number; a group that does not exist or did not participate expands to nothing;
/// a `$` not followed by a valid reference is kept as text.
pub fn expand_go_template(regex: &Regex, caps: &Captures<'_>, template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(index) => caps.get(index),
            None => regex
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|index| caps.get(index)),
        };
        if let Some(group) = group {
            out.push_str(group.as_str());
        }
    }
    out.push_str(rest);
    out
}

/// Reads `name` or `{name}` at the start of `text`; returns the name and what follows.
fn reference(text: &str) -> Option<(&str, &str)> {
    let (braced, body) = match text.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let (name, after) = body.split_at(end);
    if !braced {
        return Some((name, after));
    }
    after.strip_prefix('}').map(|after| (name, after))
}

/// Go reads a name as a group number when it is all ASCII digits, has no leading zero and is
/// at most nine digits long (Go stops at 10^8 before reading another digit).
fn group_number(name: &str) -> Option<usize> {
    let digits_only = name.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (name.len() > 1 && name.starts_with('0')) || name.len() > 9 {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(pattern: &str, subject: &str, template: &str) -> String {
        let regex = Regex::new(pattern).expect("test pattern compiles");
        let caps = regex.captures(subject).expect("test pattern matches");
        expand_go_template(&regex, &caps, template)
    }

    #[test]
    fn expands_like_go() {
        let pattern = r"^(?P<branch>[a-z]+)-(?P<sha>[a-f0-9]+)-(?P<ts>[0-9]+)(-(x))?";
        let subject = "main-abc1234-1700000000";
        for (template, expected) in [
            ("$ts", "1700000000"),
            ("${ts}", "1700000000"),
            ("$1", "main"),
            ("${1}", "main"),
            ("$3", "1700000000"),
            ("${branch}.${ts}", "main.1700000000"),
            ("$branch.$ts", "main.1700000000"),
            ("$tsx", ""),
            ("$1x", ""),
            ("$01", ""),
            ("$4$5", ""),
            ("$99", ""),
            ("$$ts", "$ts"),
            ("a$", "a$"),
            ("$-", "$-"),
            ("${ts", "${ts"),
            ("${}", "${}"),
            ("plain", "plain"),
            ("$0", "main-abc1234-1700000000"),
        ] {
            assert_eq!(expand(pattern, subject, template), expected, "{template}");
        }
    }

    #[test]
    fn filter_is_unanchored_and_keeps_tag_without_extract() {
        let filter = TagFilter::new("^ver", "").expect("compiles");
        assert_eq!(filter.apply("ver1").as_deref(), Some("ver1"));
        assert_eq!(filter.apply("rel1"), None);
        let filter = TagFilter::new(r"ver(\d+)", "$1").expect("compiles");
        assert_eq!(filter.apply("xver12y").as_deref(), Some("12"));
        let everything = TagFilter::new("", "").expect("compiles");
        assert_eq!(everything.apply("anything").as_deref(), Some("anything"));
    }
}
