//! `kbuild DIR`: prints `kustomize build DIR` output computed by tether's native engine.
//! With `--flux`, builds like Flux (a kustomization is generated when the directory has none).

use std::process::ExitCode;

use tether_kustomize::{DiskFs, Kustomizer, Options, build_plain_directory};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flux = args.iter().any(|a| a == "--flux");
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: kbuild [--flux] DIR");
        return ExitCode::from(2);
    };
    let options = Options::default();
    let Ok(abs) = std::fs::canonicalize(dir) else {
        eprintln!("Error: {dir}: no such directory");
        return ExitCode::FAILURE;
    };
    let rel = abs
        .strip_prefix("/")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // kustomize's own restriction applies per kustomization; the CLI reads the whole filesystem.
    let result = DiskFs::new("/", options.max_file_bytes).and_then(|fs| {
        if flux {
            build_plain_directory(&fs, &rel, options)
        } else {
            Kustomizer::new(options).build(&fs, &rel)
        }
    });
    match result {
        Ok(map) => {
            print!("{}", map.to_yaml());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
