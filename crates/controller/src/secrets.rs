//! Reading a Secret's data for the reconcilers (registry credentials, Git credentials, signing
//! keys), with errors that name the Secret and never its contents.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use std::collections::BTreeMap;

/// Why a Secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("failed to get secret '{namespace}/{name}': {source}")]
    Get {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("failed to get secret '{namespace}/{name}': secrets \"{name}\" not found")]
    NotFound { namespace: String, name: String },
}

/// The decoded data of Secret `namespace/name`.
pub async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, Vec<u8>>, SecretError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets
        .get_opt(name)
        .await
        .map_err(|source| SecretError::Get {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        })?
        .ok_or_else(|| SecretError::NotFound {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}
