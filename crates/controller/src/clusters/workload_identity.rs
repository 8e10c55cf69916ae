//! `spec.kubeConfig.configMapRef`: a remote cluster reached with workload identity, as
//! fluxcd/pkg's `auth` package reaches it (Flux 2.6+). The ConfigMap names a `provider`; tether
//! implements `generic`, where the controller's cluster is the identity provider: a token of a
//! ServiceAccount in the object's namespace (the ConfigMap's `serviceAccountName`, else
//! `--default-kubeconfig-service-account`, else the controller's own), requested with the
//! `audiences` (default: the `address`), is the bearer token for the API server at `address`,
//! trusted through `ca.crt`. The remote cluster must trust the controller cluster's issuer.
//! The cloud providers (`aws`, `azure`, `gcp`) are refused as not supported yet.
//!
//! Unlike Flux, a ServiceAccount named by the ConfigMap needs no
//! `--feature-gates=ObjectLevelWorkloadIdentity=true`: tether has no feature gates.

use super::{AccessError, request_token};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tether_api::meta::kubeconfig_keys;
use tether_ssa::RequestError;

/// The providers a `kubeConfig.configMapRef` ConfigMap may name (fluxcd/pkg auth).
const FLUX_PROVIDERS: [&str; 4] = ["aws", "azure", "gcp", "generic"];

/// The provider tether implements.
const GENERIC: &str = "generic";

/// Where the controller's own ServiceAccount token is mounted when it runs in a Pod.
const CONTROLLER_TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Flux's message when the operator's default ServiceAccount is missing in the namespace.
const DEFAULT_SERVICE_ACCOUNT_NOT_FOUND: &str = "the specified default service account does not exist in the object namespace. your cluster is subject to multi-tenant workload identity lockdown, reach out to your cluster administrator for help";

/// A `generic` provider ConfigMap, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GenericCluster {
    /// The API server, `https://<lowercase host>:<port>`.
    address: String,
    /// PEM CA bundle of the API server, when given.
    ca: Option<String>,
    /// The audiences of the requested token.
    audiences: Vec<String>,
    /// The ConfigMap's `serviceAccountName`.
    service_account: Option<String>,
}

/// A client configuration for the remote cluster and when its token should be renewed.
pub(super) struct Connection {
    pub config: kube::Config,
    /// The ServiceAccount whose token it carries, `namespace/name`.
    pub account: String,
    pub renew_at: Instant,
}

/// Reads ConfigMap `namespace/name` and checks it as Flux checks it: it exists, names a provider
/// Flux knows, and, for `generic` (the only one tether implements), a valid https address.
pub(super) async fn read_config_map(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<GenericCluster, AccessError> {
    let config_map = format!("{namespace}/{name}");
    let failed = |message: String| AccessError::ConfigMap {
        config_map: config_map.clone(),
        message,
    };
    let found = Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| failed(RequestError::from_kube(&e).message))?
        .ok_or_else(|| failed(format!("configmaps \"{name}\" not found")))?;
    GenericCluster::from_data(&found.data.unwrap_or_default(), &config_map)
}

