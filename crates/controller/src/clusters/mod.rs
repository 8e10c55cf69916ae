//! Where a Kustomization or HelmRelease applies, prunes and checks health, and as whom: the
//! controller's own cluster as the controller; as a ServiceAccount (`spec.serviceAccountName`,
//! else `--default-service-account`), with a token from the TokenRequest API; or a remote
//! cluster named by a kubeconfig Secret (`spec.kubeConfig.secretRef`) or reached with workload
//! identity (`spec.kubeConfig.configMapRef`, see [`workload_identity`]), where a ServiceAccount
//! token is requested from that cluster.
//!
//! Clients are cached: one per remote cluster (with its own discovery cache and index of known
//! objects), rebuilt when the kubeconfig in its Secret or its ConfigMap changes, or when its
//! workload identity token is two thirds through its lifetime; one per ServiceAccount and
//! cluster, renewed before its token expires. A token-based manager on the controller's own
//! cluster shares the controller's discovery cache and index of known objects.
//!
//! Kubeconfigs from Secrets are confined as Flux confines them: only the server, inline
//! certificates, basic auth and bearer tokens are used. A kubeconfig that names files on the
//! controller's filesystem or runs a credential plugin is refused with a clear error.

mod workload_identity;

use crate::helmrelease::capabilities::ClusterCapabilities;
use crate::requests::CountRequests;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tether_api::meta::{KubeConfigReference, LocalObjectReference, SecretKeyReference};
use tether_ssa::{RequestError, ResourceManager};

/// How long a requested ServiceAccount token is valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The keys a kubeconfig Secret is read from when `secretRef.key` is unset, in Flux's order.
const KUBECONFIG_KEYS: [&str; 2] = ["value", "value.yaml"];

/// Why the client of an object's cluster or identity could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The kubeconfig Secret could not be read.
    #[error("unable to read KubeConfig secret: {0}")]
    Secret(#[from] crate::secrets::SecretError),
    /// The kubeconfig Secret has no kubeconfig under the expected key.
    #[error("KubeConfig secret '{secret}' does not contain a '{key}' key with a kubeconfig")]
    MissingKey { secret: String, key: String },
    /// The kubeconfig cannot be used (unparsable, or refused for safety).
    #[error("invalid kubeconfig in secret '{secret}': {message}")]
    InvalidKubeConfig { secret: String, message: String },
    /// A client for the cluster or identity could not be built from its configuration.
    #[error("cannot build a client for {what}: {message}")]
    Client { what: String, message: String },
    /// `spec.kubeConfig` names neither a Secret nor a ConfigMap.
    #[error("spec.kubeConfig names neither a secretRef nor a configMapRef")]
    NoKubeConfig,
    /// The ConfigMap of `spec.kubeConfig.configMapRef` could not be read.
    #[error("failed to get configmap {config_map}: {message}")]
    ConfigMap { config_map: String, message: String },
    /// The ConfigMap names a provider Flux does not know.
    #[error("provider '{provider}' not implemented")]
    UnknownProvider { provider: String },
    /// The ConfigMap names a provider Flux has (`generic`, `aws`, `azure`, `gcp`) that tether
    /// does not implement yet.
    #[error(
        "provider '{provider}' of spec.kubeConfig.configMapRef (configmap {config_map}) is not supported yet"
    )]
    ProviderNotSupported {
        provider: String,
        config_map: String,
    },
    /// The TokenRequest for the ServiceAccount failed (it does not exist, or the controller
    /// may not request its tokens).
    #[error("failed to get a token for ServiceAccount '{namespace}/{name}': {source}")]
    Token {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    /// The workload identity token for a `configMapRef` cluster could not be had (its
    /// ServiceAccount is missing, or the TokenRequest failed).
    #[error("failed to get access token for cluster: {message}")]
    ProviderToken { message: String },
    /// The `address` or `ca.crt` of a `configMapRef` ConfigMap cannot be used.
    #[error("{message}")]
    ClusterAddress { message: String },
    /// The remote cluster did not accept the workload identity token (it does not trust the
    /// controller cluster's issuer, or not for these audiences).
    #[error(
        "the cluster at {address} refused the token of ServiceAccount '{account}' for audiences [{audiences}]: {message}"
    )]
    TokenRefused {
        address: String,
        account: String,
        audiences: String,
        message: String,
    },
}

