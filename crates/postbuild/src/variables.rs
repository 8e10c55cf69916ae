//! The variables of a Kustomization's `spec.postBuild`, merged as kustomize-controller does:
//! `substituteFrom` sources in list order (a later source overwrites an earlier one's keys), then
//! the inline `substitute` map over all of them. Every value loses its `\n` characters, and every
//! name must match `^[_[:alpha:]][_[:alpha:][:digit:]]*$` (ASCII letters, digits, `_`).
//!
//! Fetching the sources is the caller's job: a missing source that is not `optional` is the
//! caller's error, and a missing optional one is simply left out of the list.
//!
//! Two differences from Flux, both on inputs Flux would also reject or never read: names are
//! checked here, when the variables are built, where Flux checks them for each object it
//! substitutes; and Secret bytes that are not UTF-8 are decoded lossily.

use std::collections::BTreeMap;
use std::fmt;

/// Flux's variable-name pattern, quoted in the error message.
pub const NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// The kind of a `substituteFrom` reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A ConfigMap: values from `.data`.
    ConfigMap,
    /// A Secret: values from `.data`, base64-decoded by the caller.
    Secret,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ConfigMap => "ConfigMap",
            Self::Secret => "Secret",
        })
    }
}

/// Where a variable came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `substituteFrom` ConfigMap or Secret, by name.
    Source {
        /// ConfigMap or Secret.
        kind: SourceKind,
        /// The object's name.
        name: String,
    },
    /// `spec.postBuild.substitute`.
    Inline,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Source { kind, name } => write!(f, "{kind}/{name}"),
            Self::Inline => f.write_str("spec.postBuild.substitute"),
        }
    }
}

/// A variable name that does not match [`NAME_PATTERN`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{name}' var name is invalid, must match '{NAME_PATTERN}' (in {origin})")]
pub struct InvalidName {
    /// The offending key.
    pub name: String,
    /// Where the key was defined.
    pub origin: Origin,
}

/// One fetched `substituteFrom` object: its kind, name and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableSource {
    kind: SourceKind,
    name: String,
    data: Vec<(String, String)>,
}

impl VariableSource {
    /// A ConfigMap's `.data`.
    pub fn config_map<K, V>(name: &str, data: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let data = data
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            kind: SourceKind::ConfigMap,
            name: name.to_owned(),
            data,
        }
    }

    /// A Secret's `.data`, already base64-decoded.
    pub fn secret<K, V>(name: &str, data: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: AsRef<[u8]>,
    {
        let data = data
            .into_iter()
            .map(|(k, v)| (k.into(), String::from_utf8_lossy(v.as_ref()).into_owned()))
            .collect();
        Self {
            kind: SourceKind::Secret,
            name: name.to_owned(),
            data,
        }
    }

    fn origin(&self) -> Origin {
        Origin::Source {
            kind: self.kind,
            name: self.name.clone(),
        }
    }
}

/// Validated variables, ready for substitution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl Variables {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges `sources` in order, then `inline` (`spec.postBuild.substitute`) over them.
    pub fn resolve<'a>(
        sources: &[VariableSource],
        inline: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, InvalidName> {
        let mut vars = Self::new();
        for source in sources {
            for (name, value) in &source.data {
                vars.insert(name, value, &source.origin())?;
            }
        }
        for (name, value) in inline {
            vars.insert(name, value, &Origin::Inline)?;
        }
        Ok(vars)
    }

    /// Sets one variable (overwriting), without its `\n` characters.
    pub fn insert(&mut self, name: &str, value: &str, origin: &Origin) -> Result<(), InvalidName> {
        if !is_valid_name(name) {
            return Err(InvalidName {
                name: name.to_owned(),
                origin: origin.clone(),
            });
        }
        self.values.insert(name.to_owned(), value.replace('\n', ""));
        Ok(())
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// How many variables are set.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no variable is set (then the `WithVariables` strategy skips substitution).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// `^[_[:alpha:]][_[:alpha:][:digit:]]*$` with RE2's ASCII classes.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases = [
            ("a", true),
            ("_", true),
            ("A_1", true),
            ("cluster_env", true),
            ("1a", false),
            ("", false),
            ("a-b", false),
            ("a.b", false),
            ("ñ", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_valid_name(name), want, "{name:?}");
        }
    }

    #[test]
    fn later_sources_win_and_inline_wins_over_all() {
        let sources = [
            VariableSource::config_map("first", [("a", "cm1"), ("b", "cm1"), ("c", "cm1")]),
            VariableSource::secret("second", [("b", b"secret".as_slice()), ("c", b"s")]),
        ];
        let vars = Variables::resolve(&sources, [("c", "inline")]).expect("valid");
        assert_eq!(vars.get("a"), Some("cm1"));
        assert_eq!(vars.get("b"), Some("secret"));
        assert_eq!(vars.get("c"), Some("inline"));
        assert_eq!(vars.len(), 3);
    }

    #[test]
    fn newlines_are_removed_from_values() {
        let sources = [VariableSource::config_map("cm", [("a", "line1\nline2\n")])];
        let vars = Variables::resolve(&sources, [("b", "x\r\ny")]).expect("valid");
        assert_eq!(vars.get("a"), Some("line1line2"));
        assert_eq!(vars.get("b"), Some("x\ry"));
    }

    #[test]
    fn invalid_name_names_the_key_and_source() {
        let sources = [VariableSource::secret("creds", [("bad-key", "v")])];
        let err = Variables::resolve(&sources, []).expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "'bad-key' var name is invalid, must match \
             '^[_[:alpha:]][_[:alpha:][:digit:]]*$' (in Secret/creds)"
        );
    }
}
