//! Starting and stopping the controller process: connect to the API server, serve the probe,
//! metrics and artifact endpoints, run the reconcilers, and stop cleanly on SIGTERM or SIGINT.

use crate::context::ReconcilerOptions;
use crate::metrics::Metrics;
use crate::probes::{Readiness, metrics_routes, probe_routes};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How the controller process is started.
#[derive(Clone, Debug)]
pub struct ControllerOptions {
    /// Where `/healthz` and `/readyz` are served (Flux: `:9440`).
    pub health_addr: SocketAddr,
    /// Where `/metrics` is served (Flux: `:8080`).
    pub metrics_addr: SocketAddr,
    /// Where the artifact storage is served (Flux: `--storage-addr`, `:9090`).
    pub storage_addr: SocketAddr,
    /// Where artifacts and extracted sources are kept.
    pub storage_path: std::path::PathBuf,
    /// Settings shared by the reconcilers.
    pub reconcilers: ReconcilerOptions,
    /// The events and receiver endpoints and the alert rate limit.
    pub notifications: crate::NotificationOptions,
}

/// Why the controller could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An endpoint's address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The API server did not answer the version request.
    #[error("cannot reach the Kubernetes API server: {0}")]
    ApiServer(#[source] kube::Error),
    /// The controller's storage could not be opened.
    #[error("cannot open {}: {source}", path.display())]
    Storage {
        path: std::path::PathBuf,
        source: tether_registry::CacheError,
    },
    /// A server task failed while running.
    #[error("endpoint server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Runs the controller against the cluster of `config` until SIGTERM or SIGINT, then shuts down
/// gracefully.
pub async fn run_until_shutdown(
    config: kube::Config,
    options: ControllerOptions,
) -> Result<(), RunError> {
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        wait_for_shutdown_signal().await;
        tracing::info!("shutdown signal received, stopping");
        on_signal.cancel();
    });
    run_until(config, options, stop).await
}

/// Runs the controller against the cluster of `config` until `stop` is cancelled, then shuts
/// down gracefully. Tests run the controller in process through this.
pub async fn run_until(
    config: kube::Config,
    options: ControllerOptions,
    stop: CancellationToken,
) -> Result<(), RunError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let readiness = Readiness::default();
    let metrics = Metrics::new();
    let client = counted_client(config.clone(), &metrics)?;
    let health = serve(
        options.health_addr,
        probe_routes(readiness.clone()),
        stop_rx.clone(),
    )
    .await?;
    let metrics_server = serve(
        options.metrics_addr,
        metrics_routes(metrics.clone()),
        stop_rx.clone(),
    )
    .await?;

    let artifacts = serve(
        options.storage_addr,
        crate::storage_http::artifact_routes(options.storage_path.join("artifacts")),
        stop_rx.clone(),
    )
    .await?;

    let version = client
        .apiserver_version()
        .await
        .map_err(RunError::ApiServer)?;
    tracing::info!(server = %version.git_version, "connected to the Kubernetes API server");

    let ready = readiness.clone();
    let shutdown = CancellationToken::new();
    let notifications = crate::notification::start(
        &client,
        options.reconcilers.watch_namespace.as_deref(),
        &options.notifications,
        &shutdown,
    );
    let notification_servers = [
        (
            options.notifications.events_addr,
            notifications.event_routes,
        ),
        (
            options.notifications.receiver_addr,
            notifications.receiver_routes,
        ),
    ];
    let mut servers = vec![health, metrics_server, artifacts];
    for (addr, routes) in notification_servers {
        match serve(addr, routes, stop_rx.clone()).await {
            Ok(server) => servers.push(server),
            Err(error) => {
                // The caches and the dispatcher already run: stop them with the process.
                shutdown.cancel();
                return Err(error);
            }
        }
    }
    let tags_dir = options.storage_path.join("image-tags");
    let shared = crate::reconcilers::Shared {
        // One registry client: its per-host rate limits hold for every scan in the process.
        registry: tether_registry::RegistryClient::new(tether_registry::ClientOptions {
            requests_per_second: options.reconcilers.registry_rps,
            burst: options.reconcilers.registry_burst,
            ..tether_registry::ClientOptions::default()
        }),
        tags: tether_registry::TagCache::open(&tags_dir).map_err(|source| RunError::Storage {
            path: tags_dir.clone(),
            source,
        })?,
        client,
        config,
        metrics,
        alerts: notifications.feed,
    };
    let reconcilers = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            crate::reconcilers::run_reconcilers(
                shared,
                &options.storage_path,
                options.reconcilers,
                shutdown,
                move || ready.set_ready(true),
            )
            .await;
        })
    };

    stop.cancelled().await;
    readiness.set_ready(false);
    let _ = stop_tx.send(true);
    shutdown.cancel();
    if tokio::time::timeout(Duration::from_secs(20), reconcilers)
        .await
        .is_err()
    {
        tracing::warn!("reconcilers did not stop within 20s");
    }
    for server in servers {
        match tokio::time::timeout(Duration::from_secs(10), server).await {
            Ok(Ok(Ok(()))) | Err(_) => {}
            Ok(Ok(Err(error))) => return Err(RunError::Serve(error)),
            Ok(Err(join)) => tracing::warn!(%join, "endpoint server task ended abnormally"),
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// A client whose every request is counted in `tether_api_requests_total`.
fn counted_client(config: kube::Config, metrics: &Metrics) -> Result<kube::Client, RunError> {
    let layer = crate::requests::CountRequests::new(metrics.api_requests.clone());
    Ok(kube::client::ClientBuilder::try_from(config)
        .map_err(RunError::ApiServer)?
        .with_layer(&layer)
        .build())
}

async fn serve(
    addr: SocketAddr,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>, RunError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Listen { addr, source })?;
    tracing::info!(addr = %listener.local_addr().unwrap_or(addr), "serving");
    Ok(tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await
    }))
}

async fn wait_for_shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; stopping on SIGINT only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
