//! Helm's engine: every template of a chart and its enabled subcharts parsed into one set
//! (deepest paths first, so a parent's `define` wins), each non-partial executed with its
//! chart's scope (`.Values` of that subchart, `.Chart`, `.Files`, `.Subcharts`, `.Template`),
//! `<no value>` removed, and errors reformatted as Helm prints them.

use std::collections::BTreeMap;
use std::sync::Arc;

use tether_gotemplate::{Map, MissingKey, TemplateError, TemplateSet, Value};

use crate::HelmError;
use crate::chart::{Chart, Metadata};
use crate::funcs::{Lookup, WARN_END, WARN_START, helm_funcs};
use crate::values::{object_to_map, to_template};

/// A template with the scope it runs in.
struct Renderable<'chart> {
    /// The template's source, borrowed from the chart unless it is not UTF-8.
    text: std::borrow::Cow<'chart, str>,
    scope: Map,
    base_path: String,
}

fn values_map() -> Map {
    let mut m = Map::new("common.Values", Value::Nil);
    m.string_keyed = true;
    m
}

fn plain_map() -> Map {
    let mut m = Map::new("map[string]interface {}", Value::Nil);
    m.string_keyed = true;
    m
}

fn strs(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s.as_str())).collect())
}

/// `.Chart`: the metadata struct as a map of Go field names, plus `IsRoot`.
pub fn metadata_map(md: &Metadata, is_root: bool) -> Value {
    let mut m = plain_map();
    let mut put = |k: &str, v: Value| m.insert(Value::str(k), v);
    put("Name", Value::str(md.name.as_str()));
    put("Home", Value::str(md.home.as_str()));
    put("Sources", strs(&md.sources));
    put("Version", Value::str(md.version.as_str()));
    put("Description", Value::str(md.description.as_str()));
    put("Keywords", strs(&md.keywords));
    let maintainers = md
        .maintainers
        .iter()
        .map(|mt| {
            let mut o = plain_map();
            o.insert(Value::str("Name"), Value::str(mt.name.as_str()));
            o.insert(Value::str("Email"), Value::str(mt.email.as_str()));
            o.insert(Value::str("URL"), Value::str(mt.url.as_str()));
            Value::Map(o)
        })
        .collect();
    put("Maintainers", Value::list(maintainers));
    put("Icon", Value::str(md.icon.as_str()));
    put("APIVersion", Value::str(md.api_version.as_str()));
    put("Condition", Value::str(md.condition.as_str()));
    put("Tags", Value::str(md.tags.as_str()));
    put("AppVersion", Value::str(md.app_version.as_str()));
    put("Deprecated", Value::Bool(md.deprecated));
    let annotations = Map::string_to_string(md.annotations.clone().unwrap_or_default());
    put("Annotations", Value::Map(annotations));
    put("KubeVersion", Value::str(md.kube_version.as_str()));
    let deps = md
        .dependencies
        .iter()
        .map(|d| {
            let mut o = plain_map();
            o.insert(Value::str("Name"), Value::str(d.name.as_str()));
            o.insert(Value::str("Version"), Value::str(d.version.as_str()));
            o.insert(Value::str("Repository"), Value::str(d.repository.as_str()));
            o.insert(Value::str("Condition"), Value::str(d.condition.as_str()));
            o.insert(Value::str("Tags"), strs(&d.tags));
            o.insert(Value::str("Enabled"), Value::Bool(d.enabled));
            o.insert(
                Value::str("ImportValues"),
                Value::list(d.import_values.iter().map(to_template).collect()),
            );
            o.insert(Value::str("Alias"), Value::str(d.alias.as_str()));
            Value::Map(o)
        })
        .collect();
    put("Dependencies", Value::list(deps));
    put("Type", Value::str(md.chart_type.as_str()));
    put("IsRoot", Value::Bool(is_root));
    Value::Map(m)
}

