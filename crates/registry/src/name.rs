//! Image names: parsing and normalising an image reference the way Flux does (go-containerregistry's
//! `name.ParseReference`, plus Flux's refusal of URL schemes and tags in `spec.image`), so the
//! canonical name (`nginx` → `index.docker.io/library/nginx`) and the registry host are the same
//! strings Flux reports.

use std::fmt;

/// The registry an image without a registry host belongs to.
pub const DEFAULT_REGISTRY: &str = "index.docker.io";
/// `docker.io` is an alias of the default registry.
const DEFAULT_REGISTRY_ALIAS: &str = "docker.io";
/// Single-element Docker Hub repositories live under this namespace.
const DEFAULT_NAMESPACE: &str = "library";
/// The tag an image reference without tag or digest stands for.
pub const DEFAULT_TAG: &str = "latest";

const REPOSITORY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";
const TAG_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Why an image name or reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name carries a URL scheme (`https://ghcr.io/x`).
    #[error("image '{image}' should not include URL scheme; remove '{scheme}://'")]
    Scheme { image: String, scheme: String },
    /// An image repository name (not a reference) carries a tag or digest.
    #[error("image '{image}' should not include a tag; remove ':{tag}'")]
    Tag { image: String, tag: String },
    /// The repository path is empty, too long, or has characters outside `[a-z0-9_-./]`.
    #[error("image '{image}': invalid repository '{repository}': {why}")]
    Repository {
        image: String,
        repository: String,
        why: String,
    },
    /// The tag is empty, too long, or has characters outside `[A-Za-z0-9_-.]`.
    #[error("image '{image}': invalid tag '{tag}': {why}")]
    InvalidTag {
        image: String,
        tag: String,
        why: String,
    },
    /// The digest is not `<algorithm>:<hex>`.
    #[error("image '{image}': invalid digest '{digest}'")]
    Digest { image: String, digest: String },
    /// The registry part is not a valid URI authority.
    #[error("image '{image}': registry '{registry}' is not a valid host[:port]")]
    Registry { image: String, registry: String },
}

/// An image repository: registry host and repository path, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageName {
    registry: String,
    repository: String,
}

impl ImageName {
    /// Parses an image repository name as Flux's ImageRepository `spec.image`: no scheme, no
    /// tag, no digest. `nginx` is `index.docker.io/library/nginx`.
    pub fn parse(image: &str) -> Result<Self, NameError> {
        refuse_scheme(image)?;
        let reference = ImageRef::parse(image)?;
        // Flux strips the registry and refuses any ':' left over (a tag, or a digest's).
        let after_registry = image
            .strip_prefix(reference.name.registry())
            .unwrap_or(image);
        if let Some((_, tag)) = after_registry.split_once(':') {
            let tag = tag.split(':').next().unwrap_or(tag);
            return Err(NameError::Tag {
                image: image.to_owned(),
                tag: tag.to_owned(),
            });
        }
        Ok(reference.name)
    }

