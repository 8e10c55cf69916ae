//! `replacements`: copy a value from one object's field into fields of other objects.

use serde::Deserialize;
use serde_json::Value;

use crate::build::Ctx;
use crate::error::{Error, Result};
use crate::kustfile::Selector;
use crate::patch::select_by_any_id as select;
use crate::resource::Resource;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    #[serde(default)]
    path: String,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    targets: Vec<Target>,
}

/// kustomize's `SourceSelector`: an object id (no label or annotation selectors), the field
/// and its options. Its id fields are spelled out rather than flattened so that names match
/// ignoring case, as in Go.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    field_path: String,
    #[serde(default)]
    options: FieldOptions,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    select: Selector,
    #[serde(default)]
    reject: Vec<Selector>,
    #[serde(default)]
    field_paths: Vec<String>,
    #[serde(default)]
    options: FieldOptions,
}

/// kustomize's `FieldOptions`: with a `delimiter`, the value is split and element `index` is
/// read (source) or written (target; below 0 prepends, past the end appends).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldOptions {
    #[serde(default)]
    delimiter: String,
    #[serde(default)]
    index: i64,
    #[serde(default)]
    create: bool,
}

/// Applies every replacement in order.
pub fn apply_all(ctx: &Ctx<'_>, dir: &str, entries: &[Value], acc: &mut [Resource]) -> Result<()> {
    for entry in entries {
        let r: Replacement = crate::casefold::from_value(entry.clone())
            .map_err(|e| Error::transform(format!("invalid replacement: {e}")))?;
        if !r.path.is_empty() {
            let (path, bytes) = ctx.read_restricted(dir, &r.path)?;
            let docs = tether_core::yaml::from_str_multi(&String::from_utf8_lossy(&bytes))
                .map_err(|source| Error::Yaml {
                    path: ctx.fs.display(&path),
                    source,
                })?;
            for d in docs.into_iter().filter(|d| !d.is_null()) {
                let list = if d.is_array() {
                    d
                } else {
                    Value::Array(vec![d])
                };
                for item in list.as_array().into_iter().flatten() {
                    let r: Replacement = crate::casefold::from_value(item.clone())
                        .map_err(|e| Error::transform(format!("invalid replacement: {e}")))?;
                    apply_one(&r, acc)?;
                }
            }
            continue;
        }
        apply_one(&r, acc)?;
    }
    Ok(())
}

impl Source {
    fn selector(&self) -> Selector {
        Selector {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            ..Selector::default()
        }
    }
}

