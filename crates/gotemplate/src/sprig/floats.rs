//! sprig's float arithmetic (`add1f addf subf mulf divf maxf minf`), string helpers it adds
//! on top (`abbrevboth`, `typeIsLike`) and the `must*` regular-expression forms.
//!
//! `add1f`...`divf` go through shopspring/decimal in sprig: each operand becomes the decimal
//! its shortest `%g` text spells, sums and products are exact, a quotient is rounded to 16
//! places (half away from zero), and the result is the nearest float64. [`Decimal`] does the
//! same on an `i128` mantissa, falling back to float64 arithmetic when one would overflow
//! (operands 30 orders of magnitude apart, or products of more than 38 digits).

use super::{add, fixed, i, s, string, to_float64, varargs};
use crate::funcs::{FuncMap, Param};
use crate::value::Value;

use Param::{Any, Int, String as Str};

/// `mantissa × 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

impl Decimal {
    /// shopspring's `NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f:e}");
        let (m, e) = text.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let (neg, m) = m.strip_prefix('-').map_or((false, m), |r| (true, r));
        let (int, frac) = m.split_once('.').unwrap_or((m, ""));
        let digits = format!("{int}{frac}");
        let mantissa: i128 = digits.parse().ok()?;
        Some(Decimal {
            mantissa: if neg { -mantissa } else { mantissa },
            exponent: e - frac.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mantissa, self.exponent)
            .parse()
            .unwrap_or(0.0)
    }

    /// Both mantissas at the smaller exponent.
    fn align(self, other: Decimal) -> Option<(i128, i128, i32)> {
        let e = self.exponent.min(other.exponent);
        let scale = |d: Decimal| -> Option<i128> {
            let shift = u32::try_from(d.exponent - e).ok()?;
            d.mantissa.checked_mul(10i128.checked_pow(shift)?)
        };
        Some((scale(self)?, scale(other)?, e))
    }

