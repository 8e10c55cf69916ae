//! sprig's functions whose results depend on randomness, which Helm registers and
//! `helm template` runs: `randAlphaNum`, `randAlpha`, `randNumeric`, `randAscii`, `randInt`,
//! `randBytes`, `shuffle`, `uuidv4`, `sha1sum` and `htpasswd` (bcrypt). Their output cannot be
//! compared byte for byte with Helm's; their shape can. Randomness comes from the system's
//! CSPRNG, because charts use `randAlphaNum` for passwords. (Dates are in `dates`, keys and
//! certificates in `crypto`.)

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use tether_gotemplate::{Func, FuncMap, Param, Value};

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| "the system random generator failed".to_owned())?;
    Ok(buf)
}

/// `n` characters drawn uniformly from `alphabet`.
fn random_from(alphabet: &[u8], n: i64) -> Result<Value, String> {
    let n = usize::try_from(n).map_err(|_| format!("invalid count {n}"))?;
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n.max(16))? {
            // Rejection sampling keeps the draw uniform.
            let limit = 256 - 256 % alphabet.len();
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(Value::String(out))
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";

fn ascii() -> Vec<u8> {
    (32u8..127).collect()
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        _ => 0,
    }
}

fn uuidv4() -> Result<String, String> {
    let mut b = random_bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Int, String as Str};
    let mut add = |name: &str, f: Func| {
        m.insert(name.to_owned(), f);
    };
    add(
        "randAlphaNum",
        Func::new(&[Int], |a| random_from(ALNUM, int(&a[0]))),
    );
    add(
        "randAlpha",
        Func::new(&[Int], |a| random_from(ALPHA, int(&a[0]))),
    );
    add(
        "randNumeric",
        Func::new(&[Int], |a| random_from(DIGITS, int(&a[0]))),
    );
    add(
        "randAscii",
        Func::new(&[Int], |a| random_from(&ascii(), int(&a[0]))),
    );
    add(
        "randInt",
        Func::new(&[Int, Int], |a| {
            let (lo, hi) = (int(&a[0]), int(&a[1]));
            let span = u64::try_from(hi - lo).map_err(|_| "invalid argument to Intn".to_owned())?;
            if span == 0 {
                return Err("invalid argument to Intn".into());
            }
            let bytes = random_bytes(8)?;
            let n = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            Ok(Value::Int(lo + (n % span) as i64))
        }),
    );
    add(
        "randBytes",
        Func::new(&[Int], |a| {
            let n = usize::try_from(int(&a[0])).map_err(|_| "invalid count".to_owned())?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(random_bytes(n)?),
            ))
        }),
    );
    add(
        "shuffle",
        Func::new(&[Str], |a| {
            let mut chars: Vec<char> = s(&a[0]).chars().collect();
            for i in (1..chars.len()).rev() {
                let r = random_bytes(8)?
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                chars.swap(i, (r % (i as u64 + 1)) as usize);
            }
            Ok(Value::String(chars.into_iter().collect()))
        }),
    );
    add("uuidv4", Func::new(&[], |_| uuidv4().map(Value::String)));
    add(
        "sha1sum",
        Func::new(&[Str], |a| {
            let digest =
                ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, s(&a[0]).as_bytes());
            Ok(Value::String(
                digest.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
            ))
        }),
    );
    add(
        "htpasswd",
        Func::new(&[Str, Str], |a| {
            let user = s(&a[0]);
            if user.contains(':') {
                return Ok(Value::String(format!("invalid username: {user}")));
            }
            Ok(Value::String(format!(
                "{user}:{}",
                crate::crypto::bcrypt_hash(&s(&a[1]))
            )))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_have_the_asked_length_and_alphabet() {
        let Ok(Value::String(p)) = random_from(ALNUM, 40) else {
            panic!("no string");
        };
        assert_eq!(p.len(), 40);
        assert!(p.bytes().all(|b| ALNUM.contains(&b)));
        let id = uuidv4().unwrap_or_default();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
