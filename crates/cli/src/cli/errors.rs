//! Command-line mistakes reported as cobra reports them for Flux (`✗ unknown flag: --x`,
//! `✗ unknown shorthand flag: 'x' in -x`, `✗ flag needs an argument: --timeout`,
//! `✗ invalid argument "abc" for "--timeout" flag: ...`, `✗ unknown command "x" for "tether"`
//! with cobra's suggestions), exit status 1. Help, version and the mistakes cobra words in
//! each command's own way keep clap's report.

use clap::CommandFactory;
use clap::error::{ContextKind, ContextValue, ErrorKind};

/// tether's commands that are Flux's: their mistakes are worded as Flux's. The others
/// (`kustomize`, `helm`, the fluxctl verbs, `fluxd`, `controller`) keep clap's words and status.
const FLUX_VERBS: &[&str] = &[
    "bootstrap",
    "build",
    "check",
    "create",
    "debug",
    "diff",
    "events",
    "export",
    "get",
    "install",
    "list",
    "logs",
    "pull",
    "push",
    "reconcile",
    "resume",
    "suspend",
    "tag",
    "trace",
    "tree",
    "trigger",
    "uninstall",
];

/// Prints `error` as Flux's CLI would and returns the exit status, or lets clap print it.
pub fn exit_on_parse_error(error: clap::Error) -> std::process::ExitCode {
    let verb = std::env::args().nth(1).unwrap_or_default();
    let unknown_verb = context(&error, ContextKind::InvalidSubcommand).as_deref() == Some(&verb);
    if !FLUX_VERBS.contains(&verb.as_str()) && !unknown_verb {
        error.exit()
    }
    match flux_message(&error) {
        Some(message) => {
            eprintln!("✗ {message}");
            std::process::ExitCode::FAILURE
        }
        None => error.exit(),
    }
}

fn context(error: &clap::Error, kind: ContextKind) -> Option<String> {
    match error.get(kind)? {
        ContextValue::String(text) => Some(text.clone()),
        ContextValue::Strings(texts) => texts.first().cloned(),
        _ => None,
    }
}

/// `--flag` out of clap's `--flag <VALUE>`.
fn flag_name(arg: &str) -> String {
    arg.split([' ', '=']).next().unwrap_or(arg).to_owned()
}

fn flux_message(error: &clap::Error) -> Option<String> {
    match error.kind() {
        ErrorKind::UnknownArgument => {
            let arg = context(error, ContextKind::InvalidArg)?;
            Some(unknown_flag(&arg))
        }
        ErrorKind::InvalidSubcommand => {
            let name = context(error, ContextKind::InvalidSubcommand)?;
            Some(unknown_command(&name))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let flag = flag_name(&context(error, ContextKind::InvalidArg)?);
            let value = context(error, ContextKind::InvalidValue).unwrap_or_default();
            if !flag.starts_with('-') {
                return None;
            }
            if value.is_empty() && error.kind() == ErrorKind::InvalidValue {
                return Some(format!("flag needs an argument: {flag}"));
            }
            let why = std::error::Error::source(error).map_or_else(
                || {
                    let valid = context(error, ContextKind::ValidValue);
                    format!("must be one of {}", valid.unwrap_or_default())
                },
                |source| source.to_string(),
            );
            let flag = flag.trim_start_matches('-');
            Some(format!(
                "{}",
                crate::commands::create::flags::flag_error(flag, &value, &why)
            ))
        }
        _ => None,
    }
}

/// pflag's words for an unknown long or shorthand flag.
fn unknown_flag(arg: &str) -> String {
    match arg.strip_prefix("--") {
        Some(long) => format!("unknown flag: --{}", flag_name(long)),
        None => {
            let short = arg.trim_start_matches('-').chars().next().unwrap_or('-');
            format!("unknown shorthand flag: '{short}' in {arg}")
        }
    }
}

/// cobra's `unknown command "x" for "tether"`, with the commands whose name is within two
/// edits of it or starts with it (tether's commands: a command Flux has and tether has not,
/// like `logs`, is never suggested).
fn unknown_command(name: &str) -> String {
    let command = crate::cli::Cli::command();
    let typed = name.to_lowercase();
    let mut suggestions: Vec<String> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .filter(|candidate| {
            let candidate = candidate.to_lowercase();
            edit_distance(&typed, &candidate) <= 2 || candidate.starts_with(&typed)
        })
        .collect();
    // cobra lists commands sorted by name.
    suggestions.sort();
    let mut message = format!("unknown command \"{name}\" for \"{}\"", command.get_name());
    if !suggestions.is_empty() {
        message.push_str("\n\nDid you mean this?\n");
        for suggestion in suggestions {
            message.push_str(&format!("\t{suggestion}\n"));
        }
    }
    message
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_flags_are_worded_as_pflag_words_them() {
        assert_eq!(unknown_flag("--bogus"), "unknown flag: --bogus");
        assert_eq!(unknown_flag("--bogus=1"), "unknown flag: --bogus");
        assert_eq!(unknown_flag("-x"), "unknown shorthand flag: 'x' in -x");
    }

    #[test]
    fn a_flag_without_its_value_needs_an_argument() {
        use clap::Parser;
        let parsed = crate::cli::Cli::try_parse_from(["tether", "get", "ks", "--timeout"]);
        let message = parsed.err().as_ref().and_then(flux_message);
        assert_eq!(
            message.as_deref(),
            Some("flag needs an argument: --timeout")
        );
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("gte", "get"), 2);
        assert_eq!(edit_distance("bogus", "logs"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
