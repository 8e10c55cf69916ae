//! [`KnownObjects`]: which objects exist in the cluster, kept current by one metadata-only watch
//! per kind. A first sync applies objects that are new to its inventory directly, but only once
//! it knows they do not exist yet (an existing one may carry `reconcile: disabled` or
//! `fluxcd.io/ignore`); asking the index instead of reading each object halves the requests of a
//! first sync. A kind's watch starts on first use and is shared by every clone of the manager;
//! until its initial list is in, or when the controller may not list the kind, the answer is
//! [`Presence::Unknown`] and the caller reads the object as before.
//!
//! The answer is as fresh as the watch (milliseconds behind the API server): the same window an
//! object created between a read and the apply that follows has.
//!
//! The index also keeps each object's `resourceVersion` and the times of its server-side apply
//! entries in `managedFields`. A resync then does without reading an object whose dry-run
//! changed nothing ([`KnownObjects::unchanged_by`]), and without even the dry-run while the
//! object has not changed since one found the same desired body applied
//! ([`KnownObjects::verified`]).
//!
//! Waits follow the objects they wait for through the same watches ([`KnownObjects::follow`]):
//! a wait reads an object again as soon as the watch delivers a new version of it (a Deployment's
//! status written by its controller), not at its next poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event, watcher};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metadata::meta_str;
use crate::request::Target;

/// How long a kind whose watch failed to start is read object by object before the watch is
/// tried again.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// How long after the watch delivered a version of an object its apply times tell a no-op
/// apply apart from a changing one; see [`KnownObjects::unchanged_by`].
const DISTINCT_SECOND: Duration = Duration::from_millis(1500);

/// How long a version found to equal a desired body is trusted without asking the API server
/// again (see [`KnownObjects::verified`]): an hour, so that what the watch cannot see (a CRD
/// whose new defaults would change its objects) is still found by a dry-run every hour.
const VERIFIED_FOR: Duration = Duration::from_secs(3600);

/// How long the body an apply answered is kept for a wait's first look at the object (see
/// [`KnownObjects::keep_applied`]); a wait starts right after the apply.
const APPLIED_FOR: Duration = Duration::from_secs(60);

/// Past this many kept bodies of a kind, those older than [`APPLIED_FOR`] are dropped.
const APPLIED_BEFORE_CLEANUP: usize = 1024;

/// What the index knows of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The object exists.
    Present,
    /// The object does not exist.
    Absent,
    /// The kind is not watched (yet): read the object.
    Unknown,
}

/// The objects that exist, per kind; see the module documentation. Cheap to clone.
#[derive(Clone)]
pub struct KnownObjects {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    kinds: Mutex<HashMap<String, KindState>>,
}

enum KindState {
    Watched(Arc<WatchedKind>),
    /// The watch could not list the kind (forbidden, not served); tried again after this.
    Unavailable(Instant),
}

/// One kind's watch and the objects it has seen.
struct WatchedKind {
    /// Every object of the kind, by `namespace/name`.
    names: RwLock<HashMap<String, Seen>>,
    /// Whether `names` is complete: the initial list is in and the watch has not failed since.
    current: AtomicBool,
    /// Per `namespace/name`, the version that applying a desired body leaves unchanged (see
    /// [`KnownObjects::verify`]).
    verified: Mutex<HashMap<String, Verified>>,
    /// Per `namespace/name`, the body this process's last apply of the object answered, until
    /// a wait takes it (see [`KnownObjects::keep_applied`]).
    applied: Mutex<HashMap<String, Applied>>,
    /// Becomes `true` once the initial list is in, or the watch gave up: lets a caller wait.
    settled: watch::Sender<bool>,
    /// Counts the events the watch delivered: wakes every [`Followed`] object of the kind.
    events: watch::Sender<u64>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// One object as the watch last delivered it.
struct Seen {
    /// Its `resourceVersion`; empty when the object is known only from this process's own write.
    resource_version: String,
    /// `(manager, Unix second)` of its server-side apply entries in `managedFields`.
    applied: Box<[(Box<str>, i64)]>,
    /// When the watch delivered this version.
    since: Instant,
}

/// The object as this process's apply of it answered.
struct Applied {
    body: serde_json::Value,
    resource_version: String,
    at: Instant,
}

/// A version of an object that applying a desired body leaves unchanged.
struct Verified {
    resource_version: String,
    /// The digest of the desired body.
    digest: u64,
    at: Instant,
}

impl Seen {
    fn of(meta: &kube::core::ObjectMeta) -> Self {
        let applied = meta
            .managed_fields
            .iter()
            .flatten()
            .filter(|entry| entry.operation.as_deref() == Some("Apply"))
            .filter_map(|entry| {
                let manager = entry.manager.as_deref()?;
                Some((manager.into(), entry.time.as_ref()?.0.as_second()))
            })
            .collect();
        Self {
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            applied,
            since: Instant::now(),
        }
    }

