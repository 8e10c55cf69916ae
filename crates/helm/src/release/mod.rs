//! Helm v4 release records (`release/v1.Release`), field for field as Helm serialises them, so
//! that `helm list/history/get/rollback` work on releases tether writes and tether reads the
//! releases `helm install` writes: the record ([`Release`], [`Info`], [`Hook`], the stored
//! chart in [`chart`]), its JSON codec with Go's `omitempty`/`omitzero` rules and RFC 3339
//! nanosecond times ([`json`]), fields of newer Helm versions kept through a decode and
//! re-encode, the records Helm's install, upgrade and rollback actions build, the Secret
//! storage codec and history rules ([`storage`]), and the order hooks run in ([`hooks`]).

pub mod chart;
pub mod hooks;
pub mod json;
pub mod storage;

use std::collections::BTreeMap;

use serde_json::{Map as JsonMap, Value as Json};

pub use chart::ReleaseChart;
pub use json::GoTime;
use json::{Fields, ObjectBuilder, sorted, sorted_map, to_go_json};

use crate::Sorted;

/// Why a release record cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The JSON does not decode into a release as Go would decode it.
    #[error("{0}")]
    Json(String),
    /// The stored payload is not base64, gzip or UTF-8.
    #[error("cannot decode the stored release: {0}")]
    Payload(String),
    /// User labels use a name Helm reserves for its storage.
    #[error(
        "user supplied labels contains system reserved label name. System labels: [name owner status version createdAt modifiedAt]"
    )]
    SystemLabel,
    /// A history operation found no record it needs.
    #[error("{0}")]
    History(String),
}

/// A release's status (`common.Status`); values of newer Helm versions are kept as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Status {
    /// `unknown`.
    Unknown,
    /// `deployed`.
    Deployed,
    /// `uninstalled`.
    Uninstalled,
    /// `superseded`.
    Superseded,
    /// `failed`.
    Failed,
    /// `uninstalling`.
    Uninstalling,
    /// `pending-install`.
    PendingInstall,
    /// `pending-upgrade`.
    PendingUpgrade,
    /// `pending-rollback`.
    PendingRollback,
    /// Any other text (empty when unset).
    #[default]
    Unset,
    /// A status this version does not know.
    Other(String),
}

impl Status {
    /// The status text.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Unset => "",
            Status::Other(s) => s,
        }
    }

    /// Reads status text.
    pub fn parse(text: &str) -> Status {
        match text {
            "unknown" => Status::Unknown,
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            "" => Status::Unset,
            other => Status::Other(other.into()),
        }
    }

    /// Helm's `IsPending`: an install, upgrade or rollback is underway (or was interrupted).
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the release's resources were applied (`apply_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMethod {
    /// Client-side apply, `csa` (also what an empty value means).
    ClientSide,
    /// Server-side apply, `ssa`.
    ServerSide,
}

impl ApplyMethod {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyMethod::ClientSide => "csa",
            ApplyMethod::ServerSide => "ssa",
        }
    }
}

/// `release/v1.Info`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    /// When the release was first deployed.
    pub first_deployed: GoTime,
    /// When this revision was deployed.
    pub last_deployed: GoTime,
    /// When the release was uninstalled.
    pub deleted: GoTime,
    /// What happened, for `helm history`.
    pub description: String,
    /// Status.
    pub status: Status,
    /// The revision a rollback went back to (0 when not a rollback).
    pub rollback_revision: i64,
    /// Rendered `NOTES.txt`.
    pub notes: String,
    /// Deployed resources (Helm fills this only for display; kept as read).
    pub resources: Option<JsonMap<String, Json>>,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

impl Info {
    fn to_json(&self) -> Json {
        let builder = ObjectBuilder::default()
            .time_omitzero("first_deployed", &self.first_deployed)
            .time_omitzero("last_deployed", &self.last_deployed)
            .time_omitzero("deleted", &self.deleted)
            .string("description", &self.description)
            .string("status", self.status.as_str())
            .int("rollback_revision", self.rollback_revision)
            .string("notes", &self.notes);
        let builder = match &self.resources {
            Some(r) if !r.is_empty() => builder.field("resources", Json::Object(sorted_map(r))),
            _ => builder,
        };
        builder.unknown(&self.unknown_fields).build()
    }

