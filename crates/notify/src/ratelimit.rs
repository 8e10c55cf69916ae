//! The rate limit on identical events: the key notification-controller derives from an event
//! (`eventKeyFunc`: SHA-256 of the involved object, message, and the revision, origin revision
//! and token metadata), and a limiter letting one event per key through per interval, as the
//! `go-limiter` memory store with one token does (windows aligned on the key's first event;
//! entries unused for two intervals are swept). Time comes from an injected [`Clock`].

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};

use crate::event::{Event, metadata_keys};

/// The rate limit interval notification-controller uses by default (`--rate-limit-interval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// The key under which identical events are rate limited: the hex SHA-256 of
/// `event/name=<name>/namespace=<ns>/kind=<kind>/message=<msg>` followed, when present, by
/// `/originRevision=`, `/revision=` and `/token=` from the object-group metadata.
pub fn event_key(event: &Event) -> String {
    let object = &event.involved_object;
    let mut parts = vec![
        "event".to_owned(),
        format!("name={}", object.name),
        format!("namespace={}", object.namespace),
        format!("kind={}", object.kind),
        format!("message={}", event.message),
    ];
    for key in [
        metadata_keys::ORIGIN_REVISION,
        metadata_keys::REVISION,
        metadata_keys::TOKEN,
    ] {
        if let Some(value) = event.object_metadata(key) {
            parts.push(format!("{key}={value}"));
        }
    }
    let digest = Sha256::digest(parts.join("/").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A source of the current time.
pub trait Clock {
    /// Now.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: Instant,
    last_window: u128,
    last_used: Instant,
}

/// Lets the first event of each key through per interval and refuses the others.
#[derive(Debug)]
pub struct RateLimiter<C> {
    clock: C,
    interval: Duration,
    buckets: HashMap<String, Bucket>,
    last_sweep: Instant,
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter with one event per key per `interval` (a zero interval lets all through).
    pub fn new(clock: C, interval: Duration) -> Self {
        let now = clock.now();
        Self {
            clock,
            interval,
            buckets: HashMap::new(),
            last_sweep: now,
        }
    }

    /// Whether an event with this key may go out now; takes the key's token if so.
    pub fn allow(&mut self, key: &str) -> bool {
        let now = self.clock.now();
        self.sweep(now);
        if self.interval.is_zero() {
            return true;
        }
        let interval = self.interval.as_nanos();
        match self.buckets.get_mut(key) {
            None => {
                let bucket = Bucket {
                    start: now,
                    last_window: 0,
                    last_used: now,
                };
                self.buckets.insert(key.to_owned(), bucket);
                true
            }
            Some(bucket) => {
                let window = now.saturating_duration_since(bucket.start).as_nanos() / interval;
                bucket.last_used = now;
                if window > bucket.last_window {
                    bucket.last_window = window;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Every interval, forgets keys unused for two intervals.
    fn sweep(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_sweep) < self.interval {
            return;
        }
        self.last_sweep = now;
        let ttl = self.interval * 2;
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.last_used) < ttl);
    }
}