    /// Known to exist because this process wrote it; nothing else is known yet.
    fn written() -> Self {
        Self {
            resource_version: String::new(),
            applied: Box::new([]),
            since: Instant::now(),
        }
    }

    fn applied_at(&self, manager: &str) -> Option<i64> {
        self.applied
            .iter()
            .find(|(m, _)| &**m == manager)
            .map(|(_, second)| *second)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let kinds = self.kinds.get_mut().unwrap_or_else(PoisonError::into_inner);
        for state in kinds.values() {
            if let KindState::Watched(kind) = state {
                kind.stop();
            }
        }
    }
}

impl KnownObjects {
    /// An empty index over `client`; watches start as kinds are asked about.
    pub fn new(client: Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                kinds: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether the object at `target` exists, as far as the index knows. Starts the kind's
    /// watch when it is the first question about the kind.
    pub(crate) fn presence_of(&self, target: &Target) -> Presence {
        let object = &target.object;
        self.presence(&target.resource, &object.namespace, &object.name)
    }

    /// Whether object `namespace/name` of `resource` exists (an empty namespace for a
    /// cluster-scoped kind), as far as the index knows. Starts the kind's watch when it is the
    /// first question about the kind.
    pub fn presence(&self, resource: &ApiResource, namespace: &str, name: &str) -> Presence {
        let Some(kind) = self.kind(resource) else {
            return Presence::Unknown;
        };
        if !kind.current.load(Ordering::Acquire) {
            return Presence::Unknown;
        }
        let key = key_of(namespace, name);
        let names = kind.names.read().unwrap_or_else(PoisonError::into_inner);
        if names.contains_key(&key) {
            Presence::Present
        } else {
            Presence::Absent
        }
    }

    /// Records that this process's apply of the body with `digest` produced version
    /// `resource_version` of the object at `target`, ahead of the watch event: the object
    /// exists (a second apply of it, another Kustomization claiming it, must not be told it is
    /// absent in the milliseconds before the event arrives; a stale `Present` is harmless, it
    /// only sends the object through the validated apply), and that version matches the body
    /// (see [`verify`](Self::verify)).
    pub(crate) fn note_written(&self, target: &Target, resource_version: &str, digest: u64) {
        if let Some(kind) = self.watched(&target.resource) {
            let object = &target.object;
            kind.names
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key_of(&object.namespace, &object.name))
                .or_insert_with(Seen::written);
        }
        self.verify(target, resource_version, digest);
    }

    /// Records that applying the desired body with `digest` to version `resource_version` of
    /// the object at `target` changes nothing: a dry-run of that body over that version showed
    /// no change, or this process's own apply of the body produced that version (server-side
    /// apply is idempotent). Used by [`verified`](Self::verified) once, and while, the watch
    /// has that version as the object's latest.
    pub(crate) fn verify(&self, target: &Target, resource_version: &str, digest: u64) {
        let Some(kind) = self.watched(&target.resource) else {
            return;
        };
        if resource_version.is_empty() {
            return;
        }
        let object = &target.object;
        let verified = Verified {
            resource_version: resource_version.to_owned(),
            digest,
            at: Instant::now(),
        };
        kind.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key_of(&object.namespace, &object.name), verified);
    }

