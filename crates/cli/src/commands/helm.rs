//! `tether helm template NAME CHART`: renders a chart with the native helm engine and prints
//! what `helm template` prints; errors carry Helm's message.

use tether_helm::user_values::{ValueSources, merge_user_values};
use tether_helm::{KubeVersion, ReleaseOptions, TemplateOptions, load, template};

use crate::cli::{HelmCommand, HelmTemplateArgs};

pub fn run(command: HelmCommand) -> anyhow::Result<()> {
    match command {
        HelmCommand::Template(args) => {
            print!("{}", render(args)?);
            Ok(())
        }
    }
}

fn render(args: HelmTemplateArgs) -> anyhow::Result<String> {
    let (name, chart_path) = match args.chart {
        Some(chart) => (args.name, chart),
        None => ("release-name".to_owned(), args.name.into()),
    };
    let mut opts = TemplateOptions {
        release: ReleaseOptions {
            name,
            namespace: args.namespace,
            is_upgrade: args.is_upgrade,
            ..ReleaseOptions::default()
        },
        include_crds: args.include_crds,
        skip_tests: args.skip_tests,
        skip_schema_validation: args.skip_schema_validation,
        show_only: args.show_only,
        ..TemplateOptions::default()
    };
    if let Some(version) = &args.kube_version {
        opts.capabilities.kube_version = KubeVersion::parse(version)
            .map_err(|e| anyhow::anyhow!("invalid kube version '{version}': {e}"))?;
    }
    opts.capabilities.extra_api_versions = args.api_versions;
    let sources = ValueSources {
        files: args.values,
        json: args.set_json,
        set: args.set,
        strings: args.set_string,
        file_values: args.set_file,
    };
    let read =
        |path: &str| std::fs::read(path).map_err(|e| format!("open {path}: {}", go_io_error(&e)));
    opts.values = merge_user_values(&sources, &read)?;
    let chart = load::load_path(&chart_path, load::Limits::default())?;
    Ok(template(chart, &opts)?.output)
}

fn go_io_error(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory",
        std::io::ErrorKind::PermissionDenied => "permission denied",
        _ => "input/output error",
    }
}
