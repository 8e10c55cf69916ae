//! Deciding when a reconcile is due. The watch fires on every change of an object, including
//! the status writes the reconcilers make themselves; a reconcile whose inputs (generation,
//! `requestedAt`, source revision, dependencies) are unchanged since the last one is not run
//! again before its interval is up. Also the registry of running health waits, so a new source
//! revision can cancel them.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// When each object last ran, with which inputs.
#[derive(Default)]
pub struct Schedule {
    entries: Mutex<HashMap<String, Due>>,
}

struct Due {
    inputs: u64,
    at: Instant,
}

impl Schedule {
    /// How long to wait before the next run, when `inputs` are those of the last run and its
    /// next run is not due yet; `None` means run now.
    pub fn wait_before_run(&self, key: &str, inputs: u64) -> Option<Duration> {
        let entries = self.entries.lock().ok()?;
        let due = entries.get(key)?;
        let now = Instant::now();
        (due.inputs == inputs && due.at > now).then(|| due.at - now)
    }

    /// Records a run with `inputs`, next due after `after`.
    pub fn ran(&self, key: &str, inputs: u64, after: Duration) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                key.to_owned(),
                Due {
                    inputs,
                    at: Instant::now() + after,
                },
            );
        }
    }

    pub fn forget(&self, key: &str) {
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
pub fn with_jitter(interval: Duration, key: &str) -> Duration {
    let spread = (fingerprint(&[&key]) % 1001) as f64 / 1000.0; // 0..=1
    interval.mul_f64(0.95 + 0.1 * spread)
}

/// Health waits in progress, by object key, with the source they build from.
#[derive(Default)]
pub struct HealthWaits {
    running: Mutex<HashMap<String, (String, CancellationToken)>>,
}

impl HealthWaits {
    pub fn start(&self, key: &str, source: &str) -> CancellationToken {
        let token = CancellationToken::new();
        if let Ok(mut running) = self.running.lock() {
            running.insert(key.to_owned(), (source.to_owned(), token.clone()));
        }
        token
    }

    pub fn finish(&self, key: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(key);
        }
    }

    /// Cancels every wait of an object built from `source`.
    pub fn cancel_for_source(&self, source: &str) {
        if let Ok(running) = self.running.lock() {
            running
                .values()
                .filter(|(s, _)| s == source)
                .for_each(|(_, token)| token.cancel());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_inputs_wait_changed_inputs_run() {
        let schedule = Schedule::default();
        let inputs = fingerprint(&[&1i64, &"rev-a"]);
        assert_eq!(schedule.wait_before_run("ns/a", inputs), None);
        schedule.ran("ns/a", inputs, Duration::from_secs(60));
        assert!(schedule.wait_before_run("ns/a", inputs).is_some());
        let changed = fingerprint(&[&1i64, &"rev-b"]);
        assert_eq!(schedule.wait_before_run("ns/a", changed), None);
    }

    #[test]
    fn jitter_stays_within_five_percent() {
        for key in ["a", "b", "ns/long-name"] {
            let d = with_jitter(Duration::from_secs(100), key);
            assert!(
                d >= Duration::from_secs(95) && d <= Duration::from_secs(105),
                "{d:?}"
            );
        }
    }

    #[test]
    fn cancelling_a_source_cancels_only_its_waits() {
        let waits = HealthWaits::default();
        let a = waits.start("ns/a", "GitRepository/ns/repo");
        let b = waits.start("ns/b", "GitRepository/ns/other");
        waits.cancel_for_source("GitRepository/ns/repo");
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
    }
}
