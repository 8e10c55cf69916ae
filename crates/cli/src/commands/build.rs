//! `tether build kustomization NAME --path DIR`: the objects the Kustomization would apply if
//! its source held `DIR`, as `flux build kustomization` prints them — built by the controller's
//! own code (overrides, post-build substitution from the cluster, owner labels), SOPS-encrypted
//! Secret data masked, each object a YAML document with sorted keys followed by `---`. The
//! Kustomization is the cluster's or one read from `--kustomization-file` (`--dry-run`: without
//! the cluster); `--recursive` builds the Kustomizations found too, from `--local-sources`.
//! The local build is shared with `diff kustomization`.

use super::cluster;
use crate::cli::{BuildCommand, BuildKustomizationArgs, LocalBuildArgs};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::api::Api;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tether_api::kustomize::v1::Kustomization;
use tether_kustomize::flux::IgnoreFilter;
use tether_source::sourceignore::SourceIgnore;

const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
/// What Flux writes in place of SOPS-encrypted values.
const SOPS_MASK: &str = "**SOPS**";

pub fn run(command: BuildCommand) -> anyhow::Result<()> {
    match command {
        BuildCommand::Kustomization(args) => cluster::block_on(build(args)),
        BuildCommand::Artifact(args) => super::artifact::build_artifact(args),
    }
}

async fn build(args: BuildKustomizationArgs) -> anyhow::Result<()> {
    let name = required_name(args.name.as_deref())?;
    let dir = resource_dir(&args.local.path)?;
    if args.dry_run && args.local.kustomization_file.is_empty() {
        bail!("dry-run mode requires a kustomization file");
    }
    let client = if args.dry_run {
        None
    } else {
        Some(cluster::client(&args.cluster).await?)
    };
    let builder = LocalBuilder::new(client, &args.local, false)?;
    let ks = builder
        .kustomization(name, &args.cluster.namespace, args.dry_run)
        .await?;
    let mut objects = builder.build(&ks, &dir).await?;
    if args.local.recursive {
        let mut nested = Vec::new();
        for object in &objects {
            if let Some(child) = nested_kustomization(object, &ks)? {
                nested.extend(Box::pin(builder.build_recursively(&child, args.dry_run)).await?);
            }
        }
        objects.extend(nested);
    }
    // Each document followed by `---`, as Flux's ObjectsToYAML writes them.
    for object in &objects {
        println!("{}---", tether_core::yaml::to_string(object));
    }
    Ok(())
}

/// The Kustomization's name, required as Flux requires it.
pub(super) fn required_name(name: Option<&str>) -> anyhow::Result<&str> {
    name.context("kustomization name is required")
}

/// `--path` as an absolute directory, or Flux's error.
pub(super) fn resource_dir(path: &str) -> anyhow::Result<PathBuf> {
    let invalid = || format!("invalid resource path {path:?}");
    if path.is_empty() {
        bail!(invalid());
    }
    let dir = std::path::absolute(path).with_context(invalid)?;
    if !dir.is_dir() {
        bail!("invalid resource path {:?}", dir.display().to_string());
    }
    Ok(dir)
}

/// Builds Kustomizations from local directories: the client (none in dry-run mode), the
/// Kustomization file and the local copies of sources.
pub(super) struct LocalBuilder {
    client: Option<kube::Client>,
    kustomization_file: Option<PathBuf>,
    local_sources: BTreeMap<String, PathBuf>,
    strict: bool,
    ignore_not_found: bool,
    /// `--ignore-paths`, applied with each built directory's `.sourceignore` files.
    ignore_paths: Vec<String>,
}

impl LocalBuilder {
    pub fn new(
        client: Option<kube::Client>,
        args: &LocalBuildArgs,
        ignore_not_found: bool,
    ) -> anyhow::Result<Self> {
        let file = &args.kustomization_file;
        let kustomization_file = if file.is_empty() {
            None
        } else {
            if !Path::new(file).is_file() {
                bail!("invalid kustomization file {file:?}");
            }
            Some(PathBuf::from(file))
        };
        if ignore_not_found && kustomization_file.is_none() {
            bail!("kustomization file is required when assuming new kustomizations");
        }
        let mut local_sources = BTreeMap::new();
        for pair in &args.local_sources {
            let (source, path) = pair
                .split_once('=')
                .with_context(|| format!("{pair} must be formatted as key=value"))?;
            local_sources.insert(source.to_owned(), PathBuf::from(path));
        }
        Ok(Self {
            client,
            kustomization_file,
            local_sources,
            strict: args.strict_substitute,
            ignore_not_found,
            ignore_paths: args.ignore_paths.clone(),
        })
    }

