//! From rendered files to `helm template`'s output: NOTES set apart, documents split on
//! `---` lines, hooks (`helm.sh/hook`) separated from manifests, both put in Helm's install
//! order by kind, CRDs from `crds/` when asked, the `---\n# Source: <path>\n` framing, and
//! `--show-only`.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::HelmError;
use crate::chart::Chart;
use crate::ignore::go_match;

/// Helm's `InstallOrder`.
const INSTALL_ORDER: [&str; 38] = [
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: [&str; 10] = [
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One document of a rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The template that produced it (`chart/templates/x.yaml`).
    pub path: String,
    /// The document text.
    pub content: String,
    /// Its `kind`.
    pub kind: String,
}

/// A hook document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// The document.
    pub manifest: Manifest,
    /// `metadata.name`.
    pub name: String,
    /// Hook events (lowercase).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight` (0 when absent or not an integer).
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries.
    pub delete_policies: Vec<String>,
    /// `helm.sh/hook-output-log-policy` entries.
    pub output_log_policies: Vec<String>,
}

impl Hook {
    /// Whether the hook runs on `helm test`.
    pub fn is_test(&self) -> bool {
        self.events
            .iter()
            .any(|e| e == "test" || e == "test-success")
    }
}

/// Rendered manifests and hooks in install order, and the NOTES text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sorted {
    /// Non-hook documents.
    pub manifests: Vec<Manifest>,
    /// Hook documents.
    pub hooks: Vec<Hook>,
    /// The root chart's rendered `NOTES.txt`.
    pub notes: String,
}

/// Helm's `SplitManifests`: documents separated by lines starting with `---`.
pub fn split_manifests(text: &str) -> Vec<String> {
    let trimmed = text.trim_start();
    let mut docs = Vec::new();
    let mut current = String::new();
    for (i, line) in trimmed.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            if i > 0 || !current.is_empty() {
                docs.push(std::mem::take(&mut current));
            } else {
                docs.push(String::new());
            }
            current.push_str(rest.trim_start_matches([' ', '\t']));
        } else {
            current.push_str(line);
        }
    }
    docs.push(current);
    docs.into_iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim_start().to_owned())
        .collect()
}

fn kind_rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

fn less_by_kind(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (kind_rank(a), kind_rank(b)) {
        (None, None) => a.cmp(b),
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

struct Head {
    kind: String,
    name: String,
    annotations: Option<BTreeMap<String, String>>,
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn string_field(
    obj: &serde_json::Map<String, Json>,
    key: &str,
    field: &str,
) -> Result<String, String> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(scalar @ (Json::Number(_) | Json::Bool(_))) => {
            Ok(crate::chart::scalar_as_string(scalar))
        }
        Some(other) => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type string",
            json_type(other)
        )),
    }
}

/// Reads the head of a document as Helm's `SimpleHead`.
fn parse_head(doc: &str) -> Result<Head, String> {
    let value = tether_core::yaml::from_str_yaml11(doc)
        .map_err(|e| crate::yaml_error::converting(&e, doc))?;
    let obj = match value {
        Json::Object(obj) => obj,
        Json::Null => serde_json::Map::new(),
        other => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                json_type(&other)
            ));
        }
    };
    string_field(&obj, "apiVersion", "SimpleHead.apiVersion")?;
    let kind = string_field(&obj, "kind", "SimpleHead.kind")?;
    let (name, annotations) = match obj.get("metadata") {
        None | Some(Json::Null) => (String::new(), None),
        Some(Json::Object(md)) => {
            let name = string_field(md, "name", "SimpleHead.metadata.name")?;
            let annotations = match md.get("annotations") {
                None | Some(Json::Null) => None,
                Some(Json::Object(a)) => Some(
                    a.iter()
                        .map(|(k, _)| {
                            string_field(a, k, "SimpleHead.metadata.annotations")
                                .map(|s| (k.clone(), s))
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(other) => {
                    return Err(format!(
                        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field .metadata.annotations of type map[string]string",
                        json_type(other)
                    ));
                }
            };
            (name, annotations)
        }
        Some(other) => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field SimpleHead.metadata of type struct {{ Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }}",
                json_type(other)
            ));
        }
    };
    Ok(Head {
        kind,
        name,
        annotations,
    })
}

fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(|p| p.trim().to_lowercase()).collect()
}

