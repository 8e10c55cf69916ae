//! How a registry is reached for an object that names one (ImageRepository, OCIRepository):
//! plain HTTP or not, the timeout, credentials from a docker config Secret or a ServiceAccount's
//! image pull secrets, and TLS material.

use crate::secrets::secret_data;
use kube::api::Api;
use std::time::Duration;
use tether_registry::{Credentials, DockerConfig, ImageName, ScanOptions, TlsConfig};

/// How an object reaches a registry: the fields ImageRepository and OCIRepository share.
pub struct RegistryAccess<'a> {
    /// The object's namespace, where its Secrets and ServiceAccount are.
    pub namespace: String,
    /// `spec.insecure`: plain HTTP allowed.
    pub insecure: bool,
    /// `spec.timeout`; 60 s when unset.
    pub timeout: Option<Duration>,
    /// `spec.secretRef`: a docker config Secret.
    pub secret_ref: Option<&'a str>,
    /// `spec.serviceAccountName`: whose image pull secrets to use.
    pub service_account: Option<&'a str>,
    /// `spec.certSecretRef`: CA and client certificate.
    pub cert_secret_ref: Option<&'a str>,
}

/// How to reach the registry of `image`: `insecure`, the timeout, the credentials of the
/// `secretRef` docker config (else of the ServiceAccount's pull secrets) and the TLS material of
/// `certSecretRef`. Errors are the message only; callers put them in their own words.
pub async fn scan_options(
    client: &kube::Client,
    access: &RegistryAccess<'_>,
    image: &ImageName,
) -> Result<ScanOptions, String> {
    let namespace = &access.namespace;
    let mut options = ScanOptions {
        insecure: access.insecure,
        timeout: access.timeout.unwrap_or(Duration::from_secs(60)),
        credentials: Credentials::Anonymous,
        ..ScanOptions::default()
    };
    if let Some(secret) = access.secret_ref {
        let data = secret_data(client, namespace, secret)
            .await
            .map_err(|e| e.to_string())?;
        let config =
            DockerConfig::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .map_err(|e| format!("secret '{namespace}/{secret}': {e}"))?;
        options.credentials = config.credentials_for(image);
    }
    if options.credentials == Credentials::Anonymous
        && let Some(account) = access.service_account
    {
        options.credentials =
            service_account_credentials(client, namespace, account, image).await?;
    }
    if let Some(secret) = access.cert_secret_ref {
        let data = secret_data(client, namespace, secret)
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
