//! Values as Helm coalesces them: chart defaults under user values, `null` deleting a
//! default, `global` flowing down to subcharts, subchart values under their name or alias
//! (Helm's `coalesce.go`), plus the conversions between JSON-shaped values and the Go values
//! templates see (`map[string]interface {}`, float64 numbers from YAML, int64 from `--set`).

use serde_json::{Map as JsonMap, Number, Value as Json};
use tether_gotemplate::{Map, Value};

use crate::HelmError;
use crate::chart::Chart;

/// A values tree.
pub type Values = JsonMap<String, Json>;

/// Every number as a float64, as Go's `json.Unmarshal` into `interface{}` types them.
pub fn floats(value: Json) -> Json {
    match value {
        Json::Number(n) => n
            .as_f64()
            .and_then(Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Json::Array(items) => Json::Array(items.into_iter().map(floats).collect()),
        Json::Object(obj) => Json::Object(obj.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

/// Helm's `MergeMaps`: `b` wins, nested maps merged.
pub fn merge_maps(mut a: Values, b: Values) -> Values {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Json::Object(av)), Json::Object(bv)) => {
                let merged = merge_maps(std::mem::take(av), bv);
                *av = merged;
            }
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
    a
}

/// Helm's `CoalesceValues`: `vals` over the chart's defaults, recursively into subcharts.
pub fn coalesce_values(chart: &Chart, vals: &Values) -> Result<Values, HelmError> {
    coalesce(chart, vals.clone(), false)
}

/// Helm's `MergeValues`: like coalescing, but `null`s are kept.
pub fn merge_values(chart: &Chart, vals: &Values) -> Result<Values, HelmError> {
    coalesce(chart, vals.clone(), true)
}

fn coalesce(chart: &Chart, mut dest: Values, merge: bool) -> Result<Values, HelmError> {
    coalesce_chart_values(chart, &mut dest, merge);
    coalesce_deps(chart, dest, merge)
}

fn coalesce_deps(chart: &Chart, mut dest: Values, merge: bool) -> Result<Values, HelmError> {
    for sub in &chart.dependencies {
        let name = sub.name().to_owned();
        let sub_vals = match dest.remove(&name) {
            None => Values::new(),
            Some(Json::Object(obj)) => obj,
            Some(other) => {
                return Err(HelmError::Values(format!(
                    "type mismatch on {name}: %!t({}={})",
                    go_type_of(&other),
                    go_print(&other)
                )));
            }
        };
        let mut sub_vals = sub_vals;
        coalesce_globals(&mut sub_vals, &dest);
        let coalesced = coalesce(sub, sub_vals, merge)?;
        share_back_globals(&mut dest, &coalesced);
        dest.insert(name, Json::Object(coalesced));
    }
    Ok(dest)
}

fn go_type_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "<nil>",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float64",
        Json::Number(_) => "int64",
        Json::String(_) => "string",
        Json::Array(_) => "[]interface {}",
        Json::Object(_) => "map[string]interface {}",
    }
}

fn go_print(v: &Json) -> String {
    to_template(v).to_go_string()
}

/// Go's `coalesceGlobals` copies each global table one level deep only, so the tables below
/// it are the parent's own maps: whatever coalescing the subchart adds to them (its default
/// globals, its subcharts' ones) shows in the parent's `.Values.global` too. This does that.
fn share_back_globals(parent: &mut Values, child: &Values) {
    let Some(Json::Object(child_global)) = child.get("global") else {
        return;
    };
    let Some(Json::Object(parent_global)) = parent.get_mut("global") else {
        return;
    };
    for (key, table) in parent_global.iter_mut() {
        let (Json::Object(ptable), Some(Json::Object(ctable))) = (table, child_global.get(key))
        else {
            continue;
        };
        for (k, inner) in ptable.iter_mut() {
            if let (Json::Object(_), Some(Json::Object(shared))) = (&*inner, ctable.get(k)) {
                *inner = Json::Object(shared.clone());
            }
        }
    }
}

