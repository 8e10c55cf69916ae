//! `tether export`: objects as `flux export` prints them — `---` and the YAML of the object's
//! apiVersion, kind, name, namespace, labels, annotations and spec, as Flux's Go types encode
//! them: durations in Go's form (`10m` → `10m0s`), optional fields left at their zero value
//! omitted, keys sorted. Which fields are durations and which are optional is read from the
//! kind's CRD schema, where Flux's API types leave both.

use super::cluster;
use super::toolkit::FluxObject;
use crate::cli::{ExportArgs, ExportImageKind, ExportKind, ExportSourceArgs, GetSourceKind};
use anyhow::{Context, bail};
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::{Map, Value};
use tether_api::helm::v2::HelmRelease;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use tether_api::kustomize::v1::Kustomization;
use tether_api::meta::{DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, Duration};
use tether_api::notification::v1::Receiver;
use tether_api::notification::v1beta3::{Alert, Provider};
use tether_api::source::v1::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, OCIRepository,
};

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    cluster::block_on(async {
        let text = match &args.kind {
            ExportKind::Source(ExportSourceArgs {
                kind: GetSourceKind::Git { name },
                with_credentials,
            }) => export_source::<GitRepository>(&args, name.as_deref(), *with_credentials).await?,
            ExportKind::Source(ExportSourceArgs {
                kind: GetSourceKind::Oci { name },
                with_credentials,
            }) => export_source::<OCIRepository>(&args, name.as_deref(), *with_credentials).await?,
            ExportKind::Source(ExportSourceArgs {
                kind: GetSourceKind::Bucket { name },
                with_credentials,
            }) => export_source::<Bucket>(&args, name.as_deref(), *with_credentials).await?,
            ExportKind::Source(ExportSourceArgs {
                kind: GetSourceKind::Helm { name },
                with_credentials,
            }) => {
                export_source::<HelmRepository>(&args, name.as_deref(), *with_credentials).await?
            }
            ExportKind::Source(ExportSourceArgs {
                kind: GetSourceKind::Chart { name },
                ..
            }) => export_source::<HelmChart>(&args, name.as_deref(), false).await?,
            ExportKind::Source(ExportSourceArgs {
                kind: GetSourceKind::External { name },
                with_credentials,
            }) => {
                export_source::<ExternalArtifact>(&args, name.as_deref(), *with_credentials).await?
            }
            // Flux has `get sources all` but no `export source all`.
            ExportKind::Source(ExportSourceArgs {
                kind: GetSourceKind::All,
                ..
            }) => {
                bail!("unknown command \"all\" for \"flux export source\"")
            }
            ExportKind::Kustomization { name } => {
                export::<Kustomization>(&args, name.as_deref()).await?
            }
            ExportKind::Helmrelease { name } => {
                export::<HelmRelease>(&args, name.as_deref()).await?
            }
            ExportKind::Image(ExportImageKind::Repository { name }) => {
                export::<ImageRepository>(&args, name.as_deref()).await?
            }
            ExportKind::Image(ExportImageKind::Policy { name }) => {
                export::<ImagePolicy>(&args, name.as_deref()).await?
            }
            ExportKind::Image(ExportImageKind::Update { name }) => {
                export::<ImageUpdateAutomation>(&args, name.as_deref()).await?
            }
            ExportKind::Alert { name } => export::<Alert>(&args, name.as_deref()).await?,
            ExportKind::AlertProvider { name } => {
                export::<Provider>(&args, name.as_deref()).await?
            }
            ExportKind::Receiver { name } => export::<Receiver>(&args, name.as_deref()).await?,
        };
        print!("{text}");
        Ok(())
    })
}

/// The object `name` (or, with `--all`, every object of the kind in the namespace) as Flux
/// exports it.
async fn export<K: FluxObject>(args: &ExportArgs, name: Option<&str>) -> anyhow::Result<String> {
    export_source::<K>(args, name, false).await
}

