//! sprig's string functions (argument order as sprig has it, e.g. `contains SUBSTR STR`).

use super::{add, cat, fixed, i, s, string, strval, varargs};
use crate::funcs::{FuncMap, Param};
use crate::printf::quote;
use crate::value::Value;

use Param::{Any, Int, String as Str};

/// The longest string `repeat` builds.
pub const MAX_REPEAT_BYTES: usize = 64 << 20;

pub(super) fn register(m: &mut FuncMap) {
    add(m, "trim", fixed(&[Str], |a| string(s(&a[0]).trim())));
    add(
        m,
        "upper",
        fixed(&[Str], |a| string(s(&a[0]).to_uppercase())),
    );
    add(
        m,
        "lower",
        fixed(&[Str], |a| string(s(&a[0]).to_lowercase())),
    );
    add(m, "title", fixed(&[Str], |a| string(title(s(&a[0])))));
    add(
        m,
        "untitle",
        fixed(&[Str], |a| {
            string(map_words(s(&a[0]), |w| first_mapped(w, char::to_lowercase)))
        }),
    );
    add(
        m,
        "substr",
        fixed(&[Int, Int, Str], |a| substr(i(&a[0]), i(&a[1]), s(&a[2]))),
    );
    add(
        m,
        "repeat",
        fixed(&[Int, Str], |a| {
            let count = usize::try_from(i(&a[0]))
                .map_err(|_| "strings: negative Repeat count".to_owned())?;
            let text = s(&a[1]);
            match text.len().checked_mul(count) {
                None => Err("strings: Repeat output length overflow".to_owned()),
                // Go allocates whatever fits; a bound keeps one template from exhausting memory.
                Some(n) if n > MAX_REPEAT_BYTES => Err(format!(
                    "repeat: {n} bytes of output is more than the limit of {MAX_REPEAT_BYTES}"
                )),
                Some(_) => string(text.repeat(count)),
            }
        }),
    );
    for name in ["trimAll", "trimall"] {
        add(
            m,
            name,
            fixed(&[Str, Str], |a| {
                string(s(&a[1]).trim_matches(|c| s(&a[0]).contains(c)))
            }),
        );
    }
    add(
        m,
        "trimSuffix",
        fixed(&[Str, Str], |a| {
            string(s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])))
        }),
    );
    add(
        m,
        "trimPrefix",
        fixed(&[Str, Str], |a| {
            string(s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])))
        }),
    );
    add(
        m,
        "nospace",
        fixed(&[Str], |a| {
            string(
                s(&a[0])
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>(),
            )
        }),
    );
    add(
        m,
        "initials",
        fixed(&[Str], |a| {
            string(
                s(&a[0])
                    .split_whitespace()
                    .filter_map(|w| w.chars().next())
                    .collect::<String>(),
            )
        }),
    );
    add(m, "swapcase", fixed(&[Str], |a| string(swapcase(s(&a[0])))));
    add(
        m,
        "snakecase",
        fixed(&[Str], |a| string(words(s(&a[0])).join("_").to_lowercase())),
    );
    add(
        m,
        "kebabcase",
        fixed(&[Str], |a| string(words(s(&a[0])).join("-").to_lowercase())),
    );
    add(
        m,
        "camelcase",
        fixed(&[Str], |a| {
            string(
                words(s(&a[0]))
                    .iter()
                    .map(|w| first_mapped(w, char::to_uppercase))
                    .collect::<String>(),
            )
        }),
    );
    add(
        m,
        "trunc",
        fixed(&[Int, Str], |a| string(trunc(i(&a[0]), s(&a[1])))),
    );
    add(
        m,
        "abbrev",
        fixed(&[Int, Str], |a| string(abbrev(i(&a[0]), s(&a[1])))),
    );
    add(
        m,
        "contains",
        fixed(&[Str, Str], |a| {
            Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
        }),
    );
    add(
        m,
        "hasPrefix",
        fixed(&[Str, Str], |a| {
            Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
        }),
    );
    add(
        m,
        "hasSuffix",
        fixed(&[Str, Str], |a| {
            Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
        }),
    );
    add(
        m,
        "quote",
        varargs(&[], Any, |a| string(quoted(a, |v| quote(&strval(v))))),
    );
    add(
        m,
        "squote",
        varargs(&[], Any, |a| {
            string(quoted(a, |v| format!("'{}'", v.to_go_string())))
        }),
    );
    add(m, "cat", varargs(&[], Any, |a| string(cat(a))));
    add(
        m,
        "indent",
        fixed(&[Int, Str], |a| string(indent(i(&a[0]), s(&a[1])))),
    );
    add(
        m,
        "nindent",
        fixed(&[Int, Str], |a| {
            string(format!("\n{}", indent(i(&a[0]), s(&a[1]))))
        }),
    );
    add(
        m,
        "replace",
        fixed(&[Str, Str, Str], |a| {
            string(s(&a[2]).replace(s(&a[0]), s(&a[1])))
        }),
    );
    add(
        m,
        "plural",
        fixed(&[Str, Str, Int], |a| {
            string(if i(&a[2]) == 1 { s(&a[0]) } else { s(&a[1]) })
        }),
    );
    add(m, "toString", fixed(&[Any], |a| string(strval(&a[0]))));
    add(
        m,
        "wrap",
        fixed(&[Int, Str], |a| string(wrap(s(&a[1]), i(&a[0]), "\n"))),
    );
    add(
        m,
        "wrapWith",
        fixed(&[Int, Str, Str], |a| {
            string(wrap(s(&a[2]), i(&a[0]), s(&a[1])))
        }),
    );
}