    pub fn client(&self) -> Option<&kube::Client> {
        self.client.as_ref()
    }

    /// The Kustomization to build: the cluster's, or the one in the Kustomization file (with
    /// the cluster's status, for its inventory).
    pub async fn kustomization(
        &self,
        name: &str,
        namespace: &str,
        dry_run: bool,
    ) -> anyhow::Result<Kustomization> {
        let live = match (&self.client, dry_run) {
            (Some(client), false) => self.live(client, name, namespace).await?,
            _ => None,
        };
        let Some(file) = &self.kustomization_file else {
            return live.context("failed to get kustomization object");
        };
        let mut ks = read_kustomization_file(file, name, namespace)
            .context("failed to get kustomization object")?;
        if let Some(status) = live.and_then(|l| l.status)
            && status.inventory.is_some()
        {
            ks.status = Some(status);
        }
        Ok(ks)
    }

    async fn live(
        &self,
        client: &kube::Client,
        name: &str,
        namespace: &str,
    ) -> anyhow::Result<Option<Kustomization>> {
        let api = Api::<Kustomization>::namespaced(client.clone(), namespace);
        let fallback = self.ignore_not_found && self.kustomization_file.is_some();
        let found = api
            .get_opt(name)
            .await
            .context("failed to get kustomization object")?;
        match found {
            Some(ks) => Ok(Some(ks)),
            None if fallback => Ok(None),
            // The API server's words, as Flux reports them.
            None => bail!(
                "failed to get kustomization object: kustomizations.{KUSTOMIZE_GROUP} \"{name}\" not found"
            ),
        }
    }

    /// The objects `ks` builds from `dir`, owner-labelled, SOPS data masked; the files Flux's
    /// generator filters out (`.sourceignore` under `dir`, `--ignore-paths`, the default
    /// excludes) left out of the top kustomization.
    pub async fn build(&self, ks: &Kustomization, dir: &Path) -> anyhow::Result<Vec<Value>> {
        let ignore = SourceIgnore::load_for_build(dir, &self.ignore_paths)
            .map_err(|e| anyhow::anyhow!("failed to load ignore patterns: {e}"))?;
        let ignore = IgnoreFilter(std::sync::Arc::new(move |path, is_dir| {
            ignore.is_ignored(path, is_dir)
        }));
        let mut objects = tether_controller::build_kustomization_locally(
            self.client.as_ref(),
            ks,
            dir,
            self.strict,
            Some(ignore),
        )
        .await
        .map_err(anyhow::Error::msg)?;
        for object in &mut objects {
            mask_sops_data(object)?;
        }
        Ok(objects)
    }

    /// The local directory of a nested Kustomization: its source's local copy joined with its
    /// `spec.path`.
    pub fn local_dir(&self, ks: &Kustomization) -> anyhow::Result<PathBuf> {
        let reference = &ks.spec.source_ref;
        let ks_namespace = ks.metadata.namespace.clone().unwrap_or_default();
        let namespace = reference.namespace.clone().unwrap_or(ks_namespace);
        let key = format!("{}/{namespace}/{}", reference.kind, reference.name);
        let root = self.local_sources.get(&key).with_context(|| {
            format!(
                "cannot get local path for {key} of kustomization {}",
                ks.metadata.name.as_deref().unwrap_or_default()
            )
        })?;
        let path = ks.spec.path.as_deref().unwrap_or_default();
        Ok(root.join(path.trim_start_matches('/')))
    }

    /// The Kustomization to build or diff for one found in the output: the cluster's, else (with
    /// `fallback`, as Flux's recursive build) the one found.
    pub async fn nested(
        &self,
        found: &Kustomization,
        dry_run: bool,
        fallback: bool,
    ) -> anyhow::Result<Kustomization> {
        let name = found.metadata.name.as_deref().unwrap_or_default();
        let namespace = found.metadata.namespace.as_deref().unwrap_or_default();
        let live = match (&self.client, dry_run) {
            (Some(client), false) => {
                let api = Api::<Kustomization>::namespaced(client.clone(), namespace);
                let live = api.get_opt(name).await;
                live.with_context(|| {
                    format!("failed to get kustomization object {namespace}/{name}")
                })?
            }
            _ => None,
        };
        match live {
            Some(live) => Ok(live),
            None if fallback || dry_run => Ok(found.clone()),
            None => bail!(
                "failed to get kustomization object: Kustomization '{namespace}/{name}' not found"
            ),
        }
    }

