//! Image metadata for Flux v1 decisions: the tags of a container's image repository, with the
//! creation time of each image that a tag pattern could choose (glob and regexp patterns order
//! by creation time, as fluxd did; semver patterns need no time, so none is fetched).
//!
//! An [`ImageScanner`] is meant to live as long as its process: it owns the shared registry
//! client, the credentials lookup and a cache of creation times by `(image, tag)`, so a
//! periodic automation run asks the registry for each image's time once. Tag lists are asked
//! for on every run; a [`Catalog`] keeps them for the length of one operation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use tether_imagepolicy::{TagInfo, TagPattern};
use tether_registry::{
    Credentials, DockerConfig, ExclusionList, ImageName, RegistryClient, ScanError, ScanOptions,
};

/// How many image configs are read at once when creation times are needed.
const CONCURRENT_CREATED_READS: usize = 4;

/// Where the credentials for an image repository come from.
pub trait CredentialsLookup: Send + Sync {
    /// The credentials to present for `image` ([`Credentials::Anonymous`] when none).
    fn credentials_for(&self, image: &ImageName) -> Credentials;
}

/// No credentials for any registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

impl CredentialsLookup for Anonymous {
    fn credentials_for(&self, _image: &ImageName) -> Credentials {
        Credentials::Anonymous
    }
}

/// The entries of one docker config secret (`.dockerconfigjson`).
impl CredentialsLookup for DockerConfig {
    fn credentials_for(&self, image: &ImageName) -> Credentials {
        DockerConfig::credentials_for(self, image)
    }
}

/// Several docker configs (a workload's `imagePullSecrets`, a service account's): the first
/// that has credentials for the image wins.
impl CredentialsLookup for Vec<DockerConfig> {
    fn credentials_for(&self, image: &ImageName) -> Credentials {
        self.iter()
            .map(|config| config.credentials_for(image))
            .find(|credentials| *credentials != Credentials::Anonymous)
            .unwrap_or_default()
    }
}

/// Which image repositories are scanned at all (fluxd's `--registry-exclude-image` and
/// `--registry-include-image`), matched against the canonical name
/// (`index.docker.io/library/nginx`). An image that is not scanned has no tags, as an image
/// fluxd never fetched had no metadata: nothing is automated to it and nothing released to it.
#[derive(Debug, Clone, Default)]
pub struct ImageFilter {
    /// Repositories never scanned, whatever `include` says.
    pub exclude: Vec<String>,
    /// When not empty, only these repositories are scanned.
    pub include: Vec<String>,
}

impl ImageFilter {
    /// fluxd's rule: excluded by any exclude pattern; otherwise included when there are no
    /// include patterns or one matches.
    pub fn includes(&self, canonical: &str) -> bool {
        if self.exclude.iter().any(|p| simple_glob(p, canonical)) {
            return false;
        }
        self.include.is_empty() || self.include.iter().any(|p| simple_glob(p, canonical))
    }
}