/// The identity and cluster an object asks for.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// The object's namespace: where its ServiceAccount and kubeconfig Secret live.
    pub namespace: &'a str,
    /// `spec.serviceAccountName`.
    pub service_account: Option<&'a str>,
    /// `spec.kubeConfig`.
    pub kube_config: Option<&'a KubeConfigReference>,
}

/// One cluster the controller talks to: its configuration and client as the controller (or as
/// the kubeconfig's user), the manager that applies there, and its Helm capabilities.
struct Cluster {
    config: kube::Config,
    client: kube::Client,
    manager: ResourceManager,
    capabilities: Arc<ClusterCapabilities>,
}

impl Cluster {
    fn new(config: kube::Config, client: kube::Client, manager: ResourceManager) -> Self {
        let capabilities = Arc::new(ClusterCapabilities::new(client.clone()));
        Self {
            config,
            client,
            manager,
            capabilities,
        }
    }
}

/// A remote cluster, the digest of the kubeconfig or ConfigMap it was built from, and when its
/// workload identity token must be renewed.
struct Remote {
    digest: String,
    cluster: Cluster,
    renew_at: Option<Instant>,
}

impl Remote {
    fn is_current(&self, digest: &str) -> bool {
        self.digest == digest && self.renew_at.is_none_or(|at| Instant::now() < at)
    }
}

/// A ServiceAccount's client and when to request a new token.
struct Token {
    access: Access,
    renew_at: Instant,
}

/// The client and apply manager one reconcile uses, and the Helm capabilities of its cluster
/// (discovered as the controller or the kubeconfig's user, whatever the identity).
#[derive(Clone)]
pub struct Access {
    pub client: kube::Client,
    pub manager: ResourceManager,
    pub capabilities: Arc<ClusterCapabilities>,
}

/// Every cluster and identity the controller has built a client for; see the module
/// documentation.
pub struct Clusters {
    local: Cluster,
    default_service_account: Option<String>,
    /// The ServiceAccount of a workload identity whose ConfigMap names none.
    default_kubeconfig_service_account: Option<String>,
    count: CountRequests,
    /// By `secret/<namespace>/<name>` of the kubeconfig Secret, or
    /// `configmap/<namespace>/<name>` of the ConfigMap.
    remotes: Mutex<HashMap<String, Arc<Remote>>>,
    /// By cluster (empty for the controller's own, else the kubeconfig digest) and
    /// `namespace/name` of the ServiceAccount.
    tokens: Mutex<HashMap<(String, String), Token>>,
}

impl Clusters {
    /// The controller's own cluster: `config` is what `client` was built from, `manager`
    /// applies as the controller.
    pub fn new(
        config: kube::Config,
        client: kube::Client,
        manager: ResourceManager,
        default_service_account: Option<String>,
        default_kubeconfig_service_account: Option<String>,
        count: CountRequests,
    ) -> Self {
        Self {
            local: Cluster::new(config, client, manager),
            default_service_account,
            default_kubeconfig_service_account,
            count,
            remotes: Mutex::default(),
            tokens: Mutex::default(),
        }
    }

    /// The Helm capabilities of the controller's own cluster.
    pub fn local_capabilities(&self) -> &ClusterCapabilities {
        &self.local.capabilities
    }

    /// The client and manager for `who`: its cluster, as its ServiceAccount if it names one
    /// (or the controller has a default), else as the controller (or the kubeconfig's user);
    /// a workload identity cluster as that identity.
    pub async fn access(&self, who: Identity<'_>) -> Result<Access, AccessError> {
        // A workload identity is the identity on its cluster, as in Flux: the object's
        // ServiceAccount (or the default) is not layered on top of it.
        let workload_identity = who
            .kube_config
            .is_some_and(|r| r.secret_ref.is_none() && r.config_map_ref.is_some());
        let account = who
            .service_account
            .filter(|name| !name.is_empty())
            .or(self.default_service_account.as_deref())
            .filter(|_| !workload_identity);
        let remote = match who.kube_config {
            Some(reference) => Some(self.remote(who.namespace, reference).await?),
            None => None,
        };
        let (cluster_key, cluster) = match &remote {
            Some(remote) => (remote.digest.as_str(), &remote.cluster),
            None => ("", &self.local),
        };
        match account {
            Some(account) => {
                self.as_service_account(cluster_key, cluster, who.namespace, account)
                    .await
            }
            None => Ok(Access {
                client: cluster.client.clone(),
                manager: cluster.manager.clone(),
                capabilities: cluster.capabilities.clone(),
            }),
        }
    }