impl GenericCluster {
    /// The settings of a provider ConfigMap's `data`; `config_map` names it in errors.
    fn from_data(data: &BTreeMap<String, String>, config_map: &str) -> Result<Self, AccessError> {
        let provider = data
            .get(kubeconfig_keys::PROVIDER)
            .cloned()
            .unwrap_or_default();
        if !FLUX_PROVIDERS.contains(&provider.as_str()) {
            return Err(AccessError::UnknownProvider { provider });
        }
        if provider != GENERIC {
            return Err(AccessError::ProviderNotSupported {
                provider,
                config_map: config_map.to_owned(),
            });
        }
        let raw_address = data
            .get(kubeconfig_keys::ADDRESS)
            .cloned()
            .unwrap_or_default();
        let address = cluster_address(&raw_address)?;
        let mut audiences: Vec<String> = data
            .get(kubeconfig_keys::AUDIENCES)
            .map(|lines| {
                lines
                    .split('\n')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if audiences.is_empty() {
            audiences.push(raw_address);
        }
        Ok(Self {
            address,
            ca: data.get(kubeconfig_keys::CA_CERT).cloned(),
            audiences,
            service_account: data.get(kubeconfig_keys::SERVICE_ACCOUNT_NAME).cloned(),
        })
    }

    /// What the cached client depends on: a change rebuilds it.
    pub fn digest(&self) -> String {
        let mut hash = Sha256::new();
        let ca = self.ca.as_deref().unwrap_or_default();
        let account = self.service_account.as_deref().unwrap_or_default();
        for part in [self.address.as_str(), ca, account] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        for audience in &self.audiences {
            hash.update(audience.as_bytes());
            hash.update([0]);
        }
        format!("{:x}", hash.finalize())
    }

    /// A client configuration for the remote cluster with a fresh token of the ServiceAccount
    /// (see the module documentation), requested from the controller's cluster `local`.
    pub async fn connect(
        &self,
        local: &kube::Client,
        namespace: &str,
        default_account: Option<&str>,
    ) -> Result<Connection, AccessError> {
        let (namespace, account) = self
            .service_account(local, namespace, default_account)
            .await?;
        let requested = Instant::now();
        let (token, lifetime) = request_token(local, &namespace, &account, &self.audiences)
            .await
            .map_err(|e| match e {
                AccessError::Token {
                    namespace,
                    name,
                    source,
                } => AccessError::ProviderToken {
                    message: format!(
                        "failed to create kubernetes token for service account '{namespace}/{name}': {}",
                        RequestError::from_kube(&source).message
                    ),
                },
                other => other,
            })?;
        let config = self.config(token).await?;
        Ok(Connection {
            config,
            account: format!("{namespace}/{account}"),
            renew_at: requested + lifetime * 2 / 3,
        })
    }

    /// The ServiceAccount whose token is used, `(namespace, name)`: the ConfigMap's, else the
    /// default, else the controller's own; it must exist.
    async fn service_account(
        &self,
        local: &kube::Client,
        namespace: &str,
        default_account: Option<&str>,
    ) -> Result<(String, String), AccessError> {
        let named = self.service_account.as_deref().filter(|n| !n.is_empty());
        let (namespace, name, is_default) = match (named, default_account) {
            (Some(name), _) => (namespace.to_owned(), name.to_owned(), false),
            (None, Some(name)) => (namespace.to_owned(), name.to_owned(), true),
            (None, None) => {
                let (namespace, name) = controller_service_account(CONTROLLER_TOKEN_FILE)?;
                (namespace, name, false)
            }
        };
        let token_error = |message: String| AccessError::ProviderToken {
            message: format!("failed to get service account '{namespace}/{name}': {message}"),
        };
        let found = Api::<ServiceAccount>::namespaced(local.clone(), &namespace)
            .get_opt(&name)
            .await
            .map_err(|e| token_error(RequestError::from_kube(&e).message))?;
        match found {
            Some(_) => Ok((namespace, name)),
            None if is_default => Err(token_error(DEFAULT_SERVICE_ACCOUNT_NOT_FOUND.to_owned())),
            None => Err(token_error(format!("serviceaccounts \"{name}\" not found"))),
        }
    }

    /// The client configuration: `address`, trusting `ca.crt` (else the system roots), with
    /// `token` as bearer.
    async fn config(&self, token: String) -> Result<kube::Config, AccessError> {
        use base64::Engine as _;
        let ca = self
            .ca
            .as_ref()
            .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem));
        let kubeconfig = serde_json::json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "remote",
            "clusters": [{"name": "remote",
                          "cluster": {"server": self.address, "certificate-authority-data": ca}}],
            "users": [{"name": "workload-identity", "user": {"token": token}}],
            "contexts": [{"name": "remote",
                          "context": {"cluster": "remote", "user": "workload-identity"}}],
        });
        let invalid = |message: String| AccessError::ClusterAddress {
            message: format!("invalid ca.crt or address {}: {message}", self.address),
        };
        let kubeconfig: Kubeconfig =
            serde_json::from_value(kubeconfig).map_err(|e| invalid(e.to_string()))?;
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| invalid(e.to_string()))
    }

    /// The API server address, for messages.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The token audiences, for messages.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
}

/// The canonical form `https://<lowercase host>:<port>` of a ConfigMap's `address`, as Flux
/// parses it: `https://` is assumed without a scheme, any other scheme is refused, the port
/// defaults to 443.
fn cluster_address(raw: &str) -> Result<String, AccessError> {
    if raw.is_empty() {
        return Err(AccessError::ClusterAddress {
            message: "cluster address is required to create a REST config".to_owned(),
        });
    }
    let refused = |why: String| AccessError::ClusterAddress {
        message: format!("failed to parse cluster address {raw}: {why}"),
    };
    let with_scheme = if raw.starts_with("http") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| {
        refused(format!(
            "failed to parse Kubernetes API server address '{with_scheme}': {e}"
        ))
    })?;
    if url.scheme() != "https" {
        return Err(refused(format!(
            "the Kubernetes API server address '{with_scheme}' must use https scheme"
        )));
    }
    let host = url.host_str().unwrap_or_default().to_lowercase();
    let port = url.port().unwrap_or(443);
    Ok(format!("https://{host}:{port}"))
}

