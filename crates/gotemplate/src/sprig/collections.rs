//! sprig's defaults, lists, dicts, integer math, conversions and reflection helpers.

use super::{add, empty, fixed, i, items, s, string, strval, to_float64, to_int64, varargs};
use crate::funcs::{FuncMap, Param};
use crate::value::{Map, Value};

use Param::{Any, Bool, Int, String as Str, StringMap};

pub(super) fn register(m: &mut FuncMap) {
    register_defaults(m);
    register_lists(m);
    register_dicts(m);
    register_math(m);
    register_reflection(m);
}

fn list(items: Vec<Value>) -> Value {
    Value::list(items)
}

fn strings(items: impl IntoIterator<Item = String>) -> Value {
    Value::slice("[]string", items.into_iter().map(Value::String).collect())
}

fn register_defaults(m: &mut FuncMap) {
    add(
        m,
        "default",
        varargs(&[Any], Any, |a| {
            Ok(match a.get(1) {
                Some(given) if !empty(given) => given.clone(),
                _ => a[0].clone(),
            })
        }),
    );
    add(m, "empty", fixed(&[Any], |a| Ok(Value::Bool(empty(&a[0])))));
    add(
        m,
        "coalesce",
        varargs(&[], Any, |a| {
            Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
        }),
    );
    add(
        m,
        "all",
        varargs(&[], Any, |a| Ok(Value::Bool(a.iter().all(|v| !empty(v))))),
    );
    add(
        m,
        "any",
        varargs(&[], Any, |a| Ok(Value::Bool(a.iter().any(|v| !empty(v))))),
    );
    add(
        m,
        "ternary",
        fixed(&[Any, Any, Bool], |a| {
            Ok(if a[2].is_true() {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
    );
    add(m, "fail", fixed(&[Str], |a| Err(s(&a[0]).to_owned())));
}

/// A sprig list function over a slice argument; other kinds fail with `Cannot <what> on type K`.
fn on_list(
    what: &'static str,
    f: impl Fn(&[Value]) -> Value + Send + Sync + 'static,
) -> crate::funcs::Func {
    fixed(&[Any], move |a| {
        items(&a[0])
            .map(&f)
            .map_err(|k| format!("Cannot {what} on type {k}"))
    })
}

fn register_lists(m: &mut FuncMap) {
    for name in ["list", "tuple"] {
        add(m, name, varargs(&[], Any, |a| Ok(list(a.to_vec()))));
    }
    add(
        m,
        "first",
        on_list("find first", |l| l.first().cloned().unwrap_or(Value::Nil)),
    );
    add(
        m,
        "last",
        on_list("find last", |l| l.last().cloned().unwrap_or(Value::Nil)),
    );
    add(
        m,
        "rest",
        on_list("find rest", |l| {
            if l.is_empty() {
                Value::Nil
            } else {
                list(l[1..].to_vec())
            }
        }),
    );
    add(
        m,
        "initial",
        on_list("find initial", |l| {
            if l.is_empty() {
                Value::Nil
            } else {
                list(l[..l.len() - 1].to_vec())
            }
        }),
    );
    add(
        m,
        "reverse",
        on_list("find reverse", |l| list(l.iter().rev().cloned().collect())),
    );
    add(
        m,
        "compact",
        on_list("compact", |l| {
            list(l.iter().filter(|v| !empty(v)).cloned().collect())
        }),
    );
    add(
        m,
        "uniq",
        on_list("find uniq", |l| {
            let mut out: Vec<Value> = Vec::new();
            for v in l {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            list(out)
        }),
    );
    add(
        m,
        "has",
        fixed(&[Any, Any], |a| match &a[1] {
            Value::Nil | Value::Invalid => Ok(Value::Bool(false)),
            v => items(v)
                .map(|l| Value::Bool(l.contains(&a[0])))
                .map_err(|k| format!("Cannot find has on type {k}")),
        }),
    );
    add(
        m,
        "without",
        varargs(&[Any], Any, |a| {
            items(&a[0])
                .map(|l| list(l.iter().filter(|v| !a[1..].contains(v)).cloned().collect()))
                .map_err(|k| format!("Cannot find without on type {k}"))
        }),
    );
    for name in ["append", "push"] {
        add(
            m,
            name,
            fixed(&[Any, Any], |a| {
                items(&a[0])
                    .map(|l| list(l.iter().chain([&a[1]]).cloned().collect()))
                    .map_err(|k| format!("Cannot push on type {k}"))
            }),
        );
    }
    add(
        m,
        "prepend",
        fixed(&[Any, Any], |a| {
            items(&a[0])
                .map(|l| list([&a[1]].into_iter().chain(l).cloned().collect()))
                .map_err(|k| format!("Cannot prepend on type {k}"))
        }),
    );
    add(
        m,
        "concat",
        varargs(&[], Any, |a| {
            let mut out = Vec::new();
            for v in a {
                out.extend(
                    items(v)
                        .map_err(|k| format!("Cannot concat type {k} as list"))?
                        .iter()
                        .cloned(),
                );
            }
            Ok(if out.is_empty() {
                Value::Nil
            } else {
                list(out)
            })
        }),
    );
    add(
        m,
        "slice",
        varargs(&[Any], Any, |a| sprig_slice(&a[0], &a[1..])),
    );
    add(
        m,
        "sortAlpha",
        fixed(&[Any], |a| {
            Ok(match &a[0] {
                Value::Slice(_) => {
                    let mut v = to_strings(&a[0]);
                    v.sort();
                    strings(v)
                }
                v => strings([strval(v)]),
            })
        }),
    );
    add(
        m,
        "until",
        fixed(&[Int], |a| {
            until_step(0, i(&a[0]), if i(&a[0]) < 0 { -1 } else { 1 })
        }),
    );
    add(
        m,
        "untilStep",
        fixed(&[Int, Int, Int], |a| {
            until_step(i(&a[0]), i(&a[1]), i(&a[2]))
        }),
    );
    add(
        m,
        "join",
        fixed(&[Str, Any], |a| string(to_strings(&a[1]).join(s(&a[0])))),
    );
    add(
        m,
        "splitList",
        fixed(&[Str, Str], |a| {
            Ok(strings(go_split(s(&a[1]), s(&a[0]), -1)))
        }),
    );
    add(
        m,
        "split",
        fixed(&[Str, Str], |a| {
            Ok(indexed_parts(go_split(s(&a[1]), s(&a[0]), -1)))
        }),
    );
    add(
        m,
        "splitn",
        fixed(&[Str, Int, Str], |a| {
            Ok(indexed_parts(go_split(s(&a[2]), s(&a[0]), i(&a[1]))))
        }),
    );
    add(
        m,
        "toStrings",
        fixed(&[Any], |a| Ok(strings(to_strings(&a[0])))),
    );
}

/// sprig's `slice` (which replaces text/template's builtin in Flux's function map).
fn sprig_slice(v: &Value, indices: &[Value]) -> Result<Value, String> {
    let Value::Slice(sl) = v else {
        return Err(format!(
            "list should be type of slice or array but {}",
            v.kind_name()
        ));
    };
    if sl.items.is_empty() {
        return Ok(Value::Nil);
    }
    let len = sl.items.len() as i64;
    let start = indices.first().map_or(0, to_int64);
    let end = indices.get(1).map_or(len, to_int64);
    if start < 0 || end < start || end > len {
        return Err("reflect: slice index out of range".to_owned());
    }
    Ok(Value::slice(
        sl.type_name.clone(),
        sl.items[start as usize..end as usize].to_vec(),
    ))
}

/// sprig's `strslice`: a list as strings (nils dropped), anything else as one string.
fn to_strings(v: &Value) -> Vec<String> {
    match v {
        Value::Slice(sl) => sl
            .items
            .iter()
            .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
            .map(strval)
            .collect(),
        Value::Nil | Value::Invalid => Vec::new(),
        v => vec![strval(v)],
    }
}

/// `strings.Split` / `strings.SplitN` (n < 0: all; n == 0: none).
fn go_split(text: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        return chars;
    }
    if n < 0 {
        return text.split(sep).map(str::to_owned).collect();
    }
    text.splitn(n as usize, sep).map(str::to_owned).collect()
}

fn indexed_parts(parts: Vec<String>) -> Value {
    let mut map = Map::new("map[string]string", Value::str(""));
    for (n, part) in parts.into_iter().enumerate() {
        map.insert(Value::String(format!("_{n}")), Value::String(part));
    }
    Value::Map(map)
}

/// The longest list `until`/`untilStep` build. Go appends until memory runs out (a chart can
/// take a controller down with `until 10000000000`); a list this long is already far past
/// anything a manifest can use.
pub const MAX_UNTIL_LEN: u64 = 1 << 20;

fn until_step(start: i64, stop: i64, step: i64) -> Result<Value, String> {
    let span = if step > 0 && start < stop {
        (i128::from(stop) - i128::from(start) - 1) / i128::from(step) + 1
    } else if step < 0 && start > stop {
        (i128::from(start) - i128::from(stop) - 1) / -i128::from(step) + 1
    } else {
        0
    };
    if span > i128::from(MAX_UNTIL_LEN) {
        return Err(format!(
            "a list of {span} elements is longer than the limit of {MAX_UNTIL_LEN}"
        ));
    }
    let out = (0..span as i64)
        .map(|k| Value::Int(start + k * step))
        .collect();
    Ok(Value::slice("[]int", out))
}

fn string_map() -> Map {
    Map::new(StringMap.go_type(), Value::Nil)
}

fn register_dicts(m: &mut FuncMap) {
    add(
        m,
        "dict",
        varargs(&[], Any, |a| {
            let mut map = string_map();
            for pair in a.chunks(2) {
                let value = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
                map.insert(Value::String(strval(&pair[0])), value);
            }
            Ok(Value::Map(map))
        }),
    );
    add(
        m,
        "get",
        fixed(&[StringMap, Str], |a| {
            Ok(dict(&a[0])
                .and_then(|d| d.get_str(s(&a[1])))
                .unwrap_or_else(|| Value::str("")))
        }),
    );
    add(
        m,
        "hasKey",
        fixed(&[StringMap, Str], |a| {
            Ok(Value::Bool(
                dict(&a[0]).is_some_and(|d| d.contains_str(s(&a[1]))),
            ))
        }),
    );
    add(
        m,
        "keys",
        varargs(&[], StringMap, |a| {
            let mut keys: Vec<String> = a
                .iter()
                .filter_map(dict)
                .flat_map(|d| d.entries().into_iter().map(|(k, _)| strval(&k)))
                .collect();
            keys.sort();
            Ok(strings(keys))
        }),
    );
    add(
        m,
        "values",
        fixed(&[StringMap], |a| {
            Ok(list(
                dict(&a[0])
                    .map(|d| d.entries().iter().map(|(_, v)| v.clone()).collect())
                    .unwrap_or_default(),
            ))
        }),
    );
    add(
        m,
        "pluck",
        varargs(&[Str], StringMap, |a| {
            Ok(list(
                a[1..]
                    .iter()
                    .filter_map(dict)
                    .filter_map(|d| d.get_str(s(&a[0])))
                    .collect(),
            ))
        }),
    );
}

fn dict(v: &Value) -> Option<&Map> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn register_math(m: &mut FuncMap) {
    let int64 = |f: fn(i64, i64) -> Option<i64>| {
        move |a: &[Value]| {
            f(to_int64(&a[0]), to_int64(&a[1]))
                .map(Value::Int64)
                .ok_or_else(|| "runtime error: integer divide by zero".to_owned())
        }
    };
    add(
        m,
        "add1",
        fixed(&[Any], |a| {
            Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
        }),
    );
    add(
        m,
        "add",
        varargs(&[], Any, |a| {
            Ok(Value::Int64(
                a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
            ))
        }),
    );
    add(
        m,
        "sub",
        fixed(&[Any, Any], int64(|x, y| Some(x.wrapping_sub(y)))),
    );
    add(m, "div", fixed(&[Any, Any], int64(|x, y| x.checked_div(y))));
    add(m, "mod", fixed(&[Any, Any], int64(|x, y| x.checked_rem(y))));
    add(
        m,
        "mul",
        varargs(&[Any], Any, |a| {
            Ok(Value::Int64(
                a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
            ))
        }),
    );
    for name in ["max", "biggest"] {
        add(
            m,
            name,
            varargs(&[Any], Any, |a| {
                Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
            }),
        );
    }
    add(
        m,
        "min",
        varargs(&[Any], Any, |a| {
            Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
        }),
    );
    add(
        m,
        "atoi",
        fixed(&[Str], |a| Ok(Value::Int(s(&a[0]).parse().unwrap_or(0)))),
    );
    add(m, "int", fixed(&[Any], |a| Ok(Value::Int(to_int64(&a[0])))));
    add(
        m,
        "int64",
        fixed(&[Any], |a| Ok(Value::Int64(to_int64(&a[0])))),
    );
    add(
        m,
        "float64",
        fixed(&[Any], |a| Ok(Value::Float(to_float64(&a[0])))),
    );
}

fn register_reflection(m: &mut FuncMap) {
    add(m, "kindOf", fixed(&[Any], |a| string(kind_of(&a[0]))));
    add(m, "typeOf", fixed(&[Any], |a| string(type_of(&a[0]))));
    add(
        m,
        "kindIs",
        fixed(&[Str, Any], |a| Ok(Value::Bool(s(&a[0]) == kind_of(&a[1])))),
    );
    add(
        m,
        "typeIs",
        fixed(&[Str, Any], |a| Ok(Value::Bool(s(&a[0]) == type_of(&a[1])))),
    );
    add(
        m,
        "deepEqual",
        fixed(&[Any, Any], |a| {
            Ok(Value::Bool(
                a[0] == a[1] && a[0].type_name() == a[1].type_name(),
            ))
        }),
    );
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Nil | Value::Invalid => "invalid".into(),
        v => v.kind_name().into(),
    }
}

fn type_of(v: &Value) -> String {
    match v {
        Value::Nil | Value::Invalid => "<nil>".into(),
        v => v.type_name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_lists_stop_at_the_limit_instead_of_exhausting_memory() {
        assert!(until_step(0, 10_000_000_000, 1).is_err());
        assert!(until_step(0, i64::MAX, i64::MAX / 2).is_ok());
        let Ok(Value::Slice(sl)) = until_step(5, -1, -2) else {
            panic!("no list");
        };
        assert_eq!(sl.items, vec![Value::Int(5), Value::Int(3), Value::Int(1)]);
        let Ok(Value::Slice(sl)) = until_step(0, 1 << 20, 1) else {
            panic!("the limit itself is allowed");
        };
        assert_eq!(sl.items.len(), 1 << 20);
    }
}