/// [`export`], each object followed, with `with_credentials`, by the Secret its
/// `spec.secretRef` names (`apiVersion`, `kind`, name, namespace, `data` and `type`). As
/// Flux's, the export stops after the first Secret.
async fn export_source<K: FluxObject>(
    args: &ExportArgs,
    name: Option<&str>,
    with_credentials: bool,
) -> anyhow::Result<String> {
    let schema = spec_schema::<K>()?;
    let namespace = args.cluster.namespace.as_str();
    let client = cluster::client(&args.cluster).await?;
    let resource = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &resource);
    let objects = match (name, args.all) {
        (Some(name), false) => vec![get(&api, &resource, name).await?],
        (_, true) => {
            let listed = api.list(&Default::default()).await.with_context(|| {
                format!("cannot list {} in {namespace} namespace", resource.plural)
            })?;
            if listed.items.is_empty() {
                bail!("no objects found in {namespace} namespace");
            }
            listed.items
        }
        (None, false) => bail!("name is required"),
    };
    let mut text = String::new();
    for object in &objects {
        text.push_str(&export_text(&exported(object, &resource, &schema)?));
        let secret = object.data["spec"]["secretRef"]["name"].as_str();
        if let Some(secret) = secret.filter(|_| with_credentials) {
            match credentials(&api, namespace, secret).await {
                Ok(exported) => text.push_str(&exported),
                Err(error) => {
                    print!("{text}");
                    return Err(error);
                }
            }
            break;
        }
    }
    Ok(text)
}

/// The Secret `name` as `flux export --with-credentials` prints it.
async fn credentials(
    api: &Api<DynamicObject>,
    namespace: &str,
    name: &str,
) -> anyhow::Result<String> {
    let secrets =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(api.clone().into_client(), namespace);
    let secret = secrets.get(name).await.map_err(|error| {
        let reason = match &error {
            kube::Error::Api(status) => status.message.clone(),
            other => other.to_string(),
        };
        anyhow::anyhow!("failed to retrieve secret {name}, error: {reason}")
    })?;
    let mut object = Map::new();
    object.insert("apiVersion".into(), "v1".into());
    if let Some(data) = &secret.data {
        object.insert("data".into(), serde_json::to_value(data)?);
    }
    object.insert("kind".into(), "Secret".into());
    object.insert(
        "metadata".into(),
        serde_json::json!({"name": name, "namespace": namespace}),
    );
    if let Some(type_) = &secret.type_ {
        object.insert("type".into(), type_.clone().into());
    }
    Ok(export_text(&Value::Object(object)))
}

/// The object, or the API server's `<plural>.<group> "<name>" not found`, as Flux prints it.
async fn get(
    api: &Api<DynamicObject>,
    resource: &ApiResource,
    name: &str,
) -> anyhow::Result<DynamicObject> {
    let found = api
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read {} {name}", resource.kind))?;
    found.with_context(|| {
        format!(
            "{}.{} \"{name}\" not found",
            resource.plural, resource.group
        )
    })
}

/// `---`, the YAML and a newline: what `flux export` prints for one object.
pub fn export_text(object: &Value) -> String {
    let yaml = tether_core::yaml::to_string(object);
    format!("---\n{}\n", yaml.trim())
}

/// The fields Flux exports, the spec encoded as Flux's Go types encode it.
fn exported(
    object: &DynamicObject,
    resource: &ApiResource,
    schema: &Value,
) -> anyhow::Result<Value> {
    let mut metadata = Map::new();
    metadata.insert("name".into(), object.metadata.name.clone().into());
    metadata.insert("namespace".into(), object.metadata.namespace.clone().into());
    for (key, map) in [
        ("labels", &object.metadata.labels),
        ("annotations", &object.metadata.annotations),
    ] {
        if let Some(map) = map.as_ref().filter(|m| !m.is_empty()) {
            metadata.insert(key.into(), serde_json::to_value(map)?);
        }
    }
    let mut spec = object.data.get("spec").cloned().unwrap_or(Value::Null);
    as_go_encodes(&mut spec, schema);
    let mut exported = Map::new();
    exported.insert("apiVersion".into(), resource.api_version.clone().into());
    exported.insert("kind".into(), resource.kind.clone().into());
    exported.insert("metadata".into(), Value::Object(metadata));
    if !spec.is_null() {
        exported.insert("spec".into(), spec);
    }
    Ok(Value::Object(exported))
}

