//! sprig's semantic-version functions (`semverCompare`, `semver`), on the Masterminds
//! constraint grammar `tether-semver` implements (one implementation in the workspace).

use tether_gotemplate::{Func, FuncMap, Map, Param, Value};
use tether_semver::{Constraints, Version};

fn s(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        _ => "",
    }
}

pub(crate) fn register(m: &mut FuncMap) {
    m.insert(
        "semverCompare".into(),
        Func::new(&[Param::String, Param::String], |a| {
            let c = Constraints::parse(s(&a[0])).map_err(|e| e.to_string())?;
            let v = Version::parse_lenient(s(&a[1])).map_err(|e| e.to_string())?;
            Ok(Value::Bool(c.matches(&v)))
        }),
    );
    m.insert(
        "semver".into(),
        Func::new(&[Param::String], |a| {
            let v = Version::parse_lenient(s(&a[0])).map_err(|e| e.to_string())?;
            let mut map = Map::new("*semver.Version", Value::Nil);
            map.string_keyed = true;
            map.insert(Value::str("Major"), Value::Int64(v.major() as i64));
            map.insert(Value::str("Minor"), Value::Int64(v.minor() as i64));
            map.insert(Value::str("Patch"), Value::Int64(v.patch() as i64));
            map.insert(Value::str("Prerelease"), Value::str(v.prerelease()));
            map.insert(Value::str("Metadata"), Value::str(v.metadata()));
            Ok(Value::Map(map))
        }),
    );
}
