//! `tether push artifact`: the files at `--path` packed as Flux packs them (a gzipped tarball
//! without ignored paths) and pushed as a Flux OCI artifact: Flux's config and content media
//! types, and the `org.opencontainers.image.created/source/revision` annotations that
//! source-controller reports as the artifact's metadata. `tether pull artifact`: the first
//! layer of an artifact, checked and extracted under the same limits as OCIRepository's.
//! `tether tag artifact`: the manifest put under more tags. `tether build artifact`: the packed
//! tarball written to a file. `tether list artifacts`: a repository's tags with each artifact's
//! digest, source and revision. `tether diff artifact`: local files against an artifact.

use super::cluster::block_on;
use super::output::render_table;
use super::output::{action, success};
use crate::cli::{
    BuildArtifactArgs, DiffArtifactArgs, ListArtifactsArgs, ListCommand, PullArtifactArgs,
    PullCommand, PushArtifactArgs, PushCommand, TagArtifactArgs, TagCommand,
};
use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

pub fn run_list(command: ListCommand) -> anyhow::Result<()> {
    match command {
        ListCommand::Artifacts(args) => block_on(list_artifacts(args)),
    }
}

pub fn run_diff_artifact(args: DiffArtifactArgs) -> anyhow::Result<()> {
    block_on(diff_artifact(args))
}

pub fn build_artifact(args: BuildArtifactArgs) -> anyhow::Result<()> {
    let path = args.path.unwrap_or_default();
    let input = ArtifactInput::prepare(&path, args.resolve_symlinks)?;
    action(&format!("building artifact from {}", input.path.display()));
    let ignore = ignore_patterns(&args.ignore_paths, &args.add_ignore_paths);
    let layer = pack(&input.path, &ignore).context("building artifact failed, error")?;
    write_replacing(&args.output, &layer).with_context(|| {
        format!(
            "building artifact failed, error: writing {}",
            args.output.display()
        )
    })?;
    success(&format!("artifact created at {}", args.output.display()));
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file renamed into place, so a reader never sees
/// half an artifact (Flux's build renames too).
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o640))?;
    }
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The path an artifact verb packs: the one given, standard input saved to a file for `-`, or
/// a copy with symlinks replaced by their targets. Temporary copies go when this is dropped.
struct ArtifactInput {
    path: PathBuf,
    _scratch: Option<tempfile::TempDir>,
}

impl ArtifactInput {
    fn prepare(path: &Path, resolve_symlinks: bool) -> anyhow::Result<Self> {
        if path.as_os_str().is_empty() {
            bail!("invalid path {:?}", "");
        }
        let mut input = if path == Path::new("-") {
            // As Flux does: standard input, trailing line ends trimmed, becomes one YAML file.
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut text)?;
            while matches!(text.last(), Some(b'\n' | b'\r')) {
                text.pop();
            }
            let scratch = tempfile::tempdir()?;
            let file = scratch.path().join("stdin.yaml");
            std::fs::write(&file, text)?;
            ArtifactInput {
                path: file,
                _scratch: Some(scratch),
            }
        } else {
            ArtifactInput {
                path: path.to_path_buf(),
                _scratch: None,
            }
        };
        if std::fs::metadata(&input.path).is_err() {
            bail!(
                "invalid path '{}', must point to an existing directory or file",
                input.path.display()
            );
        }
        if resolve_symlinks {
            let scratch = tempfile::tempdir()?;
            let name = input.path.file_name().unwrap_or_default();
            let copy = if input.path.is_dir() {
                scratch.path().join("resolved")
            } else {
                scratch.path().join(name)
            };
            copy_resolving_symlinks(&input.path, &copy, &mut Vec::new())
                .context("resolving symlinks failed")?;
            input = ArtifactInput {
                path: copy,
                _scratch: Some(scratch),
            };
        }
        Ok(input)
    }
}

