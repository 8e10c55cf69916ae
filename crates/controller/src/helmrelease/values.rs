//! A HelmRelease's values, composed as helm-controller composes them: every `valuesFrom` entry
//! in order (a ConfigMap's or Secret's key — `values.yaml` by default — merged at the root, or
//! set at `targetPath` with Helm's `--set` syntax), then `spec.values` merged over the result.
//! A missing object or key fails the reconcile naming it, unless the entry is `optional`.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use serde_json::{Map as JsonMap, Value as Json};
use tether_api::helm::conditions::reasons;
use tether_api::helm::v2::{ValuesKind, ValuesReference};
use tether_helm::strvals::{Reader, parse_into};
use tether_helm::values::merge_maps;

use crate::failure::Failure;

/// The values of a release in `namespace` from `references` and `inline` values.
pub async fn compose(
    client: &kube::Client,
    namespace: &str,
    references: &[ValuesReference],
    inline: Option<&Json>,
) -> Result<JsonMap<String, Json>, Failure> {
    let mut result = JsonMap::new();
    for reference in references {
        let Some(data) = read(client, namespace, reference).await? else {
            continue;
        };
        match reference.target_path.as_deref().filter(|p| !p.is_empty()) {
            Some(path) => {
                let reader = if reference.literal == Some(true) {
                    Reader::Strings
                } else {
                    Reader::Typed
                };
                let escaped = data.replace('\\', "\\\\").replace(',', "\\,");
                parse_into(&format!("{path}={escaped}"), &mut result, reader).map_err(|e| {
                    invalid(
                        reference,
                        namespace,
                        &format!("unable to merge value at '{path}': {e}"),
                    )
                })?;
            }
            None => {
                let parsed = tether_helm::load::load_values(data.as_bytes()).map_err(|e| {
                    invalid(reference, namespace, &format!("unable to read values: {e}"))
                })?;
                result = merge_maps(result, parsed);
            }
        }
    }
    if let Some(inline) = inline {
        match inline {
            Json::Object(map) => result = merge_maps(result, map.clone()),
            Json::Null => {}
            _ => {
                return Err(Failure::terminal(
                    reasons::INIT_FAILED,
                    "spec.values must be a map",
                ));
            }
        }
    }
    Ok(result)
}

/// The referenced key's text, or `None` when it is optional and missing.
async fn read(
    client: &kube::Client,
    namespace: &str,
    reference: &ValuesReference,
) -> Result<Option<String>, Failure> {
    let key = reference.values_key_or_default();
    let optional = reference.optional == Some(true);
    let shown = format!("{} '{namespace}/{}'", kind_name(reference), reference.name);
    let found = match reference.kind {
        ValuesKind::ConfigMap => Api::<ConfigMap>::namespaced(client.clone(), namespace)
            .get_opt(&reference.name)
            .await
            .map(|cm| {
                cm.map(|cm| {
                    let data = cm.data.unwrap_or_default();
                    data.get(key).cloned().or_else(|| {
                        cm.binary_data?
                            .get(key)
                            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                    })
                })
            }),
        _ => Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(&reference.name)
            .await
            .map(|secret| {
                secret.map(|s| {
                    s.data?
                        .get(key)
                        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                })
            }),
    };
    match found {
        Err(error) => Err(Failure::new(
            reasons::INIT_FAILED,
            format!("could not get {shown}: {error}"),
        )),
        Ok(None) if optional => Ok(None),
        Ok(None) => Err(Failure::new(
            reasons::INIT_FAILED,
            format!("could not find {shown}"),
        )),
        Ok(Some(None)) if optional => Ok(None),
        Ok(Some(None)) => Err(Failure::new(
            reasons::INIT_FAILED,
            format!("missing key '{key}' in {shown}"),
        )),
        Ok(Some(Some(text))) => Ok(Some(text)),
    }
}

fn kind_name(reference: &ValuesReference) -> &'static str {
    match reference.kind {
        ValuesKind::ConfigMap => "ConfigMap",
        _ => "Secret",
    }
}

fn invalid(reference: &ValuesReference, namespace: &str, why: &str) -> Failure {
    Failure::terminal(
        reasons::INIT_FAILED,
        format!(
            "{} '{namespace}/{}' key '{}': {why}",
            kind_name(reference),
            reference.name,
            reference.values_key_or_default()
        ),
    )
}
