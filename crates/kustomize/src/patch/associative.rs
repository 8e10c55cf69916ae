//! kyaml's merge of a keyed list (`containers` by `name`, or several fields from
//! `x-kubernetes-list-map-keys`, e.g. Service ports by `port` and `protocol`), step by step as
//! `setAssociativeSequenceElements` does it, quirks included (elements without a key):
//! key values are collected patch first, values that differ only where one side lacks a key are
//! unified (a port without `protocol` matches the same port with one), each element is merged
//! with its counterpart, and the target's elements are then moved after the patch's new ones.

use serde_json::{Map, Value};

use crate::error::Result;

/// Merges one target element with its patch element (either may be missing); `None` when the
/// element is deleted.
pub type MergeElement<'a> = dyn FnMut(Option<&Value>, Option<&Value>) -> Result<Option<Value>> + 'a;

/// Merges `patch` into `dest` by `keys`; `merge` merges each element pair.
pub fn merge_by_keys(
    dest: &[Value],
    patch: &[Value],
    keys: &[String],
    merge: &mut MergeElement<'_>,
) -> Result<Value> {
    let mut values_list: Vec<Vec<String>> = Vec::new();
    for item in patch.iter().chain(dest) {
        let values = key_values(item, keys);
        if !values_list.contains(&values) {
            values_list.push(values);
        }
    }
    if keys.len() > 1 {
        unify_values(&mut values_list);
    }
    let mut dest: Vec<Value> = dest.to_vec();
    let mut added: Vec<Value> = Vec::new();
    let mut last_keys: Vec<String> = keys.to_vec();
    for values in &values_list {
        let (valid_keys, valid_values) = valid_keys(values_list.as_slice(), values, keys);
        let (match_keys, match_values) = valid_keys_of_one(&valid_values, &valid_keys);
        let d = first_match(&dest, &match_keys, &match_values);
        let p = first_match(patch, &match_keys, &match_values).map(|i| &patch[i]);
        let merged = merge(d.map(|i| &dest[i]), p)?;
        last_keys.clone_from(&valid_keys);
        let Some(mut val) = merged.filter(|v| !is_empty_map(v)) else {
            set_element(&mut dest, None, &valid_keys, &valid_values);
            continue;
        };
        for (key, value) in valid_keys.iter().zip(&valid_values) {
            if let Some(m) = val.as_object_mut()
                && !m.contains_key(key)
                && !value.is_empty()
            {
                m.insert(key.clone(), plain_scalar(value));
            }
        }
        if let Some(i) = d {
            dest[i] = val.clone();
        }
        set_element(&mut added, Some(val), &valid_keys, &valid_values);
    }
    if !values_list.is_empty() {
        append_list(&mut added, &dest, &last_keys);
    }
    Ok(Value::Array(added))
}

/// `ElementValuesList`: each key's scalar text, empty when the field is missing or empty.
fn key_values(item: &Value, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| match item.get(k) {
            None | Some(Value::Null) => String::new(),
            Some(v) => scalar_text(v),
        })
        .collect()
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => String::new(),
        other => tether_core::yaml::to_compact_string(other),
    }
}

/// A scalar kyaml writes untagged (so `53` prints as a number).
fn plain_scalar(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(text.to_string()),
    }
}

/// `mergeValues`: two value lists match when they share an equal position and differ only
/// where one is empty; both then take the union.
fn unify_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        for j in 0..list.len() {
            if let Some(merged) = matching(&list[i], &list[j]) {
                list[i].clone_from(&merged);
                list[j] = merged;
            }
        }
    }
}

fn matching(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if x.is_empty() {
            out.push(y.clone());
        } else {
            out.push(x.clone());
        }
    }
    common.then_some(out)
}

/// `validateKeys`: the keys some value list fills, with this list's values for them.
fn valid_keys(
    all: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let used: Vec<bool> = (0..keys.len())
        .map(|i| all.iter().any(|v| v.get(i).is_some_and(|s| !s.is_empty())))
        .collect();
    if !used.iter().any(|u| *u) {
        return (keys.to_vec(), values.to_vec());
    }
    let kept_keys = keys
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(k, _)| k.clone())
        .collect();
    let kept_values = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || used.get(*i).copied().unwrap_or(false))
        .map(|(_, v)| v.clone())
        .collect();
    (kept_keys, kept_values)
}

