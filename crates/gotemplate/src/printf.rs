//! Go's `fmt` for template values: `Sprint`, `Sprintln`, `Sprintf` with the verbs, flags,
//! width and precision Go supports for these kinds (`%v %+v %T %s %q %d %b %o %O %x %X %c %U
//! %e %E %f %F %g %G %t %%`), Go's malformed-directive markers (`%!d(string=x)`,
//! `%!s(MISSING)`, `%!(EXTRA ...)`), `strconv.Quote`, and `strconv.FormatFloat`'s `%g`.

use crate::value::Value;

/// `fmt.Sprint`: operands joined, with a space between two operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        let is_string = |v: &Value| matches!(v, Value::String(_));
        if i > 0 && !is_string(arg) && !is_string(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&arg.to_go_string_nil());
    }
    out
}

/// `fmt.Sprintln`: operands joined by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(Value::to_go_string_nil).collect();
    parts.join(" ") + "\n"
}

impl Value {
    /// `%v` as fmt prints an operand (an invalid value is a nil interface there).
    pub(crate) fn to_go_string_nil(&self) -> String {
        match self {
            Value::Invalid => "<nil>".into(),
            v => v.to_go_string(),
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Spec {
    plus: bool,
    plus_v: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut reordered = false;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => spec.minus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        if let Some(index) = arg_index(&mut chars) {
            next = index;
            reordered = true;
        }
        match number_or_star(&mut chars, args, &mut next, &mut out, "WIDTH") {
            Some(Some(w)) if w < 0 => {
                spec.minus = true;
                spec.width = Some(w.unsigned_abs() as usize);
            }
            Some(Some(w)) => spec.width = Some(w as usize),
            Some(None) => {}
            None => continue,
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            if let Some(index) = arg_index(&mut chars) {
                next = index;
                reordered = true;
            }
            match number_or_star(&mut chars, args, &mut next, &mut out, "PREC") {
                Some(p) => spec.prec = Some(p.filter(|p| *p >= 0).unwrap_or(0) as usize),
                None => continue,
            }
        }
        if let Some(index) = arg_index(&mut chars) {
            next = index;
            reordered = true;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == 'v' && spec.plus {
            // `%+v` adds field names; it does not sign numbers.
            spec.plus = false;
            spec.plus_v = true;
        }
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            Some(arg) => {
                format_arg(&mut out, spec, verb, arg);
                next += 1;
            }
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
    }
    if !reordered && next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, arg) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match arg {
                Value::Nil | Value::Invalid => out.push_str("<nil>"),
                v => out.push_str(&format!("{}={}", v.type_name(), v.to_go_string())),
            }
        }
        out.push(')');
    }
    out
}

/// `[n]` argument index (1-based in the format, 0-based here).
fn arg_index(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    if chars.peek() != Some(&'[') {
        return None;
    }
    chars.next();
    let mut n = 0usize;
    for c in chars.by_ref() {
        match c.to_digit(10) {
            Some(d) => n = n * 10 + d as usize,
            None => break,
        }
    }
    Some(n.saturating_sub(1))
}

/// A width or precision: `Some(Some(n))` for a number or `*`, `Some(None)` for none, `None` when
/// `*` named a non-integer (the marker has been written).
fn number_or_star(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    args: &[Value],
    next: &mut usize,
    out: &mut String,
    what: &str,
) -> Option<Option<i64>> {
    if chars.peek() == Some(&'*') {
        chars.next();
        let arg = args.get(*next).and_then(Value::as_int);
        *next += 1;
        return match arg {
            Some(n) => Some(Some(n)),
            None => {
                out.push_str(&format!("%!(BAD{what})"));
                Some(None)
            }
        };
    }
    let mut digits = String::new();
    while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit()) {
        digits.push(c);
        chars.next();
    }
    Some(digits.parse().ok())
}

fn format_arg(out: &mut String, spec: Spec, verb: char, arg: &Value) {
    if verb == 'T' {
        let name = match arg {
            Value::Nil | Value::Invalid => "<nil>".to_owned(),
            v => v.type_name(),
        };
        pad(out, &name, spec);
        return;
    }
    if verb == 'p' {
        bad_verb(out, verb, arg);
        return;
    }
    if verb == 'v' && spec.sharp {
        pad(out, &go_syntax(arg, true), spec);
        return;
    }
    match arg {
        Value::Nil | Value::Invalid => match verb {
            'v' => pad(out, "<nil>", spec),
            _ => bad_verb(out, verb, arg),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, verb, arg),
        },
        Value::Int(i) | Value::Int64(i) => format_int(out, spec, verb, *i, arg),
        Value::Float(f) => format_float(out, spec, verb, *f, arg),
        Value::String(s) => format_string(out, spec, verb, s, arg),
        Value::Struct(s) if s.stringer.is_some() && matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') => {
            let text = s.stringer.clone().unwrap_or_default();
            format_string(out, spec, verb, &text, arg);
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, f) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if spec.plus_v {
                    out.push_str(&f.name);
                    out.push(':');
                }
                format_arg(out, spec, verb, &f.value);
            }
            out.push('}');
        }
        Value::Slice(s) => {
            out.push('[');
            for (i, item) in s.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, spec, verb, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let Some(_level) = crate::value::Nesting::enter() else {
                out.push_str("map[...]");
                return;
            };
            out.push_str("map[");
            for (i, (k, v)) in m.entries().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, spec, verb, k);
                out.push(':');
                format_arg(out, spec, verb, v);
            }
            out.push(']');
        }
    }
}