    /// Whether applying the desired body with `digest` to the object at `target` is known to
    /// change nothing, without asking the API server: the latest version the watch delivered
    /// is one [`verify`](Self::verify) recorded for the same body (within [`VERIFIED_FOR`]).
    /// Every change to the object (a hand edit, another controller's write, a deletion) is a
    /// new version and ends this, so drift is still found at the next resync.
    pub(crate) fn verified(&self, target: &Target, digest: u64) -> bool {
        let Some(kind) = self.watched(&target.resource) else {
            return false;
        };
        if !kind.current.load(Ordering::Acquire) {
            return false;
        }
        let key = {
            let object = &target.object;
            key_of(&object.namespace, &object.name)
        };
        let names = kind.names.read().unwrap_or_else(PoisonError::into_inner);
        let Some(seen) = names.get(&key) else {
            return false;
        };
        let verified = kind.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.get(&key).is_some_and(|v| {
            v.digest == digest
                && v.resource_version == seen.resource_version
                && v.at.elapsed() < VERIFIED_FOR
        })
    }

    /// Keeps `body`, what this process's apply of the object at `target` answered, for the
    /// first look a wait takes at the object ([`take_applied`](Self::take_applied)): the state
    /// the apply left is what a read right after it would return, unless another writer came
    /// in between, which the index tells. Only for a watched kind.
    pub(crate) fn keep_applied(&self, target: &Target, body: Value) {
        let Some(kind) = self.watched(&target.resource) else {
            return;
        };
        let resource_version = meta_str(&body, "resourceVersion").to_owned();
        if resource_version.is_empty() {
            return;
        }
        let object = &target.object;
        let mut applied = kind.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if applied.len() >= APPLIED_BEFORE_CLEANUP {
            applied.retain(|_, kept| kept.at.elapsed() < APPLIED_FOR);
        }
        let kept = Applied {
            body,
            resource_version,
            at: Instant::now(),
        };
        applied.insert(key_of(&object.namespace, &object.name), kept);
    }

