//! fluxd's manifest generation (`--manifest-generation`): a `.flux.yaml` in a `--git-path` or
//! above it says how that path's manifests are made. `version: 1` with exactly one of
//! `commandUpdated` (generators, and updaters that edit files), `patchUpdated` (generators, and
//! a `patchFile` applied to their output, into which fluxd wrote updates) or `scanForFiles`
//! (plain files, as without a `.flux.yaml`). Generators that run `kustomize build` run on the
//! native kustomize engine; any other command is a shell command, refused unless
//! `--manifest-generation-allow-shell` was given, with an error naming the file and command.
//! A shell command runs in the `--git-path` directory and is killed after its `timeout` (one
//! second at least, else `--sync-timeout`, as fluxd). How updates are written into the patch
//! file or by updater commands is [`super::store`]'s.

use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::{self, Env, RunError};
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
    /// A shell command ran past its timeout and was killed.
    #[error(
        "{file}: {field} command {command:?} did not finish within its timeout of {timeout}; it was killed (raise `timeout` on the command or --sync-timeout)"
    )]
    TimedOut {
        file: String,
        field: &'static str,
        command: String,
        timeout: String,
    },
    /// An updater command failed, or none was there to run.
    #[error("{file}: error executing {field} command {command:?} for {workload}: {reason}")]
    Updater {
        file: String,
        field: &'static str,
        command: String,
        workload: String,
        reason: String,
    },
    /// The generated manifests could not take an update.
    #[error("{file}: cannot update {workload} in the generated manifests: {reason}")]
    Update {
        file: String,
        workload: String,
        reason: String,
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

impl Command {
    /// Its own `timeout` when one second or more (fluxd ignored shorter ones), else `default`.
    pub fn timeout(&self, default: Duration) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|t| parse_timeout(t).ok())
            .filter(|t| *t >= Duration::from_secs(1))
            .unwrap_or(default)
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    tether_api::meta::Duration::new(text)
        .and_then(|d| d.to_std())
        .map_err(|e| e.to_string())
}

/// How `.flux.yaml` commands may run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `--manifest-generation-allow-shell`.
    pub allow_shell: bool,
    /// A command's timeout when it gives none (`--sync-timeout`).
    pub default_timeout: Duration,
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
    for command in config.commands() {
        if let Some(timeout) = &command.timeout {
            parse_timeout(timeout)
                .map_err(|e| invalid(format!("command {:?}: timeout: {e}", command.command)))?;
        }
    }
    Ok(config)
}

impl ConfigFile {
    /// Every command the file names: generators, then updaters.
    fn commands(&self) -> impl Iterator<Item = &Command> {
        let command = self.command_updated.as_ref();
        let generators = command
            .map(|c| &c.generators)
            .into_iter()
            .chain(self.patch_updated.as_ref().map(|p| &p.generators))
            .flatten();
        let updaters = command.into_iter().flat_map(|c| {
            c.updaters
                .iter()
                .flat_map(|u| u.container_image.iter().chain(u.policy.iter()))
        });
        generators.chain(updaters)
    }
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

/// The `.flux.yaml` in effect for one `--git-path`, and what its generators made.
#[derive(Debug)]
pub(crate) struct Generation {
    /// The config file, relative to the repository root.
    pub file: String,
    /// The `--git-path`, relative to the root: where commands run and the patch file is.
    pub working_dir: String,
    pub config: ConfigFile,
    /// What the generators printed.
    pub generated: Vec<Value>,
    /// The manifests: the generated ones, with the patch file applied for `patchUpdated`.
    pub manifests: Vec<Value>,
}

impl Generation {
    /// fluxd's name for where the path's workloads come from: the config file seen from the
    /// path (`staging/../.flux.yaml`).
    pub fn origin(&self) -> PathBuf {
        origin(&self.working_dir, &self.file)
    }

