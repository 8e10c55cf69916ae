//! fluxd's manifest generation (`--manifest-generation`): a `.flux.yaml` in a `--git-path` or
//! above it says how that path's manifests are made. `version: 1` with exactly one of
//! `commandUpdated` (generators, and updaters that edit files), `patchUpdated` (generators, and
//! a `patchFile` applied to their output, into which fluxd wrote updates) or `scanForFiles`
//! (plain files, as without a `.flux.yaml`). Generators that run `kustomize build` run on the
//! native kustomize engine; any other command is a shell command, refused unless
//! `--manifest-generation-allow-shell` was given, with an error naming the file and command.

use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tether_kustomize::{DiskFs, FileSystem, MemFs, Options, flux::Overrides};

/// fluxd's name for the file.
pub const CONFIG_FILE: &str = ".flux.yaml";

/// Why manifests could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    /// The `.flux.yaml` is not valid YAML or not one of fluxd's three shapes.
    #[error("{file}: config file is not valid: {reason}")]
    Invalid { file: String, reason: String },
    /// A shell command that `--manifest-generation-allow-shell` did not allow.
    #[error(
        "{file}: {field} command {command:?} is a shell command; tether runs only `kustomize build` generators natively (start tether fluxd with --manifest-generation-allow-shell to run shell commands)"
    )]
    ShellRefused {
        file: String,
        field: &'static str,
        command: String,
    },
    /// A generator failed.
    #[error("{file}: error executing generator command {command:?}: {reason}")]
    Generator {
        file: String,
        command: String,
        reason: String,
    },
    /// The patch file could not be read or applied.
    #[error("{file}: cannot apply patchFile {patch:?} to generated resources: {reason}")]
    Patch {
        file: String,
        patch: String,
        reason: String,
    },
}

