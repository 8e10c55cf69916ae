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

/// Creation times by `(canonical image, tag)`.
type CreatedCache = HashMap<(String, String), Option<DateTime<Utc>>>;

/// Lists tags and reads creation times through one registry client.
#[derive(Clone)]
pub struct ImageScanner {
    client: RegistryClient,
    credentials: Arc<dyn CredentialsLookup>,
    options: ScanOptions,
    exclusions: ExclusionList,
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

    fn options_for(&self, image: &ImageName) -> ScanOptions {
        ScanOptions {
            credentials: self.credentials.credentials_for(image),
            ..self.options.clone()
        }
    }

    /// The tags of `image`, without excluded ones.
    pub async fn tags(&self, image: &ImageName) -> Result<Vec<String>, ScanError> {
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
