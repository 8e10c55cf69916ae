//! OCI Helm chart repositories (HelmRepository `type: oci`, `oci://host/path`), through
//! `tether-registry`: a chart's versions are its repository's tags (Helm pushes `+` as `_`,
//! and keeps only strict semver tags), the version is chosen with the same rules as for an HTTP
//! index ([`tether_semver::select_chart_version`]; a request that is itself a version is used
//! without listing tags, as source-controller does), and the chart is the manifest's layer of
//! type `application/vnd.cncf.helm.chart.content.v1.tar+gzip`, pulled size-capped with its
//! digest verified.

use std::path::Path;

use tether_registry::{ImageName, RegistryClient, ScanError, ScanOptions};
use tether_semver::{ConstraintError, Version};

/// The media type of a chart archive layer.
pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The media type of a chart's config blob.
pub const HELM_CHART_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";

/// Why an OCI chart could not be listed, chosen or pulled.
#[derive(Debug, thiserror::Error)]
pub enum OciChartError {
    /// The repository URL is not `oci://<host>[/<path>]`, or the chart name is unusable.
    #[error("invalid OCI chart reference '{reference}': {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The registry request failed.
    #[error(transparent)]
    Registry(#[from] ScanError),
    /// The repository has no tag that is a chart version.
    #[error("unable to locate any tags in provided repository: {chart}")]
    NoTags {
        /// The chart's repository (`host/path/chart`).
        chart: String,
    },
    /// No tag satisfies the constraint (source-controller's message).
    #[error("could not locate a version matching provided version string {constraint}")]
    NoMatchingVersion {
        /// The constraint as given.
        constraint: String,
    },
    /// The constraint is neither a version nor a valid range.
    #[error("invalid chart version constraint '{constraint}': {source}")]
    InvalidConstraint {
        /// The constraint as given.
        constraint: String,
        /// Why it does not parse.
        source: ConstraintError,
    },
    /// The manifest has no Helm chart layer.
    #[error("{chart}:{tag} has no layer of type {HELM_CHART_LAYER}")]
    NoChartLayer {
        /// The chart's repository.
        chart: String,
        /// The tag pulled.
        tag: String,
    },
}

impl OciChartError {
    /// Whether retrying without a change of spec cannot help.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::InvalidReference { .. } | Self::InvalidConstraint { .. }
        )
    }
}

/// A chart pulled from an OCI repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciChartPull {
    /// The chart version (the tag with `_` read as `+`).
    pub version: String,
    /// The tag pulled.
    pub tag: String,
    /// The manifest's digest (`sha256:...`).
    pub manifest_digest: String,
    /// The chart layer's digest (`sha256:...`), which the archive was checked against.
    pub layer_digest: String,
    /// The archive's size in bytes.
    pub size: u64,
}

/// The chart `chart` of the OCI repository `repo_url` (`oci://host[:port]/path`) as an image
/// name: `host[:port]/path/chart`.
pub fn chart_image(repo_url: &str, chart: &str) -> Result<ImageName, OciChartError> {
    let invalid = |reason: &str| OciChartError::InvalidReference {
        reference: format!("{repo_url}/{chart}"),
        reason: reason.to_owned(),
    };
    let rest = repo_url
        .strip_prefix("oci://")
        .ok_or_else(|| invalid("the repository URL must start with oci://"))?;
    if chart.is_empty() || chart.contains(['/', ':', '@']) {
        return Err(invalid("the chart name must be a single path segment"));
    }
    let image = format!("{}/{chart}", rest.trim_end_matches('/'));
    ImageName::parse(&image).map_err(|e| invalid(&e.to_string()))
}

/// The chart versions of `image`: its tags that are strict semver once `_` is read as `+`,
/// newest first (Helm's registry client `Tags`).
pub async fn list_chart_versions(
    client: &RegistryClient,
    image: &ImageName,
    options: &ScanOptions,
) -> Result<Vec<String>, OciChartError> {
    let tags = client.list_tags(image, options).await?;
    let mut versions: Vec<(Version, String)> = tags
        .into_iter()
        .map(|tag| tag.replace('_', "+"))
        .filter_map(|tag| Version::parse_strict(&tag).ok().map(|v| (v, tag)))
        .collect();
    versions.sort_by(|(a, _), (b, _)| b.precedence_cmp(a));
    Ok(versions.into_iter().map(|(_, tag)| tag).collect())
}

/// The version of the chart that `constraint` selects. A constraint that is itself a version
/// (`1.2.3`, `v1.2.3`) is returned as it is without asking the registry, as source-controller
/// does; otherwise the tags are listed and the newest match chosen.
pub async fn select_oci_chart_version(
    client: &RegistryClient,
    image: &ImageName,
    constraint: &str,
    options: &ScanOptions,
) -> Result<String, OciChartError> {
    if Version::parse_tag(constraint).is_ok() {
        return Ok(constraint.to_owned());
    }
    let versions = list_chart_versions(client, image, options).await?;
    if versions.is_empty() {
        return Err(OciChartError::NoTags {
            chart: image.canonical(),
        });
    }
    tether_semver::select_chart_version(&versions, constraint, |v| v, |_| ())
        .map_err(|source| OciChartError::InvalidConstraint {
            constraint: constraint.to_owned(),
            source,
        })?
        .cloned()
        .ok_or_else(|| OciChartError::NoMatchingVersion {
            constraint: constraint.to_owned(),
        })
}

/// Pulls the chart archive of `version` (tag `version` with `+` written `_`) into `dest`,
/// refusing a layer over `max_bytes`.
pub async fn pull_oci_chart(
    client: &RegistryClient,
    image: &ImageName,
    version: &str,
    max_bytes: u64,
    dest: &Path,
    options: &ScanOptions,
) -> Result<OciChartPull, OciChartError> {
    let tag = version.replace('+', "_");
    let manifest_digest = client.manifest_digest(image, &tag, options).await?;
    let manifest = client
        .artifact_manifest(image, &manifest_digest, options)
        .await?;
    let layer = manifest
        .layers
        .iter()
        .find(|layer| layer.media_type == HELM_CHART_LAYER)
        .ok_or_else(|| OciChartError::NoChartLayer {
            chart: image.canonical(),
            tag: tag.clone(),
        })?;
    client
        .download_blob(image, layer, max_bytes, dest, options)
        .await?;
    Ok(OciChartPull {
        version: version.to_owned(),
        tag,
        manifest_digest,
        layer_digest: layer.digest.clone(),
        size: layer.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_image_joins_repository_and_chart() {
        let image = chart_image("oci://127.0.0.1:5000/charts/", "podinfo").expect("valid");
        assert_eq!(image.registry(), "127.0.0.1:5000");
        assert_eq!(image.repository(), "charts/podinfo");
        let image = chart_image("oci://ghcr.io/org", "app").expect("valid");
        assert_eq!(image.canonical(), "ghcr.io/org/app");
    }

    #[test]
    fn chart_image_refuses_other_schemes_and_paths_as_names() {
        for (url, chart) in [
            ("https://ghcr.io/org", "app"),
            ("oci://ghcr.io/org", "a/b"),
            ("oci://ghcr.io/org", ""),
            ("oci://ghcr.io/org", "app:1.0.0"),
        ] {
            let error = chart_image(url, chart).expect_err("refused");
            assert!(error.is_terminal(), "{error}");
        }
    }
}
