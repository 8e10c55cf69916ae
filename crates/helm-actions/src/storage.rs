//! Release records in the cluster, as Helm's Secret storage driver keeps them: one Secret per
//! revision in the release's storage namespace (`tether_helm::release::storage` owns the
//! format), listed by the `name=<release>,owner=helm` selector, created, replaced and deleted.

use std::collections::BTreeMap;

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
}

impl ReleaseStore {
    /// The store in `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        ReleaseStore {
            secrets: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
        }
    }

    /// The storage namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Every record of release `name`, oldest first. A record that cannot be decoded fails the
    /// read: acting on a partial history could lose a revision.
    pub async fn history(&self, name: &str) -> Result<History, ActionError> {
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
                    secret.metadata.name.unwrap_or_default()
                ))
            })?;
            records.push(record);
        }
        Ok(History::new(records))
    }

    /// Stores a new record.
    pub async fn create(&self, release: &Release) -> Result<(), ActionError> {
        let secret = self.secret_of(release, &Write::Create { now: now_unix() })?;
        self.secrets
            .create(&PostParams::default(), &secret)
            .await
            .map_err(|e| self.failed("create the record of", &release.name, &e))?;
        Ok(())
    }

    /// Replaces the stored record of `release`'s revision (keeping its `createdAt`).
    pub async fn update(&self, release: &Release) -> Result<(), ActionError> {
        let name = storage::secret_name(&release.name, release.version);
        let existing = self
            .secrets
            .get_opt(&name)
            .await
            .map_err(|e| self.failed("read the record of", &release.name, &e))?;
        let created_at = existing
            .as_ref()
            .and_then(|s| s.metadata.labels.as_ref()?.get("createdAt").cloned());
        let mut secret = self.secret_of(
            release,
            &Write::Update {
                now: now_unix(),
                created_at,
            },
        )?;
        let result = match existing {
            Some(existing) => {
                secret.metadata.resource_version = existing.metadata.resource_version;
                self.secrets
                    .replace(&name, &PostParams::default(), &secret)
                    .await
            }
            None => self.secrets.create(&PostParams::default(), &secret).await,
        };
        result.map_err(|e| self.failed("update the record of", &release.name, &e))?;
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
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.failed("delete a record of", name, &e)),
        }
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
