//! The user's values as `helm template` merges its flags: `-f` files in order, then
//! `--set-json`, `--set`, `--set-string` and `--set-file`, each kind in the order given
//! (Helm's `values.Options.MergeValues`).

use serde_json::Value as Json;

use crate::HelmError;
use crate::strvals::{Reader, parse_into};
use crate::values::{Values, floats, merge_maps};

/// The value flags of `helm template`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueSources {
    /// `-f/--values` files.
    pub files: Vec<String>,
    /// `--set-json`.
    pub json: Vec<String>,
    /// `--set`.
    pub set: Vec<String>,
    /// `--set-string`.
    pub strings: Vec<String>,
    /// `--set-file`.
    pub file_values: Vec<String>,
}

/// Merges the sources; `read` reads a named file.
pub fn merge_user_values(
    sources: &ValueSources,
    read: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Values, HelmError> {
    let mut base = Values::new();
    for path in &sources.files {
        let raw = read(path).map_err(HelmError::Values)?;
        let current = crate::load::load_values(&raw).map_err(|e| {
            HelmError::Values(format!("failed to parse {path}: {}", strip_cannot_load(&e)))
        })?;
        base = merge_maps(base, current);
    }
    for value in &sources.json {
        let trimmed = value.trim();
        if trimmed.starts_with('{') {
            match serde_json::from_str::<Json>(trimmed) {
                Ok(Json::Object(obj)) => {
                    if let Json::Object(obj) = floats(Json::Object(obj)) {
                        base = merge_maps(base, obj);
                    }
                }
                _ => {
                    return Err(HelmError::Values(format!(
                        "failed parsing --set-json data JSON: {value}"
                    )));
                }
            }
        } else if parse_into(value, &mut base, Reader::Json).is_err() {
            return Err(HelmError::Values(format!(
                "failed parsing --set-json data {value}"
            )));
        }
    }
    for value in &sources.set {
        parse_into(value, &mut base, Reader::Typed)
            .map_err(|e| HelmError::Values(format!("failed parsing --set data: {e}")))?;
    }
    for value in &sources.strings {
        parse_into(value, &mut base, Reader::Strings)
            .map_err(|e| HelmError::Values(format!("failed parsing --set-string data: {e}")))?;
    }
    let read_string = |name: &str| read(name).map(|b| String::from_utf8_lossy(&b).into_owned());
    for value in &sources.file_values {
        parse_into(value, &mut base, Reader::File(&read_string))
            .map_err(|e| HelmError::Values(format!("failed parsing --set-file data: {e}")))?;
    }
    Ok(base)
}

fn strip_cannot_load(e: &HelmError) -> String {
    match e {
        HelmError::ChartFile { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
