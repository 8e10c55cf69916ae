//! Numbers as santhosh-tekuri/jsonschema compares and prints them: every number becomes the
//! exact rational its Go `%v` text denotes (`big.Rat.SetString(fmt.Sprint(v))`), and error
//! messages print through `golang.org/x/text/message`'s English printer, which groups
//! digits (`1,000`) and writes large or small floats in its own scientific form.

use std::cmp::Ordering;

/// An exact decimal: `digits × 10^exp`, digits without leading or trailing zeros (empty for
/// zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dec {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

/// Exponents beyond this are not parsed (Go would, slowly; no schema needs them).
const MAX_EXP: i64 = 100_000;

impl Dec {
    /// Parses Go/JSON number text (`-1.5e+06`, `0.1`, `12`).
    pub(crate) fn parse(text: &str) -> Option<Dec> {
        let (neg, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e: i64 = rest[i + 1..].parse().ok()?;
                if e.abs() > MAX_EXP {
                    return None;
                }
                (&rest[..i], e)
            }
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let mut exp = exp - frac.len() as i64;
        let lead = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..lead);
        while digits.last() == Some(&0) {
            digits.pop();
            exp += 1;
        }
        if digits.is_empty() {
            return Some(Dec {
                neg: false,
                digits,
                exp: 0,
            });
        }
        Some(Dec { neg, digits, exp })
    }

    /// Whether the number is whole.
    pub(crate) fn is_int(&self) -> bool {
        self.digits.is_empty() || self.exp >= 0
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn cmp_abs(&self, other: &Dec) -> Ordering {
        let (ma, mb) = (
            self.digits.len() as i64 + self.exp,
            other.digits.len() as i64 + other.exp,
        );
        ma.cmp(&mb).then_with(|| {
            let n = self.digits.len().max(other.digits.len());
            (0..n)
                .map(|i| {
                    let a = self.digits.get(i).copied().unwrap_or(0);
                    let b = other.digits.get(i).copied().unwrap_or(0);
                    a.cmp(&b)
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    }

    /// Whether `self / by` is whole (`by` not zero).
    pub(crate) fn is_multiple_of(&self, by: &Dec) -> bool {
        if self.is_zero() {
            return true;
        }
        if by.is_zero() {
            return false;
        }
        // self = A·10^p, by = B·10^q, neither A nor B ending in 0.
        if self.exp < by.exp {
            return false;
        }
        let shift = self.exp - by.exp;
        let divisor: Option<u128> = if by.digits.len() <= 36 {
            Some(
                by.digits
                    .iter()
                    .fold(0u128, |acc, d| acc * 10 + u128::from(*d)),
            )
        } else {
            None
        };
        match divisor {
            Some(b) if shift <= MAX_EXP => {
                let mut rem = 0u128;
                for d in self.digits.iter().copied().chain((0..shift).map(|_| 0u8)) {
                    rem = (rem * 10 + u128::from(d)) % b;
                }
                rem == 0
            }
            _ => {
                let q = self.to_f64() / by.to_f64();
                q.is_finite() && q.fract() == 0.0
            }
        }
    }

    /// The nearest float64 (`big.Rat.Float64`).
    pub(crate) fn to_f64(&self) -> f64 {
        if self.digits.is_empty() {
            return 0.0;
        }
        let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        let text = format!("{}{digits}e{}", if self.neg { "-" } else { "" }, self.exp);
        text.parse().unwrap_or(0.0)
    }
}

impl PartialOrd for Dec {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dec {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.neg {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (false, true) => {
                return if self.neg {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            _ => {}
        }
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(other),
            (true, true) => other.cmp_abs(self),
        }
    }
}

/// Groups the integer digits of `int` by three with commas, as the English printer does.
fn group(int: &str) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `p.Sprintf("%d", n)` with the English printer.
pub(crate) fn print_int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    format!("{}{}", if n < 0 { "-" } else { "" }, group(&digits))
}

/// `p.Sprintf("%v", f)` with the English printer (x/text's `fmtVariableFloat`).
pub(crate) fn print_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "∞" } else { "-∞" }.into();
    }
    let sign = if f.is_sign_negative() && f != 0.0 {
        "-"
    } else {
        ""
    };
    if f == 0.0 {
        return "0".into();
    }
    // Shortest digits and the decimal exponent: value = 0.DIGITS × 10^point.
    let sci = format!("{:e}", f.abs());
    let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i64 = e.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = e + 1;
    let exp = point - 1;
    if !(-4..6).contains(&exp) {
        // Scientific: d.ddd then the exponent, at least two digits, signed.
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        // x/text writes the exponent in superscript digits, at least two: `2.5×10⁰⁶`.
        const SUPER: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
        let digits = format!("{:02}", exp.abs());
        let sup: String = digits
            .bytes()
            .map(|d| SUPER[usize::from(d - b'0')])
            .collect();
        let esign = if exp < 0 { "⁻" } else { "" };
        return format!("{sign}{first}{frac}×10{esign}{sup}");
    }
    let n = digits.len() as i64;
    let (int, frac) = if point <= 0 {
        (
            "0".to_owned(),
            format!("{}{digits}", "0".repeat((-point) as usize)),
        )
    } else if point >= n {
        (
            format!("{digits}{}", "0".repeat((point - n) as usize)),
            String::new(),
        )
    } else {
        let (i, f) = digits.split_at(point as usize);
        (i.to_owned(), f.to_owned())
    };
    if frac.is_empty() {
        format!("{sign}{}", group(&int))
    } else {
        format!("{sign}{}.{frac}", group(&int))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap_or(Dec {
            neg: false,
            digits: vec![],
            exp: 0,
        })
    }

    #[test]
    fn compares_exactly() {
        assert!(d("0.1") < d("0.10000000000000001"));
        assert_eq!(d("1.0"), d("1"));
        assert_eq!(d("1e+06"), d("1000000"));
        assert!(d("-2") < d("-1.5"));
        assert!(d("-0") == d("0"));
        assert!(d("1e+21").is_int());
        assert!(!d("1.5").is_int());
    }

    #[test]
    fn multiples() {
        assert!(d("0.3").is_multiple_of(&d("0.1")));
        assert!(!d("0.35").is_multiple_of(&d("0.1")));
        assert!(
            d("1e+21").is_multiple_of(&d("7e0").clone())
                == 1_000_000_000_000_000_000_000u128.is_multiple_of(7)
        );
        assert!(d("10").is_multiple_of(&d("2.5")));
    }

    #[test]
    fn prints_with_grouping() {
        assert_eq!(print_int(1234567), "1,234,567");
        assert_eq!(print_int(-12), "-12");
        assert_eq!(print_float(100000.0), "100,000");
        assert_eq!(print_float(1.5), "1.5");
        assert_eq!(print_float(0.0001), "0.0001");
        assert_eq!(print_float(2.5e6), "2.5×10⁰⁶");
        assert_eq!(print_float(-1e-5), "-1×10⁻⁰⁵");
    }
}