    /// The remote cluster `reference` points at, built again when its Secret or ConfigMap
    /// changed since the last call, or its workload identity token is due for renewal.
    async fn remote(
        &self,
        namespace: &str,
        reference: &KubeConfigReference,
    ) -> Result<Arc<Remote>, AccessError> {
        match (&reference.secret_ref, &reference.config_map_ref) {
            (Some(secret_ref), _) => self.remote_of_secret(namespace, secret_ref).await,
            (None, Some(config_map_ref)) => {
                self.remote_of_config_map(namespace, config_map_ref).await
            }
            (None, None) => Err(AccessError::NoKubeConfig),
        }
    }

    /// The cluster of the kubeconfig in Secret `secret_ref`.
    async fn remote_of_secret(
        &self,
        namespace: &str,
        secret_ref: &SecretKeyReference,
    ) -> Result<Arc<Remote>, AccessError> {
        let secret = format!("{namespace}/{}", secret_ref.name);
        let data =
            crate::secrets::secret_data(&self.local.client, namespace, &secret_ref.name).await?;
        let bytes = kubeconfig_bytes(&data, secret_ref.key.as_deref(), &secret)?;
        let digest = format!("{:x}", Sha256::digest(bytes));
        let key = format!("secret/{secret}");
        if let Some(remote) = self.cached_remote(&key)
            && remote.is_current(&digest)
        {
            return Ok(remote);
        }
        let config = remote_config(bytes, &secret).await?;
        let client =
            self.client_for(config.clone(), &format!("the cluster of secret '{secret}'"))?;
        tracing::info!(%secret, "built the client of a remote cluster");
        Ok(self.keep_remote(key, digest, config, client, None))
    }

    /// The cluster of ConfigMap `config_map_ref`, reached with workload identity.
    async fn remote_of_config_map(
        &self,
        namespace: &str,
        config_map_ref: &LocalObjectReference,
    ) -> Result<Arc<Remote>, AccessError> {
        let name = &config_map_ref.name;
        let cluster =
            workload_identity::read_config_map(&self.local.client, namespace, name).await?;
        let digest = cluster.digest();
        let key = format!("configmap/{namespace}/{name}");
        if let Some(remote) = self.cached_remote(&key)
            && remote.is_current(&digest)
        {
            return Ok(remote);
        }
        let default_account = self.default_kubeconfig_service_account.as_deref();
        let connection = cluster
            .connect(&self.local.client, namespace, default_account)
            .await?;
        let what = format!("the cluster of configmap '{namespace}/{name}'");
        let client = self.client_for(connection.config.clone(), &what)?;
        match client_identity(&client).await {
            Ok(user) => tracing::info!(config_map = %format!("{namespace}/{name}"), %user,
                "built the client of a remote cluster with workload identity"),
            Err(error) if error.code == 401 => {
                return Err(AccessError::TokenRefused {
                    address: cluster.address().to_owned(),
                    account: connection.account,
                    audiences: cluster.audiences().join(", "),
                    message: error.message,
                });
            }
            Err(error) => {
                let message = error.message;
                return Err(AccessError::Client { what, message });
            }
        }
        let renew_at = Some(connection.renew_at);
        Ok(self.keep_remote(key, digest, connection.config, client, renew_at))
    }

