//! Flux notifications as a library (notification-controller v1.9 semantics), with no
//! Kubernetes client: the event shape ([`event`]), which Alerts an event goes to and how its
//! metadata is merged ([`alert`]), the rate limit on identical events ([`ratelimit`]), the
//! HTTP request each Provider type sends ([`provider`]) and the sender that delivers it
//! ([`send`]) or, for NATS, publishes it ([`nats`]), the events endpoint's admission of POSTed events ([`intake`]), and the
//! verification of webhook calls to Receivers ([`receiver`]).
//!
//! Reading Alerts, Providers, Secrets and labels, and annotating objects, is the controller's
//! job; this crate takes those as inputs and returns decisions and requests.
#![forbid(unsafe_code)]

pub mod alert;
pub mod event;
pub mod gojson;
pub mod intake;
pub mod nats;
pub mod provider;
pub mod ratelimit;
pub mod receiver;
mod redact;
pub mod send;

pub use event::{Event, ObjectReference};
pub use provider::{HttpRequest, PayloadError, ProviderSettings, requests_for};
pub use receiver::{Headers, ReceiverConfig, Verdict, verify, webhook_path};
pub use send::{SendError, SendOptions, Sender};
