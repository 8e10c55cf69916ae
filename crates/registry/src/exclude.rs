//! Tag exclusion: ImageRepository `spec.exclusionList`, regexes whose matching tags are dropped
//! from a scan's result (default `^.*\.sig$`, cosign signature tags).

use regex::Regex;

/// The exclusion list Flux applies when `spec.exclusionList` is empty.
pub const DEFAULT_EXCLUSION_LIST: &[&str] = &[r"^.*\.sig$"];

/// An exclusion pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("failed to compile regex {pattern}: {source}")]
pub struct ExclusionError {
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

/// Compiled exclusion patterns.
#[derive(Debug, Clone)]
pub struct ExclusionList {
    patterns: Vec<Regex>,
}

impl Default for ExclusionList {
    fn default() -> Self {
        Self {
            patterns: DEFAULT_EXCLUSION_LIST
                .iter()
                .filter_map(|p| Regex::new(p).ok())
                .collect(),
        }
    }
}

impl ExclusionList {
    /// Compiles `patterns`; an empty list means Flux's default.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, ExclusionError> {
        if patterns.is_empty() {
            return Ok(Self::default());
        }
        let patterns = patterns
            .iter()
            .map(|p| {
                Regex::new(p.as_ref()).map_err(|source| ExclusionError {
                    pattern: p.as_ref().to_owned(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether any pattern matches `tag`.
    pub fn excludes(&self, tag: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(tag))
    }

    /// `tags` without the excluded ones, order kept.
    pub fn filter(&self, tags: impl IntoIterator<Item = String>) -> Vec<String> {
        tags.into_iter().filter(|t| !self.excludes(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn default_drops_signature_tags() {
        let filtered = ExclusionList::new::<&str>(&[])
            .expect("default compiles")
            .filter(tags(&["v1", "sha256-abc.sig", "v2", "sig"]));
        assert_eq!(filtered, tags(&["v1", "v2", "sig"]));
    }

    #[test]
    fn custom_patterns_replace_the_default() {
        let list = ExclusionList::new(&["^dev-", "-rc\\d+$"]).expect("valid");
        let filtered = list.filter(tags(&["dev-1", "1.0-rc1", "1.0", "x.sig"]));
        assert_eq!(filtered, tags(&["1.0", "x.sig"]));
        let error = ExclusionList::new(&["("]).expect_err("unbalanced");
        assert!(
            error.to_string().starts_with("failed to compile regex (:"),
            "{error}"
        );
    }
}
