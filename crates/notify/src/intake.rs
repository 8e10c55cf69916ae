//! What notification-controller's events endpoint does with a POSTed event before matching it
//! to Alerts: refuse a body over 3 MiB (`413`) or one that is not an event (`400`), keep only
//! the metadata alerting uses, refuse an event identical to one seen within the rate-limit
//! interval (`429`), then drop the internal `token` metadata. Admitted events are answered
//! `202 Accepted`, whether or not an Alert matches them.

use std::time::Duration;

use crate::{
    alert::{clean_arriving_metadata, drop_internal_metadata},
    event::Event,
    ratelimit::{Clock, RateLimiter, event_key},
    receiver::MAX_BODY_BYTES,
};

/// The status an admitted event is answered with.
pub const ACCEPTED: u16 = 202;

/// Why an event is not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The body is over 3 MiB.
    #[error("request body exceeds the maximum size of {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The body does not decode as an event.
    #[error("decoding the request body failed: {0}")]
    Malformed(String),
    /// An identical event went out within the interval.
    #[error("discarding event, rate limiting duplicate events")]
    RateLimited,
}

impl Refusal {
    /// The HTTP status Flux answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge => 413,
            Self::Malformed(_) => 400,
            Self::RateLimited => 429,
        }
    }
}

/// The events endpoint's admission: decoding, cleanup and rate limiting.
#[derive(Debug)]
pub struct EventIntake<C> {
    limiter: RateLimiter<C>,
}

impl<C: Clock> EventIntake<C> {
    /// An intake limiting identical events to one per `interval`.
    pub fn new(clock: C, interval: Duration) -> Self {
        Self {
            limiter: RateLimiter::new(clock, interval),
        }
    }

    /// The event in `body`, ready for matching, or why it is refused.
    pub fn admit(&mut self, body: &[u8]) -> Result<Event, Refusal> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Refusal::TooLarge);
        }
        let mut event: Event =
            serde_json::from_slice(body).map_err(|e| Refusal::Malformed(e.to_string()))?;
        clean_arriving_metadata(&mut event);
        if !self.limiter.allow(&event_key(&event)) {
            return Err(Refusal::RateLimited);
        }
        drop_internal_metadata(&mut event);
        Ok(event)
    }
}