fn coalesce_globals(dest: &mut Values, src: &Values) {
    let mut dg = match dest.get("global") {
        None => Values::new(),
        Some(Json::Object(obj)) => obj.clone(),
        Some(_) => return,
    };
    let sg = match src.get("global") {
        None => Values::new(),
        Some(Json::Object(obj)) => obj.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        match val {
            Json::Object(table) => match dg.get_mut(&key) {
                None => {
                    dg.insert(key, Json::Object(table));
                }
                Some(Json::Object(destv)) => {
                    let mut vv = table;
                    coalesce_tables(&mut vv, destv.clone(), true);
                    *destv = vv;
                }
                Some(_) => {}
            },
            val => {
                if !matches!(dg.get(&key), Some(Json::Object(_))) {
                    dg.insert(key, val);
                }
            }
        }
    }
    dest.insert("global".into(), Json::Object(dg));
}

/// Whether `key` names a subchart of `chart` (its values are merged, keeping nulls).
fn is_subchart(chart: &Chart, key: &str) -> bool {
    chart.dependencies.iter().any(|d| d.name() == key)
}

fn coalesce_chart_values(chart: &Chart, v: &mut Values, merge: bool) {
    for (key, val) in chart.values.clone() {
        match v.get_mut(&key) {
            Some(Json::Null) if !merge => {
                v.remove(&key);
            }
            Some(Json::Object(dest)) => {
                if let Json::Object(mut src) = val {
                    let merge = merge || is_subchart(chart, &key);
                    if !merge {
                        clean_nil_values(&mut src);
                    }
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                let mut val = val;
                if !merge {
                    if val.is_null() {
                        continue;
                    }
                    if let Json::Object(sub) = &mut val {
                        clean_nil_values(sub);
                    }
                }
                v.insert(key, val);
            }
        }
    }
}

/// Helm's `coalesceTablesFullKey`: `src` fills what `dst` lacks, recursively.
pub fn coalesce_tables(dst: &mut Values, mut src: Values, merge: bool) {
    let src_non_nil: std::collections::HashSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (key, val) in dst.iter() {
        if val.is_null() {
            src.insert(key.clone(), Json::Null);
        }
    }
    for (key, val) in src {
        match dst.get_mut(&key) {
            Some(Json::Null) if !merge && src_non_nil.contains(&key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(Json::Object(dv)) => {
                if let Json::Object(sv) = val {
                    coalesce_tables(dv, sv, merge);
                }
            }
            Some(_) => {}
        }
    }
}

/// What an upgrade that reuses the current release's values (Helm's `--reuse-values`) renders
/// and stores.
#[derive(Debug, Clone, PartialEq)]
pub struct ReusedValues {
    /// The values stored with the new release: the supplied ones over the current release's.
    pub config: Values,
    /// The chart defaults rendered with: the current release's chart defaults under its values,
    /// in place of the new chart's `values.yaml` (so new defaults are not picked up, as in Helm).
    pub chart_defaults: Values,
}

/// Helm's `reuseValues` with `ReuseValues` set: `current_chart_values` and `current_config` are
/// the current release's (its stored chart, which carries no subcharts, and its config).
pub fn reuse_values(
    current_chart_values: &Values,
    current_config: &Values,
    supplied: &Values,
) -> Result<ReusedValues, HelmError> {
    let current_chart = Chart {
        values: current_chart_values.clone(),
        ..Chart::default()
    };
    let chart_defaults = coalesce_values(&current_chart, current_config)?;
    let mut config = supplied.clone();
    coalesce_tables(&mut config, current_config.clone(), false);
    Ok(ReusedValues {
        config,
        chart_defaults,
    })
}

fn clean_nil_values(m: &mut Values) {
    m.retain(|_, v| !v.is_null());
    for v in m.values_mut() {
        if let Json::Object(sub) = v {
            clean_nil_values(sub);
        }
    }
}

/// Helm's `Values.Table`: the map at a dotted path.
pub fn table<'a>(values: &'a Values, path: &str) -> Option<&'a Values> {
    let mut current = values;
    for part in path.split('.') {
        match current.get(part) {
            Some(Json::Object(obj)) => current = obj,
            _ => return None,
        }
    }
    Some(current)
}

/// Helm's `Values.PathValue`: the non-table value at a dotted path.
pub fn path_value<'a>(values: &'a Values, path: &str) -> Option<&'a Json> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (table(values, parent)?, key),
        None => (values, path),
    };
    parent.get(key).filter(|v| !v.is_object())
}

