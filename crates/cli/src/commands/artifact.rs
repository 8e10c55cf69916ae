//! `tether push artifact`: the files at `--path` packed as Flux packs them (a gzipped tarball
//! without ignored paths) and pushed as a Flux OCI artifact: Flux's config and content media
//! types, and the `org.opencontainers.image.created/source/revision` annotations that
//! source-controller reports as the artifact's metadata. `tether pull artifact`: the first
//! layer of an artifact, checked and extracted under the same limits as OCIRepository's.
//! `tether tag artifact`: the manifest put under more tags.

use super::cluster::block_on;
use super::output::{action, success};
use crate::cli::{
    PullArtifactArgs, PullCommand, PushArtifactArgs, PushCommand, TagArtifactArgs, TagCommand,
};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::Path;
use tether_registry::{ArtifactUpload, Credentials, ImageName, RegistryClient, ScanOptions};
use tether_source::artifact::{ArtifactOwner, ArtifactStore};
use tether_source::sourceignore::SourceIgnore;

const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
const FLUX_CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

pub fn run_push(command: PushCommand) -> anyhow::Result<()> {
    match command {
        PushCommand::Artifact(args) => block_on(push_artifact(args)),
    }
}

pub fn run_pull(command: PullCommand) -> anyhow::Result<()> {
    match command {
        PullCommand::Artifact(args) => block_on(pull_artifact(args)),
    }
}

pub fn run_tag(command: TagCommand) -> anyhow::Result<()> {
    match command {
        TagCommand::Artifact(args) => block_on(tag_artifact(args)),
    }
}

async fn tag_artifact(args: TagArtifactArgs) -> anyhow::Result<()> {
    let (repository, reference) = parse_reference(&args.url)?;
    let image =
        ImageName::parse(repository).with_context(|| format!("invalid URL '{}'", args.url))?;
    let options = registry_options(args.creds.as_deref(), args.insecure_registry, args.timeout);
    action("tagging artifact");
    let client = RegistryClient::new(Default::default());
    let from = match reference {
        Reference::Tag(tag) | Reference::Digest(tag) => tag,
    };
    for tag in &args.tags {
        client
            .tag_manifest(&image, from, tag, &options)
            .await
            .context("tagging artifact failed")?;
        success(&format!("artifact tagged as {repository}:{tag}"));
    }
    Ok(())
}

/// `oci://<repository>[:<tag>|@<digest>]` split into the repository and the reference.
fn parse_reference(url: &str) -> anyhow::Result<(&str, Reference<'_>)> {
    let Some(address) = url.strip_prefix("oci://") else {
        bail!("URL must be in format 'oci://<domain>/<org>/<repo>'");
    };
    Ok(match address.split_once('@') {
        Some((repository, digest)) => (repository, Reference::Digest(digest)),
        None => {
            let (repository, tag) = split_tag(address);
            (repository, Reference::Tag(tag))
        }
    })
}

/// The largest layer pulled, and what it may unpack to (as an OCIRepository's).
const MAX_LAYER_BYTES: u64 = 256 * 1024 * 1024;
const EXTRACT_LIMITS: tether_source::ExtractLimits = tether_source::ExtractLimits {
    max_bytes: 1024 * 1024 * 1024,
    max_entries: 100_000,
};

async fn pull_artifact(args: PullArtifactArgs) -> anyhow::Result<()> {
    let (repository, reference) = parse_reference(&args.url)?;
    let image =
        ImageName::parse(repository).with_context(|| format!("invalid URL '{}'", args.url))?;
    let options = registry_options(args.creds.as_deref(), args.insecure_registry, args.timeout);
    let address = args.url.trim_start_matches("oci://");
    action(&format!("pulling artifact from {address}"));
    let client = RegistryClient::new(Default::default());
    let digest = match reference {
        Reference::Digest(digest) => digest.to_owned(),
        Reference::Tag(tag) => client.manifest_digest(&image, tag, &options).await?,
    };
    let manifest = client.artifact_manifest(&image, &digest, &options).await?;
    let layer = manifest
        .layers
        .first()
        .context("no layers found in artifact")?;
    let work = tempfile::tempdir()?;
    let blob = work.path().join("layer");
    client
        .download_blob(&image, layer, MAX_LAYER_BYTES, &blob, &options)
        .await?;
    tether_source::extract_tarball_within(&blob, &args.output, EXTRACT_LIMITS)
        .context("failed to extract artifact content")?;
    for (annotation, shown) in [("source", "source"), ("revision", "revision")] {
        if let Some(value) = manifest
            .annotations
            .get(&format!("org.opencontainers.image.{annotation}"))
        {
            success(&format!("{shown} {value}"));
        }
    }
    // Flux prints the digest reference (`<repository>@<digest>`), as go-containerregistry names it.
    success(&format!("digest {repository}@{digest}"));
    success(&format!(
        "artifact content extracted to {}",
        args.output.display()
    ));
    Ok(())
}

