//! The chart inside a release record, as Helm v4 serialises `chart/v2.Chart`: metadata, lock,
//! templates, values, schema and files (subcharts are not stored: Helm's `dependencies` field
//! is unexported), each file's data base64-encoded, and the conversion from a loaded [`Chart`].

use std::collections::BTreeMap;

use serde_json::{Map as JsonMap, Value as Json};

use super::ReleaseError;
use super::json::{Fields, GoTime, ObjectBuilder, bytes_json, sorted, sorted_map};
use crate::chart::{Chart, Dependency, Maintainer, Metadata};

/// A file of the stored chart (`common.File`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartFile {
    /// Path inside the chart.
    pub name: String,
    /// Contents.
    pub data: Vec<u8>,
    /// Modification time (written only when set).
    pub mod_time: GoTime,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

/// A chart maintainer (`chart.Maintainer`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartMaintainer {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// URL.
    pub url: String,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

/// A dependency entry (`chart.Dependency`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartDependency {
    /// Chart name.
    pub name: String,
    /// Version constraint.
    pub version: String,
    /// Repository URL.
    pub repository: String,
    /// Condition paths.
    pub condition: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether the dependency was enabled for this release.
    pub enabled: bool,
    /// `import-values`.
    pub import_values: Vec<Json>,
    /// Alias.
    pub alias: String,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

/// `Chart.yaml` as stored (`chart.Metadata`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartMetadata {
    /// Chart name.
    pub name: String,
    /// Home page.
    pub home: String,
    /// Source URLs.
    pub sources: Vec<String>,
    /// Chart version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Maintainers.
    pub maintainers: Vec<ChartMaintainer>,
    /// Icon URL.
    pub icon: String,
    /// `v1` or `v2`.
    pub api_version: String,
    /// Condition.
    pub condition: String,
    /// Tags.
    pub tags: String,
    /// Application version.
    pub app_version: String,
    /// Deprecated.
    pub deprecated: bool,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Kubernetes version constraint.
    pub kube_version: String,
    /// Dependencies.
    pub dependencies: Vec<ChartDependency>,
    /// `application` or `library`.
    pub chart_type: String,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

/// `Chart.lock` as stored (`chart.Lock`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartLock {
    /// When the lock was generated.
    pub generated: GoTime,
    /// Digest of the dependencies.
    pub digest: String,
    /// Locked dependencies (`null` when `None`).
    pub dependencies: Option<Vec<ChartDependency>>,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

/// The chart of a release (`chart/v2.Chart`). `None` fields are written as `null`, as Go
/// writes nil pointers, slices and maps of these fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseChart {
    /// `Chart.yaml`.
    pub metadata: Option<ChartMetadata>,
    /// `Chart.lock`.
    pub lock: Option<ChartLock>,
    /// Files under `templates/`.
    pub templates: Option<Vec<ChartFile>>,
    /// The chart's values (after dependency processing).
    pub values: Option<JsonMap<String, Json>>,
    /// `values.schema.json`.
    pub schema: Option<Vec<u8>>,
    /// The schema's modification time (always written).
    pub schema_mod_time: GoTime,
    /// Every other file.
    pub files: Option<Vec<ChartFile>>,
    /// `Chart.yaml`'s modification time (written only when set).
    pub mod_time: GoTime,
    /// Fields of a newer Helm, kept as read.
    pub unknown_fields: JsonMap<String, Json>,
}

