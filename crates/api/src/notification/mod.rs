//! The `notification.toolkit.fluxcd.io` group: notification-controller's kinds in every version
//! tether serves. Provider (where alerts go) and Alert (which events go there) are stored as
//! [`v1beta3`], with [`v1beta2`] and [`v1beta1`] served and deprecated; Receiver (a webhook that
//! asks objects to reconcile now) is stored as [`v1`], with [`v1beta2`] served and deprecated.
//!
//! Fields are those of notification-controller v1.9 (Flux v2.9). The API server stores every
//! version as the storage version without conversion (strategy `None`, as Flux does), so fields
//! only a beta version has (v1beta2 `status.url`) are pruned from stored objects. The event
//! pipeline, provider payloads and receiver verification are in the `tether-notify` crate.

pub mod conditions;
mod shared;
pub mod v1;
pub mod v1beta1;
pub mod v1beta2;
pub mod v1beta3;

use std::time::Duration as StdDuration;

/// The API group.
pub const GROUP: &str = "notification.toolkit.fluxcd.io";
/// The kind that sends alerts somewhere.
pub const PROVIDER_KIND: &str = "Provider";
/// The kind that selects events for a Provider.
pub const ALERT_KIND: &str = "Alert";
/// The kind that turns webhook calls into reconcile requests.
pub const RECEIVER_KIND: &str = "Receiver";

/// The prefix of every Receiver webhook path.
pub const RECEIVER_WEBHOOK_PATH: &str = "/hook/";
/// How long sending one alert may take when a Provider sets no timeout.
pub const DEFAULT_PROVIDER_TIMEOUT: StdDuration = StdDuration::from_secs(15);
/// How often a Receiver is checked when it sets no interval.
pub const DEFAULT_RECEIVER_INTERVAL: StdDuration = StdDuration::from_secs(600);
/// The `aud` claim a generic-oidc Receiver expects when its provider sets none.
pub const DEFAULT_OIDC_AUDIENCE: &str = "notification-controller";