    /// Caches the remote cluster built from `config` under `key`, forgetting the ServiceAccount
    /// clients of the one it replaces.
    fn keep_remote(
        &self,
        key: String,
        digest: String,
        config: kube::Config,
        client: kube::Client,
        renew_at: Option<Instant>,
    ) -> Arc<Remote> {
        let manager = ResourceManager::new(client.clone())
            .with_field_manager(self.local.manager.field_manager());
        let remote = Arc::new(Remote {
            digest,
            cluster: Cluster::new(config, client, manager),
            renew_at,
        });
        let replaced = self
            .remotes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, remote.clone());
        if let Some(old) = replaced {
            let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
            tokens.retain(|(cluster, _), _| *cluster != old.digest);
        }
        remote
    }

    fn cached_remote(&self, key: &str) -> Option<Arc<Remote>> {
        let remotes = self.remotes.lock().unwrap_or_else(PoisonError::into_inner);
        remotes.get(key).cloned()
    }

    /// `cluster` as ServiceAccount `namespace/name`, with a token requested from that cluster
    /// (cached until a third of its lifetime is left).
    async fn as_service_account(
        &self,
        cluster_key: &str,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
    ) -> Result<Access, AccessError> {
        let key = (cluster_key.to_owned(), format!("{namespace}/{name}"));
        if let Some(token) = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && Instant::now() < token.renew_at
        {
            return Ok(token.access.clone());
        }
        let requested = Instant::now();
        let (token, lifetime) = request_token(&cluster.client, namespace, name, &[]).await?;
        let mut config = cluster.config.clone();
        config.auth_info = AuthInfo {
            token: Some(token.into()),
            ..AuthInfo::default()
        };
        let client = self.client_for(config, &format!("ServiceAccount '{namespace}/{name}'"))?;
        let access = Access {
            manager: cluster.manager.clone().with_client(client.clone()),
            client,
            capabilities: cluster.capabilities.clone(),
        };
        let renew_at = requested + lifetime * 2 / 3;
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                key,
                Token {
                    access: access.clone(),
                    renew_at,
                },
            );
        Ok(access)
    }

    /// A client for `config` whose requests are counted like the controller's own.
    fn client_for(&self, config: kube::Config, what: &str) -> Result<kube::Client, AccessError> {
        let builder =
            kube::client::ClientBuilder::try_from(config).map_err(|e| AccessError::Client {
                what: what.to_owned(),
                message: e.to_string(),
            })?;
        Ok(builder.with_layer(&self.count).build())
    }
}

/// Requests a token of ServiceAccount `namespace/name` for `audiences` (the API server's own
/// when empty) valid for [`TOKEN_LIFETIME`]; returns it and how long it is valid.
async fn request_token(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    audiences: &[String],
) -> Result<(String, Duration), AccessError> {
    let failed = |source| AccessError::Token {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        source,
    };
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(TOKEN_LIFETIME.as_secs() as i64),
            audiences: Some(audiences.to_vec()).filter(|a| !a.is_empty()),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let answer = accounts
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .map_err(failed)?;
    let status = answer.status.unwrap_or_default();
    let lifetime = workload_identity::remaining(status.expiration_timestamp.as_ref())
        .unwrap_or(TOKEN_LIFETIME)
        .min(TOKEN_LIFETIME);
    status
        .token
        .filter(|t| !t.is_empty())
        .map(|token| (token, lifetime))
        .ok_or_else(|| {
            failed(kube::Error::Service(
                "the API server returned no token".into(),
            ))
        })
}

/// Who `client` is to its API server (a SelfSubjectReview), or why it could not be told (401
/// when the server refuses its credentials).
async fn client_identity(client: &kube::Client) -> Result<String, RequestError> {
    use k8s_openapi::api::authentication::v1::SelfSubjectReview;
    let reviews: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = reviews
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .map_err(|e| RequestError::from_kube(&e))?;
    Ok(review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username)
        .unwrap_or_default())
}

/// The kubeconfig in a Secret's data: under `key` if given, else `value` or `value.yaml`.
fn kubeconfig_bytes<'a>(
    data: &'a std::collections::BTreeMap<String, Vec<u8>>,
    key: Option<&str>,
    secret: &str,
) -> Result<&'a [u8], AccessError> {
    let missing = |key: &str| AccessError::MissingKey {
        secret: secret.to_owned(),
        key: key.to_owned(),
    };
    match key.filter(|k| !k.is_empty()) {
        Some(key) => data.get(key).map(Vec::as_slice).ok_or_else(|| missing(key)),
        None => KUBECONFIG_KEYS
            .iter()
            .find_map(|key| data.get(*key))
            .map(Vec::as_slice)
            .ok_or_else(|| missing(KUBECONFIG_KEYS[0])),
    }
}

