//! Deciding when a reconcile is due. The watch fires on every change of an object, including
//! the status writes the reconcilers make themselves; a reconcile whose inputs (generation,
//! `requestedAt`, source revision, dependencies) are unchanged since the last one is not run
//! again before its interval is up. Also the registry of running health waits, so a new source
//! revision can cancel them.

use crate::key::ObjectKey;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// When each object last ran, with which inputs.
#[derive(Default)]
pub struct Schedule {
    entries: Mutex<HashMap<ObjectKey, Due>>,
}

struct Due {
    inputs: u64,
    at: Instant,
    /// Something the inputs do not cover changed (a watched ConfigMap or Secret): the next
    /// run is due now, even if it was recorded while a run was still going.
    woken: bool,
}

impl Schedule {
    /// How long to wait before the next run, when `inputs` are those of the last run and its
    /// next run is not due yet; `None` means run now.
    pub fn wait_before_run(&self, key: &ObjectKey, inputs: u64) -> Option<Duration> {
        let mut entries = self.entries.lock().ok()?;
        let due = entries.get_mut(key)?;
        if std::mem::take(&mut due.woken) {
            return None;
        }
        let now = Instant::now();
        (due.inputs == inputs && due.at > now).then(|| due.at - now)
    }

    /// Records a run with `inputs`, next due after `after`; a wake that came during the run
    /// still holds.
    pub fn ran(&self, key: &ObjectKey, inputs: u64, after: Duration) {
        if let Ok(mut entries) = self.entries.lock() {
            let woken = entries.get(key).is_some_and(|due| due.woken);
            entries.insert(
                key.clone(),
                Due {
                    inputs,
                    at: Instant::now() + after,
                    woken,
                },
            );
        }
    }

    /// Makes the next run of `key` due now, whatever its inputs.
    pub fn wake(&self, key: &ObjectKey) {
        if let Ok(mut entries) = self.entries.lock()
            && let Some(due) = entries.get_mut(key)
        {
            due.woken = true;
        }
    }

    pub fn forget(&self, key: &ObjectKey) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

/// A fingerprint of the values that make a reconcile necessary.
pub fn fingerprint(values: &[&dyn HashPart]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for value in values {
        value.hash_part(&mut hasher);
    }
    hasher.finish()
}

/// Anything hashable, as a trait object.
pub trait HashPart {
    fn hash_part(&self, hasher: &mut DefaultHasher);
}

impl<T: Hash> HashPart for T {
    fn hash_part(&self, hasher: &mut DefaultHasher) {
        self.hash(hasher);
    }
}

/// `interval` spread by up to ±5% (derived from the object's key), so objects created together
/// do not all resync in the same instant.
pub fn with_jitter(interval: Duration, key: &ObjectKey) -> Duration {
    let spread = (fingerprint(&[key]) % 1001) as f64 / 1000.0; // 0..=1
    Duration::try_from_secs_f64(interval.as_secs_f64() * (0.95 + 0.1 * spread)).unwrap_or(interval)
}

/// Health waits in progress, by the key of the waiting object, with the key of the source it
/// builds from.
#[derive(Default)]
pub struct HealthWaits {
    running: Mutex<HashMap<ObjectKey, (ObjectKey, CancellationToken)>>,
}

impl HealthWaits {
    pub fn start(&self, key: &ObjectKey, source: &ObjectKey) -> CancellationToken {
        let token = CancellationToken::new();
        if let Ok(mut running) = self.running.lock() {
            running.insert(key.clone(), (source.clone(), token.clone()));
        }
        token
    }

    pub fn finish(&self, key: &ObjectKey) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(key);
        }
    }

    /// Cancels every wait of an object built from `source`.
    pub fn cancel_for_source(&self, source: &ObjectKey) {
        if let Ok(running) = self.running.lock() {
            running
                .values()
                .filter(|(s, _)| s == source)
                .for_each(|(_, token)| token.cancel());
        }
    }
}

#[cfg(test)]
mod newest_sources_tests {
    use super::NewestSources;
    use std::sync::Arc;
    use tether_api::source::v1::GitRepository;

