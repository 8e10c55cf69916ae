//! The functions Helm registers on top of sprig: `include` and `tpl` (which run templates of
//! the set they are called from, with Helm's recursion limit), `required`, `fail`, `toYaml`
//! (Go's `sigs.k8s.io/yaml` output), `fromYaml`, `fromYamlArray`, `toJson`, `fromJson`,
//! `fromJsonArray`, `toToml`, and `lookup` (a [`Lookup`] backend; empty offline).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;
use tether_gotemplate::{Func, FuncMap, Param, TemplateError, Value, quote};

use crate::values::{floats, from_template, object_to_map, to_template};

/// Helm's `recursionMaxNums`: how often one template may be included inside itself.
const RECURSION_MAX: usize = 1000;
/// How deeply `tpl` may nest (Go has no limit and overflows its stack).
const TPL_DEPTH_MAX: usize = 1000;

/// Marks the message of `required` and `fail`, which Helm's error reformatting extracts.
pub(crate) const WARN_START: &str = "HELM_ERR_START";
pub(crate) const WARN_END: &str = "HELM_ERR_END";

/// The cluster behind `lookup`; [`NoCluster`] answers with empty maps, as `helm template`.
pub trait Lookup: Send + Sync {
    /// The object (or list) for `apiVersion`, `kind`, `namespace`, `name`.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Json, String>;
}

/// No cluster: every lookup is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCluster;

