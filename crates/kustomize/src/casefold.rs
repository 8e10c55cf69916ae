//! Go `encoding/json` field matching for serde. kustomize decodes kustomization files, plugin
//! configurations and replacements through sigs.k8s.io/yaml, that is Go's `encoding/json`: a
//! key names a struct field when it equals the field's name ignoring case (`nameprefix` is
//! `namePrefix`), an exact spelling first. [`CaseFold`] wraps a [`Value`] so every struct
//! decoded from it, at any depth, matches its fields that way; map keys stay as written.
//! kustomization and `configurations:` files are decoded strictly (an unknown field is an
//! error); plugin configurations and replacement files go through plain `yaml.Unmarshal`,
//! which ignores unknown fields at every depth ([`from_value_lenient`]).

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// A value whose structs match field names as Go's `encoding/json` does.
pub struct CaseFold {
    value: Value,
    /// Whether keys naming no field are dropped rather than left to the struct to refuse.
    lenient: bool,
}

impl CaseFold {
    /// A value decoded strictly (`DisallowUnknownFields`).
    pub fn strict(value: Value) -> CaseFold {
        CaseFold {
            value,
            lenient: false,
        }
    }
}

/// Decodes `value` into `T` with Go's case-insensitive field matching; unknown fields are
/// errors where `T` refuses them.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    T::deserialize(CaseFold::strict(value))
}

/// Decodes `value` into `T` as Go's non-strict `yaml.Unmarshal` does: case-insensitive field
/// matching, and fields no struct knows ignored at every depth.
pub fn from_value_lenient<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    T::deserialize(CaseFold {
        value,
        lenient: true,
    })
}

/// Renames keys that match one of `fields` ignoring case to that field's spelling. When two
/// keys land on one field the later one wins, as it does in Go.
fn fold_keys(map: Map<String, Value>, fields: &[&str]) -> Map<String, Value> {
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        let key = if fields.contains(&key.as_str()) {
            key
        } else {
            fields
                .iter()
                .find(|f| f.eq_ignore_ascii_case(&key))
                .map_or(key, |f| (*f).to_string())
        };
        out.insert(key, value);
    }
    out
}

impl<'de> de::Deserializer<'de> for CaseFold {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let lenient = self.lenient;
        match self.value {
            Value::Object(map) => visitor.visit_map(FoldMap::new(map, lenient)),
            Value::Array(items) => visitor.visit_seq(FoldSeq {
                items: items.into_iter(),
                lenient,
            }),
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let lenient = self.lenient;
        match self.value {
            Value::Object(map) => {
                let mut map = fold_keys(map, fields);
                if lenient {
                    map.retain(|k, _| fields.contains(&k.as_str()));
                }
                visitor.visit_map(FoldMap::new(map, lenient))
            }
            other => de::Deserializer::deserialize_struct(other, name, fields, visitor),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let lenient = self.lenient;
        match self.value {
            Value::Null => visitor.visit_none(),
            value => visitor.visit_some(CaseFold { value, lenient }),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_enum(self.value, name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// The entries of a mapping, each value wrapped again.
struct FoldMap {
    entries: serde_json::map::IntoIter,
    pending: Option<Value>,
    lenient: bool,
}

impl FoldMap {
    fn new(map: Map<String, Value>, lenient: bool) -> FoldMap {
        FoldMap {
            entries: map.into_iter(),
            pending: None,
            lenient,
        }
    }
}

impl<'de> MapAccess<'de> for FoldMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some(value);
        let key: de::value::StringDeserializer<serde_json::Error> = key.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let value = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("a map value was read before its key"))?;
        seed.deserialize(CaseFold {
            value,
            lenient: self.lenient,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// The items of a sequence, each wrapped again.
struct FoldSeq {
    items: std::vec::IntoIter<Value>,
    lenient: bool,
}

impl<'de> SeqAccess<'de> for FoldSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let lenient = self.lenient;
        self.items
            .next()
            .map(|value| seed.deserialize(CaseFold { value, lenient }))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::{from_value, from_value_lenient};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Inner {
        field_path: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        name_prefix: String,
        #[serde(default)]
        items: Vec<Inner>,
        #[serde(default)]
        labels: indexmap::IndexMap<String, String>,
    }

    #[test]
    fn field_names_match_ignoring_case_at_every_depth() {
        let v = json!({"NAMEprefix": "p-", "Items": [{"fieldpath": "a.b"}], "labels": {"Ab": "c"}});
        let got: Outer = from_value(v).expect("decodes");
        assert_eq!(got.name_prefix, "p-");
        assert_eq!(got.items[0].field_path, "a.b");
        assert_eq!(got.labels.get("Ab").map(String::as_str), Some("c"));
    }

    #[test]
    fn an_unknown_field_is_still_refused() {
        let v = json!({"namePrefx": "p-"});
        assert!(from_value::<Outer>(v).is_err());
    }

    #[test]
    fn lenient_decoding_ignores_unknown_fields_at_every_depth() {
        let v = json!({"namePrefx": "p-", "nameprefix": "q-", "items": [{"FieldPath": "a", "extra": 1}]});
        let got: Outer = from_value_lenient(v).expect("decodes");
        assert_eq!(got.name_prefix, "q-");
        assert_eq!(got.items[0].field_path, "a");
    }

    #[test]
    fn the_later_of_two_spellings_wins() {
        let v = json!({"namePrefix": "a-", "nameprefix": "b-"});
        let got: Outer = from_value(v).expect("decodes");
        assert_eq!(got.name_prefix, "b-");
    }
}
