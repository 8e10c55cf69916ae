//! The chart model: `Chart.yaml` metadata (apiVersion v1 with `requirements.yaml`, or v2),
//! dependencies with condition, tags, alias and import-values, templates, other files,
//! default values, and the validation rules Helm applies when it loads a chart.

use serde_json::{Map as JsonMap, Value as Json};

use crate::HelmError;

/// A file of a chart, by its slash-separated path inside the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path inside the chart, e.g. `templates/deployment.yaml`.
    pub name: String,
    /// Contents (a leading UTF-8 byte-order mark removed).
    pub data: Vec<u8>,
    /// Modification time from the directory or archive, which a release record stores.
    pub mod_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// A chart maintainer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintainer {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// URL.
    pub url: String,
}

/// A `dependencies:` entry of `Chart.yaml` (or `requirements.yaml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    /// Chart name.
    pub name: String,
    /// Version constraint the vendored chart must satisfy.
    pub version: String,
    /// Repository URL.
    pub repository: String,
    /// Comma-separated value paths whose first boolean enables the dependency.
    pub condition: String,
    /// Tags; `tags.<tag>` values enable or disable the dependency.
    pub tags: Vec<String>,
    /// Whether the dependency is enabled (computed).
    pub enabled: bool,
    /// `import-values`: strings (`exports.<name>`) or `{child, parent}` maps.
    pub import_values: Vec<Json>,
    /// Name the dependency is known by in the parent.
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Chart name.
    pub name: String,
    /// Home page.
    pub home: String,
    /// Source URLs.
    pub sources: Vec<String>,
    /// Chart version (SemVer 2).
    pub version: String,
    /// One-line description.
    pub description: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Maintainers.
    pub maintainers: Vec<Maintainer>,
    /// Icon URL.
    pub icon: String,
    /// `v1` or `v2`.
    pub api_version: String,
    /// Condition (unused by Helm 3+, kept for `.Chart`).
    pub condition: String,
    /// Tags (unused by Helm 3+, kept for `.Chart`).
    pub tags: String,
    /// Application version.
    pub app_version: String,
    /// Whether the chart is deprecated.
    pub deprecated: bool,
    /// Annotations.
    pub annotations: Option<Vec<(String, String)>>,
    /// Kubernetes version constraint.
    pub kube_version: String,
    /// Dependencies.
    pub dependencies: Vec<Dependency>,
    /// `application` (empty means application) or `library`.
    pub chart_type: String,
}

/// A loaded chart with its vendored subcharts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// `Chart.yaml` (plus `requirements.yaml` for apiVersion v1).
    pub metadata: Metadata,
    /// `values.yaml`, numbers as Go's JSON decoding types them (float64).
    pub values: JsonMap<String, Json>,
    /// `values.schema.json`.
    pub schema: Option<Vec<u8>>,
    /// `values.schema.json`'s modification time.
    pub schema_mod_time: Option<chrono::DateTime<chrono::Utc>>,
    /// `Chart.yaml`'s modification time.
    pub mod_time: Option<chrono::DateTime<chrono::Utc>>,
    /// `Chart.lock` (or `requirements.lock`), as read; a release record stores it.
    pub lock: Option<Vec<u8>>,
    /// Files under `templates/`.
    pub templates: Vec<File>,
    /// Every other file (including `crds/`), which `.Files` serves.
    pub files: Vec<File>,
    /// Subcharts vendored under `charts/`.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether `type: library`.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }
}

/// A YAML scalar read into a Go string field: `sigs.k8s.io/yaml` converts numbers and
/// booleans to text (floats with 32-bit `%g`) when the target field is a string.
pub(crate) fn scalar_as_string(value: &Json) -> String {
    match value {
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", f as i64)
                } else {
                    format!("{}", f as f32)
                }
            }
        },
        Json::Bool(b) => b.to_string(),
        Json::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn string_field(obj: &JsonMap<String, Json>, key: &str, owner: &str) -> Result<String, String> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(scalar @ (Json::Number(_) | Json::Bool(_))) => Ok(scalar_as_string(scalar)),
        Some(other) => Err(unmarshal_error(other, owner, key, "string")),
    }
}

fn unmarshal_error(value: &Json, owner: &str, key: &str, go_type: &str) -> String {
    let kind = match value {
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
        Json::Null => "null",
    };
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go struct field {owner}.{key} of type {go_type}"
    )
}

fn strings_field(
    obj: &JsonMap<String, Json>,
    key: &str,
    owner: &str,
) -> Result<Vec<String>, String> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|item| match item {
                Json::String(s) => Ok(s.clone()),
                Json::Null => Ok(String::new()),
                scalar @ (Json::Number(_) | Json::Bool(_)) => Ok(scalar_as_string(scalar)),
                other => Err(unmarshal_error(other, owner, key, "string")),
            })
            .collect(),
        Some(other) => Err(unmarshal_error(other, owner, key, "[]string")),
    }
}

impl Dependency {
    fn from_json(value: &Json) -> Result<Option<Dependency>, String> {
        let obj = match value {
            Json::Null => return Ok(None),
            Json::Object(obj) => obj,
            other => {
                return Err(unmarshal_error(
                    other,
                    "Metadata",
                    "dependencies",
                    "v2.Dependency",
                ));
            }
        };
        let owner = "Dependency";
        let import_values = match obj.get("import-values") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => items.clone(),
            Some(other) => {
                return Err(unmarshal_error(
                    other,
                    owner,
                    "import-values",
                    "[]interface {}",
                ));
            }
        };
        Ok(Some(Dependency {
            name: string_field(obj, "name", owner)?,
            version: string_field(obj, "version", owner)?,
            repository: string_field(obj, "repository", owner)?,
            condition: string_field(obj, "condition", owner)?,
            tags: strings_field(obj, "tags", owner)?,
            enabled: matches!(obj.get("enabled"), Some(Json::Bool(true))),
            import_values,
            alias: string_field(obj, "alias", owner)?,
        }))
    }
}