/// Copies `from` to `to`, following symlinks so their targets' content is copied. A directory
/// link that leads back into a directory being copied is skipped, so a cycle ends.
fn copy_resolving_symlinks(
    from: &Path,
    to: &Path,
    ancestors: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let meta = std::fs::metadata(from)
        .with_context(|| format!("resolving symlink for {}", from.display()))?;
    if meta.is_file() {
        std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(());
    }
    let real = std::fs::canonicalize(from)?;
    if ancestors.contains(&real) {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    ancestors.push(real);
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        copy_resolving_symlinks(&entry.path(), &to.join(entry.file_name()), ancestors)?;
    }
    ancestors.pop();
    Ok(())
}

async fn list_artifacts(args: ListArtifactsArgs) -> anyhow::Result<()> {
    let Some(repository) = args.url.strip_prefix("oci://") else {
        bail!("URL must be in format 'oci://<domain>/<org>/<repo>'");
    };
    let image =
        ImageName::parse(repository).with_context(|| format!("invalid URL '{}'", args.url))?;
    let semver = args
        .filter_semver
        .as_deref()
        .map(|range| {
            tether_semver::Constraints::parse(range)
                .map_err(|e| anyhow::anyhow!("semver '{range}' parse error: {e}"))
        })
        .transpose()?;
    let regex = args
        .filter_regex
        .as_deref()
        .map(|pattern| {
            regex::Regex::new(pattern)
                .map_err(|e| anyhow::anyhow!("regex '{pattern}' parse error: {e}"))
        })
        .transpose()?;
    let options = registry_options(args.creds.as_deref(), args.insecure_registry, args.timeout);
    let client = RegistryClient::new(Default::default());
    let mut tags = client
        .list_tags(&image, &options)
        .await
        .context("listing tags failed")?;
    // Flux sorts the tags in reverse byte order, not by version.
    tags.sort_by(|a, b| b.cmp(a));
    let mut rows = Vec::new();
    for tag in tags {
        if is_cosign_tag(&tag) || !tag_selected(&tag, semver.as_ref(), regex.as_ref()) {
            continue;
        }
        let digest = client
            .manifest_digest(&image, &tag, &options)
            .await
            .context("fetching digest failed")?;
        let manifest = client
            .artifact_manifest(&image, &digest, &options)
            .await
            .context("fetching manifest failed")?;
        let annotation = |name: &str| {
            manifest
                .annotations
                .get(&format!("org.opencontainers.image.{name}"))
                .cloned()
                .unwrap_or_default()
        };
        rows.push(vec![
            format!("{repository}:{tag}"),
            digest,
            annotation("source"),
            annotation("revision"),
        ]);
    }
    print!(
        "{}",
        render_table(Some(&["ARTIFACT", "DIGEST", "SOURCE", "REVISION"]), &rows)
    );
    Ok(())
}

/// The signature, attestation and SBOM tags cosign writes beside an artifact, which Flux leaves
/// out of listings.
fn is_cosign_tag(tag: &str) -> bool {
    [".att", ".sbom", ".sig"]
        .iter()
        .any(|suffix| tag.ends_with(suffix))
}

/// Whether `tag` passes `list artifacts`' filters: a version (Flux's strict parse, one leading
/// `v` allowed) within the semver range, and a match of the regular expression.
fn tag_selected(
    tag: &str,
    semver: Option<&tether_semver::Constraints>,
    regex: Option<&regex::Regex>,
) -> bool {
    if let Some(range) = semver {
        match tether_semver::Version::parse_tag(tag) {
            Ok(version) if range.matches(&version) => {}
            _ => return false,
        }
    }
    regex.is_none_or(|re| re.is_match(tag))
}