/// Go's `sanitizeString`, which `Metadata.Validate` applies on load: whitespace becomes a
/// space, unprintable characters are dropped.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() || is_format_or_private(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Unicode format characters (Cf) and private-use code points, which Go's `unicode.IsPrint`
/// refuses and Rust's `char::is_control` lets through.
fn is_format_or_private(c: char) -> bool {
    matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

impl ChartFile {
    fn from_file(f: &crate::chart::File) -> ChartFile {
        ChartFile {
            name: f.name.clone(),
            data: f.data.clone(),
            mod_time: f.mod_time.map_or(GoTime::ZERO, GoTime::from),
            unknown_fields: JsonMap::new(),
        }
    }

    fn to_json(&self) -> Json {
        ObjectBuilder::default()
            .field("name", Json::String(self.name.clone()))
            .field("data", bytes_json(&self.data))
            .time_omitzero("modtime", &self.mod_time)
            .unknown(&self.unknown_fields)
            .build()
    }

    fn from_json(value: Json) -> Result<ChartFile, ReleaseError> {
        let mut f = Fields::of(value, "File")?;
        Ok(ChartFile {
            name: f.string("name")?,
            data: f.bytes("data")?.unwrap_or_default(),
            mod_time: f.time("modtime")?,
            unknown_fields: f.unknown(),
        })
    }
}

impl ChartMaintainer {
    fn from_maintainer(m: &Maintainer) -> ChartMaintainer {
        ChartMaintainer {
            name: sanitize(&m.name),
            email: sanitize(&m.email),
            url: sanitize(&m.url),
            unknown_fields: JsonMap::new(),
        }
    }

    fn to_json(&self) -> Json {
        ObjectBuilder::default()
            .string("name", &self.name)
            .string("email", &self.email)
            .string("url", &self.url)
            .unknown(&self.unknown_fields)
            .build()
    }

    fn from_json(value: Json) -> Result<ChartMaintainer, ReleaseError> {
        let mut f = Fields::of(value, "Maintainer")?;
        Ok(ChartMaintainer {
            name: f.string("name")?,
            email: f.string("email")?,
            url: f.string("url")?,
            unknown_fields: f.unknown(),
        })
    }
}

impl ChartDependency {
    fn from_dependency(d: &Dependency) -> ChartDependency {
        ChartDependency {
            name: sanitize(&d.name),
            version: sanitize(&d.version),
            repository: sanitize(&d.repository),
            condition: sanitize(&d.condition),
            tags: d.tags.iter().map(|t| sanitize(t)).collect(),
            enabled: d.enabled,
            import_values: d.import_values.clone(),
            alias: d.alias.clone(),
            unknown_fields: JsonMap::new(),
        }
    }

    fn to_json(&self) -> Json {
        let builder = ObjectBuilder::default()
            .field("name", Json::String(self.name.clone()))
            .string("version", &self.version)
            .field("repository", Json::String(self.repository.clone()))
            .string("condition", &self.condition)
            .strings("tags", &self.tags)
            .boolean("enabled", self.enabled);
        let builder = if self.import_values.is_empty() {
            builder
        } else {
            builder.field(
                "import-values",
                Json::Array(self.import_values.iter().map(sorted).collect()),
            )
        };
        builder
            .string("alias", &self.alias)
            .unknown(&self.unknown_fields)
            .build()
    }

    fn from_json(value: Json) -> Result<ChartDependency, ReleaseError> {
        let mut f = Fields::of(value, "Dependency")?;
        Ok(ChartDependency {
            name: f.string("name")?,
            version: f.string("version")?,
            repository: f.string("repository")?,
            condition: f.string("condition")?,
            tags: f.strings("tags")?,
            enabled: f.boolean("enabled")?,
            import_values: f.any_list("import-values")?,
            alias: f.string("alias")?,
            unknown_fields: f.unknown(),
        })
    }
}

fn dependencies_json(deps: &[ChartDependency]) -> Json {
    Json::Array(deps.iter().map(ChartDependency::to_json).collect())
}

impl ChartMetadata {
    /// The stored form of a loaded chart's metadata, sanitised as Helm's loader leaves it.
    pub fn from_metadata(md: &Metadata) -> ChartMetadata {
        ChartMetadata {
            name: sanitize(&md.name),
            home: sanitize(&md.home),
            sources: md.sources.iter().map(|s| sanitize(s)).collect(),
            version: md.version.clone(),
            description: sanitize(&md.description),
            keywords: md.keywords.iter().map(|s| sanitize(s)).collect(),
            maintainers: md
                .maintainers
                .iter()
                .map(ChartMaintainer::from_maintainer)
                .collect(),
            icon: sanitize(&md.icon),
            api_version: md.api_version.clone(),
            condition: sanitize(&md.condition),
            tags: sanitize(&md.tags),
            app_version: sanitize(&md.app_version),
            deprecated: md.deprecated,
            annotations: md.annotations.iter().flatten().cloned().collect(),
            kube_version: sanitize(&md.kube_version),
            dependencies: md
                .dependencies
                .iter()
                .map(ChartDependency::from_dependency)
                .collect(),
            chart_type: md.chart_type.clone(),
            unknown_fields: JsonMap::new(),
        }
    }

    fn to_json(&self) -> Json {
        let builder = ObjectBuilder::default()
            .string("name", &self.name)
            .string("home", &self.home)
            .strings("sources", &self.sources)
            .string("version", &self.version)
            .string("description", &self.description)
            .strings("keywords", &self.keywords);
        let builder = if self.maintainers.is_empty() {
            builder
        } else {
            builder.field(
                "maintainers",
                Json::Array(
                    self.maintainers
                        .iter()
                        .map(ChartMaintainer::to_json)
                        .collect(),
                ),
            )
        };
        let builder = builder
            .string("icon", &self.icon)
            .string("apiVersion", &self.api_version)
            .string("condition", &self.condition)
            .string("tags", &self.tags)
            .string("appVersion", &self.app_version)
            .boolean("deprecated", self.deprecated);
        let builder = if self.annotations.is_empty() {
            builder
        } else {
            let map = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                .collect();
            builder.field("annotations", Json::Object(map))
        };
        let builder = builder.string("kubeVersion", &self.kube_version);
        let builder = if self.dependencies.is_empty() {
            builder
        } else {
            builder.field("dependencies", dependencies_json(&self.dependencies))
        };
        builder
            .string("type", &self.chart_type)
            .unknown(&self.unknown_fields)
            .build()
    }

    fn from_json(value: Json) -> Result<ChartMetadata, ReleaseError> {
        let mut f = Fields::of(value, "Metadata")?;
        Ok(ChartMetadata {
            name: f.string("name")?,
            home: f.string("home")?,
            sources: f.strings("sources")?,
            version: f.string("version")?,
            description: f.string("description")?,
            keywords: f.strings("keywords")?,
            maintainers: f
                .objects("maintainers", ChartMaintainer::from_json)?
                .unwrap_or_default(),
            icon: f.string("icon")?,
            api_version: f.string("apiVersion")?,
            condition: f.string("condition")?,
            tags: f.string("tags")?,
            app_version: f.string("appVersion")?,
            deprecated: f.boolean("deprecated")?,
            annotations: f.string_map("annotations")?,
            kube_version: f.string("kubeVersion")?,
            dependencies: f
                .objects("dependencies", ChartDependency::from_json)?
                .unwrap_or_default(),
            chart_type: f.string("type")?,
            unknown_fields: f.unknown(),
        })
    }
}

impl ChartLock {
    /// Reads `Chart.lock` (or `requirements.lock`) text as Helm's loader does.
    pub fn parse(data: &[u8]) -> Result<ChartLock, ReleaseError> {
        let text = String::from_utf8_lossy(data);
        let value = tether_core::yaml::from_str_yaml11(&text)
            .map_err(|e| ReleaseError::Json(format!("cannot load Chart.lock: {e}")))?;
        let value = match value {
            Json::Null => Json::Object(JsonMap::new()),
            v => v,
        };
        ChartLock::from_json(value)
    }

    fn to_json(&self) -> Json {
        ObjectBuilder::default()
            .time("generated", &self.generated)
            .field("digest", Json::String(self.digest.clone()))
            .field(
                "dependencies",
                self.dependencies
                    .as_deref()
                    .map_or(Json::Null, dependencies_json),
            )
            .unknown(&self.unknown_fields)
            .build()
    }

    fn from_json(value: Json) -> Result<ChartLock, ReleaseError> {
        let mut f = Fields::of(value, "Lock")?;
        Ok(ChartLock {
            generated: f.time("generated")?,
            digest: f.string("digest")?,
            dependencies: f.objects("dependencies", ChartDependency::from_json)?,
            unknown_fields: f.unknown(),
        })
    }
}

fn files_json(files: Option<&[ChartFile]>) -> Json {
    files.map_or(Json::Null, |fs| {
        Json::Array(fs.iter().map(ChartFile::to_json).collect())
    })
}

impl ReleaseChart {
    /// The stored form of `chart` (the root chart after dependency processing): what Helm
    /// keeps of it, without subcharts. Empty template and file lists are stored as `null`,
    /// as Helm's loader leaves them.
    pub fn from_chart(chart: &Chart) -> Result<ReleaseChart, ReleaseError> {
        let files = |fs: &[crate::chart::File]| {
            (!fs.is_empty()).then(|| fs.iter().map(ChartFile::from_file).collect())
        };
        Ok(ReleaseChart {
            metadata: Some(ChartMetadata::from_metadata(&chart.metadata)),
            lock: chart.lock.as_deref().map(ChartLock::parse).transpose()?,
            templates: files(&chart.templates),
            values: Some(chart.values.clone()),
            schema: chart.schema.clone(),
            schema_mod_time: chart.schema_mod_time.map_or(GoTime::ZERO, GoTime::from),
            files: files(&chart.files),
            mod_time: chart.mod_time.map_or(GoTime::ZERO, GoTime::from),
            unknown_fields: JsonMap::new(),
        })
    }

    /// The chart's name.
    pub fn name(&self) -> &str {
        self.metadata.as_ref().map_or("", |m| m.name.as_str())
    }

    /// Whether `other` stores the same chart: metadata, lock, templates, values, schema and
    /// files compared in Go's JSON form, whatever their modification times (a fresh checkout
    /// of unchanged files has new ones).
    pub fn same_content(&self, other: &ReleaseChart) -> bool {
        self.content_json() == other.content_json()
    }

    fn content_json(&self) -> String {
        let mut timeless = self.clone();
        timeless.mod_time = GoTime::ZERO;
        timeless.schema_mod_time = GoTime::ZERO;
        for file in timeless
            .templates
            .iter_mut()
            .chain(timeless.files.iter_mut())
            .flatten()
        {
            file.mod_time = GoTime::ZERO;
        }
        super::json::to_go_json(&timeless.to_json())
    }

    /// Go's JSON form.
    pub fn to_json(&self) -> Json {
        ObjectBuilder::default()
            .field(
                "metadata",
                self.metadata
                    .as_ref()
                    .map_or(Json::Null, ChartMetadata::to_json),
            )
            .field(
                "lock",
                self.lock.as_ref().map_or(Json::Null, ChartLock::to_json),
            )
            .field("templates", files_json(self.templates.as_deref()))
            .field(
                "values",
                self.values
                    .as_ref()
                    .map_or(Json::Null, |v| Json::Object(sorted_map(v))),
            )
            .field(
                "schema",
                self.schema.as_deref().map_or(Json::Null, bytes_json),
            )
            .time("schemamodtime", &self.schema_mod_time)
            .field("files", files_json(self.files.as_deref()))
            .time_omitzero("modtime", &self.mod_time)
            .unknown(&self.unknown_fields)
            .build()
    }

    /// Reads Go's JSON form.
    pub fn from_json(value: Json) -> Result<ReleaseChart, ReleaseError> {
        let mut f = Fields::of(value, "Chart")?;
        Ok(ReleaseChart {
            metadata: f.object("metadata", ChartMetadata::from_json)?,
            lock: f.object("lock", ChartLock::from_json)?,
            templates: f.objects("templates", ChartFile::from_json)?,
            values: f.any_map("values")?,
            schema: f.bytes("schema")?,
            schema_mod_time: f.time("schemamodtime")?,
            files: f.objects("files", ChartFile::from_json)?,
            mod_time: f.time("modtime")?,
            unknown_fields: f.unknown(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::File;
    use serde_json::json;

    fn chart() -> Chart {
        Chart {
            metadata: Metadata {
                name: "demo".into(),
                version: "0.1.0".into(),
                api_version: "v2".into(),
                description: "two\tlines\nhere".into(),
                annotations: Some(vec![("z".into(), "1".into()), ("a".into(), "2".into())]),
                dependencies: vec![Dependency {
                    name: "sub".into(),
                    repository: "file://sub".into(),
                    enabled: true,
                    ..Dependency::default()
                }],
                ..Metadata::default()
            },
            values: json!({"b": 1.0, "a": {"y": true, "x": null}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            templates: vec![File {
                name: "templates/cm.yaml".into(),
                data: b"kind: ConfigMap".to_vec(),
                mod_time: None,
            }],
            dependencies: vec![Chart::default()],
            ..Chart::default()
        }
    }

    #[test]
    fn a_loaded_chart_is_stored_as_helm_stores_it() -> Result<(), ReleaseError> {
        let stored = ReleaseChart::from_chart(&chart())?;
        let text = super::super::json::to_go_json(&stored.to_json());
        assert_eq!(
            text,
            concat!(
                r#"{"metadata":{"name":"demo","version":"0.1.0","description":"two lines here","#,
                r#""apiVersion":"v2","annotations":{"a":"2","z":"1"},"#,
                r#""dependencies":[{"name":"sub","repository":"file://sub","enabled":true}]},"#,
                r#""lock":null,"templates":[{"name":"templates/cm.yaml","data":"a2luZDogQ29uZmlnTWFw"}],"#,
                r#""values":{"a":{"x":null,"y":true},"b":1},"schema":null,"#,
                r#""schemamodtime":"0001-01-01T00:00:00Z","files":null}"#
            )
        );
        Ok(())
    }

    #[test]
    fn the_stored_chart_reads_back_unchanged() -> Result<(), ReleaseError> {
        let stored = ReleaseChart::from_chart(&chart())?;
        assert_eq!(ReleaseChart::from_json(stored.to_json())?, stored);
        Ok(())
    }

    #[test]
    fn content_is_compared_whatever_the_modification_times() -> Result<(), ReleaseError> {
        let stored = ReleaseChart::from_json(ReleaseChart::from_chart(&chart())?.to_json())?;
        let mut touched = chart();
        let now = chrono::Utc::now();
        touched.mod_time = Some(now);
        touched.schema_mod_time = Some(now);
        touched.templates[0].mod_time = Some(now);
        assert!(stored.same_content(&ReleaseChart::from_chart(&touched)?));
        let mut edited = touched.clone();
        edited.templates[0].data = b"kind: Secret".to_vec();
        assert!(!stored.same_content(&ReleaseChart::from_chart(&edited)?));
        let mut revalued = touched;
        revalued.values.insert("b".into(), json!(2));
        assert!(!stored.same_content(&ReleaseChart::from_chart(&revalued)?));
        Ok(())
    }

    #[test]
    fn a_lock_file_is_parsed_into_the_stored_lock() -> Result<(), ReleaseError> {
        let lock = ChartLock::parse(
            b"dependencies:\n- name: sub\n  repository: https://x\n  version: 1.2.3\ndigest: sha256:abc\ngenerated: \"2024-01-02T03:04:05.5Z\"\n",
        )?;
        assert_eq!(lock.digest, "sha256:abc");
        assert_eq!(lock.generated.to_rfc3339_nano(), "2024-01-02T03:04:05.5Z");
        assert_eq!(
            lock.dependencies.as_ref().map(|d| d[0].version.as_str()),
            Some("1.2.3")
        );
        Ok(())
    }
}