    fn add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, e) = self.align(other)?;
        Some(Decimal {
            mantissa: a.checked_add(b)?,
            exponent: e,
        })
    }

    fn sub(self, other: Decimal) -> Option<Decimal> {
        self.add(Decimal {
            mantissa: -other.mantissa,
            exponent: other.exponent,
        })
    }

    fn mul(self, other: Decimal) -> Option<Decimal> {
        Some(Decimal {
            mantissa: self.mantissa.checked_mul(other.mantissa)?,
            exponent: self.exponent.checked_add(other.exponent)?,
        })
    }

    /// shopspring's `Div`: rounded to 16 decimal places, half away from zero.
    fn div(self, other: Decimal) -> Result<Option<Decimal>, String> {
        if other.mantissa == 0 {
            return Err("decimal division by 0".into());
        }
        const PRECISION: i32 = 16;
        // N = round(m1 × 10^(e1 - e2 + 16) / m2).
        let shift = self.exponent - other.exponent + PRECISION;
        let (num, den) = if shift >= 0 {
            let Some(num) = u32::try_from(shift)
                .ok()
                .and_then(|s| 10i128.checked_pow(s))
                .and_then(|p| self.mantissa.checked_mul(p))
            else {
                return Ok(None);
            };
            (num, other.mantissa)
        } else {
            let Some(den) = u32::try_from(-shift)
                .ok()
                .and_then(|s| 10i128.checked_pow(s))
                .and_then(|p| other.mantissa.checked_mul(p))
            else {
                return Ok(None);
            };
            (self.mantissa, den)
        };
        let q = num / den;
        let r = num % den;
        let rounded = if r.unsigned_abs() * 2 >= den.unsigned_abs() {
            if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
        } else {
            q
        };
        Ok(Some(Decimal {
            mantissa: rounded,
            exponent: -PRECISION,
        }))
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// sprig's `execDecimalOp`: folds `rest` into `first` with `op`.
fn decimal_op(first: &Value, rest: &[Value], op: Op) -> Result<Value, String> {
    let mut acc = to_float64(first);
    let mut exact = Decimal::from_f64(acc);
    for v in rest {
        let x = to_float64(v);
        let next = match (exact, Decimal::from_f64(x)) {
            (Some(a), Some(b)) => match op {
                Op::Add => a.add(b),
                Op::Sub => a.sub(b),
                Op::Mul => a.mul(b),
                Op::Div => a.div(b)?,
            },
            _ => None,
        };
        acc = match (next, op) {
            (Some(d), _) => d.to_f64(),
            (None, Op::Add) => acc + x,
            (None, Op::Sub) => acc - x,
            (None, Op::Mul) => acc * x,
            (None, Op::Div) => acc / x,
        };
        exact = next.or_else(|| Decimal::from_f64(acc));
    }
    Ok(Value::Float(exact.map_or(acc, Decimal::to_f64)))
}

/// goutils' `AbbreviateFull` as sprig's `abbrevboth` calls it (byte offsets, as Go).
fn abbreviate_full(text: &str, offset: i64, max: i64) -> String {
    let b = text.as_bytes();
    let len = b.len() as i64;
    let cut =
        |from: i64, to: i64| String::from_utf8_lossy(&b[from as usize..to as usize]).into_owned();
    if text.is_empty() || max < 4 {
        return String::new();
    }
    if len <= max {
        return text.to_owned();
    }
    let mut offset = offset.min(len);
    if len - offset < max - 3 {
        offset = len - (max - 3);
    }
    if offset <= 4 {
        return format!("{}...", cut(0, max - 3));
    }
    if max < 7 {
        return String::new();
    }
    if offset + max - 3 < len {
        let rest = cut(offset, len);
        return format!("...{}", abbreviate_full(&rest, 0, max - 3));
    }
    format!("...{}", cut(len - (max - 3), len))
}

pub(crate) fn register(m: &mut FuncMap) {
    add(
        m,
        "add1f",
        fixed(&[Any], |a| decimal_op(&a[0], &[Value::Int(1)], Op::Add)),
    );
    add(
        m,
        "addf",
        varargs(&[], Any, |a| decimal_op(&Value::Float(0.0), a, Op::Add)),
    );
    for (name, op) in [("subf", Op::Sub), ("mulf", Op::Mul), ("divf", Op::Div)] {
        add(
            m,
            name,
            varargs(&[Any], Any, move |a| decimal_op(&a[0], &a[1..], op)),
        );
    }
    add(
        m,
        "maxf",
        varargs(&[Any], Any, |a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_max),
            ))
        }),
    );
    add(
        m,
        "minf",
        varargs(&[Any], Any, |a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_min),
            ))
        }),
    );
    add(
        m,
        "abbrevboth",
        fixed(&[Int, Int, Str], |a| {
            let (left, right, text) = (i(&a[0]), i(&a[1]), s(&a[2]));
            if right < 4 || (left > 0 && right < 7) {
                return string(text);
            }
            string(abbreviate_full(text, left, right))
        }),
    );
    add(
        m,
        "typeIsLike",
        fixed(&[Str, Any], |a| {
            let t = match &a[1] {
                Value::Nil | Value::Invalid => "<nil>".to_owned(),
                v => v.type_name(),
            };
            let want = s(&a[0]);
            Ok(Value::Bool(t == want || t == format!("*{want}")))
        }),
    );
}

/// Go's `math.Max` (NaN wins).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min` (NaN wins).
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: Result<Value, String>) -> f64 {
        match v {
            Ok(Value::Float(x)) => x,
            _ => f64::NAN,
        }
    }

    #[test]
    fn decimal_arithmetic_is_exact_as_shopspring() {
        let fl = Value::Float;
        assert_eq!(f(decimal_op(&fl(0.1), &[fl(0.2)], Op::Add)), 0.3);
        assert_eq!(f(decimal_op(&fl(1.1), &[fl(3.0)], Op::Mul)), 3.3);
        assert_eq!(
            f(decimal_op(&fl(1.0), &[fl(3.0)], Op::Div)),
            0.3333333333333333
        );
        assert_eq!(
            f(decimal_op(&fl(2.0), &[fl(3.0)], Op::Div)),
            0.6666666666666667
        );
        assert!(decimal_op(&fl(1.0), &[fl(0.0)], Op::Div).is_err());
    }

    #[test]
    fn abbreviations_cut_both_ends_as_goutils() {
        assert_eq!(abbreviate_full("abcdefghijklmno", 5, 10), "...fghi...");
        assert_eq!(abbreviate_full("abcdefghijklmno", 0, 10), "abcdefg...");
        assert_eq!(abbreviate_full("abcdefghijklmno", 12, 10), "...ijklmno");
    }
}