    /// The body kept by [`keep_applied`](Self::keep_applied) for the object at `target`, taken
    /// (a second look reads the object), with its `resourceVersion`: only while the index knows
    /// no other version of the object than that one (or only that this process wrote it, its
    /// version not delivered yet), and the index answers for the kind.
    pub(crate) fn take_applied(&self, target: &Target) -> Option<(Value, String)> {
        let kind = self.watched(&target.resource)?;
        let key = key_of(&target.object.namespace, &target.object.name);
        let kept = kind
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key)?;
        if !kind.current.load(Ordering::Acquire) || kept.at.elapsed() >= APPLIED_FOR {
            return None;
        }
        let indexed = kind.version_of(&key)?;
        (indexed.is_empty() || indexed == kept.resource_version)
            .then_some((kept.body, kept.resource_version))
    }

    /// Follows the object at `target` from version `resource_version` on (the version a kept
    /// body showed, see [`take_applied`](Self::take_applied)): [`any_moved`] tells when the
    /// watch delivers another version. This process's own write, known before its version is
    /// delivered, is not another version.
    pub(crate) fn follow_from(
        &self,
        target: &Target,
        resource_version: String,
    ) -> Option<Followed> {
        let kind = self.watched(&target.resource)?;
        if !kind.current.load(Ordering::Acquire) {
            return None;
        }
        let events = kind.events.subscribe();
        let key = key_of(&target.object.namespace, &target.object.name);
        Some(Followed {
            kind,
            key,
            version: Some(resource_version),
            events,
            own_write_known: true,
        })
    }

    /// Follows the object at `target` from now on, if its kind is watched and the index is
    /// current: [`any_moved`] tells when the watch delivers a version of it other than the one
    /// the index holds now (or its creation, or its deletion). `None` otherwise: the caller
    /// polls. Does not start a watch.
    pub(crate) fn follow(&self, target: &Target) -> Option<Followed> {
        let kind = self.watched(&target.resource)?;
        if !kind.current.load(Ordering::Acquire) {
            return None;
        }
        // Subscribed before the version is read, so that no event in between goes unnoticed.
        let events = kind.events.subscribe();
        let key = key_of(&target.object.namespace, &target.object.name);
        let version = kind.version_of(&key);
        Some(Followed {
            kind,
            key,
            version,
            events,
            own_write_known: false,
        })
    }

    /// The kind's watch if it is already running; does not start one.
    fn watched(&self, resource: &ApiResource) -> Option<Arc<WatchedKind>> {
        let kinds = self
            .inner
            .kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match kinds.get(&kind_id(resource)) {
            Some(KindState::Watched(kind)) => Some(kind.clone()),
            _ => None,
        }
    }

    /// Whether `dry_run`, the result of a server-side apply dry-run by `manager` of the object
    /// at `target`, shows that the apply would change nothing, so that the object need not be
    /// read to compare: the dry-run ran over the version the watch delivered (same
    /// `resourceVersion`), and left the manager's apply entry as it was in that version.
    ///
    /// The API server stamps a manager's apply entry with the current time whenever its apply
    /// changes the object or the manager's fields, and leaves it alone when the apply is a no-op.
    /// The stamp has a one-second resolution, so it proves a no-op only once that version is
    /// more than a second old: the watch delivered it after the server wrote it, so
    /// [`DISTINCT_SECOND`] after delivery any new stamp falls in a later second. Otherwise, and
    /// whenever the index does not answer for the kind, the answer is `false` and the caller
    /// reads the object as usual.
    pub(crate) fn unchanged_by(&self, target: &Target, dry_run: &Value, manager: &str) -> bool {
        let Some(kind) = self.kind(&target.resource) else {
            return false;
        };
        if !kind.current.load(Ordering::Acquire) {
            return false;
        }
        let Some(stamp) = apply_time(dry_run, manager) else {
            return false;
        };
        let object = &target.object;
        let names = kind.names.read().unwrap_or_else(PoisonError::into_inner);
        let Some(seen) = names.get(&key_of(&object.namespace, &object.name)) else {
            return false;
        };
        !seen.resource_version.is_empty()
            && meta_str(dry_run, "resourceVersion") == seen.resource_version
            && seen.since.elapsed() >= DISTINCT_SECOND
            && seen.applied_at(manager) == Some(stamp)
    }

    /// Starts watching `resource` if it is not watched yet and waits (up to `timeout`) for its
    /// initial list. Returns whether the index now answers for the kind.
    pub async fn watch(&self, resource: &ApiResource, timeout: Duration) -> bool {
        let Some(kind) = self.kind(resource) else {
            return false;
        };
        let mut settled = kind.settled.subscribe();
        let _ = tokio::time::timeout(timeout, settled.wait_for(|done| *done)).await;
        kind.current.load(Ordering::Acquire)
    }

    /// The kind's watch, started if needed; `None` while the kind is unavailable.
    fn kind(&self, resource: &ApiResource) -> Option<Arc<WatchedKind>> {
        let id = kind_id(resource);
        let mut kinds = self
            .inner
            .kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match kinds.get(&id) {
            Some(KindState::Watched(kind)) => return Some(kind.clone()),
            Some(KindState::Unavailable(since)) if since.elapsed() < RETRY_AFTER => return None,
            _ => {}
        }
        let kind = Arc::new(WatchedKind {
            names: RwLock::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
            applied: Mutex::new(HashMap::new()),
            current: AtomicBool::new(false),
            settled: watch::Sender::new(false),
            events: watch::Sender::new(0),
            task: Mutex::new(None),
        });
        let api =
            Api::<PartialObjectMeta<DynamicObject>>::all_with(self.inner.client.clone(), resource);
        let task = tokio::spawn(follow(
            api,
            kind.clone(),
            Arc::downgrade(&self.inner),
            id.clone(),
        ));
        *kind.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        kinds.insert(id, KindState::Watched(kind.clone()));
        Some(kind)
    }
}

impl WatchedKind {
    /// The version of object `key` the watch delivered last (empty when only this process's
    /// write is known), `None` when the object is not in the index.
    fn version_of(&self, key: &str) -> Option<String> {
        let names = self.names.read().unwrap_or_else(PoisonError::into_inner);
        names.get(key).map(|seen| seen.resource_version.clone())
    }

