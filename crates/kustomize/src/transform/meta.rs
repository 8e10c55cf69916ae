//! Metadata transformers: namespace, name prefix and suffix, labels and annotations.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::Value;

use crate::config::{TransformerConfig, merge_specs};
use crate::error::{Error, Result};
use crate::fieldspec::{self, Create, FieldSpec};
use crate::kustfile::Kustomization;
use crate::resource::{Gvk, Resource};

/// kustomize's NamespaceTransformer.
pub fn set_namespace(acc: &mut [Resource], namespace: &str, fields: &[FieldSpec]) -> Result<()> {
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
        namespace_one(r, namespace, fields)?;
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

fn namespace_one(r: &mut Resource, namespace: &str, fields: &[FieldSpec]) -> Result<()> {
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
    for spec in fields {
        if spec.path == "metadata/namespace"
            || (spec.path == "metadata/name" && api_version != "v1")
        {
            continue;
        }
        fieldspec::apply(&mut r.obj, &gvk, spec, Create::Scalar, set)?;
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

/// kustomize's PrefixTransformer then SuffixTransformer: `metadata/name` (with the bookkeeping
/// name references need) and any other field the configuration names.
pub fn add_prefix_suffix(
    acc: &mut [Resource],
    prefix: &str,
    suffix: &str,
    config: &TransformerConfig,
) -> Result<()> {
    if !prefix.is_empty() {
        affix_all(acc, &config.name_prefix, Affix::Prefix(prefix))?;
    }
    if !suffix.is_empty() {
        affix_all(acc, &config.name_suffix, Affix::Suffix(suffix))?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Affix<'a> {
    Prefix(&'a str),
    Suffix(&'a str),
}

impl Affix<'_> {
    fn apply(self, value: &str) -> String {
        match self {
            Affix::Prefix(p) => format!("{p}{value}"),
            Affix::Suffix(s) => format!("{value}{s}"),
        }
    }
}

fn affix_all(acc: &mut [Resource], specs: &[FieldSpec], affix: Affix<'_>) -> Result<()> {
    for r in acc.iter_mut() {
        let org = r.org_id();
        if skips_prefix(&org.gvk) {
            continue;
        }
        for spec in specs.iter().filter(|s| org.gvk.is_selected_by(&s.gvk())) {
            if spec.path == "metadata/name" {
                r.store_previous_id();
                match affix {
                    Affix::Prefix(p) => r.prefixes.push(p.to_string()),
                    Affix::Suffix(s) => r.suffixes.push(s.to_string()),
                }
                let name = r.name();
                r.set_name(&affix.apply(&name));
                continue;
            }
            let gvk = r.gvk();
            fieldspec::apply(&mut r.obj, &gvk, spec, Create::Scalar, &mut |v| {
                let text = match &*v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    Value::Object(_) | Value::Array(_) => {
                        return Err(Error::transform("expected a scalar node for a name"));
                    }
                    other => tether_core::yaml::to_compact_string(other),
                };
                *v = Value::String(affix.apply(&text));
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// kustomize's LabelTransformer for every `labels` entry and then `commonLabels`.
pub fn add_labels(
    acc: &mut [Resource],
    k: &Kustomization,
    config: &TransformerConfig,
) -> Result<()> {
    let merge = |specs: &mut Vec<FieldSpec>, more: &[FieldSpec]| {
        merge_specs(specs, more)
            .map_err(|e| Error::transform(format!("failed to merge labels: {e}")))
    };
    for label in &k.labels {
        let mut specs = label.fields.clone();
        merge(&mut specs, &config.labels)?;
        if label.include_selectors {
            merge(&mut specs, &config.common_labels)?;
        } else {
            if label.include_templates {
                merge(&mut specs, &config.template_labels)?;
            }
            merge(
                &mut specs,
                &[FieldSpec::new("", "", "", "metadata/labels", true)],
            )?;
        }
        set_string_entries(acc, &label.pairs, &specs)?;
    }
    if !k.common_labels.is_empty() {
        set_string_entries(acc, &k.common_labels, &config.common_labels)?;
    }
    Ok(())
}

/// kustomize's AnnotationsTransformer.
pub fn add_annotations(
    acc: &mut [Resource],
    annotations: &IndexMap<String, String>,
    fields: &[FieldSpec],
) -> Result<()> {
    set_string_entries(acc, annotations, fields)
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
