//! Literals in actions: Go's `parse.newNumber` for numbers and rune constants, and
//! `strconv.Unquote` for interpreted and raw strings.

use crate::lex::{Item, ItemKind};
use crate::parse::Number;

/// Go's `parse.newNumber`: rune literals, integers (any base, `_` separators) and floats.
pub(crate) fn parse_number(item: &Item) -> Result<Number, String> {
    let text = item.val.clone();
    if item.kind == ItemKind::CharConstant {
        let inner =
            unquote_char(&text).ok_or_else(|| format!("malformed character constant: {text}"))?;
        let code = i64::from(u32::from(inner));
        return Ok(Number {
            text,
            int: Some(code),
            float: Some(code as f64),
            integer_literal: true,
        });
    }
    if text.ends_with('i') {
        return Err(format!(
            "illegal number syntax: {}",
            crate::printf::quote(&text)
        ));
    }
    let cleaned = text.replace('_', "");
    let (negative, body) = match cleaned.strip_prefix('-') {
        Some(b) => (true, b.to_owned()),
        None => (
            false,
            cleaned.strip_prefix('+').unwrap_or(&cleaned).to_owned(),
        ),
    };
    let lower = body.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| i64::from_str_radix(digits, radix).ok();
    let is_hex = lower.starts_with("0x");
    let int = if let Some(hex) = lower.strip_prefix("0x") {
        if hex.contains(['p', '.']) {
            None
        } else {
            radix_int(hex, 16)
        }
    } else if let Some(oct) = lower.strip_prefix("0o") {
        radix_int(oct, 8)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        radix_int(bin, 2)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.chars().all(|c| c.is_ascii_digit())
    {
        radix_int(&lower[1..], 8)
    } else {
        lower.parse::<i64>().ok()
    }
    .map(|i| if negative { -i } else { i });
    let float = if is_hex {
        int.map(|i| i as f64)
            .or_else(|| parse_hex_float(&lower).map(|f| if negative { -f } else { f }))
    } else if lower.starts_with("0o") || lower.starts_with("0b") {
        int.map(|i| i as f64)
    } else {
        lower
            .parse::<f64>()
            .ok()
            .map(|f| if negative { -f } else { f })
    };
    let float = float.filter(|f| f.is_finite());
    // An integral float is also an integer.
    let int = int.or_else(|| {
        float
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    });
    if int.is_none() && float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            crate::printf::quote(&text)
        ));
    }
    Ok(Number {
        text,
        int,
        float,
        integer_literal: is_hex && !lower.contains('p'),
    })
}

/// `0x1.8p3`-style hexadecimal floats.
fn parse_hex_float(lower: &str) -> Option<f64> {
    let body = lower.strip_prefix("0x")?;
    let (mantissa, exp) = body.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut value = if int.is_empty() {
        0.0
    } else {
        i64::from_str_radix(int, 16).ok()? as f64
    };
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}

fn unquote_char(text: &str) -> Option<char> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let s = unescape(inner, '\'').ok()?;
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals.
pub(crate) fn unquote(text: &str) -> Result<String, String> {
    if let Some(raw) = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        return Ok(raw.replace('\r', ""));
    }
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or("invalid syntax")?;
    unescape(inner, '"')
}

fn unescape(s: &str, quote: char) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == quote {
            return Err("invalid syntax".into());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let esc = chars.next().ok_or("invalid syntax")?;
        let mut hex = |n: usize| -> Result<u32, String> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return Err("invalid syntax".into());
            }
            u32::from_str_radix(&digits, 16).map_err(|_| "invalid syntax".to_owned())
        };
        let ch = match esc {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' => '\\',
            '\'' | '"' if esc == quote => esc,
            'x' => char::from_u32(hex(2)?).ok_or("invalid syntax")?,
            'u' => char::from_u32(hex(4)?).ok_or("invalid syntax")?,
            'U' => char::from_u32(hex(8)?).ok_or("invalid syntax")?,
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let code = u32::from_str_radix(&format!("{esc}{rest}"), 8)
                    .map_err(|_| "invalid syntax")?;
                char::from_u32(code)
                    .filter(|_| code < 256)
                    .ok_or("invalid syntax")?
            }
            _ => return Err("invalid syntax".into()),
        };
        out.push(ch);
    }
    Ok(out)
}