fn apply_one(r: &Replacement, acc: &mut [Resource]) -> Result<()> {
    let Some(source) = &r.source else {
        return Err(Error::transform("replacement has no source"));
    };
    let selector = source.selector();
    let found = select(acc, &selector)?;
    let idx = match found.as_slice() {
        [i] => *i,
        [] => {
            let sel = &selector;
            let gvk = crate::resource::Gvk {
                group: sel.group.clone(),
                version: sel.version.clone(),
                kind: sel.kind.clone(),
            };
            let id = crate::resource::ResId {
                gvk,
                name: sel.name.clone(),
                namespace: sel.namespace.clone(),
                scoped: false,
            };
            return Err(Error::transform(format!(
                "nothing selected by {id}:{}",
                source.field_path
            )));
        }
        _ => {
            return Err(Error::transform(
                "more than one source selected by the replacement",
            ));
        }
    };
    let path = if source.field_path.is_empty() {
        "metadata.name"
    } else {
        &source.field_path
    };
    let value = get_path(&acc[idx].obj, &split_dotted(path)).ok_or_else(|| {
        Error::transform(format!(
            "fieldPath `{path}` is missing for replacement source {}",
            acc[idx].cur_id()
        ))
    })?;
    let value = source_part(value, &source.options)?;
    for t in &r.targets {
        let mut chosen = select(acc, &t.select)?;
        for rej in &t.reject {
            let rejected = select(acc, rej)?;
            chosen.retain(|i| !rejected.contains(i));
        }
        for i in chosen {
            for fp in &t.field_paths {
                if set_path(&mut acc[i].obj, &split_dotted(fp), &value, &t.options)? == 0 {
                    let find = if t.options.create {
                        "find or create"
                    } else {
                        "find"
                    };
                    return Err(Error::transform(format!(
                        "unable to {find} field \"{fp}\" in replacement target"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Splits `a.b.[name=x].c`, keeping bracketed parts whole.
pub(crate) fn split_dotted(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

fn element_matches(item: &Value, part: &str) -> Option<bool> {
    let inner = part.strip_prefix('[')?.strip_suffix(']')?;
    let (k, v) = inner.split_once('=')?;
    Some(
        item.get(k)
            .map(tether_core::yaml::to_compact_string)
            .as_deref()
            == Some(v),
    )
}

pub(crate) fn get_path(v: &Value, parts: &[String]) -> Option<Value> {
    let Some((head, rest)) = parts.split_first() else {
        return Some(v.clone());
    };
    let next = match v {
        Value::Object(m) => m.get(head)?,
        Value::Array(items) => match head.parse::<usize>() {
            Ok(i) => items.get(i)?,
            Err(_) => items
                .iter()
                .find(|i| element_matches(i, head) == Some(true))?,
        },
        _ => return None,
    };
    get_path(next, rest)
}

/// Writes `value` at `parts`, returning how many fields it wrote (none when the path is
/// missing and `create` is off, or when it crosses a list with no matching element).
fn set_path(
    v: &mut Value,
    parts: &[String],
    value: &Value,
    options: &FieldOptions,
) -> Result<usize> {
    let create = options.create;
    let Some((head, rest)) = parts.split_first() else {
        write_target(v, value, options)?;
        return Ok(1);
    };
    match v {
        Value::Object(m) => {
            if !m.contains_key(head.as_str()) {
                if !create {
                    return Ok(0);
                }
                let fresh = if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Object(Default::default())
                };
                m.insert(head.clone(), fresh);
            }
            match m.get_mut(head.as_str()) {
                Some(next) => set_path(next, rest, value, options),
                None => Ok(0),
            }
        }
        Value::Array(items) => {
            if head == "*" {
                let mut written = 0;
                for item in items.iter_mut() {
                    written += set_path(item, rest, value, options)?;
                }
                return Ok(written);
            }
            let target = match head.parse::<usize>() {
                Ok(i) => items.get_mut(i),
                Err(_) => items
                    .iter_mut()
                    .find(|i| element_matches(i, head) == Some(true)),
            };
            match target {
                Some(next) => set_path(next, rest, value, options),
                None => Ok(0),
            }
        }
        _ => Ok(0),
    }
}

/// The text of a scalar as YAML holds it (`5432` for both `5432` and `"5432"`).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Object(_) | Value::Array(_) => None,
        Value::Null => Some("null".to_string()),
        other => Some(tether_core::yaml::to_compact_string(other)),
    }
}

/// Picks element `index` of the source value split by `delimiter`, when one is given.
fn source_part(value: Value, options: &FieldOptions) -> Result<Value> {
    if options.delimiter.is_empty() {
        return Ok(value);
    }
    let Some(text) = scalar_text(&value) else {
        return Err(Error::transform(
            "delimiter option can only be used with scalar nodes",
        ));
    };
    let parts: Vec<&str> = text.split(options.delimiter.as_str()).collect();
    usize::try_from(options.index)
        .ok()
        .and_then(|i| parts.get(i))
        .map(|p| Value::String((*p).to_string()))
        .ok_or_else(|| {
            Error::transform(format!(
                "options.index {} is out of bounds for value {text}",
                options.index
            ))
        })
}

/// Writes `value` into a target field the way kustomize does: a scalar target keeps its type
/// and takes only the text (so `"5432"` into `replicas: 1` is a number, `5432` into a string
/// field stays a string); a field just created reads the text as a plain scalar; anything else
/// is replaced by the value. A delimiter splices the text into the target's own.
fn write_target(target: &mut Value, value: &Value, options: &FieldOptions) -> Result<()> {
    let mut value = value.clone();
    if !options.delimiter.is_empty() {
        let Some(current) = scalar_text(target).filter(|_| !target.is_null()) else {
            return Err(Error::transform(
                "delimiter option can only be used with scalar nodes",
            ));
        };
        let mut parts: Vec<String> = current
            .split(options.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let text = scalar_text(&value).unwrap_or_default();
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, text),
            Ok(i) if i >= parts.len() => parts.push(text),
            Ok(i) => parts[i] = text,
        }
        value = Value::String(parts.join(&options.delimiter));
    }
    let Some(text) = scalar_text(&value) else {
        *target = value;
        return Ok(());
    };
    *target = match target {
        Value::String(_) => Value::String(text),
        Value::Null => tether_core::yaml::resolve_plain_scalar(&text),
        Value::Number(_) | Value::Bool(_) => match tether_core::yaml::resolve_plain_scalar(&text) {
            typed @ (Value::Number(_) | Value::Bool(_)) => typed,
            _ => Value::String(text),
        },
        _ => value,
    };
    Ok(())
}
