//! The differential harness: writes a chart to a temporary directory, runs the Go-built
//! `helm template` (`TETHER_HELM`, or the testbin build) and the engine on the same flags, and
//! compares stdout byte for byte, or the error messages when both fail.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tether_helm::user_values::{ValueSources, merge_user_values};
use tether_helm::{KubeVersion, ReleaseOptions, TemplateOptions, load, template};

/// Files of a test chart tree, by path relative to the temporary directory.
pub type Files = BTreeMap<String, String>;

/// The helm binary, or `None` (with a message) when the suite must be skipped. In CI a
/// missing binary is a failure.
pub fn helm_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TETHER_HELM") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var("HOME").ok().and_then(|home| {
        std::fs::read_dir(Path::new(&home).join(".cache/tether/testbin"))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("helm"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "TETHER_HELM is unset and no testbin helm exists; run dev/testbin.sh"
        );
        println!("no helm binary (TETHER_HELM unset, dev/testbin.sh not run); skipping");
    }
    found
}

/// Writes `files` under `dir`.
pub fn write_tree(dir: &Path, files: &Files) {
    for (path, text) in files {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&file, text).expect("write file");
    }
}

/// Runs helm; `Ok(stdout)` or `Err(message)` without `Error: ` and the `--debug` hint.
pub fn run_helm(bin: &Path, dir: &Path, args: &[String]) -> Result<String, String> {
    let out = std::process::Command::new(bin)
        .arg("template")
        .args(args)
        .current_dir(dir)
        .env("HELM_CACHE_HOME", dir.join(".helm/cache"))
        .env("HELM_CONFIG_HOME", dir.join(".helm/config"))
        .env("HELM_DATA_HOME", dir.join(".helm/data"))
        .output()
        .expect("helm runs");
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let start = stderr.find("Error: ").map_or(0, |i| i + "Error: ".len());
    let msg = &stderr[start..];
    let msg = msg
        .strip_suffix("\n")
        .unwrap_or(msg)
        .trim_end_matches("\n\nUse --debug flag to render out invalid YAML");
    Err(msg.to_owned())
}

/// Runs the engine on helm's command line (`NAME CHART` and flags), from `dir`.
pub fn run_tether(dir: &Path, args: &[String]) -> Result<String, String> {
    let mut positional = Vec::new();
    let mut opts = TemplateOptions::default();
    let mut sources = ValueSources::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .unwrap_or_default()
        };
        match flag.as_str() {
            "-f" | "--values" => sources.files.push(value()),
            "--set" => sources.set.push(value()),
            "--set-string" => sources.strings.push(value()),
            "--set-json" => sources.json.push(value()),
            "--set-file" => sources.file_values.push(value()),
            "-s" | "--show-only" => opts.show_only.push(value()),
            "-n" | "--namespace" => opts.release.namespace = value(),
            "--kube-version" => {
                let v = value();
                opts.capabilities.kube_version = KubeVersion::parse(&v)
                    .map_err(|e| format!("invalid kube version '{v}': {e}"))?;
            }
            "-a" | "--api-versions" => opts
                .capabilities
                .extra_api_versions
                .extend(value().split(',').map(str::to_owned)),
            "--include-crds" => opts.include_crds = true,
            "--skip-tests" => opts.skip_tests = true,
            "--skip-schema-validation" => opts.skip_schema_validation = true,
            "--is-upgrade" => opts.release.is_upgrade = true,
            _ => positional.push(arg.clone()),
        }
    }
    let (name, chart) = match positional.as_slice() {
        [chart] => ("release-name".to_owned(), chart.clone()),
        [name, chart, ..] => (name.clone(), chart.clone()),
        [] => return Err("no chart".into()),
    };
    opts.release = ReleaseOptions {
        name,
        ..opts.release
    };
    let read = |p: &str| {
        std::fs::read(dir.join(p)).map_err(|_| format!("open {p}: no such file or directory"))
    };
    opts.values = merge_user_values(&sources, &read).map_err(|e| e.to_string())?;
    let chart =
        load::load_path(&dir.join(chart), load::Limits::default()).map_err(|e| e.to_string())?;
    template(chart, &opts)
        .map(|r| r.output)
        .map_err(|e| e.to_string())
}

/// How one case came out.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Same stdout.
    Same,
    /// Both failed with the same message.
    SameError,
    /// Both found the values breaking a schema with the same errors, listed in another
    /// order: Go walks maps in random order, so Helm lists sibling errors (and the names in
    /// `additional properties ... not allowed`) differently from run to run.
    SameSchemaErrorsReordered,
    /// Something differs.
    Different(String),
}