    /// Builds a name from its parts, normalising `docker.io` and Docker Hub's `library/`.
    fn from_parts(image: &str, registry: &str, repository: &str) -> Result<Self, NameError> {
        check_chars(repository, REPOSITORY_CHARS, 255).map_err(|why| NameError::Repository {
            image: image.to_owned(),
            repository: repository.to_owned(),
            why,
        })?;
        check_registry(registry).map_err(|()| NameError::Registry {
            image: image.to_owned(),
            registry: registry.to_owned(),
        })?;
        let registry = match registry {
            "" | DEFAULT_REGISTRY_ALIAS => DEFAULT_REGISTRY,
            other => other,
        };
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("{DEFAULT_NAMESPACE}/{repository}")
        } else {
            repository.to_owned()
        };
        Ok(Self {
            registry: registry.to_owned(),
            repository,
        })
    }

    /// The registry host, with port if any: `index.docker.io`, `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry: `library/nginx`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `<registry>/<repository>`, Flux's `status.canonicalImageName`.
    pub fn canonical(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Whether go-containerregistry would talk plain HTTP to this registry without `insecure`:
    /// `localhost:<port>`, `*.localhost`, loopback addresses and RFC 1918 addresses.
    pub fn is_local(&self) -> bool {
        let host = self.host();
        self.registry.starts_with("localhost:")
            || host.ends_with(".localhost")
            || host == "127.0.0.1"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_private())
    }

    /// The registry host without its port.
    pub fn host(&self) -> &str {
        let registry = self.registry.as_str();
        if let Some(rest) = registry.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        if registry == "::1" {
            return registry;
        }
        registry.rsplit_once(':').map_or(registry, |(host, _)| host)
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// An image reference: a name with a tag, a digest, or both (`nginx:1.27@sha256:...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The repository.
    pub name: ImageName,
    /// The tag, if the reference has one (`latest` is not implied here).
    pub tag: Option<String>,
    /// The digest, if the reference has one.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `[registry/]repository[:tag][@digest]` like go-containerregistry: a first path
    /// element is a registry when it contains `.` or `:` or is `localhost`.
    pub fn parse(reference: &str) -> Result<Self, NameError> {
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest).map_err(|()| NameError::Digest {
                    image: reference.to_owned(),
                    digest: digest.to_owned(),
                })?;
                (rest, Some(digest.to_owned()))
            }
            None => (reference, None),
        };
        let (base, tag) = match rest.rsplit_once(':') {
            Some((base, tag)) if !tag.contains('/') => {
                check_chars(tag, TAG_CHARS, 128).map_err(|why| NameError::InvalidTag {
                    image: reference.to_owned(),
                    tag: tag.to_owned(),
                    why,
                })?;
                (base, Some(tag.to_owned()))
            }
            _ => (rest, None),
        };
        let (registry, repository) = match base.split_once('/') {
            Some((first, repo)) if first == "localhost" || first.contains(['.', ':']) => {
                (first, repo)
            }
            _ => ("", base),
        };
        let name = ImageName::from_parts(reference, registry, repository)?;
        Ok(Self { name, tag, digest })
    }

    /// The tag, or `latest` when the reference has neither tag nor digest.
    pub fn tag_or_default(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn refuse_scheme(image: &str) -> Result<(), NameError> {
    match image.split_once("://") {
        Some((scheme, _)) => Err(NameError::Scheme {
            image: image.to_owned(),
            scheme: scheme.to_owned(),
        }),
        None => Ok(()),
    }
}

fn check_chars(element: &str, allowed: &str, max: usize) -> Result<(), String> {
    let count = element.chars().count();
    if count == 0 || count > max {
        return Err(format!("must be between 1 and {max} characters long"));
    }
    if let Some(bad) = element.chars().find(|c| !allowed.contains(*c)) {
        return Err(format!("character '{bad}' is not one of `{allowed}`"));
    }
    Ok(())
}

/// A registry must be a URI authority: host (name, IPv4 or bracketed IPv6) and optional port.
/// A scheme the `url` crate does not know keeps the host as written (no case folding).
fn check_registry(registry: &str) -> Result<(), ()> {
    if registry.is_empty() {
        return Ok(());
    }
    let parsed = url::Url::parse(&format!("oci://{registry}/")).map_err(|_| ())?;
    let host = parsed.host_str().unwrap_or_default();
    let authority = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let no_userinfo = parsed.username().is_empty() && parsed.password().is_none();
    if no_userinfo && authority == registry {
        Ok(())
    } else {
        Err(())
    }
}

fn check_digest(digest: &str) -> Result<(), ()> {
    let (algorithm, hex) = digest.split_once(':').ok_or(())?;
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
    let hex_ok = hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    if algorithm_ok && hex_ok {
        Ok(())
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(image: &str) -> String {
        ImageName::parse(image)
            .map(|n| n.canonical())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn docker_hub_names_get_the_default_registry_and_library() {
        assert_eq!(canonical("nginx"), "index.docker.io/library/nginx");
        assert_eq!(
            canonical("docker.io/nginx"),
            "index.docker.io/library/nginx"
        );
        assert_eq!(
            canonical("index.docker.io/library/nginx"),
            "index.docker.io/library/nginx"
        );
        assert_eq!(canonical("fluxcd/flux"), "index.docker.io/fluxcd/flux");
    }

    #[test]
    fn registry_hosts_ports_and_localhost() {
        let name = ImageName::parse("ghcr.io/fluxcd/source-controller").expect("valid");
        assert_eq!(name.registry(), "ghcr.io");
        assert_eq!(name.repository(), "fluxcd/source-controller");
        let local = ImageName::parse("localhost:5000/x").expect("valid");
        assert_eq!(
            (local.registry(), local.repository()),
            ("localhost:5000", "x")
        );
        assert!(local.is_local());
        assert_eq!(local.host(), "localhost");
        let bare_localhost = ImageName::parse("localhost/team/app").expect("valid");
        assert_eq!(bare_localhost.registry(), "localhost");
        assert_eq!(canonical("127.0.0.1:5000/a/b/c"), "127.0.0.1:5000/a/b/c");
        assert!(
            ImageName::parse("10.1.2.3:5000/x")
                .expect("valid")
                .is_local()
        );
        assert!(!ImageName::parse("ghcr.io/x").expect("valid").is_local());
        // A first element without '.' or ':' is a path element, not a registry.
        assert_eq!(canonical("team/app"), "index.docker.io/team/app");
    }

    #[test]
    fn flux_refuses_schemes_tags_and_digests_in_image_names() {
        assert_eq!(
            canonical("https://ghcr.io/x"),
            "error: image 'https://ghcr.io/x' should not include URL scheme; remove 'https://'"
        );
        assert_eq!(
            canonical("nginx:1.27"),
            "error: image 'nginx:1.27' should not include a tag; remove ':1.27'"
        );
        assert_eq!(
            canonical("localhost:5000/x:v1"),
            "error: image 'localhost:5000/x:v1' should not include a tag; remove ':v1'"
        );
        let digest = format!("nginx@sha256:{}", "a".repeat(64));
        assert!(matches!(
            ImageName::parse(&digest),
            Err(NameError::Tag { .. })
        ));
    }

    #[test]
    fn invalid_repositories_are_refused() {
        assert!(matches!(
            ImageName::parse("Nginx"),
            Err(NameError::Repository { .. })
        ));
        assert!(matches!(
            ImageName::parse("ghcr.io/"),
            Err(NameError::Repository { .. })
        ));
        assert!(matches!(
            ImageName::parse("bad host:x/y"),
            Err(NameError::Repository { .. } | NameError::Registry { .. })
        ));
    }

    #[test]
    fn references_with_tags_and_digests() {
        let digest = format!("sha256:{}", "0".repeat(64));
        let reference =
            ImageRef::parse(&format!("localhost:5000/app:v1.2@{digest}")).expect("valid");
        assert_eq!(reference.name.canonical(), "localhost:5000/app");
        assert_eq!(reference.tag.as_deref(), Some("v1.2"));
        assert_eq!(reference.digest.as_deref(), Some(digest.as_str()));
        let bare = ImageRef::parse("nginx").expect("valid");
        assert_eq!(bare.tag_or_default(), Some("latest"));
        assert_eq!(bare.to_string(), "index.docker.io/library/nginx");
        assert!(matches!(
            ImageRef::parse("nginx:"),
            Err(NameError::InvalidTag { .. })
        ));
        assert!(matches!(
            ImageRef::parse("nginx@sha256:xyz"),
            Err(NameError::Digest { .. })
        ));
    }
}