/// `%#v`: the value as Go source (`[]string{"a"}`, `main.T{A:1}`, `interface {}(nil)`).
fn go_syntax(v: &Value, top: bool) -> String {
    let join = |items: Vec<String>| items.join(", ");
    match v {
        Value::Nil | Value::Invalid if top => "<nil>".into(),
        Value::Nil | Value::Invalid => "interface {}(nil)".into(),
        Value::String(s) => quote(s),
        Value::Slice(sl) => format!(
            "{}{{{}}}",
            sl.type_name,
            join(sl.items.iter().map(|i| go_syntax(i, false)).collect())
        ),
        Value::Map(m) => {
            let entries = m
                .entries()
                .iter()
                .map(|(k, v)| format!("{}:{}", go_syntax(k, false), go_syntax(v, false)))
                .collect();
            format!("{}{{{}}}", m.type_name, join(entries))
        }
        Value::Struct(st) => {
            let fields = st
                .fields
                .iter()
                .map(|f| format!("{}:{}", f.name, go_syntax(&f.value, false)));
            format!("{}{{{}}}", st.type_name, join(fields.collect()))
        }
        v => v.to_go_string(),
    }
}

fn bad_verb(out: &mut String, verb: char, arg: &Value) {
    match arg {
        Value::Nil | Value::Invalid => out.push_str(&format!("%!{verb}(<nil>)")),
        v => out.push_str(&format!("%!{verb}({}={})", v.type_name(), v.to_go_string())),
    }
}

/// Pads `s` to the width with spaces (left, or right with `-`).
fn pad(out: &mut String, s: &str, spec: Spec) {
    pad_with(out, s, spec, ' ');
}

fn pad_with(out: &mut String, s: &str, spec: Spec, fill: char) {
    let len = s.chars().count();
    let missing = spec.width.map_or(0, |w| w.saturating_sub(len));
    let filler: String =
        std::iter::repeat_n(if spec.minus { ' ' } else { fill }, missing).collect();
    if spec.minus {
        out.push_str(s);
        out.push_str(&filler);
    } else if fill == '0' && s.starts_with(['+', '-', ' ']) {
        let (sign, rest) = s.split_at(1);
        out.push_str(sign);
        out.push_str(&filler);
        out.push_str(rest);
    } else {
        out.push_str(&filler);
        out.push_str(s);
    }
}

/// Pads a number: zeros after the sign with `0` (unless `-`), spaces otherwise.
fn pad_number(out: &mut String, s: &str, spec: Spec, zero_allowed: bool) {
    let fill = if spec.zero && !spec.minus && zero_allowed {
        '0'
    } else {
        ' '
    };
    pad_with(out, s, spec, fill);
}

