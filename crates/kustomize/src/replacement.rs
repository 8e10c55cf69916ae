//! `replacements`: copy a value from one object's field into fields of other objects.

use serde::Deserialize;
use serde_json::Value;

use crate::build::Ctx;
use crate::error::{Error, Result};
use crate::kustfile::Selector;
use crate::patch::select_by_any_id as select;
use crate::resource::Resource;
use crate::untyped::{self, Step};

/// kustomize's `ReplacementField`: a replacement, or the `path` of a file of them. Unknown
/// fields are refused here and ignored where Go decodes leniently (see [`apply_all`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Replacement {
    #[serde(default)]
    path: String,
    #[serde(default)]
    source: Option<Source>,
    /// A literal source: written as text with no tag, like a created field.
    #[serde(default)]
    source_value: Option<String>,
    /// `None` when absent or `null` (Go's nil slice), which kustomize refuses.
    #[serde(default)]
    targets: Option<Vec<Target>>,
}

/// kustomize's `SourceSelector`: an object id (no label or annotation selectors), the field
/// and its options. Its id fields are spelled out rather than flattened so that names match
/// ignoring case, as in Go.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Target {
    #[serde(default)]
    select: Option<Selector>,
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FieldOptions {
    #[serde(default)]
    delimiter: String,
    #[serde(default)]
    index: i64,
    /// Accepted as kustomize's schema has it; kustomize v5.8.1's filter does not read it.
    #[serde(default)]
    #[allow(dead_code)]
    encoding: String,
    #[serde(default)]
    create: bool,
}

/// Applies every replacement in order. Entries of a kustomization file are decoded strictly
/// (`strict`), as kustomize decodes the whole file; those of a plugin configuration, and every
/// replacement file, go through Go's plain `yaml.Unmarshal`, which ignores unknown fields.
pub fn apply_all(
    ctx: &Ctx<'_>,
    dir: &str,
    entries: &[Value],
    strict: bool,
    acc: &mut [Resource],
) -> Result<()> {
    for entry in entries {
        let decoded = if strict {
            crate::casefold::from_value(entry.clone())
        } else {
            crate::casefold::from_value_lenient(entry.clone())
        };
        let r: Replacement =
            decoded.map_err(|e| Error::transform(format!("invalid replacement: {e}")))?;
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
                    let r: Replacement = crate::casefold::from_value_lenient(item.clone())
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
    let Some(targets) = r
        .targets
        .as_ref()
        .filter(|_| r.source.is_some() || r.source_value.is_some())
    else {
        return Err(Error::transform(
            "replacements must specify a source and at least one target",
        ));
    };
    let value = match (&r.source, &r.source_value) {
        (Some(_), Some(_)) => {
            return Err(Error::transform(
                "value and resource selectors are mutually exclusive",
            ));
        }
        (Some(source), None) => source_value(source, acc)?,
        // A literal (both missing was refused above).
        (None, text) => Replacing::untagged(text.clone().unwrap_or_default()),
    };
    write_targets(targets, &value, acc)
}

/// The value the source selector picks (a part of it, with a delimiter).
fn source_value(source: &Source, acc: &[Resource]) -> Result<Replacing> {
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
        DEFAULT_FIELD_PATH
    } else {
        &source.field_path
    };
    let steps = locate(&acc[idx].obj, &split_dotted(path)).ok_or_else(|| {
        Error::transform(format!(
            "fieldPath `{path}` is missing for replacement source {}",
            acc[idx].cur_id()
        ))
    })?;
    source_part(Replacing::at(&acc[idx], &steps), &source.options)
}

