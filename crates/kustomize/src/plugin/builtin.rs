//! kustomize's built-in plugins configured by objects (`apiVersion: builtin`): each kind's
//! configuration as Go decodes it (fields matched ignoring case, unknown fields ignored), run
//! through the same transformer and generator code the kustomization fields use.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::build::Ctx;
use crate::error::{Error, Result};
use crate::fieldspec::FieldSpec;
use crate::kustfile::{GeneratorArgs, GeneratorOptions, Image, Patch, Replica, Selector};
use crate::resource::Resource;
use crate::transform::{self, Affix, NamespaceMode, Subjects};
use crate::{generate, patch, replacement};

/// Runs the generator `kind` configured by `config`, absorbing its objects into `acc`.
pub fn generate(
    ctx: &Ctx<'_>,
    dir: &str,
    kind: &str,
    config: &Resource,
    acc: &mut Vec<Resource>,
) -> Result<()> {
    match kind {
        "ConfigMapGenerator" | "SecretGenerator" => {
            let args = decode::<GeneratorConfig>(config)?.into_args();
            let origin = crate::metadata::plugin_origin(config);
            generate::run_plugin(ctx, dir, &args, kind == "SecretGenerator", origin, acc)
        }
        "IAMPolicyGenerator" => {
            let mut r = decode::<IamPolicyConfig>(config)?.service_account()?;
            r.origin = crate::metadata::plugin_origin(config);
            crate::build::append_all(acc, vec![r])
        }
        _ if is_transformer(kind) => Err(Error::transform(format!(
            "failed to load generator: plugin {} not a generator",
            config.org_id()
        ))),
        _ => Err(unknown(config)),
    }
}

/// Runs the transformer `kind` configured by `config` over `acc`.
pub fn transform(
    ctx: &Ctx<'_>,
    dir: &str,
    kind: &str,
    config: &Resource,
    acc: &mut Vec<Resource>,
) -> Result<()> {
    match kind {
        "PatchTransformer" => {
            let p = decode::<PatchConfig>(config)?;
            patch::apply_patch(ctx, dir, &p.into_patch(), acc)
        }
        "PatchStrategicMergeTransformer" => run_psm(ctx, dir, decode(config)?, acc),
        "PatchJson6902Transformer" => run_json6902(ctx, dir, decode(config)?, acc),
        "PrefixTransformer" | "SuffixTransformer" | "PrefixSuffixTransformer" => {
            let c = decode::<AffixConfig>(config)?;
            let specs = c.field_specs.ok_or_else(|| {
                configuration(config, "fieldSpecs is not expected to be nil".into())
            })?;
            // PrefixSuffixTransformer is the two in a row, both configured by one object.
            if kind != "SuffixTransformer" {
                transform::affix_all(acc, &specs, Affix::Prefix(&c.prefix))?;
            }
            if kind != "PrefixTransformer" {
                transform::affix_all(acc, &specs, Affix::Suffix(&c.suffix))?;
            }
            Ok(())
        }
        "LabelTransformer" | "AnnotationsTransformer" => {
            let c = decode::<MapConfig>(config)?;
            let entries = if kind == "LabelTransformer" {
                &c.labels
            } else {
                &c.annotations
            };
            // Nothing to set creates no empty maps either.
            if entries.is_empty() {
                return Ok(());
            }
            transform::set_string_entries(acc, entries, &c.field_specs)
        }
        "NamespaceTransformer" => run_namespace(decode(config)?, config, acc),
        "ImageTagTransformer" => {
            let c = decode::<ImageConfig>(config)?;
            transform::set_images(acc, &c.image_tag, &c.field_specs)
        }
        "ReplicaCountTransformer" => {
            let c = decode::<ReplicaConfig>(config)?;
            let replica = Replica {
                name: c.replica.name,
                count: c.replica.count,
            };
            transform::set_replicas(acc, &replica, &c.field_specs)
        }
        "ReplacementTransformer" => {
            let c = decode::<ReplacementConfig>(config)?;
            replacement::apply_all(ctx, dir, &c.replacements, false, acc)
        }
        "HashTransformer" => hash_names(acc),
        _ if is_generator(kind) => Err(Error::transform(format!(
            "plugin {} not a transformer",
            config.org_id()
        ))),
        _ => Err(unknown(config)),
    }
}