enum Reference<'a> {
    Tag(&'a str),
    Digest(&'a str),
}

/// Registry options from the verbs' flags, logging in as Flux says it does.
fn registry_options(
    creds: Option<&str>,
    insecure: bool,
    timeout: std::time::Duration,
) -> ScanOptions {
    let mut options = ScanOptions {
        insecure,
        timeout,
        ..ScanOptions::default()
    };
    if let Some(creds) = creds {
        action("logging in to registry with credentials");
        let (username, password) = creds.split_once(':').unwrap_or((creds, ""));
        options.credentials = Credentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        };
    }
    options
}

async fn push_artifact(args: PushArtifactArgs) -> anyhow::Result<()> {
    let Some(address) = args.url.strip_prefix("oci://") else {
        bail!("URL must be in format 'oci://<domain>/<org>/<repo>'");
    };
    let (repository, tag) = split_tag(address);
    let image =
        ImageName::parse(repository).with_context(|| format!("invalid URL '{}'", args.url))?;
    let annotations = annotations(&args)?;
    let layer = pack(&args.path, &ignore_patterns(&args))?;
    let options = registry_options(args.creds.as_deref(), args.insecure_registry, args.timeout);
    if args.output.is_none() {
        action(&format!("pushing artifact to {address}"));
    }
    let upload = ArtifactUpload {
        config: (FLUX_CONFIG, b"{}"),
        layers: vec![(FLUX_CONTENT, &layer)],
        annotations,
    };
    let client = RegistryClient::new(Default::default());
    let digest = client
        .push_artifact(&image, tag, &upload, &options)
        .await
        .context("pushing artifact failed")?;
    let pushed = format!("{repository}@{digest}");
    match args.output.as_deref() {
        None => success(&format!("artifact successfully pushed to {pushed}")),
        Some(format) => print!(
            "{}",
            pushed_info(format, &pushed, repository, tag, &digest)?
        ),
    }
    Ok(())
}

/// `repository[:tag]` split at a tag (a `:` after the last `/`); `latest` when there is none.
fn split_tag(address: &str) -> (&str, &str) {
    let last = address.rfind('/').map_or(0, |i| i + 1);
    match address[last..].rfind(':') {
        Some(colon) => (&address[..last + colon], &address[last + colon + 1..]),
        None => (address, "latest"),
    }
}

fn ignore_patterns(args: &PushArtifactArgs) -> String {
    let patterns: Vec<&str> = args
        .ignore_paths
        .iter()
        .chain(&args.add_ignore_paths)
        .map(String::as_str)
        .collect();
    patterns.join("\n")
}

/// The manifest annotations: creation time, source and revision, then the user's.
fn annotations(args: &PushArtifactArgs) -> anyhow::Result<BTreeMap<String, String>> {
    let created = if args.reproducible {
        "1970-01-01T00:00:00Z".to_owned()
    } else {
        k8s_openapi::jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut annotations = BTreeMap::from([
        ("org.opencontainers.image.created".to_owned(), created),
        (
            "org.opencontainers.image.source".to_owned(),
            args.source.clone(),
        ),
        (
            "org.opencontainers.image.revision".to_owned(),
            args.revision.clone(),
        ),
    ]);
    for annotation in &args.annotations {
        let Some((key, value)) = annotation.split_once('=').filter(|(_, v)| !v.contains('='))
        else {
            bail!("invalid annotation {annotation}, must be in the format key=value");
        };
        annotations.insert(key.to_owned(), value.to_owned());
    }
    Ok(annotations)
}

/// The gzipped tarball of `path` (a directory, or one file) without what `ignore` excludes,
/// packed as source-controller packs artifacts.
fn pack(path: &Path, ignore: &str) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "invalid path '{}', must point to an existing directory or file",
            path.display()
        )
    })?;
    let work = tempfile::tempdir()?;
    let dir = if meta.is_dir() {
        path.to_path_buf()
    } else {
        let single = work.path().join("single");
        std::fs::create_dir_all(&single)?;
        let name = path
            .file_name()
            .context("a file path without a file name")?;
        std::fs::copy(path, single.join(name))?;
        single
    };
    let filter = SourceIgnore::load(&dir, Some(ignore))?;
    let store = ArtifactStore::new(work.path().join("store"));
    let owner = ArtifactOwner::new("push", "cli", "artifact");
    let packed = store.archive_dir(&owner, "", "artifact.tar.gz", &dir, &filter)?;
    Ok(std::fs::read(store.local_path(&packed))?)
}

/// What `-o json|yaml` prints, as Flux prints it.
fn pushed_info(
    format: &str,
    pushed: &str,
    repository: &str,
    tag: &str,
    digest: &str,
) -> anyhow::Result<String> {
    let info = serde_json::json!({
        "url": format!("oci://{pushed}"), "repository": repository, "tag": tag, "digest": digest,
    });
    match format {
        "json" => Ok(format!("{}\n", serde_json::to_string_pretty(&info)?)),
        "yaml" => Ok(serde_saphyr::to_string(&info)?),
        other => bail!("unsupported output format '{other}': use json or yaml"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn a_tag_follows_the_last_path_segment_only() {
        assert_eq!(
            split_tag("localhost:5000/app:v1"),
            ("localhost:5000/app", "v1")
        );
        assert_eq!(
            split_tag("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(split_tag("ghcr.io/org/app"), ("ghcr.io/org/app", "latest"));
    }
}
