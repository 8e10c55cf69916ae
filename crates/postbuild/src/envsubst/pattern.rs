//! The glob matcher behind `${var#pattern}` and friends: Go's `path.Match` as modified by
//! fluxcd/pkg/envsubst, where `*` and `?` also match `/` and a trailing `*` matches the rest.
//!
//! It works on bytes because the trim operators try every byte-length prefix of the value,
//! including ones that end inside a multi-byte character, as the Go code does.

/// A malformed pattern (an unterminated class or a trailing `\`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadPattern;

/// Whether `name` matches all of `pattern`.
pub(crate) fn matches(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, BadPattern> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = next_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        let here = match_chunk(chunk, name);
        if let Ok(Some(tail)) = here
            && (tail.is_empty() || !pattern.is_empty())
        {
            name = tail;
            continue;
        }
        here?;
        if star {
            for skip in 0..name.len() {
                match match_chunk(chunk, &name[skip + 1..])? {
                    Some(tail) if pattern.is_empty() && !tail.is_empty() => continue,
                    Some(tail) => {
                        name = tail;
                        continue 'chunks;
                    }
                    None => {}
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the literal run up to the next star outside a class.
fn next_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_class = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

/// Matches a star-free chunk at the start of `s`; returns what is left of `s` on a match.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    while let Some(&first) = chunk.first() {
        if s.is_empty() {
            return Ok(None);
        }
        match first {
            b'[' => {
                let (c, width) = decode(s);
                s = &s[width..];
                let (matched, rest) = match_class(&chunk[1..], c)?;
                chunk = rest;
                if !matched {
                    return Ok(None);
                }
            }
            b'?' => {
                s = &s[decode(s).1..];
                chunk = &chunk[1..];
            }
            _ => {
                let literal = if first == b'\\' {
                    chunk = &chunk[1..];
                    *chunk.first().ok_or(BadPattern)?
                } else {
                    first
                };
                if literal != s[0] {
                    return Ok(None);
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    Ok(Some(s))
}

/// Matches `c` against a class body (after `[`); returns the outcome and the chunk after `]`.
fn match_class(mut chunk: &[u8], c: char) -> Result<(bool, &[u8]), BadPattern> {
    let negated = chunk.first() == Some(&b'^');
    if negated {
        chunk = &chunk[1..];
    }
    let mut matched = false;
    let mut ranges = 0;
    loop {
        if chunk.first() == Some(&b']') && ranges > 0 {
            return Ok((matched != negated, &chunk[1..]));
        }
        let (lo, rest) = class_char(chunk)?;
        chunk = rest;
        let mut hi = lo;
        if chunk.first() == Some(&b'-') {
            (hi, chunk) = class_char(&chunk[1..])?;
        }
        matched |= lo <= c && c <= hi;
        ranges += 1;
    }
}

/// Reads a possibly escaped character of a class; it must not end the pattern.
fn class_char(chunk: &[u8]) -> Result<(char, &[u8]), BadPattern> {
    let chunk = match chunk.first() {
        None | Some(b'-' | b']') => return Err(BadPattern),
        Some(b'\\') => &chunk[1..],
        Some(_) => chunk,
    };
    if chunk.is_empty() {
        return Err(BadPattern);
    }
    let (c, width) = decode(chunk);
    if c == char::REPLACEMENT_CHARACTER && width == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[width..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((c, rest))
}

/// Decodes the first character of `s` (non-empty) the way Go's `utf8.DecodeRune` does: an
/// invalid sequence is U+FFFD one byte wide.
pub(crate) fn decode(s: &[u8]) -> (char, usize) {
    let len = match s.first() {
        Some(b) if *b < 0x80 => 1,
        Some(b) if *b >= 0xF0 => 4,
        Some(b) if *b >= 0xE0 => 3,
        _ => 2,
    };
    s.get(..len)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| text.chars().next())
        .map_or((char::REPLACEMENT_CHARACTER, 1), |c| (c, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("*.", "bash.", Ok(true)),
            ("*", "a/b", Ok(true)),
            ("a?c", "a/c", Ok(true)),
            ("a*c", "a/b/c", Ok(true)),
            ("a*c", "a/b/cd", Ok(false)),
            ("[a-c]x", "bx", Ok(true)),
            ("[^a-c]x", "bx", Ok(false)),
            ("[a-c", "b", Err(BadPattern)),
            ("a\\*", "a*", Ok(true)),
            ("a\\", "a", Ok(false)),
            ("a\\", "ab", Err(BadPattern)),
            ("abc", "ab", Ok(false)),
            ("", "", Ok(true)),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(
                matches(pattern.as_bytes(), name.as_bytes()),
                *want,
                "{pattern} ~ {name}"
            );
        }
    }
}