    fn from_json(value: Json) -> Result<Info, ReleaseError> {
        let mut f = Fields::of(value, "Info")?;
        let resources = match f.raw("resources") {
            None => None,
            Some(Json::Object(map)) => Some(map),
            Some(_) => {
                return Err(ReleaseError::Json(
                    "json: cannot unmarshal into Go struct field Info.resources of type map[string][]runtime.Object".into(),
                ));
            }
        };
        Ok(Info {
            first_deployed: f.time("first_deployed")?,
            last_deployed: f.time("last_deployed")?,
            deleted: f.time("deleted")?,
            description: f.string("description")?,
            status: Status::parse(&f.string("status")?),
            rollback_revision: f.int("rollback_revision")?,
            notes: f.string("notes")?,
            resources,
            unknown_fields: f.unknown(),
        })
    }
}

/// `release/v1.HookExecution`: the last run of a hook.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookExecution {
    /// When the hook was started.
    pub started_at: GoTime,
    /// When it completed.
    pub completed_at: GoTime,
    /// `Unknown`, `Running`, `Succeeded`, `Failed` (empty before the first run).
    pub phase: String,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

impl HookExecution {
    fn to_json(&self) -> Json {
        ObjectBuilder::default()
            .time_omitzero("started_at", &self.started_at)
            .time_omitzero("completed_at", &self.completed_at)
            .field("phase", Json::String(self.phase.clone()))
            .unknown(&self.unknown_fields)
            .build()
    }

    fn from_json(value: Json) -> Result<HookExecution, ReleaseError> {
        let mut f = Fields::of(value, "HookExecution")?;
        Ok(HookExecution {
            started_at: f.time("started_at")?,
            completed_at: f.time("completed_at")?,
            phase: f.string("phase")?,
            unknown_fields: f.unknown(),
        })
    }
}

/// `release/v1.Hook`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hook {
    /// `metadata.name`.
    pub name: String,
    /// Kubernetes kind.
    pub kind: String,
    /// Template path (`chart/templates/x.yaml`).
    pub path: String,
    /// The document.
    pub manifest: String,
    /// Events (`pre-install`, ..., `test`).
    pub events: Vec<String>,
    /// The last run.
    pub last_run: HookExecution,
    /// `helm.sh/hook-weight`.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries.
    pub delete_policies: Vec<String>,
    /// `helm.sh/hook-output-log-policy` entries.
    pub output_log_policies: Vec<String>,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

impl Hook {
    /// The stored form of a rendered hook (`test-success` is stored as `test`).
    pub fn from_rendered(h: &crate::output::Hook) -> Hook {
        Hook {
            name: h.name.clone(),
            kind: h.manifest.kind.clone(),
            path: h.manifest.path.clone(),
            manifest: h.manifest.content.clone(),
            events: h
                .events
                .iter()
                .map(|e| {
                    if e == "test-success" {
                        "test".to_owned()
                    } else {
                        e.clone()
                    }
                })
                .collect(),
            last_run: HookExecution::default(),
            weight: h.weight,
            delete_policies: h.delete_policies.clone(),
            output_log_policies: h.output_log_policies.clone(),
            unknown_fields: JsonMap::new(),
        }
    }

    fn to_json(&self) -> Json {
        ObjectBuilder::default()
            .string("name", &self.name)
            .string("kind", &self.kind)
            .string("path", &self.path)
            .string("manifest", &self.manifest)
            .strings("events", &self.events)
            .field("last_run", self.last_run.to_json())
            .int("weight", self.weight)
            .strings("delete_policies", &self.delete_policies)
            .strings("output_log_policies", &self.output_log_policies)
            .unknown(&self.unknown_fields)
            .build()
    }

    fn from_json(value: Json) -> Result<Hook, ReleaseError> {
        let mut f = Fields::of(value, "Hook")?;
        Ok(Hook {
            name: f.string("name")?,
            kind: f.string("kind")?,
            path: f.string("path")?,
            manifest: f.string("manifest")?,
            events: f.strings("events")?,
            last_run: f
                .object("last_run", HookExecution::from_json)?
                .unwrap_or_default(),
            weight: f.int("weight")?,
            delete_policies: f.strings("delete_policies")?,
            output_log_policies: f.strings("output_log_policies")?,
            unknown_fields: f.unknown(),
        })
    }
}

