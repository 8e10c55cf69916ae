//! The JSON shapes of fluxd's API (fluxcd/flux `pkg/api/v6`, `v9`, `v10`, `v11`, `pkg/job`,
//! `pkg/update`) as fluxctl 1.25 reads and writes them: Go field names, ids as
//! `<namespace>:<kind>/<name>` strings, empty values where Go marshals zero values.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `v6.ControllerStatus`: one workload of `list-workloads`.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ControllerStatus {
    #[serde(rename = "ID")]
    pub id: String,
    pub containers: Vec<Container>,
    pub read_only: String,
    pub status: String,
    pub rollout: RolloutStatus,
    pub sync_error: String,
    pub antecedent: String,
    pub labels: BTreeMap<String, String>,
    pub automated: bool,
    pub locked: bool,
    pub ignore: bool,
    pub policies: BTreeMap<String, String>,
}

/// `cluster.RolloutStatus`.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RolloutStatus {
    pub desired: i64,
    pub updated: i64,
    pub ready: i64,
    pub available: i64,
    pub outdated: i64,
    pub messages: Vec<String>,
}

/// `v6.Container`.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Container {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub current: ImageInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_filtered: Option<ImageInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub available: Vec<ImageInfo>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub available_error: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub available_images_count: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub new_available_images_count: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub filtered_images_count: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub new_filtered_images_count: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `image.Info`: the reference and, when known, when the image was created.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImageInfo {
    #[serde(rename = "ID", skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "CreatedAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// `v6.ImageStatus`: one workload of `list-images`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageStatus {
    #[serde(rename = "ID")]
    pub id: String,
    pub containers: Vec<Container>,
}

/// `v6.GitConfig`: what `identity` and `sync` read.
#[derive(Debug, Clone, Serialize)]
pub struct GitConfig {
    pub remote: GitRemote,
    #[serde(rename = "publicSSHKey")]
    pub public_ssh_key: PublicKey,
    pub status: String,
    pub errors: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GitRemote {
    pub url: String,
    pub branch: String,
    pub path: String,
}

/// `ssh.PublicKey`.
#[derive(Debug, Clone, Serialize)]
pub struct PublicKey {
    pub key: String,
    pub fingerprints: BTreeMap<String, Fingerprint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fingerprint {
    pub hash: String,
    pub randomart: String,
}

/// `update.Cause`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Cause {
    pub message: String,
    pub user: String,
}

/// `update.Spec` as posted to `update-manifests`; `spec` is read per `type`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateSpec {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub cause: Cause,
    #[serde(default)]
    pub spec: serde_json::Value,
}

/// `update.ReleaseImageSpec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseImageSpec {
    #[serde(default)]
    pub service_specs: Vec<String>,
    pub image_spec: String,
    pub kind: String,
    #[serde(default)]
    pub excludes: Option<Vec<String>>,
    #[serde(default)]
    pub force: bool,
}

/// `resource.PolicyUpdate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PolicyUpdate {
    pub add: Option<BTreeMap<String, String>>,
    pub remove: Option<BTreeMap<String, String>>,
}

/// `update.WorkloadResult`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkloadResult {
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    pub per_container: Vec<ContainerUpdate>,
}

/// `update.ReleaseContainersSpec`: what `fluxctl release --interactive` posts once the user
/// has chosen (`ContainerSpecs` keyed by workload id).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseContainersSpec {
    pub kind: String,
    #[serde(default)]
    pub container_specs: BTreeMap<String, Vec<ContainerUpdate>>,
    #[serde(default)]
    pub skip_mismatches: bool,
    #[serde(default)]
    pub force: bool,
}

/// `update.ContainerUpdate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdate {
    pub container: String,
    pub current: String,
    pub target: String,
}

/// `job.Result`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobResult {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<UpdateSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub result: BTreeMap<String, WorkloadResult>,
}

/// `job.Status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobStatus {
    #[serde(rename = "Result")]
    pub result: JobResult,
    #[serde(rename = "Err")]
    pub err: String,
    #[serde(rename = "StatusString")]
    pub status: String,
}

/// `fluxerr.Error` as JSON: what fluxctl prints for a failed request.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub help: String,
    pub error: String,
}

/// `v9.Change` posted to `notify`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub kind: String,
    #[serde(default)]
    pub source: serde_json::Value,
}