/// Collects the templates of `chart` (at `full_path`) and its subcharts; returns the scope
/// map of `chart` (what `.Subcharts.<name>` shows).
fn collect<'chart>(
    chart: &'chart Chart,
    full_path: &str,
    parent: &Map,
    is_root: bool,
    out: &mut BTreeMap<String, Renderable<'chart>>,
) -> Map {
    let values = if is_root {
        parent.get_str("Values").unwrap_or(Value::Map(values_map()))
    } else {
        match parent.get_str("Values") {
            Some(Value::Map(pv)) => match pv.get_str(chart.name()) {
                Some(Value::Map(sub)) => {
                    let mut scoped = sub.clone();
                    scoped.type_name = "common.Values".into();
                    Value::Map(scoped)
                }
                _ => Value::Map(values_map()),
            },
            _ => Value::Map(values_map()),
        }
    };
    let mut scope = values_map();
    scope.insert(Value::str("Chart"), metadata_map(&chart.metadata, is_root));
    scope.insert(Value::str("Files"), crate::files::files_value(&chart.files));
    for key in ["Release", "Capabilities"] {
        scope.insert(Value::str(key), parent.get_str(key).unwrap_or(Value::Nil));
    }
    scope.insert(Value::str("Values"), values);
    let mut subcharts = plain_map();
    for sub in &chart.dependencies {
        let sub_path = format!("{full_path}/charts/{}", sub.name());
        let sub_scope = collect(sub, &sub_path, &scope, false, out);
        subcharts.insert(Value::str(sub.name()), Value::Map(sub_scope));
    }
    scope.insert(Value::str("Subcharts"), Value::Map(subcharts));
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: String::from_utf8_lossy(&t.data),
                scope: scope.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    scope
}

/// Helm's parse order: deeper paths first, then reverse lexical order.
fn parse_order(names: &mut [&String]) {
    names.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
}

/// Renders every template: file path → output. `top` holds `Release`, `Capabilities` and
/// the coalesced `Values`.
pub fn render(
    chart: &Chart,
    top: &Map,
    cluster: Arc<dyn Lookup>,
    max_output: usize,
) -> Result<BTreeMap<String, String>, HelmError> {
    let mut templates = BTreeMap::new();
    collect(chart, chart.name(), top, true, &mut templates);
    let mut set = TemplateSet::new("gotpl", helm_funcs(cluster))
        .with_missing_key(MissingKey::Zero)
        .with_max_output(max_output);
    let mut order: Vec<&String> = templates.keys().collect();
    parse_order(&mut order);
    for name in &order {
        let text = &templates[*name].text;
        set.add(name, text).map_err(|e| parse_error(name, &e))?;
    }
    let mut rendered = BTreeMap::new();
    let mut total = 0usize;
    for name in order {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') {
            continue;
        }
        let r = &templates[name];
        // The scope map is shared by the chart's templates, as Helm's is: `.Template` is set
        // on it before each one runs, and what a template `set`s on it the next ones see.
        let scope = r.scope.clone();
        let mut template = values_map();
        template.insert(Value::str("Name"), Value::str(name.as_str()));
        template.insert(Value::str("BasePath"), Value::str(r.base_path.as_str()));
        scope.insert_shared(Value::str("Template"), Value::Map(template));
        let out = set
            .execute(name, &Value::Map(scope))
            .map_err(|e| match e.to_string() {
                m if m.ends_with(&format!("output exceeds {max_output} bytes")) => {
                    HelmError::OutputTooLarge { limit: max_output }
                }
                m => exec_error(name, &m),
            })?;
        total += out.len();
        if total > max_output {
            return Err(HelmError::OutputTooLarge { limit: max_output });
        }
        rendered.insert(name.clone(), out.replace("<no value>", ""));
    }
    Ok(rendered)
}