/// Reads `dependencies:` of `Chart.yaml` or `requirements.yaml`.
pub(crate) fn parse_dependencies(obj: &JsonMap<String, Json>) -> Result<Vec<Dependency>, String> {
    match obj.get("dependencies") {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match Dependency::from_json(item)? {
                    Some(d) => out.push(d),
                    None => {
                        return Err("dependencies must not contain empty or null nodes".into());
                    }
                }
            }
            Ok(out)
        }
        Some(other) => Err(unmarshal_error(
            other,
            "Metadata",
            "dependencies",
            "[]*v2.Dependency",
        )),
    }
}

impl Metadata {
    /// Parses `Chart.yaml` text.
    pub fn parse(text: &str) -> Result<Metadata, String> {
        let value = tether_core::yaml::from_str_yaml11(text)
            .map_err(|e| crate::yaml_error::converting(&e, text))?;
        let obj = match value {
            Json::Object(obj) => obj,
            Json::Null => JsonMap::new(),
            other => return Err(unmarshal_error(&other, "Metadata", "", "v2.Metadata")),
        };
        let owner = "Metadata";
        let maintainers = match obj.get("maintainers") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => items
                .iter()
                .map(|m| {
                    let empty = JsonMap::new();
                    let o = m.as_object().unwrap_or(&empty);
                    Ok(Maintainer {
                        name: string_field(o, "name", "Maintainer")?,
                        email: string_field(o, "email", "Maintainer")?,
                        url: string_field(o, "url", "Maintainer")?,
                    })
                })
                .collect::<Result<_, String>>()?,
            Some(other) => {
                return Err(unmarshal_error(
                    other,
                    owner,
                    "maintainers",
                    "[]*v2.Maintainer",
                ));
            }
        };
        let annotations = match obj.get("annotations") {
            None | Some(Json::Null) => None,
            Some(Json::Object(map)) => Some(
                map.iter()
                    .map(|(k, v)| match v {
                        Json::String(s) => Ok((k.clone(), s.clone())),
                        Json::Null => Ok((k.clone(), String::new())),
                        scalar @ (Json::Number(_) | Json::Bool(_)) => {
                            Ok((k.clone(), scalar_as_string(scalar)))
                        }
                        other => Err(unmarshal_error(other, owner, "annotations", "string")),
                    })
                    .collect::<Result<_, String>>()?,
            ),
            Some(other) => {
                return Err(unmarshal_error(
                    other,
                    owner,
                    "annotations",
                    "map[string]string",
                ));
            }
        };
        let deprecated = match obj.get("deprecated") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(other) => return Err(unmarshal_error(other, owner, "deprecated", "bool")),
        };
        Ok(Metadata {
            name: string_field(&obj, "name", owner)?,
            home: string_field(&obj, "home", owner)?,
            sources: strings_field(&obj, "sources", owner)?,
            version: string_field(&obj, "version", owner)?,
            description: string_field(&obj, "description", owner)?,
            keywords: strings_field(&obj, "keywords", owner)?,
            maintainers,
            icon: string_field(&obj, "icon", owner)?,
            api_version: string_field(&obj, "apiVersion", owner)?,
            condition: string_field(&obj, "condition", owner)?,
            tags: string_field(&obj, "tags", owner)?,
            app_version: string_field(&obj, "appVersion", owner)?,
            deprecated,
            annotations,
            kube_version: string_field(&obj, "kubeVersion", owner)?,
            dependencies: parse_dependencies(&obj)?,
            chart_type: string_field(&obj, "type", owner)?,
        })
    }

    /// Helm's `Metadata.Validate`.
    pub fn validate(&self) -> Result<(), HelmError> {
        let invalid = |m: String| Err(HelmError::Validation(m));
        if self.api_version.is_empty() {
            return invalid("chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return invalid("chart.metadata.name is required".into());
        }
        if self.name.contains('/') || self.name == "." || self.name == ".." {
            return invalid(format!("chart.metadata.name {:?} is invalid", self.name));
        }
        if self.version.is_empty() {
            return invalid("chart.metadata.version is required".into());
        }
        if tether_semver::Version::parse_lenient(&self.version).is_err() {
            return invalid(format!(
                "chart.metadata.version {:?} is invalid",
                self.version
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return invalid("chart.metadata.type must be application or library".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for dep in &self.dependencies {
            if !dep.alias.is_empty() && !valid_alias(&dep.alias) {
                return invalid(format!(
                    "dependency {:?} has disallowed characters in the alias",
                    dep.name
                ));
            }
            let key = if dep.alias.is_empty() {
                &dep.name
            } else {
                &dep.alias
            };
            if !seen.insert(key.clone()) {
                return invalid(format!(
                    "more than one dependency with name or alias {key:?}"
                ));
            }
        }
        Ok(())
    }
}

/// Helm's alias rule: `^[a-zA-Z0-9_-]+$`.
fn valid_alias(alias: &str) -> bool {
    alias
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
