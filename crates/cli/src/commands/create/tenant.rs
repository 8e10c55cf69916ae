//! `create tenant NAME --with-namespace NS`: per namespace, the Namespace (unless
//! `--skip-namespace`), the tenant's ServiceAccount and a RoleBinding `<tenant>-reconciler`
//! granting the ClusterRole to it and to `gotk:<ns>:reconciler`, all labelled
//! `toolkit.fluxcd.io/tenant: <tenant>` — as `flux create tenant` makes them.

use super::flags;
use crate::cli::{CreateArgs, CreateTenantArgs};
use crate::commands::cluster;
use crate::commands::output::{action, success};
use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const TENANT_LABEL: &str = "toolkit.fluxcd.io/tenant";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The objects of one namespace of the tenant.
struct TenantObjects {
    namespace: Value,
    account: Value,
    binding: Value,
}

pub fn run(args: &CreateArgs, tenant: &CreateTenantArgs) -> anyhow::Result<()> {
    let name = flags::object_name(&tenant.name)?;
    qualified(&name).map_err(|e| anyhow::anyhow!("invalid tenant name '{name}': [{e}]"))?;
    if tenant.cluster_role.is_empty() {
        bail!("cluster-role is required");
    }
    if tenant.namespaces.is_empty() {
        bail!("with-namespace is required");
    }
    let mut labels = flags::parse_labels(&args.labels)?.unwrap_or_default();
    labels.insert(TENANT_LABEL.to_owned(), name.clone());
    let mut objects = Vec::new();
    for namespace in &tenant.namespaces {
        qualified(namespace)
            .map_err(|e| anyhow::anyhow!("invalid namespace '{namespace}': [{e}]"))?;
        let account = if tenant.service_account.is_empty() {
            &name
        } else {
            &tenant.service_account
        };
        qualified(account)
            .map_err(|e| anyhow::anyhow!("invalid service-account name '{account}': [{e}]"))?;
        objects.push(tenant_objects(
            &name,
            namespace,
            account,
            &tenant.cluster_role,
            &labels,
        ));
    }
    if args.export {
        for set in &objects {
            if !tenant.skip_namespace {
                print!("{}", super::export_value(&set.namespace));
            }
            print!("{}", super::export_value(&set.account));
            print!("{}", super::export_value(&set.binding));
        }
        return Ok(());
    }
    cluster::block_on(async {
        let client = cluster::client(&args.cluster).await?;
        for set in objects {
            apply_tenant(&client, set, tenant.skip_namespace).await?;
        }
        success("tenant setup completed");
        Ok(())
    })
}

fn tenant_objects(
    tenant: &str,
    namespace: &str,
    account: &str,
    cluster_role: &str,
    labels: &BTreeMap<String, String>,
) -> TenantObjects {
    TenantObjects {
        namespace: json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"labels": labels, "name": namespace}}),
        account: json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"labels": labels, "name": account, "namespace": namespace}}),
        binding: json!({"apiVersion": format!("{RBAC_GROUP}/v1"), "kind": "RoleBinding",
        "metadata": {"labels": labels, "name": format!("{tenant}-reconciler"),
                     "namespace": namespace},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": cluster_role},
        "subjects": [
            {"apiGroup": RBAC_GROUP, "kind": "User",
             "name": format!("gotk:{namespace}:reconciler")},
            {"kind": "ServiceAccount", "name": account, "namespace": namespace},
        ]}),
    }
}

/// Creates the objects, or updates them as Flux's upserts do: labels of the Namespace and
/// ServiceAccount replaced, a RoleBinding that differs deleted and created again.
async fn apply_tenant(
    client: &kube::Client,
    set: TenantObjects,
    skip_namespace: bool,
) -> anyhow::Result<()> {
    let name_of = |v: &Value| {
        v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let namespace = name_of(&set.namespace);
    if !skip_namespace {
        action(&format!("applying namespace {namespace}"));
        let api = Api::<Namespace>::all(client.clone());
        upsert_labels(&api, serde_json::from_value(set.namespace)?).await?;
    }
    action(&format!(
        "applying service account {}",
        name_of(&set.account)
    ));
    let api = Api::<ServiceAccount>::namespaced(client.clone(), &namespace);
    upsert_labels(&api, serde_json::from_value(set.account)?).await?;
    action(&format!("applying role binding {}", name_of(&set.binding)));
    let api = Api::<RoleBinding>::namespaced(client.clone(), &namespace);
    let binding: RoleBinding = serde_json::from_value(set.binding)?;
    let name = binding.metadata.name.clone().unwrap_or_default();
    match api.get_opt(&name).await? {
        Some(existing)
            if existing.subjects == binding.subjects
                && existing.role_ref == binding.role_ref
                && existing.metadata.labels == binding.metadata.labels => {}
        Some(_) => {
            api.delete(&name, &DeleteParams::default()).await?;
            api.create(&PostParams::default(), &binding).await?;
        }
        None => {
            api.create(&PostParams::default(), &binding).await?;
        }
    }
    Ok(())
}

/// Creates the object, or sets its labels on the stored one.
async fn upsert_labels<K>(api: &Api<K>, object: K) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    match api.get_opt(&name).await? {
        None => {
            api.create(&PostParams::default(), &object).await?;
        }
        Some(mut existing) if existing.meta().labels != object.meta().labels => {
            existing.meta_mut().labels = object.meta().labels.clone();
            api.replace(&name, &PostParams::default(), &existing)
                .await
                .with_context(|| format!("cannot update {name}"))?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Kubernetes' `IsQualifiedName`, its errors as Go prints a list (`[a b]`).
fn qualified(value: &str) -> Result<(), String> {
    let errors = flags::qualified_name_errors(value);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join(" "))
    }
}
