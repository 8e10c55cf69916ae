//! A HelmRelease's values, composed as helm-controller composes them: every `valuesFrom` entry
//! in order (a ConfigMap's or Secret's key — `values.yaml` by default — merged at the root, or
//! set at `targetPath` with Helm's `--set` syntax), then `spec.values` merged over the result.
//! A missing object or key fails naming it, unless the entry is `optional`. Shared by the
//! HelmRelease reconciler and `tether debug helmrelease --show-values`.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use serde_json::{Map as JsonMap, Value as Json};
use tether_api::helm::conditions::reasons;
use tether_api::helm::v2::{ValuesKind, ValuesReference};
use tether_helm::strvals::{Reader, parse_into};
use tether_helm::values::merge_maps;

use crate::failure::Failure;

/// Why the values could not be composed. Messages name the object (`Secret 'ns/name'`), never
/// a value.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// The referenced ConfigMap or Secret could not be read.
    #[error("could not get {object}: {source}")]
    Read {
        object: String,
        #[source]
        source: kube::Error,
    },
    /// The referenced ConfigMap or Secret does not exist and is not optional.
    #[error("could not find {object}")]
    NotFound { object: String },
    /// The referenced key is not in the object and the entry is not optional.
    #[error("missing key '{key}' in {object}")]
    MissingKey { object: String, key: String },
    /// The referenced key holds no valid values (YAML, or a value for `targetPath`).
    #[error("{object} key '{key}': {why}")]
    Invalid {
        object: String,
        key: String,
        why: String,
    },
    /// `spec.values` is not a map.
    #[error("spec.values must be a map")]
    InlineNotMap,
}

impl ValuesError {
    /// Whether only a change of the object or its references can fix it.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Invalid { .. } | Self::InlineNotMap)
    }
}

impl From<ValuesError> for Failure {
    fn from(error: ValuesError) -> Self {
        let terminal = error.is_terminal();
        Failure::new(reasons::INIT_FAILED, error.to_string()).terminal_if(terminal)
    }
}

/// The values of a release in `namespace` from `references` and `inline` values.
pub async fn compose(
    client: &kube::Client,
    namespace: &str,
    references: &[ValuesReference],
    inline: Option<&Json>,
) -> Result<JsonMap<String, Json>, ValuesError> {
    let mut result = JsonMap::new();
    for reference in references {
        let Some(data) = read(client, namespace, reference).await? else {
            continue;
        };
        merge_reference(&mut result, namespace, reference, &data)?;
    }
    match inline {
        Some(Json::Object(map)) => result = merge_maps(result, map.clone()),
        None | Some(Json::Null) => {}
        Some(_) => return Err(ValuesError::InlineNotMap),
    }
    Ok(result)
}

/// Merges one entry's text into `result`: at `targetPath`, or as a YAML document at the root.
fn merge_reference(
    result: &mut JsonMap<String, Json>,
    namespace: &str,
    reference: &ValuesReference,
    data: &str,
) -> Result<(), ValuesError> {
    match reference.target_path.as_deref().filter(|p| !p.is_empty()) {
        Some(path) => {
            let reader = if reference.literal == Some(true) {
                Reader::Strings
            } else {
                Reader::Typed
            };
            let escaped = data.replace('\\', "\\\\").replace(',', "\\,");
            parse_into(&format!("{path}={escaped}"), result, reader).map_err(|e| {
                invalid(
                    reference,
                    namespace,
                    format!("unable to merge value at '{path}': {e}"),
                )
            })
        }
        None => {
            let parsed = tether_helm::load::load_values(data.as_bytes()).map_err(|e| {
                invalid(reference, namespace, format!("unable to read values: {e}"))
            })?;
            *result = merge_maps(std::mem::take(result), parsed);
            Ok(())
        }
    }
}

/// The referenced key's text, or `None` when it is optional and missing.
async fn read(
    client: &kube::Client,
    namespace: &str,
    reference: &ValuesReference,
) -> Result<Option<String>, ValuesError> {
    let key = reference.values_key_or_default();
    let optional = reference.optional == Some(true);
    let object = shown(reference, namespace);
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
        Err(source) => Err(ValuesError::Read { object, source }),
        Ok(None) if optional => Ok(None),
        Ok(None) => Err(ValuesError::NotFound { object }),
        Ok(Some(None)) if optional => Ok(None),
        Ok(Some(None)) => Err(ValuesError::MissingKey {
            object,
            key: key.to_owned(),
        }),
        Ok(Some(Some(text))) => Ok(Some(text)),
    }
}

/// `Kind 'namespace/name'`.
fn shown(reference: &ValuesReference, namespace: &str) -> String {
    let kind = match reference.kind {
        ValuesKind::ConfigMap => "ConfigMap",
        _ => "Secret",
    };
    format!("{kind} '{namespace}/{}'", reference.name)
}

fn invalid(reference: &ValuesReference, namespace: &str, why: String) -> ValuesError {
    ValuesError::Invalid {
        object: shown(reference, namespace),
        key: reference.values_key_or_default().to_owned(),
        why,
    }
}