/// Helm's `SortManifests` over rendered files (NOTES removed first).
pub fn sort_manifests(
    mut files: BTreeMap<String, String>,
    root: &str,
) -> Result<Sorted, HelmError> {
    let notes_path = format!("{root}/templates/NOTES.txt");
    let mut sorted = Sorted::default();
    let notes: Vec<String> = files
        .keys()
        .filter(|k| k.ends_with("NOTES.txt"))
        .cloned()
        .collect();
    for key in notes {
        if let Some(text) = files.remove(&key)
            && key == notes_path
        {
            sorted.notes = text;
        }
    }
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(&path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(&content) {
            let head = parse_head(&doc).map_err(|message| HelmError::ManifestYaml {
                file: path.clone(),
                message,
            })?;
            let manifest = Manifest {
                path: path.clone(),
                content: doc,
                kind: head.kind.clone(),
            };
            let annotations = head.annotations.unwrap_or_default();
            let Some(hook_types) = annotations.get("helm.sh/hook") else {
                sorted.manifests.push(manifest);
                continue;
            };
            let events = split_list(hook_types);
            if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                continue;
            }
            sorted.hooks.push(Hook {
                manifest,
                name: head.name,
                events,
                weight: annotations
                    .get("helm.sh/hook-weight")
                    .and_then(|w| go_atoi(w))
                    .unwrap_or(0),
                delete_policies: annotations
                    .get("helm.sh/hook-delete-policy")
                    .map(|p| split_list(p))
                    .unwrap_or_default(),
                output_log_policies: annotations
                    .get("helm.sh/hook-output-log-policy")
                    .map(|p| split_list(p))
                    .unwrap_or_default(),
            });
        }
    }
    sorted
        .manifests
        .sort_by(|a, b| less_by_kind(&a.kind, &b.kind));
    sorted
        .hooks
        .sort_by(|a, b| less_by_kind(&a.manifest.kind, &b.manifest.kind));
    Ok(sorted)
}

/// `strconv.Atoi`.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `crds/` files (`.yaml`, `.yml`, `.json`) of the chart and its subcharts, with their paths.
pub fn crd_files(chart: &Chart, full_path: &str, out: &mut Vec<(String, String)>) {
    for f in &chart.files {
        let ext_ok = [".yaml", ".yml", ".json"]
            .iter()
            .any(|e| f.name.ends_with(e));
        if f.name.starts_with("crds/") && ext_ok {
            out.push((
                format!("{full_path}/{}", f.name),
                String::from_utf8_lossy(&f.data).into_owned(),
            ));
        }
    }
    for dep in &chart.dependencies {
        crd_files(dep, &format!("{full_path}/charts/{}", dep.name()), out);
    }
}

/// The manifest of a release record (`helm get manifest`): every non-hook document framed
/// with its source, CRDs from `crds/` excluded (Helm installs those apart).
pub fn release_manifest(sorted: &Sorted) -> String {
    let mut out = String::new();
    for m in &sorted.manifests {
        out.push_str(&format!("---\n# Source: {}\n{}\n", m.path, m.content));
    }
    out
}

/// What `helm template` prints, before `--show-only`.
pub fn template_output(sorted: &Sorted, crds: &[(String, String)], skip_tests: bool) -> String {
    let mut manifest = String::new();
    for (path, data) in crds {
        manifest.push_str(&format!("---\n# Source: {path}\n{data}\n"));
    }
    for m in &sorted.manifests {
        manifest.push_str(&format!("---\n# Source: {}\n{}\n", m.path, m.content));
    }
    let mut out = manifest.trim().to_owned();
    out.push('\n');
    for h in &sorted.hooks {
        if skip_tests && h.is_test() {
            continue;
        }
        out.push_str(&format!(
            "---\n# Source: {}\n{}\n",
            h.manifest.path, h.manifest.content
        ));
    }
    out
}

/// `--show-only`: the documents whose template path (after the chart name) matches each
/// pattern, in order.
pub fn show_only(output: &str, patterns: &[String]) -> Result<String, HelmError> {
    let docs = split_manifests_keep_empty_order(output);
    let mut out = String::new();
    let mut selected = Vec::new();
    for pattern in patterns {
        let mut missing = true;
        for doc in &docs {
            let Some(path) = source_path(doc) else {
                continue;
            };
            if go_match(pattern, path).unwrap_or(false) {
                selected.push(doc.as_str());
                missing = false;
            }
        }
        if missing {
            return Err(HelmError::TemplateNotFound(pattern.clone()));
        }
    }
    for doc in selected {
        out.push_str(&format!("---\n{doc}\n"));
    }
    Ok(out)
}

fn split_manifests_keep_empty_order(output: &str) -> Vec<String> {
    split_manifests(output)
}

/// The `(.+)` of `# Source: [^/]+/(.+)` in a document.
fn source_path(doc: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(i) = doc[from..].find("# Source: ") {
        let start = from + i + "# Source: ".len();
        let line_end = doc[start..].find('\n').map_or(doc.len(), |e| start + e);
        let line = &doc[start..line_end];
        if let Some(slash) = line.find('/')
            && slash > 0
            && slash + 1 < line.len()
        {
            return Some(&line[slash + 1..]);
        }
        from = start;
    }
    None
}
