//! The image automation reconcilers, as Flux's image-reflector-controller and
//! image-automation-controller: ImageRepository scans a registry for tags, ImagePolicy elects
//! the latest image among them, ImageUpdateAutomation writes the elected images into Git.
//! The work itself belongs to the engines (`tether-registry`, `tether-imagepolicy`,
//! `tether-setters`, `tether-source`); these modules are the kinds' steps, and this one holds
//! what they share: how a registry is reached for an ImageRepository.

pub mod automation;
pub mod policy;
pub mod repository;

use crate::secrets::secret_data;
use kube::api::Api;
use std::time::Duration;
use tether_api::image::v1::ImageRepository;
use tether_registry::{Credentials, DockerConfig, ImageName, ScanOptions, TlsConfig};

/// How to reach the registry of `repo`: `insecure`, the timeout, the credentials of the
/// `secretRef` docker config for its image and the TLS material of `certSecretRef`. Errors
/// are the message only; callers put them in their own words.
pub async fn scan_options(
    client: &kube::Client,
    repo: &ImageRepository,
    image: &ImageName,
) -> Result<ScanOptions, String> {
    use kube::ResourceExt;
    let namespace = repo.namespace().unwrap_or_default();
    let mut options = ScanOptions {
        insecure: repo.spec.insecure == Some(true),
        timeout: repo
            .spec
            .effective_timeout()
            .unwrap_or(Duration::from_secs(60)),
        credentials: Credentials::Anonymous,
        ..ScanOptions::default()
    };
    if let Some(secret) = &repo.spec.secret_ref {
        let data = secret_data(client, &namespace, &secret.name)
            .await
            .map_err(|e| e.to_string())?;
        let config =
            DockerConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .map_err(|e| format!("secret '{namespace}/{}': {e}", secret.name))?;
        options.credentials = config.credentials_for(image);
    }
    if options.credentials == Credentials::Anonymous
        && let Some(account) = &repo.spec.service_account_name
    {
        options.credentials =
            service_account_credentials(client, &namespace, account, image).await?;
    }
    if let Some(secret) = &repo.spec.cert_secret_ref {
        let data = secret_data(client, &namespace, &secret.name)
            .await
            .map_err(|e| e.to_string())?;
        options.tls =
            TlsConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
    }
    Ok(options)
}

/// The credentials for `image` in the `imagePullSecrets` of ServiceAccount `namespace/name`
/// (Flux's `serviceAccountName` with the generic provider): the first secret that has any.
async fn service_account_credentials(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    image: &ImageName,
) -> Result<Credentials, String> {
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), namespace);
    let account = accounts
        .get_opt(name)
        .await
        .map_err(|e| format!("failed to get service account '{namespace}/{name}': {e}"))?
        .ok_or_else(|| format!("service account '{namespace}/{name}' not found"))?;
    for secret in account.image_pull_secrets.iter().flatten() {
        let data = secret_data(client, namespace, &secret.name)
            .await
            .map_err(|e| e.to_string())?;
        let Ok(config) =
            DockerConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
        else {
            continue;
        };
        let credentials = config.credentials_for(image);
        if credentials != Credentials::Anonymous {
            return Ok(credentials);
        }
    }
    Ok(Credentials::Anonymous)
}
