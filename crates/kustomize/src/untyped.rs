//! Scalars whose YAML type is still open, as kyaml leaves a field a replacement creates.
//!
//! kustomize creates a missing replacement target as a bare node (no tag, no style) and copies
//! only the source's text into it. Such a node has no type until something reads it:
//! - printing (through JSON) and JSON patches resolve the text as go-yaml v3 reads a plain
//!   scalar (`1.0` becomes the number 1);
//! - a strategic merge patch of the object walks every map field through kyaml's `FieldSetter`,
//!   which double-quotes any untagged text YAML 1.1 would read as a non-string, so `1.0` becomes
//!   the string `"1.0"` for good;
//! - the final removal of build annotations rewrites every annotation as a string of its text
//!   (typed ones too: `1.50` is printed `"1.50"`, so their text is recorded when read);
//! - a later replacement reading it takes its text (`1.10`, not the number's `1.1`).
//!
//! The engine keeps objects as JSON values, so such a field holds its go-yaml v3 reading and the
//! object's [`Resource::untyped`] list remembers where it is and its text. An entry counts only
//! while the field still holds that reading: a transformer that wrote anything else there has
//! typed it.

use serde_json::Value;

use crate::resource::Resource;

/// One step into an object: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A field of a map.
    Key(String),
    /// An element of a list.
    Index(usize),
}

/// A field holding an untagged scalar: where it is and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntypedScalar {
    /// Steps from the object's root.
    pub path: Vec<Step>,
    /// The text kyaml's node holds.
    pub text: String,
}

/// The value at `path` in `v`.
pub fn value_at<'v>(v: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, step| match (v, step) {
        (Value::Object(m), Step::Key(k)) => m.get(k),
        (Value::Array(items), Step::Index(i)) => items.get(*i),
        _ => None,
    })
}

pub fn value_at_mut<'v>(v: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, step| match (v, step) {
        (Value::Object(m), Step::Key(k)) => m.get_mut(k),
        (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
        _ => None,
    })
}

/// The value go-yaml v3 reads from untagged `text`, which the field holds in the object.
pub fn reading(text: &str) -> Value {
    tether_core::yaml::resolve_plain_scalar(text)
}

/// The text of the untagged scalar at `path`, if the field still holds it.
pub fn text_at<'r>(r: &'r Resource, path: &[Step]) -> Option<&'r str> {
    r.untyped
        .iter()
        .find(|u| u.path == path)
        .filter(|u| is_live(&r.obj, u))
        .map(|u| u.text.as_str())
}

fn is_live(obj: &Value, u: &UntypedScalar) -> bool {
    value_at(obj, &u.path) == Some(&reading(&u.text))
}

/// Records that a write replaced the value at `path`: entries at or below it are gone, and
/// `text` (when the write left an untagged scalar) is the new one.
pub fn record_write(r: &mut Resource, path: &[Step], text: Option<String>) {
    r.untyped.retain(|u| !u.path.starts_with(path));
    if let Some(text) = text {
        r.untyped.push(UntypedScalar {
            path: path.to_vec(),
            text,
        });
    }
}

/// What a strategic merge patch does to the object's untagged scalars before it merges: every
/// map field kyaml's walker reaches (maps, and elements of lists `walks_list` says merge by key)
/// whose text YAML 1.1 reads as a non-string becomes that text as a string. The walk covers the
/// whole object, whatever the patch touches; the merge itself then keeps or overrides the field.
pub fn settle_for_strategic_merge(r: &mut Resource, walks_list: impl Fn(&[String]) -> bool) {
    let obj = &mut r.obj;
    r.untyped.retain(|u| {
        if !is_live(obj, u) {
            return false;
        }
        if !matches!(u.path.last(), Some(Step::Key(_)))
            || !tether_core::yaml::reads_as_non_string_yaml11(&u.text)
        {
            return true;
        }
        let mut fields: Vec<String> = Vec::new();
        for step in &u.path {
            match step {
                Step::Key(k) => fields.push(k.clone()),
                Step::Index(_) if walks_list(&fields) => {}
                Step::Index(_) => return true,
            }
        }
        match value_at_mut(obj, &u.path) {
            Some(v) => {
                *v = Value::String(u.text.clone());
                false
            }
            None => true,
        }
    });
}