/// The glob fluxd matches image names with (`github.com/ryanuber/go-glob`): `*` stands for
/// any text, including `/`; every other character is literal. Written here because no crate
/// has these semantics (shell-style globs stop `*` at `/` or give `?` and `[` meaning).
fn simple_glob(pattern: &str, subject: &str) -> bool {
    if pattern.is_empty() {
        return subject.is_empty();
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let [literal] = parts.as_slice() else {
        let (first, rest) = (parts[0], &parts[1..]);
        let Some(mut remaining) = subject.strip_prefix(first) else {
            return false;
        };
        let (last, middle) = rest.split_last().unwrap_or((&"", &[]));
        for part in middle {
            match remaining.find(part) {
                Some(at) => remaining = &remaining[at + part.len()..],
                None => return false,
            }
        }
        return remaining.ends_with(last);
    };
    *literal == subject
}

/// Creation times by `(canonical image, tag)`.
type CreatedCache = HashMap<(String, String), Option<DateTime<Utc>>>;

/// Lists tags and reads creation times through one registry client.
#[derive(Clone)]
pub struct ImageScanner {
    client: RegistryClient,
    credentials: Arc<dyn CredentialsLookup>,
    options: ScanOptions,
    exclusions: ExclusionList,
    filter: ImageFilter,
    insecure_hosts: Vec<String>,
    created: Arc<Mutex<CreatedCache>>,
}

impl std::fmt::Debug for ImageScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageScanner")
            .field("client", &self.client)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ImageScanner {
    /// A scanner presenting what `credentials` gives for each image, with default scan
    /// options and Flux's default tag exclusions (`*.sig`).
    pub fn new(client: RegistryClient, credentials: impl CredentialsLookup + 'static) -> Self {
        Self {
            client,
            credentials: Arc::new(credentials),
            options: ScanOptions::default(),
            exclusions: ExclusionList::default(),
            filter: ImageFilter::default(),
            insecure_hosts: Vec::new(),
            created: Arc::default(),
        }
    }

    /// Scan settings (timeout, `insecure`, TLS, page limits); their `credentials` field is
    /// replaced by the lookup's answer for each image.
    pub fn with_options(mut self, options: ScanOptions) -> Self {
        self.options = options;
        self
    }

    /// Tags never considered, instead of Flux's default list (`*.sig`).
    pub fn with_exclusions(mut self, exclusions: ExclusionList) -> Self {
        self.exclusions = exclusions;
        self
    }

    /// Only the image repositories `filter` includes are scanned; the others have no tags.
    pub fn with_image_filter(mut self, filter: ImageFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Registry hosts (`host` or `host:port`) that may be reached over plain HTTP when HTTPS
    /// fails (fluxd's `--registry-insecure-host`).
    pub fn with_insecure_hosts(mut self, hosts: Vec<String>) -> Self {
        self.insecure_hosts = hosts;
        self
    }

    fn options_for(&self, image: &ImageName) -> ScanOptions {
        let insecure_host = self
            .insecure_hosts
            .iter()
            .any(|h| h == image.registry() || h == image.host());
        ScanOptions {
            credentials: self.credentials.credentials_for(image),
            insecure: self.options.insecure || insecure_host,
            ..self.options.clone()
        }
    }

    /// The tags of `image`, without excluded ones; none for a repository the image filter
    /// leaves out.
    pub async fn tags(&self, image: &ImageName) -> Result<Vec<String>, ScanError> {
        if !self.filter.includes(&image.canonical()) {
            tracing::debug!(image = %image.canonical(), "image excluded from scanning");
            return Ok(Vec::new());
        }
        let tags = self
            .client
            .list_tags(image, &self.options_for(image))
            .await?;
        Ok(self.exclusions.filter(tags))
    }

    /// The creation time of `image:tag`, from the cache or the image config.
    pub async fn created(
        &self,
        image: &ImageName,
        tag: &str,
    ) -> Result<Option<DateTime<Utc>>, ScanError> {
        let key = (image.canonical(), tag.to_owned());
        if let Some(known) = self.cached_created(&key) {
            return Ok(known);
        }
        let created = self
            .client
            .image_created(image, tag, &self.options_for(image))
            .await?;
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, created);
        Ok(created)
    }

    fn cached_created(&self, key: &(String, String)) -> Option<Option<DateTime<Utc>>> {
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied()
    }

    /// Every tag of `tags` as a [`TagInfo`]; when `pattern` orders by creation time, the tags
    /// it admits and `current` carry their creation time.
    pub async fn tag_infos(
        &self,
        image: &ImageName,
        tags: &[String],
        current: Option<&str>,
        pattern: &TagPattern,
    ) -> Result<Vec<TagInfo>, ScanError> {
        if !pattern.requires_timestamp() {
            return Ok(tags.iter().map(|t| TagInfo::new(t, None)).collect());
        }
        let mut infos = Vec::with_capacity(tags.len());
        for chunk in tags.chunks(CONCURRENT_CREATED_READS) {
            let mut reads = Vec::with_capacity(chunk.len());
            for tag in chunk {
                let wanted = pattern.admits(tag) || Some(tag.as_str()) == current;
                reads.push(self.tag_info(image, tag, wanted));
            }
            for info in futures::future::join_all(reads).await {
                infos.push(info?);
            }
        }
        Ok(infos)
    }

    /// `tag` with its creation time when `wanted`.
    async fn tag_info(
        &self,
        image: &ImageName,
        tag: &str,
        wanted: bool,
    ) -> Result<TagInfo, ScanError> {
        let created = if wanted {
            self.created(image, tag).await?
        } else {
            None
        };
        Ok(TagInfo::new(tag, created))
    }
}

/// The tag lists of the image repositories one operation looks at, each fetched once.
#[derive(Debug, Default)]
pub struct Catalog {
    tags: HashMap<ImageName, Arc<Vec<String>>>,
}

impl Catalog {
    /// The tags of `image`, fetched through `scanner` the first time.
    pub async fn tags(
        &mut self,
        scanner: &ImageScanner,
        image: &ImageName,
    ) -> Result<Arc<Vec<String>>, ScanError> {
        if let Some(tags) = self.tags.get(image) {
            return Ok(tags.clone());
        }
        let tags = Arc::new(scanner.tags(image).await?);
        self.tags.insert(image.clone(), tags.clone());
        Ok(tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker_config(registry: &str, user: &str) -> DockerConfig {
        let json =
            format!(r#"{{"auths": {{"{registry}": {{"username": "{user}", "password": "p"}}}}}}"#);
        DockerConfig::from_json(json.as_bytes()).expect("a valid docker config")
    }

    #[test]
    fn the_first_config_with_credentials_for_the_image_wins() {
        let configs = vec![
            docker_config("other.example", "a"),
            docker_config("registry.example", "b"),
            docker_config("registry.example", "c"),
        ];
        let image = ImageName::parse("registry.example/app").expect("valid");
        assert_eq!(
            configs.credentials_for(&image),
            Credentials::basic("b", "p")
        );
        let unknown = ImageName::parse("elsewhere.example/app").expect("valid");
        assert_eq!(configs.credentials_for(&unknown), Credentials::Anonymous);
        assert_eq!(Anonymous.credentials_for(&image), Credentials::Anonymous);
    }

    #[test]
    fn fluxd_globs_match_any_text_for_a_star_and_the_rest_literally() {
        for (pattern, subject, expected) in [
            ("k8s.gcr.io/*", "k8s.gcr.io/pause", true),
            ("k8s.gcr.io/*", "k8s.gcr.io/a/b", true),
            ("k8s.gcr.io/*", "gcr.io/k8s.gcr.io/x", false),
            ("*", "anything/at/all", true),
            ("*/library/*", "index.docker.io/library/nginx", true),
            ("*nginx", "index.docker.io/library/nginx", true),
            ("*nginx", "index.docker.io/library/nginx-extra", false),
            (
                "index.docker.io/*/nginx",
                "index.docker.io/library/nginx",
                true,
            ),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("", "", true),
            ("", "x", false),
            ("reg.io/a?p", "reg.io/app", false),
        ] {
            assert_eq!(
                simple_glob(pattern, subject),
                expected,
                "{pattern} ~ {subject}"
            );
        }
    }

    #[test]
    fn exclusions_win_over_inclusions() {
        let filter = ImageFilter {
            exclude: vec!["k8s.gcr.io/*".to_owned(), "*/private/*".to_owned()],
            include: vec!["registry.example/*".to_owned(), "k8s.gcr.io/*".to_owned()],
        };
        assert!(filter.includes("registry.example/team/app"));
        assert!(!filter.includes("registry.example/private/app"));
        assert!(!filter.includes("k8s.gcr.io/pause"));
        assert!(!filter.includes("index.docker.io/library/nginx"));
        let everything_but = ImageFilter {
            exclude: vec!["k8s.gcr.io/*".to_owned()],
            include: Vec::new(),
        };
        assert!(everything_but.includes("index.docker.io/library/nginx"));
        assert!(!everything_but.includes("k8s.gcr.io/pause"));
    }

    #[tokio::test]
    async fn an_excluded_image_has_no_tags_and_no_registry_is_asked() {
        // No registry listens on this address: asking it anything would fail.
        let scanner = ImageScanner::new(RegistryClient::default(), Anonymous).with_image_filter(
            ImageFilter {
                exclude: vec!["127.0.0.1:9/*".to_owned()],
                include: Vec::new(),
            },
        );
        let image = ImageName::parse("127.0.0.1:9/app").expect("valid");
        assert_eq!(
            scanner.tags(&image).await.expect("not asked"),
            Vec::<String>::new()
        );
    }

    #[tokio::test]
    async fn semver_patterns_need_no_creation_time() {
        // No registry listens on this address: asking it anything would fail.
        let scanner = ImageScanner::new(RegistryClient::default(), Anonymous);
        let image = ImageName::parse("127.0.0.1:9/app").expect("valid");
        let pattern = TagPattern::parse("semver:^1").expect("valid");
        let tags = vec!["1.0.0".to_owned(), "1.1.0".to_owned()];
        let infos = scanner
            .tag_infos(&image, &tags, Some("1.0.0"), &pattern)
            .await
            .expect("no registry request");
        assert!(infos.iter().all(|i| i.created.is_none()));
        assert_eq!(
            pattern.newest(&infos).map(|i| i.tag.as_str()),
            Some("1.1.0")
        );
    }
}
