//! More of sprig's hermetic functions: `pick`, `omit`, `chunk`, `seq`, `ceil`, `floor`,
//! `round`, `toDecimal`, `b32enc`, `b32dec`, `adler32sum`, `hello`, the `os*` path functions
//! (the same as the `path` ones on Linux) and the `must*` forms of list and JSON functions,
//! which fail exactly where their plain forms do (sprig's plain forms panic, and
//! text/template reports a panic as the call's error).

use super::{add, fixed, i, items, s, string, strval, to_float64, varargs};
use crate::funcs::{FuncMap, Param};
use crate::value::{Map, Value};

use Param::{Any, Int, String as Str, StringMap};

pub(crate) fn register(m: &mut FuncMap) {
    add(m, "hello", fixed(&[], |_| string("Hello!")));
    add(
        m,
        "pick",
        varargs(&[StringMap], Str, |a| {
            Ok(Value::Map(select(&a[0], |k| {
                a[1..].iter().any(|x| s(x) == k)
            })))
        }),
    );
    add(
        m,
        "omit",
        varargs(&[StringMap], Str, |a| {
            Ok(Value::Map(select(&a[0], |k| {
                !a[1..].iter().any(|x| s(x) == k)
            })))
        }),
    );
    add(
        m,
        "ceil",
        fixed(&[Any], |a| Ok(Value::Float(to_float64(&a[0]).ceil()))),
    );
    add(
        m,
        "floor",
        fixed(&[Any], |a| Ok(Value::Float(to_float64(&a[0]).floor()))),
    );
    add(
        m,
        "round",
        varargs(&[Any, Int], Param::Float, |a| {
            let on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            let pow = 10f64.powi(i(&a[1]) as i32);
            let digit = pow * to_float64(&a[0]);
            let rounded = if digit.fract() >= on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(rounded / pow))
        }),
    );
    add(
        m,
        "toDecimal",
        fixed(&[Any], |a| {
            let text = crate::printf::sprint(std::slice::from_ref(&a[0]));
            Ok(Value::Int64(i64::from_str_radix(&text, 8).unwrap_or(0)))
        }),
    );
    add(m, "chunk", fixed(&[Int, Any], |a| chunk(i(&a[0]), &a[1])));
    add(
        m,
        "mustChunk",
        fixed(&[Int, Any], |a| chunk(i(&a[0]), &a[1])),
    );
    add(
        m,
        "seq",
        varargs(&[], Int, |a| {
            Ok(Value::String(seq(&a.iter().map(i).collect::<Vec<_>>())))
        }),
    );
    add(
        m,
        "b32enc",
        fixed(&[Str], |a| string(base32_encode(s(&a[0]).as_bytes()))),
    );
    add(
        m,
        "b32dec",
        fixed(&[Str], |a| {
            Ok(Value::String(match base32_decode(s(&a[0])) {
                Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                None => "illegal base32 data at input byte 0".to_owned(),
            }))
        }),
    );
    add(
        m,
        "adler32sum",
        fixed(&[Str], |a| string(adler32(s(&a[0]).as_bytes()).to_string())),
    );
    for (alias, base) in [
        ("osBase", "base"),
        ("osDir", "dir"),
        ("osClean", "clean"),
        ("osExt", "ext"),
        ("osIsAbs", "isAbs"),
        ("mustFirst", "first"),
        ("mustLast", "last"),
        ("mustRest", "rest"),
        ("mustInitial", "initial"),
        ("mustReverse", "reverse"),
        ("mustUniq", "uniq"),
        ("mustCompact", "compact"),
        ("mustWithout", "without"),
        ("mustHas", "has"),
        ("mustAppend", "append"),
        ("mustPrepend", "prepend"),
        ("mustSlice", "slice"),
        ("mustToPrettyJson", "toPrettyJson"),
        ("mustToRawJson", "toRawJson"),
    ] {
        if let Some(f) = m.get(base).cloned() {
            m.insert(alias.to_owned(), f);
        }
    }
}

fn select(dict: &Value, keep: impl Fn(&str) -> bool) -> Map {
    let mut out = Map::new(StringMap.go_type(), Value::Nil);
    if let Value::Map(d) = dict {
        for (k, v) in d.entries() {
            if keep(&strval(&k)) {
                out.insert(k, v);
            }
        }
    }
    out
}

fn chunk(size: i64, list: &Value) -> Result<Value, String> {
    let items = items(list).map_err(|kind| format!("Cannot chunk type {kind}"))?;
    let size = usize::try_from(size).unwrap_or(0).max(1);
    let chunks = items
        .chunks(size)
        .map(|c| Value::slice("[]interface {}", c.to_vec()))
        .collect();
    Ok(Value::slice("[][]interface {}", chunks))
}

fn seq(params: &[i64]) -> String {
    let (start, end, step) = match params {
        [] => return String::new(),
        [end] => (1, *end, if *end < 1 { -1 } else { 1 }),
        [start, end] => (*start, *end, if end < start { -1 } else { 1 }),
        [start, step, end, ..] => {
            if end < start && *step > 0 {
                return String::new();
            }
            (*start, *end, *step)
        }
    };
    let increment = if end < start { -1 } else { 1 };
    let stop = end + increment;
    let mut out = Vec::new();
    let mut v = start;
    if step == 0 {
        return String::new();
    }
    while (step > 0 && v < stop) || (step < 0 && v > stop) {
        out.push(v.to_string());
        v += step;
    }
    out.join(" ")
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for k in 0..8 {
            if k < chars {
                out.push(B32[((bits >> (35 - 5 * k)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in trimmed.bytes() {
        let v = B32.iter().position(|b| *b == c)? as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}