/// The `spec` schema of `K`'s CRD at `K`'s version.
fn spec_schema<K: FluxObject>() -> anyhow::Result<Value> {
    let (group, version, plural) = (K::group(&()), K::version(&()), K::plural(&()));
    let crd = tether_api::crds()
        .into_iter()
        .find(|crd| crd.spec.group == group && crd.spec.names.plural == plural)
        .with_context(|| format!("no CRD for {plural}.{group}"))?;
    let served = crd.spec.versions.into_iter().find(|v| v.name == version);
    let schema = served
        .and_then(|v| v.schema)
        .and_then(|s| s.open_api_v3_schema)
        .with_context(|| format!("no schema for {plural}.{group}/{version}"))?;
    let schema = serde_json::to_value(schema)?;
    Ok(schema["properties"]["spec"].clone())
}

/// Rewrites `value` as Go's JSON encoding of the typed field described by `schema` would print
/// it: a duration (a string with Flux's duration pattern) in `time.Duration`'s form, and an
/// optional field (not `required` by its parent) at its zero value left out (`omitempty`).
/// Fields the schema keeps verbatim (`x-kubernetes-preserve-unknown-fields`) are left alone.
fn as_go_encodes(value: &mut Value, schema: &Value) {
    match value {
        Value::String(text) => {
            let pattern = schema["pattern"].as_str();
            if matches!(pattern, Some(DURATION_PATTERN | DURATION_NO_HOURS_PATTERN))
                && let Ok(duration) = Duration::new(text.as_str()).and_then(|d| d.to_std())
            {
                *text = Duration::from_std(duration).to_string();
            }
        }
        Value::Array(items) => {
            for item in items {
                as_go_encodes(item, &schema["items"]);
            }
        }
        Value::Object(fields) => {
            if schema["x-kubernetes-preserve-unknown-fields"] == true {
                return;
            }
            let required = schema["required"].as_array();
            let is_required = |key: &str| required.is_some_and(|r| r.iter().any(|k| k == key));
            let properties = schema.get("properties");
            for (key, field) in fields.iter_mut() {
                let field_schema = match properties {
                    Some(properties) => &properties[key.as_str()],
                    None => &schema["additionalProperties"],
                };
                as_go_encodes(field, field_schema);
            }
            if let Some(properties) = properties {
                fields.retain(|key, field| {
                    is_required(key) || !is_omitted_zero(field, &properties[key.as_str()])
                });
            }
        }
        _ => {}
    }
}

/// Whether Go's `omitempty` drops the value: false, 0, "", an empty list or an empty map (a
/// struct, which has `properties`, is kept even when empty).
fn is_omitted_zero(value: &Value, schema: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty() && schema.get("properties").is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_take_go_form_and_optional_zero_values_are_dropped() {
        let schema = json!({"type": "object", "required": ["interval", "prune"], "properties": {
            "interval": {"type": "string", "pattern": DURATION_PATTERN},
            "timeout": {"type": "string", "pattern": DURATION_NO_HOURS_PATTERN},
            "prune": {"type": "boolean"},
            "force": {"type": "boolean"},
            "path": {"type": "string"},
            "components": {"type": "array", "items": {"type": "string"}},
            "commonMetadata": {"type": "object", "properties": {"labels": {"type": "object",
                "additionalProperties": {"type": "string"}}}},
            "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}});
        let mut spec = json!({"interval": "90s", "timeout": "1m", "prune": false, "force": false,
            "path": "", "components": [], "commonMetadata": {"labels": {}},
            "values": {"interval": "10m", "off": false}});
        as_go_encodes(&mut spec, &schema);
        assert_eq!(
            spec,
            json!({"interval": "1m30s", "timeout": "1m0s", "prune": false,
                "commonMetadata": {}, "values": {"interval": "10m", "off": false}})
        );
    }

    #[test]
    fn the_export_text_is_a_document_with_sorted_keys() {
        let object = json!({"kind": "GitRepository", "apiVersion": "source.toolkit.fluxcd.io/v1",
            "metadata": {"namespace": "flux-system", "name": "podinfo"},
            "spec": {"url": "https://github.com/stefanprodan/podinfo", "interval": "1m0s"}});
        assert_eq!(
            export_text(&object),
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  url: https://github.com/stefanprodan/podinfo\n"
        );
    }
}