/// `release/v1.Release`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Release {
    /// Release name.
    pub name: String,
    /// Status, times, description, notes.
    pub info: Option<Info>,
    /// The chart that was released.
    pub chart: Option<ReleaseChart>,
    /// User-supplied values (`helm get values`).
    pub config: JsonMap<String, Json>,
    /// Rendered manifests (`helm get manifest`), hooks excluded.
    pub manifest: String,
    /// Hooks.
    pub hooks: Vec<Hook>,
    /// Revision.
    pub version: i64,
    /// Namespace.
    pub namespace: String,
    /// Custom labels; stored on the Secret, not in the JSON.
    pub labels: BTreeMap<String, String>,
    /// `csa`, `ssa`, or empty (client-side).
    pub apply_method: String,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

/// What a new install or upgrade record is made of: the rendering
/// ([`crate::template_for_release`]), the user values, the time and the apply method.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    /// The chart after dependency processing (the one rendered).
    pub chart: &'a crate::Chart,
    /// Manifests, hooks and notes.
    pub sorted: &'a Sorted,
    /// User-supplied values.
    pub config: JsonMap<String, Json>,
    /// Deploy time.
    pub now: GoTime,
    /// How resources are applied.
    pub apply_method: ApplyMethod,
}

impl NewRecord<'_> {
    fn into_release(
        self,
        name: &str,
        namespace: &str,
        version: i64,
        info: Info,
    ) -> Result<Release, ReleaseError> {
        Ok(Release {
            name: name.into(),
            namespace: namespace.into(),
            chart: Some(ReleaseChart::from_chart(self.chart)?),
            config: self.config,
            info: Some(Info {
                notes: self.sorted.notes.clone(),
                last_deployed: self.now,
                ..info
            }),
            manifest: crate::output::release_manifest(self.sorted),
            hooks: self.sorted.hooks.iter().map(Hook::from_rendered).collect(),
            version,
            apply_method: self.apply_method.as_str().into(),
            ..Release::default()
        })
    }
}

impl Release {
    /// The status, `Unset` without info.
    pub fn status(&self) -> Status {
        self.info
            .as_ref()
            .map_or(Status::Unset, |i| i.status.clone())
    }

    /// Sets status and description, as Helm's `SetStatus`.
    pub fn set_status(&mut self, status: Status, description: impl Into<String>) {
        let info = self.info.get_or_insert_with(Info::default);
        info.status = status;
        info.description = description.into();
    }

    /// Helm's uninstall, first step on the last record: `uninstalling`, deleted now.
    pub fn mark_uninstalling(&mut self, now: GoTime) {
        self.set_status(
            Status::Uninstalling,
            "Deletion in progress (or silently failed)",
        );
        if let Some(info) = self.info.as_mut() {
            info.deleted = now;
        }
    }

    /// Helm's uninstall, last step when history is kept (without `--keep-history` Helm
    /// deletes every record instead): `uninstalled`, `Uninstallation complete` unless a
    /// description is given. Other `deployed` records are then marked `superseded`.
    pub fn mark_uninstalled(&mut self, description: Option<&str>) {
        let text = description.unwrap_or("Uninstallation complete");
        self.set_status(Status::Uninstalled, text);
    }

    /// The record Helm's install writes first (`pending-install`, `Initial install underway`,
    /// revision 1); the caller sets `deployed` or `failed` when done.
    pub fn for_install(
        name: &str,
        namespace: &str,
        record: NewRecord<'_>,
    ) -> Result<Release, ReleaseError> {
        let info = Info {
            first_deployed: record.now,
            status: Status::PendingInstall,
            description: "Initial install underway".into(),
            ..Info::default()
        };
        record.into_release(name, namespace, 1, info)
    }

