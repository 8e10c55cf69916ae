//! Container image references the way fluxd compared them: by canonical repository name
//! (Docker Hub's `nginx` is `index.docker.io/library/nginx`) and tag.
//!
//! Hand-written because the comparison must follow fluxd's rules exactly (its Docker Hub
//! host is `index.docker.io`, `docker.io` is an alias), which general reference parsers do not
//! promise; the parsing is a few string splits.

use std::fmt;

const DOCKER_HUB: &str = "index.docker.io";
const OLD_DOCKER_HUB: &str = "docker.io";

/// An image reference split into registry domain, repository path, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// A string that is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {reason}")]
pub struct InvalidImageRef {
    /// The text that failed to parse.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn is_domain(s: &str) -> bool {
    let host = match s.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => host,
        Some(_) => return false,
        None => s,
    };
    if host == "localhost" {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() > 1
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl ImageRef {
    /// Parses `[domain/]path[:tag][@digest]`.
    pub fn parse(s: &str) -> Result<Self, InvalidImageRef> {
        let bad = |reason| InvalidImageRef {
            input: s.to_string(),
            reason,
        };
        if s.is_empty() {
            return Err(bad("blank image name"));
        }
        if s.starts_with('/') || s.ends_with('/') || s.chars().any(char::is_whitespace) {
            return Err(bad("malformed image name"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) if !r.is_empty() && !d.is_empty() => (r, Some(d.to_string())),
            Some(_) => return Err(bad("malformed digest")),
            None => (s, None),
        };
        let (domain, remainder) = match rest.split_once('/') {
            Some((first, more)) if is_domain(first) || more.contains('/') => (first, more),
            _ => ("", rest),
        };
        let (path, tag) = match remainder.split_once(':') {
            Some((p, t)) if !p.is_empty() && !t.is_empty() && !t.contains(':') => {
                (p, Some(t.to_string()))
            }
            Some(_) => return Err(bad("expected <image>:<tag> or just <image>")),
            None => (remainder, None),
        };
        Ok(Self {
            domain: domain.to_string(),
            path: path.to_string(),
            tag,
            digest,
        })
    }

    /// The repository as written, without tag or digest: `ghcr.io/org/app`, `nginx`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The repository with Docker Hub defaults filled in: `index.docker.io/library/nginx`.
    pub fn canonical_name(&self) -> String {
        match self.domain.as_str() {
            "" | OLD_DOCKER_HUB | DOCKER_HUB => {
                if self.path.contains('/') {
                    format!("{DOCKER_HUB}/{}", self.path)
                } else {
                    format!("{DOCKER_HUB}/library/{}", self.path)
                }
            }
            domain => format!("{domain}/{}", self.path),
        }
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:...`), if any.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The same repository (as written) with `tag` and no digest: a digest pinned next to a
    /// new tag would keep the old image.
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_names_are_canonicalised() {
        for (input, canonical) in [
            ("nginx", "index.docker.io/library/nginx"),
            ("nginx:1.25", "index.docker.io/library/nginx"),
            ("docker.io/library/nginx:1", "index.docker.io/library/nginx"),
            ("weaveworks/scope:1.0", "index.docker.io/weaveworks/scope"),
            ("localhost/app:dev", "localhost/app"),
            ("localhost:5000/app:dev", "localhost:5000/app"),
            ("ghcr.io/org/team/app:v1", "ghcr.io/org/team/app"),
            ("quay.io/app@sha256:abc", "quay.io/app"),
        ] {
            let image = ImageRef::parse(input).expect("valid");
            assert_eq!(image.canonical_name(), canonical, "{input}");
            assert_eq!(image.to_string(), input);
        }
    }

    #[test]
    fn tags_and_digests_are_split_off() {
        let image = ImageRef::parse("registry.example.com:5000/app:v2@sha256:abc").expect("valid");
        assert_eq!(image.name(), "registry.example.com:5000/app");
        assert_eq!(image.tag(), Some("v2"));
        assert_eq!(image.digest(), Some("sha256:abc"));
        assert_eq!(
            image.with_tag("v3").to_string(),
            "registry.example.com:5000/app:v3"
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in ["", "/app", "app/", "app:", "a:b:c", "app@", "my app:1"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