/// The client configuration of a kubeconfig from a Secret, confined (see the module
/// documentation).
async fn remote_config(bytes: &[u8], secret: &str) -> Result<kube::Config, AccessError> {
    let invalid = |message: String| AccessError::InvalidKubeConfig {
        secret: secret.to_owned(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".to_owned()))?;
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| invalid(e.to_string()))?;
    let kubeconfig = confined(kubeconfig).map_err(invalid)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| invalid(e.to_string()))
}

/// `kubeconfig` without what Flux ignores in a kubeconfig from a Secret, or why it is refused:
/// files on the controller's filesystem, credential plugins, TLS verification turned off.
fn confined(mut kubeconfig: Kubeconfig) -> Result<Kubeconfig, String> {
    for named in &mut kubeconfig.clusters {
        let Some(cluster) = named.cluster.as_mut() else {
            continue;
        };
        if cluster.certificate_authority.is_some() {
            return Err(format!(
                "cluster '{}' names a certificate-authority file; use certificate-authority-data",
                named.name
            ));
        }
        cluster.insecure_skip_tls_verify = None;
    }
    for named in &mut kubeconfig.auth_infos {
        let Some(user) = named.auth_info.take() else {
            continue;
        };
        let files = user.client_certificate.is_some()
            || user.client_key.is_some()
            || user.token_file.is_some();
        if files {
            return Err(format!(
                "user '{}' names files (client-certificate, client-key or tokenFile); use the inline data fields",
                named.name
            ));
        }
        if user.exec.is_some() || user.auth_provider.is_some() {
            return Err(format!(
                "user '{}' runs a credential plugin (exec or auth-provider), which is refused",
                named.name
            ));
        }
        named.auth_info = Some(AuthInfo {
            username: user.username,
            password: user.password,
            token: user.token,
            client_certificate_data: user.client_certificate_data,
            client_key_data: user.client_key_data,
            ..AuthInfo::default()
        });
    }
    Ok(kubeconfig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn kubeconfig(user: &str) -> Kubeconfig {
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
             clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\n\
             contexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n\
             users:\n- name: u\n  user:\n{user}"
        );
        Kubeconfig::from_yaml(&text).expect("test kubeconfig parses")
    }

    #[test]
    fn a_kubeconfig_is_read_from_value_then_value_yaml_unless_a_key_is_named() {
        let data = BTreeMap::from([
            ("value.yaml".to_owned(), b"second".to_vec()),
            ("custom".to_owned(), b"named".to_vec()),
        ]);
        let read = |data, key| kubeconfig_bytes(data, key, "ns/s").map(<[u8]>::to_vec);
        assert_eq!(read(&data, None).ok(), Some(b"second".to_vec()));
        assert_eq!(read(&data, Some("custom")).ok(), Some(b"named".to_vec()));
        let with_value = BTreeMap::from([("value".to_owned(), b"first".to_vec())]);
        assert_eq!(read(&with_value, None).ok(), Some(b"first".to_vec()));
        let error = read(&BTreeMap::new(), None).map_err(|e| e.to_string());
        assert_eq!(
            error,
            Err("KubeConfig secret 'ns/s' does not contain a 'value' key with a kubeconfig".into())
        );
    }

    #[test]
    fn a_kubeconfig_keeps_inline_credentials_and_loses_insecure_tls() {
        let confined =
            confined(kubeconfig("    token: abc\n    as: admin\n")).expect("nothing refused");
        let user = confined.auth_infos[0].auth_info.as_ref().expect("user");
        assert!(user.token.is_some());
        assert!(user.impersonate.is_none());
        let cluster = confined.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.insecure_skip_tls_verify, None);
    }

    #[test]
    fn a_kubeconfig_naming_files_or_plugins_is_refused() {
        for user in [
            "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n",
            "    client-certificate: /etc/cert\n",
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n",
        ] {
            assert!(confined(kubeconfig(user)).is_err(), "{user}");
        }
    }
}
