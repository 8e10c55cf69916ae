//! The string operators of fluxcd/pkg/envsubst, applied to a variable's value.
//!
//! Offsets and lengths count bytes (Go's `len` and slicing), not characters; a slice that splits
//! a multi-byte character yields U+FFFD where Go would carry on with invalid UTF-8.

use super::ExpandError;
use super::pattern;

/// Whether the operator supplies its own value for an unset variable, which exempts it from
/// strict mode's "variable not set" error.
pub(crate) fn is_default_operator(op: &str) -> bool {
    matches!(op, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

/// Applies operator `op` with its evaluated `args` to `value`.
pub(crate) fn apply(op: &str, value: &str, args: &[String]) -> Result<String, ExpandError> {
    let out = match op {
        "," => map_first(value, char::to_lowercase),
        ",," => value.chars().flat_map(char::to_lowercase).collect(),
        "^" => map_first(value, char::to_uppercase),
        "^^" => value.chars().flat_map(char::to_uppercase).collect(),
        "#" if args.is_empty() => value.len().to_string(),
        "#" => trim_prefix(value, args, Longest::No),
        "##" => trim_prefix(value, args, Longest::Yes),
        "%" => trim_suffix(value, args, Longest::No),
        "%%" => trim_suffix(value, args, Longest::Yes),
        ":" => return substring(value, args),
        "/#" => replace_prefix(value, args),
        "/%" => replace_suffix(value, args),
        "/" => replace(value, args, Some(1)),
        "//" => replace(value, args, None),
        _ => or_default(value, args),
    };
    Ok(out)
}

/// Maps the first character with a simple (one-to-one) case mapping, as Go's `unicode.ToUpper`.
fn map_first<I: Iterator<Item = char>>(value: &str, map: fn(char) -> I) -> String {
    let mut chars = value.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut mapped: Vec<char> = map(first).collect();
    if mapped.len() != 1 {
        mapped = vec![first];
    }
    mapped.into_iter().chain(chars).collect()
}

/// `${var:-x}` and every operator the library does not know: the value, or when it is empty the
/// arguments joined.
fn or_default(value: &str, args: &[String]) -> String {
    if value.is_empty() && !args.is_empty() {
        args.concat()
    } else {
        value.to_owned()
    }
}

/// `${var:offset}` and `${var:offset:length}`, bash-like but in bytes. A position or length that
/// is not an integer leaves the value unchanged.
fn substring(value: &str, args: &[String]) -> Result<String, ExpandError> {
    let bytes = value.as_bytes();
    let len = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let Some(Ok(mut pos)) = args.first().map(|a| a.parse::<i64>()) else {
        return Ok(value.to_owned());
    };
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let tail = |pos: i64| -> String {
        let start = usize::try_from(pos).unwrap_or(usize::MAX);
        bytes
            .get(start..)
            .map(|rest| String::from_utf8_lossy(rest).into_owned())
            .unwrap_or_default()
    };
    let Some(length) = args.get(1) else {
        return Ok(tail(pos));
    };
    let Ok(length) = length.parse::<i64>() else {
        return Ok(value.to_owned());
    };
    let end = pos.saturating_add(length);
    if end >= len {
        return Ok(tail(pos));
    }
    // Go slices value[pos:end] here and panics when end < pos (a negative length).
    let (Ok(start), Ok(end)) = (usize::try_from(pos), usize::try_from(end)) else {
        return Err(ExpandError::SubstringRange { pos, length });
    };
    match bytes.get(start..end) {
        Some(slice) => Ok(String::from_utf8_lossy(slice).into_owned()),
        None => Err(ExpandError::SubstringRange { pos, length }),
    }
}

/// `${var/a/b}` (first) and `${var//a/b}` (all); a missing replacement deletes.
fn replace(value: &str, args: &[String], count: Option<usize>) -> String {
    let Some(from) = args.first() else {
        return value.to_owned();
    };
    let to = args.get(1).map_or("", String::as_str);
    match count {
        Some(n) => value.replacen(from.as_str(), to, n),
        None => value.replace(from.as_str(), to),
    }
}

/// `${var/#a/b}`: replaces a leading `a`; needs both arguments, else the value is unchanged.
fn replace_prefix(value: &str, args: &[String]) -> String {
    match args {
        [from, to] if value.starts_with(from.as_str()) => format!("{to}{}", &value[from.len()..]),
        _ => value.to_owned(),
    }
}

/// `${var/%a/b}`: replaces a trailing `a`; needs both arguments, else the value is unchanged.
fn replace_suffix(value: &str, args: &[String]) -> String {
    match args {
        [from, to] if value.ends_with(from.as_str()) => {
            format!("{}{to}", &value[..value.len() - from.len()])
        }
        _ => value.to_owned(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Longest {
    Yes,
    No,
}

fn trim_prefix(value: &str, args: &[String], longest: Longest) -> String {
    match args.first() {
        Some(pattern) => trim_matching_prefix(value.as_bytes(), pattern.as_bytes(), longest),
        None => value.to_owned(),
    }
}

/// Suffix trimming is prefix trimming of the reversed value with the reversed pattern (which
/// turns `*.` into `.*`, and garbles classes, as the Go code does).
fn trim_suffix(value: &str, args: &[String], longest: Longest) -> String {
    let Some(pattern) = args.first() else {
        return value.to_owned();
    };
    let reversed = reverse(value);
    let trimmed = trim_matching_prefix(reversed.as_bytes(), reverse(pattern).as_bytes(), longest);
    reverse(&trimmed)
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

/// Removes the shortest or longest non-empty prefix of `s` matching `pattern`; a malformed
/// pattern leaves `s` unchanged.
fn trim_matching_prefix(s: &[u8], pattern: &[u8], longest: Longest) -> String {
    let mut cut = None;
    for end in (1..=s.len()).rev() {
        match pattern::matches(pattern, &s[..end]) {
            Err(_) => return String::from_utf8_lossy(s).into_owned(),
            Ok(true) => {
                cut = Some(end);
                if longest == Longest::Yes {
                    break;
                }
            }
            Ok(false) => {}
        }
    }
    let start = cut.unwrap_or(0);
    String::from_utf8_lossy(&s[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: &str, value: &str, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        apply(op, value, &args).expect("test input")
    }

    #[test]
    fn operators() {
        let cases: &[(&str, &str, &[&str], &str)] = &[
            ("", "abc", &[], "abc"),
            ("#", "héllo", &[], "6"),
            ("^", "abc", &[], "Abc"),
            ("^", "ßa", &[], "ßa"),
            ("^^", "abc", &[], "ABC"),
            (",", "ABC", &[], "aBC"),
            (",,", "ABC", &[], "abc"),
            (":", "abcdef", &["2"], "cdef"),
            (":", "abcdef", &["-2"], "ef"),
            (":", "abcdef", &["-10"], "abcdef"),
            (":", "abcdef", &["10"], ""),
            (":", "abcdef", &["1", "2"], "bc"),
            (":", "abcdef", &["1", "10"], "bcdef"),
            (":", "abcdef", &["x"], "abcdef"),
            (":", "abcdef", &["1", "x"], "abcdef"),
            (":", "abcdef", &[" 1"], "abcdef"),
            ("#", "a.b.c", &["*."], "b.c"),
            ("##", "a.b.c", &["*."], "c"),
            ("%", "a.b.c", &[".*"], "a.b"),
            ("%%", "a.b.c", &[".*"], "a"),
            ("#", "abc", &["[a"], "abc"),
            ("#", "abc", &["x"], "abc"),
            ("/", "aXbXc", &["X", "-"], "a-bXc"),
            ("//", "aXbXc", &["X", "-"], "a-b-c"),
            ("//", "aXbXc", &["X"], "abc"),
            ("/", "ab", &["", "-"], "-ab"),
            ("/#", "abcab", &["ab", "X"], "Xcab"),
            ("/#", "abcab", &["ab"], "abcab"),
            ("/%", "abcab", &["ab", "X"], "abcX"),
            ("/%", "abcab", &["b", ""], "abca"),
            (":-", "", &["x", "y"], "xy"),
            (":=", "set", &["x"], "set"),
            ("=", "", &[], ""),
            (",^", "abc", &[], "abc"),
        ];
        for (op, value, args, want) in cases {
            assert_eq!(
                run(op, value, args),
                *want,
                "op {op:?} on {value:?} {args:?}"
            );
        }
    }

    #[test]
    fn negative_length_is_an_error_not_a_panic() {
        let args = vec!["1".to_owned(), "-1".to_owned()];
        assert_eq!(
            apply(":", "abcdef", &args),
            Err(ExpandError::SubstringRange { pos: 1, length: -1 })
        );
    }

    #[test]
    fn byte_offsets_split_characters_lossily() {
        assert_eq!(run(":", "é", &["1"]), "\u{FFFD}");
    }
}
