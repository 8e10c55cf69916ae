//! `tether controller`: run the reconcilers until SIGTERM.

use crate::cli::ControllerArgs;
use anyhow::Context;
use tether_controller::fluxv1::V1AutomationOptions;
use tether_controller::{
    ControllerOptions, NotificationOptions, ReconcilerOptions, run_until_shutdown,
};

pub fn run(args: ControllerArgs) -> anyhow::Result<()> {
    init_logging(&args.log_encoding);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let config = kube::Config::infer()
            .await
            .context("cannot load a kubeconfig or the in-cluster configuration")?;
        let options = ControllerOptions {
            health_addr: args.health_addr,
            metrics_addr: args.metrics_addr,
            storage_addr: args.storage_addr,
            storage_path: args.storage_path,
            reconcilers: ReconcilerOptions {
                artifact_base_url: advertised_url(&args.storage_adv_addr),
                concurrency: args.concurrent,
                dependency_requeue: args.requeue_dependency,
                watch_namespace: args.watch_namespace,
                default_service_account: args.default_service_account.filter(|s| !s.is_empty()),
                default_kubeconfig_service_account: args
                    .default_kubeconfig_service_account
                    .filter(|s| !s.is_empty()),
                no_cross_namespace_refs: args.no_cross_namespace_refs,
                registry_rps: args.registry_rps,
                registry_burst: args.registry_burst,
                v1_automation: V1AutomationOptions {
                    interval: args.automation_interval,
                    commit: args.git.settings(),
                },
                ..ReconcilerOptions::default()
            },
            notifications: NotificationOptions {
                events_addr: args.events_addr,
                receiver_addr: args.receiver_addr,
                rate_limit: args.rate_limit_interval,
                no_cross_namespace_refs: args.no_cross_namespace_refs,
                max_concurrent_deliveries: args.max_concurrent_deliveries,
                ..NotificationOptions::default()
            },
        };
        run_until_shutdown(config, options).await?;
        Ok(())
    })
}

/// `--storage-adv-addr` as a base URL: Flux passes a host (`source-controller.flux-system.svc.
/// cluster.local.`), served over plain HTTP; a value with a scheme is taken as it is.
fn advertised_url(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    }
}

pub(crate) fn init_logging(encoding: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if encoding == "json" {
        builder.event_format(super::log_format::FluxJson).init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn controller_args(flags: &[&str]) -> crate::cli::ControllerArgs {
        let args = ["tether", "controller"].iter().chain(flags);
        match Cli::try_parse_from(args).expect("flags parse").command {
            Command::Controller(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn tenancy_flags_parse_as_flux_manifests_write_them() {
        let args = controller_args(&[
            "--no-cross-namespace-refs=true",
            "--no-remote-bases=true",
            "--default-service-account=default",
            "--default-kubeconfig-service-account=deployer",
        ]);
        assert!(args.no_cross_namespace_refs && args.no_remote_bases);
        assert_eq!(args.default_service_account.as_deref(), Some("default"));
        let kubeconfig_account = args.default_kubeconfig_service_account.as_deref();
        assert_eq!(kubeconfig_account, Some("deployer"));
        assert!(controller_args(&["--no-cross-namespace-refs"]).no_cross_namespace_refs);
        let off = controller_args(&["--no-cross-namespace-refs=false"]);
        assert!(!off.no_cross_namespace_refs && !off.no_remote_bases);
        assert_eq!(off.default_service_account, None);
    }
}
