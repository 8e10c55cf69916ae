//! Helm's dependency processing before rendering: vendored subcharts matched to
//! `dependencies:` entries by name and version, renamed by `alias`, enabled or disabled by
//! `tags` and `condition`, and `import-values` (the `exports.<name>` form and the
//! `{child, parent}` form) copied into the parent's values.

use serde_json::Value as Json;

use crate::HelmError;
use crate::chart::{Chart, Dependency};
use crate::values::{Values, coalesce_tables, coalesce_values, merge_values, path_value, table};

/// Helm's `ProcessDependencies` with the user's values.
pub fn process_dependencies(chart: &mut Chart, vals: &Values) -> Result<(), HelmError> {
    process_enabled(chart, vals, "")?;
    process_import_values(chart)
}

/// Helm's `IsCompatibleRange`: the version satisfies the constraint (false when either does
/// not parse).
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Ok(c) = tether_semver::Constraints::parse(constraint) else {
        return false;
    };
    let Ok(v) = tether_semver::Version::parse_lenient(version) else {
        return false;
    };
    c.matches(&v)
}

fn requirement_matches(req: &Dependency, chart: &Chart) -> bool {
    chart.name() == req.name && is_compatible_range(&req.version, &chart.metadata.version)
}

fn process_enabled(c: &mut Chart, v: &Values, path: &str) -> Result<(), HelmError> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut kept: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata
                .dependencies
                .iter()
                .any(|r| requirement_matches(r, e))
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(found) = existing.iter().find(|e| requirement_matches(req, e)) {
            let mut copy = found.clone();
            if !req.alias.is_empty() {
                copy.metadata.name = req.alias.clone();
            }
            kept.push(copy);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = kept;
    for req in &mut c.metadata.dependencies {
        req.enabled = true;
    }
    let cvals = coalesce_values(c, v)?;
    apply_tags(&mut c.metadata.dependencies, &cvals);
    apply_conditions(&mut c.metadata.dependencies, &cvals, path);
    let disabled: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies
        .retain(|d| !disabled.iter().any(|n| n == d.name()));
    c.metadata
        .dependencies
        .retain(|d| !disabled.contains(&d.name));
    for sub in &mut c.dependencies {
        let subpath = format!("{path}{}.", sub.name());
        process_enabled(sub, &cvals, &subpath)?;
    }
    Ok(())
}

fn apply_tags(reqs: &mut [Dependency], cvals: &Values) {
    let Some(tags) = table(cvals, "tags") else {
        return;
    };
    for req in reqs {
        let (mut has_true, mut has_false) = (false, false);
        for tag in &req.tags {
            match tags.get(tag) {
                Some(Json::Bool(true)) => has_true = true,
                Some(Json::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        req.enabled = has_true || !has_false;
    }
}

fn apply_conditions(reqs: &mut [Dependency], cvals: &Values, path: &str) {
    for req in reqs {
        for cond in req.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Json::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
                req.enabled = *b;
                break;
            }
        }
    }
}

fn process_import_values(c: &mut Chart) -> Result<(), HelmError> {
    for sub in &mut c.dependencies {
        process_import_values(sub)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = merge_values(c, &Values::new())?;
    let mut imported = Values::new();
    for req in &mut c.metadata.dependencies {
        let mut rewritten = Vec::new();
        for iv in &req.import_values {
            let (child, parent) = match iv {
                Json::Object(m) => (go_sprint(m.get("child")), go_sprint(m.get("parent"))),
                Json::String(s) => (format!("exports.{s}"), ".".to_owned()),
                _ => continue,
            };
            rewritten.push(serde_json::json!({"child": child, "parent": parent}));
            let Some(found) = table(&cvals, &format!("{}.{child}", req.name)) else {
                continue;
            };
            coalesce_tables(&mut imported, path_to_map(&parent, found.clone()), true);
        }
        req.import_values = rewritten;
    }
    let mut values = cvals;
    coalesce_tables(&mut values, imported, true);
    c.values = values;
    Ok(())
}

/// `fmt.Sprintf("%v", x)` of a YAML scalar.
fn go_sprint(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => "<nil>".into(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => crate::values::to_template(other).to_go_string(),
    }
}

fn path_to_map(path: &str, data: Values) -> Values {
    if path == "." {
        return data;
    }
    let mut current = data;
    for part in path.split('.').rev() {
        let mut outer = Values::new();
        outer.insert(part.to_owned(), Json::Object(current));
        current = outer;
    }
    current
}
