//! sprig's dictionary functions that change or search nested maps: `merge`,
//! `mergeOverwrite` (mergo's rules: a key is filled when missing or empty, maps merge
//! recursively), `set`, `unset`, `dig` and `deepCopy`. As in Go, `set`, `unset` and the
//! merges change the map they are given in place.

use super::{add, empty, fixed, s, varargs};
use crate::funcs::{FuncMap, Param};
use crate::value::{Map, Value};

pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, String as Str, StringMap};
    add(
        m,
        "merge",
        varargs(&[StringMap], StringMap, |a| Ok(merge_all(a, false))),
    );
    add(
        m,
        "mustMerge",
        varargs(&[StringMap], StringMap, |a| Ok(merge_all(a, false))),
    );
    add(
        m,
        "mergeOverwrite",
        varargs(&[StringMap], StringMap, |a| Ok(merge_all(a, true))),
    );
    add(
        m,
        "mustMergeOverwrite",
        varargs(&[StringMap], StringMap, |a| Ok(merge_all(a, true))),
    );
    // Go maps are references: `set`, `unset` and `merge` change the map they are given, and
    // every holder of it (a variable, `.Values`) sees the change.
    add(
        m,
        "set",
        fixed(&[StringMap, Str, Any], |a| {
            let d = as_map(&a[0]);
            d.insert_shared(Value::str(s(&a[1])), a[2].clone());
            Ok(Value::Map(d))
        }),
    );
    add(
        m,
        "unset",
        fixed(&[StringMap, Str], |a| {
            let d = as_map(&a[0]);
            d.remove_str_shared(s(&a[1]));
            Ok(Value::Map(d))
        }),
    );
    add(
        m,
        "dig",
        varargs(&[], Any, |a| {
            if a.len() < 3 {
                return Err("dig needs at least three arguments".into());
            }
            // sprig asserts `map[string]interface {}` on the dict and on every step (a named
            // map type such as Helm's common.Values fails the assertion).
            let default = &a[a.len() - 2];
            let mut current = a[a.len() - 1].clone();
            for key in &a[..a.len() - 2] {
                let Value::String(key) = key else {
                    return Err(format!(
                        "interface conversion: interface {{}} is {}, not string",
                        key.type_name()
                    ));
                };
                let next = match &current {
                    Value::Map(m) if m.type_name == StringMap.go_type() => m.get_str(key),
                    other => {
                        return Err(format!(
                            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            other.type_name()
                        ));
                    }
                };
                match next {
                    Some(v) => current = v,
                    None => return Ok(default.clone()),
                }
            }
            Ok(current)
        }),
    );
    add(m, "deepCopy", fixed(&[Any], |a| Ok(a[0].clone())));
    add(m, "mustDeepCopy", fixed(&[Any], |a| Ok(a[0].clone())));
}

fn as_map(v: &Value) -> Map {
    match v {
        Value::Map(m) => m.clone(),
        _ => Map::new(Param::StringMap.go_type(), Value::Nil),
    }
}

fn merge_all(args: &[Value], overwrite: bool) -> Value {
    let dst = as_map(&args[0]);
    for src in &args[1..] {
        if let Value::Map(src) = src {
            merge_into(&dst, src, overwrite);
        }
    }
    Value::Map(dst)
}

/// mergo's `deepMerge` of two `map[string]interface {}`, changing `dst` in place (a source
/// map is taken as is, so it is shared with the destination afterwards, as in Go).
fn merge_into(dst: &Map, src: &Map, overwrite: bool) {
    for (key, sv) in src.entries() {
        if matches!(sv, Value::Nil | Value::Invalid) {
            continue;
        }
        let dv = dst.get(&key);
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            if !dm.same_map(sm) {
                merge_into(dm, sm, overwrite);
            }
            if !dm.is_empty() {
                continue;
            }
        }
        let dst_set = dv.as_ref().is_some_and(|d| !empty(d));
        if dst_set && matches!(sv, Value::Map(_) | Value::Slice(_)) {
            continue;
        }
        if overwrite || !dst_set {
            dst.insert_shared(key, sv);
        }
    }
}