fn is_generator(kind: &str) -> bool {
    matches!(
        kind,
        "ConfigMapGenerator" | "SecretGenerator" | "IAMPolicyGenerator"
    )
}

fn is_transformer(kind: &str) -> bool {
    matches!(
        kind,
        "PatchTransformer"
            | "PatchStrategicMergeTransformer"
            | "PatchJson6902Transformer"
            | "PrefixTransformer"
            | "SuffixTransformer"
            | "LabelTransformer"
            | "AnnotationsTransformer"
            | "NamespaceTransformer"
            | "ImageTagTransformer"
            | "ReplicaCountTransformer"
            | "ReplacementTransformer"
            | "HashTransformer"
            | "PrefixSuffixTransformer"
    )
}

/// A builtin kind kustomize does not load (SortOrderTransformer is not wired as a plugin) or
/// this engine does not run (HelmChartInflationGenerator, the alpha ValueAddTransformer).
fn unknown(config: &Resource) -> Error {
    let gvk = config.gvk();
    Error::transform(format!(
        "unable to load builtin {}.{}.[noGrp]",
        gvk.kind, gvk.version
    ))
}

fn configuration(config: &Resource, message: String) -> Error {
    Error::transform(format!(
        "plugin {} fails configuration: {message}",
        config.org_id()
    ))
}

/// Decodes a configuration as Go's `yaml.Unmarshal` does (unknown fields ignored).
fn decode<T: DeserializeOwned>(config: &Resource) -> Result<T> {
    crate::casefold::from_value_lenient(config.obj.clone())
        .map_err(|e| configuration(config, e.to_string()))
}