    fn repo(version: &str, url: &str) -> Arc<GitRepository> {
        let repo: GitRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "ns", "resourceVersion": version},
            "spec": {"url": url, "interval": "1m"}
        }))
        .expect("a valid GitRepository");
        Arc::new(repo)
    }

    #[test]
    fn the_newer_copy_wins_whichever_stream_had_it() {
        let sources = NewestSources::default();
        sources.remember(repo("12", "woken"));
        let picked = sources.newest(Some(repo("10", "stored")), "ns", "app");
        assert_eq!(picked.map(|r| r.spec.url.clone()), Some("woken".into()));
        let picked = sources.newest(Some(repo("13", "stored")), "ns", "app");
        assert_eq!(picked.map(|r| r.spec.url.clone()), Some("stored".into()));
        sources.remember(repo("11", "older"));
        let picked = sources.newest(Some(repo("10", "stored")), "ns", "app");
        assert_eq!(picked.map(|r| r.spec.url.clone()), Some("woken".into()));
        assert!(
            sources.newest(None, "ns", "app").is_none(),
            "the store decides whether it exists"
        );
        sources.forget("ns", "app");
        let picked = sources.newest(Some(repo("10", "stored")), "ns", "app");
        assert_eq!(picked.map(|r| r.spec.url.clone()), Some("stored".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey::new("test.tether.dev", kind, "ns", name)
    }

    #[test]
    fn unchanged_inputs_wait_changed_inputs_run() {
        let schedule = Schedule::default();
        let a = key("Kustomization", "a");
        let inputs = fingerprint(&[&1i64, &"rev-a"]);
        assert_eq!(schedule.wait_before_run(&a, inputs), None);
        schedule.ran(&a, inputs, Duration::from_secs(60));
        assert!(schedule.wait_before_run(&a, inputs).is_some());
        let changed = fingerprint(&[&1i64, &"rev-b"]);
        assert_eq!(schedule.wait_before_run(&a, changed), None);
        schedule.forget(&a);
        assert_eq!(schedule.wait_before_run(&a, inputs), None);
    }

    #[test]
    fn a_wake_during_a_run_makes_the_run_after_it_due_at_once() {
        let schedule = Schedule::default();
        let a = key("Kustomization", "a");
        let inputs = fingerprint(&[&1i64]);
        schedule.ran(&a, inputs, Duration::from_secs(3600));
        // The run starts (nothing woke it), a watched ConfigMap changes, the run ends.
        assert!(schedule.wait_before_run(&a, inputs).is_some());
        schedule.wake(&a);
        schedule.ran(&a, inputs, Duration::from_secs(3600));
        assert_eq!(schedule.wait_before_run(&a, inputs), None);
        // Once: the run after that waits for the interval again.
        schedule.ran(&a, inputs, Duration::from_secs(3600));
        assert!(schedule.wait_before_run(&a, inputs).is_some());
    }

    #[test]
    fn objects_of_two_kinds_with_one_name_are_scheduled_apart() {
        let schedule = Schedule::default();
        let inputs = fingerprint(&[&1i64]);
        schedule.ran(
            &key("Kustomization", "app"),
            inputs,
            Duration::from_secs(60),
        );
        assert_eq!(
            schedule.wait_before_run(&key("GitRepository", "app"), inputs),
            None
        );
    }

    #[test]
    fn jitter_stays_within_five_percent() {
        for name in ["a", "b", "long-name"] {
            let d = with_jitter(Duration::from_secs(100), &key("Kustomization", name));
            assert!(
                d >= Duration::from_secs(95) && d <= Duration::from_secs(105),
                "{d:?}"
            );
        }
    }

    #[test]
    fn cancelling_a_source_cancels_only_its_waits() {
        let waits = HealthWaits::default();
        let a = waits.start(&key("Kustomization", "a"), &key("GitRepository", "repo"));
        let b = waits.start(&key("Kustomization", "b"), &key("GitRepository", "other"));
        waits.cancel_for_source(&key("GitRepository", "repo"));
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
    }
}

/// The newest copy of each source (GitRepository, OCIRepository) that any watch has delivered.
/// A Kustomization is woken by its own watch of its source kind, a stream separate from the
/// source store's: the wake-up can come before the store has the new artifact, and a reconcile
/// that read the old one would find nothing new and sleep until its interval. The copy that woke
/// it is kept here, and the newer of the two is used.
pub struct NewestSources<K> {
    by_key: Mutex<HashMap<(String, String), std::sync::Arc<K>>>,
}

impl<K> Default for NewestSources<K> {
    fn default() -> Self {
        Self {
            by_key: Mutex::default(),
        }
    }
}

impl<K: kube::Resource> NewestSources<K> {
    /// Keeps `source` when it is newer than the copy already held.
    pub fn remember(&self, source: std::sync::Arc<K>) {
        let meta = source.meta();
        let key = (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        if let Ok(mut held) = self.by_key.lock() {
            let newer = held
                .get(&key)
                .is_none_or(|old| is_newer(old.as_ref(), source.as_ref()));
            if newer {
                held.insert(key, source);
            }
        }
    }

    /// The newer of `stored` (the store's copy) and the remembered copy of `namespace/name`;
    /// `None` when the store has none.
    pub fn newest(
        &self,
        stored: Option<std::sync::Arc<K>>,
        namespace: &str,
        name: &str,
    ) -> Option<std::sync::Arc<K>> {
        let remembered = self
            .by_key
            .lock()
            .ok()
            .and_then(|held| held.get(&(namespace.to_owned(), name.to_owned())).cloned());
        match (stored, remembered) {
            (Some(stored), Some(remembered)) if is_newer(stored.as_ref(), remembered.as_ref()) => {
                Some(remembered)
            }
            // Not in the store: deleted (or not listed yet); the store decides existence.
            (stored, _) => stored,
        }
    }

    /// Forgets a deleted source.
    pub fn forget(&self, namespace: &str, name: &str) {
        if let Ok(mut held) = self.by_key.lock() {
            held.remove(&(namespace.to_owned(), name.to_owned()));
        }
    }
}

/// Whether `candidate` is a later version of the object than `current`. resourceVersions are
/// etcd revisions (integers) on every API server tether supports; anything else is not newer.
fn is_newer<K: kube::Resource>(current: &K, candidate: &K) -> bool {
    let version = |object: &K| {
        object
            .meta()
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
    };
    match (version(current), version(candidate)) {
        (Some(current), Some(candidate)) => candidate > current,
        _ => false,
    }
}
