//! Helm's Secret storage driver without the Kubernetes client: the Secret a release record is
//! stored in (name `sh.helm.release.v1.<name>.v<version>`, type `helm.sh/release.v1`, the
//! `name`/`owner`/`status`/`version` and `createdAt`/`modifiedAt` labels, data `release` =
//! base64 of the gzipped JSON), its decoding (un-gzipped payloads accepted, as Helm does), and
//! the history rules Helm's storage and actions apply: last and deployed records, the next
//! revision, what an upgrade starts from, and which records `maxHistory` prunes.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Release, ReleaseError, Status};

/// Prefix of the Secret names (`HelmStorageType`).
pub const STORAGE_PREFIX: &str = "sh.helm.release.v1";
/// The Secret type.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// The data key holding the record.
pub const DATA_KEY: &str = "release";
/// The `owner` label value.
pub const OWNER: &str = "helm";
/// Labels Helm reserves for its storage.
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// Most bytes a decompressed record may have.
const MAX_RECORD_BYTES: u64 = 256 * 1024 * 1024;

/// The Secret holding one record, ready to be turned into a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSecret {
    /// `sh.helm.release.v1.<name>.v<version>`.
    pub name: String,
    /// Namespace (the release's).
    pub namespace: String,
    /// Labels: the custom ones and Helm's system labels.
    pub labels: BTreeMap<String, String>,
    /// [`SECRET_TYPE`].
    pub type_: String,
    /// The value of data key [`DATA_KEY`]: base64 text of the gzipped JSON (the Secret's
    /// `data` base64-encodes it once more on the wire, as Helm's does).
    pub release_data: Vec<u8>,
}

/// Which write the Secret is for: Helm stamps `createdAt` on create, `modifiedAt` on update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// A new record, at this Unix time.
    Create {
        /// Seconds since the epoch.
        now: i64,
    },
    /// A rewrite, at this Unix time, keeping the `createdAt` label of the stored Secret.
    Update {
        /// Seconds since the epoch.
        now: i64,
        /// The stored Secret's `createdAt` label, if any.
        created_at: Option<String>,
    },
}

/// Helm's `makeKey`: the Secret name of revision `version` of release `name`.
pub fn secret_name(name: &str, version: i64) -> String {
    format!("{STORAGE_PREFIX}.{name}.v{version}")
}

/// The label selector of every record of release `name` (Helm's `History` query).
pub fn history_selector(name: &str) -> String {
    format!("name={name},owner={OWNER}")
}

/// Refuses custom labels that use a system label name (Helm's `ContainsSystemLabels`).
pub fn check_custom_labels(labels: &BTreeMap<String, String>) -> Result<(), ReleaseError> {
    if labels.keys().any(|k| SYSTEM_LABELS.contains(&k.as_str())) {
        return Err(ReleaseError::SystemLabel);
    }
    Ok(())
}

/// Helm's `encodeRelease`: base64 of the gzipped (best compression) JSON.
pub fn encode_payload(release: &Release) -> Result<Vec<u8>, ReleaseError> {
    let json = release.to_json_string();
    let mut gz = flate2::GzBuilder::new()
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(json.as_bytes())
        .and_then(|()| gz.finish())
        .map(|bytes| BASE64.encode(bytes).into_bytes())
        .map_err(|e| ReleaseError::Payload(format!("gzip: {e}")))
}

/// Helm's `decodeRelease`: base64, then gunzip when the gzip magic is there, then JSON.
pub fn decode_payload(data: &[u8]) -> Result<Release, ReleaseError> {
    let text: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    let raw = BASE64
        .decode(text)
        .map_err(|e| ReleaseError::Payload(format!("base64: {e}")))?;
    let json = if raw.len() > 3 && raw[..3] == [0x1f, 0x8b, 0x08] {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_RECORD_BYTES)
            .read_to_end(&mut out)
            .map_err(|e| ReleaseError::Payload(format!("gzip: {e}")))?;
        out
    } else {
        raw
    };
    Release::from_json_bytes(&json)
}

/// Helm's `newSecretsObject`: the Secret storing `release`. Custom labels come from
/// `release.labels`; system labels override them.
pub fn encode_secret(release: &Release, write: &Write) -> Result<ReleaseSecret, ReleaseError> {
    let mut labels = release.labels.clone();
    match write {
        Write::Create { now } => {
            labels.insert("createdAt".into(), now.to_string());
        }
        Write::Update { now, created_at } => {
            if let Some(c) = created_at {
                labels.insert("createdAt".into(), c.clone());
            }
            labels.insert("modifiedAt".into(), now.to_string());
        }
    }
    labels.insert("name".into(), release.name.clone());
    labels.insert("owner".into(), OWNER.into());
    labels.insert("status".into(), release.status().as_str().into());
    labels.insert("version".into(), release.version.to_string());
    Ok(ReleaseSecret {
        name: secret_name(&release.name, release.version),
        namespace: release.namespace.clone(),
        labels,
        type_: SECRET_TYPE.into(),
        release_data: encode_payload(release)?,
    })
}