/// A JSON patch round-trips the object through JSON and back into YAML nodes: every untagged
/// scalar takes the value it reads as (which the object already holds), and a float with no
/// fraction comes back an integer (Go prints `1.0` as `1`, which reads as `!!int`), so a later
/// replacement writing `1.5` there fails as kustomize's does.
pub fn settle_after_json_round_trip(r: &mut Resource) {
    r.untyped.clear();
    integral_floats_to_ints(&mut r.obj);
}

fn integral_floats_to_ints(v: &mut Value) {
    match v {
        Value::Object(m) => m.values_mut().for_each(integral_floats_to_ints),
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_ints),
        Value::Number(n) => {
            // Go's shortest formatting switches to an exponent from 1e21 on.
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
                && f.abs() < 1e21
                && f >= i64::MIN as f64
                && f <= i64::MAX as f64
            {
                *v = Value::from(f as i64);
            }
        }
        _ => {}
    }
}

/// kustomize's final removal of build annotations reads every annotation as its node's text
/// and writes the map back as strings: `5` becomes `"5"`, an annotation with a recorded text
/// (untagged, or typed as read from its file, see [`record_annotation_texts`]) that text. An
/// empty (or null) map is removed, as kyaml's `SetAnnotations` clears it.
pub fn settle_annotations(r: &mut Resource) {
    let untyped = std::mem::take(&mut r.untyped);
    let Some(metadata) = r.obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let empty = match metadata.get("annotations") {
        Some(Value::Null) => true,
        Some(Value::Object(map)) => map.is_empty(),
        _ => false,
    };
    if empty {
        metadata.remove("annotations");
        return;
    }
    let Some(annotations) = metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (key, value) in annotations.iter_mut() {
        if value.is_string() || value.is_object() || value.is_array() {
            continue;
        }
        let recorded = untyped.iter().find(|u| {
            matches!(u.path.as_slice(), [Step::Key(m), Step::Key(a), Step::Key(k)]
                if m == "metadata" && a == "annotations" && k == key)
                && *value == reading(&u.text)
        });
        *value = Value::String(match recorded {
            Some(u) => u.text.clone(),
            None => tether_core::yaml::to_compact_string(value),
        });
    }
}

fn annotations(obj: &Value) -> Option<&serde_json::Map<String, Value>> {
    obj.get("metadata")?.get("annotations")?.as_object()
}

/// Whether an annotation of `r` holds a number, a boolean or a null, whose text kustomize
/// keeps and prints.
pub fn has_typed_annotations(r: &Resource) -> bool {
    annotations(&r.obj).is_some_and(|m| {
        m.values()
            .any(|v| !(v.is_string() || v.is_object() || v.is_array()))
    })
}

