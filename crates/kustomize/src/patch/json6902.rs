//! JSON patch (RFC 6902) with the semantics of the evanphx/json-patch library kustomize uses.

use serde_json::Value;

use crate::error::{Error, Result};

/// Applies every operation of `ops` (a JSON array of operation objects) to `doc`.
pub fn apply(doc: &mut Value, ops: &Value) -> Result<()> {
    let Some(ops) = ops.as_array() else {
        return Err(Error::transform("json patch must be a list of operations"));
    };
    for op in ops {
        apply_op(doc, op)?;
    }
    Ok(())
}

/// Applies `ops` to a Kubernetes object. While kustomize builds, every object carries internal
/// annotations, so `metadata.annotations` exists for the patch even when the input has none
/// (`add /metadata/annotations/x` works, `add /metadata/labels/x` does not); a map still empty
/// afterwards disappears with those annotations.
pub fn apply_to_object(doc: &mut Value, ops: &Value) -> Result<()> {
    let added = match doc.get_mut("metadata") {
        Some(Value::Object(meta)) if !meta.contains_key("annotations") => {
            meta.insert("annotations".into(), Value::Object(Default::default()));
            true
        }
        _ => false,
    };
    let result = apply(doc, ops);
    if added && let Some(Value::Object(meta)) = doc.get_mut("metadata") {
        let empty = meta
            .get("annotations")
            .and_then(Value::as_object)
            .is_some_and(|m| m.is_empty());
        if empty {
            meta.remove("annotations");
        }
    }
    result
}

fn field<'a>(op: &'a Value, name: &str) -> Result<&'a str> {
    op.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::transform(format!("json patch operation is missing '{name}'")))
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<()> {
    let kind = field(op, "op")?;
    let path = field(op, "path")?;
    let value = || {
        op.get("value").cloned().ok_or_else(|| {
            Error::transform(format!("{kind} operation does not apply: missing value"))
        })
    };
    let described = |e: Error| match e {
        Error::Transform(m) if m.starts_with("doc is missing") => {
            Error::transform(format!("{kind} operation does not apply: {m}"))
        }
        other => other,
    };
    match kind {
        "add" => add(doc, path, value()?).map_err(described),
        "remove" => remove(doc, path).map(|_| ()).map_err(described),
        "replace" => replace(doc, path, value()?),
        "move" => {
            let from = field(op, "from")?;
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let from = field(op, "from")?;
            let v = get(doc, from)?.clone();
            add(doc, path, v)
        }
        "test" => {
            let expected = value()?;
            if *get(doc, path)? != expected {
                return Err(Error::transform(format!("testing value {path} failed")));
            }
            Ok(())
        }
        other => Err(Error::transform(format!(
            "unexpected json patch operation '{other}'"
        ))),
    }
}

fn split(path: &str) -> Result<Vec<String>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(Error::transform(format!("invalid json pointer '{path}'")));
    };
    Ok(rest
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parent_of<'a>(doc: &'a mut Value, parts: &[String], path: &str) -> Result<&'a mut Value> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| missing(path))?;
    }
    Ok(cur)
}

fn missing(path: &str) -> Error {
    Error::transform(format!("doc is missing path: \"{path}\": missing value"))
}

fn get<'a>(doc: &'a Value, path: &str) -> Result<&'a Value> {
    let mut cur = doc;
    for p in split(path)? {
        cur = match cur {
            Value::Object(m) => m.get(&p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| missing(path))?;
    }
    Ok(cur)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<()> {
    let mut parts = split(path)?;
    let Some(last) = parts.pop() else {
        *doc = value;
        return Ok(());
    };
    match parent_of(doc, &parts, path)? {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i = index(&last, a.len() + 1, path)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

fn index(token: &str, len: usize, path: &str) -> Result<usize> {
    let i: i64 = token
        .parse()
        .map_err(|_| Error::transform(format!("invalid array index in '{path}'")))?;
    let i = if i < 0 { i + len as i64 - 1 } else { i };
    if i < 0 || i as usize >= len {
        return Err(Error::transform(format!(
            "Unable to access invalid index: {token}: invalid index referenced"
        )));
    }
    Ok(i as usize)
}

fn remove(doc: &mut Value, path: &str) -> Result<Value> {
    let mut parts = split(path)?;
    let Some(last) = parts.pop() else {
        return Ok(std::mem::take(doc));
    };
    match parent_of(doc, &parts, path)? {
        Value::Object(m) => m.shift_remove(&last).ok_or_else(|| {
            Error::transform(format!(
                "Unable to remove nonexistent key: {last}: missing value"
            ))
        }),
        Value::Array(a) => {
            let i = index(&last, a.len(), path)?;
            Ok(a.remove(i))
        }
        _ => Err(missing(path)),
    }
}

fn replace(doc: &mut Value, path: &str, value: Value) -> Result<()> {
    let mut parts = split(path)?;
    let Some(last) = parts.pop() else {
        *doc = value;
        return Ok(());
    };
    match parent_of(doc, &parts, path)? {
        // evanphx/json-patch v4 (what kustomize applies) finds a missing key without error,
        // so replacing it adds it.
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(&last, a.len(), path)?;
            a[i] = value;
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_operations() {
        let mut doc = json!({"a": [1, 2], "b": {"c": 1}});
        let ops = json!([
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "replace", "path": "/b/c", "value": 2},
            {"op": "remove", "path": "/a/0"},
            {"op": "copy", "from": "/b", "path": "/d"}
        ]);
        assert!(apply(&mut doc, &ops).is_ok());
        assert_eq!(doc, json!({"a": [2, 3], "b": {"c": 2}, "d": {"c": 2}}));
        assert!(
            apply(
                &mut doc,
                &json!([{"op": "replace", "path": "/a/5", "value": 1}])
            )
            .is_err()
        );
    }

    #[test]
    fn replacing_a_missing_key_adds_it_as_json_patch_v4_does() {
        let mut doc = json!({"spec": {}});
        let ops = json!([{"op": "replace", "path": "/spec/replicas", "value": 7}]);
        assert!(apply(&mut doc, &ops).is_ok());
        assert_eq!(doc, json!({"spec": {"replicas": 7}}));
    }
}
