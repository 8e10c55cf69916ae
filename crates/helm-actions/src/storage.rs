//! Release records in the cluster, as Helm's Secret storage driver keeps them: one Secret per
//! revision in the release's storage namespace (`tether_helm::release::storage` owns the
//! format), listed by the `name=<release>,owner=helm` selector, created, replaced and deleted.
//!
//! A store remembers what it listed and wrote: a release's records are listed once for the life
//! of the store (one reconcile), and its own writes keep that copy current, so the steps of one
//! reconcile (determine the state, install, settle, determine again) cost one LIST, and a record
//! is replaced without reading it first. A replace that meets a newer Secret than remembered
//! (another writer) forgets the copy and goes back to the API server.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use tether_helm::release::storage::{self, DATA_KEY, History, Write};
use tether_helm::release::{Release, Status};

use crate::error::ActionError;

/// The records of the releases of one storage namespace.
#[derive(Clone)]
pub struct ReleaseStore {
    secrets: Api<Secret>,
    namespace: String,
    remembered: Arc<Mutex<HashMap<String, Vec<Stored>>>>,
}

/// A record as this store last listed or wrote it.
#[derive(Clone)]
struct Stored {
    release: Release,
    resource_version: Option<String>,
    created_at: Option<String>,
}

impl Stored {
    fn of(release: &Release, secret: &Secret) -> Stored {
        Stored {
            release: release.clone(),
            resource_version: secret.metadata.resource_version.clone(),
            created_at: secret
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("createdAt").cloned()),
        }
    }
}

