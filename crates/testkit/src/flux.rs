//! Flux objects for e2e tests: a namespace with a GitRepository served by a real sshd, untyped
//! APIs for any Flux kind, waiting on a `Ready` condition, and the manifests the tests sync.

use crate::cluster::{TestNamespace, client, install_crds, wait_for};
use crate::git::{GitRepoFixture, SshGitServer};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::time::Duration;

/// How long the e2e tests wait for a condition before they fail.
pub const WAIT: Duration = Duration::from_secs(90);

/// An untyped API for `group/version` `kind` objects in namespace `ns`.
pub fn dynamic_api(
    client: &kube::Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(client.clone(), ns, &resource)
}

/// `notification.toolkit.fluxcd.io/v1` Receivers in `ns`.
pub fn receivers(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    dynamic_api(
        client,
        ns,
        "notification.toolkit.fluxcd.io",
        "v1",
        "Receiver",
    )
}

/// `kustomize.toolkit.fluxcd.io/v1` Kustomizations in `ns`.
pub fn kustomizations(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    dynamic_api(
        client,
        ns,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
    )
}

/// Creates `object` (JSON with apiVersion, kind and metadata) through `api`.
pub async fn create(api: &Api<DynamicObject>, object: Value) -> anyhow::Result<()> {
    let object: DynamicObject = serde_json::from_value(object)?;
    api.create(&PostParams::default(), &object).await?;
    Ok(())
}

/// Applies a JSON merge patch to `name`.
pub async fn merge_patch(api: &Api<DynamicObject>, name: &str, patch: Value) -> anyhow::Result<()> {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Waits until the object's `Ready` condition satisfies `check(status, reason, message)`, and
/// returns the object as JSON.
pub async fn wait_ready_where(
    api: &Api<DynamicObject>,
    name: &str,
    check: impl Fn(&str, &str, &str) -> bool,
) -> anyhow::Result<Value> {
    let object = wait_for(api, name, WAIT, |o| {
        let value = serde_json::to_value(o).unwrap_or_default();
        condition(&value, "Ready").is_some_and(|(s, r, m)| check(&s, &r, &m))
    })
    .await?;
    Ok(serde_json::to_value(object)?)
}

/// Waits until `name` no longer exists.
pub async fn wait_for_gone<K>(api: &Api<K>, name: &str) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        if api.get_opt(name).await?.is_none() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("{name} still exists after {WAIT:?}")
}

/// The condition `type_` of an object's status, as `(status, reason, message)`.
pub fn condition(object: &Value, type_: &str) -> Option<(String, String, String)> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (text("status"), text("reason"), text("message"))
        })
}

/// A Kustomization `name` applying `path` of GitRepository `app` into `target`, with prune, wait
/// and a 60 s timeout.
pub fn kustomization(name: &str, ns: &str, target: &str, path: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "10m", "path": path, "prune": true, "wait": true, "timeout": "60s",
                 "targetNamespace": target,
                 "sourceRef": {"kind": "GitRepository", "name": "app"}}
    })
}

/// A Deployment `web` with `replicas` nginx pods, as YAML.
pub fn deployment_yaml(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
    )
}

/// A Service `web` in front of the Deployment of [`deployment_yaml`], as YAML.
pub const SERVICE_YAML: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n";

/// A namespace with the CRDs installed, an SSH git server with a deploy key, a repository whose
/// `master` holds `deploy/{deployment,service}.yaml`, the Secret holding the key, and a
/// GitRepository `app` polling at `interval`.
pub struct GitSourceFixture {
    pub client: kube::Client,
    pub ns: TestNamespace,
    pub repo: GitRepoFixture,
    _server: SshGitServer,
}

impl GitSourceFixture {
    pub async fn start(prefix: &str, interval: &str) -> anyhow::Result<Self> {
        let files = [
            ("deploy/deployment.yaml", deployment_yaml(2)),
            ("deploy/service.yaml", SERVICE_YAML.to_owned()),
        ];
        Self::start_with(
            prefix,
            interval,
            |repo| {
                let files: Vec<(&str, &str)> =
                    files.iter().map(|(p, c)| (*p, c.as_str())).collect();
                repo.commit("master", &files, "first").map(drop)
            },
            json!({}),
        )
        .await
    }

    /// Like [`Self::start`], with the repository's first content made by `first_commit` and
    /// `spec` merged over the GitRepository's spec (another `ref`, a `verify`...).
    pub async fn start_with(
        prefix: &str,
        interval: &str,
        first_commit: impl FnOnce(&GitRepoFixture) -> anyhow::Result<()>,
        spec: Value,
    ) -> anyhow::Result<Self> {
        let client = client().await?;
        install_crds(&client, tether_api::crds()).await?;
        let ns = TestNamespace::create(&client, prefix).await?;
        let repo = GitRepoFixture::new("app")?;
        let server = SshGitServer::start()?;
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "ssh-credentials"},
            "stringData": {"identity": server.private_key_pem()?, "known_hosts": server.known_hosts()?}
        }))?;
        ns.api::<Secret>()
            .create(&PostParams::default(), &secret)
            .await?;
        first_commit(&repo)?;
        let sources = dynamic_api(
            &client,
            &ns.name,
            "source.toolkit.fluxcd.io",
            "v1",
            "GitRepository",
        );
        let mut object = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": ns.name},
            "spec": {"url": server.repo_url(&repo.bare_path()), "interval": interval,
                     "ref": {"branch": "master"}, "secretRef": {"name": "ssh-credentials"}}
        });
        if let (Some(target), Some(extra)) = (object["spec"].as_object_mut(), spec.as_object()) {
            for (key, value) in extra {
                target.insert(key.clone(), value.clone());
            }
        }
        create(&sources, object).await?;
        Ok(Self {
            client,
            ns,
            repo,
            _server: server,
        })
    }

    /// The URL of `repo` on this fixture's sshd (the deploy key in `ssh-credentials` reads it),
    /// for more GitRepositories beside `app`.
    pub fn url_of(&self, repo: &GitRepoFixture) -> String {
        self._server.repo_url(&repo.bare_path())
    }
}
