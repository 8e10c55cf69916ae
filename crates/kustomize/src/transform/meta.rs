//! Metadata transformers: namespace, name prefix and suffix, labels and annotations.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::Value;

use crate::config::{TransformerConfig, merge_specs};
use crate::error::{Error, Result};
use crate::fieldspec::{self, Create, FieldSpec};
use crate::kustfile::Kustomization;
use crate::resource::{Gvk, Resource};

/// Which RoleBinding subjects a namespace transformer sets (`setRoleBindingSubjects`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Subjects {
    /// Subjects named `default` (kustomize's `defaultOnly`, what `namespace:` does).
    #[default]
    DefaultOnly,
    /// Every subject of kind ServiceAccount (`allServiceAccounts`).
    AllServiceAccounts,
    /// No subject (`none`).
    None,
}

/// How a namespace transformer sets: which binding subjects, and whether only empty fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct NamespaceMode {
    /// Which RoleBinding subjects get the namespace.
    pub subjects: Subjects,
    /// Set only fields that are missing or empty (`unsetOnly`).
    pub unset_only: bool,
}

/// kustomize's NamespaceTransformer as `namespace:` configures it.
pub fn set_namespace(acc: &mut [Resource], namespace: &str, fields: &[FieldSpec]) -> Result<()> {
    set_namespace_with(acc, namespace, fields, NamespaceMode::default())
}

/// kustomize's NamespaceTransformer with its plugin options.
pub fn set_namespace_with(
    acc: &mut [Resource],
    namespace: &str,
    fields: &[FieldSpec],
    mode: NamespaceMode,
) -> Result<()> {
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
        namespace_one(r, namespace, fields, mode)?;
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

fn namespace_one(
    r: &mut Resource,
    namespace: &str,
    fields: &[FieldSpec],
    mode: NamespaceMode,
) -> Result<()> {
    let gvk = r.gvk();
    let api_version = gvk.api_version();
    if !gvk.is_cluster_scoped() && (!mode.unset_only || r.namespace().is_empty()) {
        r.set_namespace(namespace);
    }
    if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
        set_subjects(&mut r.obj, namespace, mode);
    }
    let set = &mut |v: &mut Value| {
        if !mode.unset_only || is_empty_scalar(v) {
            *v = Value::String(namespace.to_string());
        }
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

/// kyaml's `SetEntryIfEmpty` test: a missing, null or empty-string field.
fn is_empty_scalar(v: &Value) -> bool {
    v.is_null() || v.as_str().is_some_and(str::is_empty)
}

/// Binding subjects named `default` (or every ServiceAccount subject) get the namespace.
fn set_subjects(obj: &mut Value, namespace: &str, mode: NamespaceMode) {
    let Some(Value::Array(subjects)) = obj.get_mut("subjects") else {
        return;
    };
    let (field, wanted) = match mode.subjects {
        Subjects::None => return,
        Subjects::DefaultOnly => ("name", "default"),
        Subjects::AllServiceAccounts => ("kind", "ServiceAccount"),
    };
    for s in subjects.iter_mut() {
        if s.get(field).and_then(Value::as_str) != Some(wanted) {
            continue;
        }
        let Some(m) = s.as_object_mut() else {
            continue;
        };
        if mode.unset_only && !m.get("namespace").is_none_or(is_empty_scalar) {
            continue;
        }
        m.insert("namespace".into(), Value::String(namespace.to_string()));
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

/// A name prefix or suffix.
#[derive(Clone, Copy)]
pub enum Affix<'a> {
    /// Prepended.
    Prefix(&'a str),
    /// Appended.
    Suffix(&'a str),
}

impl Affix<'_> {
    fn is_empty(self) -> bool {
        match self {
            Affix::Prefix(a) | Affix::Suffix(a) => a.is_empty(),
        }
    }

    fn apply(self, value: &str) -> String {
        match self {
            Affix::Prefix(p) => format!("{p}{value}"),
            Affix::Suffix(s) => format!("{value}{s}"),
        }
    }
}

/// kustomize's PrefixTransformer or SuffixTransformer over `specs`. An empty affix still
/// records itself (name references compare the lists) but keeps the previous id.
pub fn affix_all(acc: &mut [Resource], specs: &[FieldSpec], affix: Affix<'_>) -> Result<()> {
    for r in acc.iter_mut() {
        let org = r.org_id();
        if skips_prefix(&org.gvk) {
            continue;
        }
        for spec in specs.iter().filter(|s| org.gvk.is_selected_by(&s.gvk())) {
            if spec.path == "metadata/name" {
                if !affix.is_empty() {
                    r.store_previous_id();
                }
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