    /// A nested Kustomization's objects and, in turn, those of the Kustomizations it holds.
    async fn build_recursively(
        &self,
        found: &Kustomization,
        dry_run: bool,
    ) -> anyhow::Result<Vec<Value>> {
        let ks = &self.nested(found, dry_run, true).await?;
        let mut objects = self.build(ks, &self.local_dir(found)?).await?;
        let mut nested = Vec::new();
        for object in &objects {
            if let Some(child) = nested_kustomization(object, ks)? {
                nested.extend(Box::pin(self.build_recursively(&child, dry_run)).await?);
            }
        }
        objects.extend(nested);
        Ok(objects)
    }
}

/// The object as a Kustomization, when it is one other than `parent`.
pub(super) fn nested_kustomization(
    object: &Value,
    parent: &Kustomization,
) -> anyhow::Result<Option<Kustomization>> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    if !api_version.starts_with(&format!("{KUSTOMIZE_GROUP}/")) || object["kind"] != "Kustomization"
    {
        return Ok(None);
    }
    let ks: Kustomization =
        serde_json::from_value(object.clone()).context("failed to convert to kustomization")?;
    let same = ks.metadata.name == parent.metadata.name
        && ks.metadata.namespace == parent.metadata.namespace;
    Ok((!same).then_some(ks))
}

/// The Kustomization named `name` in `file` (multi-document YAML), in `namespace` or without
/// a namespace.
fn read_kustomization_file(
    file: &Path,
    name: &str,
    namespace: &str,
) -> anyhow::Result<Kustomization> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read kustomization file {}", file.display()))?;
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("failed to unmarshall kustomization file {}", file.display()))?;
    let found = documents.into_iter().find(|document| {
        let api_version = document["apiVersion"].as_str().unwrap_or_default();
        let doc_namespace = document["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        api_version.starts_with(&format!("{KUSTOMIZE_GROUP}/"))
            && document["kind"] == "Kustomization"
            && document["metadata"]["name"] == name
            && (doc_namespace == namespace || doc_namespace.is_empty())
    });
    let found = found.with_context(|| {
        format!(
            "failed find kustomization with name '{name}' and namespace '{namespace}' in file '{}'",
            file.display()
        )
    })?;
    serde_json::from_value(found)
        .with_context(|| format!("failed to unmarshall kustomization file {}", file.display()))
}

/// Masks a SOPS-encrypted Secret's values as Flux's build does: a Secret carrying SOPS
/// metadata loses it and every value reads `**SOPS**` (a docker config `{"mask":"**SOPS**"}`);
/// in other Secrets, values holding SOPS-encrypted text are masked one by one.
pub(super) fn mask_sops_data(object: &mut Value) -> anyhow::Result<()> {
    if object["kind"] != "Secret" {
        return Ok(());
    }
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let encrypted = object.get("sops").is_some_and(|sops| {
        sops.get("mac")
            .and_then(Value::as_str)
            .is_some_and(|m| m.starts_with("ENC["))
    });
    let Some(map) = object.as_object_mut() else {
        return Ok(());
    };
    if encrypted {
        map.remove("sops");
        let docker =
            map.get("type").and_then(Value::as_str) == Some("kubernetes.io/dockerconfigjson");
        let plain = if docker {
            format!("{{\"mask\":\"{SOPS_MASK}\"}}")
        } else {
            SOPS_MASK.to_owned()
        };
        replace_values(map, "data", |_| Some(base64(&plain)));
        replace_values(map, "stringData", |_| Some(plain.clone()));
        return Ok(());
    }
    let mut corrupt = false;
    replace_values(map, "data", |value| match STANDARD.decode(value) {
        Ok(bytes) => is_sops_text(&bytes).then(|| base64(SOPS_MASK)),
        Err(_) => {
            corrupt = true;
            None
        }
    });
    if corrupt {
        bail!("failed to mask secret {name} sops data: illegal base64 data");
    }
    replace_values(map, "stringData", |value| {
        is_sops_text(value.as_bytes()).then(|| base64(SOPS_MASK))
    });
    Ok(())
}

fn is_sops_text(bytes: &[u8]) -> bool {
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    contains(b"sops") && contains(b"ENC[")
}

fn base64(text: &str) -> String {
    STANDARD.encode(text.as_bytes())
}

/// Replaces the string values of `map[field]` for which `replace` returns a value.
fn replace_values(
    map: &mut serde_json::Map<String, Value>,
    field: &str,
    mut replace: impl FnMut(&str) -> Option<String>,
) {
    let Some(Value::Object(values)) = map.get_mut(field) else {
        return;
    };
    for value in values.values_mut() {
        if let Some(replacement) = value.as_str().and_then(&mut replace) {
            *value = Value::String(replacement);
        }
    }
}