/// Records the source text of `r`'s typed annotations from `written`, the same object read
/// with every scalar as its text. kyaml holds that text in the node: a replacement copies it
/// and the final removal of build annotations prints it.
pub fn record_annotation_texts(r: &mut Resource, written: &Resource) {
    let (Some(typed), Some(texts)) = (annotations(&r.obj), annotations(&written.obj)) else {
        return;
    };
    let found: Vec<(String, String)> = typed
        .iter()
        .filter(|(_, v)| !(v.is_string() || v.is_object() || v.is_array()))
        .filter_map(|(k, v)| {
            let text = texts.get(k)?.as_str()?;
            // A tagged scalar (`!!float 1`) reads differently from its text; leave it.
            (reading(text) == *v).then(|| (k.clone(), text.to_string()))
        })
        .collect();
    for (key, text) in found {
        let path = [
            Step::Key("metadata".into()),
            Step::Key("annotations".into()),
            Step::Key(key),
        ];
        record_write(r, &path, Some(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labelled(text: &str) -> Resource {
        let mut r = Resource::new(json!({"metadata": {"labels": {"v": reading(text)}}}));
        let path = [
            Step::Key("metadata".into()),
            Step::Key("labels".into()),
            Step::Key("v".into()),
        ];
        record_write(&mut r, &path, Some(text.into()));
        r
    }

    #[test]
    fn empty_annotations_are_dropped_as_kustomize_drops_them() {
        for empty in [json!({}), json!(null)] {
            let mut r = Resource::new(json!({"metadata": {"name": "x", "annotations": empty,
                "labels": {}}}));
            settle_annotations(&mut r);
            assert_eq!(r.obj, json!({"metadata": {"name": "x", "labels": {}}}));
        }
    }

    #[test]
    fn a_strategic_merge_quotes_text_yaml11_reads_as_non_string() {
        let mut r = labelled("1.0");
        assert_eq!(r.obj["metadata"]["labels"]["v"], json!(1.0));
        settle_for_strategic_merge(&mut r, |_| false);
        assert_eq!(r.obj["metadata"]["labels"]["v"], json!("1.0"));
        assert!(r.untyped.is_empty());

        let mut r = labelled("abc");
        settle_for_strategic_merge(&mut r, |_| false);
        assert_eq!(r.obj["metadata"]["labels"]["v"], json!("abc"));
        assert_eq!(r.untyped.len(), 1);
    }

    #[test]
    fn an_entry_counts_only_while_the_field_holds_its_reading() {
        let mut r = labelled("1.0");
        r.obj["metadata"]["labels"]["v"] = json!("other");
        settle_for_strategic_merge(&mut r, |_| false);
        assert_eq!(r.obj["metadata"]["labels"]["v"], json!("other"));
        assert!(r.untyped.is_empty());
    }

    #[test]
    fn a_json_round_trip_types_untagged_text_and_makes_whole_floats_integers() {
        let mut r = labelled("1.0");
        r.obj["spec"] = json!({"a": 2.5, "b": 3.0, "c": [1e30]});
        settle_after_json_round_trip(&mut r);
        assert!(r.untyped.is_empty());
        assert_eq!(r.obj["metadata"]["labels"]["v"], json!(1));
        assert!(r.obj["metadata"]["labels"]["v"].is_i64());
        assert_eq!(r.obj["spec"], json!({"a": 2.5, "b": 3, "c": [1e30]}));
    }

    #[test]
    fn annotations_end_as_the_text_of_their_node() {
        let mut r = Resource::new(json!({"metadata": {"annotations": {
            "n": 5, "b": true, "s": "x", "v": 1.1
        }}}));
        let path = [
            Step::Key("metadata".into()),
            Step::Key("annotations".into()),
            Step::Key("v".into()),
        ];
        record_write(&mut r, &path, Some("1.10".into()));
        settle_annotations(&mut r);
        assert_eq!(
            r.obj["metadata"]["annotations"],
            json!({"n": "5", "b": "true", "s": "x", "v": "1.10"})
        );
    }

    #[test]
    fn lists_kyaml_does_not_walk_keep_the_untagged_reading() {
        let mut r = Resource::new(json!({"spec": {"args": [{"v": 1.0}]}}));
        let path = [
            Step::Key("spec".into()),
            Step::Key("args".into()),
            Step::Index(0),
            Step::Key("v".into()),
        ];
        record_write(&mut r, &path, Some("1.0".into()));
        settle_for_strategic_merge(&mut r, |_| false);
        assert_eq!(r.obj["spec"]["args"][0]["v"], json!(1.0));
        settle_for_strategic_merge(&mut r, |fields| fields == ["spec", "args"]);
        assert_eq!(r.obj["spec"]["args"][0]["v"], json!("1.0"));
    }
}
