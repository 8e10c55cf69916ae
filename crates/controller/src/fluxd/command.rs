//! Running a `.flux.yaml` command as fluxd ran it: `/bin/sh -c <command>` in the working
//! directory (the `--git-path`), with the environment given (generators inherit the daemon's,
//! updaters get only their `FLUX_*` variables and `PATH`), killed — its whole process group —
//! once its timeout has passed.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often a running command is checked.
const POLL: Duration = Duration::from_millis(20);

/// What a finished command printed.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a command gave no result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cannot start /bin/sh: {0}")]
    Spawn(std::io::Error),
    #[error("killed: still running after its timeout of {}", humanize(*.0))]
    TimedOut(Duration),
}

/// The environment a command runs with.
pub(crate) enum Env {
    /// The daemon's own (generators).
    Inherit,
    /// Only these variables and the daemon's `PATH` (updaters).
    Only(Vec<(String, String)>),
}

/// Runs `command` in `dir`; the command's own failure is in [`Finished::status`].
pub(crate) fn run(
    command: &str,
    dir: &Path,
    env: Env,
    timeout: Duration,
) -> Result<Finished, RunError> {
    let mut shell = Command::new("/bin/sh");
    shell
        .args(["-c", command])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Env::Only(vars) = env {
        shell.env_clear().envs(vars);
        if let Some(path) = std::env::var_os("PATH") {
            shell.env("PATH", path);
        }
    }
    let mut child = shell.spawn().map_err(RunError::Spawn)?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => break None,
            Ok(None) => std::thread::sleep(POLL),
            Err(error) => return Err(RunError::Spawn(error)),
        }
    };
    let Some(status) = status else {
        kill_group(&mut child);
        return Err(RunError::TimedOut(timeout));
    };
    Ok(Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads a pipe to its end on a thread of its own, so a chatty command never blocks.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Kills the command and everything it started (its process group), then reaps it.
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let killed = Command::new("/bin/sh")
        .args(["-c", "kill -KILL -- \"$0\"", &group])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !killed.is_ok_and(|s| s.success()) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// A timeout for messages: `5s`, `1m30s`; one with a fraction of a second in `ms`.
pub(crate) fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !millis.is_multiple_of(1000) {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs();
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m0s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_its_timeout_is_killed_with_its_children() {
        let dir = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        let result = run(
            "sleep 30 & sleep 30; echo never",
            dir.path(),
            Env::Inherit,
            Duration::from_secs(1),
        );
        let error = result.expect_err("timed out").to_string();
        assert!(error.contains("timeout of 1s"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not waited for"
        );
    }

    #[test]
    fn updaters_see_only_their_variables_and_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vars = vec![("FLUX_TAG".to_owned(), "1.2".to_owned())];
        let finished = run(
            "echo \"$FLUX_TAG ${HOME:-unset} $(pwd)\"",
            dir.path(),
            Env::Only(vars),
            Duration::from_secs(10),
        )
        .expect("runs");
        let printed = String::from_utf8_lossy(&finished.stdout).into_owned();
        let cwd = dir.path().canonicalize().expect("canonical");
        assert_eq!(printed.trim(), format!("1.2 unset {}", cwd.display()));
        assert!(finished.status.success());
    }

    #[test]
    fn timeouts_print_in_seconds_minutes_or_milliseconds() {
        assert_eq!(humanize(Duration::from_secs(5)), "5s");
        assert_eq!(humanize(Duration::from_secs(90)), "1m30s");
        assert_eq!(humanize(Duration::from_secs(60)), "1m0s");
        assert_eq!(humanize(Duration::from_millis(1500)), "1500ms");
    }
}