fn format_int(out: &mut String, spec: Spec, verb: char, i: i64, arg: &Value) {
    let magnitude = i.unsigned_abs();
    let (digits, prefix) = match verb {
        'd' | 'v' => (magnitude.to_string(), ""),
        'b' => (format!("{magnitude:b}"), "0b"),
        'o' => (format!("{magnitude:o}"), "0"),
        'O' => (format!("{magnitude:o}"), "0o"),
        'x' => (format!("{magnitude:x}"), "0x"),
        'X' => (format!("{magnitude:X}"), "0X"),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return pad(out, &c.to_string(), spec);
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return pad(out, &quote_rune(c), spec);
        }
        'U' => {
            let mut s = format!("U+{magnitude:04X}");
            if spec.sharp
                && let Some(c) = u32::try_from(i).ok().and_then(char::from_u32)
            {
                s.push_str(&format!(" '{c}'"));
            }
            return pad(out, &s, spec);
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => return bad_verb(out, verb, arg),
        _ => return bad_verb(out, verb, arg),
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && i == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let mut s = String::new();
    if i < 0 {
        s.push('-');
    } else if spec.plus {
        s.push('+');
    } else if spec.space {
        s.push(' ');
    }
    if spec.sharp || verb == 'O' {
        s.push_str(if verb == 'O' || spec.sharp {
            prefix
        } else {
            ""
        });
    }
    s.push_str(&digits);
    pad_number(out, &s, spec, spec.prec.is_none());
}

fn format_float(out: &mut String, spec: Spec, verb: char, f: f64, arg: &Value) {
    let body = match verb {
        'v' | 'g' => format_float_g(f, spec.prec),
        'G' => format_float_g(f, spec.prec).to_uppercase(),
        'e' => format_float_e(f, spec.prec.unwrap_or(6)),
        'E' => format_float_e(f, spec.prec.unwrap_or(6)).to_uppercase(),
        'f' | 'F' => {
            format_special(f).unwrap_or_else(|| format!("{:.*}", spec.prec.unwrap_or(6), f))
        }
        _ => return bad_verb(out, verb, arg),
    };
    let mut s = body;
    if !s.starts_with('-') && !s.starts_with("NaN") {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    }
    let finite = f.is_finite();
    pad_number(out, &s, spec, finite);
}

fn format_special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

/// Scientific notation with Go's at-least-two-digit exponent: `1.500000e+06`.
fn format_float_e(f: f64, prec: usize) -> String {
    if let Some(s) = format_special(f) {
        return s;
    }
    let rust = format!("{f:.prec$e}");
    go_exponent(&rust)
}

/// Rewrites Rust's `1.5e6` / `1.5e-7` exponent as Go's `1.5e+06` / `1.5e-07`.
fn go_exponent(rust: &str) -> String {
    match rust.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => rust.to_owned(),
    }
}

/// `strconv.FormatFloat(f, 'g', prec, 64)`, with `None` for the shortest representation
/// (what `%v` prints): exponent form when the exponent is < -4 or >= the precision (6 when
/// shortest), trailing zeros removed.
pub fn format_float_g(f: f64, prec: Option<usize>) -> String {
    if let Some(s) = format_special(f) {
        return s;
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Decimal digits and exponent, shortest round-trip or rounded to `prec` significant digits.
    let sci = match prec {
        None => format!("{f:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let nd = digits.len() as i32;
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > nd && nd > exp { nd } else { p }
        }
    };
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    if exp < -4 || exp >= eprec {
        s.push_str(&digits[..1]);
        if nd > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        s.push_str(&format!("e{sign}{:02}", exp.abs()));
    } else if exp < 0 {
        s.push_str("0.");
        s.push_str(&"0".repeat((-exp - 1) as usize));
        s.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            s.push_str(&digits);
            s.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            s.push_str(&digits[..int_len]);
            s.push('.');
            s.push_str(&digits[int_len..]);
        }
    }
    s
}

fn format_string(out: &mut String, spec: Spec, verb: char, s: &str, arg: &Value) {
    match verb {
        'v' | 's' => {
            let truncated: String = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_owned(),
            };
            pad(out, &truncated, spec);
        }
        'q' => {
            let q = if spec.sharp && can_backquote(s) {
                format!("`{s}`")
            } else {
                quote_with(s, spec.plus)
            };
            pad(out, &q, spec);
        }
        'x' | 'X' => {
            let bytes = match spec.prec {
                Some(p) => &s.as_bytes()[..p.min(s.len())],
                None => s.as_bytes(),
            };
            let mut hex = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    hex.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    hex.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                hex.push_str(&if verb == 'x' {
                    format!("{b:02x}")
                } else {
                    format!("{b:02X}")
                });
            }
            pad(out, &hex, spec);
        }
        _ => bad_verb(out, verb, arg),
    }
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

/// `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s, false)
}

fn quote_with(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_char(&mut out, c, '"', ascii_only);
    }
    out.push('"');
    out
}

/// `strconv.QuoteRune`.
fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    escape_char(&mut out, c, '\'', false);
    out.push('\'');
    out
}

fn escape_char(out: &mut String, c: char, quote: char, ascii_only: bool) {
    match c {
        c if c == quote || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c.is_ascii() || !ascii_only) && is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// An approximation of Go's `unicode.IsPrint` for quoting: not a control, not a separator other
/// than the ASCII space, not a private-use or unassigned-looking format character.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c as u32, 0xAD | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xE000..=0xF8FF | 0xFFF9..=0xFFFB))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_g_matches_go() {
        let cases = [
            (1.0, "1"),
            (0.1, "0.1"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.23456, "1.23456"),
            (1e21, "1e+21"),
            (-2.5, "-2.5"),
            (100.0, "100"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float_g(f, None), want, "{f}");
        }
        assert_eq!(format_float_g(1.23456, Some(3)), "1.23");
        assert_eq!(format_float_g(1234.5678, Some(2)), "1.2e+03");
        assert_eq!(format_float_e(1234.5678, 2), "1.23e+03");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
