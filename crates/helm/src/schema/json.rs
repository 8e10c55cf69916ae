//! `values.schema.json` decoded as Go's `encoding/json` decoder with `UseNumber` decodes it
//! (what santhosh-tekuri/jsonschema's `UnmarshalJSON` does): numbers keep their literal text,
//! a repeated object key keeps its last value, invalid UTF-8 becomes U+FFFD, and a syntax
//! error reads as Go's (`invalid character '}' looking for beginning of object key string`).

use std::collections::BTreeMap;

/// A decoded JSON document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Doc {
    Null,
    Bool(bool),
    /// A number, as written.
    Num(String),
    Str(String),
    Arr(Vec<Doc>),
    Obj(BTreeMap<String, Doc>),
}

impl Doc {
    pub(crate) fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Obj(m) => m.get(key),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Doc::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Documents nested deeper than this are refused (Go's decoder allows 10000).
const MAX_DEPTH: usize = 10_000;

/// Decodes `data` as one JSON value followed by nothing but whitespace.
pub(crate) fn decode(data: &[u8]) -> Result<Doc, String> {
    let mut p = Parser { data, pos: 0 };
    p.skip_space();
    if p.pos >= data.len() {
        return Err("EOF".into());
    }
    let doc = p.value(0)?;
    // A number at the top level ends at the first byte that cannot continue it.
    p.skip_space();
    if p.pos < data.len() {
        return Err("invalid character after top-level value".into());
    }
    Ok(doc)
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Go's `quoteChar`.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        c => {
            let q = tether_gotemplate::quote(&char::from(c).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.pos < self.data.len() && is_space(self.data[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Result<u8, String> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or_else(|| "unexpected EOF".to_owned())
    }

    fn value(&mut self, depth: usize) -> Result<Doc, String> {
        if depth > MAX_DEPTH {
            return Err("exceeded max depth".into());
        }
        let c = self.peek()?;
        match c {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(Doc::Str),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", Doc::Bool(true)),
            b'f' => self.literal("false", Doc::Bool(false)),
            b'n' => self.literal("null", Doc::Null),
            c => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, doc: Doc) -> Result<Doc, String> {
        for (i, want) in word.bytes().enumerate() {
            let c = self.peek()?;
            if c != want {
                return Err(invalid(
                    c,
                    &format!(
                        "in literal {word} (expecting {})",
                        quote_char(word.as_bytes()[i])
                    ),
                ));
            }
            self.pos += 1;
        }
        Ok(doc)
    }

    fn number(&mut self) -> Result<Doc, String> {
        let start = self.pos;
        if self.peek()? == b'-' {
            self.pos += 1;
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in numeric literal"));
            }
        }
        if self.peek()? == b'0' {
            self.pos += 1;
        } else {
            while self.data.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        if self.data.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "after decimal point in numeric literal"));
            }
            while self.data.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        if matches!(self.data.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.data.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in exponent of numeric literal"));
            }
            while self.data.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        let text = String::from_utf8_lossy(&self.data[start..self.pos]).into_owned();
        Ok(Doc::Num(text))
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek()?;
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.pos += 1;
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut r = self.hex4()?;
                            if (0xD800..0xDC00).contains(&r)
                                && self.data.get(self.pos) == Some(&b'\\')
                                && self.data.get(self.pos + 1) == Some(&b'u')
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let r2 = self.hex4()?;
                                if (0xDC00..0xE000).contains(&r2) {
                                    r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
                                } else {
                                    self.pos = save;
                                }
                            }
                            let ch = char::from_u32(r).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        e => return Err(invalid(e, "in string escape code")),
                    }
                }
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut r = 0u32;
        for _ in 0..4 {
            let c = self.peek()?;
            let d = char::from(c)
                .to_digit(16)
                .ok_or_else(|| invalid(c, "in \\u hexadecimal character escape"))?;
            r = r * 16 + d;
            self.pos += 1;
        }
        Ok(r)
    }

    fn array(&mut self, depth: usize) -> Result<Doc, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(Doc::Arr(items));
        }
        loop {
            self.skip_space();
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(Doc::Arr(items));
                }
                c => return Err(invalid(c, "after array element")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Doc, String> {
        self.pos += 1;
        let mut map = BTreeMap::new();
        self.skip_space();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(Doc::Obj(map));
        }
        loop {
            self.skip_space();
            let c = self.peek()?;
            if c != b'"' {
                return Err(invalid(c, "looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.skip_space();
            let c = self.peek()?;
            if c != b':' {
                return Err(invalid(c, "after object key"));
            }
            self.pos += 1;
            self.skip_space();
            let value = self.value(depth + 1)?;
            map.insert(key, value);
            self.skip_space();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(Doc::Obj(map));
                }
                c => return Err(invalid(c, "after object key:value pair")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_last_key_wins() {
        let doc = decode(br#"{"a": 1.0, "b": [1e3, -0], "a": 2}"#).unwrap_or(Doc::Null);
        assert_eq!(doc.get("a"), Some(&Doc::Num("2".into())));
        assert_eq!(
            doc.get("b"),
            Some(&Doc::Arr(vec![
                Doc::Num("1e3".into()),
                Doc::Num("-0".into())
            ]))
        );
    }

    #[test]
    fn syntax_errors_read_as_go_s() {
        assert_eq!(decode(b"").err().as_deref(), Some("EOF"));
        assert_eq!(decode(b"{").err().as_deref(), Some("unexpected EOF"));
        assert_eq!(
            decode(b"{,}").err().as_deref(),
            Some("invalid character ',' looking for beginning of object key string")
        );
        assert_eq!(
            decode(b"{\"a\" 1}").err().as_deref(),
            Some("invalid character '1' after object key")
        );
        assert_eq!(
            decode(b"{} {}").err().as_deref(),
            Some("invalid character after top-level value")
        );
    }
}