async fn diff_artifact(args: DiffArtifactArgs) -> anyhow::Result<()> {
    let (repository, reference) = parse_reference(&args.url)?;
    let path = args.path.clone().unwrap_or_default();
    if path.as_os_str().is_empty() {
        bail!("invalid path {:?}", "");
    }
    let image =
        ImageName::parse(repository).with_context(|| format!("invalid URL '{}'", args.url))?;
    if std::fs::metadata(&path).is_err() {
        bail!(
            "invalid path '{}', must point to an existing directory or file",
            path.display()
        );
    }
    let local = pack(&path, &ignore_patterns(&args.ignore_paths, &[]))
        .context("building artifact failed")?;
    let options = registry_options(args.creds.as_deref(), args.insecure_registry, args.timeout);
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
    let local_digest = tether_registry::digest_of(&local);
    if layer.digest != local_digest || layer.size != local.len() as u64 {
        // Flux compares the layer's bytes only, so an artifact packed by another tool (another
        // gzip, another tar header layout) always "differs". tether compares the files too.
        let work = tempfile::tempdir()?;
        let remote_blob = work.path().join("remote.tgz");
        client
            .download_blob(&image, layer, MAX_LAYER_BYTES, &remote_blob, &options)
            .await?;
        let local_blob = work.path().join("local.tgz");
        std::fs::write(&local_blob, &local)?;
        let (remote_dir, local_dir) = (work.path().join("remote"), work.path().join("local"));
        tether_source::extract_tarball_within(&remote_blob, &remote_dir, EXTRACT_LIMITS)
            .context("failed to extract artifact content")?;
        tether_source::extract_tarball_within(&local_blob, &local_dir, EXTRACT_LIMITS)
            .context("failed to extract the local content")?;
        let changes = tree_differences(&local_dir, &remote_dir)?;
        if !changes.is_empty() {
            bail!(
                "the remote artifact contents differs from the local one: {}",
                changes.join(", ")
            );
        }
    }
    success("no changes detected");
    Ok(())
}

/// The paths whose content differs between two extracted trees: `changed <path>`,
/// `added <path>` (only local) and `removed <path>` (only in the artifact), in path order.
fn tree_differences(local: &Path, remote: &Path) -> anyhow::Result<Vec<String>> {
    let (local_files, remote_files) = (tree_files(local)?, tree_files(remote)?);
    let mut changes = Vec::new();
    for (path, content) in &local_files {
        match remote_files.get(path) {
            None => changes.push(format!("added {path}")),
            Some(other) if other != content => changes.push(format!("changed {path}")),
            Some(_) => {}
        }
    }
    for path in remote_files.keys() {
        if !local_files.contains_key(path) {
            changes.push(format!("removed {path}"));
        }
    }
    changes.sort_by(|a, b| {
        a.split_once(' ')
            .map(|p| p.1)
            .cmp(&b.split_once(' ').map(|p| p.1))
    });
    Ok(changes)
}

/// What a compared path holds: a directory (no content), or a file's content digest and
/// executable bit.
type PathContent = (Option<[u8; 32]>, bool);

/// Every file under `root` by its relative path, with a digest of its content and its
/// executable bit; directories appear with an empty content so an empty one counts.
fn tree_files(root: &Path) -> anyhow::Result<BTreeMap<String, PathContent>> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path)?;
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if meta.is_dir() {
                files.insert(format!("{name}/"), (None, false));
                pending.push(path);
            } else {
                let digest: [u8; 32] = Sha256::digest(std::fs::read(&path)?).into();
                files.insert(name, (Some(digest), meta.permissions().mode() & 0o111 != 0));
            }
        }
    }
    Ok(files)
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
    let input = ArtifactInput::prepare(&args.path, args.resolve_symlinks)?;
    let ignore = ignore_patterns(&args.ignore_paths, &args.add_ignore_paths);
    let layer = pack(&input.path, &ignore)?;
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

/// `--ignore-paths` then `--add-ignore-paths`, one .gitignore pattern per line.
fn ignore_patterns(ignore_paths: &[String], add_ignore_paths: &[String]) -> String {
    let patterns: Vec<&str> = ignore_paths
        .iter()
        .chain(add_ignore_paths)
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
