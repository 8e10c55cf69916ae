//! Shared helpers of the e2e tests: a client whose requests pass through a layer that records
//! every write (any request other than GET/HEAD) and, apart, every `dryRun=All` request and
//! every read; fixtures, and lookups.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use anyhow::Context as _;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::client::ClientBuilder;
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use tower::{Layer, Service};

/// The writes a client sent, as `METHOD path?query`, and its dry-runs and reads apart.
#[derive(Clone, Default)]
pub struct Writes(
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Vec<String>>>,
);

impl Writes {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn take_dry_runs(&self) -> Vec<String> {
        std::mem::take(&mut *self.1.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// GET requests, as `path?query` (watches and lists included).
    pub fn take_reads(&self) -> Vec<String> {
        std::mem::take(&mut *self.2.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<S> Layer<S> for Writes {
    type Service = RecordWrites<S>;

    fn layer(&self, inner: S) -> RecordWrites<S> {
        RecordWrites {
            inner,
            writes: self.clone(),
        }
    }
}

pub struct RecordWrites<S> {
    inner: S,
    writes: Writes,
}

impl<S, B> Service<http::Request<B>> for RecordWrites<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.method().clone();
        let uri = request.uri();
        let dry_run = uri.query().is_some_and(|q| q.contains("dryRun=All"));
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        if matches!(method, http::Method::GET | http::Method::HEAD) {
            self.writes
                .2
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(path.to_owned());
        } else {
            let line = format!("{method} {path}");
            let list = if dry_run {
                &self.writes.1
            } else {
                &self.writes.0
            };
            list.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        }
        self.inner.call(request)
    }
}

/// A client for the test cluster that records its writes.
pub async fn recording_client() -> anyhow::Result<(Client, Writes)> {
    let config = tether_testkit::cluster::config().await?;
    let writes = Writes::default();
    let client = ClientBuilder::try_from(config)
        .context("client builder")?
        .with_layer(&writes)
        .build();
    Ok((client, writes))
}

pub fn config_map(namespace: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": namespace}, "data": data})
}

pub fn deployment(namespace: &str, name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1",
                    "ports": [{"containerPort": 8080}]}]}}}})
}

pub fn service(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}})
}

/// A CRD for kind `Widget` in `group`, without a status subresource so `status` can be applied.
pub fn widget_crd(group: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget",
                      "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

pub fn widget(group: &str, namespace: &str, name: &str, status: Value) -> Value {
    json!({"apiVersion": format!("{group}/v1"), "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": 1}, "status": status})
}

/// The live object, or `None`.
pub async fn live(
    client: &Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Option<Value>> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, _): (ApiResource, _) = kube::discovery::pinned_kind(client, &gvk).await?;
    let api: Api<DynamicObject> = if namespace.is_empty() {
        Api::all_with(client.clone(), &resource)
    } else {
        Api::namespaced_with(client.clone(), namespace, &resource)
    };
    Ok(api
        .get_opt(name)
        .await?
        .map(serde_json::to_value)
        .transpose()?)
}

/// Best-effort deletion of a cluster-scoped object at the end of a test.
pub async fn delete_cluster_object(client: &Client, api_version: &str, kind: &str, name: &str) {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    if let Ok((resource, _)) = kube::discovery::pinned_kind(client, &gvk).await {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let _ = api.delete(name, &Default::default()).await;
    }
}