/// Helm's `Secrets.Get`: the record in a Secret's `release` data, its custom labels (the
/// Secret's labels without the system ones) in `labels`.
pub fn decode_secret(
    labels: &BTreeMap<String, String>,
    release_data: &[u8],
) -> Result<Release, ReleaseError> {
    let mut release = decode_payload(release_data)?;
    release.labels = labels
        .iter()
        .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(release)
}

/// The records of one release, oldest first, and the rules Helm applies to them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    records: Vec<Release>,
}

/// What an upgrade starts from (Helm's `prepareUpgrade`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpgradeBase<'a> {
    /// The newest record; the new revision is its version + 1.
    pub last: &'a Release,
    /// The release upgraded from: the deployed one, else a failed or superseded last.
    pub current: &'a Release,
}

impl History {
    /// The history of `records` (one release's, in any order).
    pub fn new(mut records: Vec<Release>) -> History {
        records.sort_by_key(|r| r.version);
        History { records }
    }

    /// The records, oldest first.
    pub fn records(&self) -> &[Release] {
        &self.records
    }

    /// Helm's `Last`: the highest revision.
    pub fn last(&self) -> Option<&Release> {
        self.records.last()
    }

    /// Helm's `Deployed`: the highest revision whose status is `deployed`.
    pub fn deployed(&self) -> Option<&Release> {
        self.records
            .iter()
            .rev()
            .find(|r| r.status() == Status::Deployed)
    }

    /// Revision `version`.
    pub fn get(&self, version: i64) -> Option<&Release> {
        self.records.iter().find(|r| r.version == version)
    }

    /// The revision a new record gets: the last one's + 1, or 1.
    pub fn next_version(&self) -> i64 {
        self.last().map_or(1, |r| r.version + 1)
    }

    /// Whether the newest record is `pending-*`: another operation holds the release (or
    /// died holding it).
    pub fn is_locked(&self) -> bool {
        self.last().is_some_and(|r| r.status().is_pending())
    }

