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

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event, watcher};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::request::Target;

/// How long a kind whose watch failed to start is read object by object before the watch is
/// tried again.
const RETRY_AFTER: Duration = Duration::from_secs(60);

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

/// One kind's watch and the names it has seen.
struct WatchedKind {
    /// `namespace/name` of every object of the kind.
    names: RwLock<HashSet<String>>,
    /// Whether `names` is complete: the initial list is in and the watch has not failed since.
    current: AtomicBool,
    /// Becomes `true` once the initial list is in, or the watch gave up: lets a caller wait.
    settled: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
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
        if names.contains(&key) {
            Presence::Present
        } else {
            Presence::Absent
        }
    }

    /// Records that the object at `target` exists because this process just wrote it, ahead of
    /// the watch event: a second apply of the same object (another Kustomization claiming it)
    /// must not be told it is absent in the milliseconds before the event arrives. A stale
    /// `Present` is harmless: it only sends the object through the validated apply.
    pub(crate) fn note_present(&self, target: &Target) {
        let id = kind_id(&target.resource);
        let kinds = self
            .inner
            .kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(KindState::Watched(kind)) = kinds.get(&id) {
            let object = &target.object;
            kind.names
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key_of(&object.namespace, &object.name));
        }
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
            names: RwLock::new(HashSet::new()),
            current: AtomicBool::new(false),
            settled: watch::Sender::new(false),
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

fn kind_id(resource: &ApiResource) -> String {
    format!("{}/{}", resource.group, resource.plural)
}

fn key_of(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
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
    let mut listing: Option<HashSet<String>> = None;
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
            Event::Init => listing = Some(HashSet::new()),
            Event::InitApply(object) => {
                if let Some(listing) = &mut listing {
                    listing.insert(key_of_meta(&object.metadata));
                }
            }
            Event::InitDone => {
                let listed = listing.take().unwrap_or_default();
                *kind.names.write().unwrap_or_else(PoisonError::into_inner) = listed;
                listed_once = true;
                kind.current.store(true, Ordering::Release);
                kind.settled.send_replace(true);
            }
            Event::Apply(object) => {
                let key = key_of_meta(&object.metadata);
                kind.names
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key);
                kind.current.store(listed_once, Ordering::Release);
            }
            Event::Delete(object) => {
                let key = key_of_meta(&object.metadata);
                kind.names
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
                kind.current.store(listed_once, Ordering::Release);
            }
        }
    }
}
