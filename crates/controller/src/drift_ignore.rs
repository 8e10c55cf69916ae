//! The `ignore` rules of drift detection (a Kustomization's `spec.ignore`, a HelmRelease's
//! `driftDetection.ignore`): which JSON pointers of which objects are neither compared nor
//! changed. A rule without a target applies to every object; a target selects objects as a
//! kustomize patch target does (anchored regular expressions, label and annotation selectors).

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use tether_core::object::{ObjectId, ObjectRef};

/// The pointers each object's rules ignore, keyed by object. `rules` are `(paths, target)`
/// pairs; a target that is not a valid selector is an error naming it.
pub fn ignored_fields<'a, T: Serialize + 'a>(
    rules: impl IntoIterator<Item = (&'a [String], Option<&'a T>)>,
    objects: &[Value],
) -> Result<HashMap<ObjectId, Vec<String>>, String> {
    let mut fields: HashMap<ObjectId, Vec<String>> = HashMap::new();
    for (paths, target) in rules {
        let selector = target.map(selector_of).transpose()?;
        for object in objects {
            let selected = match &selector {
                None => true,
                Some(selector) => {
                    tether_kustomize::selects(selector, object).map_err(|e| e.to_string())?
                }
            };
            let Ok(reference) = ObjectRef::from_object(object) else {
                continue;
            };
            if selected {
                let entry = fields.entry(reference.id()).or_default();
                entry.extend(paths.iter().cloned());
            }
        }
    }
    Ok(fields)
}

fn selector_of<T: Serialize>(target: &T) -> Result<tether_kustomize::flux::Selector, String> {
    serde_json::to_value(target)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())
}
