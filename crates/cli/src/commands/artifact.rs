//! `tether push artifact`: the files at `--path` packed as Flux packs them (a gzipped tarball
//! without ignored paths) and pushed as a Flux OCI artifact: Flux's config and content media
//! types, and the `org.opencontainers.image.created/source/revision` annotations that
//! source-controller reports as the artifact's metadata.

use super::cluster::block_on;
use super::output::{action, success};
use crate::cli::{PushArtifactArgs, PushCommand};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::Path;
use tether_registry::{ArtifactUpload, Credentials, ImageName, RegistryClient, ScanOptions};
use tether_source::artifact::{ArtifactOwner, ArtifactStore};
use tether_source::sourceignore::SourceIgnore;

const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
const FLUX_CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

pub fn run(command: PushCommand) -> anyhow::Result<()> {
    match command {
        PushCommand::Artifact(args) => block_on(push_artifact(args)),
    }
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
    let mut options = ScanOptions {
        insecure: args.insecure_registry,
        timeout: args.timeout,
        ..ScanOptions::default()
    };
    if let Some(creds) = &args.creds {
        action("logging in to registry with credentials");
        let (username, password) = creds.split_once(':').unwrap_or((creds, ""));
        options.credentials = Credentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        };
    }
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
