//! sprig's functions whose results depend on the clock or on randomness, which Helm
//! registers and `helm template` runs: `now`, `date`, `dateInZone` (UTC), `unixEpoch`,
//! `randAlphaNum`, `randAlpha`, `randNumeric`, `randAscii`, `randInt`, `randBytes`,
//! `shuffle`, `uuidv4`, `sha1sum` and `htpasswd` (bcrypt). Their output cannot be compared
//! byte for byte with Helm's; their shape can. Randomness comes from the system's CSPRNG,
//! because charts use `randAlphaNum` for passwords.

use base64::Engine as _;
use chrono::{DateTime, Datelike, Timelike, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use tether_gotemplate::{Func, FuncMap, Param, Struct, Value};

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

/// Go's `bcrypt.DefaultCost` (the Rust crate's default is 12).
const GO_BCRYPT_DEFAULT_COST: u32 = 10;

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

/// A `time.Time` value: Go's `String()` form, and `Unix`.
fn time_value(t: DateTime<Utc>) -> Value {
    let text = format!("{} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S%.f"));
    Value::Struct(
        Struct::new("time.Time")
            .method("Unix", Value::Int64(t.timestamp()))
            .method("Year", Value::Int(i64::from(t.year())))
            .stringer(text),
    )
}

/// The instant a `date` argument names: a time, or Unix seconds.
fn instant(v: &Value) -> DateTime<Utc> {
    match v {
        Value::Struct(st) if st.type_name == "time.Time" => st
            .methods
            .iter()
            .find(|(n, _)| n == "Unix")
            .and_then(|(_, u)| u.as_int())
            .and_then(|u| DateTime::from_timestamp(u, 0))
            .unwrap_or_default(),
        Value::Int(i) | Value::Int64(i) => DateTime::from_timestamp(*i, 0).unwrap_or_default(),
        _ => Utc::now(),
    }
}

/// Go's `Time.Format` for the layout elements charts use.
pub fn go_format(t: DateTime<Utc>, layout: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    let month = MONTHS[t.month0() as usize];
    let day = DAYS[t.weekday().num_days_from_sunday() as usize];
    let hour12 = if t.hour().is_multiple_of(12) {
        12
    } else {
        t.hour() % 12
    };
    let tokens: Vec<(&str, String)> = vec![
        ("January", month.to_owned()),
        ("Monday", day.to_owned()),
        ("Z07:00", "Z".to_owned()),
        ("-07:00", "+00:00".to_owned()),
        ("-0700", "+0000".to_owned()),
        (".000000000", format!(".{:09}", t.nanosecond())),
        (".000000", format!(".{:06}", t.nanosecond() / 1000)),
        (".000", format!(".{:03}", t.nanosecond() / 1_000_000)),
        ("2006", format!("{:04}", t.year())),
        ("Jan", month[..3].to_owned()),
        ("Mon", day[..3].to_owned()),
        ("MST", "UTC".to_owned()),
        ("002", format!("{:03}", t.ordinal())),
        ("01", format!("{:02}", t.month())),
        ("02", format!("{:02}", t.day())),
        ("_2", format!("{:>2}", t.day())),
        ("06", format!("{:02}", t.year() % 100)),
        ("15", format!("{:02}", t.hour())),
        ("03", format!("{hour12:02}")),
        ("04", format!("{:02}", t.minute())),
        ("05", format!("{:02}", t.second())),
        ("PM", if t.hour() >= 12 { "PM" } else { "AM" }.to_owned()),
        ("pm", if t.hour() >= 12 { "pm" } else { "am" }.to_owned()),
        ("1", t.month().to_string()),
        ("2", t.day().to_string()),
        ("3", hour12.to_string()),
        ("4", t.minute().to_string()),
        ("5", t.second().to_string()),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (token, value) in &tokens {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(value);
                rest = after;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
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
    use Param::{Any, Int, String as Str};
    let mut add = |name: &str, f: Func| {
        m.insert(name.to_owned(), f);
    };
    add("now", Func::new(&[], |_| Ok(time_value(Utc::now()))));
    add(
        "date",
        Func::new(&[Str, Any], |a| {
            Ok(Value::String(go_format(instant(&a[1]), &s(&a[0]))))
        }),
    );
    add(
        "htmlDate",
        Func::new(&[Any], |a| {
            Ok(Value::String(go_format(instant(&a[0]), "2006-01-02")))
        }),
    );
    add(
        "dateInZone",
        Func::new(&[Str, Any, Str], |a| {
            Ok(Value::String(go_format(instant(&a[1]), &s(&a[0]))))
        }),
    );
    add(
        "unixEpoch",
        Func::new(&[Any], |a| {
            Ok(Value::String(instant(&a[0]).timestamp().to_string()))
        }),
    );
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
            let hash = bcrypt::hash_with_result(s(&a[1]), GO_BCRYPT_DEFAULT_COST)
                .map_err(|e| e.to_string())?
                .format_for_version(bcrypt::Version::TwoA);
            Ok(Value::String(format!("{user}:{hash}")))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts_format_like_go() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap_or_default();
        assert_eq!(
            go_format(t, "2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(go_format(t, "Jan _2 3:04PM .000"), "Nov 14 10:13PM .123");
    }

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
