//! `.Files`: a chart's non-template files as Helm's `engine.files` type, with its methods
//! `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig` and `AsSecrets`. Only the chart's own
//! files are reachable; there is no path that reads outside the chart.

use std::sync::Arc;

use base64::Engine as _;
use tether_gotemplate::{Func, Map, Methods, Param, Value};

use crate::chart::File;

type Shared = Arc<Vec<(String, Arc<[u8]>)>>;

/// The `.Files` value of a chart.
pub fn files_value(files: &[File]) -> Value {
    let shared: Shared = Arc::new(
        files
            .iter()
            .map(|f| (f.name.clone(), Arc::<[u8]>::from(f.data.as_slice())))
            .collect(),
    );
    files_map(shared)
}

fn arg(a: &[Value], i: usize) -> String {
    match a.get(i) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn files_map(files: Shared) -> Value {
    let mut map = Map::new("engine.files", Value::slice("[]uint8", Vec::new()));
    map.string_keyed = true;
    for (name, data) in files.iter() {
        map.insert(
            Value::String(name.clone()),
            Value::String(String::from_utf8_lossy(data).into_owned()),
        );
    }
    let mut methods = Methods::default();
    let f = files.clone();
    methods.add(
        "Get",
        Func::new(&[Param::String], move |a| {
            Ok(Value::String(
                lookup(&f, &arg(a, 0))
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .unwrap_or_default(),
            ))
        }),
    );
    let f = files.clone();
    methods.add(
        "GetBytes",
        Func::new(&[Param::String], move |a| {
            let bytes = lookup(&f, &arg(a, 0)).unwrap_or_default();
            Ok(Value::slice(
                "[]uint8",
                bytes.iter().map(|b| Value::Int(i64::from(*b))).collect(),
            ))
        }),
    );
    let f = files.clone();
    methods.add(
        "Lines",
        Func::new(&[Param::String], move |a| {
            let data = lookup(&f, &arg(a, 0)).unwrap_or_default();
            if data.is_empty() {
                return Ok(Value::slice("[]string", Vec::new()));
            }
            let text = String::from_utf8_lossy(data);
            let text = text.strip_suffix('\n').unwrap_or(&text);
            Ok(Value::slice(
                "[]string",
                text.split('\n').map(Value::str).collect(),
            ))
        }),
    );
    let f = files.clone();
    methods.add(
        "Glob",
        Func::new(&[Param::String], move |a| {
            let Some(matcher) = glob_regex(&arg(a, 0)) else {
                return Ok(files_map(Arc::new(Vec::new())));
            };
            let subset = f
                .iter()
                .filter(|(name, _)| matcher.is_match(name))
                .cloned()
                .collect();
            Ok(files_map(Arc::new(subset)))
        }),
    );
    let f = files.clone();
    methods.add(
        "AsConfig",
        Func::new(&[], move |_| {
            Ok(Value::String(as_yaml_map(&f, |d| {
                String::from_utf8_lossy(d).into_owned()
            })))
        }),
    );
    let f = files;
    methods.add(
        "AsSecrets",
        Func::new(&[], move |_| {
            Ok(Value::String(as_yaml_map(&f, |d| {
                base64::engine::general_purpose::STANDARD.encode(d)
            })))
        }),
    );
    map.methods = methods;
    Value::Map(map)
}

fn lookup<'a>(files: &'a Shared, name: &str) -> Option<&'a [u8]> {
    files.iter().find(|(n, _)| n == name).map(|(_, d)| &**d)
}

/// `toYaml` of a map from each file's base name to its converted contents.
fn as_yaml_map(files: &Shared, convert: impl Fn(&[u8]) -> String) -> String {
    let mut obj = serde_json::Map::new();
    for (name, data) in files.iter() {
        let base = name.rsplit('/').next().unwrap_or(name).to_owned();
        obj.insert(base, serde_json::Value::String(convert(data)));
    }
    crate::funcs::json_to_yaml(&serde_json::Value::Object(obj))
}

/// A `gobwas/glob` pattern with `/` as separator (what `Files.Glob` compiles) as a regular
/// expression: `**` crosses separators, `*` and `?` do not, `[...]`/`[!...]` classes and
/// `{a,b}` alternatives. `None` for a malformed pattern (Glob then matches nothing).
fn glob_regex(pattern: &str) -> Option<regex::Regex> {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut depth = 0usize;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                re.push_str(".*");
                i += 1;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i..].iter().position(|c| *c == ']')? + i;
                let mut class: String = chars[i + 1..end].iter().collect();
                if let Some(rest) = class.strip_prefix('!') {
                    class = format!("^{rest}");
                }
                re.push('[');
                re.push_str(&class.replace('\\', "\\\\"));
                re.push(']');
                i = end;
            }
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            '\\' => {
                i += 1;
                re.push_str(&regex::escape(&chars.get(i)?.to_string()));
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if depth > 0 {
        return None;
    }
    re.push('$');
    regex::Regex::new(&re).ok()
}