/// kustomize's HashTransformer: the content hash appended to every object that asks for one.
/// The request stays, so the build's own hashing appends a second hash, as kustomize does.
fn hash_names(acc: &mut [Resource]) -> Result<()> {
    let asked: Vec<bool> = acc.iter().map(|r| r.needs_hash).collect();
    generate::add_hashes(acc)?;
    for (r, asked) in acc.iter_mut().zip(asked) {
        r.needs_hash = asked;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchConfig {
    #[serde(default)]
    path: String,
    #[serde(default)]
    patch: String,
    #[serde(default)]
    target: Option<Selector>,
    #[serde(default)]
    options: Option<crate::kustfile::PatchOptions>,
}

impl PatchConfig {
    fn into_patch(self) -> Patch {
        Patch {
            path: self.path,
            patch: self.patch,
            target: self.target,
            options: self.options,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PsmConfig {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    patches: String,
}

fn run_psm(ctx: &Ctx<'_>, dir: &str, c: PsmConfig, acc: &mut Vec<Resource>) -> Result<()> {
    if c.paths.is_empty() && c.patches.is_empty() {
        return Err(Error::transform("empty file path and empty patch content"));
    }
    patch::apply_strategic_merge_list(ctx, dir, &c.paths, acc)?;
    if !c.patches.is_empty() {
        patch::apply_strategic_merge_list(ctx, dir, &[c.patches], acc)?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Json6902Config {
    #[serde(default)]
    target: Option<Selector>,
    #[serde(default)]
    path: String,
    #[serde(default)]
    json_op: String,
}

fn run_json6902(ctx: &Ctx<'_>, dir: &str, c: Json6902Config, acc: &mut [Resource]) -> Result<()> {
    if c.target.as_ref().is_none_or(|t| t.name.is_empty()) {
        return Err(Error::transform("must specify the target name"));
    }
    if c.path.is_empty() && c.json_op.is_empty() {
        return Err(Error::transform("empty file path and empty jsonOp"));
    }
    if !c.path.is_empty() && !c.json_op.is_empty() {
        return Err(Error::transform(
            "must specify a file path or jsonOp, not both",
        ));
    }
    let entry = Patch {
        path: c.path,
        patch: c.json_op,
        target: c.target,
        options: None,
    };
    patch::apply_json6902_entry(ctx, dir, &entry, acc)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AffixConfig {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    field_specs: Option<Vec<FieldSpec>>,
}

/// LabelTransformer and AnnotationsTransformer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MapConfig {
    #[serde(default)]
    labels: IndexMap<String, String>,
    #[serde(default)]
    annotations: IndexMap<String, String>,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ObjectMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceConfig {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
    #[serde(default)]
    unset_only: bool,
    #[serde(default)]
    set_role_binding_subjects: String,
}

fn run_namespace(c: NamespaceConfig, config: &Resource, acc: &mut [Resource]) -> Result<()> {
    let subjects = match c.set_role_binding_subjects.as_str() {
        "" | "defaultOnly" => Subjects::DefaultOnly,
        "allServiceAccounts" => Subjects::AllServiceAccounts,
        "none" => Subjects::None,
        other => {
            return Err(configuration(
                config,
                format!(
                    "invalid value \"{other}\" for setRoleBindingSubjects: must be one of \
                     \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                ),
            ));
        }
    };
    if c.metadata.namespace.is_empty() {
        return Ok(());
    }
    let mode = NamespaceMode {
        subjects,
        unset_only: c.unset_only,
    };
    transform::set_namespace_with(acc, &c.metadata.namespace, &c.field_specs, mode)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageConfig {
    #[serde(default)]
    image_tag: Image,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ReplicaArgs {
    #[serde(default)]
    name: String,
    #[serde(default)]
    count: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplicaConfig {
    #[serde(default)]
    replica: ReplicaArgs,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplacementConfig {
    #[serde(default)]
    replacements: Vec<Value>,
}

/// ConfigMapGenerator and SecretGenerator: the generator arguments, with `metadata.name` and
/// `metadata.namespace` standing in for missing `name` and `namespace`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeneratorConfig {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    behavior: String,
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    envs: Vec<String>,
    #[serde(default)]
    env: String,
    #[serde(default)]
    options: Option<GeneratorOptions>,
    #[serde(default, rename = "type")]
    secret_type: String,
}

impl GeneratorConfig {
    fn into_args(self) -> GeneratorArgs {
        let or = |own: String, meta: String| if own.is_empty() { meta } else { own };
        let mut envs = self.envs;
        if !self.env.is_empty() {
            envs.push(self.env);
        }
        GeneratorArgs {
            namespace: or(self.namespace, self.metadata.namespace),
            name: or(self.name, self.metadata.name),
            behavior: self.behavior,
            literals: self.literals,
            files: self.files,
            envs,
            env: None,
            options: self.options,
            secret_type: self.secret_type,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KubernetesService {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ServiceAccount {
    #[serde(default)]
    name: String,
    #[serde(default)]
    project_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IamPolicyConfig {
    #[serde(default)]
    cloud: String,
    #[serde(default)]
    kubernetes_service: KubernetesService,
    #[serde(default)]
    service_account: ServiceAccount,
}

impl IamPolicyConfig {
    /// The GKE workload-identity ServiceAccount kustomize generates.
    fn service_account(self) -> Result<Resource> {
        if self.cloud != "gke" {
            return Err(Error::transform(format!(
                "cloud provider {} not supported yet",
                self.cloud
            )));
        }
        let mut annotations = Map::new();
        annotations.insert(
            "iam.gke.io/gcp-service-account".into(),
            Value::String(format!(
                "{}@{}.iam.gserviceaccount.com",
                self.service_account.name, self.service_account.project_id
            )),
        );
        let mut meta = Map::new();
        meta.insert("annotations".into(), Value::Object(annotations));
        meta.insert("name".into(), Value::String(self.kubernetes_service.name));
        if !self.kubernetes_service.namespace.is_empty() {
            meta.insert(
                "namespace".into(),
                Value::String(self.kubernetes_service.namespace),
            );
        }
        let mut obj = Map::new();
        obj.insert("apiVersion".into(), Value::from("v1"));
        obj.insert("kind".into(), Value::from("ServiceAccount"));
        obj.insert("metadata".into(), Value::Object(meta));
        Ok(Resource::new(Value::Object(obj)))
    }
}