    /// Wakes the kind's followers: the watch delivered something.
    fn delivered(&self) {
        self.events.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn stop(&self) {
        if let Some(task) = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

/// One object followed through its kind's watch (see [`KnownObjects::follow`]).
pub(crate) struct Followed {
    kind: Arc<WatchedKind>,
    key: String,
    /// Its version in the index when following began; `None`: not in the index.
    version: Option<String>,
    events: watch::Receiver<u64>,
    /// Followed from a version this process wrote: the index entry of that write (an empty
    /// version, until the watch delivers it) is no move.
    own_write_known: bool,
}

impl Followed {
    /// Whether the index holds another version of the object than when following began.
    fn moved(&self) -> bool {
        let indexed = self.kind.version_of(&self.key);
        if self.own_write_known && indexed.as_deref() == Some("") {
            return false;
        }
        indexed != self.version
    }
}

/// Returns once one of `followed` has moved (see [`KnownObjects::follow`]); never when none is
/// followed.
pub(crate) async fn any_moved(followed: &mut [Followed]) {
    while !followed.iter().any(Followed::moved) {
        if followed.is_empty() {
            return std::future::pending().await;
        }
        let changes = followed.iter_mut().map(|f| Box::pin(f.events.changed()));
        let (delivered, _, _) = futures::future::select_all(changes).await;
        if delivered.is_err() {
            // Not while `followed` holds the kind: its sender lives as long.
            return std::future::pending().await;
        }
    }
}

fn kind_id(resource: &ApiResource) -> String {
    format!("{}/{}", resource.group, resource.plural)
}

fn key_of(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The time (Unix second) of `manager`'s server-side apply entry in `object`'s `managedFields`.
fn apply_time(object: &Value, manager: &str) -> Option<i64> {
    let time = object
        .pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|entry| {
            entry.get("manager").and_then(Value::as_str) == Some(manager)
                && entry.get("operation").and_then(Value::as_str) == Some("Apply")
        })?
        .get("time")?
        .as_str()?;
    let time: k8s_openapi::jiff::Timestamp = time.parse().ok()?;
    Some(time.as_second())
}

fn key_of_meta(meta: &kube::core::ObjectMeta) -> String {
    key_of(
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// Follows the kind's metadata watch into `kind.names`. A failure before the initial list is in
/// (forbidden, kind not served) marks the kind unavailable and ends the watch; a later failure
/// makes answers unknown until the watch delivers again (it resumes where it stopped, or lists
/// everything anew).
async fn follow(
    api: Api<PartialObjectMeta<DynamicObject>>,
    kind: Arc<WatchedKind>,
    index: std::sync::Weak<Inner>,
    id: String,
) {
    let config = watcher::Config::default().any_semantic();
    let mut events = std::pin::pin!(watcher(api, config));
    let mut listing: Option<HashMap<String, Seen>> = None;
    let mut listed_once = false;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                kind.current.store(false, Ordering::Release);
                if listed_once {
                    tracing::debug!(kind = %id, %error, "watch of known objects interrupted");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                tracing::debug!(kind = %id, %error,
                    "cannot watch the kind; its objects are read one by one");
                if let Some(index) = index.upgrade() {
                    let mut kinds = index.kinds.lock().unwrap_or_else(PoisonError::into_inner);
                    kinds.insert(id, KindState::Unavailable(Instant::now()));
                }
                kind.settled.send_replace(true);
                return;
            }
        };
        match event {
            Event::Init => listing = Some(HashMap::new()),
            Event::InitApply(object) => {
                if let Some(listing) = &mut listing {
                    let meta = &object.metadata;
                    listing.insert(key_of_meta(meta), Seen::of(meta));
                }
            }
            Event::InitDone => {
                let listed = listing.take().unwrap_or_default();
                *kind.names.write().unwrap_or_else(PoisonError::into_inner) = listed;
                listed_once = true;
                kind.current.store(true, Ordering::Release);
                kind.settled.send_replace(true);
                kind.delivered();
            }
            Event::Apply(object) => {
                let meta = &object.metadata;
                kind.names
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key_of_meta(meta), Seen::of(meta));
                kind.current.store(listed_once, Ordering::Release);
                kind.delivered();
            }
            Event::Delete(object) => {
                let key = key_of_meta(&object.metadata);
                kind.verified
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
                kind.names
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
                kind.current.store(listed_once, Ordering::Release);
                kind.delivered();
            }
        }
    }
}