    /// The record Helm's upgrade writes first (`pending-upgrade`, `Preparing upgrade`,
    /// revision last + 1) from `base` ([`storage::History::upgrade_base`]). Labels are the
    /// last record's merged with `labels`, a `"null"` value removing one.
    pub fn for_upgrade(
        base: storage::UpgradeBase<'_>,
        record: NewRecord<'_>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Release, ReleaseError> {
        let current = base.current;
        let info = Info {
            first_deployed: current
                .info
                .as_ref()
                .map_or(GoTime::ZERO, |i| i.first_deployed),
            status: Status::PendingUpgrade,
            description: "Preparing upgrade".into(),
            ..Info::default()
        };
        let mut merged = base.last.labels.clone();
        merged.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged.retain(|_, v| v != "null");
        let mut release = record.into_release(
            &current.name,
            &current.namespace,
            base.last.version + 1,
            info,
        )?;
        release.labels = merged;
        Ok(release)
    }

    /// The record Helm's rollback writes first (`pending-rollback`, `Rollback to N`):
    /// `last` is the newest record, `target` the revision rolled back to.
    pub fn for_rollback(
        last: &Release,
        target: &Release,
        now: GoTime,
        apply_method: ApplyMethod,
    ) -> Release {
        Release {
            name: last.name.clone(),
            namespace: last.namespace.clone(),
            chart: target.chart.clone(),
            config: target.config.clone(),
            info: Some(Info {
                first_deployed: last
                    .info
                    .as_ref()
                    .map_or(GoTime::ZERO, |i| i.first_deployed),
                last_deployed: now,
                status: Status::PendingRollback,
                notes: target
                    .info
                    .as_ref()
                    .map(|i| i.notes.clone())
                    .unwrap_or_default(),
                rollback_revision: target.version,
                description: format!("Rollback to {}", target.version),
                ..Info::default()
            }),
            version: last.version + 1,
            labels: target.labels.clone(),
            manifest: target.manifest.clone(),
            hooks: target.hooks.clone(),
            apply_method: apply_method.as_str().into(),
            unknown_fields: JsonMap::new(),
        }
    }

    /// Go's JSON form (without the labels, which Helm keeps out of the JSON).
    pub fn to_json(&self) -> Json {
        let builder = ObjectBuilder::default().string("name", &self.name);
        let builder = match &self.info {
            Some(info) => builder.field("info", info.to_json()),
            None => builder,
        };
        let builder = match &self.chart {
            Some(chart) => builder.field("chart", chart.to_json()),
            None => builder,
        };
        let builder = if self.config.is_empty() {
            builder
        } else {
            builder.field("config", Json::Object(sorted_map(&self.config)))
        };
        let builder = builder.string("manifest", &self.manifest);
        let builder = if self.hooks.is_empty() {
            builder
        } else {
            builder.field(
                "hooks",
                Json::Array(self.hooks.iter().map(Hook::to_json).collect()),
            )
        };
        builder
            .int("version", self.version)
            .string("namespace", &self.namespace)
            .string("apply_method", &self.apply_method)
            .unknown(&self.unknown_fields)
            .build()
    }

    /// The JSON text Helm's `json.Marshal` writes for this record.
    pub fn to_json_string(&self) -> String {
        to_go_json(&self.to_json())
    }

    /// Reads Go's JSON form.
    pub fn from_json(value: Json) -> Result<Release, ReleaseError> {
        let mut f = Fields::of(value, "Release")?;
        Ok(Release {
            name: f.string("name")?,
            info: f.object("info", Info::from_json)?,
            chart: f.object("chart", ReleaseChart::from_json)?,
            config: f.any_map("config")?.unwrap_or_default(),
            manifest: f.string("manifest")?,
            hooks: f.objects("hooks", Hook::from_json)?.unwrap_or_default(),
            version: f.int("version")?,
            namespace: f.string("namespace")?,
            labels: BTreeMap::new(),
            apply_method: f.string("apply_method")?,
            unknown_fields: f.unknown(),
        })
    }

    /// Reads JSON text.
    pub fn from_json_bytes(data: &[u8]) -> Result<Release, ReleaseError> {
        let value: Json = serde_json::from_slice(data)
            .map_err(|e| ReleaseError::Json(format!("invalid JSON: {e}")))?;
        Release::from_json(value)
    }

    /// The user-supplied values with keys sorted, as `helm get values -o json` prints them.
    pub fn config_json(&self) -> Json {
        sorted(&Json::Object(self.config.clone()))
    }
}

#[cfg(test)]
mod tests;
