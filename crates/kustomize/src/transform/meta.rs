//! Metadata transformers: namespace, name prefix and suffix, labels and annotations.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fieldspec::{self, Create, FieldSpec};
use crate::kustfile::Kustomization;
use crate::resource::{Gvk, Resource};

/// kustomize's NamespaceTransformer.
pub fn set_namespace(acc: &mut [Resource], namespace: &str) -> Result<()> {
    let mut counts: HashMap<_, usize> = HashMap::new();
    for r in acc.iter() {
        *counts.entry(r.cur_id().identity_key()).or_default() += 1;
    }
    for r in acc.iter_mut() {
        if r.is_empty() {
            continue;
        }
        let before = r.cur_id().identity_key();
        r.store_previous_id();
        namespace_one(r, namespace)?;
        let id = r.cur_id();
        if let Some(n) = counts.get_mut(&before) {
            *n = n.saturating_sub(1);
        }
        let count = counts.entry(id.identity_key()).or_default();
        *count += 1;
        if *count != 1 {
            return Err(Error::transform(format!(
                "namespace transformation produces ID conflict: {id}"
            )));
        }
    }
    Ok(())
}

fn namespace_one(r: &mut Resource, namespace: &str) -> Result<()> {
    let gvk = r.gvk();
    let api_version = gvk.api_version();
    if !gvk.is_cluster_scoped() {
        r.set_namespace(namespace);
    }
    if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
        set_default_subjects(&mut r.obj, namespace);
    }
    let set = &mut |v: &mut Value| {
        *v = Value::String(namespace.to_string());
        Ok(())
    };
    for spec in fieldspec::namespace_fields() {
        if spec.path == "metadata/namespace"
            || (spec.path == "metadata/name" && api_version != "v1")
        {
            continue;
        }
        fieldspec::apply(&mut r.obj, &gvk, &spec, Create::Scalar, set)?;
    }
    Ok(())
}

/// Binding subjects named `default` get the namespace.
fn set_default_subjects(obj: &mut Value, namespace: &str) {
    let Some(Value::Array(subjects)) = obj.get_mut("subjects") else {
        return;
    };
    for s in subjects.iter_mut() {
        if s.get("name").and_then(Value::as_str) == Some("default")
            && let Some(m) = s.as_object_mut()
        {
            m.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }
}

fn skips_prefix(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// kustomize's PrefixTransformer then SuffixTransformer.
pub fn add_prefix_suffix(acc: &mut [Resource], prefix: &str, suffix: &str) -> Result<()> {
    if !prefix.is_empty() {
        rename_all(acc, |r, name| {
            r.prefixes.push(prefix.to_string());
            format!("{prefix}{name}")
        });
    }
    if !suffix.is_empty() {
        rename_all(acc, |r, name| {
            r.suffixes.push(suffix.to_string());
            format!("{name}{suffix}")
        });
    }
    Ok(())
}

fn rename_all(acc: &mut [Resource], mut rename: impl FnMut(&mut Resource, &str) -> String) {
    for r in acc.iter_mut() {
        let org = r.org_id();
        if skips_prefix(&org.gvk) {
            continue;
        }
        r.store_previous_id();
        let name = r.name();
        let new_name = rename(r, &name);
        r.set_name(&new_name);
    }
}

/// kustomize's LabelTransformer for every `labels` entry and then `commonLabels`.
pub fn add_labels(acc: &mut [Resource], k: &Kustomization) -> Result<()> {
    for label in &k.labels {
        let mut specs = label.fields.clone();
        if label.include_selectors {
            merge_specs(&mut specs, fieldspec::common_labels());
        } else {
            if label.include_templates {
                merge_specs(&mut specs, fieldspec::metadata_labels());
            }
            merge_specs(
                &mut specs,
                vec![FieldSpec::new("", "", "", "metadata/labels", true)],
            );
        }
        set_string_entries(acc, &label.pairs, &specs)?;
    }
    if !k.common_labels.is_empty() {
        set_string_entries(acc, &k.common_labels, &fieldspec::common_labels())?;
    }
    Ok(())
}

fn merge_specs(into: &mut Vec<FieldSpec>, more: Vec<FieldSpec>) {
    for s in more {
        if !into.iter().any(|e| e.path == s.path && e.gvk() == s.gvk()) {
            into.push(s);
        }
    }
}

/// kustomize's AnnotationsTransformer.
pub fn add_annotations(acc: &mut [Resource], annotations: &IndexMap<String, String>) -> Result<()> {
    set_string_entries(acc, annotations, &fieldspec::common_annotations())
}

/// Sets string entries in the maps the specs address (creating the maps where allowed).
pub fn set_string_entries(
    acc: &mut [Resource],
    entries: &IndexMap<String, String>,
    specs: &[FieldSpec],
) -> Result<()> {
    for r in acc.iter_mut() {
        let gvk = r.gvk();
        for spec in specs {
            fieldspec::apply(&mut r.obj, &gvk, spec, Create::Map, &mut |node| {
                set_map_entries(node, entries)
            })?;
        }
    }
    Ok(())
}

fn set_map_entries(node: &mut Value, entries: &IndexMap<String, String>) -> Result<()> {
    if node.is_null() {
        *node = Value::Object(Default::default());
    }
    let Some(map) = node.as_object_mut() else {
        return Err(Error::transform("wrong node kind: expected MappingNode"));
    };
    for (k, v) in entries {
        map.insert(k.clone(), Value::String(v.clone()));
    }
    Ok(())
}
