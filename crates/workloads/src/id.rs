//! Workload identity in fluxd's format, `<namespace>:<kind>/<name>` with a lower-case kind.

use std::fmt;
use std::str::FromStr;

/// The namespace fluxd gave a namespaced object whose manifest names none (kubeyaml matched
/// such manifests against `default` too).
pub const DEFAULT_NAMESPACE: &str = "default";

/// The namespace placeholder fluxd used in ids of cluster-scoped objects.
pub const CLUSTER_SCOPE: &str = "<cluster>";

/// A resource id as fluxd printed and parsed it: `default:deployment/web`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId {
    namespace: String,
    kind: String,
    name: String,
}

/// A string that is not `<namespace>:<kind>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid workload id {input:?}: expected <namespace>:<kind>/<name>")]
pub struct InvalidId {
    /// The text that failed to parse.
    pub input: String,
}

impl ResourceId {
    /// An id from its parts; the kind is lower-cased as fluxd's `MakeID` did.
    pub fn new(namespace: impl Into<String>, kind: &str, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            kind: kind.to_ascii_lowercase(),
            name: name.into(),
        }
    }

    /// The namespace (`<cluster>` for cluster-scoped objects).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The lower-case kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The object name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `ns:kind/name`, or `kind/name` in `namespace` (fluxctl's `--workload` with `-n`).
    pub fn parse_with_namespace(namespace: &str, s: &str) -> Result<Self, InvalidId> {
        if s.contains(':') {
            return s.parse();
        }
        let (kind, name) = split_kind_name(s).ok_or_else(|| invalid(s))?;
        if !valid_namespace(namespace) {
            return Err(invalid(s));
        }
        Ok(Self::new(namespace, kind, name))
    }
}

fn invalid(s: &str) -> InvalidId {
    InvalidId {
        input: s.to_string(),
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn valid_namespace(s: &str) -> bool {
    s == CLUSTER_SCOPE || is_word(s)
}

/// `kind/name`, with fluxd's character classes (names may hold `.` and `:`).
fn split_kind_name(s: &str) -> Option<(&str, &str)> {
    let (kind, name) = s.split_once('/')?;
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    (is_word(kind) && name_ok).then_some((kind, name))
}

impl FromStr for ResourceId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (namespace, rest) = s.split_once(':').ok_or_else(|| invalid(s))?;
        let (kind, name) = split_kind_name(rest).ok_or_else(|| invalid(s))?;
        if !valid_namespace(namespace) {
            return Err(invalid(s));
        }
        Ok(Self::new(namespace, kind, name))
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.namespace, self.kind, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_with_lower_case_kind() {
        let id: ResourceId = "default:Deployment/web".parse().expect("valid");
        assert_eq!(id.to_string(), "default:deployment/web");
        assert_eq!(id.kind(), "deployment");
        let cluster: ResourceId = "<cluster>:namespace/team-a".parse().expect("valid");
        assert_eq!(cluster.namespace(), CLUSTER_SCOPE);
        let dotted: ResourceId = "kube-system:daemonset/node.exporter:v1"
            .parse()
            .expect("valid");
        assert_eq!(dotted.name(), "node.exporter:v1");
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "web",
            "default:web",
            "default:/web",
            ":deployment/web",
            "a b:d/x",
        ] {
            assert!(bad.parse::<ResourceId>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn unqualified_ids_take_the_given_namespace() {
        let id = ResourceId::parse_with_namespace("team", "deployment/web").expect("valid");
        assert_eq!(id.to_string(), "team:deployment/web");
        let qualified =
            ResourceId::parse_with_namespace("team", "prod:deployment/web").expect("valid");
        assert_eq!(qualified.namespace(), "prod");
    }
}