/// A JSON-shaped value as the Go value a template sees.
pub fn to_template(value: &Json) -> Value {
    match value {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::Int64(i),
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::list(items.iter().map(to_template).collect()),
        Json::Object(obj) => Value::Map(object_to_map("map[string]interface {}", obj)),
    }
}

/// A JSON object as a Go map of `type_name` whose missing keys read as nil.
pub fn object_to_map(type_name: &str, obj: &Values) -> Map {
    let mut map = Map::new(type_name, Value::Nil);
    map.string_keyed = true;
    for (k, v) in obj {
        map.insert(Value::String(k.clone()), to_template(v));
    }
    map
}

/// A Go value as `encoding/json` marshals it (`None` where Go's marshalling fails: NaN,
/// infinities).
pub fn from_template(value: &Value) -> Option<Json> {
    Some(match value {
        Value::Invalid | Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Json::Number((*i).into()),
        Value::Float(f) => Json::Number(Number::from_f64(*f)?),
        Value::String(s) => Json::String(s.clone()),
        Value::Slice(s) => Json::Array(s.items.iter().map(from_template).collect::<Option<_>>()?),
        Value::Map(m) => {
            let _level = tether_gotemplate::Nesting::enter()?;
            let mut obj = Values::new();
            let snapshot = m.entries();
            let mut entries: Vec<(String, &Value)> = snapshot
                .iter()
                .map(|(k, v)| (tether_gotemplate::sprint(std::slice::from_ref(k)), v))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in entries {
                obj.insert(k, from_template(v)?);
            }
            Json::Object(obj)
        }
        // A `json.Marshaler` (`time.Time`, `time.Duration`) writes its own JSON text.
        Value::Struct(s) if s.methods.iter().any(|(n, _)| n == crate::dates::JSON) => {
            match s.methods.iter().find(|(n, _)| n == crate::dates::JSON) {
                Some((_, Value::String(t))) => serde_json::from_str(t).unwrap_or(Json::Null),
                _ => Json::Null,
            }
        }
        Value::Struct(s) => {
            let mut obj = Values::new();
            for f in &s.fields {
                obj.insert(f.name.clone(), from_template(&f.value)?);
            }
            Json::Object(obj)
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Json) -> Values {
        match v {
            Json::Object(o) => o,
            _ => Values::new(),
        }
    }

    #[test]
    fn reused_values_keep_the_current_config_under_the_supplied_values() {
        let current_chart = obj(json!({"replicas": 1, "image": {"tag": "old"}}));
        let current_config = obj(json!({"replicas": 3, "color": "blue"}));
        let supplied = obj(json!({"replicas": 2, "image": {"pull": "Always"}}));
        let reused = reuse_values(&current_chart, &current_config, &supplied)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Json::Object(reused.config),
            json!({"replicas": 2, "color": "blue", "image": {"pull": "Always"}})
        );
        assert_eq!(
            Json::Object(reused.chart_defaults),
            json!({"replicas": 3, "color": "blue", "image": {"tag": "old"}})
        );
    }

    #[test]
    fn a_null_user_value_deletes_the_default() {
        let chart = Chart {
            values: obj(json!({"a": {"b": 1, "c": 2}, "d": 3})),
            ..Chart::default()
        };
        let user = obj(json!({"a": {"b": null}, "d": null}));
        let out = coalesce_values(&chart, &user).unwrap_or_default();
        assert_eq!(Json::Object(out), json!({"a": {"c": 2}}));
    }

    #[test]
    fn globals_flow_down_to_subcharts() {
        let sub = Chart {
            metadata: crate::chart::Metadata {
                name: "sub".into(),
                ..Default::default()
            },
            values: obj(json!({"global": {"x": 1}, "y": 2})),
            ..Chart::default()
        };
        let chart = Chart {
            values: obj(json!({"global": {"x": 5, "z": 6}})),
            dependencies: vec![sub],
            ..Chart::default()
        };
        let out = coalesce_values(&chart, &Values::new()).unwrap_or_default();
        assert_eq!(out["sub"], json!({"global": {"x": 5, "z": 6}, "y": 2}));
    }
}
