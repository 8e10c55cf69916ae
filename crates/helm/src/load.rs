//! Loading a chart from a directory (honouring `.helmignore`) or a gzipped tar archive, with
//! Helm's rules for where each file goes, and the limits that refuse hostile input: archive
//! entries escaping the chart, more than [`Limits::max_bytes`] of content (decompression
//! bombs) or more than [`Limits::max_files`] files.

use std::io::Read;
use std::path::Path;

use serde_json::{Map as JsonMap, Value as Json};

use crate::HelmError;
use crate::chart::{Chart, File, Metadata, parse_dependencies};
use crate::ignore::IgnoreRules;
use crate::values::merge_maps;

/// Bounds on what a chart may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of all files (Helm's `MaxDecompressedChartSize`, 100 MiB).
    pub max_bytes: u64,
    /// Number of files.
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 100 * 1024 * 1024,
            max_files: 20_000,
        }
    }
}

/// Loads the chart at `path`: a directory or a `.tgz` archive.
pub fn load_path(path: &Path, limits: Limits) -> Result<Chart, HelmError> {
    let meta = std::fs::metadata(path).map_err(|_| missing_chart(path))?;
    if meta.is_dir() {
        return load_dir(path, limits);
    }
    let data = std::fs::read(path).map_err(|e| io_error(path, &e))?;
    if !data.starts_with(b"\x1f\x8b") {
        return Err(HelmError::Archive(format!(
            "file '{}' does not appear to be a gzipped archive",
            path.display()
        )));
    }
    load_archive(&data, limits)
}

/// What `helm` says when the chart argument is neither a directory nor an archive (it would
/// then look the name up in a repository).
fn missing_chart(path: &Path) -> HelmError {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    HelmError::Values(format!(
        "non-absolute URLs should be in form of repo_name/path_to_chart, got: {name}"
    ))
}

fn io_error(path: &Path, e: &std::io::Error) -> HelmError {
    HelmError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Loads a chart directory: files in lexical walk order, `.helmignore` applied.
pub fn load_dir(dir: &Path, limits: Limits) -> Result<Chart, HelmError> {
    load_files(dir_files(dir, limits)?, limits)
}

/// The files of a chart directory, in lexical walk order, minus what `.helmignore` excludes.
pub(crate) fn dir_files(dir: &Path, limits: Limits) -> Result<Vec<File>, HelmError> {
    let rules = match std::fs::read_to_string(dir.join(".helmignore")) {
        Ok(text) => IgnoreRules::parse(&text).map_err(HelmError::Values)?,
        Err(_) => IgnoreRules::parse("").map_err(HelmError::Values)?,
    };
    let mut walk = Walk {
        rules: &rules,
        limits,
        remaining: limits.max_bytes,
        files: Vec::new(),
    };
    walk.visit(dir, "", 0)?;
    Ok(walk.files)
}

struct Walk<'a> {
    rules: &'a IgnoreRules,
    limits: Limits,
    remaining: u64,
    files: Vec<File>,
}

impl Walk<'_> {
    fn visit(&mut self, dir: &Path, prefix: &str, depth: usize) -> Result<(), HelmError> {
        if depth > 64 {
            return Err(HelmError::ArchiveEscape(format!(
                "chart directory {} nests too deeply (a symlink loop?)",
                dir.display()
            )));
        }
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, &e))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        for name in entries {
            let full = dir.join(&name);
            let rel = format!("{prefix}{name}");
            let meta = std::fs::metadata(&full).map_err(|e| io_error(&full, &e))?;
            if self.rules.ignores(&rel, meta.is_dir()) {
                continue;
            }
            if meta.is_dir() {
                self.visit(&full, &format!("{rel}/"), depth + 1)?;
                continue;
            }
            if !meta.is_file() {
                return Err(HelmError::Io {
                    path: full.display().to_string(),
                    message: "cannot load irregular file as it has file mode type bits set".into(),
                });
            }
            if meta.len() > self.remaining {
                return Err(HelmError::ArchiveTooLarge {
                    limit: self.limits.max_bytes,
                });
            }
            if self.files.len() >= self.limits.max_files {
                return Err(HelmError::TooManyFiles {
                    limit: self.limits.max_files,
                });
            }
            let data = std::fs::read(&full).map_err(|e| io_error(&full, &e))?;
            self.remaining = self.remaining.saturating_sub(data.len() as u64);
            self.files.push(File {
                name: rel,
                data: strip_bom(data),
                mod_time: meta.modified().ok().map(chrono::DateTime::from),
            });
        }
        Ok(())
    }
}

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
    data
}