impl ReleaseStore {
    /// The store in `namespace`. It trusts what it listed and wrote for its whole life: make
    /// one per reconcile.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        ReleaseStore {
            secrets: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            remembered: Arc::default(),
        }
    }

    /// The storage namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Every record of release `name`, oldest first. A record that cannot be decoded fails the
    /// read: acting on a partial history could lose a revision.
    pub async fn history(&self, name: &str) -> Result<History, ActionError> {
        if let Some(stored) = self.remembered_records(name) {
            return Ok(History::new(
                stored.into_iter().map(|s| s.release).collect(),
            ));
        }
        let list = self
            .secrets
            .list(&ListParams::default().labels(&storage::history_selector(name)))
            .await
            .map_err(|e| self.failed("list the records of", name, &e))?;
        let mut records = Vec::with_capacity(list.items.len());
        for secret in list.items {
            let labels = secret.metadata.labels.clone().unwrap_or_default();
            let data = secret
                .data
                .as_ref()
                .and_then(|d| d.get(DATA_KEY))
                .map(|b| b.0.as_slice())
                .unwrap_or_default();
            let record = storage::decode_secret(&labels, data).map_err(|e| {
                ActionError::Storage(format!(
                    "cannot decode release record {}/{}: {e}",
                    self.namespace,
                    secret.metadata.name.clone().unwrap_or_default()
                ))
            })?;
            records.push(Stored::of(&record, &secret));
        }
        let history = History::new(records.iter().map(|s| s.release.clone()).collect());
        self.remember(name, |remembered| *remembered = Some(records));
        Ok(history)
    }

    /// Stores a new record.
    pub async fn create(&self, release: &Release) -> Result<(), ActionError> {
        let secret = self.secret_of(release, &Write::Create { now: now_unix() })?;
        let created = self
            .secrets
            .create(&PostParams::default(), &secret)
            .await
            .map_err(|e| {
                self.forget(&release.name);
                self.failed("create the record of", &release.name, &e)
            })?;
        self.remember(&release.name, |remembered| {
            if let Some(records) = remembered {
                records.retain(|s| s.release.version != release.version);
                records.push(Stored::of(release, &created));
            }
        });
        Ok(())
    }

    /// Replaces the stored record of `release`'s revision (keeping its `createdAt`).
    pub async fn update(&self, release: &Release) -> Result<(), ActionError> {
        if let Some(stored) = self.remembered_record(&release.name, release.version) {
            let secret = self.updated_secret(release, stored.created_at)?;
            match self.replace(release, secret, stored.resource_version).await {
                Ok(()) => return Ok(()),
                Err(kube::Error::Api(status)) if status.code == 409 => self.forget(&release.name),
                Err(e) => {
                    self.forget(&release.name);
                    return Err(self.failed("update the record of", &release.name, &e));
                }
            }
        }
        let name = storage::secret_name(&release.name, release.version);
        let existing = self
            .secrets
            .get_opt(&name)
            .await
            .map_err(|e| self.failed("read the record of", &release.name, &e))?;
        let (resource_version, created_at) = existing.map_or((None, None), |s| {
            let stored = Stored::of(release, &s);
            (stored.resource_version, stored.created_at)
        });
        let secret = self.updated_secret(release, created_at)?;
        self.replace(release, secret, resource_version)
            .await
            .map_err(|e| {
                self.forget(&release.name);
                self.failed("update the record of", &release.name, &e)
            })
    }

    /// The Secret that rewrites `release`'s record, keeping `created_at`.
    fn updated_secret(
        &self,
        release: &Release,
        created_at: Option<String>,
    ) -> Result<Secret, ActionError> {
        let write = Write::Update {
            now: now_unix(),
            created_at,
        };
        self.secret_of(release, &write)
    }

    /// Writes `secret` (`release`'s record) over the Secret at `resource_version` (creates it
    /// when there is none) and remembers the result.
    async fn replace(
        &self,
        release: &Release,
        mut secret: Secret,
        resource_version: Option<String>,
    ) -> Result<(), kube::Error> {
        let name = storage::secret_name(&release.name, release.version);
        let written = match resource_version {
            Some(version) => {
                secret.metadata.resource_version = Some(version);
                self.secrets
                    .replace(&name, &PostParams::default(), &secret)
                    .await?
            }
            None => self.secrets.create(&PostParams::default(), &secret).await?,
        };
        self.remember(&release.name, |remembered| {
            if let Some(records) = remembered {
                records.retain(|s| s.release.version != release.version);
                records.push(Stored::of(release, &written));
            }
        });
        Ok(())
    }

    /// Deletes revision `version` of release `name` (already gone is fine).
    pub async fn delete(&self, name: &str, version: i64) -> Result<(), ActionError> {
        match self
            .secrets
            .delete(
                &storage::secret_name(name, version),
                &DeleteParams::default(),
            )
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => {
                self.forget(name);
                return Err(self.failed("delete a record of", name, &e));
            }
        }
        self.remember(name, |remembered| {
            if let Some(records) = remembered {
                records.retain(|s| s.release.version != version);
            }
        });
        Ok(())
    }

    /// Sets the status and description of a stored record and writes it back.
    pub async fn mark(
        &self,
        release: &mut Release,
        status: Status,
        description: impl Into<String>,
    ) -> Result<(), ActionError> {
        release.set_status(status, description);
        self.update(release).await
    }

    fn secret_of(&self, release: &Release, write: &Write) -> Result<Secret, ActionError> {
        let encoded = storage::encode_secret(release, write)
            .map_err(|e| ActionError::Storage(format!("cannot encode release record: {e}")))?;
        Ok(Secret {
            metadata: ObjectMeta {
                name: Some(encoded.name),
                namespace: Some(self.namespace.clone()),
                labels: Some(encoded.labels),
                ..ObjectMeta::default()
            },
            type_: Some(encoded.type_),
            data: Some(BTreeMap::from([(
                DATA_KEY.to_owned(),
                ByteString(encoded.release_data),
            )])),
            ..Secret::default()
        })
    }

    fn remembered_records(&self, name: &str) -> Option<Vec<Stored>> {
        self.remembered.lock().ok()?.get(name).cloned()
    }

    fn remembered_record(&self, name: &str, version: i64) -> Option<Stored> {
        let remembered = self.remembered.lock().ok()?;
        remembered
            .get(name)?
            .iter()
            .find(|s| s.release.version == version)
            .cloned()
    }

    /// Changes the remembered records of `name` (`None`: not listed yet).
    fn remember(&self, name: &str, change: impl FnOnce(&mut Option<Vec<Stored>>)) {
        if let Ok(mut remembered) = self.remembered.lock() {
            let mut records = remembered.remove(name);
            change(&mut records);
            if let Some(records) = records {
                remembered.insert(name.to_owned(), records);
            }
        }
    }

    fn forget(&self, name: &str) {
        self.remember(name, |remembered| *remembered = None);
    }

    fn failed(&self, what: &str, name: &str, error: &kube::Error) -> ActionError {
        ActionError::Storage(format!(
            "cannot {what} release {}/{name}: {error}",
            self.namespace
        ))
    }
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}
