//! Counting the API server requests the controller makes, by method and dry-run, so the cost of
//! a reconcile (and "zero writes when nothing changed") is measured rather than assumed.

use crate::metrics::RequestLabels;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::task::{Context, Poll};

/// A tower layer that counts every request passing through the client.
#[derive(Clone)]
pub struct CountRequests {
    counts: Family<RequestLabels, Counter>,
}

impl CountRequests {
    pub fn new(counts: Family<RequestLabels, Counter>) -> Self {
        Self { counts }
    }
}

impl<S> tower::Layer<S> for CountRequests {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            counts: self.counts.clone(),
        }
    }
}

/// The counting service.
#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    counts: Family<RequestLabels, Counter>,
}

impl<S, B> tower::Service<http::Request<B>> for Counted<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.counts.get_or_create(&labels_of(&request)).inc();
        self.inner.call(request)
    }
}

fn labels_of<B>(request: &http::Request<B>) -> RequestLabels {
    let query = request.uri().query().unwrap_or("");
    let has = |needle: &str| query.split('&').any(|pair| pair == needle);
    let verb = match *request.method() {
        http::Method::GET if has("watch=true") => "watch",
        http::Method::GET => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    };
    RequestLabels {
        verb: verb.to_owned(),
        dry_run: has("dryRun=All").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(method: http::Method, uri: &str) -> RequestLabels {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .unwrap_or_default();
        labels_of(&request)
    }

    #[test]
    fn dry_run_patches_are_labelled_apart_from_writes() {
        let dry = labels(
            http::Method::PATCH,
            "/apis/apps/v1/namespaces/a/deployments/w?dryRun=All&fieldManager=x",
        );
        assert_eq!(dry.verb, "patch");
        assert_eq!(dry.dry_run, "true");
        let write = labels(
            http::Method::PATCH,
            "/api/v1/namespaces/a/services/s?fieldManager=x",
        );
        assert_eq!(
            (write.verb.as_str(), write.dry_run.as_str()),
            ("patch", "false")
        );
        assert_eq!(
            labels(
                http::Method::GET,
                "/api/v1/pods?watch=true&resourceVersion=1"
            )
            .verb,
            "watch"
        );
        assert_eq!(labels(http::Method::GET, "/api/v1/pods").verb, "get");
    }
}