fn valid_keys_of_one(values: &[String], keys: &[String]) -> (Vec<String>, Vec<String>) {
    valid_keys(&[values.to_vec()], values, keys)
}

/// `ElementMatcher`: the first mapping whose fields equal every value.
fn first_match(items: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    if keys.len() != values.len() {
        return None;
    }
    items.iter().position(|item| {
        item.as_object().is_some_and(|m| {
            keys.iter()
                .zip(values)
                .all(|(k, v)| m.get(k).is_some_and(|f| field_text(f) == *v))
        })
    })
}

/// The text kyaml compares a field by (a null field reads as `null`).
fn field_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        other => scalar_text(other),
    }
}

/// `FieldMatcher` with a string value: an empty value matches any element having the field.
fn field_matches(item: &Map<String, Value>, key: &str, value: &str) -> bool {
    item.get(key)
        .is_some_and(|f| value.is_empty() || field_text(f) == value)
}

fn is_empty_map(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

/// `ElementSetter`: drops null and empty elements, replaces every element matching the
/// key values with `element` (removes them when it is `None`), or appends it.
fn set_element(items: &mut Vec<Value>, element: Option<Value>, keys: &[String], values: &[String]) {
    let mut out = Vec::with_capacity(items.len() + 1);
    let mut found_any = false;
    for item in items.drain(..) {
        if item.is_null() || is_empty_map(&item) {
            continue;
        }
        let Some(map) = item.as_object() else {
            out.push(item);
            continue;
        };
        let mut matched = false;
        for (j, key) in keys.iter().enumerate() {
            if let Some(value) = values.get(j) {
                matched = field_matches(map, key, value);
            }
            if !matched {
                break;
            }
        }
        if !matched {
            if !values.is_empty() {
                out.push(item);
            }
            continue;
        }
        found_any = true;
        if let Some(e) = &element {
            out.push(e.clone());
        }
    }
    if let Some(e) = element
        && !found_any
    {
        out.push(e);
    }
    *items = out;
}

/// `appendListNode`: each target element is set again into the merged list by the keys in
/// force at the end (the keys some element fills).
fn append_list(added: &mut Vec<Value>, dest: &[Value], keys: &[String]) {
    for elem in dest {
        let mut values = Vec::new();
        for key in keys {
            match elem.get(key) {
                None => added.push(elem.clone()),
                Some(v) => values.push(field_text(v)),
            }
        }
        // With one key left the element is replaced where it is; with several it is removed
        // first, so it lands at the end.
        if keys.len() > 1 {
            set_element(added, None, keys, &values);
        }
        set_element(added, Some(elem.clone()), keys, &values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(dest: Value, patch: Value) -> Option<Value> {
        let keys = vec!["port".to_string(), "protocol".to_string()];
        let as_list = |v: Value| v.as_array().cloned().unwrap_or_default();
        merge_by_keys(&as_list(dest), &as_list(patch), &keys, &mut |d, p| {
            Ok(match (d, p) {
                (Some(d), Some(p)) => {
                    let mut out = d.as_object().cloned().unwrap_or_default();
                    for (k, v) in p.as_object().into_iter().flatten() {
                        out.insert(k.clone(), v.clone());
                    }
                    Some(Value::Object(out))
                }
                (d, p) => p.or(d).cloned(),
            })
        })
        .ok()
    }

    #[test]
    fn a_port_without_protocol_is_unified_with_the_port_with_one() {
        // kyaml unifies the value lists, then finds no patch element with `protocol: TCP`:
        // the patch's fields are lost (kustomize v5.8.1 prints exactly this).
        let out = merged(
            json!([{"port": 80, "protocol": "TCP", "name": "http"}]),
            json!([{"port": 80, "targetPort": 8080}]),
        );
        assert_eq!(
            out,
            Some(json!([{"port": 80, "protocol": "TCP", "name": "http"}]))
        );
    }

    #[test]
    fn same_port_other_protocol_stays_separate_and_new_ones_come_first() {
        let out = merged(
            json!([{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]),
            json!([{"port": 53, "protocol": "TCP", "x": 1}, {"port": 9, "protocol": "TCP"}]),
        );
        assert_eq!(
            out,
            Some(json!([
                {"port": 9, "protocol": "TCP"},
                {"port": 53, "protocol": "UDP"},
                {"port": 53, "protocol": "TCP", "x": 1}
            ]))
        );
    }
}