/// The controller's own ServiceAccount, `(namespace, name)`, from the subject of the token
/// mounted at `path` (`system:serviceaccount:<namespace>:<name>`).
fn controller_service_account(path: &str) -> Result<(String, String), AccessError> {
    let failed = |message: String| AccessError::ProviderToken {
        message: format!("failed to create provider access token for the controller: {message}"),
    };
    let token = std::fs::read_to_string(path).map_err(|e| {
        failed(format!(
            "failed to read service account token file {path}: {e}"
        ))
    })?;
    token_subject_account(token.trim()).map_err(failed)
}

/// The ServiceAccount a Kubernetes token's `sub` claim names (the token is not verified: it is
/// the controller's own, read from its Pod).
fn token_subject_account(token: &str) -> Result<(String, String), String> {
    use base64::Engine as _;
    let invalid = || "failed to parse service account token".to_owned();
    let payload = token.split('.').nth(1).ok_or_else(invalid)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let subject = claims["sub"]
        .as_str()
        .ok_or_else(|| "failed to get subject from service account token".to_owned())?;
    match subject.split(':').collect::<Vec<_>>().as_slice() {
        [_, _, namespace, name] => Ok(((*namespace).to_owned(), (*name).to_owned())),
        _ => Err(format!(
            "invalid subject format in service account token: {subject}"
        )),
    }
}

/// How long a token that expires at `expires` is still valid.
pub(super) fn remaining(
    expires: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
) -> Option<Duration> {
    let expires = expires?;
    let left = expires
        .0
        .duration_since(k8s_openapi::jiff::Timestamp::now());
    Duration::try_from(left).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<GenericCluster, String> {
        let data = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        GenericCluster::from_data(&data, "ns/remote").map_err(|e| e.to_string())
    }

    #[test]
    fn an_address_is_canonical_https_with_a_port() {
        let ok = |raw: &str| cluster_address(raw).map_err(|e| e.to_string());
        assert_eq!(
            ok("Remote.Example:6443"),
            Ok("https://remote.example:6443".into())
        );
        assert_eq!(ok("https://10.0.0.1"), Ok("https://10.0.0.1:443".into()));
        assert_eq!(
            ok("http://10.0.0.1:80"),
            Err("failed to parse cluster address http://10.0.0.1:80: the Kubernetes API server address 'http://10.0.0.1:80' must use https scheme".into())
        );
        assert_eq!(
            ok(""),
            Err("cluster address is required to create a REST config".into())
        );
    }

    #[test]
    fn audiences_are_the_non_empty_trimmed_lines_else_the_address_as_written() {
        let lines = settings(&[
            ("provider", "generic"),
            ("address", "https://a:1"),
            ("audiences", " one \n\ntwo\n"),
        ]);
        assert_eq!(
            lines.map(|s| s.audiences),
            Ok(vec!["one".to_owned(), "two".to_owned()])
        );
        let default = settings(&[("provider", "generic"), ("address", "A:1")]);
        assert_eq!(default.map(|s| s.audiences), Ok(vec!["A:1".to_owned()]));
    }

    #[test]
    fn unknown_and_cloud_providers_are_refused_naming_them() {
        assert_eq!(
            settings(&[("provider", "eks")]),
            Err("provider 'eks' not implemented".into())
        );
        assert_eq!(settings(&[]), Err("provider '' not implemented".into()));
        assert_eq!(
            settings(&[("provider", "gcp"), ("address", "https://a:1")]),
            Err("provider 'gcp' of spec.kubeConfig.configMapRef (configmap ns/remote) is not supported yet".into())
        );
    }

    #[test]
    fn the_controller_account_is_the_token_subject() {
        use base64::Engine as _;
        let encode = |claims: &str| {
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
            format!("e30.{body}.sig")
        };
        let token = encode(r#"{"sub":"system:serviceaccount:flux-system:tether"}"#);
        assert_eq!(
            token_subject_account(&token),
            Ok(("flux-system".to_owned(), "tether".to_owned()))
        );
        assert_eq!(
            token_subject_account(&encode(r#"{"sub":"admin"}"#)),
            Err("invalid subject format in service account token: admin".to_owned())
        );
        assert!(token_subject_account("not-a-jwt").is_err());
    }
}
