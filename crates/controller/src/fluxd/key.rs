//! The deploy key as fluxd kept it: the private key under `--k8s-secret-data-key` (default
//! `identity`) of the Secret `--k8s-secret-name` (default `flux-git-deploy`) in fluxd's own
//! namespace. A missing Secret, or one without the key, gets a generated key written into it
//! (the Secret is created or patched); an existing key is used as it is. `fluxctl identity
//! --regenerate` replaces it with a new one the same way.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use std::collections::BTreeMap;
use tether_source::DeployKey;

/// Why the deploy key could not be read or stored. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read Secret '{namespace}/{name}': {source}")]
    Read {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("cannot write the deploy key into Secret '{namespace}/{name}': {source}")]
    Write {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("Secret '{namespace}/{name}' key '{key}': {source}")]
    Invalid {
        namespace: String,
        name: String,
        key: String,
        source: tether_source::DeployKeyError,
    },
}

/// Where the key lives.
#[derive(Debug, Clone)]
pub struct KeySecret {
    pub namespace: String,
    pub name: String,
    pub data_key: String,
}

/// The deploy key of `secret`, generated and stored when missing.
pub async fn ensure_deploy_key(
    client: &kube::Client,
    secret: &KeySecret,
) -> Result<DeployKey, KeyError> {
    let (api, found) = read_secret(client, secret).await?;
    let stored = found
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .and_then(|d| d.get(&secret.data_key))
        .filter(|v| !v.0.is_empty());
    if let Some(bytes) = stored {
        let text = String::from_utf8_lossy(&bytes.0);
        return DeployKey::from_private_pem(&text).map_err(|source| invalid(secret, source));
    }
    store_new_key(&api, secret, found.is_some()).await
}

/// A newly generated deploy key, written over the one in `secret`.
pub async fn regenerate_deploy_key(
    client: &kube::Client,
    secret: &KeySecret,
) -> Result<DeployKey, KeyError> {
    let (api, found) = read_secret(client, secret).await?;
    store_new_key(&api, secret, found.is_some()).await
}

/// The Secret's API and the Secret, if it exists.
async fn read_secret(
    client: &kube::Client,
    secret: &KeySecret,
) -> Result<(Api<Secret>, Option<Secret>), KeyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &secret.namespace);
    let found = api
        .get_opt(&secret.name)
        .await
        .map_err(|source| KeyError::Read {
            namespace: secret.namespace.clone(),
            name: secret.name.clone(),
            source,
        })?;
    Ok((api, found))
}

/// Generates a key and writes it into the Secret (patched when it `exists`, else created).
async fn store_new_key(
    api: &Api<Secret>,
    secret: &KeySecret,
    exists: bool,
) -> Result<DeployKey, KeyError> {
    let key = DeployKey::generate("flux-generated").map_err(|source| invalid(secret, source))?;
    let data = BTreeMap::from([(
        secret.data_key.clone(),
        ByteString(key.private_pem.clone().into_bytes()),
    )]);
    let write = |source| KeyError::Write {
        namespace: secret.namespace.clone(),
        name: secret.name.clone(),
        source,
    };
    if exists {
        let patch = serde_json::json!({"data": data});
        api.patch(&secret.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(write)?;
    } else {
        let mut new = Secret {
            data: Some(data),
            type_: Some("Opaque".into()),
            ..Secret::default()
        };
        new.metadata.name = Some(secret.name.clone());
        api.create(&PostParams::default(), &new)
            .await
            .map_err(write)?;
    }
    Ok(key)
}

fn invalid(secret: &KeySecret, source: tether_source::DeployKeyError) -> KeyError {
    KeyError::Invalid {
        namespace: secret.namespace.clone(),
        name: secret.name.clone(),
        key: secret.data_key.clone(),
        source,
    }
}
