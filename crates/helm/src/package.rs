//! Packaging a chart as `helm package` lays it out (`<name>/<file>` entries in a gzipped tar),
//! from a chart directory (honouring `.helmignore`) or from an archive being repackaged, with
//! the two changes source-controller makes to a chart it builds: a new `version` in
//! `Chart.yaml` (build metadata such as `+<revision>`) and a `values.yaml` replaced by merged
//! values files. Everything else is copied byte for byte; the chart is loaded first, so what
//! is packaged is a chart Helm can load.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map as JsonMap, Value as Json};

use crate::HelmError;
use crate::chart::File;
use crate::load::{Limits, archive_files, dir_files, load_files, load_values};
use crate::values::merge_maps;

/// What to change while packaging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageOverrides {
    /// The chart's new `version` (Chart.yaml).
    pub version: Option<String>,
    /// The chart's new default values (values.yaml).
    pub values: Option<JsonMap<String, Json>>,
}

/// A packaged chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    /// The chart's name.
    pub name: String,
    /// The chart's version (after overrides).
    pub version: String,
    /// The gzipped tar archive.
    pub archive: Vec<u8>,
}

/// The files of a chart, read from a directory or an archive, before packaging.
#[derive(Debug, Clone)]
pub struct ChartFiles {
    files: Vec<File>,
    limits: Limits,
}

impl ChartFiles {
    /// The files of the chart directory `dir`, minus what `.helmignore` excludes.
    pub fn from_dir(dir: &Path, limits: Limits) -> Result<Self, HelmError> {
        Ok(Self {
            files: dir_files(dir, limits)?,
            limits,
        })
    }

    /// The files of a chart archive.
    pub fn from_archive(data: &[u8], limits: Limits) -> Result<Self, HelmError> {
        Ok(Self {
            files: archive_files(data, limits)?,
            limits,
        })
    }

    /// The chart's `name` and `version`, validated as Helm loads the chart.
    pub fn metadata(&self) -> Result<(String, String), HelmError> {
        let chart = load_files(self.files.clone(), self.limits)?;
        Ok((chart.metadata.name, chart.metadata.version))
    }

    /// The dependencies Chart.yaml declares that are not vendored under `charts/` (Helm's
    /// `CheckDependencies`: by name).
    pub fn missing_dependencies(&self) -> Result<Vec<String>, HelmError> {
        let chart = load_files(self.files.clone(), self.limits)?;
        Ok(chart
            .metadata
            .dependencies
            .iter()
            .filter(|d| !chart.dependencies.iter().any(|c| c.metadata.name == d.name))
            .map(|d| d.name.clone())
            .collect())
    }

    /// The content of the chart file at `name` (relative to the chart's root).
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        let name = name.trim_start_matches("./");
        self.files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.data.as_slice())
    }

    /// Packages the chart with `overrides` applied.
    pub fn package(mut self, overrides: &PackageOverrides) -> Result<Packaged, HelmError> {
        if let Some(version) = &overrides.version {
            let chart_yaml = self
                .files
                .iter_mut()
                .find(|f| f.name == "Chart.yaml")
                .ok_or(HelmError::MissingChartYaml)?;
            chart_yaml.data = with_version(&chart_yaml.data, version)?;
        }
        if let Some(values) = &overrides.values {
            let text = tether_core::yaml::to_string(&Json::Object(values.clone()));
            match self.files.iter_mut().find(|f| f.name == "values.yaml") {
                Some(file) => file.data = text.into_bytes(),
                None => self.files.push(File {
                    name: "values.yaml".into(),
                    data: text.into_bytes(),
                    mod_time: None,
                }),
            }
        }
        let (name, version) = self.metadata()?;
        let archive = write_archive(&name, &self.files)?;
        Ok(Packaged {
            name,
            version,
            archive,
        })
    }
}

/// Merges values files (YAML documents, in order, later ones winning key by key) as
/// source-controller merges `spec.valuesFiles`.
pub fn merge_values_files<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<JsonMap<String, Json>, HelmError> {
    let mut merged = JsonMap::new();
    for (name, data) in files {
        let values = load_values(data).map_err(|e| match e {
            HelmError::ChartFile { message, .. } => HelmError::ChartFile {
                file: name.to_owned(),
                message,
            },
            other => other,
        })?;
        merged = merge_maps(merged, values);
    }
    Ok(merged)
}

/// Chart.yaml with `version` set, written back as go-yaml prints it.
fn with_version(chart_yaml: &[u8], version: &str) -> Result<Vec<u8>, HelmError> {
    let text = String::from_utf8_lossy(chart_yaml);
    let mut document =
        tether_core::yaml::from_str_yaml11(&text).map_err(|e| HelmError::ChartFile {
            file: "Chart.yaml".into(),
            message: e.to_string(),
        })?;
    let Json::Object(fields) = &mut document else {
        return Err(HelmError::ChartFile {
            file: "Chart.yaml".into(),
            message: "not a mapping".into(),
        });
    };
    fields.insert("version".into(), Json::String(version.to_owned()));
    Ok(tether_core::yaml::to_string(&document).into_bytes())
}