fn quoted(args: &[Value], f: impl Fn(&Value) -> String) -> String {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
        .map(f)
        .collect();
    parts.join(" ")
}

/// `strings.Title`: upper-cases the first letter of each word.
fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_separator = true;
    for c in text.chars() {
        if prev_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_separator = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        };
    }
    out
}

fn first_mapped<I: Iterator<Item = char>>(word: &str, f: impl Fn(char) -> I) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => f(c).chain(chars).collect(),
        None => String::new(),
    }
}

/// Applies `f` to each whitespace-separated word, keeping the whitespace.
fn map_words(text: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() {
            out.push_str(&f(&word));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.push_str(&f(&word));
    out
}

fn swapcase(text: &str) -> String {
    text.chars()
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_uppercase() {
                Box::new(c.to_lowercase())
            } else if c.is_lowercase() {
                Box::new(c.to_uppercase())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect()
}

/// Words for the case conversions: split at non-alphanumerics, at lower→upper changes, and
/// before the last capital of an acronym followed by lower case (`HTTPServer` → HTTP, Server).
/// An approximation of huandu/xstrings' word splitting, exact for ordinary identifiers.
fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (idx, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = idx.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(idx + 1).copied();
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Byte-offset slicing as Go does; an index inside a character or out of range is a runtime
/// error there, reported here the same way.
fn byte_slice(text: &str, start: usize, end: usize) -> Result<String, String> {
    if end > text.len() {
        return Err(format!(
            "runtime error: slice bounds out of range [:{end}] with length {}",
            text.len()
        ));
    }
    if start > end {
        return Err(format!(
            "runtime error: slice bounds out of range [{start}:{end}]"
        ));
    }
    Ok(String::from_utf8_lossy(&text.as_bytes()[start..end]).into_owned())
}

fn substr(start: i64, end: i64, text: &str) -> Result<Value, String> {
    let len = text.len() as i64;
    let sliced = if start < 0 {
        byte_slice(text, 0, end.max(0) as usize)?
    } else if end < 0 || end > len {
        byte_slice(text, start as usize, text.len())?
    } else {
        byte_slice(text, start as usize, end as usize)?
    };
    string(sliced)
}

fn trunc(c: i64, text: &str) -> String {
    let len = text.len() as i64;
    let bytes = text.as_bytes();
    let cut = if c < 0 && len + c > 0 {
        &bytes[(len + c) as usize..]
    } else if c >= 0 && len > c {
        &bytes[..c as usize]
    } else {
        bytes
    };
    String::from_utf8_lossy(cut).into_owned()
}

/// goutils `Abbreviate(s, width)`: widths under 4 leave the string alone.
fn abbrev(width: i64, text: &str) -> String {
    if width < 4 || text.len() as i64 <= width {
        return text.to_owned();
    }
    format!(
        "{}...",
        String::from_utf8_lossy(&text.as_bytes()[..(width - 3) as usize])
    )
}

fn indent(spaces: i64, text: &str) -> String {
    let pad = " ".repeat(usize::try_from(spaces).unwrap_or(0));
    format!("{pad}{}", text.replace('\n', &format!("\n{pad}")))
}

/// goutils `WrapCustom(s, width, sep, true)`: break lines longer than `width` at spaces (or
/// mid-word when a word is longer).
fn wrap(text: &str, width: i64, sep: &str) -> String {
    let width = usize::try_from(width.max(1)).unwrap_or(1);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let mut rest = line.trim_start_matches(' ');
        let mut pieces = Vec::new();
        while rest.len() > width {
            let window = rest.get(..=width).unwrap_or(rest);
            let cut = window.rfind(' ').filter(|&i| i > 0);
            let (piece, next) = match cut {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => rest.split_at(
                    rest.char_indices()
                        .nth(width)
                        .map_or(rest.len(), |(i, _)| i),
                ),
            };
            pieces.push(piece.to_owned());
            rest = next.trim_start_matches(' ');
        }
        pieces.push(rest.to_owned());
        out.push(pieces.join(sep));
    }
    out.join("\n")
}