    /// Helm's upgrade rules: refused while pending or without any record; the deployed
    /// record is upgraded from, or the last one when it failed or was superseded.
    pub fn upgrade_base(&self, name: &str) -> Result<UpgradeBase<'_>, ReleaseError> {
        let no_deployed = || ReleaseError::History(format!("{name:?} has no deployed releases"));
        let last = self.last().ok_or_else(no_deployed)?;
        if last.status().is_pending() {
            return Err(ReleaseError::History(
                "another operation (install/upgrade/rollback) is in progress".into(),
            ));
        }
        let current = match self.deployed() {
            Some(d) if last.status() != Status::Deployed => d,
            _ if last.status() == Status::Deployed => last,
            _ if matches!(last.status(), Status::Failed | Status::Superseded) => last,
            _ => return Err(no_deployed()),
        };
        Ok(UpgradeBase { last, current })
    }

    /// Helm's rollback target: `version`, or the one before the last when 0.
    pub fn rollback_target(&self, version: i64) -> Result<&Release, ReleaseError> {
        let last = self
            .last()
            .ok_or_else(|| ReleaseError::History("release: not found".into()))?;
        let wanted = if version == 0 {
            last.version - 1
        } else {
            version
        };
        self.get(wanted)
            .ok_or_else(|| ReleaseError::History(format!("release has no {wanted} version")))
    }

    /// Helm's `removeLeastRecent(name, max_history - 1)`, run before a record is created
    /// when `maxHistory` > 0: the versions to delete so that, with the new record, at most
    /// `max_history` remain. Oldest go first; the last deployed record is never deleted.
    pub fn prune_before_create(&self, max_history: i64) -> Vec<i64> {
        if max_history <= 0 {
            return Vec::new();
        }
        self.least_recent_beyond(max_history - 1)
    }

    /// Helm's `removeLeastRecent(name, maximum)`.
    pub fn least_recent_beyond(&self, maximum: i64) -> Vec<i64> {
        let Ok(maximum) = usize::try_from(maximum) else {
            return Vec::new();
        };
        if self.records.len() <= maximum {
            return Vec::new();
        }
        let deployed = self.deployed().map(|r| r.version);
        let mut delete = Vec::new();
        for r in &self.records {
            if self.records.len() - delete.len() == maximum {
                break;
            }
            if deployed != Some(r.version) {
                delete.push(r.version);
            }
        }
        delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Info;

    fn record(version: i64, status: Status) -> Release {
        Release {
            name: "web".into(),
            namespace: "apps".into(),
            version,
            info: Some(Info {
                status,
                ..Info::default()
            }),
            ..Release::default()
        }
    }

    #[test]
    fn the_secret_carries_helms_name_type_and_labels() -> Result<(), ReleaseError> {
        let mut r = record(3, Status::Deployed);
        r.labels.insert("team".into(), "a".into());
        let s = encode_secret(&r, &Write::Create { now: 1_700_000_000 })?;
        assert_eq!(s.name, "sh.helm.release.v1.web.v3");
        assert_eq!(s.type_, "helm.sh/release.v1");
        let want: BTreeMap<String, String> = [
            ("createdAt", "1700000000"),
            ("name", "web"),
            ("owner", "helm"),
            ("status", "deployed"),
            ("team", "a"),
            ("version", "3"),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        assert_eq!(s.labels, want);
        let back = decode_secret(&s.labels, &s.release_data)?;
        assert_eq!(back, r);
        Ok(())
    }

    #[test]
    fn an_update_stamps_modified_at_and_keeps_created_at() -> Result<(), ReleaseError> {
        let r = record(1, Status::Superseded);
        let write = Write::Update {
            now: 20,
            created_at: Some("10".into()),
        };
        let s = encode_secret(&r, &write)?;
        assert_eq!(s.labels.get("createdAt").map(String::as_str), Some("10"));
        assert_eq!(s.labels.get("modifiedAt").map(String::as_str), Some("20"));
        assert_eq!(
            s.labels.get("status").map(String::as_str),
            Some("superseded")
        );
        Ok(())
    }

    #[test]
    fn the_payload_is_base64_of_gzip_and_plain_json_is_accepted() -> Result<(), ReleaseError> {
        let r = record(2, Status::Failed);
        let data = encode_payload(&r)?;
        let raw = BASE64
            .decode(&data)
            .map_err(|e| ReleaseError::Payload(e.to_string()))?;
        assert_eq!(raw[..3], [0x1f, 0x8b, 0x08]);
        let plain = BASE64.encode(r.to_json_string());
        assert_eq!(decode_payload(plain.as_bytes())?, r);
        assert!(decode_payload(b"not base64!").is_err());
        Ok(())
    }

    #[test]
    fn system_labels_are_refused_as_custom_labels() {
        let mut labels = BTreeMap::new();
        labels.insert("team".to_owned(), "a".to_owned());
        assert!(check_custom_labels(&labels).is_ok());
        labels.insert("modifiedAt".to_owned(), "1".to_owned());
        assert!(matches!(
            check_custom_labels(&labels),
            Err(ReleaseError::SystemLabel)
        ));
    }

    #[test]
    fn history_finds_last_deployed_and_next_version() {
        let h = History::new(vec![
            record(3, Status::Failed),
            record(1, Status::Superseded),
            record(2, Status::Deployed),
        ]);
        assert_eq!(h.last().map(|r| r.version), Some(3));
        assert_eq!(h.deployed().map(|r| r.version), Some(2));
        assert_eq!(h.next_version(), 4);
        assert!(!h.is_locked());
        assert_eq!(History::default().next_version(), 1);
    }

    #[test]
    fn an_upgrade_starts_from_the_deployed_record_and_is_refused_while_pending() {
        let h = History::new(vec![record(1, Status::Deployed), record(2, Status::Failed)]);
        let base = h.upgrade_base("web").ok();
        assert_eq!(
            base.map(|b| (b.last.version, b.current.version)),
            Some((2, 1))
        );

        let failed_only = History::new(vec![record(1, Status::Failed)]);
        let base = failed_only.upgrade_base("web").ok();
        assert_eq!(base.map(|b| b.current.version), Some(1));

        let pending = History::new(vec![
            record(1, Status::Deployed),
            record(2, Status::PendingUpgrade),
        ]);
        assert!(pending.is_locked());
        assert!(pending.upgrade_base("web").is_err());

        let uninstalled = History::new(vec![record(1, Status::Uninstalled)]);
        assert!(uninstalled.upgrade_base("web").is_err());
        assert!(History::default().upgrade_base("web").is_err());
    }

    #[test]
    fn max_history_prunes_the_oldest_but_keeps_the_deployed_record() {
        let h = History::new(vec![
            record(1, Status::Deployed),
            record(2, Status::Superseded),
            record(3, Status::Failed),
            record(4, Status::Failed),
        ]);
        assert_eq!(h.prune_before_create(3), vec![2, 3]);
        assert_eq!(h.prune_before_create(5), Vec::<i64>::new());
        assert_eq!(h.prune_before_create(0), Vec::<i64>::new());
        assert_eq!(h.prune_before_create(1), vec![2, 3, 4]);
    }

    #[test]
    fn a_rollback_targets_the_previous_revision_by_default() {
        let h = History::new(vec![
            record(1, Status::Superseded),
            record(2, Status::Deployed),
        ]);
        assert_eq!(h.rollback_target(0).map(|r| r.version).ok(), Some(1));
        assert_eq!(h.rollback_target(2).map(|r| r.version).ok(), Some(2));
        assert!(h.rollback_target(7).is_err());
    }
}