/// Runs one case (a tree and the helm arguments) both ways.
pub fn compare(bin: &Path, files: &Files, args: &[String]) -> Verdict {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), files);
    let theirs = run_helm(bin, dir.path(), args);
    let ours = run_tether(dir.path(), args);
    match (theirs, ours) {
        (Ok(a), Ok(b)) if a == b => Verdict::Same,
        (Err(a), Err(b)) if a == b => Verdict::SameError,
        (Err(a), Err(b))
            if canonical_schema_error(&a)
                .is_some_and(|x| Some(x) == canonical_schema_error(&b)) =>
        {
            Verdict::SameSchemaErrorsReordered
        }
        (Ok(a), Ok(b)) => Verdict::Different(first_difference(&a, &b)),
        (Err(a), Err(b)) => {
            Verdict::Different(format!("errors differ:\n helm:   {a}\n tether: {b}"))
        }
        (Err(a), Ok(_)) => Verdict::Different(format!("helm fails, tether renders: {a}")),
        (Ok(_), Err(b)) => Verdict::Different(format!("helm renders, tether fails: {b}")),
    }
}

/// A schema failure message with sibling errors sorted (recursively) and the property
/// lists of `additional properties` sorted: equal for two messages that differ only in the
/// order Go's map iteration gave them.
pub fn canonical_schema_error(msg: &str) -> Option<String> {
    let body = msg.strip_prefix(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n",
    )?;
    #[derive(Default)]
    struct Node {
        text: String,
        children: Vec<Node>,
    }
    fn render(n: &mut Node, depth: usize, out: &mut Vec<String>) {
        let mut kids: Vec<(String, usize)> = Vec::new();
        for c in &mut n.children {
            let mut sub = Vec::new();
            render(c, depth + 1, &mut sub);
            kids.push((sub.join("\n"), 0));
        }
        kids.sort();
        if depth > 0 {
            out.push(format!("{}{}", " ".repeat(depth), n.text));
        }
        out.extend(kids.into_iter().map(|(k, _)| k));
    }
    fn normalize(line: &str) -> String {
        if let (Some(start), Some(end)) = (
            line.find("additional properties "),
            line.rfind(" not allowed"),
        ) {
            let from = start + "additional properties ".len();
            if from <= end {
                let mut names: Vec<&str> = line[from..end].split(", ").collect();
                names.sort_unstable();
                return format!("{}{}{}", &line[..from], names.join(", "), &line[end..]);
            }
        }
        line.to_owned()
    }
    let mut root = Node::default();
    // The path of open nodes by depth: depth 1 is a chart header, depth k+2 a `- ` line
    // indented by 2k spaces.
    let mut path: Vec<usize> = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim_start();
        let depth = if let Some(rest) = trimmed.strip_prefix("- ") {
            let _ = rest;
            (line.len() - trimmed.len()) / 2 + 2
        } else if !line.starts_with(' ') && line.ends_with(':') {
            1
        } else {
            2
        };
        path.truncate(depth.saturating_sub(1));
        let mut node = &mut root;
        for &i in &path {
            node = &mut node.children[i];
        }
        node.children.push(Node {
            text: normalize(line),
            children: Vec::new(),
        });
        path.push(node.children.len() - 1);
    }
    let mut out = Vec::new();
    render(&mut root, 0, &mut out);
    Some(out.join("\n"))
}

fn first_difference(want: &str, got: &str) -> String {
    let line = want
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(want.lines().count().min(got.lines().count()));
    format!(
        "line {}: helm `{}` tether `{}` (lengths {} / {})",
        line + 1,
        want.lines().nth(line).unwrap_or("<eof>"),
        got.lines().nth(line).unwrap_or("<eof>"),
        want.len(),
        got.len()
    )
}

/// Tallies verdicts and prints the differences.
#[derive(Debug, Default)]
pub struct Tally {
    /// Identical outputs.
    pub same: usize,
    /// Identical errors.
    pub same_error: usize,
    /// Schema failures listing the same errors in another (Go map) order.
    pub same_schema_reordered: usize,
    /// Descriptions of differences.
    pub different: Vec<String>,
}

impl Tally {
    /// Records one verdict for case `name`.
    pub fn record(&mut self, name: &str, verdict: Verdict) {
        match verdict {
            Verdict::Same => self.same += 1,
            Verdict::SameError => self.same_error += 1,
            Verdict::SameSchemaErrorsReordered => self.same_schema_reordered += 1,
            Verdict::Different(why) => {
                println!("{name}: {why}");
                self.different.push(format!("{name}: {why}"));
            }
        }
    }

    /// Prints the summary line.
    pub fn summary(&self, suite: &str) {
        println!(
            "{suite}: {} cases, {} byte-identical, {} identical errors, {} schema errors in another map order, {} different",
            self.same + self.same_error + self.same_schema_reordered + self.different.len(),
            self.same,
            self.same_error,
            self.same_schema_reordered,
            self.different.len()
        );
    }
}

/// `["a", "b"]` as owned strings.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