/// Loads a gzipped tar archive whose entries sit under one top directory.
pub fn load_archive(data: &[u8], limits: Limits) -> Result<Chart, HelmError> {
    load_files(archive_files(data, limits)?, limits)
}

pub(crate) fn archive_files(data: &[u8], limits: Limits) -> Result<Vec<File>, HelmError> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut archive = tar::Archive::new(gz);
    let entries = archive
        .entries()
        .map_err(|e| HelmError::Archive(e.to_string()))?;
    let mut files = Vec::new();
    let mut remaining = limits.max_bytes;
    for entry in entries {
        let mut entry = entry.map_err(|e| HelmError::Archive(e.to_string()))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = entry_name(&raw)?;
        if files.len() >= limits.max_files {
            return Err(HelmError::TooManyFiles {
                limit: limits.max_files,
            });
        }
        if entry.header().size().unwrap_or(0) > remaining {
            return Err(HelmError::ArchiveTooLarge {
                limit: limits.max_bytes,
            });
        }
        let mut buf = Vec::new();
        let read = (&mut entry)
            .take(remaining)
            .read_to_end(&mut buf)
            .map_err(|e| HelmError::Archive(e.to_string()))?;
        remaining = remaining.saturating_sub(read as u64);
        if remaining == 0 {
            return Err(HelmError::ArchiveTooLarge {
                limit: limits.max_bytes,
            });
        }
        let mod_time = entry
            .header()
            .mtime()
            .ok()
            .and_then(|secs| chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0));
        files.push(File {
            name,
            data: strip_bom(buf),
            mod_time,
        });
    }
    if files.is_empty() {
        return Err(HelmError::EmptyArchive);
    }
    Ok(files)
}

/// The path of an archive entry inside the chart (the top directory dropped), refused when it
/// would escape the chart.
fn entry_name(raw: &str) -> Result<String, HelmError> {
    let delimiter = if raw.contains('\\') { '\\' } else { '/' };
    let parts: Vec<&str> = raw.split(delimiter).collect();
    if parts.first() == Some(&"Chart.yaml") {
        return Err(HelmError::ArchiveEscape(
            "chart yaml not in base directory".into(),
        ));
    }
    let joined = parts.get(1..).unwrap_or_default().join("/");
    if joined.starts_with('/') {
        return Err(HelmError::ArchiveEscape(
            "chart illegally contains absolute paths".into(),
        ));
    }
    let cleaned = clean_path(&joined);
    if cleaned == "." {
        return Err(HelmError::ArchiveEscape(format!(
            "chart illegally contains content outside the base directory: {raw:?}"
        )));
    }
    if cleaned.starts_with("..") {
        return Err(HelmError::ArchiveEscape(
            "chart illegally references parent directory".into(),
        ));
    }
    let bytes = cleaned.as_bytes();
    if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/' {
        return Err(HelmError::ArchiveEscape(
            "chart contains illegally named files".into(),
        ));
    }
    Ok(cleaned)
}

/// Go's `path.Clean` for relative paths.
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            part => out.push(part),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

fn yaml_object(file: &str, data: &[u8]) -> Result<JsonMap<String, Json>, HelmError> {
    let text = String::from_utf8_lossy(data);
    match tether_core::yaml::from_str_yaml11(&text) {
        Ok(Json::Object(obj)) => Ok(obj),
        Ok(_) => Ok(JsonMap::new()),
        Err(e) => Err(HelmError::ChartFile {
            file: file.into(),
            message: crate::yaml_error::converting(&e, &text),
        }),
    }
}

