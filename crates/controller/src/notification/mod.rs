//! notification-controller's side of tether: events to Alerts and webhook Receivers.
//! [`feed`] is the way in (the controller's own events and POSTed ones, one admission),
//! [`dispatch`] and [`deliver`] send matched events through Providers, [`events_http`] and
//! [`hook`] are the two HTTP servers, and [`receiver`] is the Receiver reconciler. Provider and
//! Alert (v1beta3) have no status in Flux v1.9: they are read from caches when an event
//! arrives, which [`start`] keeps; [`finalizers`] does the little Flux still does to them.

mod deliver;
mod dispatch;
mod events_http;
pub mod feed;
mod filter;
mod finalizers;
mod hook;
mod oidc;
mod receiver;

use futures::StreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::Arc;
use std::time::Duration;
use tether_api::notification::v1::Receiver;
use tether_api::notification::v1beta3::{Alert, Provider};
use tether_notify::receiver::gcr::GoogleKeys;
use tokio_util::sync::CancellationToken;

pub use feed::AlertFeed;

/// How notifications run (Flux's notification-controller flags).
#[derive(Clone, Debug)]
pub struct NotificationOptions {
    /// Where events are accepted (`--events-addr`).
    pub events_addr: std::net::SocketAddr,
    /// Where Receiver webhooks are served (`--receiver-addr`, Flux: `:9292`).
    pub receiver_addr: std::net::SocketAddr,
    /// Identical events go out once per this interval (`--rate-limit-interval`, Flux: 5m).
    pub rate_limit: Duration,
    /// Alerts only take events of objects in their own namespace, and Receivers only annotate
    /// objects in theirs (Flux's `--no-cross-namespace-refs`).
    pub no_cross_namespace_refs: bool,
    /// Deliveries in flight at once; further matched events wait for one to finish.
    pub max_concurrent_deliveries: usize,
    /// Where gcr Receivers fetch Google's ID token keys. Google's URLs; not a flag: only tests,
    /// which cannot reach Google, point it at keys they serve on loopback.
    pub google_keys: GoogleKeys,
}

/// Deliveries in flight at once unless configured: enough for bursts, few enough that a
/// storm of events against a slow Provider cannot pile up unbounded tasks and connections.
pub const DEFAULT_MAX_CONCURRENT_DELIVERIES: usize = 64;

impl Default for NotificationOptions {
    fn default() -> Self {
        Self {
            events_addr: ([0, 0, 0, 0], 9690).into(),
            receiver_addr: ([0, 0, 0, 0], 9292).into(),
            rate_limit: tether_notify::ratelimit::DEFAULT_INTERVAL,
            no_cross_namespace_refs: false,
            max_concurrent_deliveries: DEFAULT_MAX_CONCURRENT_DELIVERIES,
            google_keys: GoogleKeys::default(),
        }
    }
}

/// The running alert pipeline: the feed reconcilers send events into, and the routes of the
/// events and receiver servers.
pub struct Notifications {
    pub feed: AlertFeed,
    pub event_routes: axum::Router,
    pub receiver_routes: axum::Router,
}

/// Starts the caches of Alerts, Providers and Receivers and the dispatcher; they stop when
/// `shutdown` fires.
pub fn start(
    client: &kube::Client,
    namespace: Option<&str>,
    options: &NotificationOptions,
    shutdown: &CancellationToken,
) -> Notifications {
    let (feed, queue) = AlertFeed::new(options.rate_limit, feed::CAPACITY);
    let alerts = cache::<Alert>(client, namespace, shutdown);
    let providers = cache::<Provider>(client, namespace, shutdown);
    let receivers = cache::<Receiver>(client, namespace, shutdown);
    let dispatcher = Arc::new(dispatch::Dispatcher::new(
        client.clone(),
        alerts,
        providers,
        dispatch::Limits {
            no_cross_namespace_refs: options.no_cross_namespace_refs,
            max_concurrent_deliveries: options.max_concurrent_deliveries,
        },
    ));
    tokio::spawn(dispatcher.run(queue, shutdown.clone()));
    tokio::spawn(finalizers::run(
        client.clone(),
        namespace.map(str::to_owned),
        shutdown.clone(),
    ));
    let hooks = Arc::new(hook::Hooks {
        client: client.clone(),
        receivers,
        no_cross_namespace_refs: options.no_cross_namespace_refs,
        // Building a client only fails when no TLS backend can start, which the senders
        // would hit first.
        http: tether_notify::receiver::token::http_client().unwrap_or_default(),
        google_keys: options.google_keys.clone(),
    });
    Notifications {
        event_routes: events_http::event_routes(feed.clone()),
        receiver_routes: hook::receiver_routes(hooks),
        feed,
    }
}

/// A cache of `K` kept by a watch until `shutdown` fires.
fn cache<K>(
    client: &kube::Client,
    namespace: Option<&str>,
    shutdown: &CancellationToken,
) -> Store<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let api = crate::reconcile::api_in::<K>(client, namespace);
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .touched_objects()
        .for_each(|_| futures::future::ready(()));
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = stream => {}
        }
    });
    store
}
