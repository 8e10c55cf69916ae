//! `htemplate [template] [NAME] CHART [--set k=v]...`: renders a chart directory or archive
//! with the engine and prints what `helm template` prints (the benchmark's driver; a leading
//! `template` is accepted so it takes `helm`'s command line).

use tether_helm::user_values::{ValueSources, merge_user_values};
use tether_helm::{ReleaseOptions, TemplateOptions, load, template};

fn main() -> std::process::ExitCode {
    let mut positional = Vec::new();
    let mut sources = ValueSources::default();
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "template") {
        args.next();
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--set" => sources.set.extend(args.next()),
            "-f" | "--values" => sources.files.extend(args.next()),
            _ => positional.push(arg),
        }
    }
    let (name, chart) = match positional.as_slice() {
        [chart] => ("release-name".to_owned(), chart.clone()),
        [name, chart] => (name.clone(), chart.clone()),
        _ => {
            eprintln!("usage: htemplate [NAME] CHART [--set k=v] [-f values.yaml]");
            return std::process::ExitCode::from(2);
        }
    };
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("open {p}: {e}"));
    let result = merge_user_values(&sources, &read).and_then(|values| {
        let chart = load::load_path(chart.as_ref(), load::Limits::default())?;
        let opts = TemplateOptions {
            release: ReleaseOptions {
                name,
                ..ReleaseOptions::default()
            },
            values,
            ..TemplateOptions::default()
        };
        template(chart, &opts)
    });
    match result {
        Ok(rendered) => {
            print!("{}", rendered.output);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