impl Lookup for NoCluster {
    fn lookup(&self, _: &str, _: &str, _: &str, _: &str) -> Result<Json, String> {
        Ok(Json::Object(serde_json::Map::new()))
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// `sigs.k8s.io/yaml.Marshal` of JSON, without the final newline.
pub fn json_to_yaml(value: &Json) -> String {
    let text = tether_core::yaml::to_string(value);
    text.strip_suffix('\n').unwrap_or(&text).to_owned()
}

/// go-yaml v3's encoding (indent 2) of JSON, without the final newline: Helm's
/// `toYamlPretty`.
pub fn to_yaml_pretty(value: &Json) -> String {
    let text = tether_core::yaml::to_string_v3_pretty(value);
    text.strip_suffix('\n').unwrap_or(&text).to_owned()
}

fn to_yaml(v: &Value) -> String {
    from_template(v)
        .map(|j| json_to_yaml(&j))
        .unwrap_or_default()
}

/// `sigs.k8s.io/yaml.Unmarshal` of `text` into a map (or, with `want_array`, a slice), as
/// `fromYaml`/`fromYamlArray` and Helm's values loader call it; the error in its words.
pub(crate) fn from_yaml(text: &str, want_array: bool) -> Result<Json, String> {
    let value = tether_core::yaml::from_str_yaml11(text)
        .map_err(|e| crate::yaml_error::converting(&e, text))?;
    let value = floats(value);
    let target = if want_array {
        "[]interface {}"
    } else {
        "map[string]interface {}"
    };
    match (&value, want_array) {
        (Json::Null, false) => Ok(Json::Object(serde_json::Map::new())),
        (Json::Null, true) => Ok(Json::Array(Vec::new())),
        (Json::Object(_), false) | (Json::Array(_), true) => Ok(value),
        (other, _) => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type {target}",
            json_kind(other)
        )),
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn error_map(message: String) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert("Error".into(), Json::String(message));
    Value::Map(object_to_map("map[string]interface {}", &obj))
}

/// Helm's function map: sprig's plus Helm's own, `lookup` backed by `cluster`.
pub fn helm_funcs(cluster: Arc<dyn Lookup>) -> FuncMap {
    let mut m = tether_gotemplate::sprig::hermetic_funcs();
    crate::sprig_extra::register(&mut m);
    crate::nondeterministic::register(&mut m);
    crate::dates::register(&mut m);
    crate::crypto::register(&mut m);
    let mut add = |name: &str, f: Func| {
        m.insert(name.to_owned(), f);
    };
    add(
        "toYaml",
        Func::new(&[Param::Any], |a| Ok(Value::String(to_yaml(&a[0])))),
    );
    add(
        "mustToYaml",
        Func::new(&[Param::Any], |a| {
            from_template(&a[0])
                .map(|j| Value::String(json_to_yaml(&j)))
                .ok_or_else(|| "json: unsupported value: NaN".to_owned())
        }),
    );
    add(
        "toYamlPretty",
        Func::new(&[Param::Any], |a| {
            Ok(Value::String(
                from_template(&a[0])
                    .map(|j| to_yaml_pretty(&j))
                    .unwrap_or_default(),
            ))
        }),
    );
    add(
        "fromToml",
        Func::new(&[Param::String], |a| {
            Ok(crate::toml::from_toml(&s(&a[0])).unwrap_or_else(error_map))
        }),
    );
    add(
        "mustToToml",
        Func::new(&[Param::Any], |a| {
            from_template(&a[0])
                .map(|j| Value::String(crate::toml::to_toml(&j)))
                .ok_or_else(|| "toml: cannot encode a NaN or infinite float".to_owned())
        }),
    );
    add(
        "fromYaml",
        Func::new(&[Param::String], |a| {
            Ok(match from_yaml(&s(&a[0]), false) {
                Ok(v) => to_template(&v),
                Err(e) => error_map(e),
            })
        }),
    );
    add(
        "fromYamlArray",
        Func::new(&[Param::String], |a| {
            Ok(match from_yaml(&s(&a[0]), true) {
                Ok(v) => to_template(&v),
                Err(e) => Value::list(vec![Value::String(e)]),
            })
        }),
    );
    add(
        "fromJson",
        Func::new(&[Param::String], |a| {
            Ok(match serde_json::from_str::<Json>(&s(&a[0])) {
                Ok(Json::Object(obj)) => to_template(&floats(Json::Object(obj))),
                Ok(other) => error_map(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&other)
                )),
                Err(e) => error_map(e.to_string()),
            })
        }),
    );
    add(
        "mustFromJson",
        Func::new(&[Param::String], |a| {
            let text = s(&a[0]);
            crate::schema::json::decode(text.as_bytes())?;
            serde_json::from_str::<Json>(&text)
                .map(|v| to_template(&floats(v)))
                .map_err(|e| e.to_string())
        }),
    );
    add(
        "fromJsonArray",
        Func::new(&[Param::String], |a| {
            Ok(match serde_json::from_str::<Json>(&s(&a[0])) {
                Ok(Json::Array(items)) => to_template(&floats(Json::Array(items))),
                Ok(other) => Value::list(vec![Value::String(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&other)
                ))]),
                Err(e) => Value::list(vec![Value::String(e.to_string())]),
            })
        }),
    );
    add(
        "toToml",
        Func::new(&[Param::Any], |a| {
            Ok(Value::String(
                from_template(&a[0])
                    .map(|j| crate::toml::to_toml(&j))
                    .unwrap_or_default(),
            ))
        }),
    );
    add(
        "required",
        Func::new(&[Param::String, Param::Any], |a| match &a[1] {
            Value::Nil | Value::Invalid => Err(format!("{WARN_START}{}{WARN_END}", s(&a[0]))),
            Value::String(x) if x.is_empty() => Err(format!("{WARN_START}{}{WARN_END}", s(&a[0]))),
            v => Ok(v.clone()),
        }),
    );
    add(
        "fail",
        Func::new(&[Param::String], |a| {
            Err(format!("{WARN_START}{}{WARN_END}", s(&a[0])))
        }),
    );
    add(
        "getHostByName",
        Func::new(&[Param::String], |_| Ok(Value::str(""))),
    );
    add(
        "lookup",
        Func::new(
            &[Param::String, Param::String, Param::String, Param::String],
            move |a| {
                let found = cluster.lookup(&s(&a[0]), &s(&a[1]), &s(&a[2]), &s(&a[3]))?;
                Ok(match found {
                    Json::Object(obj) => Value::Map(object_to_map("map[string]interface {}", &obj)),
                    other => to_template(&other),
                })
            },
        ),
    );
    let included: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    add(
        "include",
        Func::with_runtime(&[Param::String, Param::Any], move |rt, a| {
            let name = s(&a[0]);
            {
                let mut counts = included
                    .lock()
                    .map_err(|_| "include: poisoned".to_owned())?;
                let count = counts.entry(name.clone()).or_insert(0);
                if *count > RECURSION_MAX {
                    return Err(format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    ));
                }
                *count += 1;
            }
            let result = rt.execute_template(&name, &a[1]);
            if let Ok(mut counts) = included.lock()
                && let Some(count) = counts.get_mut(&name)
            {
                *count = count.saturating_sub(1);
            }
            result.map(Value::String)
        }),
    );
    let depth: Arc<Mutex<usize>> = Arc::default();
    add(
        "tpl",
        Func::with_runtime(&[Param::String, Param::Any], move |rt, a| {
            let text = s(&a[0]);
            {
                let mut d = depth.lock().map_err(|_| "tpl: poisoned".to_owned())?;
                if *d >= TPL_DEPTH_MAX {
                    return Err(format!("tpl nested more than {TPL_DEPTH_MAX} levels deep"));
                }
                *d += 1;
            }
            let result = rt.parse_and_execute("gotpl", &text, &a[1]);
            if let Ok(mut d) = depth.lock() {
                *d = d.saturating_sub(1);
            }
            match result {
                Ok(out) => Ok(Value::String(out.replace("<no value>", ""))),
                Err(TemplateError::Parse(e)) => {
                    Err(format!("cannot parse template {}: {e}", quote(&text)))
                }
                Err(TemplateError::Exec(e)) => Err(format!(
                    "error during tpl function execution for {}: {e}",
                    quote(&text)
                )),
            }
        }),
    );
    m
}