    /// The patch file of `patchUpdated`, relative to the root.
    pub fn patch_file(&self) -> Option<PathBuf> {
        let patch = self.config.patch_updated.as_ref()?;
        Some(Path::new(&self.working_dir).join(&patch.patch_file))
    }
}

/// `working_dir` then up to `file`'s directory, then the file's name.
fn origin(working_dir: &str, file: &str) -> PathBuf {
    let config_dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut origin = PathBuf::from(if working_dir.is_empty() {
        "."
    } else {
        working_dir
    });
    let mut dir = PathBuf::from(working_dir);
    while dir != config_dir && dir.pop() {
        origin.push("..");
    }
    origin.join(CONFIG_FILE)
}

/// The generation in effect for `git_path`: its `.flux.yaml` run (generators, then the patch
/// file for `patchUpdated`); `None` without a `.flux.yaml` or with `scanForFiles`.
pub(crate) fn load(
    root: &Path,
    git_path: &str,
    settings: &Settings,
) -> Result<Option<Generation>, GenerationError> {
    let working_dir = git_path.trim_matches('/');
    let Some(config_path) = find(root, working_dir) else {
        return Ok(None);
    };
    let file = config_path.display().to_string();
    let bytes = std::fs::read(root.join(&config_path)).map_err(|e| GenerationError::Invalid {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    let config = parse(&file, &bytes)?;
    let (generators, patch_file) = match (&config.command_updated, &config.patch_updated) {
        (Some(command), _) => {
            refuse_shell_updaters(&file, command, settings.allow_shell)?;
            (&command.generators, None)
        }
        (None, Some(patch)) => (&patch.generators, Some(patch.patch_file.as_str())),
        (None, None) => return Ok(None),
    };
    let mut generated = Vec::new();
    for generator in generators {
        generated.extend(run_generator(
            root,
            working_dir,
            &file,
            generator,
            settings,
        )?);
    }
    let manifests = match patch_file {
        Some(patch) => apply_patch_file(root, working_dir, &file, patch, generated.clone())?,
        None => generated.clone(),
    };
    Ok(Some(Generation {
        file,
        working_dir: working_dir.to_owned(),
        config,
        generated,
        manifests,
    }))
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
    settings: &Settings,
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
        Generator::Shell if !settings.allow_shell => Err(GenerationError::ShellRefused {
            file: file.to_owned(),
            field: "generators",
            command: generator.command.clone(),
        }),
        Generator::Shell => {
            let timeout = generator.timeout(settings.default_timeout);
            let dir = root.join(working_dir);
            let shell = Shell {
                file,
                field: "generators",
                command: generator,
            };
            let output = shell.run(&dir, Env::Inherit, timeout, failed)?;
            tether_core::yaml::from_str_multi(&String::from_utf8_lossy(&output.stdout))
                .map(|docs| docs.into_iter().filter(|d| !d.is_null()).collect())
                .map_err(|e| failed(e.to_string()))
        }
    }
}

/// An allowed shell command of a `.flux.yaml`.
pub(crate) struct Shell<'a> {
    pub file: &'a str,
    /// Where in the file: `generators`, `updaters.containerImage`, `updaters.policy`.
    pub field: &'static str,
    pub command: &'a Command,
}

impl Shell<'_> {
    /// Runs the command in `dir`: its output once it succeeded; a failure (its exit status and
    /// output, through `failed`) or an overrun (naming the command and its timeout) as an
    /// error.
    pub fn run(
        &self,
        dir: &Path,
        env: Env,
        timeout: Duration,
        failed: impl Fn(String) -> GenerationError,
    ) -> Result<command::Finished, GenerationError> {
        let finished =
            command::run(&self.command.command, dir, env, timeout).map_err(|e| match e {
                RunError::TimedOut(timeout) => GenerationError::TimedOut {
                    file: self.file.to_owned(),
                    field: self.field,
                    command: self.command.command.clone(),
                    timeout: command::humanize(timeout),
                },
                other => failed(other.to_string()),
            })?;
        if !finished.status.success() {
            let output = [&finished.stderr[..], &finished.stdout[..]].concat();
            return Err(failed(format!(
                "{}: {}",
                finished.status,
                String::from_utf8_lossy(&output).trim()
            )));
        }
        Ok(finished)
    }
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
    if patch_bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(objects);
    }
    let patch_bytes = without_set_element_order(&patch_bytes).map_err(failed)?;
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

/// The patch documents without apimachinery's `$setElementOrder/<list>` directives (which
/// fluxd wrote and kustomize's merge would copy into the object): the order they ask for is
/// the generated one, which the merge keeps.
fn without_set_element_order(patch: &[u8]) -> Result<String, String> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|k, _| !k.starts_with("$setElementOrder/"));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut docs = tether_core::yaml::from_str_multi(&String::from_utf8_lossy(patch))
        .map_err(|e| e.to_string())?;
    docs.retain(|d| !d.is_null());
    docs.iter_mut().for_each(strip);
    Ok(tether_core::yaml::to_multi_doc(&docs))
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
    fn a_command_timeout_of_a_second_or_more_replaces_the_default() {
        let command = |timeout: Option<&str>| Command {
            command: "true".into(),
            timeout: timeout.map(str::to_owned),
        };
        let default = Duration::from_secs(60);
        assert_eq!(command(None).timeout(default), default);
        assert_eq!(command(Some("5s")).timeout(default), Duration::from_secs(5));
        assert_eq!(command(Some("500ms")).timeout(default), default);
        let bad = b"version: 1\npatchUpdated:\n  generators:\n  - command: kustomize build .\n    timeout: soon\n  patchFile: p.yaml\n";
        let error = parse("a/.flux.yaml", bad)
            .expect_err("bad timeout")
            .to_string();
        assert!(
            error.contains("a/.flux.yaml") && error.contains("timeout"),
            "{error}"
        );
    }

    #[test]
    fn origins_are_the_config_seen_from_the_git_path() {
        assert_eq!(
            origin("apps", "apps/.flux.yaml"),
            PathBuf::from("apps/.flux.yaml")
        );
        assert_eq!(
            origin("staging", ".flux.yaml"),
            PathBuf::from("staging/../.flux.yaml")
        );
        assert_eq!(origin("", ".flux.yaml"), PathBuf::from("./.flux.yaml"));
    }

    #[test]
    fn set_element_order_directives_are_dropped_from_patch_files() {
        let patch = b"kind: Deployment\nspec:\n  template:\n    spec:\n      $setElementOrder/containers:\n      - name: app\n      containers:\n      - name: app\n        image: a:2\n";
        let stripped = without_set_element_order(patch).expect("yaml");
        assert!(
            !stripped.contains("setElementOrder") && stripped.contains("image: a:2"),
            "{stripped}"
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