/// Builds the top-level map Helm's `ToRenderValues` makes.
pub fn top_values(
    release: &crate::ReleaseOptions,
    capabilities: &crate::Capabilities,
    values: &crate::values::Values,
) -> Map {
    let mut top = values_map();
    let mut rel = plain_map();
    rel.insert(Value::str("Name"), Value::str(release.name.as_str()));
    rel.insert(
        Value::str("Namespace"),
        Value::str(release.namespace.as_str()),
    );
    rel.insert(Value::str("IsUpgrade"), Value::Bool(release.is_upgrade));
    rel.insert(Value::str("IsInstall"), Value::Bool(!release.is_upgrade));
    rel.insert(Value::str("Revision"), Value::Int(release.revision));
    rel.insert(Value::str("Service"), Value::str("Helm"));
    top.insert(Value::str("Release"), Value::Map(rel));
    top.insert(Value::str("Capabilities"), capabilities.to_value());
    top.insert(
        Value::str("Values"),
        Value::Map(object_to_map("common.Values", values)),
    );
    top
}

/// Helm's `cleanupParseError`.
fn parse_error(file: &str, err: &TemplateError) -> HelmError {
    let msg = err.to_string();
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return HelmError::Parse(format!("parse error in ({file}): {msg}"));
    }
    let last = tokens.last().copied().unwrap_or_default();
    HelmError::Parse(format!("parse error at ({}): {last}", tokens[1]))
}

/// One link of Go's error chain, as Helm's `TraceableError` prints it.
#[derive(Debug, PartialEq)]
struct Traceable {
    location: String,
    executed: String,
    message: String,
}

impl Traceable {
    fn print(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(&format!("{}\n  ", self.location));
        }
        if !self.executed.is_empty() {
            out.push_str(&format!("{}\n    ", self.executed));
        }
        if !self.message.is_empty() {
            out.push_str(&format!("{}\n", self.message));
        }
    }
}

fn cut_chained(msg: &str) -> &str {
    match msg.find(" template:") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Parses one error of Go's chain; returns it and the error it wraps.
fn parse_link(s: &str) -> Option<(Traceable, Option<&str>)> {
    let rest = s.strip_prefix("template: ")?;
    if rest.starts_with("no template ") {
        let t = Traceable {
            location: String::new(),
            executed: String::new(),
            message: s.to_owned(),
        };
        return Some((t, None));
    }
    if let Some((name, after)) = rest.split_once(": executing ") {
        let after = after.strip_prefix('"')?;
        let end = after.find('"')?;
        let func = &after[..end];
        let at = after[end + 1..].strip_prefix(" at <")?;
        let (location, message) = at.split_once(">: ")?;
        let inner = message
            .strip_prefix("error calling ")
            .and_then(|m| m.split_once(": ").map(|(_, inner)| inner));
        let t = Traceable {
            location: name.to_owned(),
            executed: format!("executing \"{func}\" at <{location}>:"),
            message: cut_chained(message).to_owned(),
        };
        return Some((t, inner));
    }
    let sep = rest.rfind(": ")?;
    let t = Traceable {
        location: rest[..sep].to_owned(),
        executed: String::new(),
        message: cut_chained(&rest[sep + 2..]).to_owned(),
    };
    Some((t, None))
}

/// Helm's `reformatExecErrorMsg`.
fn exec_error(file: &str, msg: &str) -> HelmError {
    let tokens: Vec<&str> = msg.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return HelmError::Render(format!("execution error in ({file}): {msg}"));
    }
    if let (Some(start), Some(end)) = (tokens[2].find(WARN_START), tokens[2].rfind(WARN_END)) {
        let from = start + WARN_START.len();
        if from <= end {
            return HelmError::Render(format!(
                "execution error at ({}): {}",
                tokens[1],
                &tokens[2][from..end]
            ));
        }
    }
    let mut links: Vec<Traceable> = Vec::new();
    let mut current = Some(msg);
    while let Some(text) = current {
        let Some((link, inner)) = parse_link(text) else {
            return HelmError::Render(msg.to_owned());
        };
        if links.last() != Some(&link) {
            links.push(link);
        }
        current = inner;
    }
    let mut out = String::new();
    for link in &links {
        link.print(&mut out);
    }
    HelmError::Render(out.trim().to_owned())
}