/// One `.flux.yaml`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigFile {
    pub version: u8,
    #[serde(default)]
    pub command_updated: Option<CommandUpdated>,
    #[serde(default)]
    pub patch_updated: Option<PatchUpdated>,
    #[serde(default)]
    pub scan_for_files: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandUpdated {
    pub generators: Vec<Command>,
    #[serde(default)]
    pub updaters: Vec<Updater>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchUpdated {
    pub generators: Vec<Command>,
    pub patch_file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    pub command: String,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Updater {
    #[serde(default)]
    pub container_image: Option<Command>,
    #[serde(default)]
    pub policy: Option<Command>,
}

/// Parses a `.flux.yaml` as fluxd's schema does: `version: 1` and exactly one mode.
pub fn parse(file: &str, bytes: &[u8]) -> Result<ConfigFile, GenerationError> {
    let invalid = |reason: String| GenerationError::Invalid {
        file: file.to_owned(),
        reason,
    };
    let value = tether_core::yaml::from_str(&String::from_utf8_lossy(bytes))
        .map_err(|e| invalid(e.to_string()))?;
    let config: ConfigFile = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    if config.version != 1 {
        return Err(invalid(format!(
            "version must be 1, not {}",
            config.version
        )));
    }
    let modes = [
        config.command_updated.is_some(),
        config.patch_updated.is_some(),
        config.scan_for_files.is_some(),
    ];
    if modes.iter().filter(|m| **m).count() != 1 {
        return Err(invalid(
            "exactly one of commandUpdated, patchUpdated and scanForFiles is required".into(),
        ));
    }
    Ok(config)
}

/// The `.flux.yaml` that governs `git_path`: in it, or in the nearest directory above it
/// inside the repository (fluxd's search); `None` when there is none.
pub fn find(root: &Path, git_path: &str) -> Option<PathBuf> {
    let mut dir = PathBuf::from(git_path.trim_matches('/'));
    loop {
        let candidate = root.join(&dir).join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(dir.join(CONFIG_FILE));
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// What a generator command does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Generator {
    /// `kustomize build [dir]`, relative to the working directory.
    KustomizeBuild(String),
    Shell,
}

fn classify(command: &str) -> Generator {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["kustomize", "build"] => Generator::KustomizeBuild(".".into()),
        ["kustomize", "build", dir] if !dir.starts_with('-') && is_plain(dir) => {
            Generator::KustomizeBuild((*dir).to_owned())
        }
        _ => Generator::Shell,
    }
}

/// A path with no shell syntax in it.
fn is_plain(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

/// The objects `git_path`'s `.flux.yaml` (at `config`, relative to `root`) generates, its
/// patch file applied for `patchUpdated`; `None` for `scanForFiles`.
pub fn generate(
    root: &Path,
    git_path: &str,
    config: &Path,
    allow_shell: bool,
) -> Result<Option<Vec<Value>>, GenerationError> {
    let file = config.display().to_string();
    let bytes = std::fs::read(root.join(config)).map_err(|e| GenerationError::Invalid {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    let parsed = parse(&file, &bytes)?;
    let working_dir = git_path.trim_matches('/');
    let (generators, patch_file) = match (&parsed.command_updated, &parsed.patch_updated) {
        (Some(command), _) => {
            refuse_shell_updaters(&file, command, allow_shell)?;
            (&command.generators, None)
        }
        (None, Some(patch)) => (&patch.generators, Some(patch.patch_file.as_str())),
        (None, None) => return Ok(None),
    };
    let mut objects = Vec::new();
    for generator in generators {
        objects.extend(run_generator(
            root,
            working_dir,
            &file,
            generator,
            allow_shell,
        )?);
    }
    match patch_file {
        Some(patch) => apply_patch_file(root, working_dir, &file, patch, objects).map(Some),
        None => Ok(Some(objects)),
    }
}

fn refuse_shell_updaters(
    file: &str,
    command: &CommandUpdated,
    allow_shell: bool,
) -> Result<(), GenerationError> {
    let first = command.updaters.iter().find_map(|u| {
        u.container_image
            .as_ref()
            .map(|c| ("updaters.containerImage", c))
            .or(u.policy.as_ref().map(|c| ("updaters.policy", c)))
    });
    match first {
        Some((field, updater)) if !allow_shell => Err(GenerationError::ShellRefused {
            file: file.to_owned(),
            field,
            command: updater.command.clone(),
        }),
        _ => Ok(()),
    }
}

fn run_generator(
    root: &Path,
    working_dir: &str,
    file: &str,
    generator: &Command,
    allow_shell: bool,
) -> Result<Vec<Value>, GenerationError> {
    let failed = |reason: String| GenerationError::Generator {
        file: file.to_owned(),
        command: generator.command.clone(),
        reason,
    };
    match classify(&generator.command) {
        Generator::KustomizeBuild(dir) => {
            let fs = DiskFs::new(root, super::sync::MAX_FILE_BYTES)
                .map_err(|e| failed(e.to_string()))?;
            let path = Path::new(working_dir).join(dir);
            let built = tether_kustomize::build_flux(
                &fs,
                &path.to_string_lossy(),
                Overrides::default(),
                Options::default(),
            )
            .map_err(|e| failed(e.to_string()))?;
            Ok(built.objects().cloned().collect())
        }
        Generator::Shell if !allow_shell => Err(GenerationError::ShellRefused {
            file: file.to_owned(),
            field: "generators",
            command: generator.command.clone(),
        }),
        Generator::Shell => run_shell(&root.join(working_dir), &generator.command).map_err(failed),
    }
}

/// Runs an allowed shell generator in the working directory; its stdout is YAML.
fn run_shell(dir: &Path, command: &str) -> Result<Vec<Value>, String> {
    let output = std::process::Command::new("/bin/sh")
        .args(["-c", command])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    tether_core::yaml::from_str_multi(&String::from_utf8_lossy(&output.stdout))
        .map(|docs| docs.into_iter().filter(|d| !d.is_null()).collect())
        .map_err(|e| e.to_string())
}

/// fluxd's `ApplyManifestPatch`: each document of the patch file merged (strategic merge) into
/// the generated object it names; a missing patch file patches nothing. Done by the native
/// kustomize engine over the generated objects and the patch file, in memory.
fn apply_patch_file(
    root: &Path,
    working_dir: &str,
    file: &str,
    patch: &str,
    objects: Vec<Value>,
) -> Result<Vec<Value>, GenerationError> {
    let failed = |reason: String| GenerationError::Patch {
        file: file.to_owned(),
        patch: patch.to_owned(),
        reason,
    };
    let patch_path = root.join(working_dir).join(patch);
    let patch_bytes = match std::fs::read(&patch_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(objects),
        Err(e) => return Err(failed(e.to_string())),
    };
    let generated = tether_core::yaml::to_multi_doc(&objects);
    let mut fs = MemFs::new();
    fs.add("generated.yaml", generated)
        .add("patch.yaml", patch_bytes)
        .add(
            "kustomization.yaml",
            "resources: [generated.yaml]\npatchesStrategicMerge: [patch.yaml]\n",
        );
    let fs: &dyn FileSystem = &fs;
    let built = tether_kustomize::Kustomizer::new(Options::default())
        .build(fs, ".")
        .map_err(|e| failed(e.to_string()))?;
    Ok(built.objects().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_needs_version_1_and_exactly_one_mode() {
        let patch = b"version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n  patchFile: flux-patch.yaml\n";
        assert!(parse("a/.flux.yaml", patch).is_ok());
        let both = b"version: 1\nscanForFiles: {}\ncommandUpdated:\n  generators: []\n";
        assert!(parse("a/.flux.yaml", both).is_err());
        let v2 = b"version: 2\nscanForFiles: {}\n";
        assert!(parse("a/.flux.yaml", v2).is_err());
        let stray = b"version: 1\ncommandUpdated:\n  generators: []\n  patchFile: p.yaml\n";
        let error = parse("a/.flux.yaml", stray)
            .expect_err("a stray field")
            .to_string();
        assert!(
            error.contains("a/.flux.yaml") && error.contains("patchFile"),
            "{error}"
        );
    }

    #[test]
    fn only_kustomize_build_runs_natively() {
        assert_eq!(
            classify("kustomize build"),
            Generator::KustomizeBuild(".".into())
        );
        assert_eq!(
            classify("kustomize build overlays/prod"),
            Generator::KustomizeBuild("overlays/prod".into())
        );
        for shell in [
            "kustomize build . | sed s/a/b/",
            "kustomize build --enable-helm .",
            "cat *.yaml",
            "kustomize build $(pwd)",
        ] {
            assert_eq!(classify(shell), Generator::Shell, "{shell}");
        }
    }
}
