//! The events endpoint (`--events-addr`): other Flux controllers POST their events here, as
//! they do to notification-controller; each body goes through the same admission and queue
//! as the controller's own events (`super::feed`) and is answered `202`, or `413`/`400`/`429`
//! as `tether_notify::intake` decides.

use super::feed::AlertFeed;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use tether_notify::intake::ACCEPTED;
use tether_notify::receiver::MAX_BODY_BYTES;

/// The routes of the events server.
pub fn event_routes(feed: AlertFeed) -> Router {
    Router::new()
        .route("/", post(receive_event))
        // One more byte than the limit reaches the intake, which answers 413 as Flux does.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
        .with_state(feed)
}

async fn receive_event(State(feed): State<AlertFeed>, body: Bytes) -> StatusCode {
    let status = match feed.submit_body(&body) {
        Ok(()) => ACCEPTED,
        Err(refusal) => {
            tracing::info!(%refusal, "event refused");
            refusal.status()
        }
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST)
}