/// kustomize's field path when a source or target names none.
const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// Writes `value` into every field the targets select.
fn write_targets(targets: &[Target], value: &Replacing, acc: &mut [Resource]) -> Result<()> {
    for t in targets {
        let Some(selector) = &t.select else {
            return Err(Error::transform("target must specify resources to select"));
        };
        let field_paths = if t.field_paths.is_empty() {
            vec![DEFAULT_FIELD_PATH.to_string()]
        } else {
            t.field_paths.clone()
        };
        let mut chosen = select(acc, selector)?;
        for rej in &t.reject {
            let rejected = select(acc, rej)?;
            chosen.retain(|i| !rejected.contains(i));
        }
        for i in chosen {
            for fp in &field_paths {
                let target = &mut acc[i];
                let mut fields = Vec::new();
                find_targets(
                    &mut target.obj,
                    &split_dotted(fp),
                    t.options.create,
                    &mut Vec::new(),
                    &mut fields,
                );
                if fields.is_empty() {
                    let find = if t.options.create {
                        "find or create"
                    } else {
                        "find"
                    };
                    return Err(Error::transform(format!(
                        "unable to {find} field \"{fp}\" in replacement target"
                    )));
                }
                for at in fields {
                    let written = write_target(Replacing::at(target, &at), value, &t.options)
                        .map_err(|e| {
                            Error::transform(format!("replacement target {}: {e}", target.cur_id()))
                        })?;
                    if let Some(field) = untyped::value_at_mut(&mut target.obj, &at) {
                        *field = written.value;
                    }
                    untyped::record_write(target, &at, written.untyped);
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

/// The steps to the field `parts` names in `v` (the first list element matching a
/// `[key=value]` part).
fn locate(v: &Value, parts: &[String]) -> Option<Vec<Step>> {
    let mut steps = Vec::with_capacity(parts.len());
    let mut at = v;
    for part in parts {
        let (step, next) = match at {
            Value::Object(m) => (Step::Key(part.clone()), m.get(part)?),
            Value::Array(items) => match part.parse::<usize>() {
                Ok(i) => (Step::Index(i), items.get(i)?),
                Err(_) => items
                    .iter()
                    .enumerate()
                    .find(|(_, item)| element_matches(item, part) == Some(true))
                    .map(|(i, item)| (Step::Index(i), item))?,
            },
            _ => return None,
        };
        steps.push(step);
        at = next;
    }
    Some(steps)
}

pub(crate) fn get_path(v: &Value, parts: &[String]) -> Option<Value> {
    let steps = locate(v, parts)?;
    untyped::value_at(v, &steps).cloned()
}

/// Collects into `found` the steps to every field `parts` names in `v`: `*` is every list
/// element, `[key=value]` the first match. With `create`, missing map fields on the way are
/// made (maps, and `null` for the last); a list with no matching element ends the search.
fn find_targets(
    v: &mut Value,
    parts: &[String],
    create: bool,
    trail: &mut Vec<Step>,
    found: &mut Vec<Vec<Step>>,
) {
    let Some((head, rest)) = parts.split_first() else {
        found.push(trail.clone());
        return;
    };
    match v {
        Value::Object(m) => {
            if !m.contains_key(head.as_str()) {
                if !create {
                    return;
                }
                let fresh = if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Object(Default::default())
                };
                m.insert(head.clone(), fresh);
            }
            if let Some(next) = m.get_mut(head.as_str()) {
                trail.push(Step::Key(head.clone()));
                find_targets(next, rest, create, trail, found);
                trail.pop();
            }
        }
        Value::Array(items) => {
            let chosen: Vec<usize> = if head == "*" {
                (0..items.len()).collect()
            } else {
                match head.parse::<usize>() {
                    Ok(i) if i < items.len() => vec![i],
                    Ok(_) => Vec::new(),
                    Err(_) => items
                        .iter()
                        .position(|i| element_matches(i, head) == Some(true))
                        .into_iter()
                        .collect(),
                }
            };
            for i in chosen {
                trail.push(Step::Index(i));
                find_targets(&mut items[i], rest, create, trail, found);
                trail.pop();
            }
        }
        _ => {}
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

/// The YAML tag go-yaml gives a value in messages.
fn yaml_tag(v: &Value) -> &'static str {
    match v {
        Value::Null => "!!null",
        Value::Bool(_) => "!!bool",
        Value::Number(n) if n.is_f64() => "!!float",
        Value::Number(_) => "!!int",
        Value::String(_) => "!!str",
        Value::Array(_) => "!!seq",
        Value::Object(_) => "!!map",
    }
}

/// A value on its way through a replacement, with its text when kyaml's node for it has no
/// tag (see [`crate::untyped`]).
struct Replacing {
    value: Value,
    untyped: Option<String>,
}

impl Replacing {
    /// The field at `steps` of `r`.
    fn at(r: &Resource, steps: &[Step]) -> Replacing {
        Replacing {
            value: untyped::value_at(&r.obj, steps)
                .cloned()
                .unwrap_or(Value::Null),
            untyped: untyped::text_at(r, steps).map(str::to_string),
        }
    }

    /// The node's text: an untagged scalar's own, otherwise the value's.
    fn text(&self) -> Option<String> {
        match &self.untyped {
            Some(text) => Some(text.clone()),
            None => scalar_text(&self.value),
        }
    }

    /// A scalar with no tag holding `text`.
    fn untagged(text: String) -> Replacing {
        Replacing {
            value: untyped::reading(&text),
            untyped: Some(text),
        }
    }
}

/// Picks element `index` of the source value split by `delimiter`, when one is given. kyaml
/// keeps the source node's tag: a part of an untagged source stays untagged.
fn source_part(found: Replacing, options: &FieldOptions) -> Result<Replacing> {
    if options.delimiter.is_empty() {
        return Ok(found);
    }
    let Some(text) = found.text() else {
        return Err(Error::transform(
            "delimiter option can only be used with scalar nodes",
        ));
    };
    let parts: Vec<&str> = text.split(options.delimiter.as_str()).collect();
    let part = usize::try_from(options.index)
        .ok()
        .and_then(|i| parts.get(i))
        .map(|p| (*p).to_string())
        .ok_or_else(|| {
            Error::transform(format!(
                "options.index {} is out of bounds for value {text}",
                options.index
            ))
        })?;
    Ok(if found.untyped.is_some() {
        Replacing::untagged(part)
    } else {
        Replacing {
            value: Value::String(part),
            untyped: None,
        }
    })
}

/// What a target field holds after the replacement, the way kustomize writes it: a scalar
/// target keeps its type and takes only the text (so `"5432"` into `replicas: 1` is a number,
/// `5432` into a string field stays a string); a field just created, or one still untagged,
/// takes the text with no tag; anything else is replaced by the value, tag and all. A
/// delimiter splices the text into the target's own.
fn write_target(target: Replacing, value: &Replacing, options: &FieldOptions) -> Result<Replacing> {
    let mut text = value.text();
    if !options.delimiter.is_empty() {
        let Some(current) = target.text().filter(|_| !target.value.is_null()) else {
            return Err(Error::transform(
                "delimiter option can only be used with scalar nodes",
            ));
        };
        let mut parts: Vec<String> = current
            .split(options.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let part = text.unwrap_or_default();
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, part),
            Ok(i) if i >= parts.len() => parts.push(part),
            Ok(i) => parts[i] = part,
        }
        text = Some(parts.join(&options.delimiter));
    }
    let Some(text) = text else {
        return Ok(Replacing {
            value: value.value.clone(),
            untyped: None,
        });
    };
    if target.untyped.is_some() || target.value.is_null() {
        return Ok(Replacing::untagged(text));
    }
    let typed = |value: Value| Replacing {
        value,
        untyped: None,
    };
    Ok(match target.value {
        Value::String(_) => typed(Value::String(text)),
        // The node keeps its tag (`!!int`, `!!float`, `!!bool`) and takes the text, which
        // go-yaml must then read as that type (an integer also reads as a float).
        Value::Number(_) | Value::Bool(_) => {
            let read = untyped::reading(&text);
            let fits = match (&target.value, &read) {
                (Value::Number(want), Value::Number(got)) => want.is_f64() || !got.is_f64(),
                (Value::Bool(_), Value::Bool(_)) => true,
                _ => false,
            };
            if !fits {
                return Err(Error::transform(format!(
                    "yaml: cannot decode {} `{text}` as a {}",
                    yaml_tag(&read),
                    yaml_tag(&target.value)
                )));
            }
            typed(read)
        }
        // A map or list target takes the source node itself.
        _ if options.delimiter.is_empty() => Replacing {
            value: value.value.clone(),
            untyped: value.untyped.clone(),
        },
        _ => typed(Value::String(text)),
    })
}
