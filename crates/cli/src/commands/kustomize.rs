//! `tether kustomize build DIR`: runs the native kustomize engine on a directory and prints the
//! same YAML `kustomize build DIR` prints.

use std::path::Path;

use anyhow::Context;
use tether_kustomize::{DiskFs, Kustomizer, LoadRestrictions, Options};

use crate::cli::KustomizeCommand;

pub fn run(command: KustomizeCommand) -> anyhow::Result<()> {
    match command {
        KustomizeCommand::Build {
            dir,
            load_restrictor,
        } => {
            print!("{}", build(&dir, load_restrictor)?);
            Ok(())
        }
    }
}

/// Builds `dir`. Like kustomize, the whole filesystem is readable (bases may sit beside the
/// directory); the load restrictor confines the files each kustomization names.
fn build(dir: &Path, load_restrictions: LoadRestrictions) -> anyhow::Result<String> {
    let abs = dir
        .canonicalize()
        .with_context(|| format!("{}: no such directory", dir.display()))?;
    let logical = abs
        .strip_prefix("/")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let options = Options {
        load_restrictions,
        ..Options::default()
    };
    let fs = DiskFs::new("/", options.max_file_bytes)?;
    let map = Kustomizer::new(options).build(&fs, &logical)?;
    Ok(map.to_yaml())
}