/// The gzipped tar of `files` under `<name>/`, Chart.yaml first as `helm package` writes it,
/// with each file's modification time (none: the epoch).
fn write_archive(name: &str, files: &[File]) -> Result<Vec<u8>, HelmError> {
    let archive_error = |e: std::io::Error| HelmError::Archive(e.to_string());
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let chart_yaml = files.iter().filter(|f| f.name == "Chart.yaml");
    let others = files.iter().filter(|f| f.name != "Chart.yaml");
    for file in chart_yaml.chain(others) {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.data.len() as u64);
        header.set_mode(0o644);
        let mtime = file
            .mod_time
            .map_or(0, |t| u64::try_from(t.timestamp()).unwrap_or(0));
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            format!("{name}/{}", file.name),
            file.data.as_slice(),
        )
        .map_err(archive_error)?;
    }
    let mut gzip = tar.into_inner().map_err(archive_error)?;
    gzip.flush().map_err(archive_error)?;
    gzip.finish().map_err(archive_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_archive;

    fn chart_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("templates")).expect("mkdir");
        std::fs::write(
            root.join("Chart.yaml"),
            "apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: \"9\"\n",
        )
        .expect("write");
        std::fs::write(root.join("values.yaml"), "replicas: 1\nimage:\n  tag: a\n").expect("w");
        std::fs::write(root.join("prod.yaml"), "image:\n  tag: b\n").expect("write");
        std::fs::write(root.join("notes.tmp"), "ignored").expect("write");
        std::fs::write(root.join(".helmignore"), "*.tmp\n").expect("write");
        std::fs::write(
            root.join("templates/cm.yaml"),
            "kind: ConfigMap\ndata:\n  r: {{ .Values.replicas }}\n",
        )
        .expect("write");
        dir
    }

    #[test]
    fn a_directory_packages_as_a_loadable_chart_without_ignored_files() {
        let dir = chart_dir();
        let files = ChartFiles::from_dir(dir.path(), Limits::default()).expect("files");
        let packaged = files
            .package(&PackageOverrides::default())
            .expect("package");
        assert_eq!(
            (packaged.name.as_str(), packaged.version.as_str()),
            ("demo", "1.2.3")
        );
        let chart = load_archive(&packaged.archive, Limits::default()).expect("loads");
        assert_eq!(chart.metadata.version, "1.2.3");
        assert!(chart.files.iter().all(|f| f.name != "notes.tmp"));
        assert_eq!(chart.templates.len(), 1);
    }

    #[test]
    fn declared_dependencies_not_vendored_are_named() {
        let dir = chart_dir();
        std::fs::write(
            dir.path().join("Chart.yaml"),
            "apiVersion: v2\nname: demo\nversion: 1.2.3\ndependencies:\n- name: redis\n  version: 1.x\n  repository: https://charts.example.invalid\n",
        )
        .expect("write");
        let files = ChartFiles::from_dir(dir.path(), Limits::default()).expect("files");
        assert_eq!(files.missing_dependencies().expect("loads"), vec!["redis"]);
        let vendored = dir.path().join("charts/redis");
        std::fs::create_dir_all(&vendored).expect("mkdir");
        std::fs::write(
            vendored.join("Chart.yaml"),
            "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
        )
        .expect("write");
        let files = ChartFiles::from_dir(dir.path(), Limits::default()).expect("files");
        assert!(files.missing_dependencies().expect("loads").is_empty());
    }

    #[test]
    fn overrides_change_the_version_and_the_default_values() {
        let dir = chart_dir();
        let files = ChartFiles::from_dir(dir.path(), Limits::default()).expect("files");
        let merged = merge_values_files([
            ("values.yaml", files.file("values.yaml").expect("values")),
            ("prod.yaml", files.file("./prod.yaml").expect("prod")),
        ])
        .expect("merge");
        let overrides = PackageOverrides {
            version: Some("1.2.3+abcdef012345".into()),
            values: Some(merged),
        };
        let packaged = files.package(&overrides).expect("package");
        assert_eq!(packaged.version, "1.2.3+abcdef012345");
        let chart = load_archive(&packaged.archive, Limits::default()).expect("loads");
        assert_eq!(chart.metadata.version, "1.2.3+abcdef012345");
        assert_eq!(chart.metadata.app_version, "9");
        assert_eq!(chart.values["image"]["tag"], "b");
        assert_eq!(chart.values["replicas"], 1.0);

        // Repackaging the archive keeps what it holds.
        let again = ChartFiles::from_archive(&packaged.archive, Limits::default())
            .expect("files")
            .package(&PackageOverrides::default())
            .expect("package");
        assert_eq!(again.version, "1.2.3+abcdef012345");
    }
}
