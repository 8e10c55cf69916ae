//! Setter definitions from image policies: each policy with a latest image defines four setters,
//! `<ns>:<name>` (the whole reference), and `:tag`, `:name`, `:digest` for its parts, as
//! image-automation-controller's `UpdateWithSetters` defines them.

use std::collections::BTreeMap;

use crate::SettersError;

/// An image reference as an ImagePolicy reports it in `status.latestRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageRef {
    /// Repository, e.g. `ghcr.io/stefanprodan/podinfo`.
    pub name: String,
    /// Tag, e.g. `5.0.3`.
    pub tag: String,
    /// Digest, e.g. `sha256:...`; empty when the policy does not resolve digests.
    pub digest: String,
}

impl std::fmt::Display for ImageRef {
    /// `name[:tag][@digest]`, like the reflector API's `ImageRef.String()`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if !self.tag.is_empty() {
            write!(f, ":{}", self.tag)?;
        }
        if !self.digest.is_empty() {
            write!(f, "@{}", self.digest)?;
        }
        Ok(())
    }
}

/// An image policy and the latest image it selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    /// The policy's namespace.
    pub namespace: String,
    /// The policy's name.
    pub name: String,
    /// `status.latestRef`; `None` when the policy has not selected an image yet (skipped).
    pub latest: Option<ImageRef>,
}

/// Setter name → value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Setters {
    values: BTreeMap<String, String>,
}

impl Setters {
    /// The setters for `policies`; fails on a latest image that is not a valid reference.
    pub fn from_policies(policies: &[PolicyRef]) -> Result<Self, SettersError> {
        let mut values = BTreeMap::new();
        for policy in policies {
            let Some(latest) = &policy.latest else {
                continue;
            };
            let image = latest.to_string();
            validate_reference(latest).map_err(|reason| SettersError::InvalidImageRef {
                policy: format!("{}/{}", policy.namespace, policy.name),
                image: image.clone(),
                reason,
            })?;
            let base = format!("{}:{}", policy.namespace, policy.name);
            values.insert(format!("{base}:tag"), latest.tag.clone());
            values.insert(format!("{base}:name"), latest.name.clone());
            values.insert(format!("{base}:digest"), latest.digest.clone());
            values.insert(base, image);
        }
        Ok(Self { values })
    }

    /// The value of the setter `name`, if a policy defines it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// go-containerregistry's weak validation, in the parts that can fail: a repository of
/// lowercase path components (with an optional `host[:port]`), a tag of at most 128 word
/// characters, dots and dashes, and an `algorithm:hex` digest.
fn validate_reference(image: &ImageRef) -> Result<(), String> {
    if image.name.is_empty() {
        return Err("empty repository name".into());
    }
    let mut parts = image.name.split('/').peekable();
    let first = parts.next().unwrap_or_default();
    let has_registry =
        parts.peek().is_some() && (first.contains(['.', ':']) || first == "localhost");
    if has_registry && first.chars().any(|c| c.is_whitespace() || c == '@') {
        return Err(format!("invalid registry {first:?}"));
    }
    let repo_parts = image.name.split('/').skip(usize::from(has_registry));
    for part in repo_parts {
        let valid = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !valid {
            return Err(format!(
                "repository can only contain the characters `abcdefghijklmnopqrstuvwxyz0123456789_-./`: {}",
                image.name
            ));
        }
    }
    let tag_ok = image.tag.len() <= 128
        && image
            .tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !tag_ok {
        return Err(format!(
            "tag can only contain the characters `abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.`: {}",
            image.tag
        ));
    }
    if !image.digest.is_empty() {
        let valid = image.digest.split_once(':').is_some_and(|(algo, hex)| {
            !algo.is_empty() && !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        if !valid {
            return Err(format!("invalid digest {:?}", image.digest));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, tag: &str, digest: &str) -> PolicyRef {
        PolicyRef {
            namespace: "flux-system".into(),
            name: "podinfo".into(),
            latest: Some(ImageRef {
                name: name.into(),
                tag: tag.into(),
                digest: digest.into(),
            }),
        }
    }

    #[test]
    fn four_setters_per_policy() {
        let s = Setters::from_policies(&[policy("ghcr.io/stefanprodan/podinfo", "5.0.3", "")])
            .expect("valid");
        assert_eq!(
            s.get("flux-system:podinfo"),
            Some("ghcr.io/stefanprodan/podinfo:5.0.3")
        );
        assert_eq!(s.get("flux-system:podinfo:tag"), Some("5.0.3"));
        assert_eq!(
            s.get("flux-system:podinfo:name"),
            Some("ghcr.io/stefanprodan/podinfo")
        );
        assert_eq!(s.get("flux-system:podinfo:digest"), Some(""));
        assert_eq!(s.get("flux-system:other"), None);
    }

    #[test]
    fn digest_joins_the_reference() {
        let s = Setters::from_policies(&[policy("localhost:5000/app", "1.0", "sha256:abcd")])
            .expect("valid");
        assert_eq!(
            s.get("flux-system:podinfo"),
            Some("localhost:5000/app:1.0@sha256:abcd")
        );
    }

    #[test]
    fn policies_without_latest_are_skipped() {
        let p = PolicyRef {
            namespace: "a".into(),
            name: "b".into(),
            latest: None,
        };
        assert_eq!(
            Setters::from_policies(&[p]).expect("valid").get("a:b"),
            None
        );
    }

    #[test]
    fn invalid_references_fail() {
        for (name, tag, digest) in [
            ("Upper/Case", "1", ""),
            ("app", "bad tag", ""),
            ("app", "1", "sha256:xyz"),
            ("", "1", ""),
        ] {
            let err = Setters::from_policies(&[policy(name, tag, digest)]).expect_err("invalid");
            assert!(err.to_string().contains("flux-system/podinfo"), "{err}");
        }
    }
}