/// Helm's `LoadFiles`: sorts the files of one chart into metadata, values, templates, other
/// files and subcharts, then loads the subcharts.
pub(crate) fn load_files(files: Vec<File>, limits: Limits) -> Result<Chart, HelmError> {
    let mut chart = Chart::default();
    let mut metadata: Option<Metadata> = None;
    if let Some(f) = files.iter().find(|f| f.name == "Chart.yaml") {
        chart.mod_time = f.mod_time;
        let text = String::from_utf8_lossy(&f.data);
        let mut md = Metadata::parse(&text).map_err(|message| HelmError::ChartFile {
            file: "Chart.yaml".into(),
            message,
        })?;
        if md.api_version.is_empty() {
            md.api_version = "v1".into();
        }
        metadata = Some(md);
    }
    let mut subcharts: Vec<(String, Vec<File>)> = Vec::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {}
            "Chart.lock" => chart.lock = Some(f.data),
            "values.yaml" => chart.values = load_values(&f.data)?,
            "values.schema.json" => {
                chart.schema_mod_time = f.mod_time;
                chart.schema = Some(f.data);
            }
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                let obj = yaml_object("requirements.yaml", &f.data)?;
                md.dependencies =
                    parse_dependencies(&obj).map_err(|message| HelmError::ChartFile {
                        file: "requirements.yaml".into(),
                        message,
                    })?;
                if md.api_version == "v1" {
                    chart.files.push(f);
                }
            }
            "requirements.lock" => {
                chart.lock = Some(f.data.clone());
                if metadata.as_ref().is_some_and(|m| m.api_version == "v1") {
                    chart.files.push(f);
                }
            }
            name if name.starts_with("templates/") => chart.templates.push(f),
            name if name.starts_with("charts/") => {
                if name.ends_with(".prov") {
                    chart.files.push(f);
                    continue;
                }
                let rest = name.trim_start_matches("charts/").to_owned();
                let top = rest.split('/').next().unwrap_or_default().to_owned();
                let file = File {
                    name: rest,
                    data: f.data,
                    mod_time: f.mod_time,
                };
                match subcharts.iter_mut().find(|(n, _)| *n == top) {
                    Some((_, list)) => list.push(file),
                    None => subcharts.push((top, vec![file])),
                }
            }
            _ => chart.files.push(f),
        }
    }
    chart.metadata = metadata.ok_or(HelmError::MissingChartYaml)?;
    chart.metadata.validate()?;
    for (name, files) in subcharts {
        if name.starts_with(['_', '.']) {
            continue;
        }
        let loaded = if name.ends_with(".tgz") {
            match files.first() {
                Some(f) if f.name == name => load_archive(&f.data, limits),
                _ => continue,
            }
        } else {
            let inner: Vec<File> = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(File {
                        name: rest.to_owned(),
                        data: f.data,
                        mod_time: f.mod_time,
                    })
                })
                .collect();
            load_files(inner, limits)
        };
        let sub = loaded.map_err(|e| HelmError::Subchart {
            name: name.clone(),
            parent: chart.metadata.name.clone(),
            source: Box::new(e),
        })?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

/// Helm's `LoadValues`: the documents of the stream as apimachinery's `YAMLReader` splits
/// them, each read into a map as `sigs.k8s.io/yaml` reads it, merged in order; numbers as
/// float64.
pub fn load_values(data: &[u8]) -> Result<JsonMap<String, Json>, HelmError> {
    let text = String::from_utf8_lossy(data);
    let failed = |message: String| HelmError::ChartFile {
        file: "values.yaml".into(),
        message,
    };
    let mut values = JsonMap::new();
    for document in
        yaml_documents(&text).map_err(|e| failed(format!("error reading yaml document: {e}")))?
    {
        let doc = crate::funcs::from_yaml(&document, false)
            .map_err(|e| failed(format!("cannot unmarshal yaml document: {e}")))?;
        if let Json::Object(obj) = crate::values::floats(doc) {
            values = merge_maps(values, obj);
        }
    }
    Ok(values)
}

/// apimachinery's `YAMLReader`: documents are the lines between lines starting with `---`
/// (which may be followed only by blanks or a comment), empty ones skipped.
fn yaml_documents(text: &str) -> Result<Vec<String>, String> {
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(format!("invalid Yaml document separator: {rest}"));
            }
            if !current.is_empty() {
                documents.push(std::mem::take(&mut current));
            }
            continue;
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        documents.push(current);
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_entries_that_climb_out_of_the_chart_are_refused() {
        assert!(matches!(
            entry_name("c/../../etc/passwd"),
            Err(HelmError::ArchiveEscape(_))
        ));
        assert!(matches!(
            entry_name("c//abs"),
            Err(HelmError::ArchiveEscape(_))
        ));
        assert!(matches!(
            entry_name("Chart.yaml"),
            Err(HelmError::ArchiveEscape(_))
        ));
        assert_eq!(
            entry_name("c/templates/x.yaml"),
            Ok("templates/x.yaml".to_owned())
        );
    }
}
